//! The durable job queue. A job is a row of `jobs`, written by the unit of work whose change causes it
//! ([`crate::db::Work::enqueue`]), so it commits or rolls back with that change. Workers on any number of machines
//! claim due jobs with `FOR UPDATE SKIP LOCKED` and a lease ([`claim`]); a job that fails is tried again after an
//! exponential backoff, up to its `max_attempts` (3), and then is `dead` with its last error, for an admin to see and
//! retry ([`list`], [`retry`]). A worker that dies holding a job lets its lease run out, and the job is claimed again.
//!
//! Delivery is at least once: a worker that sent a mail and died before recording it sends it again. Each mail carries
//! a Message-ID made from its job's id, the same on every attempt, so a repeat is recognisable.

pub mod mail;
mod worker;

use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

pub use self::mail::{Mail, Mailer};
pub use self::worker::{Worker, WorkerSettings};
use crate::db::{self, Done};
use crate::model::{Job, JobStatus};
use crate::policy::Action;
use crate::services::Scope;
use crate::{Error, Result};

/// The kind of a job that sends one [`Mail`].
pub const MAIL: &str = "mail";

/// A job a worker holds: its lease lasts until it completes or fails it, or the lease runs out.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: Uuid,
    pub org_id: Option<Uuid>,
    pub kind: String,
    pub payload: Value,
    /// This attempt's number, from 1.
    pub attempt: i32,
    pub max_attempts: i32,
}

/// Claims up to `limit` due jobs for `worker` for `lease`: queued jobs whose time has come, and running jobs whose
/// worker's lease ran out. Running jobs whose lease ran out on their last attempt are marked dead first.
pub async fn claim(
    pool: &PgPool,
    worker: &str,
    lease: std::time::Duration,
    limit: i64,
) -> Result<Vec<Claimed>> {
    let mut tx = db::worker(pool).await?;
    sqlx::query!(
        "update jobs set status = 'dead', locked_until = null, locked_by = null,
                last_error = coalesce(last_error || '; ', '') || 'the worker holding it stopped'
         where status = 'running' and locked_until < now() and attempts >= max_attempts"
    )
    .execute(&mut *tx)
    .await?;
    let rows = sqlx::query!(
        "update jobs j
         set status = 'running', attempts = j.attempts + 1, locked_at = now(),
             locked_until = now() + make_interval(secs => $2), locked_by = $1
         from (select id from jobs
               where status in ('queued', 'running') and run_at <= now()
                 and (status = 'queued' or locked_until < now())
                 and attempts < max_attempts
               order by run_at
               limit $3
               for update skip locked) due
         where j.id = due.id
         returning j.id, j.org_id, j.kind, j.payload, j.attempts, j.max_attempts",
        worker,
        lease.as_secs_f64(),
        limit,
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|r| Claimed {
            id: r.id,
            org_id: r.org_id,
            kind: r.kind,
            payload: r.payload,
            attempt: r.attempts,
            max_attempts: r.max_attempts,
        })
        .collect())
}

/// Marks a job this worker holds as done. `false` when it no longer holds it (its lease ran out and another worker
/// claimed it): that worker's attempt decides.
pub async fn complete(pool: &PgPool, id: Uuid, worker: &str) -> Result<bool> {
    let mut tx = db::worker(pool).await?;
    let done = sqlx::query!(
        "update jobs set status = 'done', finished_at = now(), locked_until = null, last_error = null
         where id = $1 and locked_by = $2 and status = 'running'",
        id,
        worker
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(done == 1)
}

/// Records a failed attempt of a job this worker holds: queued again after `backoff` × 4^(attempt − 1), or dead after
/// its last attempt. Returns its new status, `None` when this worker no longer held it.
pub async fn fail(
    pool: &PgPool,
    id: Uuid,
    worker: &str,
    error: &str,
    backoff: std::time::Duration,
) -> Result<Option<JobStatus>> {
    let mut tx = db::worker(pool).await?;
    let status = sqlx::query_scalar!(
        r#"update jobs
           set status = case when attempts >= max_attempts then 'dead' else 'queued' end,
               run_at = case when attempts >= max_attempts then run_at
                             else now() + make_interval(secs => $4 * power(4, attempts - 1)) end,
               last_error = left($3, 2000), locked_until = null, locked_by = null
           where id = $1 and locked_by = $2 and status = 'running'
           returning status as "status: JobStatus""#,
        id,
        worker,
        error,
        backoff.as_secs_f64(),
    )
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(status)
}

/// The workspace's jobs with `status` (all but the done ones when `None`), newest first, at most 200.
#[tracing::instrument(name = "jobs::list", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn list(pool: &PgPool, scope: &Scope, status: Option<JobStatus>) -> Result<Vec<Job>> {
    scope.require(Action::ReadJobs)?;
    let mut tx = scope.read(pool).await?;
    let rows = sqlx::query_as!(
        JobRow,
        r#"select id, kind, status as "status: JobStatus", payload, attempts, max_attempts, last_error, run_at,
                  created_at
           from jobs
           where org_id = $1 and (status = $2 or ($2 is null and status <> 'done'))
           order by created_at desc
           limit 200"#,
        scope.org_id.0,
        status as Option<JobStatus>,
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows.into_iter().map(Job::from).collect())
}

/// Queues a dead job again with a fresh set of attempts. `NotFound` outside the workspace; `Conflict` unless dead.
#[tracing::instrument(name = "jobs::retry", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn retry(pool: &PgPool, scope: &Scope, id: Uuid) -> Result<Done<Job>> {
    scope.require(Action::RetryJob)?;
    let mut work = scope.write(pool).await?;
    let row = sqlx::query!(
        r#"select status as "status: JobStatus" from jobs where id = $1 and org_id = $2 for update"#,
        id,
        scope.org_id.0
    )
    .fetch_optional(&mut **work)
    .await?
    .ok_or(Error::NotFound)?;
    if row.status != JobStatus::Dead {
        return Err(Error::Conflict(
            "only a job that failed every attempt can be retried".into(),
        ));
    }
    let job = sqlx::query_as!(
        JobRow,
        r#"update jobs set status = 'queued', attempts = 0, run_at = now(), locked_until = null, locked_by = null
           where id = $1
           returning id, kind, status as "status: JobStatus", payload, attempts, max_attempts, last_error, run_at,
                     created_at"#,
        id
    )
    .fetch_one(&mut **work)
    .await?;
    work.audit(
        "job.retried",
        "job",
        Some(id),
        serde_json::json!({"kind": job.kind, "last_error": job.last_error}),
    )
    .await?;
    work.queued_job();
    let job = Job::from(job);
    work.finish(job).await
}

/// A job as the admin pages read it.
struct JobRow {
    id: Uuid,
    kind: String,
    status: JobStatus,
    payload: Value,
    attempts: i32,
    max_attempts: i32,
    last_error: Option<String>,
    run_at: time::OffsetDateTime,
    created_at: time::OffsetDateTime,
}

impl From<JobRow> for Job {
    fn from(r: JobRow) -> Self {
        Job {
            id: r.id,
            summary: summary(&r.kind, &r.payload),
            kind: r.kind,
            status: r.status,
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            last_error: r.last_error,
            run_at: r.run_at,
            created_at: r.created_at,
        }
    }
}

/// What a job is about, for people.
fn summary(kind: &str, payload: &Value) -> String {
    match kind {
        MAIL => {
            let field = |k: &str| payload.get(k).and_then(Value::as_str).unwrap_or("?");
            format!("“{}” to {}", field("subject"), field("to"))
        }
        other => other.to_owned(),
    }
}
