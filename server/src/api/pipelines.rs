use app::state::AppState;
use axum::Json;
use axum::extract::State;
use serde_json::Value;

use super::{ApiError, Scoped, items};

/// `GET /api/pipelines`: every pipeline of the workspace with its stages in order.
pub async fn list(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
) -> Result<Json<Value>, ApiError> {
    Ok(items(
        clearview::services::pipelines::list(&state.pool, &scope).await?,
    ))
}
