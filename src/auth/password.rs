//! argon2id password hashing (OWASP minimum: m = 19 MiB, t = 2, p = 1), run off the async executor.

use std::sync::LazyLock;

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

/// Hashes a password with argon2id and a fresh salt (PHC string).
pub async fn hash(password: &crate::domain::Password) -> Result<String> {
    let password = password.expose().to_owned();
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(|| hash_blocking(&password)))
        .await
        .map_err(Error::internal_from)?
}

/// Checks a password against a stored hash; with no stored hash, does the same work and answers false.
pub async fn verify(password: &str, stored: Option<&str>) -> Result<bool> {
    let password = password.to_owned();
    let (stored, real) = match stored {
        Some(h) => (h.to_owned(), true),
        None => (DUMMY_HASH.clone(), false),
    };
    let span = tracing::Span::current();
    let ok =
        tokio::task::spawn_blocking(move || span.in_scope(|| verify_blocking(&password, &stored)))
            .await
            .map_err(Error::internal_from)?;
    Ok(ok && real)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Password;

    #[tokio::test]
    async fn hashes_are_argon2id_salted_and_verify() {
        let p = Password::parse("correct horse battery").unwrap();
        let h1 = hash(&p).await.unwrap();
        let h2 = hash(&p).await.unwrap();
        assert!(h1.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h1}");
        assert_ne!(h1, h2, "every hash has its own salt");
        assert!(verify("correct horse battery", Some(&h1)).await.unwrap());
        assert!(!verify("wrong horse battery", Some(&h1)).await.unwrap());
        assert!(!verify("correct horse battery", None).await.unwrap());
        assert!(!verify("x", Some("not a hash")).await.unwrap());
    }
}
