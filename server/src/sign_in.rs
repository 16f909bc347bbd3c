//! The sign-in form's answer. The sign-in page runs no script (D-026), so its form is plain HTML posted to the page's
//! own address. A right e-mail address and password sign the person in (with a fresh session id) and redirect to
//! `next`. Anything else renders the sign-in page again, in the same response: the message (and a field's, such as an
//! address no account can have), the e-mail address as it was typed (never the password), and the status the API
//! gives the same failure — 401, 422, or 429 with `Retry-After` while the address or the client must wait.

use std::future::Future;

use app::auth::{SignInFailure, safe_next};
use app::error::ApiError;
use app::state::AppState;
use axum::Form;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};
use serde::Deserialize;
use tower_sessions::Session;

/// What the sign-in form posts. A field left out counts as empty, which is simply not a right e-mail and password.
#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

/// Answers the sign-in form; `render` renders a page for a request, as the page routes do.
pub async fn answer<R, F>(
    State(state): State<AppState>,
    session: Session,
    parts: Parts,
    Form(form): Form<SignInForm>,
    render: R,
) -> Response
where
    R: FnOnce(Request) -> F,
    F: Future<Output = Response>,
{
    let signed_in = app::session::sign_in_with_password(
        &session,
        &state.pool,
        &state.config,
        &parts,
        &form.email,
        &form.password,
    )
    .await;
    let error = match signed_in {
        Ok(_) => return Redirect::to(&safe_next(form.next.as_deref())).into_response(),
        Err(e) => e,
    };
    let retry_after = error.retry_after();
    let refused = matches!(error, clearview::Error::Unauthenticated);
    // The conversion logs an internal cause, once.
    let mut error = ApiError::from(error);
    if refused {
        // The API's wording also covers a session that has ended; on this page there is none.
        error.message = "Your e-mail or password is not right.".to_owned();
    }
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut parts = parts;
    parts.extensions.insert(SignInFailure {
        email: form.email,
        error,
    });
    let mut res = render(Request::from_parts(parts, Body::empty())).await;
    *res.status_mut() = status;
    if let Some(secs) = retry_after {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    res
}
