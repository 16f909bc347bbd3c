//! Live boards: one `LISTEN deal_changes` connection per process fans PostgreSQL's deal notifications (sent by the
//! `deals_notify` trigger at commit) out to the boards watching, as server-sent events.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

/// One committed change of a deal, as the trigger announces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealChange {
    pub org_id: Uuid,
    pub pipeline_id: Uuid,
    pub deal_id: Uuid,
    pub stage_id: Uuid,
    pub version: i32,
    pub op: String,
}

/// What a watching board is told.
#[derive(Debug, Clone)]
pub enum Notice {
    Change(Arc<DealChange>),
    /// Changes may have been missed (the listening connection was re-established): reload the board.
    Resync,
}

/// The process's feed of deal changes.
#[derive(Clone)]
pub struct Feed {
    tx: broadcast::Sender<Notice>,
}

impl Feed {
    /// Starts listening in the background (on the current tokio runtime).
    pub fn start(pool: PgPool) -> Self {
        let (tx, _) = broadcast::channel(1024);
        tokio::spawn(listen(pool, tx.clone()));
        Self { tx }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.tx.subscribe()
    }
}

async fn listen(pool: PgPool, tx: broadcast::Sender<Notice>) {
    loop {
        let connected = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen("deal_changes").await?;
            Ok::<_, sqlx::Error>(listener)
        }
        .await;
        let mut listener = match connected {
            Ok(l) => l,
            // Shutting down: the pool is closed for good.
            Err(_) if pool.is_closed() => return,
            Err(e) => {
                tracing::warn!(error = %e, "live boards: cannot listen for deal changes; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        // Anything committed while nobody listened is unknown: every board reloads.
        let _ = tx.send(Notice::Resync);
        loop {
            match listener.try_recv().await {
                Ok(Some(n)) => match serde_json::from_str::<DealChange>(n.payload()) {
                    Ok(change) => {
                        // No receiver is not an error: nobody is watching a board right now.
                        let _ = tx.send(Notice::Change(Arc::new(change)));
                    }
                    Err(e) => tracing::error!(error = %e, "live boards: unreadable notification"),
                },
                // The connection was lost; the next call reconnects. Whatever happened meanwhile is unknown.
                Ok(None) => {
                    let _ = tx.send(Notice::Resync);
                }
                Err(_) if pool.is_closed() => return,
                Err(e) => {
                    tracing::warn!(error = %e, "live boards: listening failed; reconnecting");
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn closing_channel() -> &'static watch::Sender<bool> {
    static CLOSING: OnceLock<watch::Sender<bool>> = OnceLock::new();
    CLOSING.get_or_init(|| watch::channel(false).0)
}

/// Resolves when the process is shutting down: open event streams end then, so a graceful shutdown is not held up
/// by boards that would watch forever.
pub fn closing() -> watch::Receiver<bool> {
    closing_channel().subscribe()
}

/// Ends every open event stream (called once shutdown has begun).
pub fn close_all() {
    closing_channel().send_replace(true);
}
