//! The people of a workspace: who they are, their roles, and leaving. A workspace always keeps at least one admin:
//! every change that would take away the last one is refused with `Conflict`, and the admins' rows are locked while
//! it is decided, so two admins demoting each other at once cannot both succeed.
//!
//! A removed member's contacts, deals and activities stay with the workspace with their owner (or author) cleared
//! (the tables' foreign keys set it to null); the audit log keeps who did what. Their next request in the workspace
//! finds no membership and acts elsewhere or nowhere (D-014).

use super::{Done, Scope, Work};
use crate::domain::{Role, UserId};
use crate::model::Member;
use crate::policy::Action;
use crate::{Error, Result};

/// Everyone in the workspace, by name.
#[tracing::instrument(name = "members::list", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn list(pool: &sqlx::PgPool, scope: &Scope) -> Result<Vec<Member>> {
    scope.require(Action::ReadWorkspace)?;
    let mut tx = scope.read(pool).await?;
    let rows = sqlx::query!(
        r#"select m.user_id, u.name, u.email as "email!: String", m.role, m.created_at
           from memberships m join users u on u.id = m.user_id
           where m.org_id = $1
           order by lower(u.name), u.email"#,
        scope.org_id.0
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|r| Member {
            user_id: UserId(r.user_id),
            name: r.name,
            email: r.email,
            role: r.role.parse().unwrap_or(Role::Rep),
            joined_at: r.created_at,
        })
        .collect())
}

/// Gives a member another role. It applies from their next request.
#[tracing::instrument(name = "members::set_role", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn set_role(
    pool: &sqlx::PgPool,
    scope: &Scope,
    member: UserId,
    role: Role,
) -> Result<Done<Member>> {
    scope.require(Action::ManageMembers)?;
    let mut work = scope.write(pool).await?;
    let current = lock_member(&mut work, member).await?;
    if current == Role::Admin && role != Role::Admin {
        keep_an_admin(
            &mut work,
            "they are the only admin of this workspace: make another member an admin first",
        )
        .await?;
    }
    let r = sqlx::query!(
        r#"update memberships m set role = $3 from users u
           where m.org_id = $1 and m.user_id = $2 and u.id = m.user_id
           returning u.name, u.email as "email!: String", m.created_at"#,
        scope.org_id.0,
        member.0,
        role.as_str()
    )
    .fetch_one(&mut **work)
    .await?;
    work.audit(
        "member.role_changed",
        "membership",
        Some(member.0),
        serde_json::json!({"user_id": member, "role": {"from": current, "to": role}}),
    )
    .await?;
    work.finish(Member {
        user_id: member,
        name: r.name,
        email: r.email,
        role,
        joined_at: r.created_at,
    })
    .await
}

/// Removes a member, or — when `member` is the acting person — leaves the workspace.
#[tracing::instrument(name = "members::remove", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn remove(pool: &sqlx::PgPool, scope: &Scope, member: UserId) -> Result<Done<()>> {
    let leaving = member == scope.user_id;
    scope.require(if leaving {
        Action::LeaveWorkspace
    } else {
        Action::ManageMembers
    })?;
    let mut work = scope.write(pool).await?;
    let role = lock_member(&mut work, member).await?;
    if role == Role::Admin {
        keep_an_admin(
            &mut work,
            if leaving {
                "you are the only admin of this workspace: make another member an admin before you leave"
            } else {
                "they are the only admin of this workspace: make another member an admin first"
            },
        )
        .await?;
    }
    sqlx::query!(
        "delete from memberships where org_id = $1 and user_id = $2",
        scope.org_id.0,
        member.0
    )
    .execute(&mut **work)
    .await?;
    work.audit(
        if leaving {
            "member.left"
        } else {
            "member.removed"
        },
        "membership",
        Some(member.0),
        serde_json::json!({"user_id": member, "role": role}),
    )
    .await?;
    work.finish(()).await
}

/// Locks a member's row and returns their role; `NotFound` if they are not a member.
async fn lock_member(work: &mut Work, member: UserId) -> Result<Role> {
    let role = sqlx::query_scalar!(
        "select role from memberships where org_id = $1 and user_id = $2 for update",
        work.org().0,
        member.0
    )
    .fetch_optional(&mut ***work)
    .await?
    .ok_or(Error::NotFound)?;
    Ok(role.parse().unwrap_or(Role::Rep))
}

/// `Conflict` with `message` when the workspace has only one admin: the one about to lose the role. The admins' rows
/// stay locked until the unit ends.
async fn keep_an_admin(work: &mut Work, message: &str) -> Result<()> {
    let admins = sqlx::query_scalar!(
        r#"select count(*) as "n!" from (select 1 from memberships where org_id = $1 and role = 'admin' for update) a"#,
        work.org().0
    )
    .fetch_one(&mut ***work)
    .await?;
    if admins <= 1 {
        return Err(Error::Conflict(message.to_owned()));
    }
    Ok(())
}
