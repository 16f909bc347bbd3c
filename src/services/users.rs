//! People: sign-up, sign-in, profile.

use super::{Done, organizations};
use crate::auth::{password, throttle};
use crate::domain::{Role, UserId};
use crate::error::OnConstraint;
use crate::model::{Organization, SignupInput, SignupOutcome, User, ValidSignup};
use crate::{Error, Result};

/// Who asks for a new account.
#[derive(Debug, Clone, Copy)]
pub enum Requester<'a> {
    /// A client over the network, from this address (`None`: the server cannot tell).
    Network(Option<&'a str>),
    /// The operator: the command line, the demo seed.
    Operator,
}

/// Creates a person, their workspace (they are its admin) and its default pipeline, in one transaction.
///
/// A sign-up from the network is throttled per source ([`throttle::Limit::new_account`]); the operator's (the command
/// line, the demo seed) is not.
#[tracing::instrument(skip_all, err(Debug, level = "info"))]
pub async fn signup(
    pool: &sqlx::PgPool,
    input: &SignupInput,
    request_id: Option<String>,
    from: Requester<'_>,
) -> Result<Done<SignupOutcome>> {
    let valid = ValidSignup::parse(input)?;
    if let Requester::Network(ip) = from {
        // Not refundable: the attempt counts whether or not the account is made.
        let _counted =
            throttle::reserve(pool, &[throttle::Limit::new_account(&throttle::source(ip))]).await?;
    }
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

/// Checks an e-mail and password. Unknown e-mail and wrong password answer the same error after the same work.
/// Every attempt is counted before the password is checked, per account and source, per account and per source
/// (see [`throttle`]); one that succeeds is given back.
#[tracing::instrument(skip_all, err(Debug, level = "info"))]
pub async fn authenticate(
    pool: &sqlx::PgPool,
    email: &str,
    password: &str,
    client_ip: Option<&str>,
) -> Result<User> {
    // An address no account can have is refused before it costs an attempt or a query.
    if email.len() > crate::domain::EmailAddress::MAX_LEN || email.chars().any(char::is_control) {
        return Err(Error::field("email", "must be a valid address"));
    }
    let source = throttle::source(client_ip);
    let limits = throttle::signin_limits(pool, email, &source).await?;
    let reserved = throttle::reserve(pool, &limits).await?;
    let row = sqlx::query!(
        r#"select id, email as "email!: String", name, password_hash from users where email = $1::citext"#,
        email.trim() as _
    )
    .fetch_optional(pool)
    .await?;
    let ok = match password::verify(password, row.as_ref().map(|r| r.password_hash.as_str())).await
    {
        Ok(ok) => ok,
        Err(e) => {
            // Not checked (the server was too busy to hash): the attempt does not count.
            reserved.cancel(pool).await?;
            return Err(e);
        }
    };
    match row {
        Some(r) if ok => {
            reserved.succeeded(pool, email, &source).await?;
            Ok(User {
                id: UserId(r.id),
                email: r.email,
                name: r.name,
            })
        }
        _ => Err(Error::Unauthenticated),
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
