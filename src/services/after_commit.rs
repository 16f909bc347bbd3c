//! Where the front doors hand what committed units of work left to do.

use std::sync::Arc;

use tokio::sync::{Notify, mpsc};

use super::audit::Sealer;
use crate::db::{Committed, DealChange, Done};

/// The server's follow-up tasks: the [`Sealer`] links new audit entries into their workspace's chain (D-017), the
/// announcer tells every server's watching boards of deal changes (D-019), and the job worker is woken for new jobs.
/// Cheap to clone; every front door holds one.
#[derive(Clone)]
pub struct AfterCommit {
    sealer: Sealer,
    announcer: mpsc::UnboundedSender<Vec<DealChange>>,
    jobs: Arc<Notify>,
}

impl AfterCommit {
    /// `announcer` receives each unit's deal changes, in order; the task reading it sends them. `jobs` wakes this
    /// server's worker (`jobs::Worker::wake`).
    pub fn new(
        sealer: Sealer,
        announcer: mpsc::UnboundedSender<Vec<DealChange>>,
        jobs: Arc<Notify>,
    ) -> Self {
        Self {
            sealer,
            announcer,
            jobs,
        }
    }

    /// Hands on one result's follow-up work and returns its value.
    pub fn finish<T>(&self, done: Done<T>) -> T {
        let (value, committed) = done.into_parts();
        self.hand(committed);
        value
    }

    /// Hands on follow-up work: the workspaces to seal, the deal changes to announce, the worker to wake.
    pub fn hand(&self, committed: Committed) {
        if committed.jobs() > 0 {
            self.jobs.notify_one();
        }
        let (workspaces, changes) = committed.into_parts();
        self.sealer.seal(workspaces);
        if !changes.is_empty() {
            // The task only stops once every sender is gone, so it is there to receive.
            let _ = self.announcer.send(changes);
        }
    }
}
