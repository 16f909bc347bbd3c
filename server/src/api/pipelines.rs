use std::convert::Infallible;

use app::state::AppState;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::{Extension, Json};
use clearview::domain::PipelineId;
use futures_util::Stream;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::{ApiError, Id, Scoped, items};
use crate::live::{self, Feed, Notice};

/// `GET /api/pipelines`: every pipeline of the workspace with its stages in order.
pub async fn list(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
) -> Result<Json<Value>, ApiError> {
    Ok(items(
        clearview::services::pipelines::list(&state.pool, &scope).await?,
    ))
}

/// `GET /api/pipelines/{id}/events`: server-sent events for a board. Each committed change of one of the pipeline's
/// deals arrives as an event `deal` (`{deal_id, stage_id, version, op}`); `resync` means changes may have been
/// missed and the board should be reloaded. Only the caller's workspace is ever told anything.
pub async fn events(
    State(state): State<AppState>,
    Extension(feed): Extension<Feed>,
    Scoped(scope): Scoped,
    Id(pipeline): Id<PipelineId>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let known = clearview::services::pipelines::list(&state.pool, &scope)
        .await?
        .iter()
        .any(|p| p.id == pipeline);
    if !known {
        return Err(clearview::Error::NotFound.into());
    }
    let org = scope.org_id.0;
    let rx = feed.subscribe();
    let closing = live::closing();
    let stream = futures_util::stream::unfold(
        (rx, closing),
        move |(mut rx, mut closing)| async move {
            loop {
                let event = tokio::select! {
                    _ = closing.wait_for(|c| *c) => return None,
                    got = rx.recv() => match got {
                        Ok(Notice::Change(c)) if c.org_id == org && c.pipeline_id == pipeline.0 => Event::default()
                            .event("deal")
                            .data(json!({"deal_id": c.deal_id, "stage_id": c.stage_id, "version": c.version, "op": c.op}).to_string()),
                        Ok(Notice::Change(_)) => continue,
                        Ok(Notice::Resync) | Err(RecvError::Lagged(_)) => Event::default().event("resync").data("{}"),
                        Err(RecvError::Closed) => return None,
                    },
                };
                return Some((Ok(event), (rx, closing)));
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
