//! The REST API under `/api` (see [`router`] for its routes): thin handlers that authenticate, build a `Scope`,
//! call a service and map the error.

mod activities;
mod auth;
mod contacts;
mod deals;
mod organizations;
mod pipelines;

use app::state::AppState;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use clearview::services::Scope;
use http::{HeaderValue, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::json;
use tower_sessions::Session;

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/auth/signup", post(auth::signup))
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/me", get(auth::me))
        .route("/auth/switch", post(auth::switch))
        .route(
            "/organizations",
            get(organizations::list).post(organizations::create),
        )
        .route(
            "/organizations/{id}",
            get(organizations::get)
                .patch(organizations::rename)
                .delete(organizations::delete),
        )
        .route("/organizations/{id}/members", get(organizations::members))
        .route(
            "/organizations/{id}/members/{user_id}",
            axum::routing::patch(organizations::set_role).delete(organizations::remove),
        )
        .route("/organizations/{id}/invite", post(organizations::invite))
        .route("/organizations/{id}/invites", get(organizations::invites))
        .route(
            "/organizations/{id}/invites/{invite_id}",
            axum::routing::delete(organizations::revoke),
        )
        .route(
            "/organizations/{id}/invites/{invite_id}/resend",
            post(organizations::resend),
        )
        .route("/organizations/{id}/jobs", get(organizations::jobs))
        .route("/invites/preview", get(organizations::preview))
        .route("/invites/accept", post(organizations::accept))
        .route("/jobs/{id}/retry", post(organizations::retry))
        .route("/pipelines", get(pipelines::list).post(pipelines::create))
        .route(
            "/pipelines/{id}",
            get(pipelines::get)
                .patch(pipelines::update)
                .delete(pipelines::delete),
        )
        .route("/pipelines/{id}/stages", post(pipelines::add_stage))
        .route(
            "/stages/{id}",
            axum::routing::patch(pipelines::update_stage).delete(pipelines::delete_stage),
        )
        .route("/pipelines/{id}/deals", get(deals::board))
        .route("/pipelines/{id}/events", get(pipelines::events))
        .route("/contacts", get(contacts::list).post(contacts::create))
        .route(
            "/contacts/{id}",
            get(contacts::get)
                .put(contacts::update)
                .delete(contacts::delete),
        )
        .route("/contacts/{id}/deals", get(contacts::deals))
        .route("/contacts/export", get(contacts::export))
        .route(
            "/contacts/import",
            post(contacts::import).layer(axum::extract::DefaultBodyLimit::max(
                crate::limits::IMPORT_BODY_LIMIT,
            )),
        )
        .route("/deals", post(deals::create))
        .route(
            "/deals/{id}",
            get(deals::get).patch(deals::update).delete(deals::delete),
        )
        .route(
            "/activities",
            get(activities::list).post(activities::create),
        )
        .fallback(|| async { ApiError(clearview::Error::NotFound) })
}

/// A service error as the API's JSON error body: `{"error": {"code", "message", "fields"?}}`.
#[derive(Debug)]
pub struct ApiError(pub clearview::Error);

impl From<clearview::Error> for ApiError {
    fn from(e: clearview::Error) -> Self {
        Self(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // The one place a REST request's internal error is logged, with the span it was raised in.
        if let Some(cause) = self.0.cause() {
            cause.log("request failed");
        }
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut error = json!({ "code": self.0.code(), "message": self.0.to_string() });
        if let Some(fields) = self.0.fields() {
            error["fields"] = json!(fields);
        }
        let mut res = (status, Json(json!({ "error": error }))).into_response();
        if matches!(self.0, clearview::Error::ScopeChanged) {
            res.headers_mut().insert(
                http::HeaderName::from_static(app::session::SCOPE_CHANGED_HEADER),
                HeaderValue::from_static("1"),
            );
        }
        if let Some(retry_after_secs) = self.0.retry_after() {
            res.headers_mut().insert(
                http::header::RETRY_AFTER,
                HeaderValue::from(retry_after_secs),
            );
        }
        res
    }
}

/// A JSON body whose rejections (bad syntax, wrong types, wrong content type, too large) answer in the API's error
/// shape instead of axum's plain text.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<serde_json::Value>::from_request(req, state).await {
            Ok(Json(v)) => {
                if let Some(field) = with_control_character(&v, "") {
                    return Err(ApiError(clearview::Error::field(
                        if field.is_empty() { "body" } else { &field },
                        "must not contain control characters such as NUL",
                    ))
                    .into_response());
                }
                serde_json::from_value(v).map(Self).map_err(|e| {
                    let body = json!({ "error": {
                        "code": "validation_failed",
                        "message": format!("Failed to deserialize the JSON body into the target type: {e}"),
                    }});
                    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
                })
            }
            Err(rejection) => {
                let (status, code) = match &rejection {
                    JsonRejection::MissingJsonContentType(_) => {
                        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
                    }
                    JsonRejection::JsonSyntaxError(_) => (StatusCode::BAD_REQUEST, "bad_request"),
                    JsonRejection::JsonDataError(_) => {
                        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
                    }
                    _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                        (StatusCode::PAYLOAD_TOO_LARGE, "too_large")
                    }
                    _ => (StatusCode::BAD_REQUEST, "bad_request"),
                };
                let body = json!({ "error": { "code": code, "message": rejection.body_text() } });
                Err((status, Json(body)).into_response())
            }
        }
    }
}

/// The first place in a JSON value (`a.b.0`) holding a NUL or another control character (in a key or a string);
/// tab, line feeds and carriage returns are text. PostgreSQL cannot store NUL in text, and nothing of ours takes the
/// rest.
fn with_control_character(v: &serde_json::Value, at: &str) -> Option<String> {
    use serde_json::Value;
    let bad = |s: &str| {
        s.chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    };
    let join = |key: &str| {
        if at.is_empty() {
            key.to_owned()
        } else {
            format!("{at}.{key}")
        }
    };
    match v {
        Value::String(s) if bad(s) => Some(at.to_owned()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| with_control_character(item, &join(&i.to_string()))),
        Value::Object(map) => map.iter().find_map(|(k, item)| {
            if bad(k) {
                Some(join(k))
            } else {
                with_control_character(item, &join(k))
            }
        }),
        _ => None,
    }
}

/// The longest value of one query parameter.
const MAX_PARAM_LEN: usize = 4096;

/// Query-string parameters whose rejections answer in the API's error shape (400), never axum's plain text. A value
/// with a control character (NUL included) or longer than 4 KiB is refused with its parameter named.
pub struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Ok(Query(pairs)) = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri) {
            let mut fields = clearview::FieldErrors::new();
            for (name, value) in pairs {
                if value.len() > MAX_PARAM_LEN {
                    fields.insert(name, format!("must be at most {MAX_PARAM_LEN} bytes"));
                } else if value.chars().any(char::is_control) || name.chars().any(char::is_control)
                {
                    fields.insert(
                        name,
                        "must not contain control characters such as NUL".into(),
                    );
                }
            }
            if !fields.is_empty() {
                let body = json!({ "error": {
                    "code": "bad_request",
                    "message": "some parameters cannot be read",
                    "fields": fields,
                }});
                return Err((StatusCode::BAD_REQUEST, Json(body)).into_response());
            }
        }
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(Self(v)),
            Err(rejection) => {
                let body =
                    json!({ "error": { "code": "bad_request", "message": rejection.body_text() } });
                Err((StatusCode::BAD_REQUEST, Json(body)).into_response())
            }
        }
    }
}

/// A resource id from the path. One that is not even a UUID names nothing: 404, as for an absent record.
pub struct Id<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Id<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| Self(id))
            .map_err(|_| ApiError(clearview::Error::NotFound))
    }
}

/// `{"items": [...]}`, the API's list envelope for lists that are not paged.
pub fn items<T: serde::Serialize>(items: Vec<T>) -> Json<serde_json::Value> {
    Json(json!({ "items": items }))
}

/// The signed-in member's workspace scope, from the session cookie. 401 without a live session.
pub struct Scoped(pub Scope);

impl FromRequestParts<AppState> for Scoped {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let session = session_of(parts)?;
        let request_id = app::session::request_id(parts);
        Ok(Scoped(
            app::session::scope(&session, &state.pool, &state.config, request_id).await?,
        ))
    }
}

pub(crate) fn session_of(parts: &Parts) -> Result<Session, ApiError> {
    parts
        .extensions
        .get::<Session>()
        .cloned()
        .ok_or_else(|| ApiError(clearview::Error::internal("the session layer is missing")))
}
