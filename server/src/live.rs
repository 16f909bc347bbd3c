//! Live boards (D-010, D-019). Requests hand the deal changes they committed to the process's [`Announcer`], which
//! sends them on PostgreSQL's `deal_changes` channel in transactions of their own. One `LISTEN deal_changes`
//! connection per process fans every server's announcements out to the boards watching, as server-sent events.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use clearview::db::SessionKey;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast, mpsc, watch};

pub use clearview::services::live::DealChange;

/// What a watching board is told.
#[derive(Debug, Clone)]
pub enum Notice {
    Change(Arc<DealChange>),
    /// Changes may have been missed (the listening connection was re-established): reload the board.
    Resync,
}

/// The process's feed of deal changes, and the places its event streams take.
#[derive(Clone)]
pub struct Feed {
    tx: broadcast::Sender<Notice>,
    streams: Arc<Streams>,
}

/// How many event streams may be open: per browser session and over the whole server. A stream holds a connection
/// for as long as its board is open, so both are bounded.
#[derive(Debug, Clone, Copy)]
pub struct StreamLimits {
    pub per_session: usize,
    pub total: usize,
    /// How often an open stream confirms that its session and membership still hold (D-022).
    pub recheck: Duration,
}

impl Default for StreamLimits {
    fn default() -> Self {
        Self {
            // A person with a few boards open in tabs; a browser opens at most six connections per site over HTTP/1.1.
            per_session: 4,
            total: 1000,
            recheck: Duration::from_secs(5),
        }
    }
}

struct Streams {
    limits: StreamLimits,
    total: Arc<Semaphore>,
    per_session: Mutex<HashMap<String, usize>>,
}

/// An open stream's place; given back when the stream ends (it is dropped with the stream).
pub struct StreamSlot {
    _total: OwnedSemaphorePermit,
    session: Option<String>,
    streams: Arc<Streams>,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        if let Some(key) = self.session.take() {
            let mut open = self
                .streams
                .per_session
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if let Some(n) = open.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    open.remove(&key);
                }
            }
        }
    }
}

impl Feed {
    /// Starts listening in the background (on the current tokio runtime).
    pub fn start(pool: PgPool, limits: StreamLimits) -> Self {
        let (tx, _) = broadcast::channel(1024);
        tokio::spawn(listen(pool, tx.clone()));
        Self {
            tx,
            streams: Arc::new(Streams {
                limits,
                total: Arc::new(Semaphore::new(limits.total.max(1))),
                per_session: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// How often open streams confirm their scope.
    pub fn recheck(&self) -> Duration {
        self.streams.limits.recheck
    }

    /// A place for one more stream of `session`: `RateLimited` past the session's cap, `Overloaded` past the
    /// server's.
    pub fn open_stream(&self, session: Option<&SessionKey>) -> clearview::Result<StreamSlot> {
        let streams = &self.streams;
        let Ok(total) = streams.total.clone().try_acquire_owned() else {
            return Err(clearview::Error::Overloaded {
                retry_after_secs: 5,
            });
        };
        let key = session.map(|s| s.as_str().to_owned());
        if let Some(key) = &key {
            let mut open = streams
                .per_session
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let n = open.entry(key.clone()).or_insert(0);
            if *n >= streams.limits.per_session {
                return Err(clearview::Error::RateLimited {
                    retry_after_secs: 5,
                });
            }
            *n += 1;
        }
        Ok(StreamSlot {
            _total: total,
            session: key,
            streams: streams.clone(),
        })
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
