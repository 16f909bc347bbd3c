//! Live boards (D-010, D-019). Requests hand the deal changes they committed to the process's [`Announcer`], which
//! sends them on PostgreSQL's `deal_changes` channel in transactions of their own. One `LISTEN deal_changes`
//! connection per process fans every server's announcements out to the boards watching, as server-sent events.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::{broadcast, mpsc, watch};

pub use clearview::services::live::DealChange;

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

    /// Tells this process's boards to reload: changes may have gone unheard.
    pub fn resync(&self) {
        let _ = self.tx.send(Notice::Resync);
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

/// Sends committed deal changes to every server's boards (D-019). Changes that arrive while a send is under way go
/// together in the next one, so a busy server sends one statement per batch rather than per change.
pub struct Announcer;

/// At most this many changes go in one statement.
const BATCH: usize = 500;
/// How often a batch is tried before it is given up (the boards that missed it resynchronise).
const ATTEMPTS: u32 = 3;

impl Announcer {
    /// Starts the task on the current tokio runtime; the sender takes each unit of work's changes, in order. The task
    /// ends once every sender is dropped and everything handed to it has been sent (or given up); the returned
    /// `JoinHandle` tells when.
    pub fn start(
        pool: PgPool,
        feed: Feed,
    ) -> (
        mpsc::UnboundedSender<Vec<DealChange>>,
        tokio::task::JoinHandle<()>,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        (tx, tokio::spawn(announce(pool, feed, rx)))
    }
}

async fn announce(pool: PgPool, feed: Feed, mut rx: mpsc::UnboundedReceiver<Vec<DealChange>>) {
    while let Some(mut batch) = rx.recv().await {
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(more) => batch.extend(more),
                Err(_) => break,
            }
        }
        let mut attempt = 1;
        loop {
            match clearview::services::live::announce(&pool, &batch).await {
                Ok(()) => break,
                Err(_) if pool.is_closed() => return,
                Err(e) if attempt < ATTEMPTS => {
                    tracing::warn!(error = %e, changes = batch.len(), "live boards: announcing failed; retrying");
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => {
                    // Other servers' boards cannot be told. This server's boards reload, and so does every board
                    // whose server reconnects its listener.
                    tracing::error!(error = %e, changes = batch.len(), "live boards: changes not announced");
                    feed.resync();
                    break;
                }
            }
        }
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
