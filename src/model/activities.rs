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
    /// RFC 3339, or a form's `2026-11-22T14:30` (local time at `utc_offset`, else UTC); absent means now.
    pub occurred_at: Option<String>,
    /// Minutes east of UTC of the local time a form's `occurred_at` is in, as the browser knows its own time zone at
    /// that moment (daylight saving included); absent: UTC. An RFC 3339 time carries its own offset.
    pub utc_offset: Option<i32>,
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

/// The furthest any time zone is from UTC, in minutes (UTC-12 to UTC+14; ±18 hours is what an offset can hold).
const MAX_UTC_OFFSET: i32 = 18 * 60;

fn parse_occurred_at(s: &str, utc_offset: Option<i32>) -> Result<Option<OffsetDateTime>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let rfc = time::format_description::well_known::Rfc3339;
    if let Ok(t) = OffsetDateTime::parse(s, &rfc) {
        return Ok(Some(t));
    }
    // `<input type="datetime-local">` sends no offset (and seconds only when set): the form says which.
    let offset = time::UtcOffset::from_whole_seconds(
        utc_offset
            .unwrap_or(0)
            .clamp(-MAX_UTC_OFFSET, MAX_UTC_OFFSET)
            * 60,
    )
    .map_err(|_| "has a time zone offset out of range".to_string())?;
    crate::domain::parse_local_date_time(s)
        .map(|t| Some(t.assume_offset(offset)))
        .ok_or_else(|| "must be a date and time such as 2026-11-22T14:30".to_string())
}

fn check_utc_offset(offset: Option<i32>) -> Result<(), String> {
    match offset {
        Some(m) if m.abs() > MAX_UTC_OFFSET => Err(format!(
            "must be minutes east of UTC, at most {MAX_UTC_OFFSET} either way"
        )),
        _ => Ok(()),
    }
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
        v.check("utc_offset", check_utc_offset(input.utc_offset));
        let occurred_at = v.check(
            "occurred_at",
            parse_occurred_at(input.occurred_at.as_deref().unwrap_or(""), input.utc_offset),
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
    fn form_times_are_read_in_the_browsers_time_zone_else_utc() {
        assert_eq!(
            parse_occurred_at("2026-11-22T14:30", None)
                .unwrap()
                .unwrap(),
            time::macros::datetime!(2026-11-22 14:30 UTC)
        );
        // New York in summer (UTC-4) and Kolkata (UTC+5:30).
        assert_eq!(
            parse_occurred_at("2026-06-15T09:30", Some(-240))
                .unwrap()
                .unwrap(),
            time::macros::datetime!(2026-06-15 13:30 UTC)
        );
        assert_eq!(
            parse_occurred_at("2026-06-15T09:30:15", Some(330))
                .unwrap()
                .unwrap(),
            time::macros::datetime!(2026-06-15 04:00:15 UTC)
        );
        // A time with its own offset keeps it.
        assert_eq!(
            parse_occurred_at("2026-06-15T09:30:00+02:00", Some(-240))
                .unwrap()
                .unwrap(),
            time::macros::datetime!(2026-06-15 07:30 UTC)
        );
        assert!(parse_occurred_at("yesterday", None).is_err());
        let err = ValidActivity::parse(&ActivityInput {
            kind: "note".into(),
            subject: "Hi".into(),
            deal_id: Some(crate::domain::DealId::new()),
            occurred_at: Some("2026-06-15T09:30".into()),
            utc_offset: Some(24 * 60),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.fields().unwrap().contains_key("utc_offset"), "{err:?}");
    }
}
