//! The audit log: one append-only, hash-chained row per mutation, written in the mutation's own transaction.
//!
//! Entries are written by units of work ([`crate::db::Work::audit`]). An entry is written pending and joins its
//! workspace's chain shortly after its transaction commits (D-017): the unit's [`crate::db::Committed`] names the
//! workspace, the entry point that receives it (a REST handler or a server function) hands it to the [`Sealer`],
//! which links that workspace's committed entries in one batch, and every reader of the log seals first ([`recent`],
//! [`seal`]).

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;
use sqlx::PgPool;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::Scope;
use crate::Result;
use crate::domain::OrgId;

/// Links `org`'s committed pending entries into its chain, oldest first; returns how many. Safe to call at any time and
/// from anywhere: sealers of one workspace take turns on its chain lock.
#[tracing::instrument(name = "audit::seal", skip_all)]
pub async fn seal(pool: &PgPool, org: OrgId) -> Result<i32> {
    seal_committing(pool, org, true).await
}

/// [`seal`] in a transaction of its own. `flush: false` commits without waiting for the flush to disk, which is safe
/// to lose: the entries themselves were committed durably by their own transactions, and WAL is replayed in order, so
/// a crash can only undo the newest seals — those entries are pending again and sealed afresh — never leave a later
/// link without an earlier one.
async fn seal_committing(pool: &PgPool, org: OrgId, flush: bool) -> Result<i32> {
    let mut tx = crate::db::tenant(pool, org, None).await?;
    if !flush {
        sqlx::query!("set local synchronous_commit = off")
            .execute(&mut *tx)
            .await?;
    }
    let sealed = seal_in(&mut tx).await?;
    tx.commit().await?;
    Ok(sealed)
}

/// [`seal`] inside a transaction already in the workspace.
async fn seal_in(tx: &mut crate::db::Tx) -> Result<i32> {
    Ok(sqlx::query_scalar!(r#"select audit_seal() as "sealed!""#)
        .fetch_one(&mut **tx)
        .await?)
}

/// How long the sealer gathers reports before a round: under load, one round then links many entries (under one
/// lock, in one statement); at rest an entry is sealed this long after its request answered.
const BATCH_WINDOW: Duration = Duration::from_millis(50);

/// How long the sealer waits before trying a workspace again after the database refused.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// The process's sealer: one background task that seals the workspaces requests report, a batch per workspace.
#[derive(Clone)]
pub struct Sealer {
    tx: mpsc::UnboundedSender<OrgId>,
}

impl Sealer {
    /// Starts the task on the current tokio runtime. The task ends, having sealed everything reported, once every
    /// handle is dropped; the returned `JoinHandle` tells when.
    pub fn start(pool: PgPool) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self { tx }, tokio::spawn(run_sealer(pool, rx)))
    }

    /// Asks for these workspaces to be sealed (their writers have finished).
    pub fn seal(&self, orgs: impl IntoIterator<Item = OrgId>) {
        for org in orgs {
            // The task only stops when every handle is gone, so it is there to receive.
            let _ = self.tx.send(org);
        }
    }
}

async fn run_sealer(pool: PgPool, mut rx: mpsc::UnboundedReceiver<OrgId>) {
    let mut due = BTreeSet::new();
    loop {
        if due.is_empty() {
            match rx.recv().await {
                Some(org) => due.insert(org),
                None => return,
            };
            tokio::time::sleep(BATCH_WINDOW).await;
        }
        while let Ok(org) = rx.try_recv() {
            due.insert(org);
        }
        let mut failed = BTreeSet::new();
        for org in std::mem::take(&mut due) {
            if let Err(e) = seal_committing(&pool, org, false).await {
                // Nothing is lost: the entries are committed, pending, and every reader seals first.
                tracing::warn!(error = %e, org = %org.0, "audit: sealing failed; retrying");
                failed.insert(org);
            }
        }
        if !failed.is_empty() {
            if pool.is_closed() {
                return;
            }
            tokio::time::sleep(RETRY_AFTER).await;
            due = failed;
        }
    }
}

/// An entry as [`recent`] reads it back (admins only; no page or route shows the log yet).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    pub id: Uuid,
    pub seq: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: time::OffsetDateTime,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<Uuid>,
    pub changes: Value,
}

/// The newest entries of the scope's workspace, newest first, the committed ones sealed first.
#[tracing::instrument(name = "audit::recent", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn recent(pool: &PgPool, scope: &Scope, limit: i64) -> Result<Vec<Entry>> {
    scope.require(crate::policy::Action::ReadAuditLog)?;
    // Sealing links committed entries and reveals nothing: it needs no confirmed membership. The read does.
    seal(pool, scope.org_id).await?;
    let mut tx = scope.read(pool).await?;
    let rows = sqlx::query_as!(
        Entry,
        "select id, seq, at, actor_id, action, entity_type, entity_id, changes from audit_log
         where org_id = $1 order by seq desc limit $2",
        scope.org_id.0,
        limit.clamp(1, 500),
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows)
}
