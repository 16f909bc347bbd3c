//! Connections and the transaction kinds every service uses.
//!
//! Tenant data is only ever touched inside [`tenant`] transactions: they switch to the non-superuser role
//! `clearview_app` and set `app.org_id` / `app.user_id` with `SET LOCAL` semantics, so row-level security applies even
//! when the login role is a superuser, and nothing leaks between pooled connections (safe behind PgBouncer in
//! transaction mode too).

pub mod work;

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};

use crate::domain::{OrgId, Role, UserId};

pub use work::{Actor, ChangeOp, Committed, DealChange, Done, Settle, Work};

pub type Tx = Transaction<'static, Postgres>;

/// The migrations of `migrations/`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a pooled connection may sit idle before it is pinged on its way out of the pool.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(30);

/// Opens a pool. `max_connections` of 0 picks a default fitting the machine.
pub async fn connect(options: PgConnectOptions, max_connections: u32) -> sqlx::Result<PgPool> {
    let max = if max_connections == 0 {
        (std::thread::available_parallelism().map_or(2, |n| n.get()) as u32 * 4).max(8)
    } else {
        max_connections
    };
    PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(5))
        // A request takes a connection twice (its session, its transaction): pinging each time would double
        // its round trips. A connection that has just been in use is known to work; one idle for a while is pinged.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > IDLE_BEFORE_PING {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .connect_with(options)
        .await
}

/// The SQLSTATE `app_enter` raises when a member's role is no longer the one a request acts under.
pub const SCOPE_CHANGED: &str = "CV001";

/// The SQLSTATE `app_enter` raises when the browser session a request acts for has been signed out or has expired
/// (D-018).
pub const SESSION_ENDED: &str = "CV002";

/// SQLSTATE of `contact_search` (D-023) for a cursor that belongs to another search term.
pub const FOREIGN_CURSOR: &str = "CV003";

/// The id of the browser session a request acts for, as the `sessions` table keys it. Its `Debug` hides the value: the
/// id is the cookie's secret, and scopes are logged.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKey(String);

impl SessionKey {
    /// A session id as the session layer prints it (22 characters of URL-safe base64); `None` for anything else.
    pub fn new(id: &str) -> Option<Self> {
        (id.len() == 22
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| Self(id.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(..)")
    }
}

/// A member's transaction: [`tenant`], with the check that `user` is still a member of `org` with `role` (D-014) and,
/// for a request from a browser session, that the session is still signed in (D-018). Policy decisions taken before
/// it with a role the session remembered are confirmed here, before any data is read; otherwise it fails with
/// [`SCOPE_CHANGED`] or [`SESSION_ENDED`] and nothing was done.
///
/// One message, two statements (D-016): `app_enter` makes the settings and the role switch (transaction-local) and
/// checks the session and the membership, then `BEGIN` turns the message's implicit transaction into the explicit one
/// the settings belong to. When a check fails PostgreSQL rolls the message back whole and the connection goes back to
/// the pool idle, not inside an aborted transaction.
pub async fn member(
    pool: &PgPool,
    org: OrgId,
    user: UserId,
    role: Role,
    session: Option<&SessionKey>,
) -> sqlx::Result<Tx> {
    // UUIDs, the role's fixed names and a session key checked to be URL-safe base64: nothing to quote.
    let session = session.map_or_else(|| "null".to_owned(), |s| format!("'{}'", s.0));
    begin_detached(
        pool,
        format!(
            "select app_enter('{}', '{}', '{}', {session}); begin",
            org.0,
            user.0,
            role.as_str()
        ),
    )
    .await
}

/// Opens a transaction with `statement` in a task of its own. A request can be cancelled at any await (its client
/// went away), and the driver only rolls back a transaction whose `BEGIN` it has seen answered: cancelled while the
/// message was in flight, the connection went back to the pool inside the open transaction, as `clearview_app`, and
/// the next request on it failed. In its own task the `BEGIN` always completes; if nobody is waiting any more, the
/// transaction is dropped there and rolled back like any other.
async fn begin_detached(pool: &PgPool, statement: String) -> sqlx::Result<Tx> {
    let pool = pool.clone();
    tokio::spawn(async move { pool.begin_with(statement).await })
        .await
        .map_err(|e| sqlx::Error::Io(std::io::Error::other(e)))?
}

/// A transaction acting inside one workspace, for one member: RLS restricts it to that workspace.
pub async fn tenant(pool: &PgPool, org: OrgId, user: Option<UserId>) -> sqlx::Result<Tx> {
    begin_detached(pool, enter_then_begin(Some(org), user)).await
}

/// A transaction acting for one person across their workspaces (listing memberships), without any workspace's data.
pub async fn personal(pool: &PgPool, user: UserId) -> sqlx::Result<Tx> {
    begin_detached(pool, enter_then_begin(None, Some(user))).await
}

/// A transaction of the job worker: as `clearview_worker`, which reads and updates the jobs of every workspace and
/// nothing else.
pub async fn worker(pool: &PgPool) -> sqlx::Result<Tx> {
    begin_detached(
        pool,
        "select set_config('role', 'clearview_worker', true); begin".to_owned(),
    )
    .await
}

/// The settings and the role switch, then `BEGIN`, as one simple-protocol message of two statements (D-016): one round
/// trip, and the cheapest shape for the database. The values are UUIDs, printed as hex digits and dashes, so there is
/// nothing to quote.
fn enter_then_begin(org: Option<OrgId>, user: Option<UserId>) -> String {
    let text = |id: Option<uuid::Uuid>| id.map(|u| u.to_string()).unwrap_or_default();
    format!(
        "select set_config('app.org_id', '{}', true), set_config('app.user_id', '{}', true), \
         set_config('role', 'clearview_app', true); begin",
        text(org.map(|o| o.0)),
        text(user.map(|u| u.0)),
    )
}

/// Switches an open transaction to the app role with the given workspace and person. Settings are transaction-local.
pub async fn enter(tx: &mut Tx, org: Option<OrgId>, user: Option<UserId>) -> sqlx::Result<()> {
    sqlx::query(
        "select set_config('app.org_id', coalesce($1::text, ''), true), \
                set_config('app.user_id', coalesce($2::text, ''), true), \
                set_config('role', 'clearview_app', true)",
    )
    .bind(org.map(|o| o.0))
    .bind(user.map(|u| u.0))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The roles a request or the worker acts as, and every role they could `SET ROLE` to, that would let a transaction past
/// row-level security: a superuser or a `BYPASSRLS` role among them, or a role that does not exist. Empty when they are
/// safe; the server refuses to start otherwise.
pub async fn unsafe_roles(pool: &PgPool) -> sqlx::Result<Vec<String>> {
    let rows = sqlx::query!(
        r#"with recursive reach(oid, via) as (
               select r.oid, r.rolname::text from pg_roles r where r.rolname in ('clearview_app', 'clearview_worker')
               union
               select m.roleid, reach.via from pg_auth_members m join reach on m.member = reach.oid
           )
           select reach.via as "via!", r.rolname::text as "role!", r.rolsuper as "superuser!",
                  r.rolbypassrls as "bypassrls!"
           from reach join pg_roles r on r.oid = reach.oid
           where r.rolsuper or r.rolbypassrls"#
    )
    .fetch_all(pool)
    .await?;
    let mut found: Vec<String> = rows
        .into_iter()
        .map(|r| {
            let what = if r.superuser {
                "a superuser"
            } else {
                "BYPASSRLS"
            };
            if r.role == r.via {
                format!("{} is {what}", r.role)
            } else {
                format!("{} can act as {}, which is {what}", r.via, r.role)
            }
        })
        .collect();
    let present: Vec<String> = sqlx::query_scalar!(
        r#"select rolname::text as "name!" from pg_roles where rolname in ('clearview_app', 'clearview_worker')"#
    )
    .fetch_all(pool)
    .await?;
    for role in ["clearview_app", "clearview_worker"] {
        if !present.iter().any(|p| p == role) {
            found.push(format!("{role} does not exist"));
        }
    }
    Ok(found)
}

/// Deletes the browser sessions and sign-in throttle rows that have expired; answers how many of each. The server runs
/// it every few minutes.
pub async fn purge_expired(pool: &PgPool) -> crate::Result<(u64, u64)> {
    let sessions = sqlx::query!("delete from sessions where expiry_date <= now()")
        .execute(pool)
        .await?
        .rows_affected();
    let throttle = crate::auth::throttle::purge_expired(pool).await?;
    Ok((sessions, throttle))
}
