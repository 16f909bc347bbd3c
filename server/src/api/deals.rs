//! `/api/deals` and the board of `/api/pipelines/{id}/deals`.

use app::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use clearview::domain::{DealId, PipelineId, StageId};
use clearview::model::{Deal, DealForm, DealPatch};
use clearview::services::{board, deals};
use http::StatusCode;
use serde::Deserialize;

use super::{ApiError, Id, JsonBody, Params, Scoped};

/// `POST /api/deals` → 201 with the deal.
pub async fn create(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
    JsonBody(form): JsonBody<DealForm>,
) -> Result<(StatusCode, Json<Deal>), ApiError> {
    let deal = state.finish(deals::create(&state.pool, &scope, &form).await?);
    Ok((StatusCode::CREATED, Json(deal)))
}

/// `GET /api/deals/{id}` → the deal with its `version`.
pub async fn get(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
    Id(id): Id<DealId>,
) -> Result<Json<Deal>, ApiError> {
    Ok(Json(deals::get(&state.pool, &scope, id).await?))
}

/// `PATCH /api/deals/{id}`: any fields plus the `version` they were based on; 409 when it is stale.
pub async fn update(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
    Id(id): Id<DealId>,
    JsonBody(patch): JsonBody<DealPatch>,
) -> Result<Json<Deal>, ApiError> {
    Ok(Json(state.finish(
        deals::update(&state.pool, &scope, id, &patch).await?,
    )))
}

/// `DELETE /api/deals/{id}` → 204 (managers and admins).
pub async fn delete(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
    Id(id): Id<DealId>,
) -> Result<StatusCode, ApiError> {
    state.finish(deals::delete(&state.pool, &scope, id).await?);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct BoardQuery {
    stage_id: Option<StageId>,
    cursor: Option<String>,
}

/// `GET /api/pipelines/{id}/deals` → every stage in order with its figures and first cards; with `stage_id` (and
/// `cursor`), the next cards of that one column.
pub async fn board(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
    Id(pipeline): Id<PipelineId>,
    Params(query): Params<BoardQuery>,
) -> Result<Response, ApiError> {
    Ok(match query.stage_id {
        Some(stage) => {
            let page = board::column(
                &state.pool,
                &scope,
                pipeline,
                stage,
                query.cursor.as_deref(),
            )
            .await?;
            Json(page).into_response()
        }
        None => Json(board::board(&state.pool, &scope, pipeline).await?).into_response(),
    })
}
