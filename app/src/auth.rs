//! Sign-up, sign-out and the workspace switcher: server functions over the same services as `/api/auth/*`. Sign-in
//! is a plain form the server answers itself (`SignInFailure`, D-026).

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

/// Where sign-in sends a person: `next` when it is a path of this site, else the contacts.
///
/// `next` is read the way a browser reads a link (WHATWG URL parsing against this origin): tabs and newlines anywhere
/// are dropped and `\` counts as `/`, so `/<TAB>/evil.example` and `/\evil.example` are other sites and refused. Any
/// other control character refuses it too. The answer is percent-encoded ASCII, always a valid `Location`.
#[cfg(feature = "ssr")]
pub fn safe_next(next: Option<&str>) -> String {
    const HOME: &str = "/contacts";
    let Some(next) = next else {
        return HOME.to_owned();
    };
    if next
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return HOME.to_owned();
    }
    let seen: String = next
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let seen = seen.trim_matches(' ');
    let mut chars = seen.chars();
    if chars.next() != Some('/') || matches!(chars.next(), Some('/' | '\\')) {
        return HOME.to_owned();
    }
    let Ok(base) = url::Url::parse("http://clearview.invalid/") else {
        return HOME.to_owned();
    };
    match base.join(seen) {
        Ok(url) if url.origin() == base.origin() => {
            let mut path = url.path().to_owned();
            if let Some(query) = url.query() {
                path.push('?');
                path.push_str(query);
            }
            if let Some(fragment) = url.fragment() {
                path.push('#');
                path.push_str(fragment);
            }
            path
        }
        _ => HOME.to_owned(),
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::safe_next;

    #[test]
    fn next_follows_only_paths_of_this_site_as_a_browser_reads_them() {
        for ok in ["/settings", "/contacts?q=ada#top", "/deals/1"] {
            assert_eq!(safe_next(Some(ok)), ok);
        }
        assert_eq!(safe_next(Some("/a b/é")), "/a%20b/%C3%A9");
        assert_eq!(safe_next(Some("/\tsettings")), "/settings");
        for away in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "\t//evil.example",
            " //evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "evil.example",
            "/\u{0}x",
            "/\u{1b}x",
            "/\u{7f}",
            "",
        ] {
            assert_eq!(safe_next(Some(away)), "/contacts", "{away:?}");
        }
        assert_eq!(safe_next(None), "/contacts");
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

/// A sign-in that did not succeed, as the sign-in page shows it again: the error (its message, and a field's) and the
/// e-mail address as it was typed (never the password). The server's sign-in handler puts it in the request it renders
/// the page for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInFailure {
    pub email: String,
    pub error: ApiError,
}

impl SignInFailure {
    /// The failure the page being rendered answers, if it answers one.
    #[cfg(feature = "ssr")]
    pub fn of_this_request() -> Option<Self> {
        use_context::<http::request::Parts>().and_then(|p| p.extensions.get::<Self>().cloned())
    }

    /// In the browser the sign-in page is only ever a fresh one: a form posted from it is answered by the server.
    #[cfg(not(feature = "ssr"))]
    pub fn of_this_request() -> Option<Self> {
        None
    }
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
    let ip = crate::session::client_ip(&cx.parts, &cx.state.config);
    let outcome = cx.finish(
        users::signup(
            &cx.state.pool,
            &input,
            cx.request_id(),
            users::Requester::Network(ip.as_deref()),
        )
        .await?,
    );
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
