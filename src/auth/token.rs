//! Invitation links: a signed, expiring JWT (HS256, keyed by the server's [`SecretKey`]). The database keeps only the
//! token's SHA-256, so a link works only while its invitation row still names it: re-sending replaces it, accepting
//! or revoking ends it.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::OrgId;

/// The audience of invitation tokens: a token signed for anything else is not an invitation.
const INVITE_AUDIENCE: &str = "clearview:invite";

/// The key that signs invitation links. Its `Debug` hides it.
#[derive(Clone)]
pub struct SecretKey(Vec<u8>);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    /// The least key length accepted, in bytes.
    pub const MIN_LEN: usize = 32;

    /// A key of `bytes`; `None` when shorter than [`SecretKey::MIN_LEN`].
    pub fn from_bytes(bytes: Vec<u8>) -> Option<Self> {
        (bytes.len() >= Self::MIN_LEN).then_some(Self(bytes))
    }

    /// A fresh random key of 32 bytes.
    pub fn generate() -> Self {
        use rand::RngCore;
        let mut bytes = vec![0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// The key as hex digits, as the embedded default stores it.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The invitation's id.
    sub: Uuid,
    org: Uuid,
    aud: String,
    exp: i64,
    iat: i64,
    /// Makes every link of one invitation a different token (and so a different hash).
    jti: Uuid,
}

/// What a valid invitation token names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InviteClaims {
    pub invite: Uuid,
    pub org: OrgId,
}

/// Why a token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Well signed, but past its expiry.
    Expired,
    /// Not a token this server signed for an invitation: malformed, tampered or signed with another key.
    Invalid,
}

/// Signs a link for `invite` of `org`, valid until `expires_at`.
pub fn sign_invite(
    key: &SecretKey,
    invite: Uuid,
    org: OrgId,
    expires_at: OffsetDateTime,
) -> crate::Result<String> {
    let claims = Claims {
        sub: invite,
        org: org.0,
        aud: INVITE_AUDIENCE.to_owned(),
        exp: expires_at.unix_timestamp(),
        iat: OffsetDateTime::now_utc().unix_timestamp(),
        jti: Uuid::new_v4(),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&key.0),
    )
    .map_err(crate::Error::internal_from)
}

/// Checks a link's signature, audience and expiry (no leeway).
pub fn verify_invite(key: &SecretKey, token: &str) -> Result<InviteClaims, TokenError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&[INVITE_AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "aud", "sub"]);
    validation.leeway = 0;
    match jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(&key.0), &validation) {
        Ok(data) => Ok(InviteClaims {
            invite: data.claims.sub,
            org: OrgId(data.claims.org),
        }),
        Err(e) if matches!(e.kind(), ErrorKind::ExpiredSignature) => Err(TokenError::Expired),
        Err(_) => Err(TokenError::Invalid),
    }
}

/// The SHA-256 of a token, as the invitation row stores it.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_with_its_key_only_and_not_after_expiry() {
        let key = SecretKey::generate();
        let org = OrgId(Uuid::now_v7());
        let invite = Uuid::now_v7();
        let later = OffsetDateTime::now_utc() + time::Duration::days(7);
        let token = sign_invite(&key, invite, org, later).unwrap();
        assert_eq!(
            verify_invite(&key, &token),
            Ok(InviteClaims { invite, org })
        );
        assert_eq!(
            verify_invite(&SecretKey::generate(), &token),
            Err(TokenError::Invalid)
        );
        let mut tampered = token.clone();
        tampered.insert(tampered.len() / 2, 'x');
        assert_eq!(verify_invite(&key, &tampered), Err(TokenError::Invalid));
        let past = OffsetDateTime::now_utc() - time::Duration::seconds(1);
        let expired = sign_invite(&key, invite, org, past).unwrap();
        assert_eq!(verify_invite(&key, &expired), Err(TokenError::Expired));
        assert_ne!(
            token_hash(&token),
            token_hash(&sign_invite(&key, invite, org, later).unwrap()),
            "two links of one invitation differ"
        );
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(SecretKey::from_bytes(vec![1; 31]).is_none());
        assert!(SecretKey::from_bytes(vec![1; 32]).is_some());
    }
}
