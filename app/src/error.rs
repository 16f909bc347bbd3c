//! The error every server function returns: the same shape as the REST API's `{"error": {...}}` body.

use std::collections::BTreeMap;

pub use clearview::error::ErrorCode;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
    #[serde(skip)]
    pub status: u16,
}

impl ApiError {
    /// The message for one form field, if the server (or the browser's own check) rejected it.
    pub fn field(&self, name: &str) -> Option<String> {
        self.fields.get(name).cloned()
    }
}

impl From<clearview::Error> for ApiError {
    fn from(e: clearview::Error) -> Self {
        // The one place a server function's internal error is logged, with the span it was raised in.
        #[cfg(feature = "ssr")]
        if let Some(cause) = e.cause() {
            cause.log("server function failed");
        }
        let status = e.status();
        // Only after a request's session has gone missing does a person see "authentication required"; phrase it kindly.
        let message = match &e {
            clearview::Error::Unauthenticated => {
                "Your e-mail or password is not right, or your session has ended.".into()
            }
            other => other.to_string(),
        };
        #[cfg(feature = "ssr")]
        if let Some(res) = answer_with(status) {
            if let Some(secs) = e.retry_after() {
                res.insert_header(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
            }
            if matches!(e, clearview::Error::ScopeChanged) {
                res.insert_header(
                    http::HeaderName::from_static(crate::session::SCOPE_CHANGED_HEADER),
                    http::HeaderValue::from_static("1"),
                );
            }
        }
        Self {
            code: e.code(),
            message,
            fields: e.fields().cloned().unwrap_or_default(),
            status,
        }
    }
}

/// Sets the status of the server function's answer, unless it answers a form posted without JavaScript: that one is
/// a redirect back to its page, which shows the error (carried in the address), and a status set here would replace
/// the redirect's. The response's options, for more headers; none outside a request.
#[cfg(feature = "ssr")]
fn answer_with(status: u16) -> Option<leptos_axum::ResponseOptions> {
    let res = leptos::prelude::use_context::<leptos_axum::ResponseOptions>()?;
    let form_post = leptos::prelude::use_context::<http::request::Parts>().is_some_and(|p| {
        p.uri.path().starts_with("/fn/")
            && p.headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|a| a.contains("text/html"))
    });
    if !form_post {
        res.set_status(
            http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
        );
    }
    Some(res)
}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        // The status matters on the server: arguments that do not parse are the client's mistake (400); anything
        // else that goes wrong inside the server-function machinery is the server's (500).
        let (code, message, status) = match value {
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => (
                ErrorCode::Network,
                "The server could not be reached. Check your connection and try again.".to_string(),
                500,
            ),
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::Deserialization(m) => (
                ErrorCode::ValidationFailed,
                format!("The request was not understood: {m}"),
                400,
            ),
            ServerFnErrorErr::MissingArg(m) => (
                ErrorCode::ValidationFailed,
                format!("The request was not understood: {m} is missing"),
                400,
            ),
            ServerFnErrorErr::Serialization(m) => (
                ErrorCode::ValidationFailed,
                format!("The request was not understood: {m}"),
                500,
            ),
            _ => (
                ErrorCode::Internal,
                "Something went wrong on our side.".to_string(),
                500,
            ),
        };
        #[cfg(feature = "ssr")]
        answer_with(status);
        Self {
            code,
            message,
            fields: BTreeMap::new(),
            status,
        }
    }
}
