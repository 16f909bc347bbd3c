//! One module per resource. Every function that touches workspace data takes a [`Scope`] first. It reads in the
//! scope's transaction ([`Scope::read`]) and changes data in a unit of work ([`Scope::write`]); a service
//! that changes data returns a [`Done`], whose follow-up work the entry point (a REST handler
//! or a server function) hands to [`AfterCommit`].

pub mod activities;
mod after_commit;
pub mod audit;
pub mod board;
pub mod contact_csv;
pub mod contacts;
pub mod deals;
pub mod invites;
pub mod live;
pub mod members;
pub mod organizations;
pub mod pipelines;
pub mod users;

use serde::{Deserialize, Serialize};

pub use self::after_commit::AfterCommit;
use crate::db::{Actor, Tx};
pub use crate::db::{Committed, Done, Work};
use crate::domain::{OrgId, Role, UserId};
use crate::policy::{self, Action};

/// Who is acting, in which workspace, with which role. Built by the authentication layer from a browser session
/// after checking the membership (and by the command line and the seed for their own work); a workspace id sent by
/// a client is never trusted on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    pub org_id: OrgId,
    pub user_id: UserId,
    pub role: Role,
    /// The request this action came from, recorded in the audit log.
    pub request_id: Option<String>,
    /// The browser session the request acts for, confirmed by every member transaction (D-018); `None` for the
    /// command line and the seed, which act without one.
    #[serde(skip)]
    pub session: Option<crate::db::SessionKey>,
}

impl Scope {
    /// `Err(Forbidden)` unless the policy table lets this role do `action`.
    pub fn require(&self, action: Action) -> crate::Result<()> {
        policy::require(self.role, action)
    }

    /// Opens this scope's transaction for reading, confirming in its first message that the person is still a member
    /// with this role (`Error::ScopeChanged` otherwise) and that the browser session, if any, is still signed in
    /// (`Error::Unauthenticated` otherwise, D-018).
    pub async fn read(&self, pool: &sqlx::PgPool) -> crate::Result<Tx> {
        self.open(pool).await
    }

    /// Opens this scope's unit of work: a transaction confirmed as [`Scope::read`]'s is, which audits what it
    /// changes.
    pub async fn write(&self, pool: &sqlx::PgPool) -> crate::Result<Work> {
        let tx = self.open(pool).await?;
        Ok(Work::new(tx, self.actor()))
    }

    /// Who this scope's units of work act for.
    pub fn actor(&self) -> Actor {
        Actor {
            org: self.org_id,
            user: self.user_id,
            request_id: self.request_id.clone(),
        }
    }

    async fn open(&self, pool: &sqlx::PgPool) -> crate::Result<Tx> {
        Ok(crate::db::member(
            pool,
            self.org_id,
            self.user_id,
            self.role,
            self.session.as_ref(),
        )
        .await?)
    }
}

/// The fields that differ between two snapshots of a record, as `{"field": {"from": .., "to": ..}}` for the audit log.
/// Bookkeeping fields (version, timestamps) are left out.
pub(crate) fn diff(before: &serde_json::Value, after: &serde_json::Value) -> serde_json::Value {
    const IGNORED: [&str; 5] = [
        "version",
        "updated_at",
        "created_at",
        "position",
        "stage_entered_at",
    ];
    let mut out = serde_json::Map::new();
    if let (Some(b), Some(a)) = (before.as_object(), after.as_object()) {
        for (key, new) in a {
            let old = b.get(key).unwrap_or(&serde_json::Value::Null);
            if old != new && !IGNORED.contains(&key.as_str()) {
                out.insert(key.clone(), serde_json::json!({"from": old, "to": new}));
            }
        }
    }
    serde_json::Value::Object(out)
}

/// ` limit N`, with a page's row count written into the statement instead of bound. PostgreSQL costs a bound `LIMIT`
/// as if it let a tenth of the rows through, so a statement's generic plan always looked dearer than a custom one and
/// every execution was planned afresh: a third of the database's time on the contacts page. With the number in the
/// text the plan is reused from the sixth execution on. The count is a validated integer, never user text, and sqlx
/// keeps one prepared statement per distinct text on each connection (almost every request uses the default size).
pub(crate) fn limit_clause(rows: i64) -> String {
    format!(" limit {rows}")
}

/// A list request's page size (`default` when absent, within 1..=`max`) and its decoded cursor (blank or absent: the
/// first page).
pub(crate) fn page_request<C>(
    limit: Option<u32>,
    default: u32,
    max: u32,
    cursor: Option<&str>,
    decode: impl FnOnce(&str) -> crate::Result<C>,
) -> crate::Result<(u32, Option<C>)> {
    let after = cursor.filter(|c| !c.is_empty()).map(decode).transpose()?;
    Ok((limit.unwrap_or(default).clamp(1, max), after))
}
