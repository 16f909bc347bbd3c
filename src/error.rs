//! The one error type of the service layer. Both entry points (the REST handlers and the server functions) map it to
//! their wire form.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use cause::Cause;

/// Field name → human message, as shown next to a form field.
pub type FieldErrors = BTreeMap<String, String>;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
    #[error("too many attempts; try again in {}", seconds(*.retry_after_secs))]
    RateLimited { retry_after_secs: u64 },
    /// The server is at a bound it keeps (password hashing, open live streams): nothing was done; try again shortly.
    #[error("the server is busy; try again in {}", seconds(*.retry_after_secs))]
    Overloaded { retry_after_secs: u64 },
    /// A fault of ours. The cause travels with the error until the entry point that answers it (a REST handler or a
    /// server function) logs it, once, and it is never shown to a client.
    #[error("internal error")]
    Internal(Cause),
}

/// "1 second", "30 seconds", "2 minutes".
fn seconds(n: u64) -> String {
    match n {
        1 => "1 second".into(),
        n if n >= 120 && n % 60 == 0 => format!("{} minutes", n / 60),
        n => format!("{n} seconds"),
    }
}

/// The stable machine-readable code of an error, as the REST API's `{"error": {"code": ..}}` and the server functions
/// carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    NotFound,
    ValidationFailed,
    Conflict,
    ScopeChanged,
    RateLimited,
    Overloaded,
    Internal,
    /// The browser could not reach the server (never sent by the server).
    Network,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::ValidationFailed => "validation_failed",
            ErrorCode::Conflict => "conflict",
            ErrorCode::ScopeChanged => "scope_changed",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Overloaded => "overloaded",
            ErrorCode::Internal => "internal",
            ErrorCode::Network => "network",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
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

    /// An internal error with what went wrong, for the log.
    #[track_caller]
    pub fn internal(what: impl Into<String>) -> Self {
        Error::Internal(Cause::message(what.into()))
    }

    /// An internal error caused by `err`, for the log.
    #[track_caller]
    pub fn internal_from(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::Internal(Cause::error(err))
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Unauthenticated => ErrorCode::Unauthenticated,
            Error::Forbidden => ErrorCode::Forbidden,
            Error::NotFound => ErrorCode::NotFound,
            Error::Validation { .. } => ErrorCode::ValidationFailed,
            Error::Conflict(_) => ErrorCode::Conflict,
            Error::ScopeChanged => ErrorCode::ScopeChanged,
            Error::RateLimited { .. } => ErrorCode::RateLimited,
            Error::Overloaded { .. } => ErrorCode::Overloaded,
            Error::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The cause of an internal error, to be logged by the entry point (a REST handler or a server function) that
    /// answers it.
    pub fn cause(&self) -> Option<&Cause> {
        match self {
            Error::Internal(cause) => Some(cause),
            _ => None,
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
            Error::Overloaded { .. } => 503,
            Error::Internal(_) => 500,
        }
    }

    /// Seconds after which a refused request may be tried again (the `Retry-After` header).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::RateLimited { retry_after_secs } | Error::Overloaded { retry_after_secs } => {
                Some(*retry_after_secs)
            }
            _ => None,
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
    #[track_caller]
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::RowNotFound => Error::NotFound,
            sqlx::Error::Database(db) if db.code().as_deref() == Some(crate::db::SCOPE_CHANGED) => {
                Error::ScopeChanged
            }
            sqlx::Error::Database(db) if db.code().as_deref() == Some(crate::db::SESSION_ENDED) => {
                Error::Unauthenticated
            }
            // The last wall for text the edges should have refused: a NUL or other unstorable character (22021,
            // 22P05), a value too long for its column (22001) or for its index (54000). Bad input, never a 500.
            sqlx::Error::Database(db)
                if matches!(
                    db.code().as_deref(),
                    Some("22021" | "22P05" | "22001" | "54000")
                ) =>
            {
                tracing::info!(code = ?db.code(), "input the database cannot store: {}", db.message());
                Error::Validation {
                    message: "some text is too long or contains characters that cannot be stored"
                        .into(),
                    fields: FieldErrors::new(),
                }
            }
            _ => Error::internal_from(err),
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
    #[track_caller]
    fn on_constraint(self, name: &str, f: impl FnOnce() -> Error) -> Result<T> {
        self.map_err(|err| match &err {
            sqlx::Error::Database(db) if db.constraint() == Some(name) => f(),
            _ => Error::from(err),
        })
    }
}

mod cause {
    use std::panic::Location;
    use std::sync::Arc;

    /// Why an internal error happened: the underlying error (or a message), where in our code it was raised, and on
    /// the server the span it was raised in (the service function, with its fields, inside the request's span).
    #[derive(Clone)]
    pub struct Cause {
        source: Source,
        at: &'static Location<'static>,
        #[cfg(feature = "ssr")]
        span: tracing::Span,
    }

    #[derive(Clone)]
    enum Source {
        Message(String),
        Error(Arc<dyn std::error::Error + Send + Sync>),
    }

    impl Cause {
        #[track_caller]
        pub(super) fn message(what: String) -> Self {
            Self::new(Source::Message(what))
        }

        #[track_caller]
        pub(super) fn error(err: impl std::error::Error + Send + Sync + 'static) -> Self {
            Self::new(Source::Error(Arc::new(err)))
        }

        #[track_caller]
        fn new(source: Source) -> Self {
            Self {
                source,
                at: Location::caller(),
                #[cfg(feature = "ssr")]
                span: tracing::Span::current(),
            }
        }

        /// The file and line that raised it.
        pub fn location(&self) -> &'static Location<'static> {
            self.at
        }

        /// Logs the cause once, as an error, inside the span it was raised in.
        #[cfg(feature = "ssr")]
        pub fn log(&self, message: &str) {
            tracing::error!(parent: &self.span, error = %self, error.at = %self.at, "{message}");
        }
    }

    impl std::fmt::Display for Cause {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match &self.source {
                Source::Message(m) => f.write_str(m),
                Source::Error(e) => {
                    write!(f, "{e}")?;
                    let mut next = e.source();
                    while let Some(cause) = next {
                        write!(f, ": {cause}")?;
                        next = cause.source();
                    }
                    Ok(())
                }
            }
        }
    }

    impl std::fmt::Debug for Cause {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{self} (at {})", self.at)
        }
    }

    /// Two internal errors are alike whatever their causes: callers compare kinds of errors.
    impl PartialEq for Cause {
        fn eq(&self, _: &Self) -> bool {
            true
        }
    }

    impl Eq for Cause {}
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    /// A database error raised with `?`, and the line of that `?`.
    fn closed_pool() -> (u32, Error) {
        let raise = || -> Result<()> {
            Err(sqlx::Error::PoolClosed)?;
            Ok(())
        };
        (line!() - 3, raise().expect_err("a closed pool fails"))
    }

    #[test]
    fn an_internal_error_keeps_its_cause_and_where_it_was_raised() {
        let (line, err) = closed_pool();
        assert_eq!(err.code(), ErrorCode::Internal);
        assert_eq!(
            err.to_string(),
            "internal error",
            "clients never see the cause"
        );
        let cause = err.cause().expect("a cause");
        assert!(cause.to_string().contains("closed"), "{cause}");
        assert_eq!(cause.location().file(), file!());
        assert_eq!(cause.location().line(), line, "the line of the `?`");
    }
}
