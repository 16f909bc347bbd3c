//! The job queue against a real PostgreSQL: exclusive claims under concurrency, leases that give a dead worker's job
//! back, three failures to dead, an admin's retry, and the dev mailbox as the mailer.
#![expect(
    clippy::unwrap_used,
    reason = "helpers of the tests: a failed step must fail the test that called it"
)]

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use clearview::Error;
use clearview::db::Settle;
use clearview::domain::Role;
use clearview::jobs::{self, Mail, Mailer, Worker, WorkerSettings};
use clearview::model::JobStatus;
use clearview::services::Scope;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::common::{member, workspace};

/// Queues `n` mails in one unit of work of `scope`.
async fn queue(pool: &PgPool, scope: &Scope, n: usize) -> Vec<Uuid> {
    let mut work = scope.write(pool).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..n {
        let mail = Mail {
            to: format!("person{i}@example.com"),
            subject: format!("Hello {i}"),
            text: "Hi".into(),
        };
        ids.push(
            work.enqueue(jobs::MAIL, serde_json::to_value(mail).unwrap())
                .await
                .unwrap(),
        );
    }
    work.audit("test.queued", "job", None, json!({}))
        .await
        .unwrap();
    let committed = work.commit().await.unwrap();
    assert_eq!(committed.jobs(), n);
    committed.finish_here(pool).await.unwrap();
    ids
}

async fn status(pool: &PgPool, id: Uuid) -> (String, i32, Option<String>) {
    sqlx::query_as("select status, attempts, last_error from jobs where id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

fn mailbox() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("clearview-mailbox-{}", Uuid::new_v4()))
}

fn settings() -> WorkerSettings {
    WorkerSettings {
        lease: Duration::from_secs(60),
        backoff: Duration::ZERO,
        poll: Duration::from_millis(50),
        batch: 10,
    }
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn a_job_commits_with_its_unit_of_work_or_not_at_all(pool: PgPool) {
    let admin = workspace(&pool, "ada@example.com").await;
    let mut work = admin.write(&pool).await.unwrap();
    work.enqueue(
        jobs::MAIL,
        json!({"to": "x@example.com", "subject": "s", "text": "t"}),
    )
    .await
    .unwrap();
    drop(work);
    let count = |pool: PgPool| async move {
        sqlx::query_scalar::<_, i64>("select count(*) from jobs")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    assert_eq!(count(pool.clone()).await, 0, "rolled back with its unit");
    queue(&pool, &admin, 1).await;
    assert_eq!(count(pool.clone()).await, 1);
    // A member's transaction sees its own workspace's jobs only.
    let other = workspace(&pool, "bob@example.com").await;
    assert!(
        jobs::list(&pool, &other, None).await.unwrap().is_empty(),
        "another workspace's jobs are not listed"
    );
    assert_eq!(jobs::list(&pool, &admin, None).await.unwrap().len(), 1);
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn concurrent_workers_never_claim_one_job_twice(pool: PgPool) {
    let admin = workspace(&pool, "ada@example.com").await;
    let queued: HashSet<Uuid> = queue(&pool, &admin, 60).await.into_iter().collect();
    let mut workers = Vec::new();
    for w in 0..4 {
        let pool = pool.clone();
        workers.push(tokio::spawn(async move {
            let name = format!("worker-{w}");
            let mut mine = Vec::new();
            loop {
                let claimed = jobs::claim(&pool, &name, Duration::from_secs(60), 3)
                    .await
                    .unwrap();
                if claimed.is_empty() {
                    break;
                }
                for job in claimed {
                    assert!(jobs::complete(&pool, job.id, &name).await.unwrap());
                    mine.push(job.id);
                }
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let once: HashSet<Uuid> = all.iter().copied().collect();
    assert_eq!(once.len(), all.len(), "a job was claimed twice");
    assert_eq!(once, queued, "every job was claimed");
    let done: i64 = sqlx::query_scalar("select count(*) from jobs where status = 'done'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(done, 60);
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn a_worker_that_dies_holding_a_job_gives_it_back_when_its_lease_ends(pool: PgPool) {
    let admin = workspace(&pool, "ada@example.com").await;
    let [id] = queue(&pool, &admin, 1).await[..] else {
        unreachable!()
    };
    // The first worker claims it for a short lease and dies (never completes it).
    let first = jobs::claim(&pool, "dies", Duration::from_millis(200), 10)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert!(
        jobs::claim(&pool, "other", Duration::from_secs(60), 10)
            .await
            .unwrap()
            .is_empty(),
        "held while the lease lasts"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = jobs::claim(&pool, "other", Duration::from_secs(60), 10)
        .await
        .unwrap();
    assert_eq!(second.len(), 1, "claimed again after the lease ran out");
    assert_eq!((second[0].id, second[0].attempt), (id, 2));
    // The dead worker's late word no longer counts; the holder's does.
    assert!(!jobs::complete(&pool, id, "dies").await.unwrap());
    assert!(jobs::complete(&pool, id, "other").await.unwrap());
    assert_eq!(status(&pool, id).await.0, "done");
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn three_failures_make_a_job_dead_and_a_retry_sends_it_once(pool: PgPool) {
    let admin = workspace(&pool, "ada@example.com").await;
    let rep = member(&pool, &admin, "rep@example.com", Role::Rep).await;
    let [id] = queue(&pool, &admin, 1).await[..] else {
        unreachable!()
    };
    // Nothing listens on port 9 of this machine: every attempt fails for real.
    let refused =
        Arc::new(Mailer::smtp("smtp://127.0.0.1:9", "Clearview <no-reply@example.com>").unwrap());
    let worker = Worker::new(pool.clone(), refused, settings());
    for attempt in 1..=3 {
        assert_eq!(worker.run_once().await.unwrap(), 1, "attempt {attempt}");
        let (s, attempts, error) = status(&pool, id).await;
        assert_eq!(attempts, attempt);
        assert!(error.unwrap().contains("SMTP"), "the error is kept");
        assert_eq!(s, if attempt < 3 { "queued" } else { "dead" });
    }
    assert_eq!(
        worker.run_once().await.unwrap(),
        0,
        "a dead job is not tried again"
    );
    let dead = jobs::list(&pool, &admin, Some(JobStatus::Dead))
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].summary, "“Hello 0” to person0@example.com");

    // Only an admin may retry, and only a dead job.
    assert_eq!(
        jobs::retry(&pool, &rep, id).await.map(|_| ()).unwrap_err(),
        Error::Forbidden
    );
    assert_eq!(
        jobs::list(&pool, &rep, None).await.unwrap_err(),
        Error::Forbidden
    );
    let retried = jobs::retry(&pool, &admin, id)
        .await
        .settle(&pool)
        .await
        .unwrap();
    assert_eq!((retried.status, retried.attempts), (JobStatus::Queued, 0));
    assert!(matches!(
        jobs::retry(&pool, &admin, id).await.map(|_| ()),
        Err(Error::Conflict(_))
    ));
    let other = workspace(&pool, "eve@example.com").await;
    assert_eq!(
        jobs::retry(&pool, &other, id)
            .await
            .map(|_| ())
            .unwrap_err(),
        Error::NotFound
    );

    // Now the mail can go: it is sent once, with the Message-ID its job gives it.
    let dir = mailbox();
    let mailer =
        Arc::new(Mailer::dev_mailbox(dir.clone(), "Clearview <no-reply@example.com>").unwrap());
    let worker = Worker::new(pool.clone(), mailer, settings());
    assert_eq!(worker.run_once().await.unwrap(), 1);
    assert_eq!(worker.run_once().await.unwrap(), 0);
    assert_eq!(status(&pool, id).await.0, "done");
    let kept = jobs::mail::dev_mailbox(&dir, 10).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].message_id, format!("<{id}@example.com>"));
    assert_eq!(kept[0].to, "person0@example.com");
    let _ = std::fs::remove_dir_all(dir);
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn a_running_worker_is_woken_and_stops_when_told(pool: PgPool) {
    let admin = workspace(&pool, "ada@example.com").await;
    let dir = mailbox();
    let mailer =
        Arc::new(Mailer::dev_mailbox(dir.clone(), "Clearview <no-reply@example.com>").unwrap());
    let mut s = settings();
    s.poll = Duration::from_secs(3600);
    let worker = Worker::new(pool.clone(), mailer, s);
    let wake = worker.wake();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));
    let ids = queue(&pool, &admin, 2).await;
    wake.notify_one();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while jobs::mail::dev_mailbox(&dir, 10).await.unwrap().len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "not sent within 10 s of the wake-up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for id in ids {
        assert_eq!(status(&pool, id).await.0, "done");
    }
    stop.send(()).unwrap();
    running.await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn the_request_role_cannot_reach_another_workspaces_jobs(pool: PgPool) {
    let a = workspace(&pool, "a@example.com").await;
    let b = workspace(&pool, "b@example.com").await;
    queue(&pool, &a, 1).await;
    let mut tx = b.read(&pool).await.unwrap();
    // The old switch that opened the table to any transaction opens nothing now.
    sqlx::query("select set_config('app.worker', 'on', true)")
        .execute(&mut *tx)
        .await
        .unwrap();
    let seen: i64 = sqlx::query_scalar("select count(*) from jobs")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(seen, 0);
    let changed = sqlx::query("update jobs set status = 'done'")
        .execute(&mut *tx)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(changed, 0);
}
