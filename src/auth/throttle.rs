//! Sign-in throttling per account and per client address, stored in PostgreSQL so that every app node sees the same
//! counts.

use sqlx::PgPool;

use crate::{Error, Result};

/// A throttled key with its budget of failures per window.
#[derive(Debug, Clone)]
pub struct Limit {
    pub key: String,
    pub max_failures: i32,
}

/// The window failures are counted in.
pub const WINDOW_SECS: i64 = 15 * 60;

impl Limit {
    /// Five failures per account per window: enough for typos, far too few for guessing.
    pub fn account(email: &str) -> Self {
        Self {
            key: format!("account:{}", email.trim().to_lowercase()),
            max_failures: 5,
        }
    }

    /// Fifty failures per client address per window: an office behind one NAT still signs in.
    pub fn address(ip: &str) -> Self {
        Self {
            key: format!("ip:{ip}"),
            max_failures: 50,
        }
    }
}

/// Refuses with `RateLimited` when any key has used its budget in the current window.
pub async fn check(pool: &PgPool, limits: &[Limit]) -> Result<()> {
    for limit in limits {
        let row = sqlx::query!(
            r#"select failures, greatest(0, extract(epoch from window_started_at + make_interval(secs => $2) - now()))::bigint as "retry_after!"
               from auth_throttle where key = $1 and window_started_at > now() - make_interval(secs => $2)"#,
            limit.key,
            WINDOW_SECS as f64,
        )
        .fetch_optional(pool)
        .await?;
        if let Some(row) = row
            && row.failures >= limit.max_failures
        {
            return Err(Error::RateLimited {
                retry_after_secs: row.retry_after.max(1) as u64,
            });
        }
    }
    Ok(())
}

/// Counts one failure against every key (a new window starts once the old one has passed).
pub async fn record_failure(pool: &PgPool, limits: &[Limit]) -> Result<()> {
    for limit in limits {
        sqlx::query!(
            r#"insert into auth_throttle (key, failures, window_started_at) values ($1, 1, now())
               on conflict (key) do update set
                 failures = case when auth_throttle.window_started_at > now() - make_interval(secs => $2)
                                 then auth_throttle.failures + 1 else 1 end,
                 window_started_at = case when auth_throttle.window_started_at > now() - make_interval(secs => $2)
                                 then auth_throttle.window_started_at else now() end"#,
            limit.key,
            WINDOW_SECS as f64,
        )
        .execute(pool)
        .await?;
    }
    Ok(())
}

/// Forgets an account's failures after a successful sign-in.
pub async fn clear(pool: &PgPool, limit: &Limit) -> Result<()> {
    sqlx::query!("delete from auth_throttle where key = $1", limit.key)
        .execute(pool)
        .await?;
    Ok(())
}
