//! The browser sessions' store (D-018): the `sessions` table, with the sessions this server has read or written kept
//! in memory, so a request in a signed-in session costs no query to learn who is asking.
//!
//! Sessions are still the table's rows: signing in writes one, signing out deletes it, and every server sees that.
//! A server that still holds a session another one has signed out does not act on it: each member transaction
//! confirms its session in the statement that opens it (`app_enter`, D-018) and refuses one that has ended; the refused
//! request answers 401 and the server forgets the session ([`Sessions::forget`]). Kept sessions are read again after
//! [`KEPT_FOR`] in any case.
//!
//! Writing a session back only updates its row, and only the version this server last read or wrote.
//! tower-sessions' own PostgreSQL store upserts, so a request that touched a session while another signed it out
//! would write the row back and revive the cookie; here a session whose row has gone stays gone. And a server whose
//! copy is older than the row (the person switched workspace through another server) does not write its copy over
//! the newer one: it drops its copy, and the next request reads the row.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

/// How long a session read from the table is used without reading it again.
pub const KEPT_FOR: Duration = Duration::from_secs(30);

/// At most this many sessions are kept; past it, the oldest reads are dropped.
const KEEP_AT_MOST: usize = 50_000;

/// The `sessions` table (MessagePack records, as tower-sessions' PostgreSQL store writes them) with a read cache.
#[derive(Clone)]
pub struct Sessions {
    pool: PgPool,
    kept: Arc<Mutex<HashMap<Id, Kept>>>,
}

/// Says how many sessions are kept, never which: their ids are the cookies' secrets.
impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("kept", &self.kept().len())
            .finish_non_exhaustive()
    }
}

struct Kept {
    record: Record,
    read_at: Instant,
    /// The row's `expiry_date` as stored. Every save moves it, so it tells which version of the row this copy is.
    stored: OffsetDateTime,
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

fn encode(record: &Record) -> session_store::Result<Vec<u8>> {
    rmp_serde::to_vec(record).map_err(|e| session_store::Error::Encode(e.to_string()))
}

impl Sessions {
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            kept: Arc::default(),
        }
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, HashMap<Id, Kept>> {
        // The map holds copies of rows: one left behind by a panicking holder is still a valid cache.
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn keep(&self, record: &Record, stored: OffsetDateTime) {
        let mut kept = self.kept();
        if kept.len() >= KEEP_AT_MOST && !kept.contains_key(&record.id) {
            let now = Instant::now();
            kept.retain(|_, k| now.duration_since(k.read_at) < KEPT_FOR);
            if kept.len() >= KEEP_AT_MOST {
                kept.clear();
            }
        }
        kept.insert(
            record.id,
            Kept {
                record: record.clone(),
                read_at: Instant::now(),
                stored,
            },
        );
    }

    /// Drops a kept session, so its next request reads the table (which no longer has it, when a member transaction
    /// refused it).
    pub fn forget(&self, id: &Id) {
        self.kept().remove(id);
    }
}

#[async_trait::async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let data = encode(record)?;
        // A new id is 128 random bits; should it ever be taken, draw another.
        loop {
            let stored: Option<OffsetDateTime> = sqlx::query_scalar(
                "insert into sessions (id, data, expiry_date) values ($1, $2, $3) on conflict (id) do nothing
                 returning expiry_date",
            )
            .bind(record.id.to_string())
            .bind(&data)
            .bind(record.expiry_date)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
            if let Some(stored) = stored {
                self.keep(record, stored);
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        // Over the version this server knows of (any version when it keeps none).
        let known = self.kept().get(&record.id).map(|k| k.stored);
        let stored: Option<OffsetDateTime> = sqlx::query_scalar(
            "update sessions set data = $2, expiry_date = $3
             where id = $1 and ($4::timestamptz is null or expiry_date = $4)
             returning expiry_date",
        )
        .bind(record.id.to_string())
        .bind(encode(record)?)
        .bind(record.expiry_date)
        .bind(known)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        match stored {
            Some(stored) => self.keep(record, stored),
            // Signed out meanwhile (it stays that way), or changed through another server (the newer row stands).
            None => self.forget(&record.id),
        }
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let now = OffsetDateTime::now_utc();
        if let Some(k) = self.kept().get(id)
            && k.read_at.elapsed() < KEPT_FOR
            && k.record.expiry_date > now
        {
            return Ok(Some(k.record.clone()));
        }
        let row: Option<(Vec<u8>, OffsetDateTime)> = sqlx::query_as(
            "select data, expiry_date from sessions where id = $1 and expiry_date > $2",
        )
        .bind(id.to_string())
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        let Some((data, stored)) = row else {
            self.forget(id);
            return Ok(None);
        };
        let record: Record = rmp_serde::from_slice(&data)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        self.keep(&record, stored);
        Ok(Some(record))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.forget(id);
        sqlx::query("delete from sessions where id = $1")
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
