//! Server functions of the workspace settings: members, invitations, mail, the workspace itself; and the invitation
//! link's page. Each calls the same service as its `/api/organizations/*` route.

use clearview::domain::{Role, UserId};
use clearview::model::{Invite, InvitePreview, Job, JobStatus, Member};
use leptos::prelude::*;
use uuid::Uuid;

use crate::error::ApiError;

/// Everyone in the workspace.
#[server(prefix = "/fn")]
pub async fn list_members() -> Result<Vec<Member>, ApiError> {
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    Ok(clearview::services::members::list(&cx.state.pool, &scope).await?)
}

#[server(prefix = "/fn")]
pub async fn set_member_role(user_id: UserId, role: Role) -> Result<(), ApiError> {
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    cx.finish(clearview::services::members::set_role(&cx.state.pool, &scope, user_id, role).await?);
    Ok(())
}

/// Removes a member, or leaves the workspace when `user_id` is one's own (then the app opens another workspace, or
/// the page to create one).
#[server(prefix = "/fn")]
pub async fn remove_member(user_id: UserId) -> Result<(), ApiError> {
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    cx.finish(clearview::services::members::remove(&cx.state.pool, &scope, user_id).await?);
    if user_id == scope.user_id {
        crate::session::forget_role(&cx.session).await?;
        leptos_axum::redirect("/contacts");
    }
    Ok(())
}

/// The workspace's open invitations (admins).
#[server(prefix = "/fn")]
pub async fn list_invites() -> Result<Vec<Invite>, ApiError> {
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    Ok(clearview::services::invites::list(&cx.state.pool, &scope).await?)
}

#[server(prefix = "/fn")]
pub async fn invite_member(email: String, role: String) -> Result<Invite, ApiError> {
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    let input = clearview::model::InviteInput { email, role };
    Ok(cx.finish(
        clearview::services::invites::create(&cx.state.pool, &scope, &cx.state.links, &input)
            .await?,
    ))
}

#[server(prefix = "/fn")]
pub async fn resend_invite(id: Uuid) -> Result<(), ApiError> {
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    cx.finish(
        clearview::services::invites::resend(&cx.state.pool, &scope, &cx.state.links, id).await?,
    );
    Ok(())
}

#[server(prefix = "/fn")]
pub async fn revoke_invite(id: Uuid) -> Result<(), ApiError> {
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    cx.finish(clearview::services::invites::revoke(&cx.state.pool, &scope, id).await?);
    Ok(())
}

/// The workspace's mail that is not done: queued, being sent, or dead (admins).
#[server(prefix = "/fn")]
pub async fn list_jobs(status: Option<JobStatus>) -> Result<Vec<Job>, ApiError> {
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    Ok(clearview::jobs::list(&cx.state.pool, &scope, status).await?)
}

#[server(prefix = "/fn")]
pub async fn retry_job(id: Uuid) -> Result<(), ApiError> {
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    cx.finish(clearview::jobs::retry(&cx.state.pool, &scope, id).await?);
    Ok(())
}

/// Whether mail is kept in the dev mailbox (no SMTP server configured), so the pages can point there.
#[server(prefix = "/fn")]
pub async fn dev_mailbox_enabled() -> Result<bool, ApiError> {
    Ok(crate::state::app_state()?.dev_mailbox.is_some())
}

#[server(prefix = "/fn")]
pub async fn rename_workspace(name: String) -> Result<(), ApiError> {
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    cx.finish(clearview::services::organizations::rename(&cx.state.pool, &scope, &name).await?);
    Ok(())
}

/// Deletes the workspace once `confirm` is its name; the session moves to another workspace, if any.
#[server(prefix = "/fn")]
pub async fn delete_workspace(confirm: String) -> Result<(), ApiError> {
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    cx.finish(clearview::services::organizations::delete(&cx.state.pool, &scope, &confirm).await?);
    crate::session::forget_role(&cx.session).await?;
    leptos_axum::redirect("/contacts");
    Ok(())
}

/// What an invitation link invites to, and who is signed in now (their e-mail), if anyone.
#[server(prefix = "/fn")]
pub async fn preview_invite(token: String) -> Result<(InvitePreview, Option<String>), ApiError> {
    let cx = crate::ctx::Ctx::load()?;
    let preview =
        clearview::services::invites::preview(&cx.state.pool, &cx.state.links, &token).await?;
    let signed_in = match crate::session::user(&cx.session, &cx.state.config).await? {
        Some(user) => Some(
            clearview::services::users::get(&cx.state.pool, user)
                .await?
                .email,
        ),
        None => None,
    };
    Ok((preview, signed_in))
}

/// Accepts an invitation (see `invites::accept`) and opens its workspace.
#[server(prefix = "/fn")]
pub async fn accept_invite(
    token: String,
    #[server(default)] name: String,
    #[server(default)] password: String,
) -> Result<(), ApiError> {
    use clearview::services::invites::{self, Accepting};
    let cx = crate::ctx::Ctx::load()?;
    let input = clearview::model::AcceptInput {
        token,
        name,
        password,
    };
    let ip = crate::session::client_ip(&cx.parts, &cx.state.config);
    let signed_in = crate::session::user(&cx.session, &cx.state.config).await?;
    let who = Accepting::from_request(signed_in, &input, ip.as_deref());
    let accepted = cx.finish(
        invites::accept(
            &cx.state.pool,
            &cx.state.links,
            &input.token,
            who,
            cx.request_id(),
        )
        .await?,
    );
    let m = &accepted.membership;
    crate::session::establish(&cx.session, accepted.user.id, Some((m.id, m.role))).await?;
    leptos_axum::redirect("/contacts");
    Ok(())
}
