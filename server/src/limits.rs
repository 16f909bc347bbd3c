//! What every request is held to, so that one slow or huge client cannot starve the rest: a bound on requests in
//! flight (past it, 503 at once), a deadline for the answer to begin (503), and a body limit per route (413). Each
//! refusal is in the API's error shape and names a `Retry-After` where trying again can help.
//!
//! A request holds its place only until its response begins: a board's event stream or a CSV export streams its body
//! after that, without a place (streams have their own caps, see `live`).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use tokio::sync::Semaphore;

/// The limits, with [`Limits::default`] for production.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Requests being answered at once, over every route.
    pub in_flight: usize,
    /// How long a request may take until its response begins (reading its body included).
    pub timeout: Duration,
    /// The longest body of any route but the import.
    pub body: usize,
    /// The import's body (a CSV file in a multipart form) and its deadline.
    pub import_body: usize,
    pub import_timeout: Duration,
    /// How long a connection may take to send a request's headers before it is closed.
    pub header_read: Duration,
    /// Open live event streams (which hold no place here once their response has begun).
    pub streams: crate::live::StreamLimits,
}

/// The import's route: the one that takes a large body.
pub const IMPORT_PATH: &str = "/api/contacts/import";
/// The largest import (a CSV file in a multipart form): comfortably above the import's row limit
/// (`contact_csv::IMPORT_MAX_ROWS`).
pub const IMPORT_BODY_LIMIT: usize = 16 * 1024 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Self {
            in_flight: 512,
            timeout: Duration::from_secs(30),
            body: 256 * 1024,
            import_body: IMPORT_BODY_LIMIT,
            import_timeout: Duration::from_secs(120),
            header_read: Duration::from_secs(10),
            streams: crate::live::StreamLimits::default(),
        }
    }
}

/// The limits and the places they count.
#[derive(Debug, Clone)]
pub struct Gate {
    limits: Arc<Limits>,
    places: Arc<Semaphore>,
}

impl Gate {
    pub fn new(limits: Limits) -> Self {
        Self {
            places: Arc::new(Semaphore::new(limits.in_flight.max(1))),
            limits: Arc::new(limits),
        }
    }
}

/// An answer in the API's error shape for the refusals that are not service errors (a deadline, a body too large).
fn refusal(status: StatusCode, code: &str, message: &str, retry_after: Option<u64>) -> Response {
    let body = serde_json::json!({ "error": { "code": code, "message": message } });
    let mut res = (status, axum::Json(body)).into_response();
    if let Some(secs) = retry_after {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    res
}

/// The middleware: place, body limit, deadline.
pub async fn enforce(State(gate): State<Gate>, req: Request, next: Next) -> Response {
    let Ok(_place) = gate.places.clone().try_acquire_owned() else {
        tracing::warn!(
            path = req.uri().path(),
            "request refused: too many in flight"
        );
        // The same answer as every other bound the server keeps (hashing, streams): the API's `overloaded`.
        return crate::api::ApiError(clearview::Error::Overloaded {
            retry_after_secs: 1,
        })
        .into_response();
    };
    let import = req.uri().path() == IMPORT_PATH;
    let (max, deadline) = if import {
        (gate.limits.import_body, gate.limits.import_timeout)
    } else {
        (gate.limits.body, gate.limits.timeout)
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return too_large(max);
    }
    // A body without a length (chunked) is cut off at the limit while it is read; the extractors answer 413.
    let req = req.map(|body| Body::new(http_body_util::Limited::new(body, max)));
    match tokio::time::timeout(deadline, next.run(req)).await {
        Ok(res) => res,
        Err(_) => {
            tracing::warn!(secs = deadline.as_secs(), "request refused: took too long");
            refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "the request took too long and was stopped",
                Some(1),
            )
        }
    }
}

fn too_large(max: usize) -> Response {
    refusal(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        &format!(
            "the request body is larger than this route takes ({} KiB)",
            max / 1024
        ),
        None,
    )
}
