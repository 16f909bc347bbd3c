use std::convert::Infallible;

use app::state::AppState;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::{Extension, Json};
use clearview::domain::PipelineId;
use futures_util::Stream;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use clearview::domain::StageId;
use clearview::model::{
    Pipeline, PipelineInput, PipelinePatch, Stage, StageDelete, StageInput, StagePatch,
};
use clearview::services::pipelines;
use http::StatusCode;

use super::{ApiError, Id, JsonBody, Params, Scoped, items};
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

/// `POST /api/pipelines` (admins): `{name, stages?: [{name, probability?, kind?, rot_days?}]}` → 201 with the
/// pipeline; without `stages` it gets the default six.
pub async fn create(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
    JsonBody(input): JsonBody<PipelineInput>,
) -> Result<(StatusCode, Json<Pipeline>), ApiError> {
    let p = state.finish(pipelines::create(&state.pool, &scope, &input).await?);
    Ok((StatusCode::CREATED, Json(p)))
}

/// `GET /api/pipelines/{id}` → the pipeline with its stages.
pub async fn get(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
    Id(id): Id<PipelineId>,
) -> Result<Json<Pipeline>, ApiError> {
    Ok(Json(pipelines::get(&state.pool, &scope, id).await?))
}

/// `PATCH /api/pipelines/{id}` (admins): `{name?, position?}`.
pub async fn update(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
    Id(id): Id<PipelineId>,
    JsonBody(patch): JsonBody<PipelinePatch>,
) -> Result<Json<Pipeline>, ApiError> {
    Ok(Json(state.finish(
        pipelines::update(&state.pool, &scope, id, &patch).await?,
    )))
}

/// `DELETE /api/pipelines/{id}` (admins) → 204; 409 while it holds deals or is the workspace's last.
pub async fn delete(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
    Id(id): Id<PipelineId>,
) -> Result<StatusCode, ApiError> {
    state.finish(pipelines::delete(&state.pool, &scope, id).await?);
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/pipelines/{id}/stages` (admins): `{name, probability?, kind?, rot_days?, position?}` → 201.
pub async fn add_stage(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
    Id(id): Id<PipelineId>,
    JsonBody(input): JsonBody<StageInput>,
) -> Result<(StatusCode, Json<Stage>), ApiError> {
    let s = state.finish(pipelines::add_stage(&state.pool, &scope, id, &input).await?);
    Ok((StatusCode::CREATED, Json(s)))
}

/// `PATCH /api/stages/{id}` (admins): `{name?, probability?, rot_days?, position?}`.
pub async fn update_stage(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
    Id(id): Id<StageId>,
    JsonBody(patch): JsonBody<StagePatch>,
) -> Result<Json<Stage>, ApiError> {
    Ok(Json(state.finish(
        pipelines::update_stage(&state.pool, &scope, id, &patch).await?,
    )))
}

/// `DELETE /api/stages/{id}?move_to=` (admins) → 204; a stage holding deals needs `move_to`.
pub async fn delete_stage(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
    Id(id): Id<StageId>,
    Params(q): Params<StageDelete>,
) -> Result<StatusCode, ApiError> {
    state.finish(pipelines::delete_stage(&state.pool, &scope, id, q.move_to).await?);
    Ok(StatusCode::NO_CONTENT)
}

/// Whether an open stream's scope still holds: `Err(code)` when its session has ended or its membership or role has
/// changed. A fault of the database is not a reason to end it (the next recheck tries again).
async fn still_allowed(
    pool: &sqlx::PgPool,
    scope: &clearview::services::Scope,
) -> Result<(), &'static str> {
    match scope.read(pool).await {
        Ok(tx) => {
            let _ = tx.commit().await;
            Ok(())
        }
        Err(e @ (clearview::Error::Internal(_) | clearview::Error::Overloaded { .. })) => {
            if let Some(cause) = e.cause() {
                cause.log("live board: could not confirm the stream's scope");
            }
            Ok(())
        }
        Err(e) => Err(e.code().as_str()),
    }
}

/// `GET /api/pipelines/{id}/events`: server-sent events for a board. Each committed change of one of the pipeline's
/// deals arrives as an event `deal` (`{deal_id, stage_id, version, op}`); `resync` means changes may have been
/// missed and the board should be reloaded; `ended` (`{code}`) that the session or membership no longer allows the
/// stream, which then closes. Only the caller's workspace is ever told anything. A session may hold
/// [`StreamLimits::per_session`](crate::live::StreamLimits) streams (429 past it) and the server `total` (503).
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
    let slot = feed.open_stream(scope.session.as_ref())?;
    let org = scope.org_id.0;
    let rx = feed.subscribe();
    let closing = live::closing();
    // The stream was authorised when it opened; every `recheck` it confirms again, in a member transaction, that the
    // session is signed in and the person is still a member with the same role (D-018, D-014). When that no longer
    // holds it says `ended` (with the reason's error code) and closes: a browser that may still watch opens a new
    // stream under its new scope, one signed out or removed is refused.
    let mut recheck =
        tokio::time::interval_at(tokio::time::Instant::now() + feed.recheck(), feed.recheck());
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let pool = state.pool.clone();
    let stream = futures_util::stream::unfold(Some((rx, closing, recheck, slot)), move |open| {
        let pool = pool.clone();
        let scope = scope.clone();
        async move {
            let (mut rx, mut closing, mut recheck, slot) = open?;
            loop {
                let got = tokio::select! {
                    _ = closing.wait_for(|c| *c) => return None,
                    _ = recheck.tick() => None,
                    got = rx.recv() => Some(got),
                };
                let event = match got {
                        None => match still_allowed(&pool, &scope).await {
                            Ok(()) => continue,
                            Err(code) => {
                                let ended = Event::default().event("ended").data(json!({"code": code}).to_string());
                                return Some((Ok(ended), None));
                            }
                        },
                        Some(got) => match got {
                            Ok(Notice::Change(c)) if c.org_id == org && c.pipeline_id == pipeline.0 => Event::default()
                                .event("deal")
                                .data(json!({"deal_id": c.deal_id, "stage_id": c.stage_id, "version": c.version, "op": c.op}).to_string()),
                            Ok(Notice::Change(_)) => continue,
                            Ok(Notice::Resync) | Err(RecvError::Lagged(_)) => Event::default().event("resync").data("{}"),
                            Err(RecvError::Closed) => return None,
                        },
                    };
                return Some((Ok(event), Some((rx, closing, recheck, slot))));
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
