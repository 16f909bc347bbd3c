//! Row-level security: inside one workspace's transaction, queries *without* an org filter still see only that
//! workspace, and cannot write into another.

use clearview::db;
use clearview::model::SignupInput;
use clearview::services::users;
use sqlx::PgPool;

async fn workspace(pool: &PgPool, email: &str, org: &str) -> clearview::model::SignupOutcome {
    let input = SignupInput {
        email: email.into(),
        password: "correct horse battery".into(),
        name: "Someone".into(),
        organization_name: org.into(),
    };
    users::signup(pool, &input, None)
        .await
        .expect("sign-up of a fresh workspace")
}

#[sqlx::test]
async fn unfiltered_selects_in_a_tenant_transaction_return_no_foreign_rows(pool: PgPool) {
    let a = workspace(&pool, "a@example.com", "A").await;
    let b = workspace(&pool, "b@example.com", "B").await;

    // Seed a contact in each workspace, as each workspace.
    for (org, user) in [
        (a.organization.id, a.user.id),
        (b.organization.id, b.user.id),
    ] {
        let mut tx = db::tenant(&pool, org, Some(user)).await.unwrap();
        sqlx::query("insert into contacts (id, org_id, first_name, last_name) values ($1, $2, 'Grace', 'Hopper')")
            .bind(uuid::Uuid::now_v7())
            .bind(org.0)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    let mut tx = db::tenant(&pool, a.organization.id, Some(a.user.id))
        .await
        .unwrap();
    for table in [
        "organizations",
        "memberships",
        "pipelines",
        "pipeline_stages",
        "contacts",
        "audit_log",
    ] {
        let column = if table == "organizations" {
            "id"
        } else {
            "org_id"
        };
        let orgs: Vec<uuid::Uuid> =
            sqlx::query_scalar(&format!("select distinct {column} from {table}"))
                .fetch_all(&mut *tx)
                .await
                .unwrap();
        assert_eq!(
            orgs,
            vec![a.organization.id.0],
            "{table} shows only workspace A"
        );
    }
    let foreign: i64 = sqlx::query_scalar("select count(*) from contacts where org_id = $1")
        .bind(b.organization.id.0)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(foreign, 0, "even asking for B's rows by id finds nothing");

    // Writing into B from A's transaction is refused by the policy's WITH CHECK.
    let write = sqlx::query("insert into contacts (id, org_id, first_name, last_name) values ($1, $2, 'Eve', 'Mallory')")
        .bind(uuid::Uuid::now_v7())
        .bind(b.organization.id.0)
        .execute(&mut *tx)
        .await;
    assert!(
        write.is_err(),
        "a row for another workspace cannot be written"
    );
    tx.rollback().await.unwrap();

    // The check is real: outside RLS (the login role, a superuser here) both workspaces' contacts exist.
    let all: i64 = sqlx::query_scalar("select count(*) from contacts")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(all, 2);
}

#[sqlx::test]
async fn a_transaction_without_a_workspace_sees_no_tenant_rows(pool: PgPool) {
    let a = workspace(&pool, "a@example.com", "A").await;
    let mut tx = db::personal(&pool, a.user.id).await.unwrap();
    for table in [
        "pipelines",
        "pipeline_stages",
        "contacts",
        "deals",
        "activities",
        "invites",
        "audit_log",
        "jobs",
    ] {
        let n: i64 = sqlx::query_scalar(&format!("select count(*) from {table}"))
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(n, 0, "{table} is invisible without a workspace");
    }
    // The person's own memberships stay visible (for the workspace switcher).
    let n: i64 = sqlx::query_scalar("select count(*) from memberships")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[sqlx::test]
async fn composite_keys_keep_references_inside_one_workspace(pool: PgPool) {
    let a = workspace(&pool, "a@example.com", "A").await;
    let b = workspace(&pool, "b@example.com", "B").await;
    // As the login role (bypassing RLS), try to point a deal of A at B's stage: the composite foreign key refuses.
    let b_stage: uuid::Uuid =
        sqlx::query_scalar("select id from pipeline_stages where org_id = $1 limit 1")
            .bind(b.organization.id.0)
            .fetch_one(&pool)
            .await
            .unwrap();
    let b_pipeline: uuid::Uuid =
        sqlx::query_scalar("select pipeline_id from pipeline_stages where id = $1")
            .bind(b_stage)
            .fetch_one(&pool)
            .await
            .unwrap();
    let res = sqlx::query(
        "insert into deals (id, org_id, pipeline_id, stage_id, title, position) values ($1, $2, $3, $4, 'x', 'a')",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(a.organization.id.0)
    .bind(b_pipeline)
    .bind(b_stage)
    .execute(&pool)
    .await;
    assert!(
        res.is_err(),
        "a deal cannot reference another workspace's pipeline or stage"
    );
}
