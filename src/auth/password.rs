//! argon2id password hashing (OWASP minimum: m = 19 MiB, t = 2, p = 1), run off the async executor.
//!
//! Each hash holds 19 MiB while it runs, so at most [`concurrency`] run at once (one per core): a flood of sign-ins
//! queues for a slot, briefly, and past [`QUEUE_PER_SLOT`] waiting per slot, or [`WAIT`], is answered
//! `Error::Overloaded` at once. Memory for hashing stays at `concurrency() × 19 MiB` whatever arrives.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::{Error, Result};

fn hasher() -> Argon2<'static> {
    // The parameters are constants inside argon2's valid ranges, so this cannot fail.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A hash of a random password, verified against when the account does not exist so that an unknown e-mail costs the
/// same time as a wrong password.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    hash_blocking("no account has this password, it is only for timing").unwrap_or_default()
});

fn hash_blocking(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal(format!("password hashing failed: {e}")))
}

fn verify_blocking(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// How many hashes may run at once: the machine's parallelism.
pub fn concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// How many may wait for a slot, per slot, before the next is refused outright.
pub const QUEUE_PER_SLOT: usize = 8;
/// How long one waits for a slot before it is refused.
pub const WAIT: Duration = Duration::from_secs(3);

static SLOTS: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(concurrency()));
static WAITING: AtomicUsize = AtomicUsize::new(0);
static RUNNING: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// The most hashes that have run at one time in this process.
pub fn peak_running() -> usize {
    PEAK.load(Ordering::Relaxed)
}

fn overloaded() -> Error {
    Error::Overloaded {
        retry_after_secs: 1,
    }
}

/// A slot to hash in, or `Overloaded`.
async fn slot() -> Result<SemaphorePermit<'static>> {
    if let Ok(permit) = SLOTS.try_acquire() {
        return Ok(permit);
    }
    if WAITING.fetch_add(1, Ordering::AcqRel) >= concurrency() * QUEUE_PER_SLOT {
        WAITING.fetch_sub(1, Ordering::AcqRel);
        return Err(overloaded());
    }
    let waited = tokio::time::timeout(WAIT, SLOTS.acquire()).await;
    WAITING.fetch_sub(1, Ordering::AcqRel);
    match waited {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(overloaded()),
    }
}

/// Runs `work` on the blocking pool while holding a slot.
async fn in_slot<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let permit = slot().await?;
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let now = RUNNING.fetch_add(1, Ordering::AcqRel) + 1;
        PEAK.fetch_max(now, Ordering::AcqRel);
        let out = span.in_scope(work);
        RUNNING.fetch_sub(1, Ordering::AcqRel);
        out
    })
    .await
    .map_err(Error::internal_from)
}

/// Hashes a password with argon2id and a fresh salt (PHC string).
pub async fn hash(password: &crate::domain::Password) -> Result<String> {
    let password = password.expose().to_owned();
    in_slot(move || hash_blocking(&password)).await?
}

/// Checks a password against a stored hash; with no stored hash, does the same work and answers false.
pub async fn verify(password: &str, stored: Option<&str>) -> Result<bool> {
    let password = password.to_owned();
    let (stored, real) = match stored {
        Some(h) => (h.to_owned(), true),
        None => (DUMMY_HASH.clone(), false),
    };
    let ok = in_slot(move || verify_blocking(&password, &stored)).await?;
    Ok(ok && real)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Password;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashes_are_argon2id_salted_verify_and_run_a_bounded_number_at_once() {
        let p = Password::parse("correct horse battery").unwrap();
        let h1 = hash(&p).await.unwrap();
        let h2 = hash(&p).await.unwrap();
        assert!(h1.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h1}");
        assert_ne!(h1, h2, "every hash has its own salt");
        assert!(verify("correct horse battery", Some(&h1)).await.unwrap());
        assert!(!verify("wrong horse battery", Some(&h1)).await.unwrap());
        assert!(!verify("correct horse battery", None).await.unwrap());
        assert!(!verify("x", Some("not a hash")).await.unwrap());

        // A flood far past the queue (one test, so no other hashing of this binary runs meanwhile): at most
        // `concurrency()` hashes run at once, and the rest wait their turn or are refused with a retry, none lost.
        let flood = concurrency() * (QUEUE_PER_SLOT + 1) + 32;
        let tries: Vec<_> = (0..flood)
            .map(|_| {
                let h1 = h1.clone();
                tokio::spawn(async move { verify("wrong horse battery", Some(&h1)).await })
            })
            .collect();
        let (mut checked, mut refused) = (0, 0);
        for t in tries {
            match t.await.unwrap() {
                Ok(false) => checked += 1,
                Err(Error::Overloaded { retry_after_secs }) if retry_after_secs > 0 => refused += 1,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(checked + refused, flood);
        assert!(
            refused > 0,
            "a flood past the queue is refused, not queued without bound"
        );
        assert!(
            checked >= concurrency() * QUEUE_PER_SLOT,
            "the queue is served: {checked}"
        );
        assert!(peak_running() <= concurrency(), "peak {}", peak_running());
        // Once the flood has passed, hashing answers again.
        assert!(verify("correct horse battery", Some(&h1)).await.unwrap());
    }
}
