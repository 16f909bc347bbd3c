//! People: sign-up, sign-in, profile.

use super::{Done, organizations};
use crate::auth::{password, throttle};
use crate::domain::{Role, UserId};
use crate::error::OnConstraint;
use crate::model::{Organization, SignupInput, SignupOutcome, User, ValidSignup};
use crate::{Error, Result};

/// Creates a person, their workspace (they are its admin) and its default pipeline, in one transaction.
#[tracing::instrument(skip_all, err(Debug, level = "info"))]
pub async fn signup(
    pool: &sqlx::PgPool,
    input: &SignupInput,
    request_id: Option<String>,
) -> Result<Done<SignupOutcome>> {
    let valid = ValidSignup::parse(input)?;
    let hash = password::hash(&valid.password).await?;
    let user = UserId::new();
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "insert into users (id, email, name, password_hash) values ($1, $2, $3, $4)",
        user.0,
        valid.email.as_str() as _,
        valid.name.as_str(),
        hash,
    )
    .execute(&mut *tx)
    .await
    .on_constraint("users_email_key", || {
        Error::field("email", "is already registered; sign in instead")
    })?;
    let (mut work, scope) =
        organizations::create_in(tx, user, &valid.organization_name, request_id).await?;
    work.audit(
        "user.signed_up",
        "user",
        Some(user.0),
        serde_json::json!({}),
    )
    .await?;
    let outcome = SignupOutcome {
        user: User {
            id: user,
            email: valid.email.to_string(),
            name: valid.name.to_string(),
        },
        organization: Organization {
            id: scope.org_id,
            name: valid.organization_name.to_string(),
        },
        role: Role::Admin,
    };
    let done = work.finish(outcome).await?;
    tracing::info!(user.id = %user, org.id = %scope.org_id, "signed up");
    Ok(done)
}

/// Checks an e-mail and password. Unknown e-mail and wrong password answer the same error after the same work;
/// failures are throttled per account and per client address.
#[tracing::instrument(skip_all, err(Debug, level = "info"))]
pub async fn authenticate(
    pool: &sqlx::PgPool,
    email: &str,
    password: &str,
    client_ip: Option<&str>,
) -> Result<User> {
    let mut limits = vec![throttle::Limit::account(email)];
    if let Some(ip) = client_ip {
        limits.push(throttle::Limit::address(ip));
    }
    throttle::check(pool, &limits).await?;
    let row = sqlx::query!(
        r#"select id, email as "email!: String", name, password_hash from users where email = $1::citext"#,
        email.trim() as _
    )
    .fetch_optional(pool)
    .await?;
    let ok = password::verify(password, row.as_ref().map(|r| r.password_hash.as_str())).await?;
    match row {
        Some(r) if ok => {
            throttle::clear(pool, &limits[0]).await?;
            Ok(User {
                id: UserId(r.id),
                email: r.email,
                name: r.name,
            })
        }
        _ => {
            throttle::record_failure(pool, &limits).await?;
            Err(Error::Unauthenticated)
        }
    }
}

/// A person by id.
#[tracing::instrument(name = "users::get", skip_all)]
pub async fn get(pool: &sqlx::PgPool, id: UserId) -> Result<User> {
    let row = sqlx::query!(
        r#"select id, email as "email!: String", name from users where id = $1"#,
        id.0
    )
    .fetch_optional(pool)
    .await?
    .ok_or(Error::Unauthenticated)?;
    Ok(User {
        id: UserId(row.id),
        email: row.email,
        name: row.name,
    })
}
