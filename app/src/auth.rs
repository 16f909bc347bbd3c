//! Sign-up, sign-in, sign-out and the workspace switcher: server functions over the same services as `/api/auth/*`.

use clearview::domain::{OrgId, Role};
use clearview::model::{Membership, Organization, User};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// The signed-in person as the app shell shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub user: User,
    pub organization: Organization,
    pub role: Role,
    pub organizations: Vec<Membership>,
}

/// What the shell says to a signed-in person who belongs to no workspace.
pub const NO_WORKSPACE: &str = "You are not a member of any workspace.";

/// Only same-site paths are followed after sign-in, never another origin.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => {
            n.to_owned()
        }
        _ => "/contacts".to_owned(),
    }
}

#[cfg(feature = "ssr")]
pub(crate) async fn load_me(cx: &crate::ctx::Ctx) -> Result<Option<Me>, ApiError> {
    use clearview::services::{organizations, users};
    // Not signed in (or in no workspace any more) is an answer here, not an error.
    let scope = match crate::session::scope(
        &cx.session,
        &cx.state.pool,
        &cx.state.config,
        cx.request_id(),
    )
    .await
    {
        Ok(scope) => scope,
        Err(clearview::Error::Unauthenticated) => return Ok(None),
        // Signed in, but in no workspace (they left it, were removed, or deleted it): the shell offers to create one.
        // Built here rather than converted, so the page keeps its 200.
        Err(clearview::Error::NotFound) => {
            return Err(ApiError {
                code: crate::error::ErrorCode::NotFound,
                message: NO_WORKSPACE.into(),
                fields: Default::default(),
                status: 200,
            });
        }
        Err(e) => return Err(e.into()),
    };
    let pool = &cx.state.pool;
    // The first member transaction confirms the session (D-018): one signed out through another server while this
    // one had it cached ends here, like any other, and its cookie goes.
    let organization = match organizations::get(pool, &scope).await {
        Err(clearview::Error::Unauthenticated) => {
            crate::session::destroy(&cx.session).await?;
            return Ok(None);
        }
        other => other?,
    };
    let user = users::get(pool, scope.user_id).await?;
    let organizations = organizations::memberships(pool, scope.user_id).await?;
    Ok(Some(Me {
        user,
        organization,
        role: scope.role,
        organizations,
    }))
}

/// The signed-in person, or `None`.
#[server(prefix = "/fn")]
pub async fn get_me() -> Result<Option<Me>, ApiError> {
    let cx = crate::ctx::Ctx::load()?;
    load_me(&cx).await
}

#[server(prefix = "/fn")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), ApiError> {
    let cx = crate::ctx::Ctx::load()?;
    let pool = &cx.state.pool;
    let ip = crate::session::client_ip(&cx.parts, &cx.state.config);
    let user =
        clearview::services::users::authenticate(pool, &email, &password, ip.as_deref()).await?;
    crate::session::sign_in(&cx.session, pool, user.id).await?;
    leptos_axum::redirect(&safe_next(next.as_deref()));
    Ok(())
}

#[server(prefix = "/fn")]
pub async fn signup(
    email: String,
    password: String,
    name: String,
    organization_name: String,
) -> Result<(), ApiError> {
    use clearview::model::SignupInput;
    use clearview::services::users;
    let cx = crate::ctx::Ctx::load()?;
    let input = SignupInput {
        email,
        password,
        name,
        organization_name,
    };
    let outcome = cx.finish(users::signup(&cx.state.pool, &input, cx.request_id()).await?);
    crate::session::establish(
        &cx.session,
        outcome.user.id,
        Some((outcome.organization.id, clearview::domain::Role::Admin)),
    )
    .await?;
    leptos_axum::redirect("/contacts");
    Ok(())
}

#[server(prefix = "/fn")]
pub async fn logout() -> Result<(), ApiError> {
    let cx = crate::ctx::Ctx::load()?;
    crate::session::destroy(&cx.session).await?;
    leptos_axum::redirect("/login");
    Ok(())
}

#[server(prefix = "/fn")]
pub async fn switch_workspace(organization_id: OrgId) -> Result<(), ApiError> {
    let cx = crate::ctx::Ctx::load()?;
    crate::session::switch(
        &cx.session,
        &cx.state.pool,
        &cx.state.config,
        organization_id,
    )
    .await?;
    leptos_axum::redirect("/contacts");
    Ok(())
}

#[server(prefix = "/fn")]
pub async fn create_workspace(name: String) -> Result<(), ApiError> {
    let cx = crate::ctx::Ctx::load()?;
    // The signed-in person, whether or not they are in a workspace now.
    let user = crate::session::user(&cx.session, &cx.state.config)
        .await?
        .ok_or(clearview::Error::Unauthenticated)?;
    let created = cx.finish(
        clearview::services::organizations::create(&cx.state.pool, user, &name, cx.request_id())
            .await?,
    );
    crate::session::switch(&cx.session, &cx.state.pool, &cx.state.config, created.id).await?;
    leptos_axum::redirect("/settings");
    Ok(())
}
