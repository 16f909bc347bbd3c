//! Logging calls, e-mails, meetings, notes and tasks, and the timelines that show them: the same services as
//! `/api/activities`.
#![allow(
    clippy::too_many_arguments,
    reason = "a server function takes a form's fields one by one, named as the form names them"
)]

use clearview::domain::CALL_SECONDS_INVALID;
use clearview::model::{Activity, ActivityInput, Page};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::error::ApiError;

/// The log-activity form as typed: every field is text, as a browser sends it. The same mapping to an
/// [`ActivityInput`] runs in the browser (for field errors as you type) and on the server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActivityFields {
    pub kind: String,
    pub deal_id: String,
    pub contact_id: String,
    pub subject: String,
    pub body: String,
    pub occurred_at: String,
    /// Minutes east of UTC of `occurred_at`, filled in by the browser (blank without scripts: UTC).
    pub utc_offset: String,
    /// A call's length in minutes (decimals allowed); stored as `duration_seconds`.
    pub call_minutes: String,
    pub direction: String,
    pub outcome: String,
    pub to: String,
    pub cc: String,
    pub attendees: String,
    pub location: String,
    pub meeting_minutes: String,
    pub due_date: String,
    pub done: bool,
}

/// Which form field shows the error the shared validation reports under `key`.
pub fn form_field(key: &str) -> &str {
    match key {
        "metadata.duration_seconds" => "call_minutes",
        "metadata.duration_minutes" => "meeting_minutes",
        "contact_id" => "deal_id",
        "utc_offset" => "occurred_at",
        k => k.strip_prefix("metadata.").unwrap_or(k),
    }
}

/// Renames the keys of field errors to the form's field names. The form asks for a call's length in minutes, so the
/// check's complaint about the seconds they become is said in minutes.
pub fn to_form_errors(fields: &clearview::FieldErrors) -> clearview::FieldErrors {
    fields
        .iter()
        .map(|(k, v)| {
            let v = if k == "metadata.duration_seconds" && v == CALL_SECONDS_INVALID {
                "must be a number of minutes, at most a day (1440)".to_owned()
            } else {
                v.clone()
            };
            (form_field(k).to_owned(), v)
        })
        .collect()
}

impl ActivityFields {
    pub fn to_input(&self) -> ActivityInput {
        let mut m = Map::new();
        fn put(m: &mut Map<String, Value>, k: &str, v: &str) {
            if !v.trim().is_empty() {
                m.insert(k.to_owned(), json!(v.trim()));
            }
        }
        match self.kind.as_str() {
            "call" => {
                // Minutes as typed become whole seconds; text that is no number is passed on for the check to name.
                let minutes = self.call_minutes.trim().replace(',', ".");
                match minutes.parse::<f64>() {
                    Ok(min) if min.is_finite() && min >= 0.0 => {
                        m.insert(
                            "duration_seconds".into(),
                            json!((min * 60.0).round() as i64),
                        );
                    }
                    _ => put(&mut m, "duration_seconds", &self.call_minutes),
                }
                put(&mut m, "direction", &self.direction);
                put(&mut m, "outcome", &self.outcome);
            }
            "email" => {
                put(&mut m, "to", &self.to);
                put(&mut m, "cc", &self.cc);
            }
            "meeting" => {
                put(&mut m, "attendees", &self.attendees);
                put(&mut m, "location", &self.location);
                put(&mut m, "duration_minutes", &self.meeting_minutes);
            }
            "task" => {
                put(&mut m, "due_date", &self.due_date);
                m.insert("done".into(), json!(self.done));
            }
            _ => {}
        }
        ActivityInput {
            kind: self.kind.clone(),
            deal_id: self.deal_id.trim().parse().ok(),
            contact_id: self.contact_id.trim().parse().ok(),
            subject: self.subject.clone(),
            body: Some(self.body.clone()),
            occurred_at: Some(self.occurred_at.clone()),
            // Not a number (only a forged form sends one): out of range, so the shared check names the field.
            utc_offset: match self.utc_offset.trim() {
                "" => None,
                s => Some(s.parse().unwrap_or(i32::MAX)),
            },
            metadata: Value::Object(m),
        }
    }

    /// The browser's verdict, keyed by form field.
    pub fn check(&self) -> clearview::FieldErrors {
        match clearview::model::ValidActivity::parse(&self.to_input()) {
            Ok(_) => Default::default(),
            Err(e) => e.fields().map(to_form_errors).unwrap_or_default(),
        }
    }
}

/// A timeline, newest first: a deal's, a contact's, or both's.
#[server(prefix = "/fn")]
pub async fn list_activities(
    deal_id: String,
    contact_id: String,
    cursor: String,
) -> Result<Page<Activity>, ApiError> {
    use crate::deals::parse_opt_id;
    use clearview::model::ActivityQuery;
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    let query = ActivityQuery {
        deal_id: parse_opt_id(&deal_id)?,
        contact_id: parse_opt_id(&contact_id)?,
        cursor: Some(cursor).filter(|c| !c.is_empty()),
        ..Default::default()
    };
    Ok(clearview::services::activities::list(&cx.state.pool, &scope, &query).await?)
}

/// Logs an activity. A form that does not run scripts sends `done` only when ticked.
#[server(prefix = "/fn")]
pub async fn log_activity(
    kind: String,
    deal_id: String,
    contact_id: String,
    subject: String,
    body: String,
    occurred_at: String,
    utc_offset: Option<String>,
    call_minutes: Option<String>,
    direction: Option<String>,
    outcome: Option<String>,
    to: Option<String>,
    cc: Option<String>,
    attendees: Option<String>,
    location: Option<String>,
    meeting_minutes: Option<String>,
    due_date: Option<String>,
    done: Option<String>,
) -> Result<Activity, ApiError> {
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    let fields = ActivityFields {
        kind,
        deal_id,
        contact_id,
        subject,
        body,
        occurred_at,
        utc_offset: utc_offset.unwrap_or_default(),
        call_minutes: call_minutes.unwrap_or_default(),
        direction: direction.unwrap_or_default(),
        outcome: outcome.unwrap_or_default(),
        to: to.unwrap_or_default(),
        cc: cc.unwrap_or_default(),
        attendees: attendees.unwrap_or_default(),
        location: location.unwrap_or_default(),
        meeting_minutes: meeting_minutes.unwrap_or_default(),
        due_date: due_date.unwrap_or_default(),
        done: done.is_some_and(|d| d != "false"),
    };
    // An id that is no id names nothing; the service answers 404 for ids of other workspaces the same way.
    for id in [&fields.deal_id, &fields.contact_id] {
        if !id.trim().is_empty() && uuid::Uuid::parse_str(id.trim()).is_err() {
            return Err(clearview::Error::NotFound.into());
        }
    }
    clearview::services::activities::create(&cx.state.pool, &scope, &fields.to_input())
        .await
        .map(|done| cx.finish(done))
        .map_err(|e| {
            let mut api = ApiError::from(e);
            api.fields = to_form_errors(&api.fields);
            api
        })
}
