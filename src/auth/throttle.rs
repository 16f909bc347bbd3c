//! Throttling of the routes that check or hash a password, stored in PostgreSQL so that every app node sees the same
//! counts.
//!
//! An attempt is *reserved* before the password is looked at: one statement per key adds it to the key's count and
//! refuses when the budget is spent (or the key's delay has not passed), under the row's lock. Concurrent guesses are
//! therefore counted one after another, never all let through on the same old count. A sign-in that succeeds gives
//! its reservation back.
//!
//! Sign-in is limited on three keys, so that a stranger slows only themselves:
//! - **account and source** (the client's address; an IPv6 address by its /64): a small budget with a delay that
//!   doubles after the first few failures. This is what an attacker meets, and it does not touch the owner's network.
//! - **account**, from every source together: a much higher ceiling against guessing spread over many addresses. A
//!   source the account has signed in from before (within [`KNOWN_SOURCE_DAYS`]) is not held to it, so a distributed
//!   attack cannot lock the owner out of their own network.
//! - **source**, over every account: against one address trying many accounts.
//!
//! Signing up and accepting an invitation as a new person hash a password: they are limited per source.

use std::net::IpAddr;

use sqlx::PgPool;

use crate::{Error, Result};

/// A throttled key with its budget per window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    pub key: String,
    /// Attempts allowed in one window.
    pub budget: i32,
    pub window_secs: i64,
    /// After this many attempts in a window each further one waits 1, 2, 4 … seconds (at most
    /// [`MAX_DELAY_SECS`]) after the last; `None`: no delay.
    pub delay_after: Option<i32>,
    /// Given back when the attempt succeeds (sign-in); an attempt that creates an account is not.
    pub refundable: bool,
}

/// The sign-in window.
pub const WINDOW_SECS: i64 = 15 * 60;
/// The longest delay between two attempts on one key.
pub const MAX_DELAY_SECS: i64 = 60;
/// How long a source an account signed in from stays known to it.
pub const KNOWN_SOURCE_DAYS: i64 = 30;

/// Where an attempt comes from: the client's address, an IPv6 one by its /64 (one subscriber's whole network), or
/// `unknown` when the server cannot tell.
pub fn source(ip: Option<&str>) -> String {
    match ip.map(str::trim).and_then(|s| s.parse::<IpAddr>().ok()) {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        None => "unknown".to_owned(),
    }
}

fn account_key(email: &str) -> String {
    email.trim().to_lowercase()
}

impl Limit {
    /// One account from one source: ten attempts per window, the fourth and later each after a doubling delay.
    pub fn account_from(email: &str, source: &str) -> Self {
        Self {
            key: format!("signin:{}|{source}", account_key(email)),
            budget: 10,
            window_secs: WINDOW_SECS,
            delay_after: Some(3),
            refundable: true,
        }
    }

    /// One account from every source that has not signed in to it before: a hundred attempts per window.
    pub fn account(email: &str) -> Self {
        Self {
            key: format!("signin:{}", account_key(email)),
            budget: 100,
            window_secs: WINDOW_SECS,
            delay_after: None,
            refundable: true,
        }
    }

    /// One source over every account: fifty attempts per window, so an office behind one NAT still signs in.
    pub fn source(source: &str) -> Self {
        Self {
            key: format!("signin-source:{source}"),
            budget: 50,
            window_secs: WINDOW_SECS,
            delay_after: None,
            refundable: true,
        }
    }

    /// New accounts (sign-up, accepting an invitation as a new person) from one source: twenty an hour.
    pub fn new_account(source: &str) -> Self {
        Self {
            key: format!("new-account:{source}"),
            budget: 20,
            window_secs: 60 * 60,
            delay_after: None,
            refundable: false,
        }
    }
}

fn known_key(email: &str, source: &str) -> String {
    format!("known:{}|{source}", account_key(email))
}

/// The limits a sign-in is held to.
pub async fn signin_limits(pool: &PgPool, email: &str, source: &str) -> Result<Vec<Limit>> {
    let known = sqlx::query_scalar!(
        r#"select exists (select 1 from auth_throttle where key = $1 and expires_at > now()) as "known!""#,
        known_key(email, source)
    )
    .fetch_one(pool)
    .await?;
    let mut limits = vec![Limit::account_from(email, source)];
    if !known {
        limits.push(Limit::account(email));
    }
    limits.push(Limit::source(source));
    Ok(limits)
}

/// Attempts reserved on their keys; [`Reserved::succeeded`] gives the refundable ones back.
#[derive(Debug)]
#[must_use = "a sign-in that succeeds gives its reservation back"]
pub struct Reserved(Vec<Limit>);

/// Reserves one attempt on every key, or refuses with `RateLimited` (reserving nothing) when a key's budget is spent
/// or its delay has not passed.
pub async fn reserve(pool: &PgPool, limits: &[Limit]) -> Result<Reserved> {
    let mut taken: Vec<Limit> = Vec::with_capacity(limits.len());
    for limit in limits {
        // The count, the window and the delay are read and written in this one statement, under the row's lock.
        let counted = sqlx::query_scalar!(
            r#"insert into auth_throttle as t (key, failures, window_started_at, last_failure_at, expires_at)
               values ($1, 1, now(), now(), now() + make_interval(secs => $2))
               on conflict (key) do update set
                 failures = case when t.expires_at <= now() then 1 else t.failures + 1 end,
                 window_started_at = case when t.expires_at <= now() then now() else t.window_started_at end,
                 expires_at = case when t.expires_at <= now() then now() + make_interval(secs => $2)
                                   else t.expires_at end,
                 last_failure_at = now()
               where t.expires_at <= now()
                  or (t.failures < $3
                      and ($4::integer is null or t.failures < $4
                           or t.last_failure_at
                              + make_interval(secs => least($5::double precision, power(2, t.failures - $4)))
                              <= now()))
               returning failures"#,
            limit.key,
            limit.window_secs as f64,
            limit.budget,
            limit.delay_after,
            MAX_DELAY_SECS as f64,
        )
        .fetch_optional(pool)
        .await?;
        if counted.is_none() {
            let retry_after = retry_after(pool, limit).await?;
            Reserved(taken).give_back(pool, false).await?;
            return Err(Error::RateLimited {
                retry_after_secs: retry_after,
            });
        }
        taken.push(limit.clone());
    }
    Ok(Reserved(taken))
}

/// Seconds until `limit` takes an attempt again.
async fn retry_after(pool: &PgPool, limit: &Limit) -> Result<u64> {
    let secs = sqlx::query_scalar!(
        r#"select ceil(extract(epoch from
                  case when failures >= $2 then expires_at
                       else last_failure_at
                            + make_interval(secs => least($4::double precision, power(2, failures - $3)))
                  end - now()))::bigint
           from auth_throttle where key = $1"#,
        limit.key,
        limit.budget,
        limit.delay_after.unwrap_or(0),
        MAX_DELAY_SECS as f64,
    )
    .fetch_optional(pool)
    .await?
    .flatten()
    .unwrap_or(1);
    Ok(secs.max(1) as u64)
}

impl Reserved {
    /// The attempt succeeded: its refundable reservations are given back, the account-and-source key starts afresh,
    /// and the source becomes known to the account.
    pub async fn succeeded(self, pool: &PgPool, email: &str, source: &str) -> Result<()> {
        let own = Limit::account_from(email, source).key;
        sqlx::query!("delete from auth_throttle where key = $1", own)
            .execute(pool)
            .await?;
        sqlx::query!(
            r#"insert into auth_throttle (key, failures, window_started_at, last_failure_at, expires_at)
               values ($1, 0, now(), now(), now() + make_interval(days => $2))
               on conflict (key) do update set expires_at = excluded.expires_at"#,
            known_key(email, source),
            KNOWN_SOURCE_DAYS as i32,
        )
        .execute(pool)
        .await?;
        let rest = Reserved(self.0.into_iter().filter(|l| l.key != own).collect());
        rest.give_back(pool, true).await
    }

    /// The attempt did not take place (the password could not be checked): every reservation is given back.
    pub async fn cancel(self, pool: &PgPool) -> Result<()> {
        self.give_back(pool, false).await
    }

    /// Takes the reserved attempts off their counts: every one (the attempt did not happen), or only the refundable
    /// ones (it succeeded).
    async fn give_back(self, pool: &PgPool, only_refundable: bool) -> Result<()> {
        let keys: Vec<String> = self
            .0
            .into_iter()
            .filter(|l| l.refundable || !only_refundable)
            .map(|l| l.key)
            .collect();
        if keys.is_empty() {
            return Ok(());
        }
        sqlx::query!(
            "update auth_throttle set failures = greatest(failures - 1, 0) where key = any($1)",
            &keys
        )
        .execute(pool)
        .await?;
        Ok(())
    }
}

/// Deletes the rows whose window (or known source) has passed; answers how many.
pub async fn purge_expired(pool: &PgPool) -> Result<u64> {
    let done = sqlx::query!("delete from auth_throttle where expires_at <= now()")
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_is_an_address_and_an_ipv6_network_by_its_64() {
        assert_eq!(source(Some("10.0.0.1")), "10.0.0.1");
        assert_eq!(
            source(Some("2001:db8:1:2:aaaa::1")),
            source(Some("2001:db8:1:2:bbbb::9"))
        );
        assert_eq!(source(Some("2001:db8:1:2::1")), "2001:db8:1:2::/64");
        assert_eq!(source(Some("::ffff:10.0.0.1")), "10.0.0.1");
        assert_eq!(source(Some("not an address")), "unknown");
        assert_eq!(source(None), "unknown");
    }
}
