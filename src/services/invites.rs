//! Invitations by e-mail (US-4). An admin invites an address with a role; the invitation row and its mail job commit
//! together (the outbox), and the mail carries a signed link that expires after [`VALID_FOR`]. The row keeps only the
//! link's hash: re-sending makes a new link and the old one stops working, so one invitation has one valid link.
//! Accepting ends it; so does revoking. Every refusal changes nothing.

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Done, Scope, Work};
use crate::auth::password;
use crate::auth::token::{self, SecretKey, TokenError};
use crate::db;
use crate::domain::{Role, UserId};
use crate::error::OnConstraint;
use crate::jobs::{self, Mail};
use crate::model::{
    AcceptInput, Invite, InviteInput, InvitePreview, InviteState, Membership, User, ValidInvite,
    ValidNewAccount,
};
use crate::policy::Action;
use crate::{Error, Result};

/// How long an invitation link works.
pub const VALID_FOR: time::Duration = time::Duration::days(7);

/// What invitation links need: the key that signs them and the address the app is reached at.
#[derive(Debug, Clone)]
pub struct Links {
    pub key: SecretKey,
    /// The app's origin, e.g. `https://crm.example.com` (no trailing slash).
    pub base_url: String,
}

impl Links {
    fn accept_url(&self, token: &str) -> String {
        format!(
            "{}/invite?token={token}",
            self.base_url.trim_end_matches('/')
        )
    }
}

/// Invites `input.email` with `input.role`. Inviting an address whose invitation is still open renews that one (new
/// role, new link, new expiry); inviting a member is a `Conflict` that changes nothing.
#[tracing::instrument(name = "invites::create", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn create(
    pool: &sqlx::PgPool,
    scope: &Scope,
    links: &Links,
    input: &InviteInput,
) -> Result<Done<Invite>> {
    scope.require(Action::ManageMembers)?;
    let valid = ValidInvite::parse(input)?;
    let mut work = scope.write(pool).await?;
    let member = sqlx::query_scalar!(
        "select exists (select 1 from memberships m join users u on u.id = m.user_id
                        where m.org_id = $1 and u.email = $2::citext)",
        scope.org_id.0,
        valid.email.as_str() as _,
    )
    .fetch_one(&mut **work)
    .await?;
    if member == Some(true) {
        return Err(Error::Conflict(format!(
            "{} is already a member of this workspace",
            valid.email.as_str()
        )));
    }
    let open = sqlx::query_scalar!(
        "select id from invites where org_id = $1 and email = $2::citext
           and accepted_at is null and revoked_at is null
         for update",
        scope.org_id.0,
        valid.email.as_str() as _,
    )
    .fetch_optional(&mut **work)
    .await?;
    let id = open.unwrap_or_else(Uuid::now_v7);
    let expires_at = OffsetDateTime::now_utc() + VALID_FOR;
    let link = token::sign_invite(&links.key, id, scope.org_id, expires_at)?;
    sqlx::query!(
        "insert into invites (id, org_id, email, role, invited_by, token_hash, expires_at)
         values ($1, $2, $3::citext, $4, $5, $6, $7)
         on conflict (id) do update
           set role = excluded.role, invited_by = excluded.invited_by, token_hash = excluded.token_hash,
               expires_at = excluded.expires_at, sent_at = now()",
        id,
        scope.org_id.0,
        valid.email.as_str() as _,
        valid.role.as_str(),
        scope.user_id.0,
        token::token_hash(&link),
        expires_at,
    )
    .execute(&mut **work)
    .await
    .on_constraint("invites_open_email_key", || {
        Error::Conflict("an invitation to this address is being sent right now".into())
    })?;
    work.audit(
        if open.is_some() {
            "invite.renewed"
        } else {
            "invite.created"
        },
        "invite",
        Some(id),
        serde_json::json!({"email": valid.email.as_str(), "role": valid.role}),
    )
    .await?;
    queue_mail(
        &mut work,
        links,
        &link,
        valid.email.as_str(),
        valid.role,
        expires_at,
    )
    .await?;
    let invite = get_in(&mut work, id).await?;
    work.finish(invite).await
}

/// The workspace's open invitations (pending or expired), newest first.
#[tracing::instrument(name = "invites::list", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn list(pool: &sqlx::PgPool, scope: &Scope) -> Result<Vec<Invite>> {
    scope.require(Action::ManageMembers)?;
    let mut tx = scope.read(pool).await?;
    let rows = sqlx::query_as!(
        InviteRow,
        r#"select i.id, i.email as "email!: String", i.role, i.sent_at, i.expires_at, i.accepted_at, i.revoked_at,
                  u.name as "invited_by?"
           from invites i
           left join memberships m on m.org_id = i.org_id and m.user_id = i.invited_by
           left join users u on u.id = m.user_id
           where i.org_id = $1 and i.accepted_at is null and i.revoked_at is null
           order by i.sent_at desc, i.id desc"#,
        scope.org_id.0
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows.into_iter().map(Invite::from).collect())
}

/// Sends an open invitation again with a new link (the old one stops working) and a new expiry.
#[tracing::instrument(name = "invites::resend", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn resend(
    pool: &sqlx::PgPool,
    scope: &Scope,
    links: &Links,
    id: Uuid,
) -> Result<Done<Invite>> {
    scope.require(Action::ManageMembers)?;
    let mut work = scope.write(pool).await?;
    let row = lock_open(&mut work, id).await?;
    let expires_at = OffsetDateTime::now_utc() + VALID_FOR;
    let link = token::sign_invite(&links.key, id, scope.org_id, expires_at)?;
    sqlx::query!(
        "update invites set token_hash = $2, expires_at = $3, sent_at = now() where id = $1",
        id,
        token::token_hash(&link),
        expires_at
    )
    .execute(&mut **work)
    .await?;
    work.audit(
        "invite.resent",
        "invite",
        Some(id),
        serde_json::json!({"email": row.0}),
    )
    .await?;
    queue_mail(&mut work, links, &link, &row.0, row.1, expires_at).await?;
    let invite = get_in(&mut work, id).await?;
    work.finish(invite).await
}

/// Withdraws an open invitation: its link stops working and says so.
#[tracing::instrument(name = "invites::revoke", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn revoke(pool: &sqlx::PgPool, scope: &Scope, id: Uuid) -> Result<Done<()>> {
    scope.require(Action::ManageMembers)?;
    let mut work = scope.write(pool).await?;
    let (email, _) = lock_open(&mut work, id).await?;
    sqlx::query!("update invites set revoked_at = now() where id = $1", id)
        .execute(&mut **work)
        .await?;
    work.audit(
        "invite.revoked",
        "invite",
        Some(id),
        serde_json::json!({"email": email}),
    )
    .await?;
    work.finish(()).await
}

/// What a link invites to, for the page that accepts it. Every link that cannot be accepted is an error that says
/// why: `NotFound` for one this server never signed or that a newer link replaced, `Conflict` for an expired, used or
/// withdrawn invitation.
#[tracing::instrument(name = "invites::preview", skip_all)]
pub async fn preview(pool: &sqlx::PgPool, links: &Links, link: &str) -> Result<InvitePreview> {
    let claims = verify(links, link)?;
    let mut tx = db::tenant(pool, claims.org, None).await?;
    let found = find(&mut tx, claims.invite, link).await?;
    let has_account = sqlx::query_scalar!(
        "select exists (select 1 from users where email = $1::citext)",
        found.email.as_str() as _
    )
    .fetch_one(&mut *tx)
    .await?
    .unwrap_or(false);
    tx.commit().await?;
    Ok(InvitePreview {
        organization: found.organization,
        email: found.email,
        role: found.role,
        has_account,
    })
}

/// Who accepts an invitation.
pub enum Accepting<'a> {
    /// The person signed in now: their account must be the invited address's.
    SignedIn(UserId),
    /// Nobody is signed in: the link's address gets a new account with `input`'s name and password, or, when it has
    /// one already, `input.password` must be its password.
    Anonymous {
        input: &'a AcceptInput,
        client_ip: Option<&'a str>,
    },
}

impl<'a> Accepting<'a> {
    /// Who accepts, as both front doors decide it: the signed-in person if there is one, else the form's account.
    pub fn from_request(
        signed_in: Option<UserId>,
        input: &'a AcceptInput,
        client_ip: Option<&'a str>,
    ) -> Self {
        match signed_in {
            Some(user) => Accepting::SignedIn(user),
            None => Accepting::Anonymous { input, client_ip },
        }
    }
}

/// What accepting an invitation did: who joined which workspace with which role.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub user: User,
    pub membership: Membership,
}

/// Accepts the invitation of `link`: the person joins its workspace with its role (with a new account if they had
/// none), and the link is used up.
#[tracing::instrument(name = "invites::accept", skip_all, err(Debug, level = "info"))]
pub async fn accept(
    pool: &sqlx::PgPool,
    links: &Links,
    link: &str,
    who: Accepting<'_>,
    request_id: Option<String>,
) -> Result<Done<Accepted>> {
    let claims = verify(links, link)?;
    let email = {
        let mut tx = db::tenant(pool, claims.org, None).await?;
        let found = find(&mut tx, claims.invite, link).await?;
        tx.commit().await?;
        found.email
    };
    let existing = sqlx::query!(
        r#"select id, email as "email!: String", name from users where email = $1::citext"#,
        email.as_str() as _
    )
    .fetch_optional(pool)
    .await?;
    // (the person, the new account's password hash): a password is hashed before any connection is held.
    let (user, new_account) = match (who, existing) {
        (Accepting::SignedIn(me), Some(u)) if u.id == me.0 => (
            User {
                id: me,
                email: u.email,
                name: u.name,
            },
            None,
        ),
        (Accepting::SignedIn(_), _) => {
            return Err(Error::Conflict(format!(
                "this invitation is for {email}: sign out, then open the link again"
            )));
        }
        (Accepting::Anonymous { input, client_ip }, Some(_)) => {
            let user = super::users::authenticate(pool, &email, &input.password, client_ip)
                .await
                .map_err(|e| match e {
                    Error::Unauthenticated => {
                        Error::field("password", "is not the password of this account")
                    }
                    other => other,
                })?;
            (user, None)
        }
        (Accepting::Anonymous { input, client_ip }, None) => {
            let account = ValidNewAccount::parse(input)?;
            let source = crate::auth::throttle::source(client_ip);
            let _counted = crate::auth::throttle::reserve(
                pool,
                &[crate::auth::throttle::Limit::new_account(&source)],
            )
            .await?;
            let hash = password::hash(&account.password).await?;
            let user = User {
                id: UserId::new(),
                email: email.clone(),
                name: account.name.to_string(),
            };
            (user, Some(hash))
        }
    };
    let mut tx = pool.begin().await?;
    if let Some(hash) = new_account {
        sqlx::query!(
            "insert into users (id, email, name, password_hash) values ($1, $2::citext, $3, $4)",
            user.id.0,
            email.as_str() as _,
            user.name,
            hash,
        )
        .execute(&mut *tx)
        .await
        .on_constraint("users_email_key", || {
            Error::Conflict(
                "an account for this address was just created: sign in to accept".into(),
            )
        })?;
    }
    db::enter(&mut tx, Some(claims.org), Some(user.id)).await?;
    let mut work = Work::new(
        tx,
        crate::db::Actor {
            org: claims.org,
            user: user.id,
            request_id,
        },
    );
    let found = find(&mut work, claims.invite, link).await?;
    sqlx::query!(
        "insert into memberships (org_id, user_id, role) values ($1, $2, $3)",
        claims.org.0,
        user.id.0,
        found.role.as_str()
    )
    .execute(&mut **work)
    .await
    .on_constraint("memberships_pkey", || {
        Error::Conflict(format!(
            "you are already a member of {}",
            found.organization
        ))
    })?;
    sqlx::query!(
        "update invites set accepted_at = now() where id = $1",
        claims.invite
    )
    .execute(&mut **work)
    .await?;
    work.audit(
        "invite.accepted",
        "invite",
        Some(claims.invite),
        serde_json::json!({"email": email}),
    )
    .await?;
    work.audit(
        "member.added",
        "membership",
        Some(user.id.0),
        serde_json::json!({"user_id": user.id, "role": found.role}),
    )
    .await?;
    tracing::info!(user.id = %user.id, org.id = %claims.org, "invitation accepted");
    work.finish(Accepted {
        user,
        membership: Membership {
            id: claims.org,
            name: found.organization,
            role: found.role,
        },
    })
    .await
}

/// The signed link's invitation, or why it is refused.
fn verify(links: &Links, link: &str) -> Result<token::InviteClaims> {
    token::verify_invite(&links.key, link.trim()).map_err(|e| match e {
        TokenError::Expired => Error::Conflict(
            "this invitation has expired: ask the workspace's admin to send it again".into(),
        ),
        TokenError::Invalid => Error::NotFound,
    })
}

struct Found {
    organization: String,
    email: String,
    role: Role,
}

/// The open invitation `id` whose current link is `link`, its row locked until the transaction ends (an accept reads
/// it again, locked, before it writes: it may have been used, revoked or re-sent since the first read).
async fn find(tx: &mut db::Tx, id: Uuid, link: &str) -> Result<Found> {
    let r = sqlx::query!(
        r#"select o.name as organization, i.email as "email!: String", i.role, i.token_hash, i.expires_at,
                  i.accepted_at, i.revoked_at
           from invites i join organizations o on o.id = i.org_id
           where i.id = $1
           for update of i"#,
        id
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound)?;
    check_open(
        r.token_hash == token::token_hash(link.trim()),
        r.accepted_at,
        r.revoked_at,
        r.expires_at,
    )?;
    Ok(Found {
        organization: r.organization,
        email: r.email,
        role: r.role.parse().unwrap_or(Role::Rep),
    })
}

fn check_open(
    current_link: bool,
    accepted_at: Option<OffsetDateTime>,
    revoked_at: Option<OffsetDateTime>,
    expires_at: OffsetDateTime,
) -> Result<()> {
    match state_of(
        accepted_at,
        revoked_at,
        expires_at,
        OffsetDateTime::now_utc(),
    ) {
        InviteState::Accepted => Err(Error::Conflict(
            "this invitation has already been used: sign in instead".into(),
        )),
        InviteState::Revoked => Err(Error::Conflict(
            "this invitation was withdrawn by the workspace's admin".into(),
        )),
        InviteState::Expired => Err(Error::Conflict(
            "this invitation has expired: ask the workspace's admin to send it again".into(),
        )),
        // A link the invitation no longer names was replaced by a newer one.
        InviteState::Pending if !current_link => Err(Error::Conflict(
            "this link was replaced by a newer one: use the latest invitation mail".into(),
        )),
        InviteState::Pending => Ok(()),
    }
}

fn state_of(
    accepted_at: Option<OffsetDateTime>,
    revoked_at: Option<OffsetDateTime>,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
) -> InviteState {
    if accepted_at.is_some() {
        InviteState::Accepted
    } else if revoked_at.is_some() {
        InviteState::Revoked
    } else if expires_at <= now {
        InviteState::Expired
    } else {
        InviteState::Pending
    }
}

/// Locks an open invitation of the unit's workspace: (email, role). `NotFound` outside it, `Conflict` once used or
/// withdrawn.
async fn lock_open(work: &mut Work, id: Uuid) -> Result<(String, Role)> {
    let r = sqlx::query!(
        r#"select email as "email!: String", role, accepted_at, revoked_at from invites
           where id = $1 and org_id = $2 for update"#,
        id,
        work.org().0
    )
    .fetch_optional(&mut ***work)
    .await?
    .ok_or(Error::NotFound)?;
    if r.accepted_at.is_some() {
        return Err(Error::Conflict("this invitation has been accepted".into()));
    }
    if r.revoked_at.is_some() {
        return Err(Error::Conflict("this invitation was withdrawn".into()));
    }
    Ok((r.email, r.role.parse().unwrap_or(Role::Rep)))
}

/// One invitation of the unit's workspace, as admins see it.
async fn get_in(work: &mut Work, id: Uuid) -> Result<Invite> {
    let row = sqlx::query_as!(
        InviteRow,
        r#"select i.id, i.email as "email!: String", i.role, i.sent_at, i.expires_at, i.accepted_at, i.revoked_at,
                  u.name as "invited_by?"
           from invites i
           left join memberships m on m.org_id = i.org_id and m.user_id = i.invited_by
           left join users u on u.id = m.user_id
           where i.id = $1"#,
        id
    )
    .fetch_one(&mut ***work)
    .await?;
    Ok(row.into())
}

/// An invitation as admins see it, with the name of who sent it.
struct InviteRow {
    id: Uuid,
    email: String,
    role: String,
    sent_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    accepted_at: Option<OffsetDateTime>,
    revoked_at: Option<OffsetDateTime>,
    invited_by: Option<String>,
}

impl From<InviteRow> for Invite {
    fn from(r: InviteRow) -> Self {
        Invite {
            id: r.id,
            email: r.email,
            role: r.role.parse().unwrap_or(Role::Rep),
            state: state_of(
                r.accepted_at,
                r.revoked_at,
                r.expires_at,
                OffsetDateTime::now_utc(),
            ),
            invited_by: r.invited_by,
            sent_at: r.sent_at,
            expires_at: r.expires_at,
        }
    }
}

/// Queues the invitation mail in the unit (it is sent only if the unit commits).
async fn queue_mail(
    work: &mut Work,
    links: &Links,
    link: &str,
    to: &str,
    role: Role,
    expires_at: OffsetDateTime,
) -> Result<()> {
    let names = sqlx::query!(
        "select o.name as organization, u.name as inviter
         from organizations o, users u where o.id = $1 and u.id = $2",
        work.org().0,
        work.user().0,
    )
    .fetch_one(&mut ***work)
    .await?;
    let date = expires_at
        .format(&time::format_description::well_known::Rfc2822)
        .map_err(Error::internal_from)?;
    let mail = Mail {
        to: to.to_owned(),
        subject: format!(
            "{} invited you to {} on Clearview",
            names.inviter, names.organization
        ),
        text: format!(
            "Hello,\n\n{inviter} invited you to join {org} on Clearview as a {role}.\n\n\
             Accept the invitation:\n{url}\n\n\
             The link works once, until {date}. If you did not expect this invitation, you can ignore this mail.\n",
            inviter = names.inviter,
            org = names.organization,
            role = role.label().to_lowercase(),
            url = links.accept_url(link),
        ),
    };
    work.enqueue(
        jobs::MAIL,
        serde_json::to_value(&mail).map_err(Error::internal_from)?,
    )
    .await?;
    Ok(())
}
