//! Changes of deals that boards watching them should hear of (D-019).
//!
//! A service notes each deal it inserted, updated or deleted once its transaction has committed ([`changed`]). The
//! request that made them hands them on ([`collect`]), and the server announces them on PostgreSQL's `deal_changes`
//! channel in a transaction of their own, so that every server's watching boards hear them. Announcing from the
//! deal's own transaction (a `NOTIFY` trigger) made every deal-writing commit in the database wait in turn for one
//! lock, held until its commit had reached the disk.

use std::cell::RefCell;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::OrgId;

/// One committed change of a deal, as the boards are told of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealChange {
    pub org_id: Uuid,
    pub pipeline_id: Uuid,
    pub deal_id: Uuid,
    pub stage_id: Uuid,
    pub version: i32,
    /// `insert`, `update` or `delete`.
    pub op: String,
}

impl DealChange {
    pub(crate) fn new(
        org: OrgId,
        pipeline_id: Uuid,
        deal_id: Uuid,
        stage_id: Uuid,
        version: i32,
        op: &str,
    ) -> Self {
        Self {
            org_id: org.0,
            pipeline_id,
            deal_id,
            stage_id,
            version,
            op: op.to_owned(),
        }
    }
}

tokio::task_local! {
    /// The deal changes the current request has committed (see [`collect`]).
    static CHANGED: RefCell<Vec<DealChange>>;
}

/// Notes committed changes of deals. Call it after the transaction that made them has committed: a change that was
/// rolled back must not be announced. Outside [`collect`] (the command line, service tests) nobody is told.
pub(crate) fn changed(changes: impl IntoIterator<Item = DealChange>) {
    let _ = CHANGED.try_with(|c| c.borrow_mut().extend(changes));
}

/// Runs `work` (a whole request) and returns, with its output, the deal changes it committed, in order.
pub async fn collect<F: std::future::Future>(work: F) -> (F::Output, Vec<DealChange>) {
    CHANGED
        .scope(RefCell::new(Vec::new()), async move {
            let out = work.await;
            (out, CHANGED.with(|c| c.take()))
        })
        .await
}
