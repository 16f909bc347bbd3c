//! One contact: their details (editable), their deals (and a new one), and their activity timeline.

use clearview::domain::{ContactId, StageKind};
use clearview::model::{Contact, ContactInput, Pipeline, ValidContact};
use clearview::policy::Action;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::activities::LogActivity;
use crate::components::{FieldError, FieldErrors, FormError, Later, Missing, can, format_money};
use crate::contacts::{ContactData, DeleteContact, UpdateContact, get_contact};
use crate::deals::CreateDeal;
use crate::form::{PostAction, PostForm};
use crate::pages::timeline::TimelineCard;
use crate::resource::resource;

#[component]
pub fn ContactPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let update = PostAction::<UpdateContact>::new();
    let create_deal = PostAction::<CreateDeal>::new();
    let log = PostAction::<LogActivity>::new();
    let saved = update.successes();
    let deal_created = create_deal.successes();
    let logged = log.successes();
    let data = resource(
        move || (id.get(), saved.get(), deal_created.get(), logged.get()),
        |(id, _, _, _)| get_contact(id),
    );
    view! {
        <section class="page">
            <Transition fallback=|| view! { <p class="muted">"Loading the contact…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) if e.code == crate::error::ErrorCode::NotFound => view! { <Missing what="Contact" back="/contacts" back_label="Back to contacts"/> }.into_any(),
                        Err(e) => view! { <p class="form-error" role="alert">{e.message}</p> }.into_any(),
                        Ok(ContactData { contact, deals, pipelines, timeline }) => {
                            let contact_id = contact.id;
                            view! {
                                <Title text=contact.full_name()/>
                                <nav class="crumbs" aria-label="Breadcrumb"><A href="/contacts">"Contacts"</A></nav>
                                <ContactHeader contact=contact.clone()/>
                                <div class="split">
                                    <div class="split-main">
                                        <TimelineCard first=timeline deal_id=None contact_id=Some(contact_id) action=log/>
                                    </div>
                                    <aside class="split-side">
                                        <section class="card" aria-labelledby="deals-title">
                                            <h2 id="deals-title">"Deals"</h2>
                                            {if deals.is_empty() {
                                                view! { <p class="muted">"No deals with this contact yet."</p> }.into_any()
                                            } else {
                                                view! {
                                                    <ul class="deal-list">
                                                        {deals.into_iter().map(|d| view! {
                                                            <li data-kind=d.stage_kind.as_str()>
                                                                <A href=format!("/deals/{}", d.id)>{d.title.clone()}</A>
                                                                <span class="muted small">
                                                                    {d.stage_name.clone()}
                                                                    {d.amount.map(|m| format!(" · {}", format_money(m.amount_minor, m.currency)))}
                                                                </span>
                                                            </li>
                                                        }).collect_view()}
                                                    </ul>
                                                }.into_any()
                                            }}
                                            <Later><NewDeal contact_id pipelines action=create_deal/></Later>
                                        </section>
                                        <section class="card">
                                            <Later>
                                                <details>
                                                    <summary>"Edit details"</summary>
                                                    <EditContact contact=contact.clone() update/>
                                                </details>
                                                <DeleteButton contact/>
                                            </Later>
                                        </section>
                                    </aside>
                                </div>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
    .into_any()
}

#[component]
fn ContactHeader(contact: Contact) -> impl IntoView {
    let role_line = match (&contact.title, &contact.company) {
        (Some(t), Some(c)) => Some(format!("{t} at {c}")),
        (Some(t), None) => Some(t.clone()),
        (None, Some(c)) => Some(c.clone()),
        (None, None) => None,
    };
    view! {
        <header class="page-head record-head">
            <div>
                <h1>{contact.full_name()}</h1>
                {role_line.map(|l| view! { <p class="muted">{l}</p> })}
            </div>
            <dl class="facts">
                {contact.email.clone().map(|e| view! { <div><dt>"E-mail"</dt><dd><a href=format!("mailto:{e}")>{e.clone()}</a></dd></div> })}
                {contact.phone.clone().map(|p| view! { <div><dt>"Phone"</dt><dd><a href=format!("tel:{p}")>{p.clone()}</a></dd></div> })}
                {contact.owner_name.clone().map(|o| view! { <div><dt>"Owner"</dt><dd>{o}</dd></div> })}
            </dl>
        </header>
    }
    .into_any()
}

/// The edit form, checked in the browser with the shared rules; it carries the version it was based on.
#[component]
fn EditContact(contact: Contact, update: PostAction<UpdateContact>) -> impl IntoView {
    let input = RwSignal::new(ContactInput {
        first_name: contact.first_name.clone(),
        last_name: contact.last_name.clone(),
        email: contact.email.clone(),
        phone: contact.phone.clone(),
        company: contact.company.clone(),
        title: contact.title.clone(),
        ..Default::default()
    });
    let local = Memo::new(move |_| match ValidContact::parse(&input.read()) {
        Ok(_) => Default::default(),
        Err(e) => e.fields().cloned().unwrap_or_default(),
    });
    let errors = FieldErrors::new(local, move || update.value().get().and_then(|r| r.err()));
    let field = move |name: &'static str,
                      label: &'static str,
                      kind: &'static str,
                      value: Option<String>,
                      set: fn(&mut ContactInput, String)| {
        let id = format!("edit-{name}");
        let error_id = format!("{id}-error");
        view! {
            <div class="field">
                <label for=id.clone()>{label}</label>
                <input id=id name=name type=kind value=value.unwrap_or_default() autocomplete="off"
                    aria-describedby=error_id.clone()
                    aria-invalid=move || errors.of(name).get().is_some().to_string()
                    on:input=move |ev| input.update(|i| set(i, event_target_value(&ev)))
                    on:blur=move |_| errors.touch(name)/>
                <FieldError message=errors.of(name) id=error_id/>
            </div>
        }
    };
    view! {
        <PostForm action=update attr:class="form" attr:novalidate="">
            <input type="hidden" name="id" value=contact.id.to_string()/>
            <input type="hidden" name="version" value=contact.version.to_string()/>
            {field("first_name", "First name", "text", Some(contact.first_name.clone()), |i, v| i.first_name = v)}
            {field("last_name", "Last name", "text", Some(contact.last_name.clone()), |i, v| i.last_name = v)}
            {field("email", "E-mail", "email", contact.email.clone(), |i, v| i.email = Some(v))}
            {field("phone", "Phone", "tel", contact.phone.clone(), |i, v| i.phone = Some(v))}
            {field("company", "Company", "text", contact.company.clone(), |i, v| i.company = Some(v))}
            {field("title", "Job title", "text", contact.title.clone(), |i, v| i.title = Some(v))}
            <div class="form-actions">
                <FormError message=errors.form()/>
                <button type="submit" class="btn btn-primary" disabled=move || update.pending().get()
                    on:click=move |_| errors.submit()>"Save changes"</button>
            </div>
        </PostForm>
    }
    .into_any()
}

/// Managers and admins may delete a contact; the page asks before it does.
#[component]
fn DeleteButton(contact: Contact) -> impl IntoView {
    let delete = PostAction::<DeleteContact>::new();
    let name = contact.full_name();
    can(Action::DeleteContact).then(|| view! {
        <PostForm action=delete attr:class="danger-zone"
            on:submit=move |ev| {
                let ok = window()
                    .confirm_with_message(&format!("Delete {name}? Their deals stay, without a contact."))
                    .unwrap_or(false);
                if !ok {
                    ev.prevent_default();
                }
            }>
            <input type="hidden" name="id" value=contact.id.to_string()/>
            <button type="submit" class="btn btn-danger">"Delete contact"</button>
            <FormError message=Signal::derive(move || delete.value().get().and_then(|r| r.err()).map(|e| e.message))/>
        </PostForm>
    })
}

/// "New deal" for this contact: it starts in the chosen stage (the first open one by default).
#[component]
pub fn NewDeal(
    #[prop(optional)] contact_id: Option<ContactId>,
    pipelines: Vec<Pipeline>,
    action: PostAction<CreateDeal>,
) -> impl IntoView {
    let server_error = move || action.value().get().and_then(|r| r.err());
    let field_error = move |name: &'static str| {
        Signal::derive(move || server_error().and_then(|e| e.field(name)))
    };
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = action.value().get()
            && let Some(f) = form.get()
        {
            f.reset();
        }
    });
    let created = move || match action.value().get() {
        Some(Ok(d)) => Some(d),
        _ => None,
    };
    view! {
        <details class="new-deal">
            <summary class="btn">"New deal"</summary>
            <PostForm action node_ref=form attr:class="form" attr:novalidate="">
                <input type="hidden" name="contact_id" value=contact_id.map(|c| c.to_string()).unwrap_or_default()/>
                <input type="hidden" name="pipeline_id" value=""/>
                <div class="field">
                    <label for="deal-title">"Title"</label>
                    <input id="deal-title" name="title" type="text" autocomplete="off" aria-describedby="deal-title-error"/>
                    <FieldError message=field_error("title") id="deal-title-error"/>
                </div>
                <div class="field-row">
                    <div class="field">
                        <label for="deal-amount">"Amount"</label>
                        <input id="deal-amount" name="amount" type="text" inputmode="decimal" placeholder="12500.00" aria-describedby="deal-amount-error"/>
                        <FieldError message=field_error("amount") id="deal-amount-error"/>
                    </div>
                    <div class="field narrow">
                        <label for="deal-currency">"Currency"</label>
                        <input id="deal-currency" name="currency" type="text" value="EUR" maxlength="3" autocomplete="off"/>
                    </div>
                </div>
                <div class="field">
                    <label for="deal-stage">"Stage"</label>
                    <select id="deal-stage" name="stage_id">
                        {pipelines.into_iter().map(|p| view! {
                            <optgroup label=p.name.clone()>
                                {p.stages.into_iter().filter(|s| s.kind != StageKind::Lost).map(|s| view! {
                                    <option value=s.id.to_string()>{s.name.clone()}</option>
                                }).collect_view()}
                            </optgroup>
                        }).collect_view()}
                    </select>
                    <FieldError message=field_error("stage_id") id="deal-stage-error"/>
                </div>
                <div class="field">
                    <label for="deal-close">"Expected close"</label>
                    <input id="deal-close" name="expected_close_date" type="date" aria-describedby="deal-close-error"/>
                    <FieldError message=field_error("expected_close_date") id="deal-close-error"/>
                </div>
                <div class="form-actions">
                    <FormError message=Signal::derive(move || server_error().filter(|e| e.fields.is_empty()).map(|e| e.message))/>
                    <button type="submit" class="btn btn-primary" disabled=move || action.pending().get()>"Create deal"</button>
                </div>
            </PostForm>
        </details>
        <Show when=move || created().is_some()>
            <p class="notice" role="status">
                {move || created().map(|d| view! { <A href=format!("/deals/{}", d.id)>{d.title}</A> " was created." })}
            </p>
        </Show>
    }
    .into_any()
}
