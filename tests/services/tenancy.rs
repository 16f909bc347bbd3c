//! Row-level security: inside one workspace's transaction, queries *without* an org filter still see only that
//! workspace, and cannot write into another.

use clearview::db;
use clearview::db::Settle;
use sqlx::PgPool;

use crate::common::signup as workspace;

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

/// Every way into a workspace's data (member, tenant, personal, and `enter` on an open transaction) acts as the request
/// role with exactly its settings, and leaves nothing behind on the pooled connection: not after a commit, a
/// rollback, or a member check that failed (which also must not leave the connection inside a transaction).
#[sqlx::test]
async fn transactions_act_as_the_request_role_and_leave_the_connection_as_they_found_it(
    pool: PgPool,
) {
    use clearview::domain::Role;

    let a = workspace(&pool, "a@example.com", "A").await;
    let (org, user) = (a.organization.id, a.user.id);
    // One connection, so every step below reuses the one the previous step gave back.
    let one = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(pool.connect_options().as_ref().clone())
        .await
        .unwrap();
    let login_role: String = sqlx::query_scalar("select current_user::text")
        .fetch_one(&one)
        .await
        .unwrap();
    assert_ne!(login_role, "clearview_app");

    /// The role and the two settings a statement runs with.
    const ACTING_AS: &str = "select current_user::text, coalesce(current_setting('app.org_id', true), ''), \
                             coalesce(current_setting('app.user_id', true), '')";
    type Seen = (String, String, String);
    async fn seen(tx: &mut db::Tx) -> Seen {
        sqlx::query_as(ACTING_AS)
            .fetch_one(&mut **tx)
            .await
            .unwrap()
    }
    let outside = |one: PgPool| async move {
        // SAVEPOINT is refused outside a transaction block.
        let in_tx = sqlx::raw_sql("savepoint probe").execute(&one).await.is_ok();
        let seen: Seen = sqlx::query_as(ACTING_AS).fetch_one(&one).await.unwrap();
        (in_tx, seen)
    };
    let clean = (false, (login_role.clone(), String::new(), String::new()));
    let (o, u) = (org.0.to_string(), user.0.to_string());
    let app = "clearview_app".to_owned();

    let mut tx = db::member(&one, org, user, Role::Admin, None)
        .await
        .unwrap();
    assert_eq!(seen(&mut tx).await, (app.clone(), o.clone(), u.clone()));
    tx.commit().await.unwrap();
    assert_eq!(
        outside(one.clone()).await,
        clean,
        "after a member transaction's commit"
    );

    let mut tx = db::tenant(&one, org, None).await.unwrap();
    assert_eq!(seen(&mut tx).await, (app.clone(), o.clone(), String::new()));
    tx.rollback().await.unwrap();
    assert_eq!(
        outside(one.clone()).await,
        clean,
        "after a tenant transaction's rollback"
    );

    let mut tx = db::personal(&one, user).await.unwrap();
    assert_eq!(seen(&mut tx).await, (app.clone(), String::new(), u.clone()));
    tx.commit().await.unwrap();
    assert_eq!(
        outside(one.clone()).await,
        clean,
        "after a personal transaction"
    );

    let mut tx = one.begin().await.unwrap();
    db::enter(&mut tx, Some(org), Some(user)).await.unwrap();
    assert_eq!(seen(&mut tx).await, (app.clone(), o.clone(), u.clone()));
    tx.commit().await.unwrap();
    assert_eq!(
        outside(one.clone()).await,
        clean,
        "after entering an open transaction"
    );

    // The wrong role: refused with the scope-changed code before anything ran, and the connection is idle again.
    let code = |err: sqlx::Error| {
        err.as_database_error()
            .and_then(|e| e.code().map(|c| c.into_owned()))
    };
    let err = db::member(&one, org, user, Role::Rep, None)
        .await
        .unwrap_err();
    assert_eq!(code(err).as_deref(), Some(db::SCOPE_CHANGED));
    assert_eq!(
        outside(one.clone()).await,
        clean,
        "after a refused member check"
    );

    // A browser session is confirmed too (D-018): refused once signed out or expired, with the connection idle again.
    let live = db::SessionKey::new("live-session-012345678").unwrap();
    let expired = db::SessionKey::new("expired-session-012345").unwrap();
    let gone = db::SessionKey::new("signed-out-session-012").unwrap();
    sqlx::query(
        "insert into sessions (id, data, expiry_date) values ($1, '', now() + interval '1 hour'), \
         ($2, '', now() - interval '1 second')",
    )
    .bind(live.as_str())
    .bind(expired.as_str())
    .execute(&one)
    .await
    .unwrap();
    let mut tx = db::member(&one, org, user, Role::Admin, Some(&live))
        .await
        .unwrap();
    assert_eq!(seen(&mut tx).await, (app.clone(), o.clone(), u.clone()));
    tx.commit().await.unwrap();
    for (key, what) in [
        (&expired, "an expired session"),
        (&gone, "a signed-out session"),
    ] {
        let err = db::member(&one, org, user, Role::Admin, Some(key))
            .await
            .unwrap_err();
        assert_eq!(code(err).as_deref(), Some(db::SESSION_ENDED), "{what}");
        assert_eq!(outside(one.clone()).await, clean, "after {what}");
    }
    assert!(
        db::SessionKey::new("x'; drop table sessions; --").is_none(),
        "only session ids are keys"
    );
}

/// Change management: every migration applies, reverts and applies again on a database that holds data, and the
/// schema then works as before (a sign-up, a contact, a deal).
#[sqlx::test(migrations = false)]
async fn every_migration_reverts_and_applies_again_on_a_database_with_data(pool: PgPool) {
    use clearview::db::MIGRATOR;
    use clearview::model::ContactInput;
    use clearview::services::{contacts, deals};
    let applied_count = |pool: PgPool| async move {
        sqlx::query_scalar::<_, i64>("select count(*) from _sqlx_migrations where success")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    MIGRATOR.run(&pool).await.expect("apply every migration");
    let total = MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .count() as i64;
    assert_eq!(applied_count(pool.clone()).await, total);

    let fill = |pool: PgPool, email: &'static str| async move {
        let out = workspace(&pool, email, "Revertible").await;
        let scope = clearview::services::organizations::scope_for(
            &pool,
            out.user.id,
            out.organization.id,
            None,
        )
        .await
        .unwrap();
        let input = ContactInput {
            first_name: "Grace".into(),
            last_name: "Hopper".into(),
            email: Some("grace@example.com".into()),
            ..Default::default()
        };
        contacts::create(&pool, &scope, &input)
            .await
            .settle(&pool)
            .await
            .expect("a contact");
        let form = clearview::model::DealForm {
            title: "Compiler".into(),
            ..Default::default()
        };
        deals::create(&pool, &scope, &form)
            .await
            .settle(&pool)
            .await
            .expect("a deal");
    };
    fill(pool.clone(), "ada@example.com").await;

    MIGRATOR
        .undo(&pool, 0)
        .await
        .expect("revert every migration, data and all");
    assert_eq!(applied_count(pool.clone()).await, 0);
    let left: i64 = sqlx::query_scalar(
        "select count(*) from pg_tables where schemaname = 'public' and tablename <> '_sqlx_migrations'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(left, 0, "reverting every migration leaves no table behind");

    MIGRATOR
        .run(&pool)
        .await
        .expect("apply every migration again");
    assert_eq!(applied_count(pool.clone()).await, total);
    fill(pool.clone(), "ada@example.com").await;
}

#[sqlx::test]
async fn the_request_role_reads_no_password_hash_and_changes_no_other_workspace(pool: PgPool) {
    let a = workspace(&pool, "a@example.com", "A").await;
    let b = workspace(&pool, "b@example.com", "B").await;
    // Ada of A also works in B, so B's rows are visible to her; a transaction in A must still not change them.
    sqlx::query("insert into memberships (org_id, user_id, role) values ($1, $2, 'admin')")
        .bind(b.organization.id.0)
        .bind(a.user.id.0)
        .execute(&pool)
        .await
        .unwrap();

    let mut tx = db::tenant(&pool, a.organization.id, Some(a.user.id))
        .await
        .unwrap();
    let names: Vec<String> = sqlx::query_scalar("select name from users")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert!(!names.is_empty(), "who people are stays readable");
    let hashes = sqlx::query("select password_hash from users")
        .fetch_all(&mut *tx)
        .await
        .unwrap_err();
    assert!(hashes.to_string().contains("permission denied"), "{hashes}");
    tx.rollback().await.unwrap();

    let mut tx = db::tenant(&pool, a.organization.id, Some(a.user.id))
        .await
        .unwrap();
    let left = sqlx::query("delete from memberships where org_id = $1 and user_id = $2")
        .bind(b.organization.id.0)
        .bind(a.user.id.0)
        .execute(&mut *tx)
        .await
        .unwrap();
    let renamed = sqlx::query("update organizations set name = 'taken' where id = $1")
        .bind(b.organization.id.0)
        .execute(&mut *tx)
        .await
        .unwrap();
    let deleted = sqlx::query("delete from organizations where id = $1")
        .bind(b.organization.id.0)
        .execute(&mut *tx)
        .await
        .unwrap();
    let visible: i64 = sqlx::query_scalar("select count(*) from organizations")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        (
            left.rows_affected(),
            renamed.rows_affected(),
            deleted.rows_affected()
        ),
        (0, 0, 0),
        "a transaction of A changed B"
    );
    assert_eq!(visible, 2, "both of Ada's workspaces stay visible to her");
    let b_name: String = sqlx::query_scalar("select name from organizations where id = $1")
        .bind(b.organization.id.0)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(b_name, "B");
}

#[sqlx::test]
async fn the_server_refuses_roles_that_could_pass_row_level_security(pool: PgPool) {
    assert_eq!(db::unsafe_roles(&pool).await.unwrap(), Vec::<String>::new());
    // A role the request role could switch to, with BYPASSRLS. Roles are the cluster's, so the name is this test's own,
    // and membership alone changes nothing for the tests running beside it.
    let role = format!("cv_bypass_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(&format!("create role {role} nologin bypassrls"))
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(&format!("grant {role} to clearview_app"))
        .execute(&pool)
        .await
        .unwrap();
    let found = db::unsafe_roles(&pool).await;
    sqlx::query(&format!("drop role {role}"))
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        found.unwrap(),
        vec![format!(
            "clearview_app can act as {role}, which is BYPASSRLS"
        )]
    );
}
