//! The one error type of the service layer. Both front doors (REST and server functions) map it to their wire form.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Field name → human message, as shown next to a form field.
pub type FieldErrors = BTreeMap<String, String>;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum Error {
    #[error("authentication required")]
    Unauthenticated,
    #[error("you do not have permission to do that")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("{message}")]
    Validation {
        message: String,
        fields: FieldErrors,
    },
    #[error("{0}")]
    Conflict(String),
    /// The role or membership a request acted under changed since its session last read it (D-014). Nothing was done;
    /// the session forgets what it knew, so the next request reads the membership afresh.
    #[error("your role in this workspace has changed; reload to continue")]
    ScopeChanged,
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: u64 },
    /// Details are logged where the error arises and never shown to a client.
    #[error("internal error")]
    Internal,
}

impl Error {
    /// A validation error about one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut fields = FieldErrors::new();
        fields.insert(field.to_owned(), message.into());
        Self::invalid(fields)
    }

    /// A validation error about several fields.
    pub fn invalid(fields: FieldErrors) -> Self {
        Self::Validation {
            message: "some fields need attention".into(),
            fields,
        }
    }

    /// The stable machine-readable code of API.md.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Unauthenticated => "unauthenticated",
            Error::Forbidden => "forbidden",
            Error::NotFound => "not_found",
            Error::Validation { .. } => "validation_failed",
            Error::Conflict(_) => "conflict",
            Error::ScopeChanged => "scope_changed",
            Error::RateLimited { .. } => "rate_limited",
            Error::Internal => "internal",
        }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            Error::Unauthenticated => 401,
            Error::Forbidden => 403,
            Error::NotFound => 404,
            Error::Validation { .. } => 422,
            Error::Conflict(_) | Error::ScopeChanged => 409,
            Error::RateLimited { .. } => 429,
            Error::Internal => 500,
        }
    }

    pub fn fields(&self) -> Option<&FieldErrors> {
        match self {
            Error::Validation { fields, .. } => Some(fields),
            _ => None,
        }
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::RowNotFound => Error::NotFound,
            sqlx::Error::Database(db) if db.code().as_deref() == Some(crate::db::SCOPE_CHANGED) => {
                Error::ScopeChanged
            }
            sqlx::Error::Database(db) if db.code().as_deref() == Some(crate::db::SESSION_ENDED) => {
                Error::Unauthenticated
            }
            _ => {
                tracing::error!(error = %err, "database error");
                Error::Internal
            }
        }
    }
}

/// Maps a unique or check violation of a named constraint to a field error, as `on_constraint` does in the sqlx
/// examples: the database decides, so two racing requests can never both pass a "check first" test.
#[cfg(feature = "ssr")]
pub trait OnConstraint<T> {
    fn on_constraint(self, name: &str, f: impl FnOnce() -> Error) -> Result<T>;
}

#[cfg(feature = "ssr")]
impl<T> OnConstraint<T> for std::result::Result<T, sqlx::Error> {
    fn on_constraint(self, name: &str, f: impl FnOnce() -> Error) -> Result<T> {
        self.map_err(|err| match &err {
            sqlx::Error::Database(db) if db.constraint() == Some(name) => f(),
            _ => Error::from(err),
        })
    }
}
