//! Activities and their per-kind details (stored as one JSONB object, `activities.metadata`, indexed with GIN;
//! validated here on the way in).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::EmailAddress;
use super::dates::parse_date;
use crate::FieldErrors;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActivityKind {
    Call,
    Email,
    Meeting,
    Note,
    Task,
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 5] = [
        ActivityKind::Call,
        ActivityKind::Email,
        ActivityKind::Meeting,
        ActivityKind::Note,
        ActivityKind::Task,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::Call => "call",
            ActivityKind::Email => "email",
            ActivityKind::Meeting => "meeting",
            ActivityKind::Note => "note",
            ActivityKind::Task => "task",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ActivityKind::Call => "Call",
            ActivityKind::Email => "E-mail",
            ActivityKind::Meeting => "Meeting",
            ActivityKind::Note => "Note",
            ActivityKind::Task => "Task",
        }
    }
}

impl fmt::Display for ActivityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ActivityKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| "must be one of call, email, meeting, note, task".into())
    }
}

/// The direction of a call.
pub const CALL_DIRECTIONS: [&str; 2] = ["outbound", "inbound"];
/// How a call ended.
pub const CALL_OUTCOMES: [&str; 5] = [
    "connected",
    "voicemail",
    "no_answer",
    "busy",
    "wrong_number",
];
/// A call longer than a day is a typo.
pub const MAX_CALL_SECONDS: i64 = 24 * 3600;
/// What a call's `duration_seconds` that is no such number gets (forms that ask for minutes say so in minutes).
pub const CALL_SECONDS_INVALID: &str = "must be a whole number of seconds up to a day";
const MAX_LIST: usize = 50;
const MAX_TEXT: usize = 200;

/// Validated per-kind details, normalised to the JSON object that is stored. Unknown keys are refused rather than
/// silently kept, so the column only ever holds what this code knows how to read.
pub fn parse_metadata(kind: ActivityKind, raw: &Value) -> Result<Value, FieldErrors> {
    let empty = Map::new();
    let obj = match raw {
        Value::Object(o) => o,
        Value::Null => &empty,
        _ => return Err(one("metadata", "must be an object")),
    };
    let mut errors = FieldErrors::new();
    let mut out = Map::new();
    let allowed: &[&str] = match kind {
        ActivityKind::Call => &["duration_seconds", "direction", "outcome"],
        ActivityKind::Email => &["to", "cc", "opens"],
        ActivityKind::Meeting => &["attendees", "location", "duration_minutes"],
        ActivityKind::Note => &[],
        ActivityKind::Task => &["due_date", "done"],
    };
    for key in obj.keys() {
        if !allowed.contains(&key.as_str()) {
            errors.insert(
                format!("metadata.{key}"),
                format!("is not a detail of a {}", kind.as_str()),
            );
        }
    }
    let mut err = |field: &str, msg: &str| {
        errors.insert(format!("metadata.{field}"), msg.to_owned());
    };
    match kind {
        ActivityKind::Call => {
            match integer(obj.get("duration_seconds")) {
                Ok(Some(s)) if (0..=MAX_CALL_SECONDS).contains(&s) => {
                    out.insert("duration_seconds".into(), json!(s));
                }
                Ok(None) => err("duration_seconds", "is required"),
                _ => err("duration_seconds", CALL_SECONDS_INVALID),
            }
            choice(obj, "direction", &CALL_DIRECTIONS, true, &mut out, &mut err);
            choice(obj, "outcome", &CALL_OUTCOMES, true, &mut out, &mut err);
        }
        ActivityKind::Email => {
            match email_list(obj.get("to")) {
                Ok(list) if !list.is_empty() => {
                    out.insert("to".into(), json!(list));
                }
                Ok(_) => err("to", "needs at least one recipient"),
                Err(m) => err("to", &m),
            }
            match email_list(obj.get("cc")) {
                Ok(list) if !list.is_empty() => {
                    out.insert("cc".into(), json!(list));
                }
                Ok(_) => {}
                Err(m) => err("cc", &m),
            }
            match integer(obj.get("opens")) {
                Ok(Some(n)) if n >= 0 => {
                    out.insert("opens".into(), json!(n));
                }
                Ok(None) => {}
                _ => err("opens", "must be a whole number"),
            }
        }
        ActivityKind::Meeting => {
            match text_list(obj.get("attendees")) {
                Ok(list) if !list.is_empty() => {
                    out.insert("attendees".into(), json!(list));
                }
                Ok(_) => err("attendees", "needs at least one attendee"),
                Err(m) => err("attendees", &m),
            }
            match text(obj.get("location")) {
                Ok(Some(l)) => {
                    out.insert("location".into(), json!(l));
                }
                Ok(None) => {}
                Err(m) => err("location", &m),
            }
            match integer(obj.get("duration_minutes")) {
                Ok(Some(n)) if (1..=24 * 60).contains(&n) => {
                    out.insert("duration_minutes".into(), json!(n));
                }
                Ok(None) => {}
                _ => err(
                    "duration_minutes",
                    "must be a whole number of minutes up to a day",
                ),
            }
        }
        ActivityKind::Note => {}
        ActivityKind::Task => {
            match obj.get("due_date").and_then(Value::as_str).map(parse_date) {
                Some(Ok(d)) => {
                    out.insert("due_date".into(), json!(d.to_string()));
                }
                Some(Err(m)) => err("due_date", &m),
                None if obj.get("due_date").is_some_and(|v| !v.is_null()) => {
                    err("due_date", "must be a date such as 2026-12-01")
                }
                None => err("due_date", "is required"),
            }
            match obj.get("done") {
                None | Some(Value::Null) => {
                    out.insert("done".into(), json!(false));
                }
                Some(Value::Bool(b)) => {
                    out.insert("done".into(), json!(b));
                }
                Some(Value::String(s)) if s == "true" || s == "on" || s == "false" => {
                    out.insert("done".into(), json!(s != "false"));
                }
                _ => err("done", "must be true or false"),
            }
        }
    }
    if errors.is_empty() {
        Ok(Value::Object(out))
    } else {
        Err(errors)
    }
}

fn one(field: &str, msg: &str) -> FieldErrors {
    let mut f = FieldErrors::new();
    f.insert(field.into(), msg.into());
    f
}

/// Numbers arrive as JSON numbers from the API and as strings from HTML forms; both are accepted, exactly.
fn integer(v: Option<&Value>) -> Result<Option<i64>, ()> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or(()),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| ()),
        _ => Err(()),
    }
}

fn text(v: Option<&Value>) -> Result<Option<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.is_empty() {
                Ok(None)
            } else if s.chars().count() > MAX_TEXT {
                Err(format!("must be at most {MAX_TEXT} characters"))
            } else if s.chars().any(char::is_control) {
                Err("must not contain control characters".into())
            } else {
                Ok(Some(s.to_owned()))
            }
        }
        _ => Err("must be text".into()),
    }
}

/// A list of short texts, given as a JSON array or as one comma-separated string (a form field).
fn text_list(v: Option<&Value>) -> Result<Vec<String>, String> {
    let items: Vec<Value> = match v {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => a.clone(),
        Some(Value::String(s)) => s.split([',', ';']).map(|p| json!(p)).collect(),
        _ => return Err("must be a list".into()),
    };
    let mut out = Vec::new();
    for item in &items {
        if let Some(t) = text(Some(item))? {
            out.push(t);
        }
    }
    if out.len() > MAX_LIST {
        return Err(format!("must have at most {MAX_LIST} entries"));
    }
    Ok(out)
}

fn email_list(v: Option<&Value>) -> Result<Vec<String>, String> {
    text_list(v)?
        .iter()
        .map(|s| {
            EmailAddress::parse(s)
                .map(String::from)
                .map_err(|_| format!("{s} is not a valid e-mail address"))
        })
        .collect()
}

fn choice(
    obj: &Map<String, Value>,
    key: &str,
    options: &[&str],
    required: bool,
    out: &mut Map<String, Value>,
    err: &mut impl FnMut(&str, &str),
) {
    match obj.get(key) {
        Some(Value::String(s)) if options.contains(&s.trim()) => {
            out.insert(key.into(), json!(s.trim()));
        }
        None | Some(Value::Null) if !required => {}
        None | Some(Value::Null) => err(key, "is required"),
        Some(Value::String(s)) if s.trim().is_empty() && required => err(key, "is required"),
        _ => err(key, &format!("must be one of {}", options.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_details_are_validated_and_normalised() {
        let ok = parse_metadata(
            ActivityKind::Call,
            &json!({"duration_seconds": "420", "direction": "outbound", "outcome": "connected"}),
        )
        .unwrap();
        assert_eq!(
            ok,
            json!({"duration_seconds": 420, "direction": "outbound", "outcome": "connected"})
        );
        let bad = parse_metadata(
            ActivityKind::Call,
            &json!({"duration_seconds": -1, "direction": "sideways", "colour": "red"}),
        )
        .unwrap_err();
        assert!(bad.contains_key("metadata.duration_seconds"));
        assert!(bad.contains_key("metadata.direction"));
        assert!(bad.contains_key("metadata.outcome"));
        assert!(bad.contains_key("metadata.colour"));
    }

    #[test]
    fn other_kinds() {
        assert_eq!(
            parse_metadata(
                ActivityKind::Email,
                &json!({"to": "a@example.com, b@example.com"})
            )
            .unwrap(),
            json!({"to": ["a@example.com", "b@example.com"]})
        );
        assert!(parse_metadata(ActivityKind::Email, &json!({"to": ["not-mail"]})).is_err());
        assert!(parse_metadata(ActivityKind::Meeting, &json!({"attendees": []})).is_err());
        assert_eq!(
            parse_metadata(ActivityKind::Task, &json!({"due_date": "2026-12-01"})).unwrap(),
            json!({"due_date": "2026-12-01", "done": false})
        );
        assert!(parse_metadata(ActivityKind::Task, &json!({"due_date": "2026-02-30"})).is_err());
        assert_eq!(
            parse_metadata(ActivityKind::Note, &Value::Null).unwrap(),
            json!({})
        );
        assert!(parse_metadata(ActivityKind::Note, &json!([1])).is_err());
    }
}
