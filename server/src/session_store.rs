//! The browser sessions' store (D-018): the `sessions` table, with the sessions this server has read or written
//! cached in memory, so a request in a signed-in session costs no query to learn who is asking.
//!
//! Sessions are still the table's rows: signing in writes one, signing out deletes it, and every server sees that.
//! A server that still holds a session another one has signed out does not act on it: each member transaction
//! confirms its session in the statement that opens it (`app_enter`, D-018) and refuses one that has ended; the refused
//! request answers 401 and the server forgets the session ([`Sessions::forget`]). A cached session is read from the
//! table again after [`KEPT_FOR`] (30 s) in any case.
//!
//! Writing a session back only updates its row, and only the version this server last read or wrote.
//! tower-sessions' own PostgreSQL store upserts, so a request that touched a session while another signed it out
//! would write the row back and revive the cookie; here a session whose row has gone stays gone. When the row is newer
//! than the copy (the person switched workspace through another server), the request's own changes to its copy are
//! made over the row as it is now ([`merge`]): neither its changes nor the newer row's are lost.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

/// How long a session read from the table is used without reading it again.
pub const KEPT_FOR: Duration = Duration::from_secs(30);

/// At most this many sessions are cached; past it, those read longest ago are dropped.
const KEEP_AT_MOST: usize = 50_000;

/// How often a save merges its changes into a row changed meanwhile before it gives up.
const SAVE_ATTEMPTS: usize = 3;

/// A request's changes to its copy of a session (`original` → `mine`: keys set, changed or removed, and the new idle
/// expiry), made over the row as it is now (`current`). Keys the request left alone keep the row's values.
fn merge(original: &Record, mine: &Record, mut current: Record) -> Record {
    for (key, value) in &mine.data {
        if original.data.get(key) != Some(value) {
            current.data.insert(key.clone(), value.clone());
        }
    }
    for key in original.data.keys() {
        if !mine.data.contains_key(key) {
            current.data.remove(key);
        }
    }
    current.id = mine.id;
    current.expiry_date = mine.expiry_date;
    current
}

/// The `sessions` table (MessagePack records, as tower-sessions' PostgreSQL store writes them) with a read cache.
#[derive(Clone)]
pub struct Sessions {
    pool: PgPool,
    kept: Arc<Mutex<HashMap<Id, Kept>>>,
}

/// Says how many sessions are cached, never which: their ids are the cookies' secrets.
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

    /// The row as stored now, with its version; `None` once signed out or expired.
    async fn read(&self, id: &Id) -> session_store::Result<Option<(Record, OffsetDateTime)>> {
        let row: Option<(Vec<u8>, OffsetDateTime)> = sqlx::query_as(
            "select data, expiry_date from sessions where id = $1 and expiry_date > $2",
        )
        .bind(id.to_string())
        .bind(OffsetDateTime::now_utc())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.map(|(data, stored)| {
            rmp_serde::from_slice(&data)
                .map(|record| (record, stored))
                .map_err(|e| session_store::Error::Decode(e.to_string()))
        })
        .transpose()
    }

    /// Updates the row, if it exists and (given `known`) is still that version; returns its new version.
    async fn write(
        &self,
        record: &Record,
        known: Option<OffsetDateTime>,
    ) -> session_store::Result<Option<OffsetDateTime>> {
        sqlx::query_scalar(
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
        .map_err(backend)
    }

    /// Drops a session from the cache, so its next request reads the table (which no longer has it, when a member
    /// transaction refused it).
    pub fn forget(&self, id: &Id) {
        self.kept().remove(id);
    }
}

#[async_trait::async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A new id is 128 random bits; should it ever be taken, draw another (the record holds its id: encode again).
        loop {
            let data = encode(record)?;
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
        let kept = self
            .kept()
            .get(&record.id)
            .map(|k| (k.record.clone(), k.stored));
        let Some((original, mut known)) = kept else {
            // A copy no longer in this server's cache: written as it is, while the row exists.
            match self.write(record, None).await? {
                Some(stored) => self.keep(record, stored),
                None => self.forget(&record.id),
            }
            return Ok(());
        };
        let mut merged = record.clone();
        for _ in 0..SAVE_ATTEMPTS {
            if let Some(stored) = self.write(&merged, Some(known)).await? {
                self.keep(&merged, stored);
                return Ok(());
            }
            // Signed out meanwhile (it stays that way), or changed through another server since this copy was read:
            // this request's own changes go over the row as it is now.
            let Some((current, stored)) = self.read(&record.id).await? else {
                self.forget(&record.id);
                return Ok(());
            };
            merged = merge(&original, record, current);
            known = stored;
        }
        self.forget(&record.id);
        Err(backend(
            "the session kept changing while it was being saved",
        ))
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        if let Some(k) = self.kept().get(id)
            && k.read_at.elapsed() < KEPT_FOR
            && k.record.expiry_date > OffsetDateTime::now_utc()
        {
            return Ok(Some(k.record.clone()));
        }
        let Some((record, stored)) = self.read(id).await? else {
            self.forget(id);
            return Ok(None);
        };
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(pairs: &[(&str, serde_json::Value)], expiry: OffsetDateTime) -> Record {
        Record {
            id: Id(7),
            data: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            expiry_date: expiry,
        }
    }

    #[test]
    fn a_save_applies_its_own_changes_over_the_newer_row() {
        let t = OffsetDateTime::UNIX_EPOCH;
        let original = record(
            &[
                ("org", json!("a")),
                ("seen", json!(1)),
                ("role", json!("rep")),
            ],
            t,
        );
        // Through another server: the workspace switched, the role for it remembered.
        let current = record(
            &[
                ("org", json!("b")),
                ("seen", json!(1)),
                ("role", json!("admin")),
            ],
            t,
        );
        // This request: a touch, and the role forgotten.
        let later = t + time::Duration::hours(1);
        let mine = record(&[("org", json!("a")), ("seen", json!(2))], later);
        let merged = merge(&original, &mine, current);
        assert_eq!(
            merged.data.get("org"),
            Some(&json!("b")),
            "the switch stands"
        );
        assert_eq!(
            merged.data.get("seen"),
            Some(&json!(2)),
            "the touch is kept"
        );
        assert_eq!(merged.data.get("role"), None, "the removal is kept");
        assert_eq!(merged.expiry_date, later);
    }
}
