//! Workspaces and who belongs to them.

use super::{Done, Scope, Work};
use crate::db::{self, Tx};
use crate::domain::{OrgId, OrgName, Role, UserId};
use crate::model::{Membership, Organization};
use crate::policy::Action;
use crate::{Error, Result};

fn parse_role(s: &str) -> Role {
    s.parse().unwrap_or(Role::Rep)
}

/// A person's workspaces, alphabetically.
#[tracing::instrument(name = "organizations::memberships", skip_all)]
pub async fn memberships(pool: &sqlx::PgPool, user: UserId) -> Result<Vec<Membership>> {
    let mut tx = db::personal(pool, user).await?;
    let rows = sqlx::query!(
        "select o.id, o.name, m.role from memberships m join organizations o on o.id = m.org_id
         where m.user_id = $1 order by lower(o.name), o.id",
        user.0
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|r| Membership {
            id: OrgId(r.id),
            name: r.name,
            role: parse_role(&r.role),
        })
        .collect())
}

/// The scope of `user` acting in `org`; `NotFound` when they are not a member (never revealing whether it exists).
#[tracing::instrument(name = "organizations::scope_for", skip_all)]
pub async fn scope_for(
    pool: &sqlx::PgPool,
    user: UserId,
    org: OrgId,
    request_id: Option<String>,
) -> Result<Scope> {
    // One statement, one round trip: the function reads the membership as the request role, under its policy.
    let role = sqlx::query_scalar!("select app_member_role($1, $2)", org.0, user.0)
        .fetch_one(pool)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(Scope {
        org_id: org,
        user_id: user,
        role: parse_role(&role),
        request_id,
        session: None,
    })
}

/// The workspace a scope acts in.
#[tracing::instrument(name = "organizations::get", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn get(pool: &sqlx::PgPool, scope: &Scope) -> Result<Organization> {
    let mut tx = scope.read(pool).await?;
    let row = sqlx::query!(
        "select id, name from organizations where id = $1",
        scope.org_id.0
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Organization {
        id: OrgId(row.id),
        name: row.name,
    })
}

/// Creates a workspace in `tx` with `user` as its admin and the default pipeline. The transaction is switched into the
/// new workspace and goes on as the new admin's unit of work.
#[tracing::instrument(name = "organizations::create_in", skip_all)]
pub async fn create_in(
    mut tx: Tx,
    user: UserId,
    name: &OrgName,
    request_id: Option<String>,
) -> Result<(Work, Scope)> {
    let org = OrgId::new();
    db::enter(&mut tx, Some(org), Some(user)).await?;
    sqlx::query!(
        "insert into organizations (id, name) values ($1, $2)",
        org.0,
        name.as_str()
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into memberships (org_id, user_id, role) values ($1, $2, 'admin')",
        org.0,
        user.0
    )
    .execute(&mut *tx)
    .await?;
    let scope = Scope {
        org_id: org,
        user_id: user,
        role: Role::Admin,
        request_id,
        session: None,
    };
    let mut work = Work::new(tx, scope.actor());
    work.audit(
        "organization.created",
        "organization",
        Some(org.0),
        serde_json::json!({"name": name}),
    )
    .await?;
    work.audit(
        "member.added",
        "membership",
        Some(user.0),
        serde_json::json!({"user_id": user, "role": "admin"}),
    )
    .await?;
    super::pipelines::create_default(&mut work).await?;
    Ok((work, scope))
}

/// Creates another workspace for a signed-in person (they become its admin).
#[tracing::instrument(name = "organizations::create", skip_all)]
pub async fn create(
    pool: &sqlx::PgPool,
    user: UserId,
    name: &str,
    request_id: Option<String>,
) -> Result<Done<Membership>> {
    let name = OrgName::parse(name).map_err(|m| Error::field("name", m))?;
    let (work, scope) = create_in(pool.begin().await?, user, &name, request_id).await?;
    tracing::info!(org.id = %scope.org_id, "workspace created");
    work.finish(Membership {
        id: scope.org_id,
        name: name.to_string(),
        role: Role::Admin,
    })
    .await
}

/// Renames the scope's workspace.
#[tracing::instrument(name = "organizations::rename", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn rename(pool: &sqlx::PgPool, scope: &Scope, name: &str) -> Result<Done<Organization>> {
    scope.require(Action::UpdateOrganization)?;
    let name = OrgName::parse(name).map_err(|m| Error::field("name", m))?;
    let mut work = scope.write(pool).await?;
    let before = sqlx::query_scalar!(
        "select name from organizations where id = $1 for update",
        scope.org_id.0
    )
    .fetch_one(&mut **work)
    .await?;
    sqlx::query!(
        "update organizations set name = $2 where id = $1",
        scope.org_id.0,
        name.as_str()
    )
    .execute(&mut **work)
    .await?;
    work.audit(
        "organization.renamed",
        "organization",
        Some(scope.org_id.0),
        serde_json::json!({"name": {"from": before, "to": name}}),
    )
    .await?;
    work.finish(Organization {
        id: scope.org_id,
        name: name.to_string(),
    })
    .await
}

/// Deletes the scope's workspace and everything in it, once `confirm` is its exact name. Nothing of any other
/// workspace is touched: every tenant row references its organization with `on delete cascade`. The audit entry goes
/// with the workspace's chain; the server's log keeps the deletion.
#[tracing::instrument(name = "organizations::delete", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn delete(pool: &sqlx::PgPool, scope: &Scope, confirm: &str) -> Result<Done<()>> {
    scope.require(Action::DeleteOrganization)?;
    let mut work = scope.write(pool).await?;
    let name = sqlx::query_scalar!(
        "select name from organizations where id = $1 for update",
        scope.org_id.0
    )
    .fetch_one(&mut **work)
    .await?;
    if confirm != name {
        return Err(Error::field(
            "confirm",
            "type the workspace's name exactly to delete it",
        ));
    }
    work.audit(
        "organization.deleted",
        "organization",
        Some(scope.org_id.0),
        serde_json::json!({"name": name}),
    )
    .await?;
    sqlx::query!("delete from organizations where id = $1", scope.org_id.0)
        .execute(&mut **work)
        .await?;
    tracing::warn!(org.id = %scope.org_id, user.id = %scope.user_id, "workspace deleted with all its data");
    work.finish(()).await
}
