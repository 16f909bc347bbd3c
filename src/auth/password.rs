//! argon2id password hashing (OWASP minimum: m = 19 MiB, t = 2, p = 1), run off the async executor on a few threads of
//! its own.
//!
//! Each hash holds 19 MiB while it runs, so at most [`concurrency`] run at once (one per core): a flood of sign-ins
//! queues for a slot, briefly, and past [`QUEUE_PER_SLOT`] waiting per slot, or [`WAIT`], is answered
//! `Error::Overloaded` at once. Each hashing thread reuses one working memory, so memory for hashing stays at
//! `concurrency() × 19 MiB` whatever arrives.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

use argon2::password_hash::{
    self, Output, ParamsString, PasswordHash, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::{Error, Result};

fn params() -> Params {
    // The parameters are constants inside argon2's valid ranges, so this cannot fail.
    Params::new(19 * 1024, 2, 1, None).unwrap_or_default()
}

/// A hash of a random password, verified against when the account does not exist so that an unknown e-mail costs the
/// same time as a wrong password.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    hash_blocking("no account has this password, it is only for timing").unwrap_or_default()
});

thread_local! {
    /// The hashing thread's argon2 working memory (19 MiB), allocated on its first hash and reused by every one
    /// after: hashing allocates nothing per password, so its memory is `concurrency()` × 19 MiB, flat.
    static BLOCKS: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// argon2 of `password` and `salt` into `out`, in this thread's working memory.
fn argon2_into(
    params: &Params,
    algorithm: Algorithm,
    version: Version,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> std::result::Result<(), argon2::Error> {
    BLOCKS.with(|blocks| {
        let mut blocks = blocks.borrow_mut();
        if blocks.len() < params.block_count() {
            blocks.resize(params.block_count(), Block::default());
        }
        let n = params.block_count();
        Argon2::new(algorithm, version, params.clone()).hash_password_into_with_memory(
            password,
            salt,
            out,
            &mut blocks[..n],
        )
    })
}

fn hash_blocking(password: &str) -> Result<String> {
    let failed =
        |e: &dyn std::fmt::Display| Error::internal(format!("password hashing failed: {e}"));
    let params = params();
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_bytes)
        .map_err(|e| failed(&e))?;
    let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
        argon2_into(
            &params,
            Algorithm::Argon2id,
            Version::V0x13,
            password.as_bytes(),
            salt_bytes,
            out,
        )
        .map_err(|_| password_hash::Error::Crypto)
    })
    .map_err(|e| failed(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| failed(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Whether `password` is the one `hash` (a PHC string of any argon2 variant and parameters) was made from; the output
/// is compared in constant time.
fn verify_blocking(password: &str, hash: &str) -> bool {
    let check = || -> Option<bool> {
        let parsed = PasswordHash::new(hash).ok()?;
        let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
        let version = parsed
            .version
            .map_or(Some(Version::default()), |v| Version::try_from(v).ok())?;
        let params = Params::try_from(&parsed).ok()?;
        let expected = parsed.hash?;
        let mut salt = [0u8; 64];
        let salt = parsed.salt?.decode_b64(&mut salt).ok()?;
        let computed = Output::init_with(expected.len(), |out| {
            argon2_into(&params, algorithm, version, password.as_bytes(), salt, out)
                .map_err(|_| password_hash::Error::Crypto)
        })
        .ok()?;
        Some(computed == expected)
    };
    check().unwrap_or(false)
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

/// A piece of hashing work for one of the hashing threads.
type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads: [`concurrency`] of them, started on first use, each taking jobs from one queue and hashing in
/// its own reused working memory (`BLOCKS`). With argon2's allocating API on tokio's blocking pool, a flood of 1,000
/// sign-ins took the server from 41 MB to 431 MB resident, and it stayed there (freed 19 MiB blocks are kept by the
/// allocator per thread); on these threads, five floods of 500 at once left it at 104–106 MB (debug build, 2 cores).
static HASHERS: LazyLock<std::sync::mpsc::Sender<Job>> = LazyLock::new(|| {
    let (tx, rx) = std::sync::mpsc::channel::<Job>();
    let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
    for n in 0..concurrency() {
        let rx = rx.clone();
        let started = std::thread::Builder::new()
            .name(format!("argon2-{n}"))
            .spawn(move || {
                loop {
                    // The lock is held only while taking a job, not while running it.
                    let job = match rx.lock() {
                        Ok(queue) => queue.recv(),
                        Err(poisoned) => poisoned.into_inner().recv(),
                    };
                    match job {
                        // A job that panics loses its answer (its caller gets an error), not the thread.
                        Ok(job) => {
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                        }
                        Err(_) => return, // the process is ending
                    }
                }
            });
        if let Err(e) = started {
            tracing::error!(error = %e, "could not start a password hashing thread");
        }
    }
    tx
});

/// Runs `work` on a hashing thread while holding a slot.
async fn in_slot<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let permit = slot().await?;
    let span = tracing::Span::current();
    let (done, result) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _permit = permit;
        let now = RUNNING.fetch_add(1, Ordering::AcqRel) + 1;
        PEAK.fetch_max(now, Ordering::AcqRel);
        let out = span.in_scope(work);
        RUNNING.fetch_sub(1, Ordering::AcqRel);
        let _ = done.send(out);
    });
    HASHERS
        .send(job)
        .map_err(|_| Error::internal("the password hashing threads have stopped"))?;
    result
        .await
        .map_err(|_| Error::internal("a password hashing thread stopped mid-hash"))
}

/// Hashes a password with argon2id and a fresh salt (PHC string).
pub async fn hash(password: &crate::domain::Password) -> Result<String> {
    let password = password.expose().to_owned();
    in_slot(move || hash_blocking(&password)).await?
}

/// Checks a password against a stored hash; with no stored hash, does the same work and answers false.
pub async fn verify(password: &str, stored: Option<&str>) -> Result<bool> {
    let password = password.to_owned();
    let stored = stored.map(str::to_owned);
    // The dummy hash is made (once) on a hashing thread too, in its working memory.
    in_slot(move || match stored {
        Some(h) => verify_blocking(&password, &h),
        None => {
            // The same work as a real check, and never a match.
            std::hint::black_box(verify_blocking(&password, &DUMMY_HASH));
            false
        }
    })
    .await
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
        // Hashes made by argon2's own API (every hash stored before this module reused its memory) still verify.
        use argon2::PasswordHasher;
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
            .hash_password(b"correct horse battery", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert!(
            verify("correct horse battery", Some(&theirs))
                .await
                .unwrap()
        );
        assert!(!verify("wrong horse battery", Some(&theirs)).await.unwrap());

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
