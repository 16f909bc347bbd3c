//! Changes of deals that boards watching them should hear of (D-019).
//!
//! A service notes each deal it inserted, updated or deleted once its transaction has committed ([`changed`]). The
//! request that made them hands them on ([`super::request::collect`]), and the server announces them on PostgreSQL's `deal_changes`
//! channel in a transaction of their own, so that every server's watching boards hear them. Announcing from the
//! deal's own transaction (a `NOTIFY` trigger) made every deal-writing commit in the database wait in turn for one
//! lock, held until its commit had reached the disk.

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::OrgId;
use crate::{Error, Result};

/// One committed change of a deal, as the boards are told of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealChange {
    pub org_id: Uuid,
    pub pipeline_id: Uuid,
    pub deal_id: Uuid,
    pub stage_id: Uuid,
    pub version: i32,
    pub op: ChangeOp,
}

/// What happened to the deal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeOp {
    Insert,
    Update,
    Delete,
}

impl DealChange {
    pub(crate) fn new(
        org: OrgId,
        pipeline_id: Uuid,
        deal_id: Uuid,
        stage_id: Uuid,
        version: i32,
        op: ChangeOp,
    ) -> Self {
        Self {
            org_id: org.0,
            pipeline_id,
            deal_id,
            stage_id,
            version,
            op,
        }
    }
}

/// Notes committed changes of deals. Call it after the transaction that made them has committed: a change that was
/// rolled back must not be announced. The server announces the request's changes once it has answered
/// ([`super::request::collect`]).
pub(crate) fn changed(changes: impl IntoIterator<Item = DealChange>) {
    super::request::note(|f| f.changed.extend(changes));
}

/// Sends committed deal changes on the `deal_changes` channel, which every server listens to. One statement,
/// committed on its own without waiting for the disk: an announcement is not data, and a lost one costs a reload at
/// most. PostgreSQL's notification lock is taken once for the whole batch.
pub async fn announce(pool: &PgPool, changes: &[DealChange]) -> Result<()> {
    let payloads = changes
        .iter()
        .map(serde_json::to_string)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| Error::Internal)?;
    sqlx::query!(
        "select set_config('synchronous_commit', 'off', true), count(pg_notify('deal_changes', p))
         from unnest($1::text[]) p",
        &payloads
    )
    .fetch_one(pool)
    .await?;
    Ok(())
}
