//! `/api/auth/*`: the same services and session handling as the sign-in pages' server functions.

use app::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use clearview::domain::OrgId;
use clearview::model::SignupInput;
use clearview::services::{organizations, users};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use tower_sessions::Session;

use super::{ApiError, JsonBody, Scoped};

/// `POST /api/auth/signup` → 201 `{user, organization, role}` and a session cookie.
pub async fn signup(
    State(state): State<AppState>,
    session: Session,
    parts: Parts,
    JsonBody(input): JsonBody<SignupInput>,
) -> Result<impl IntoResponse, ApiError> {
    let ip = app::session::client_ip(&parts, &state.config);
    let outcome = state.finish(
        users::signup(
            &state.pool,
            &input,
            app::session::request_id(&parts),
            users::Requester::Network(ip.as_deref()),
        )
        .await?,
    );
    app::session::establish(
        &session,
        outcome.user.id,
        Some((outcome.organization.id, clearview::domain::Role::Admin)),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(outcome)))
}

#[derive(Deserialize)]
pub struct LoginInput {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// `POST /api/auth/login` → 200 `{user, organizations}` with a new session id; 401 alike for unknown e-mail and
/// wrong password; 429 when throttled.
pub async fn login(
    State(state): State<AppState>,
    session: Session,
    parts: Parts,
    JsonBody(input): JsonBody<LoginInput>,
) -> Result<Json<Value>, ApiError> {
    let (user, organizations) = app::session::sign_in_with_password(
        &session,
        &state.pool,
        &state.config,
        &parts,
        &input.email,
        &input.password,
    )
    .await?;
    Ok(Json(
        json!({ "user": user, "organizations": organizations }),
    ))
}

/// `POST /api/auth/logout` → 204; the session is deleted server-side.
pub async fn logout(session: Session) -> Result<StatusCode, ApiError> {
    app::session::destroy(&session).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/auth/me` → `{user, organization, role}`, 401 without a session.
pub async fn me(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
) -> Result<Json<Value>, ApiError> {
    let user = users::get(&state.pool, scope.user_id).await?;
    let organization = organizations::get(&state.pool, &scope).await?;
    Ok(Json(
        json!({ "user": user, "organization": organization, "role": scope.role }),
    ))
}

#[derive(Deserialize)]
pub struct SwitchInput {
    organization_id: OrgId,
}

/// `POST /api/auth/switch` `{organization_id}` → 200 `{user, organization, role}`; 404 unless a member.
pub async fn switch(
    State(state): State<AppState>,
    session: Session,
    JsonBody(input): JsonBody<SwitchInput>,
) -> Result<Json<Value>, ApiError> {
    let scope =
        app::session::switch(&session, &state.pool, &state.config, input.organization_id).await?;
    let user = users::get(&state.pool, scope.user_id).await?;
    let organization = organizations::get(&state.pool, &scope).await?;
    Ok(Json(
        json!({ "user": user, "organization": organization, "role": scope.role }),
    ))
}
