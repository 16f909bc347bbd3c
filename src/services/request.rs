//! What a request's services leave for the server to finish once the request has answered: the workspaces whose
//! audit entries are to be sealed (D-017) and the deal changes to announce to the boards watching (D-019).

use std::cell::RefCell;
use std::collections::BTreeSet;

use super::live::DealChange;
use crate::domain::OrgId;

/// A request's follow-up work (see [`collect`]).
#[derive(Debug, Default)]
pub struct FollowUp {
    /// The workspaces the request wrote audit entries in.
    pub written: BTreeSet<OrgId>,
    /// The deal changes it committed, in order.
    pub changed: Vec<DealChange>,
}

tokio::task_local! {
    static FOLLOW_UP: RefCell<FollowUp>;
}

/// Adds to the current request's follow-up work. Outside [`collect`] (the command line, service tests) nobody
/// listens: those callers seal their own entries, and no board is told.
pub(crate) fn note(f: impl FnOnce(&mut FollowUp)) {
    let _ = FOLLOW_UP.try_with(|w| f(&mut w.borrow_mut()));
}

/// Runs `work` (a whole request) and returns, with its output, the follow-up work it left. By the time `work` has
/// finished, its transactions have committed or rolled back.
pub async fn collect<F: std::future::Future>(work: F) -> (F::Output, FollowUp) {
    FOLLOW_UP
        .scope(RefCell::new(FollowUp::default()), async move {
            let out = work.await;
            (out, FOLLOW_UP.with(|w| w.take()))
        })
        .await
}
