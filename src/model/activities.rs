//! Activities: calls, e-mails, meetings, notes and tasks logged against a deal and/or a contact.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::domain::{
    ActivityId, ActivityKind, ContactId, DealId, Subject, UserId, Validator, optional_text,
    parse_metadata,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    pub id: ActivityId,
    pub kind: ActivityKind,
    pub deal_id: Option<DealId>,
    pub deal_title: Option<String>,
    pub contact_id: Option<ContactId>,
    pub contact_name: Option<String>,
    pub author_id: Option<UserId>,
    pub author_name: Option<String>,
    pub subject: String,
    pub body: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    /// The per-kind details (validated on the way in).
    pub metadata: Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// What the log-activity form and `POST /api/activities` send.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActivityInput {
    pub kind: String,
    pub deal_id: Option<DealId>,
    pub contact_id: Option<ContactId>,
    pub subject: String,
    pub body: Option<String>,
    /// RFC 3339, or a form's `2026-11-22T14:30` (read as UTC); absent means now.
    pub occurred_at: Option<String>,
    pub metadata: Value,
}

/// A parsed [`ActivityInput`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValidActivity {
    pub kind: ActivityKind,
    pub deal_id: Option<DealId>,
    pub contact_id: Option<ContactId>,
    pub subject: Subject,
    pub body: Option<String>,
    pub occurred_at: Option<OffsetDateTime>,
    pub metadata: Value,
}

fn parse_occurred_at(s: &str) -> Result<Option<OffsetDateTime>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let rfc = time::format_description::well_known::Rfc3339;
    if let Ok(t) = OffsetDateTime::parse(s, &rfc) {
        return Ok(Some(t));
    }
    // `<input type="datetime-local">` sends no offset (and seconds only when set).
    let local = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let local_s =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    time::PrimitiveDateTime::parse(s, &local)
        .or_else(|_| time::PrimitiveDateTime::parse(s, &local_s))
        .map(|t| Some(t.assume_utc()))
        .map_err(|_| "must be a date and time such as 2026-11-22T14:30".to_string())
}

impl ValidActivity {
    pub fn parse(input: &ActivityInput) -> crate::Result<Self> {
        let mut v = Validator::new();
        let kind = v.check("kind", input.kind.parse::<ActivityKind>());
        let subject = v.check("subject", Subject::parse(&input.subject));
        let body = v.check(
            "body",
            optional_text_multiline(input.body.as_deref().unwrap_or("")),
        );
        let occurred_at = v.check(
            "occurred_at",
            parse_occurred_at(input.occurred_at.as_deref().unwrap_or("")),
        );
        if input.deal_id.is_none() && input.contact_id.is_none() {
            v.check::<()>("deal_id", Err("choose a deal or a contact".into()));
        }
        let mut metadata = None;
        if let Some(kind) = kind {
            match parse_metadata(kind, &input.metadata) {
                Ok(m) => metadata = Some(m),
                Err(fields) => {
                    for (field, message) in fields {
                        v.check::<()>(&field, Err(message));
                    }
                }
            }
        }
        v.finish(|| {
            Some(Self {
                kind: kind?,
                deal_id: input.deal_id,
                contact_id: input.contact_id,
                subject: subject?,
                body: body?,
                occurred_at: occurred_at?,
                metadata: metadata?,
            })
        })
    }
}

/// A body may span lines (unlike the one-line fields); at most 10 000 characters.
fn optional_text_multiline(s: &str) -> Result<Option<String>, String> {
    let single = s.replace(['\n', '\r', '\t'], " ");
    optional_text(&single, 10_000)?;
    let t = s.trim();
    Ok((!t.is_empty()).then(|| t.to_owned()))
}

/// `GET /api/activities`: a timeline filter, newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActivityQuery {
    pub deal_id: Option<DealId>,
    pub contact_id: Option<ContactId>,
    pub kind: Option<ActivityKind>,
    /// Activities whose details contain this JSON object (`{"outcome": "connected"}`), served by the GIN index.
    pub metadata: Option<Value>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn needs_a_deal_or_contact_and_valid_details() {
        let err = ValidActivity::parse(&ActivityInput {
            kind: "call".into(),
            subject: "Intro".into(),
            metadata: json!({"duration_seconds": 60}),
            ..Default::default()
        })
        .unwrap_err();
        let fields = err.fields().unwrap();
        assert!(fields.contains_key("deal_id"));
        assert!(fields.contains_key("metadata.direction"));
    }

    #[test]
    fn form_times_are_read_as_utc() {
        assert_eq!(
            parse_occurred_at("2026-11-22T14:30").unwrap().unwrap(),
            time::macros::datetime!(2026-11-22 14:30 UTC)
        );
        assert!(parse_occurred_at("yesterday").is_err());
    }
}
