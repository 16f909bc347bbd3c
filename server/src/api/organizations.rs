//! `/api/organizations/*`, `/api/invites/*` and `/api/jobs/*`: workspaces, their members, invitations and mail. A
//! route naming a workspace acts in it for a member only (404 for anyone else, whether or not it exists), without
//! making it the session's current workspace.

use app::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::request::Parts;
use clearview::domain::{OrgId, UserId};
use clearview::model::{
    AcceptInput, Invite, InviteInput, InvitePreview, Job, JobStatus, Member, Membership,
    Organization, RoleInput,
};
use clearview::services::invites::{self, Accepting};
use clearview::services::{Scope, members, organizations};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use tower_sessions::Session;
use uuid::Uuid;

use super::{ApiError, Id, JsonBody, Params, Scoped, items, session_of};

/// The signed-in person's scope in the workspace the path names.
async fn scope_in(state: &AppState, parts: &Parts, org: OrgId) -> Result<Scope, ApiError> {
    let session = session_of(parts)?;
    Ok(app::session::scope_in(
        &session,
        &state.pool,
        &state.config,
        org,
        app::session::request_id(parts),
    )
    .await?)
}

/// The signed-in person, from the session; 401 without one.
async fn signed_in(state: &AppState, parts: &Parts) -> Result<UserId, ApiError> {
    let session = session_of(parts)?;
    app::session::user(&session, &state.config)
        .await?
        .ok_or(ApiError(clearview::Error::Unauthenticated))
}

#[derive(Deserialize)]
pub struct NameInput {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
pub struct DeleteInput {
    #[serde(default)]
    confirm: String,
}

/// `GET /api/organizations` → `{items: [{id, name, role}]}`: the signed-in person's workspaces.
pub async fn list(State(state): State<AppState>, parts: Parts) -> Result<Json<Value>, ApiError> {
    let user = signed_in(&state, &parts).await?;
    Ok(items(organizations::memberships(&state.pool, user).await?))
}

/// `POST /api/organizations` `{name}` → 201 `{id, name, role}`: another workspace, with its creator as admin. The
/// session's current workspace stays as it was.
pub async fn create(
    State(state): State<AppState>,
    parts: Parts,
    JsonBody(input): JsonBody<NameInput>,
) -> Result<(StatusCode, Json<Membership>), ApiError> {
    let user = signed_in(&state, &parts).await?;
    let m = state.finish(
        organizations::create(
            &state.pool,
            user,
            &input.name,
            app::session::request_id(&parts),
        )
        .await?,
    );
    Ok((StatusCode::CREATED, Json(m)))
}

/// `GET /api/organizations/{id}` → `{id, name}`.
pub async fn get(
    State(state): State<AppState>,
    parts: Parts,
    Id(org): Id<OrgId>,
) -> Result<Json<Organization>, ApiError> {
    let scope = scope_in(&state, &parts, org).await?;
    Ok(Json(organizations::get(&state.pool, &scope).await?))
}

/// `PATCH /api/organizations/{id}` `{name}` (admins) → `{id, name}`.
pub async fn rename(
    State(state): State<AppState>,
    parts: Parts,
    Id(org): Id<OrgId>,
    JsonBody(input): JsonBody<NameInput>,
) -> Result<Json<Organization>, ApiError> {
    let scope = scope_in(&state, &parts, org).await?;
    Ok(Json(state.finish(
        organizations::rename(&state.pool, &scope, &input.name).await?,
    )))
}

/// `DELETE /api/organizations/{id}` `{confirm: its name}` (admins) → 204; all of its data goes with it.
pub async fn delete(
    State(state): State<AppState>,
    parts: Parts,
    Id(org): Id<OrgId>,
    JsonBody(input): JsonBody<DeleteInput>,
) -> Result<StatusCode, ApiError> {
    let scope = scope_in(&state, &parts, org).await?;
    state.finish(organizations::delete(&state.pool, &scope, &input.confirm).await?);
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/organizations/{id}/members` → `{items: [{user_id, name, email, role, joined_at}]}`.
pub async fn members(
    State(state): State<AppState>,
    parts: Parts,
    Id(org): Id<OrgId>,
) -> Result<Json<Value>, ApiError> {
    let scope = scope_in(&state, &parts, org).await?;
    Ok(items(members::list(&state.pool, &scope).await?))
}

/// `PATCH /api/organizations/{id}/members/{user_id}` `{role}` (admins) → the member; 409 for the last admin.
pub async fn set_role(
    State(state): State<AppState>,
    parts: Parts,
    Id((org, user)): Id<(OrgId, UserId)>,
    JsonBody(input): JsonBody<RoleInput>,
) -> Result<Json<Member>, ApiError> {
    let scope = scope_in(&state, &parts, org).await?;
    Ok(Json(state.finish(
        members::set_role(&state.pool, &scope, user, input.role).await?,
    )))
}

/// `DELETE /api/organizations/{id}/members/{user_id}` → 204: an admin removes a member, or anyone leaves (their own
/// id); 409 for the last admin.
pub async fn remove(
    State(state): State<AppState>,
    parts: Parts,
    Id((org, user)): Id<(OrgId, UserId)>,
) -> Result<StatusCode, ApiError> {
    let scope = scope_in(&state, &parts, org).await?;
    state.finish(members::remove(&state.pool, &scope, user).await?);
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/organizations/{id}/invite` `{email, role}` (admins) → 202 with the invitation; its mail is queued.
pub async fn invite(
    State(state): State<AppState>,
    parts: Parts,
    Id(org): Id<OrgId>,
    JsonBody(input): JsonBody<InviteInput>,
) -> Result<(StatusCode, Json<Invite>), ApiError> {
    let scope = scope_in(&state, &parts, org).await?;
    let invite = state.finish(invites::create(&state.pool, &scope, &state.links, &input).await?);
    Ok((StatusCode::ACCEPTED, Json(invite)))
}

/// `GET /api/organizations/{id}/invites` (admins) → `{items: [...]}`: the open invitations, newest first.
pub async fn invites(
    State(state): State<AppState>,
    parts: Parts,
    Id(org): Id<OrgId>,
) -> Result<Json<Value>, ApiError> {
    let scope = scope_in(&state, &parts, org).await?;
    Ok(items(invites::list(&state.pool, &scope).await?))
}

/// `POST /api/organizations/{id}/invites/{invite_id}/resend` (admins) → 202: a new link (the old one stops
/// working) and a new expiry.
pub async fn resend(
    State(state): State<AppState>,
    parts: Parts,
    Id((org, id)): Id<(OrgId, Uuid)>,
) -> Result<(StatusCode, Json<Invite>), ApiError> {
    let scope = scope_in(&state, &parts, org).await?;
    let invite = state.finish(invites::resend(&state.pool, &scope, &state.links, id).await?);
    Ok((StatusCode::ACCEPTED, Json(invite)))
}

/// `DELETE /api/organizations/{id}/invites/{invite_id}` (admins) → 204: the invitation is withdrawn.
pub async fn revoke(
    State(state): State<AppState>,
    parts: Parts,
    Id((org, id)): Id<(OrgId, Uuid)>,
) -> Result<StatusCode, ApiError> {
    let scope = scope_in(&state, &parts, org).await?;
    state.finish(invites::revoke(&state.pool, &scope, id).await?);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// `GET /api/invites/preview?token=` → `{organization, email, role, has_account}`; 404 for a link this server did
/// not sign or that was replaced, 409 for an expired, used or withdrawn one.
pub async fn preview(
    State(state): State<AppState>,
    Params(q): Params<TokenQuery>,
) -> Result<Json<InvitePreview>, ApiError> {
    Ok(Json(
        invites::preview(&state.pool, &state.links, &q.token).await?,
    ))
}

/// `POST /api/invites/accept` `{token, name?, password?}` → 200 `{user, organization, role}` with a new session in the
/// workspace. Signed in, the session's account must be the invited address's; otherwise a new address gives a name
/// and password for its account, a known one its password.
pub async fn accept(
    State(state): State<AppState>,
    session: Session,
    parts: Parts,
    JsonBody(input): JsonBody<AcceptInput>,
) -> Result<Json<Value>, ApiError> {
    let ip = app::session::client_ip(&parts, &state.config);
    let signed_in = app::session::user(&session, &state.config).await?;
    let who = Accepting::from_request(signed_in, &input, ip.as_deref());
    let accepted = state.finish(
        invites::accept(
            &state.pool,
            &state.links,
            &input.token,
            who,
            app::session::request_id(&parts),
        )
        .await?,
    );
    let m = &accepted.membership;
    app::session::establish(&session, accepted.user.id, Some((m.id, m.role))).await?;
    Ok(Json(json!({
        "user": accepted.user,
        "organization": {"id": m.id, "name": m.name},
        "role": m.role,
    })))
}

#[derive(Deserialize)]
pub struct JobQuery {
    status: Option<String>,
}

/// `GET /api/organizations/{id}/jobs?status=dead` (admins) → `{items: [...]}`: the workspace's jobs with that status
/// (queued, running, done, dead), or every one not done, newest first.
pub async fn jobs(
    State(state): State<AppState>,
    parts: Parts,
    Id(org): Id<OrgId>,
    Params(q): Params<JobQuery>,
) -> Result<Json<Value>, ApiError> {
    let status = q
        .status
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<JobStatus>())
        .transpose()
        .map_err(|m| clearview::Error::field("status", m))?;
    let scope = scope_in(&state, &parts, org).await?;
    Ok(items(
        clearview::jobs::list(&state.pool, &scope, status).await?,
    ))
}

/// `POST /api/jobs/{id}/retry` (admins) → 202 with the job, queued again; 409 unless it is dead.
pub async fn retry(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
    Id(id): Id<Uuid>,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    let job = state.finish(clearview::jobs::retry(&state.pool, &scope, id).await?);
    Ok((StatusCode::ACCEPTED, Json(job)))
}
