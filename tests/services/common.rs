//! The service-layer harness: fresh workspaces and their members on the test's own database.

use clearview::db::Settle;
use clearview::domain::Role;
use clearview::model::{SignupInput, SignupOutcome};
use clearview::services::users::Requester;
use clearview::services::{Scope, users};
use sqlx::PgPool;

/// Signs `email` up with a workspace named `org`.
pub async fn signup(pool: &PgPool, email: &str, org: &str) -> SignupOutcome {
    let input = SignupInput {
        email: email.into(),
        password: "correct horse battery".into(),
        name: email.split('@').next().unwrap_or("someone").into(),
        organization_name: org.into(),
    };
    users::signup(pool, &input, None, Requester::Operator)
        .await
        .settle(pool)
        .await
        .expect("sign-up of a fresh workspace")
}

/// An admin's scope in a fresh workspace.
pub async fn workspace(pool: &PgPool, email: &str) -> Scope {
    let out = signup(pool, email, &format!("Workspace of {email}")).await;
    Scope {
        org_id: out.organization.id,
        user_id: out.user.id,
        role: Role::Admin,
        request_id: None,
        session: None,
    }
}

/// A second person who is a member of `admin`'s workspace with `role` (the membership is written directly, so a
/// test of one service needs no other).
pub async fn member(pool: &PgPool, admin: &Scope, email: &str, role: Role) -> Scope {
    let own = workspace(pool, email).await;
    sqlx::query("insert into memberships (org_id, user_id, role) values ($1, $2, $3)")
        .bind(admin.org_id.0)
        .bind(own.user_id.0)
        .bind(role.as_str())
        .execute(pool)
        .await
        .expect("membership");
    Scope {
        org_id: admin.org_id,
        user_id: own.user_id,
        role,
        request_id: None,
        session: None,
    }
}
