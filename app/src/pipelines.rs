//! Server functions of the pipeline settings page: the same services as `/api/pipelines` and `/api/stages`. Numbers
//! arrive as the form's text; a blank one means "not given", anything else that is not a whole number is a field
//! error.

use clearview::domain::{PipelineId, StageId};
use leptos::prelude::*;

use crate::error::ApiError;

/// A form's number field: blank is `None`, a whole number `Some`, anything else the field's error.
pub fn number_field(field: &str, text: &str) -> Result<Option<i64>, clearview::Error> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse()
        .map(Some)
        .map_err(|_| clearview::Error::field(field, "must be a whole number"))
}

#[server(prefix = "/fn")]
pub async fn create_pipeline(name: String) -> Result<(), ApiError> {
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    let input = clearview::model::PipelineInput { name, stages: None };
    cx.finish(clearview::services::pipelines::create(&cx.state.pool, &scope, &input).await?);
    Ok(())
}

#[server(prefix = "/fn")]
pub async fn rename_pipeline(id: PipelineId, name: String) -> Result<(), ApiError> {
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    let patch = clearview::model::PipelinePatch {
        name: Some(name),
        position: None,
    };
    cx.finish(clearview::services::pipelines::update(&cx.state.pool, &scope, id, &patch).await?);
    Ok(())
}

#[server(prefix = "/fn")]
pub async fn delete_pipeline(id: PipelineId) -> Result<(), ApiError> {
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    cx.finish(clearview::services::pipelines::delete(&cx.state.pool, &scope, id).await?);
    Ok(())
}

#[server(prefix = "/fn")]
pub async fn add_stage(
    pipeline_id: PipelineId,
    name: String,
    kind: String,
    #[server(default)] probability: String,
    #[server(default)] rot_days: String,
) -> Result<(), ApiError> {
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    let input = clearview::model::StageInput {
        name,
        kind: Some(kind),
        probability: number_field("probability", &probability)?,
        rot_days: number_field("rot_days", &rot_days)?,
        position: None,
    };
    cx.finish(
        clearview::services::pipelines::add_stage(&cx.state.pool, &scope, pipeline_id, &input)
            .await?,
    );
    Ok(())
}

/// Saves a stage's name, default probability (open stages only: blank keeps it) and rot days (blank: never stale).
#[server(prefix = "/fn")]
pub async fn save_stage(
    id: StageId,
    name: String,
    #[server(default)] probability: String,
    #[server(default)] rot_days: String,
) -> Result<(), ApiError> {
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    let patch = clearview::model::StagePatch {
        name: Some(name),
        probability: number_field("probability", &probability)?,
        rot_days: Some(number_field("rot_days", &rot_days)?),
        position: None,
    };
    cx.finish(
        clearview::services::pipelines::update_stage(&cx.state.pool, &scope, id, &patch).await?,
    );
    Ok(())
}

/// Moves a stage to `position` (0-based) in its pipeline.
#[server(prefix = "/fn")]
pub async fn move_stage(id: StageId, position: i32) -> Result<(), ApiError> {
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    let patch = clearview::model::StagePatch {
        position: Some(position),
        ..Default::default()
    };
    cx.finish(
        clearview::services::pipelines::update_stage(&cx.state.pool, &scope, id, &patch).await?,
    );
    Ok(())
}

/// Deletes a stage; its deals, if any, go to `move_to` (blank: it must hold none).
#[server(prefix = "/fn")]
pub async fn remove_stage(id: StageId, #[server(default)] move_to: String) -> Result<(), ApiError> {
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    let move_to =
        match move_to.trim() {
            "" => None,
            s => Some(s.parse::<StageId>().map_err(|_| {
                clearview::Error::field("move_to", "choose a stage of this pipeline")
            })?),
        };
    cx.finish(
        clearview::services::pipelines::delete_stage(&cx.state.pool, &scope, id, move_to).await?,
    );
    Ok(())
}
