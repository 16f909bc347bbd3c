//! The loop that runs jobs: claim a batch, run each, record the outcome; sleep until woken or the next look.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::Notify;

use super::{Claimed, MAIL, Mail, Mailer};
use crate::Result;

/// How a worker paces itself.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// How long a claimed job is this worker's; past it, another worker may claim it again.
    pub lease: Duration,
    /// The wait after a first failed attempt; each further one waits four times longer.
    pub backoff: Duration,
    /// How often an idle worker looks for due jobs it was not woken for (queued by another server, or due after a
    /// backoff).
    pub poll: Duration,
    /// How many jobs one claim takes.
    pub batch: i64,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(120),
            backoff: Duration::from_secs(30),
            poll: Duration::from_secs(2),
            batch: 10,
        }
    }
}

/// One worker. Any number may run, in one process or many: each claims different jobs.
pub struct Worker {
    pool: PgPool,
    mailer: Arc<Mailer>,
    settings: WorkerSettings,
    id: String,
    wake: Arc<Notify>,
}

impl Worker {
    pub fn new(pool: PgPool, mailer: Arc<Mailer>, settings: WorkerSettings) -> Self {
        Self::with_wake(pool, mailer, settings, Arc::new(Notify::new()))
    }

    /// [`Worker::new`], woken through `wake` (a server made before its worker).
    pub fn with_wake(
        pool: PgPool,
        mailer: Arc<Mailer>,
        settings: WorkerSettings,
        wake: Arc<Notify>,
    ) -> Self {
        let id = format!(
            "{}:{}:{}",
            hostname(),
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        Self {
            pool,
            mailer,
            settings,
            id,
            wake,
        }
    }

    /// The name this worker claims jobs under.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// What wakes this worker when a job was queued (`services::AfterCommit` holds it).
    pub fn wake(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Claims one batch of due jobs and runs them; returns how many it ran.
    pub async fn run_once(&self) -> Result<usize> {
        let claimed = super::claim(
            &self.pool,
            &self.id,
            self.settings.lease,
            self.settings.batch,
        )
        .await?;
        for job in &claimed {
            self.run_job(job).await?;
        }
        Ok(claimed.len())
    }

    /// Runs jobs until `shutdown` completes. A database error is logged and tried again after a pause.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        tracing::info!(worker = %self.id, "job worker started");
        loop {
            let pause = match self.run_once().await {
                Ok(n) if n as i64 >= self.settings.batch => continue,
                Ok(_) => self.settings.poll,
                Err(e) => {
                    if let Some(cause) = e.cause() {
                        cause.log("job worker failed");
                    }
                    self.settings.poll.max(Duration::from_secs(1))
                }
            };
            tokio::select! {
                () = &mut shutdown => break,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
        tracing::info!(worker = %self.id, "job worker stopped");
    }

    async fn run_job(&self, job: &Claimed) -> Result<()> {
        let outcome = match job.kind.as_str() {
            MAIL => match serde_json::from_value::<Mail>(job.payload.clone()) {
                Ok(mail) => self.mailer.send(job.id, &mail).await,
                Err(e) => Err(format!("unreadable mail job: {e}")),
            },
            other => Err(format!("no worker runs jobs of kind {other:?}")),
        };
        match outcome {
            Ok(()) => {
                super::complete(&self.pool, job.id, &self.id).await?;
                tracing::info!(job.id = %job.id, job.kind = %job.kind, attempt = job.attempt, "job done");
            }
            Err(error) => {
                let status =
                    super::fail(&self.pool, job.id, &self.id, &error, self.settings.backoff)
                        .await?;
                tracing::warn!(
                    job.id = %job.id, job.kind = %job.kind, attempt = job.attempt,
                    max_attempts = job.max_attempts, status = ?status, %error,
                    "job attempt failed"
                );
            }
        }
        Ok(())
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned())
}
