//! The CRM's values. Each type is parsed once at the edge (`parse`) and is valid from then on; the same code validates a
//! form in the browser and a request on the server.

mod activity;
mod dates;
mod email;
mod ids;
mod money;
mod names;
mod password;
mod position;
mod role;
mod stage;

pub use activity::{
    ActivityKind, CALL_DIRECTIONS, CALL_OUTCOMES, CALL_SECONDS_INVALID, parse_metadata,
};
pub use dates::{deserialize_optional_date, parse_date, parse_local_date_time};
pub use email::EmailAddress;
pub use ids::{ActivityId, ContactId, DealId, JobId, OrgId, PipelineId, StageId, UserId};
pub use money::{Currency, Money, Probability};
pub use names::{DealTitle, OrgName, PersonName, Subject, optional_phone, optional_text};
pub use password::Password;
pub use position::Position;
pub use role::Role;
pub use stage::StageKind;

/// Collects per-field parse results into one validation error, so a form shows every problem at once.
#[derive(Default)]
pub struct Validator {
    fields: crate::FieldErrors,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the error of `result` under `field` and returns the value if it parsed.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.fields.entry(field.to_owned()).or_insert(message);
                None
            }
        }
    }

    /// Ends validation: `Ok(value)` when every field parsed, else the collected field errors.
    pub fn finish<T>(self, value: impl FnOnce() -> Option<T>) -> crate::Result<T> {
        if self.fields.is_empty() {
            // Every `check` succeeded, so every Option the closure unwraps is Some.
            value().ok_or_else(|| crate::Error::internal("a checked form field was missing"))
        } else {
            Err(crate::Error::invalid(self.fields))
        }
    }
}
