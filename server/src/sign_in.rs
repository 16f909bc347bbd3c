//! The sign-in form's answer. The sign-in page runs no script (D-026), so its form is plain HTML posted to the page's
//! own address. A right e-mail address and password sign the person in (with a fresh session id) and redirect to
//! `next`. Anything else renders the sign-in page again, in the same response: the message, the e-mail address as it
//! was typed (never the password), and the status the API gives the same failure — 401, or 429 with `Retry-After`
//! while the address or the client must wait.

use std::future::Future;

use app::auth::{SignInFailure, safe_next};
use app::error::ApiError;
use app::state::AppState;
use axum::body::Body;
use axum::extract::{Form, FromRequest, Request};
use axum::response::{IntoResponse, Redirect, Response};
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
pub async fn answer<R, F>(state: AppState, req: Request, render: R) -> Response
where
    R: FnOnce(Request) -> F,
    F: Future<Output = Response>,
{
    let (parts, body) = req.into_parts();
    let form =
        match Form::<SignInForm>::from_request(Request::from_parts(parts.clone(), body), &state)
            .await
        {
            Ok(Form(form)) => form,
            Err(rejection) => return rejection.into_response(),
        };
    let signed_in = async {
        let session = parts.extensions.get::<Session>().ok_or_else(|| {
            clearview::Error::internal("no session layer in front of the sign-in form")
        })?;
        let ip = app::session::client_ip(&parts, &state.config);
        let user = clearview::services::users::authenticate(
            &state.pool,
            &form.email,
            &form.password,
            ip.as_deref(),
        )
        .await?;
        app::session::sign_in(session, &state.pool, user.id).await
    }
    .await;
    let error = match signed_in {
        Ok(_) => return Redirect::to(&safe_next(form.next.as_deref())).into_response(),
        Err(e) => e,
    };
    let retry_after = error.retry_after();
    let refused = matches!(error, clearview::Error::Unauthenticated);
    // The conversion logs an internal cause, once.
    let error = ApiError::from(error);
    // The API's wording also covers a session that has ended; on this page there is none.
    let message = if refused {
        "Your e-mail or password is not right.".to_owned()
    } else {
        error.message
    };
    let mut parts = parts;
    parts.extensions.insert(SignInFailure {
        email: form.email,
        message,
    });
    let mut res = render(Request::from_parts(parts, Body::empty())).await;
    *res.status_mut() =
        StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Some(secs) = retry_after {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    res
}
