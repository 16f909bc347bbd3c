//! One deal: its details (editable, with optimistic concurrency), its stage, its probability and its timeline.

use clearview::domain::StageKind;
use clearview::model::Deal;
use clearview::policy::Action;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::activities::LogActivity;
use crate::components::{FieldError, FormError, Later, Missing, can, format_money};
use crate::deals::{DealData, DeleteDeal, SetProbability, UpdateDeal, get_deal};
use crate::error::ApiError;
use crate::form::{PostAction, PostForm};
use crate::pages::timeline::TimelineCard;
use crate::resource::resource;

#[component]
pub fn DealPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let update = PostAction::<UpdateDeal>::new();
    let probability = PostAction::<SetProbability>::new();
    let log = PostAction::<LogActivity>::new();
    let saved = update.successes();
    let prob_saved = probability.successes();
    let logged = log.successes();
    let data = resource(
        move || (id.get(), saved.get(), prob_saved.get(), logged.get()),
        |(id, _, _, _)| get_deal(id),
    );
    view! {
        <section class="page">
            <Transition fallback=|| view! { <p class="muted">"Loading the deal…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) if e.code == crate::error::ErrorCode::NotFound => view! { <Missing what="Deal" back="/pipeline" back_label="Back to the pipeline"/> }.into_any(),
                        Err(e) => view! { <p class="form-error" role="alert">{e.message}</p> }.into_any(),
                        Ok(data) => {
                            let deal_id = data.deal.id;
                            let crumb = format!("/pipeline?pipeline={}", data.pipeline.id);
                            let crumb_name = data.pipeline.name.clone();
                            view! {
                                <Title text=data.deal.title.clone()/>
                                <nav class="crumbs" aria-label="Breadcrumb">
                                    <A href=crumb>{crumb_name}</A>
                                </nav>
                                <DealHeader data=data.clone() probability/>
                                <div class="split">
                                    <div class="split-main">
                                        <TimelineCard first=data.timeline.clone() deal_id=Some(deal_id) contact_id=data.deal.contact_id action=log/>
                                    </div>
                                    <aside class="split-side">
                                        <section class="card">
                                            <h2>"Details"</h2>
                                            <Later>
                                                <EditDeal data=data.clone() update/>
                                                <DeleteDealButton deal=data.deal.clone()/>
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

fn conflict_or_message(e: &ApiError) -> AnyView {
    if e.code == crate::error::ErrorCode::Conflict {
        view! {
            <div class="form-error" role="alert">
                {e.message.clone()} " "
                <a href="" on:click=move |ev| {
                    ev.prevent_default();
                    let _ = window().location().reload();
                }>"Reload"</a>
            </div>
        }
        .into_any()
    } else {
        view! { <div class="form-error" role="alert">{e.message.clone()}</div> }.into_any()
    }
}

#[component]
fn DealHeader(data: DealData, probability: PostAction<SetProbability>) -> impl IntoView {
    let d = data.deal.clone();
    let manager = can(Action::SetDealProbability);
    let amount = d.amount.map(|m| format_money(m.amount_minor, m.currency));
    let weighted = d
        .weighted_minor()
        .zip(d.amount)
        .map(|(w, m)| format_money(w, m.currency));
    let prob_error = move || probability.value().get().and_then(|r| r.err());
    view! {
        <header class="page-head record-head">
            <div>
                <h1>{d.title.clone()}</h1>
                <p class="muted">
                    <span class="badge" data-kind=d.stage_kind.as_str()>{d.stage_name.clone()}</span>
                    {d.stale.then(|| view! { " " <span class="badge stale" title="Idle longer than this stage's rot days">"Stale"</span> })}
                    {d.contact_id.zip(d.contact_name.clone()).map(|(id, n)| view! {
                        " with " <A href=format!("/contacts/{id}")>{n}</A>
                    })}
                </p>
            </div>
            <dl class="facts">
                <div><dt>"Amount"</dt><dd class="money">{amount.unwrap_or_else(|| "—".into())}</dd></div>
                <div><dt>"Probability"</dt><dd>
                    <span class="deal-probability">{format!("{} %", d.probability)}</span>
                    {(!d.probability_explicit).then(|| view! { <span class="muted small">" (stage default)"</span> })}
                </dd></div>
                <div><dt>"Weighted"</dt><dd class="money deal-weighted">{weighted.unwrap_or_else(|| "—".into())}</dd></div>
                {d.expected_close_date.map(|c| view! { <div><dt>"Expected close"</dt><dd>{c.to_string()}</dd></div> })}
                {d.owner_name.clone().map(|o| view! { <div><dt>"Owner"</dt><dd>{o}</dd></div> })}
                {d.lost_reason.clone().map(|r| view! { <div><dt>"Lost because"</dt><dd>{r}</dd></div> })}
            </dl>
            {(manager && d.stage_kind == StageKind::Open).then(|| view! {
                <PostForm action=probability attr:class="inline-form probability-form" attr:novalidate="">
                    <input type="hidden" name="id" value=d.id.to_string()/>
                    <input type="hidden" name="version" value=d.version.to_string()/>
                    <label for="deal-probability-input">"Win probability (%)"</label>
                    <input id="deal-probability-input" name="probability" type="number" min="0" max="100" step="1"
                        value=if d.probability_explicit { d.probability.to_string() } else { String::new() }
                        placeholder=d.probability.to_string()
                        aria-describedby="deal-probability-error"/>
                    <button type="submit" class="btn" disabled=move || probability.pending().get()>"Set"</button>
                    <FieldError message=Signal::derive(move || prob_error().and_then(|e| e.field("probability"))) id="deal-probability-error"/>
                    {move || prob_error().filter(|e| e.fields.is_empty()).map(|e| conflict_or_message(&e))}
                </PostForm>
            })}
        </header>
    }
    .into_any()
}

/// The deal form. Every save carries the version it was based on: a stale one is a conflict, never an overwrite.
#[component]
fn EditDeal(data: DealData, update: PostAction<UpdateDeal>) -> impl IntoView {
    let d: Deal = data.deal.clone();
    let err = move || update.value().get().and_then(|r| r.err());
    let field_error =
        move |name: &'static str| Signal::derive(move || err().and_then(|e| e.field(name)));
    let stage = RwSignal::new(d.stage_id);
    let stages = data.pipeline.stages.clone();
    let lost_ids: Vec<_> = stages
        .iter()
        .filter(|s| s.kind == StageKind::Lost)
        .map(|s| s.id)
        .collect();
    let is_lost = move || lost_ids.contains(&stage.get());
    view! {
        <PostForm action=update attr:class="form" attr:novalidate="">
            <input type="hidden" name="id" value=d.id.to_string()/>
            <input type="hidden" name="version" value=d.version.to_string()/>
            <div class="field">
                <label for="edit-deal-title">"Title"</label>
                <input id="edit-deal-title" name="title" type="text" value=d.title.clone() autocomplete="off"/>
                <FieldError message=field_error("title") id="edit-deal-title-error"/>
            </div>
            <div class="field-row">
                <div class="field">
                    <label for="edit-deal-amount">"Amount"</label>
                    <input id="edit-deal-amount" name="amount" type="text" inputmode="decimal"
                        value=d.amount.map(|m| m.to_decimal_string()).unwrap_or_default()/>
                    <FieldError message=field_error("amount") id="edit-deal-amount-error"/>
                </div>
                <div class="field narrow">
                    <label for="edit-deal-currency">"Currency"</label>
                    <input id="edit-deal-currency" name="currency" type="text" maxlength="3"
                        value=d.amount.map(|m| m.currency.to_string()).unwrap_or_else(|| "EUR".into())/>
                </div>
            </div>
            <div class="field">
                <label for="edit-deal-stage">"Stage"</label>
                <select id="edit-deal-stage" name="stage_id" on:change=move |ev| {
                    if let Ok(id) = event_target_value(&ev).parse() {
                        stage.set(id);
                    }
                }>
                    {stages.iter().map(|s| view! {
                        <option value=s.id.to_string() selected=s.id == d.stage_id>{s.name.clone()}</option>
                    }).collect_view()}
                </select>
                <FieldError message=field_error("stage_id") id="edit-deal-stage-error"/>
            </div>
            <div class="field" class:dim=move || !is_lost()>
                <label for="edit-deal-lost">"Lost reason (for a lost deal)"</label>
                <input id="edit-deal-lost" name="lost_reason" type="text" value=d.lost_reason.clone().unwrap_or_default()/>
                <FieldError message=field_error("lost_reason") id="edit-deal-lost-error"/>
            </div>
            <div class="field">
                <label for="edit-deal-close">"Expected close"</label>
                <input id="edit-deal-close" name="expected_close_date" type="date"
                    value=d.expected_close_date.map(|c| c.to_string()).unwrap_or_default()/>
                <FieldError message=field_error("expected_close_date") id="edit-deal-close-error"/>
            </div>
            <div class="field">
                <label for="edit-deal-owner">"Owner"</label>
                <select id="edit-deal-owner" name="owner_id">
                    <option value="">"Nobody"</option>
                    {data.owners.iter().map(|(id, name)| view! {
                        <option value=id.to_string() selected=Some(*id) == d.owner_id>{name.clone()}</option>
                    }).collect_view()}
                </select>
                <FieldError message=field_error("owner_id") id="edit-deal-owner-error"/>
            </div>
            <div class="form-actions">
                {move || err().filter(|e| e.fields.is_empty()).map(|e| conflict_or_message(&e))}
                <button type="submit" class="btn btn-primary" disabled=move || update.pending().get()>"Save deal"</button>
            </div>
        </PostForm>
    }
    .into_any()
}

#[component]
fn DeleteDealButton(deal: Deal) -> impl IntoView {
    let delete = PostAction::<DeleteDeal>::new();
    let title = deal.title.clone();
    can(Action::DeleteDeal).then(|| view! {
        <PostForm action=delete attr:class="danger-zone"
            on:submit=move |ev| {
                if !window().confirm_with_message(&format!("Delete the deal “{title}” and its activities?")).unwrap_or(false) {
                    ev.prevent_default();
                }
            }>
            <input type="hidden" name="id" value=deal.id.to_string()/>
            <button type="submit" class="btn btn-danger">"Delete deal"</button>
            <FormError message=Signal::derive(move || delete.value().get().and_then(|r| r.err()).map(|e| e.message))/>
        </PostForm>
    })
}
