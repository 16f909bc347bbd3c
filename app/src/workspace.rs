//! Server functions about the current workspace.

use clearview::model::Pipeline;
use leptos::prelude::*;

use crate::error::ApiError;

/// The workspace's pipelines with their stages in order.
#[server(prefix = "/fn")]
pub async fn get_pipelines() -> Result<Vec<Pipeline>, ApiError> {
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    Ok(clearview::services::pipelines::list(&cx.state.pool, &scope).await?)
}
