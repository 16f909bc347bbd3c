//! Server functions of the deal page and the pipeline board: the same services as `/api/deals` and
//! `/api/pipelines/{id}/deals`.
#![allow(
    clippy::too_many_arguments,
    reason = "a server function takes a form's fields one by one, named as the form names them"
)]

use clearview::domain::UserId;
use clearview::model::{Board, Deal, Page, Pipeline};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// The board page: the workspace's pipelines (for the switcher) and the board of the chosen one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardData {
    pub pipelines: Vec<Pipeline>,
    pub board: Board,
}

/// A deal with what its page needs to edit it: its pipeline's stages and the people it can be assigned to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealData {
    pub deal: Deal,
    pub pipeline: Pipeline,
    pub owners: Vec<(UserId, String)>,
    /// The first page of its timeline.
    pub timeline: Page<clearview::model::Activity>,
}

/// An id from a form or an address; one that is not an id names nothing, like an unknown one.
#[cfg(feature = "ssr")]
pub(crate) fn parse_id<T: std::str::FromStr>(s: &str) -> Result<T, ApiError> {
    s.trim()
        .parse()
        .map_err(|_| ApiError::from(clearview::Error::NotFound))
}

#[cfg(feature = "ssr")]
pub(crate) fn parse_opt_id<T: std::str::FromStr>(s: &str) -> Result<Option<T>, ApiError> {
    if s.trim().is_empty() {
        Ok(None)
    } else {
        parse_id(s).map(Some)
    }
}

/// The board of `pipeline` (the workspace's first pipeline when blank).
#[server(prefix = "/fn")]
pub async fn get_board(pipeline: String) -> Result<BoardData, ApiError> {
    use clearview::services::{board, pipelines};
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    let pool = &cx.state.pool;
    let id = match parse_opt_id(&pipeline)? {
        Some(id) => id,
        None => board::default_pipeline(pool, &scope).await?,
    };
    let board = board::board(pool, &scope, id).await?;
    let pipelines = pipelines::list(pool, &scope).await?;
    Ok(BoardData { pipelines, board })
}

/// The next cards of one column.
#[server(prefix = "/fn")]
pub async fn more_deals(
    pipeline: String,
    stage: String,
    cursor: String,
) -> Result<Page<Deal>, ApiError> {
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    Ok(clearview::services::board::column(
        &cx.state.pool,
        &scope,
        parse_id(&pipeline)?,
        parse_id(&stage)?,
        Some(cursor.as_str()).filter(|c| !c.is_empty()),
    )
    .await?)
}

/// Moves a card: to another stage and/or next to another card. `version` is the one the move was based on.
#[server(prefix = "/fn")]
pub async fn move_deal(
    id: String,
    version: i32,
    stage_id: String,
    before_id: String,
    after_id: String,
    lost_reason: String,
) -> Result<Deal, ApiError> {
    use clearview::model::DealPatch;
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    let patch = DealPatch {
        version,
        stage_id: parse_opt_id(&stage_id)?,
        before_id: parse_opt_id(&before_id)?,
        after_id: parse_opt_id(&after_id)?,
        lost_reason: Some(lost_reason).filter(|r| !r.trim().is_empty()),
        ..Default::default()
    };
    Ok(cx.finish(
        clearview::services::deals::update(&cx.state.pool, &scope, parse_id(&id)?, &patch).await?,
    ))
}

/// One deal with its pipeline and the workspace's members.
#[server(prefix = "/fn")]
pub async fn get_deal(id: String) -> Result<DealData, ApiError> {
    use clearview::model::ActivityQuery;
    use clearview::services::{activities, contacts, deals, pipelines};
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    let pool = &cx.state.pool;
    let deal = deals::get(pool, &scope, parse_id(&id)?).await?;
    let timeline = activities::list(
        pool,
        &scope,
        &ActivityQuery {
            deal_id: Some(deal.id),
            ..Default::default()
        },
    )
    .await?;
    let pipeline = pipelines::list(pool, &scope)
        .await?
        .into_iter()
        .find(|p| p.id == deal.pipeline_id)
        .ok_or_else(|| ApiError::from(clearview::Error::NotFound))?;
    let owners = contacts::owners(pool, &scope).await?;
    Ok(DealData {
        deal,
        pipeline,
        owners,
        timeline,
    })
}

/// Creates a deal, from a contact's page or from the board. Blank stage: the pipeline's first.
#[server(prefix = "/fn")]
pub async fn create_deal(
    title: String,
    contact_id: String,
    pipeline_id: String,
    stage_id: String,
    amount: String,
    currency: String,
    expected_close_date: String,
) -> Result<Deal, ApiError> {
    use clearview::model::{AmountInput, DealForm};
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    let pool = &cx.state.pool;
    // A stage names its pipeline; with neither, the deal starts in the first stage of the first pipeline.
    let form = DealForm {
        title,
        contact_id: parse_opt_id(&contact_id)?,
        pipeline_id: parse_opt_id(&pipeline_id)?,
        stage_id: parse_opt_id(&stage_id)?,
        amount: Some(AmountInput::Text(amount)),
        currency: Some(currency),
        expected_close_date: Some(expected_close_date),
        owner_id: Some(scope.user_id),
        ..Default::default()
    };
    Ok(cx.finish(clearview::services::deals::create(pool, &scope, &form).await?))
}

/// Saves the deal form. Every field is sent; `probability` only when the person may set it (blank: the stage's
/// default). A change based on an older `version` is refused as a conflict.
#[server(prefix = "/fn")]
pub async fn update_deal(
    id: String,
    version: i32,
    title: String,
    amount: String,
    currency: String,
    expected_close_date: String,
    stage_id: String,
    owner_id: String,
    lost_reason: String,
    probability: Option<String>,
) -> Result<Deal, ApiError> {
    use clearview::model::{AmountInput, DealPatch, NumberInput};
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    let patch = DealPatch {
        version,
        title: Some(title),
        amount: Some(Some(AmountInput::Text(amount))),
        currency: Some(currency),
        expected_close_date: Some(Some(expected_close_date)),
        stage_id: parse_opt_id(&stage_id)?,
        owner_id: Some(parse_opt_id(&owner_id)?),
        lost_reason: Some(lost_reason),
        probability: probability.map(|p| Some(NumberInput::Text(p))),
        ..Default::default()
    };
    Ok(cx.finish(
        clearview::services::deals::update(&cx.state.pool, &scope, parse_id(&id)?, &patch).await?,
    ))
}

/// Sets a deal's win probability (managers and admins); blank returns it to its stage's default.
#[server(prefix = "/fn")]
pub async fn set_probability(
    id: String,
    version: i32,
    probability: String,
) -> Result<Deal, ApiError> {
    use clearview::model::{DealPatch, NumberInput};
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    let p = probability.trim();
    let patch = DealPatch {
        version,
        probability: Some((!p.is_empty()).then(|| NumberInput::Text(p.to_owned()))),
        ..Default::default()
    };
    Ok(cx.finish(
        clearview::services::deals::update(&cx.state.pool, &scope, parse_id(&id)?, &patch).await?,
    ))
}

/// Deletes a deal (managers and admins) and goes back to the board.
#[server(prefix = "/fn")]
pub async fn delete_deal(id: String) -> Result<(), ApiError> {
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    cx.finish(clearview::services::deals::delete(&cx.state.pool, &scope, parse_id(&id)?).await?);
    leptos_axum::redirect("/pipeline");
    Ok(())
}
