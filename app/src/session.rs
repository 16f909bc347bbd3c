//! Browser sessions: who is signed in and which workspace they act in. Used by the server functions here and by the
//! REST handlers of the server crate, so the server functions and the REST API build a `Scope` the same way.

use std::net::SocketAddr;

use clearview::domain::{OrgId, Role, UserId};
use clearview::services::{Scope, organizations};
use clearview::{Error, Result};
use http::request::Parts;
use sqlx::PgPool;
use time::OffsetDateTime;
use tower_sessions::Session;

use crate::state::WebConfig;

const USER: &str = "user_id";
const ORG: &str = "org_id";
/// The role last read for the session's workspace, as `(org, role)`: valid only while `ORG` names that workspace.
/// Every member transaction confirms it (D-014), so the request needs no query of its own to learn it.
const ROLE: &str = "role_in";
/// The response header by which a request tells the session layer that its remembered role no longer holds.
pub const SCOPE_CHANGED_HEADER: &str = "x-clearview-scope-changed";
const SIGNED_IN_AT: &str = "signed_in_at";
const SEEN_AT: &str = "seen_at";

fn store_err(e: tower_sessions::session::Error) -> Error {
    Error::internal(format!("session store: {e}"))
}

/// Signs a person in: a new session id (so a fixated id is worthless), then who they are and where they work.
pub async fn establish(session: &Session, user: UserId, org: Option<(OrgId, Role)>) -> Result<()> {
    session.cycle_id().await.map_err(store_err)?;
    session.insert(USER, user).await.map_err(store_err)?;
    session
        .insert(ORG, org.map(|(o, _)| o))
        .await
        .map_err(store_err)?;
    if let Some(role_in) = org {
        session.insert(ROLE, role_in).await.map_err(store_err)?;
    }
    session
        .insert(SIGNED_IN_AT, OffsetDateTime::now_utc().unix_timestamp())
        .await
        .map_err(store_err)?;
    Ok(())
}

/// Signs a verified person in and returns their workspaces; the first becomes the session's current one.
pub async fn sign_in(
    session: &Session,
    pool: &PgPool,
    user: UserId,
) -> Result<Vec<clearview::model::Membership>> {
    let memberships = organizations::memberships(pool, user).await?;
    establish(session, user, memberships.first().map(|m| (m.id, m.role))).await?;
    Ok(memberships)
}

/// Signs a person in by e-mail address and password, as the sign-in form and `POST /api/auth/login` both do: the
/// attempt counts against the address and the client (`client_ip`), and a right password gets a fresh session id.
/// Returns the person and their workspaces.
pub async fn sign_in_with_password(
    session: &Session,
    pool: &PgPool,
    config: &WebConfig,
    parts: &Parts,
    email: &str,
    password: &str,
) -> Result<(clearview::model::User, Vec<clearview::model::Membership>)> {
    let ip = client_ip(parts, config);
    let user =
        clearview::services::users::authenticate(pool, email, password, ip.as_deref()).await?;
    let memberships = sign_in(session, pool, user.id).await?;
    Ok((user, memberships))
}

/// Signs out: the session row is deleted, so a replayed cookie finds nothing.
pub async fn destroy(session: &Session) -> Result<()> {
    session.flush().await.map_err(store_err)
}

/// The signed-in person, if the session is alive; past the absolute lifetime it is destroyed.
pub async fn user(session: &Session, config: &WebConfig) -> Result<Option<UserId>> {
    let Some(user) = session.get::<UserId>(USER).await.map_err(store_err)? else {
        return Ok(None);
    };
    let signed_in_at = session
        .get::<i64>(SIGNED_IN_AT)
        .await
        .map_err(store_err)?
        .unwrap_or(0);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    if now - signed_in_at > config.session_absolute_secs {
        destroy(session).await?;
        return Ok(None);
    }
    // The idle expiry moves only when the session is saved: save a session in use now and then, so "signed out after
    // so long without a request" holds for people who keep working.
    let seen_at = session
        .get::<i64>(SEEN_AT)
        .await
        .map_err(store_err)?
        .unwrap_or(signed_in_at);
    if now - seen_at >= config.session_touch_secs {
        session.insert(SEEN_AT, now).await.map_err(store_err)?;
    }
    Ok(Some(user))
}

/// The workspace scope of the signed-in person: the session's current workspace, or their first one if that
/// membership has ended. `Unauthenticated` without a live session; `NotFound` for a person with no workspace.
///
/// The role comes from the session when it holds one for that workspace: no query. Every member transaction confirms
/// it before reading anything (D-014); when it no longer holds, that request answers `ScopeChanged`, the session
/// forgets the role ([`forget_role`]) and the next request reads the membership again here.
pub async fn scope(
    session: &Session,
    pool: &PgPool,
    config: &WebConfig,
    request_id: Option<String>,
) -> Result<Scope> {
    let mut scope = workspace_scope(session, pool, config, request_id).await?;
    scope.session = key(session);
    Ok(scope)
}

/// The signed-in person's scope in `org`, a workspace a request names, without making it the session's current one.
/// `Unauthenticated` without a live session, `NotFound` unless they are a member of it.
pub async fn scope_in(
    session: &Session,
    pool: &PgPool,
    config: &WebConfig,
    org: OrgId,
    request_id: Option<String>,
) -> Result<Scope> {
    let user = user(session, config).await?.ok_or(Error::Unauthenticated)?;
    let remembered = session
        .get::<(OrgId, Role)>(ROLE)
        .await
        .map_err(store_err)?
        .filter(|(o, _)| *o == org);
    let mut scope = match remembered {
        Some((_, role)) => Scope {
            org_id: org,
            user_id: user,
            role,
            request_id,
            session: None,
        },
        None => organizations::scope_for(pool, user, org, request_id).await?,
    };
    scope.session = key(session);
    Ok(scope)
}

/// [`scope`], before the session's key is added.
async fn workspace_scope(
    session: &Session,
    pool: &PgPool,
    config: &WebConfig,
    request_id: Option<String>,
) -> Result<Scope> {
    let user = user(session, config).await?.ok_or(Error::Unauthenticated)?;
    if let Some(org) = session
        .get::<Option<OrgId>>(ORG)
        .await
        .map_err(store_err)?
        .flatten()
    {
        if let Some((remembered, role)) = session
            .get::<(OrgId, Role)>(ROLE)
            .await
            .map_err(store_err)?
            && remembered == org
        {
            return Ok(Scope {
                org_id: org,
                user_id: user,
                role,
                request_id,
                session: None,
            });
        }
        match organizations::scope_for(pool, user, org, request_id.clone()).await {
            Err(Error::NotFound) => {}
            Ok(scope) => {
                remember(session, &scope).await?;
                return Ok(scope);
            }
            Err(e) => return Err(e),
        }
    }
    let first = organizations::memberships(pool, user)
        .await?
        .into_iter()
        .next()
        .ok_or(Error::NotFound)?;
    let scope = Scope {
        org_id: first.id,
        user_id: user,
        role: first.role,
        request_id,
        session: None,
    };
    remember(session, &scope).await?;
    Ok(scope)
}

/// The session's key for the member transactions to confirm (D-018): the server caches the sessions it has read, so
/// a session signed out through another server is caught there. `None` for a session not stored yet (signing in).
fn key(session: &Session) -> Option<clearview::db::SessionKey> {
    session
        .id()
        .and_then(|id| clearview::db::SessionKey::new(&id.to_string()))
}

/// Makes the scope's workspace and role the session's own.
async fn remember(session: &Session, scope: &Scope) -> Result<()> {
    session
        .insert(ORG, Some(scope.org_id))
        .await
        .map_err(store_err)?;
    session
        .insert(ROLE, (scope.org_id, scope.role))
        .await
        .map_err(store_err)
}

/// Whether the session remembers a role (for whichever workspace).
pub async fn remembers_role(session: &Session) -> bool {
    matches!(session.get::<(OrgId, Role)>(ROLE).await, Ok(Some(_)))
}

/// Forgets the remembered role, after a request found it no longer holds.
pub async fn forget_role(session: &Session) -> Result<()> {
    session
        .remove_value(ROLE)
        .await
        .map(|_| ())
        .map_err(store_err)
}

/// Makes `org` the session's workspace after checking the membership (`NotFound` otherwise).
pub async fn switch(
    session: &Session,
    pool: &PgPool,
    config: &WebConfig,
    org: OrgId,
) -> Result<Scope> {
    let user = user(session, config).await?.ok_or(Error::Unauthenticated)?;
    let mut scope = organizations::scope_for(pool, user, org, None).await?;
    scope.session = key(session);
    remember(session, &scope).await?;
    Ok(scope)
}

/// The request id set by the server's request-id layer.
pub fn request_id(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        // The server makes a UUID when the client sends none; a client's own id is kept (in the audit log) only when
        // it is short.
        .filter(|id| id.len() <= MAX_REQUEST_ID)
        .map(str::to_owned)
}

/// The longest `X-Request-Id` kept: a UUID and then some.
pub const MAX_REQUEST_ID: usize = 128;

/// The client's address for throttling: the socket peer, or the first `X-Forwarded-For` hop behind a trusted proxy.
pub fn client_ip(parts: &Parts, config: &WebConfig) -> Option<String> {
    let forwarded = || {
        let first = parts
            .headers
            .get("x-forwarded-for")?
            .to_str()
            .ok()?
            .split(',')
            .next()?
            .trim();
        (!first.is_empty()).then(|| first.to_owned())
    };
    if config.trust_proxy_headers
        && let Some(ip) = forwarded()
    {
        return Some(ip);
    }
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}
