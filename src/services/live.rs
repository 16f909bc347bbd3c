//! Changes of deals that boards watching them should hear of (D-019).
//!
//! A service notes each deal it inserts, updates or deletes in its unit of work ([`crate::db::Work::changed`]). Once
//! the unit has committed, the entry point (a REST handler or a server function) hands the changes on
//! ([`super::AfterCommit`]), and the server announces them on PostgreSQL's `deal_changes` channel in a transaction of
//! their own, so that every server's watching boards hear them. Announcing from the deal's own transaction (a
//! `NOTIFY` trigger) made every deal-writing commit in the database wait in turn for one lock, held until its commit
//! had reached the disk.

use sqlx::PgPool;

pub use crate::db::{ChangeOp, DealChange};
use crate::{Error, Result};

/// Sends committed deal changes on the `deal_changes` channel, which every server listens to. One statement,
/// committed on its own without waiting for the disk: an announcement is not data, and a lost one costs a reload at
/// most. PostgreSQL's notification lock is taken once for the whole batch.
#[tracing::instrument(name = "live::announce", skip_all)]
pub async fn announce(pool: &PgPool, changes: &[DealChange]) -> Result<()> {
    let payloads = changes
        .iter()
        .map(serde_json::to_string)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(Error::internal_from)?;
    sqlx::query!(
        "select set_config('synchronous_commit', 'off', true), count(pg_notify('deal_changes', p))
         from unnest($1::text[]) p",
        &payloads
    )
    .fetch_one(pool)
    .await?;
    Ok(())
}
