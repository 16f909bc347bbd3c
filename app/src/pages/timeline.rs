//! The activity timeline of a deal or contact, and the form that logs a call, e-mail, meeting, note or task.

use clearview::domain::{ActivityKind, CALL_DIRECTIONS, CALL_OUTCOMES, ContactId, DealId};
use clearview::model::{Activity, Page};
use leptos::prelude::*;
use serde_json::Value;

use crate::activities::{ActivityFields, LogActivity, list_activities};
use crate::components::{FieldError, FieldErrors, FormError, Later, LocalTime, local_time};
use crate::form::{PostAction, PostForm};

fn id_text<T: ToString>(id: Option<T>) -> String {
    id.map(|i| i.to_string()).unwrap_or_default()
}

/// The per-kind details of an activity in one line ("12 min · outbound · connected").
fn details(a: &Activity) -> String {
    let m = &a.metadata;
    let s = |k: &str| {
        m.get(k)
            .and_then(Value::as_str)
            .map(|s| s.replace('_', " "))
    };
    let list = |k: &str| {
        m.get(k).and_then(Value::as_array).map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
    };
    let parts: Vec<String> = match a.kind {
        ActivityKind::Call => {
            let secs = m
                .get("duration_seconds")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            let length = if secs % 60 == 0 {
                format!("{} min", secs / 60)
            } else {
                format!("{} min {} s", secs / 60, secs % 60)
            };
            [Some(length), s("direction"), s("outcome")]
                .into_iter()
                .flatten()
                .collect()
        }
        ActivityKind::Email => [
            list("to").map(|t| format!("to {t}")),
            list("cc").map(|c| format!("cc {c}")),
        ]
        .into_iter()
        .flatten()
        .collect(),
        ActivityKind::Meeting => [
            list("attendees").map(|t| format!("with {t}")),
            s("location").map(|l| format!("at {l}")),
            m.get("duration_minutes")
                .and_then(Value::as_i64)
                .map(|n| format!("{n} min")),
        ]
        .into_iter()
        .flatten()
        .collect(),
        ActivityKind::Note => vec![],
        ActivityKind::Task => [
            s("due_date").map(|d| format!("due {d}")),
            Some(
                if m.get("done").and_then(Value::as_bool) == Some(true) {
                    "done"
                } else {
                    "open"
                }
                .to_owned(),
            ),
        ]
        .into_iter()
        .flatten()
        .collect(),
    };
    parts.join(" · ")
}

fn entry(a: Activity, show_deal: bool) -> impl IntoView {
    let info = details(&a);
    let kind = a.kind;
    view! {
        <li class="timeline-item" data-kind=kind.as_str()>
            <div class="timeline-head">
                <span class="badge" data-kind=kind.as_str()>{kind.label()}</span>
                <strong class="timeline-subject">{a.subject.clone()}</strong>
                <LocalTime at=a.occurred_at/>
            </div>
            <Show when={let info = info.clone(); move || !info.is_empty()}>
                <p class="timeline-details">{info.clone()}</p>
            </Show>
            {a.body.clone().map(|b| view! { <p class="timeline-body">{b}</p> })}
            <p class="muted small">
                {a.author_name.clone().map(|n| format!("by {n}"))}
                {(show_deal).then(|| a.deal_id.zip(a.deal_title.clone()).map(|(id, t)| view! {
                    " · on " <a href=format!("/deals/{id}")>{t}</a>
                }))}
            </p>
        </li>
    }
}

/// The timeline card of a deal's or a contact's page: the form that logs an activity, then the activities, newest
/// first. Each is taken over after the rest of the page (D-030). On a deal's page `deal_id` is the deal and
/// `contact_id` its contact, if it has one (a logged activity is filed under both, and the timeline is the deal's); on a
/// contact's page `deal_id` is `None`.
#[component]
pub fn TimelineCard(
    first: Page<Activity>,
    deal_id: Option<DealId>,
    contact_id: Option<ContactId>,
    action: PostAction<LogActivity>,
) -> impl IntoView {
    let listed_contact = if deal_id.is_some() { None } else { contact_id };
    view! {
        <section class="card" aria-labelledby="timeline-title">
            <h2 id="timeline-title">"Timeline"</h2>
            <Later>
                <details class="log" open>
                    <summary>"Log a call, e-mail, meeting, note or task"</summary>
                    <LogActivityForm deal_id contact_id action/>
                </details>
            </Later>
            <Later><Timeline first deal_id contact_id=listed_contact/></Later>
        </section>
    }
}

/// A timeline, newest first, of a deal or else a contact: the first page comes with the page's data (rendered on the
/// server), older entries on request.
#[component]
fn Timeline(
    first: Page<Activity>,
    deal_id: Option<DealId>,
    contact_id: Option<ContactId>,
) -> impl IntoView {
    let older = RwSignal::new(Vec::<Activity>::new());
    let next = RwSignal::new(first.next_cursor.clone());
    let loading = RwSignal::new(false);
    let show_deal = deal_id.is_none();
    let load_older = move |_| {
        let Some(cursor) = next.get_untracked() else {
            return;
        };
        loading.set(true);
        leptos::task::spawn_local(async move {
            if let Ok(p) = list_activities(id_text(deal_id), id_text(contact_id), cursor).await {
                older.update(|o| o.extend(p.items));
                next.set(p.next_cursor);
            }
            loading.set(false);
        });
    };
    if first.items.is_empty() {
        return view! {
            <p class="muted timeline-empty">"Nothing logged yet. Calls, e-mails, meetings, notes and tasks appear here, newest first."</p>
        }
        .into_any();
    }
    view! {
        <ol class="timeline" aria-label="Timeline">
            {first.items.into_iter().map(|a| entry(a, show_deal)).collect_view()}
            {move || older.get().into_iter().map(|a| entry(a, show_deal)).collect_view()}
        </ol>
        <Show when=move || next.get().is_some()>
            <button type="button" class="btn" on:click=load_older disabled=move || loading.get()>
                "Show older"
            </button>
        </Show>
    }
    .into_any()
}

/// The time typed, with the browser's offset from UTC at that time (none on the server).
fn set_when(f: &mut ActivityFields, value: String) {
    f.utc_offset = local_time::offset_of(&value)
        .map(|m| m.to_string())
        .unwrap_or_default();
    f.occurred_at = value;
}

/// "Log activity": the kind decides which details are asked for; each is checked in the browser with the same
/// rules the server applies, and the server's answer is shown field by field.
#[component]
fn LogActivityForm(
    deal_id: Option<DealId>,
    contact_id: Option<ContactId>,
    action: PostAction<LogActivity>,
) -> impl IntoView {
    let blank = move || ActivityFields {
        kind: "call".into(),
        deal_id: id_text(deal_id),
        contact_id: id_text(contact_id),
        ..Default::default()
    };
    let fields = RwSignal::new(blank());
    let local = Memo::new(move |_| fields.read().check());
    let errors = FieldErrors::new(local, move || action.value().get().and_then(|r| r.err()));
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = action.value().get() {
            if let Some(f) = form.get() {
                f.reset();
            }
            fields.set(blank());
            errors.reset();
        }
    });
    let kind = Memo::new(move |_| fields.read().kind.clone());
    // Times are typed in the browser's own time zone once the page runs its script (the form then sends the offset
    // of the time typed); a page without scripts takes them in UTC, and says so.
    let zone = RwSignal::new(None::<String>);
    Effect::new(move |_| zone.set(local_time::zone()));
    let when = move || {
        format!(
            "When ({}, blank for now)",
            zone.get().unwrap_or_else(|| "UTC".into())
        )
    };
    let logged = move || match action.value().get() {
        Some(Ok(a)) => Some(format!("{} logged.", a.kind.label())),
        _ => None,
    };

    type Set = fn(&mut ActivityFields, String);
    let input = move |name: &'static str,
                      label: &'static str,
                      kind_attr: &'static str,
                      set: Set| {
        let id = format!("activity-{name}");
        let error_id = format!("{id}-error");
        view! {
            <div class="field">
                <label for=id.clone()>{label}</label>
                <input id=id name=name type=kind_attr autocomplete="off" aria-describedby=error_id.clone()
                    aria-invalid=move || errors.of(name).get().is_some().to_string()
                    on:input=move |ev| fields.update(|f| set(f, event_target_value(&ev)))
                    on:blur=move |ev| {
                        fields.update(|f| set(f, event_target_value(&ev)));
                        errors.touch(name);
                    }/>
                <FieldError message=errors.of(name) id=error_id/>
            </div>
        }
    };
    let select = move |name: &'static str,
                       label: &'static str,
                       options: &'static [&'static str],
                       set: Set| {
        let id = format!("activity-{name}");
        let error_id = format!("{id}-error");
        view! {
            <div class="field">
                <label for=id.clone()>{label}</label>
                <select id=id name=name aria-describedby=error_id.clone()
                    on:change=move |ev| {
                        fields.update(|f| set(f, event_target_value(&ev)));
                        errors.touch(name);
                    }>
                    <option value="">"Choose…"</option>
                    {options.iter().map(|o| view! { <option value=*o>{o.replace('_', " ")}</option> }).collect_view()}
                </select>
                <FieldError message=errors.of(name) id=error_id/>
            </div>
        }
    };
    // Only the chosen kind's details are shown (and sent); without scripts the form logs a call.
    let group = move |k: &'static str| move || kind.get() != k;

    view! {
        <PostForm action node_ref=form attr:class="form form-grid log-activity" attr:novalidate="">
            <input type="hidden" name="deal_id" value=id_text(deal_id)/>
            <input type="hidden" name="contact_id" value=id_text(contact_id)/>
            <div class="field">
                <label for="activity-kind">"Kind"</label>
                <select id="activity-kind" name="kind" on:change=move |ev| fields.update(|f| f.kind = event_target_value(&ev))>
                    {ActivityKind::ALL.iter().map(|k| view! {
                        <option value=k.as_str() selected=*k == ActivityKind::Call>{k.label()}</option>
                    }).collect_view()}
                </select>
            </div>
            {input("subject", "Subject", "text", |f, v| f.subject = v)}
            <div class="field">
                <label for="activity-occurred_at">{when}</label>
                <input id="activity-occurred_at" name="occurred_at" type="datetime-local" autocomplete="off"
                    aria-describedby="activity-occurred_at-error"
                    aria-invalid=move || errors.of("occurred_at").get().is_some().to_string()
                    on:input=move |ev| fields.update(|f| set_when(f, event_target_value(&ev)))
                    on:blur=move |ev| {
                        fields.update(|f| set_when(f, event_target_value(&ev)));
                        errors.touch("occurred_at");
                    }/>
                <input type="hidden" name="utc_offset" prop:value=move || fields.read().utc_offset.clone()/>
                <FieldError message=errors.of("occurred_at") id="activity-occurred_at-error"/>
            </div>
            <fieldset class="kind-details" hidden=group("call")>
                <legend class="visually-hidden">"Call details"</legend>
                {input("call_minutes", "Duration (minutes)", "text", |f, v| f.call_minutes = v)}
                {select("direction", "Direction", &CALL_DIRECTIONS, |f, v| f.direction = v)}
                {select("outcome", "Outcome", &CALL_OUTCOMES, |f, v| f.outcome = v)}
            </fieldset>
            <fieldset class="kind-details" hidden=group("email")>
                <legend class="visually-hidden">"E-mail details"</legend>
                {input("to", "To (comma-separated)", "text", |f, v| f.to = v)}
                {input("cc", "Cc", "text", |f, v| f.cc = v)}
            </fieldset>
            <fieldset class="kind-details" hidden=group("meeting")>
                <legend class="visually-hidden">"Meeting details"</legend>
                {input("attendees", "Attendees (comma-separated)", "text", |f, v| f.attendees = v)}
                {input("location", "Location", "text", |f, v| f.location = v)}
                {input("meeting_minutes", "Duration (minutes)", "text", |f, v| f.meeting_minutes = v)}
            </fieldset>
            <fieldset class="kind-details" hidden=group("task")>
                <legend class="visually-hidden">"Task details"</legend>
                {input("due_date", "Due date", "date", |f, v| f.due_date = v)}
                <div class="field checkbox">
                    <label><input type="checkbox" name="done" value="true"
                        on:change=move |ev| fields.update(|f| f.done = event_target_checked(&ev))/>" Done"</label>
                </div>
            </fieldset>
            <div class="field wide">
                <label for="activity-body">"Notes"</label>
                <textarea id="activity-body" name="body" rows="3"
                    on:input=move |ev| fields.update(|f| f.body = event_target_value(&ev))></textarea>
                <FieldError message=errors.of("body") id="activity-body-error"/>
            </div>
            <div class="form-actions">
                <FieldError message=errors.of("deal_id") id="activity-target-error"/>
                <FormError message=errors.form()/>
                <button type="submit" class="btn btn-primary" disabled=move || action.pending().get()
                    on:click=move |_| errors.submit()>
                    {move || if action.pending().get() { "Saving…" } else { "Log activity" }}
                </button>
            </div>
        </PostForm>
        <Show when=move || logged().is_some()>
            <p class="notice" role="status">{logged}</p>
        </Show>
    }
    .into_any()
}
