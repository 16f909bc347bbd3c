//! `/api/contacts`: the contacts table, one contact, and their deals.

use app::state::AppState;
use axum::Json;
use axum::extract::State;
use clearview::domain::ContactId;
use clearview::model::{Contact, ContactInput, ContactPage, ContactQuery};
use clearview::services::{contacts, deals};
use http::StatusCode;
use serde_json::Value;

use super::{ApiError, Id, JsonBody, Params, Scoped, items};

/// `GET /api/contacts?q=&sort=&dir=&limit=&cursor=` → `{items, next_cursor}` (keyset).
pub async fn list(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
    Params(query): Params<ContactQuery>,
) -> Result<Json<ContactPage>, ApiError> {
    Ok(Json(contacts::list(&state.pool, &scope, &query).await?))
}

/// `POST /api/contacts` → 201 with the contact.
pub async fn create(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
    JsonBody(input): JsonBody<ContactInput>,
) -> Result<(StatusCode, Json<Contact>), ApiError> {
    let contact = contacts::create(&state.pool, &scope, &input).await?;
    Ok((StatusCode::CREATED, Json(contact)))
}

/// `GET /api/contacts/{id}`.
pub async fn get(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
    Id(id): Id<ContactId>,
) -> Result<Json<Contact>, ApiError> {
    Ok(Json(contacts::get(&state.pool, &scope, id).await?))
}

/// `PUT /api/contacts/{id}`: a full update; with `version`, a stale one is 409.
pub async fn update(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
    Id(id): Id<ContactId>,
    JsonBody(input): JsonBody<ContactInput>,
) -> Result<Json<Contact>, ApiError> {
    Ok(Json(
        contacts::update(&state.pool, &scope, id, &input).await?,
    ))
}

/// `DELETE /api/contacts/{id}` → 204 (managers and admins).
pub async fn delete(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
    Id(id): Id<ContactId>,
) -> Result<StatusCode, ApiError> {
    contacts::delete(&state.pool, &scope, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/contacts/{id}/deals` → `{items}`.
pub async fn deals(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
    Id(id): Id<ContactId>,
) -> Result<Json<Value>, ApiError> {
    Ok(items(deals::for_contact(&state.pool, &scope, id).await?))
}
