//! `/api/activities`: log a call, e-mail, meeting, note or task; read timelines.

use app::state::AppState;
use axum::Json;
use axum::extract::State;
use clearview::domain::{ActivityKind, ContactId, DealId};
use clearview::model::{Activity, ActivityInput, ActivityQuery, Page};
use clearview::services::activities;
use http::StatusCode;
use serde::Deserialize;

use super::{ApiError, JsonBody, Params, Scoped};

/// `POST /api/activities` → 201 with the activity; its `metadata` is checked per kind.
pub async fn create(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
    JsonBody(input): JsonBody<ActivityInput>,
) -> Result<(StatusCode, Json<Activity>), ApiError> {
    let activity = state.finish(activities::create(&state.pool, &scope, &input).await?);
    Ok((StatusCode::CREATED, Json(activity)))
}

/// The query string of a timeline; `metadata` is a JSON object the details must contain.
#[derive(Deserialize)]
pub struct TimelineQuery {
    deal_id: Option<DealId>,
    contact_id: Option<ContactId>,
    kind: Option<ActivityKind>,
    metadata: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/activities?deal_id=&contact_id=&kind=&metadata=&cursor=` → `{items, next_cursor}`, newest first.
pub async fn list(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
    Params(q): Params<TimelineQuery>,
) -> Result<Json<Page<Activity>>, ApiError> {
    let metadata = q
        .metadata
        .filter(|m| !m.trim().is_empty())
        .map(|m| serde_json::from_str(&m))
        .transpose()
        .map_err(|_| clearview::Error::field("metadata", "must be a JSON object"))?;
    let query = ActivityQuery {
        deal_id: q.deal_id,
        contact_id: q.contact_id,
        kind: q.kind,
        metadata,
        cursor: q.cursor,
        limit: q.limit,
    };
    Ok(Json(activities::list(&state.pool, &scope, &query).await?))
}
