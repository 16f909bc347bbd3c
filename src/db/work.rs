//! A member's unit of work: one read-write transaction in one workspace, with everything its commit leaves to be done.
//!
//! Every change of workspace data goes through a [`Work`]. It writes the change's audit entries ([`Work::audit`]),
//! notes the deals whose boards must hear of it ([`Work::changed`]) and queues the jobs the change causes
//! ([`Work::enqueue`]: the outbox, a job row in the same transaction, so the job exists exactly when the change
//! does). [`Work::commit`] refuses to commit a unit that wrote no audit entry, and returns a [`Committed`] with what is
//! left: the workspace whose pending entries are to be sealed into its chain (D-017), the deal changes to announce
//! (D-019) and whether a worker should wake for new jobs. A rolled-back unit leaves nothing.
//!
//! The front doors hand a [`Committed`] on (`services::AfterCommit`); the command line and tests finish it in place
//! ([`Committed::finish_here`]). Both types are `#[must_use]`, and the workspace denies unused `must_use` values: a
//! service or a front door that drops one does not compile.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use super::Tx;
use crate::domain::{OrgId, UserId};
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

/// Who a unit of work acts for: its workspace, the person (for the audit log) and the request it came from.
#[derive(Debug, Clone)]
pub struct Actor {
    pub org: OrgId,
    pub user: UserId,
    pub request_id: Option<String>,
}

/// A read-write transaction in one workspace with its audit entries and deal changes. Dropped without
/// [`Work::commit`], it rolls back and leaves nothing to do.
#[must_use = "a unit of work rolls back unless it is committed"]
pub struct Work {
    tx: Tx,
    actor: Actor,
    audited: bool,
    changes: Vec<DealChange>,
    jobs: usize,
}

impl Work {
    /// Wraps a transaction that is already inside `actor.org` (as [`super::member`] or [`super::enter`] leave it).
    pub(crate) fn new(tx: Tx, actor: Actor) -> Self {
        Self {
            tx,
            actor,
            audited: false,
            changes: Vec::new(),
            jobs: 0,
        }
    }

    pub fn org(&self) -> OrgId {
        self.actor.org
    }

    /// The person this unit acts for.
    pub fn user(&self) -> UserId {
        self.actor.user
    }

    /// Writes one audit entry: `action` (e.g. `contact.created`) on an entity, with the changed fields (never
    /// secrets). It is pending until the workspace's chain is sealed after commit.
    pub async fn audit(
        &mut self,
        action: &str,
        entity_type: &str,
        entity_id: Option<Uuid>,
        changes: Value,
    ) -> Result<()> {
        sqlx::query!(
            "insert into audit_log (id, org_id, actor_id, action, entity_type, entity_id, request_id, changes,
                                    prev_hash, hash)
             values ($1, $2, $3, $4, $5, $6, $7, $8, '', '')",
            Uuid::now_v7(),
            self.actor.org.0,
            self.actor.user.0,
            action,
            entity_type,
            entity_id,
            self.actor.request_id,
            changes,
        )
        .execute(&mut *self.tx)
        .await?;
        self.audited = true;
        Ok(())
    }

    /// Declares that a statement of this unit inserted its audit entries itself (a deal update writes its entry in the
    /// statement that changes the row; an import writes one per row). Call it only after such a statement succeeded.
    pub(crate) fn audited_by_statement(&mut self) {
        self.audited = true;
    }

    /// Notes deal changes made by this unit; they are announced only if it commits.
    pub fn changed(&mut self, changes: impl IntoIterator<Item = DealChange>) {
        self.changes.extend(changes);
    }

    /// Queues a job of `kind` for this unit's workspace, to run once the unit commits (never if it rolls back).
    pub async fn enqueue(&mut self, kind: &str, payload: Value) -> Result<Uuid> {
        let id = Uuid::now_v7();
        sqlx::query!(
            "insert into jobs (id, org_id, kind, payload) values ($1, $2, $3, $4)",
            id,
            self.actor.org.0,
            kind,
            payload,
        )
        .execute(&mut *self.tx)
        .await?;
        self.jobs += 1;
        Ok(id)
    }

    /// Declares that a statement of this unit queued a job again (an admin's retry), so a worker is woken for it.
    pub(crate) fn queued_job(&mut self) {
        self.jobs += 1;
    }

    /// A change of a deal of this unit's workspace.
    pub fn deal_change(
        &self,
        pipeline_id: Uuid,
        deal_id: Uuid,
        stage_id: Uuid,
        version: i32,
        op: ChangeOp,
    ) -> DealChange {
        DealChange {
            org_id: self.actor.org.0,
            pipeline_id,
            deal_id,
            stage_id,
            version,
            op,
        }
    }

    /// Commits, and returns what is left to do. A unit that wrote no audit entry is not committed: every change is
    /// audited, and a writer that forgot its entry fails in every test that reaches it.
    pub async fn commit(self) -> Result<Committed> {
        if !self.audited {
            return Err(Error::internal(
                "a unit of work tried to commit without an audit entry",
            ));
        }
        self.tx.commit().await?;
        Ok(Committed {
            sealed: vec![self.actor.org],
            changes: self.changes,
            jobs: self.jobs,
        })
    }

    /// [`Work::commit`], with the value the service returns.
    pub async fn finish<T>(self, value: T) -> Result<Done<T>> {
        Ok(Done {
            value,
            committed: self.commit().await?,
        })
    }
}

impl std::ops::Deref for Work {
    type Target = Tx;
    fn deref(&self) -> &Tx {
        &self.tx
    }
}

impl std::ops::DerefMut for Work {
    fn deref_mut(&mut self) -> &mut Tx {
        &mut self.tx
    }
}

/// What committed units of work left to do: seal the workspaces' new audit entries, announce the deal changes, wake a
/// worker for the jobs they queued.
#[must_use = "hand it on (`services::AfterCommit::hand`) or finish it (`finish_here`): its audit entries wait to be \
              sealed and its deal changes to be announced"]
#[derive(Debug, Default)]
pub struct Committed {
    sealed: Vec<OrgId>,
    changes: Vec<DealChange>,
    jobs: usize,
}

impl Committed {
    /// The workspaces that have new pending audit entries.
    pub fn workspaces(&self) -> &[OrgId] {
        &self.sealed
    }

    /// The deal changes, in the order they were made.
    pub fn changes(&self) -> &[DealChange] {
        &self.changes
    }

    /// How many jobs the units queued. They wait in the table whether or not a worker is woken: a worker also looks
    /// for due jobs on its own, now and then.
    pub fn jobs(&self) -> usize {
        self.jobs
    }

    pub fn into_parts(self) -> (Vec<OrgId>, Vec<DealChange>) {
        (self.sealed, self.changes)
    }

    /// Does the follow-up work now, in this task: seals the entries and announces the changes. For the command line
    /// and tests, where no server runs the background tasks; queued jobs wait for a worker (`clearview worker`).
    pub async fn finish_here(self, pool: &PgPool) -> Result<()> {
        for org in &self.sealed {
            crate::services::audit::seal(pool, *org).await?;
        }
        if !self.changes.is_empty() {
            crate::services::live::announce(pool, &self.changes).await?;
        }
        Ok(())
    }
}

/// For the command line and tests: a service's result with its follow-up work done in place ([`Done::finish_here`]).
#[allow(async_fn_in_trait)]
pub trait Settle<T> {
    async fn settle(self, pool: &PgPool) -> Result<T>;
}

impl<T> Settle<T> for Result<Done<T>> {
    async fn settle(self, pool: &PgPool) -> Result<T> {
        self?.finish_here(pool).await
    }
}

/// A service's result with the follow-up work of the units it committed.
#[must_use = "hand `committed` on: its audit entries wait to be sealed and its deal changes to be announced"]
#[derive(Debug)]
pub struct Done<T> {
    value: T,
    committed: Committed,
}

impl<T> Done<T> {
    pub fn into_parts(self) -> (T, Committed) {
        (self.value, self.committed)
    }

    /// [`Committed::finish_here`], returning the value.
    pub async fn finish_here(self, pool: &PgPool) -> Result<T> {
        self.committed.finish_here(pool).await?;
        Ok(self.value)
    }
}
