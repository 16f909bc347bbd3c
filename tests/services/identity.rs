//! The identity services against a real PostgreSQL, one fresh database per test.

use clearview::Error;
use clearview::db::Settle;
use clearview::domain::{OrgId, Role};
use clearview::model::SignupInput;
use clearview::services::users::Requester;
use clearview::services::{organizations, pipelines, users};
use sqlx::PgPool;

fn input(email: &str) -> SignupInput {
    SignupInput {
        email: email.into(),
        password: "correct horse battery".into(),
        name: "Ada Lovelace".into(),
        organization_name: "Analytical Engines".into(),
    }
}

#[sqlx::test]
async fn signup_creates_the_workspace_admin_and_default_pipeline(pool: PgPool) {
    let out = users::signup(
        &pool,
        &input("Ada@Example.com"),
        Some("req-1".into()),
        Requester::Operator,
    )
    .await
    .settle(&pool)
    .await
    .unwrap();
    assert_eq!(out.role, Role::Admin);
    assert_eq!(out.user.email, "Ada@example.com");
    assert_eq!(out.organization.name, "Analytical Engines");

    let scope = organizations::scope_for(&pool, out.user.id, out.organization.id, None)
        .await
        .unwrap();
    assert_eq!(scope.role, Role::Admin);

    let pipelines = pipelines::list(&pool, &scope).await.unwrap();
    assert_eq!(pipelines.len(), 1);
    assert_eq!(pipelines[0].name, "Sales");
    let stages: Vec<(String, i16, &str)> = pipelines[0]
        .stages
        .iter()
        .map(|s| (s.name.clone(), s.probability, s.kind.as_str()))
        .collect();
    assert_eq!(
        stages,
        [
            ("Lead".to_string(), 10, "open"),
            ("Qualified".into(), 25, "open"),
            ("Proposal".into(), 50, "open"),
            ("Negotiation".into(), 75, "open"),
            ("Won".into(), 100, "won"),
            ("Lost".into(), 0, "lost"),
        ]
    );

    // Every mutation left an audit row in the same transaction, chained by hash once sealed (settling the sign-up
    // sealed them: nothing is left pending), carrying the request id.
    assert_eq!(
        clearview::services::audit::seal(&pool, out.organization.id)
            .await
            .unwrap(),
        0
    );
    let rows = sqlx::query!(
        "select seq, action, request_id, prev_hash, hash from audit_log where org_id = $1 order by seq",
        out.organization.id.0
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "organization.created",
            "member.added",
            "pipeline.created",
            "user.signed_up"
        ]
    );
    assert!(
        rows.iter()
            .all(|r| r.request_id.as_deref() == Some("req-1"))
    );
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.seq, i as i64 + 1);
        assert_eq!(r.hash.len(), 32);
        if i > 0 {
            assert_eq!(
                r.prev_hash,
                rows[i - 1].hash,
                "entry {} links to its predecessor",
                r.seq
            );
        }
    }
}

#[sqlx::test]
async fn the_audit_log_is_append_only(pool: PgPool) {
    let out = users::signup(&pool, &input("ada@example.com"), None, Requester::Operator)
        .await
        .settle(&pool)
        .await
        .unwrap();
    let update = sqlx::query("update audit_log set action = 'x' where org_id = $1")
        .bind(out.organization.id.0)
        .execute(&pool)
        .await;
    assert!(update.is_err(), "audit rows cannot be edited");
    let delete = sqlx::query("delete from audit_log where org_id = $1")
        .bind(out.organization.id.0)
        .execute(&pool)
        .await;
    assert!(delete.is_err(), "audit rows cannot be removed");
    // Deleting the whole workspace takes its log with it.
    sqlx::query("delete from organizations where id = $1")
        .bind(out.organization.id.0)
        .execute(&pool)
        .await
        .unwrap();
    let left: i64 = sqlx::query_scalar("select count(*) from audit_log")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[sqlx::test]
async fn signup_reports_every_bad_field_and_writes_nothing(pool: PgPool) {
    let bad = SignupInput {
        email: "nope".into(),
        password: "short".into(),
        name: " ".into(),
        organization_name: "".into(),
    };
    let err = users::signup(&pool, &bad, None, Requester::Operator)
        .await
        .settle(&pool)
        .await
        .unwrap_err();
    let fields = err.fields().unwrap();
    for f in ["email", "password", "name", "organization_name"] {
        assert!(fields.contains_key(f), "{f} should be reported: {fields:?}");
    }
    let n: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[sqlx::test]
async fn an_email_registers_once_whatever_its_case(pool: PgPool) {
    users::signup(&pool, &input("ada@example.com"), None, Requester::Operator)
        .await
        .settle(&pool)
        .await
        .unwrap();
    let err = users::signup(&pool, &input("ADA@example.com"), None, Requester::Operator)
        .await
        .settle(&pool)
        .await
        .unwrap_err();
    assert!(err.fields().unwrap().contains_key("email"), "{err:?}");
    let orgs: i64 = sqlx::query_scalar("select count(*) from organizations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(orgs, 1, "the failed sign-up left no workspace behind");
}

#[sqlx::test]
async fn authenticate_answers_alike_for_unknown_and_wrong_and_throttles(pool: PgPool) {
    users::signup(&pool, &input("ada@example.com"), None, Requester::Operator)
        .await
        .settle(&pool)
        .await
        .unwrap();
    let ok = users::authenticate(
        &pool,
        "ADA@example.com",
        "correct horse battery",
        Some("10.0.0.1"),
    )
    .await
    .unwrap();
    assert_eq!(ok.name, "Ada Lovelace");

    let wrong = users::authenticate(
        &pool,
        "ada@example.com",
        "wrong password!",
        Some("10.0.0.1"),
    )
    .await
    .unwrap_err();
    let unknown = users::authenticate(
        &pool,
        "bob@example.com",
        "wrong password!",
        Some("10.0.0.1"),
    )
    .await
    .unwrap_err();
    assert_eq!(wrong, Error::Unauthenticated);
    assert_eq!(unknown, Error::Unauthenticated);

    // A stranger guessing from 10.0.0.2: after three failures each further guess waits, and is refused before its
    // password is looked at.
    for _ in 0..3 {
        let _ = users::authenticate(
            &pool,
            "ada@example.com",
            "wrong password!",
            Some("10.0.0.2"),
        )
        .await;
    }
    let slowed = users::authenticate(
        &pool,
        "ada@example.com",
        "correct horse battery",
        Some("10.0.0.2"),
    )
    .await;
    assert!(
        matches!(slowed, Err(Error::RateLimited { retry_after_secs }) if retry_after_secs > 0),
        "{slowed:?}"
    );
    // The owner, from their own network, is not held by the stranger's failures.
    let owner = users::authenticate(
        &pool,
        "ada@example.com",
        "correct horse battery",
        Some("10.0.0.3"),
    )
    .await;
    assert!(owner.is_ok(), "{owner:?}");
}

#[sqlx::test]
async fn the_account_ceiling_holds_strangers_but_not_a_source_the_owner_signed_in_from(
    pool: PgPool,
) {
    use clearview::auth::throttle::{self, Limit};
    users::signup(&pool, &input("ada@example.com"), None, Requester::Operator)
        .await
        .settle(&pool)
        .await
        .unwrap();
    // The owner signs in once from home: that source becomes known to the account.
    users::authenticate(
        &pool,
        "ada@example.com",
        "correct horse battery",
        Some("10.9.9.9"),
    )
    .await
    .unwrap();
    // A hundred guesses, each from a different address, spend the account's ceiling.
    let ceiling = Limit::account("ada@example.com").budget;
    for i in 0..ceiling {
        let from = throttle::source(Some(&format!("10.1.{}.{}", i / 250, i % 250)));
        let limits = throttle::signin_limits(&pool, "ada@example.com", &from)
            .await
            .unwrap();
        let _spent = throttle::reserve(&pool, &limits).await.unwrap();
    }
    let stranger = users::authenticate(
        &pool,
        "ada@example.com",
        "correct horse battery",
        Some("10.2.0.1"),
    )
    .await;
    assert!(
        matches!(stranger, Err(Error::RateLimited { .. })),
        "{stranger:?}"
    );
    let home = users::authenticate(
        &pool,
        "ada@example.com",
        "correct horse battery",
        Some("10.9.9.9"),
    )
    .await;
    assert!(
        home.is_ok(),
        "the owner's known source is not held to the ceiling: {home:?}"
    );
}

#[sqlx::test]
async fn concurrent_wrong_guesses_are_counted_one_by_one(pool: PgPool) {
    use clearview::auth::throttle::{self, Limit};
    // Twenty reservations at once on one account and source: exactly the budget is let through.
    let from = throttle::source(Some("10.3.0.1"));
    let limit = Limit {
        delay_after: None,
        ..Limit::account_from("ada@example.com", &from)
    };
    let tries = (0..20).map(|_| {
        let pool = pool.clone();
        let limit = limit.clone();
        tokio::spawn(async move { throttle::reserve(&pool, &[limit]).await })
    });
    let mut passed = 0;
    for t in tries {
        match t.await.unwrap() {
            Ok(_reserved) => passed += 1,
            Err(Error::RateLimited { .. }) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(passed, limit.budget);
}

#[sqlx::test]
async fn a_person_sees_only_their_own_workspaces(pool: PgPool) {
    let ada = users::signup(&pool, &input("ada@example.com"), None, Requester::Operator)
        .await
        .settle(&pool)
        .await
        .unwrap();
    let bob = users::signup(
        &pool,
        &SignupInput {
            organization_name: "Bob's Bikes".into(),
            ..input("bob@example.com")
        },
        None,
        Requester::Operator,
    )
    .await
    .settle(&pool)
    .await
    .unwrap();
    let second = organizations::create(&pool, ada.user.id, "Side Project", None)
        .await
        .settle(&pool)
        .await
        .unwrap();
    let mine = organizations::memberships(&pool, ada.user.id)
        .await
        .unwrap();
    let names: Vec<&str> = mine.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["Analytical Engines", "Side Project"]);
    assert!(mine.iter().all(|m| m.role == Role::Admin));

    assert_eq!(
        organizations::scope_for(&pool, ada.user.id, bob.organization.id, None).await,
        Err(Error::NotFound)
    );
    assert_eq!(
        organizations::scope_for(&pool, ada.user.id, OrgId(uuid::Uuid::nil()), None).await,
        Err(Error::NotFound)
    );
    assert!(
        organizations::scope_for(&pool, ada.user.id, second.id, None)
            .await
            .is_ok()
    );
}

#[sqlx::test]
async fn expired_sessions_and_throttle_rows_are_purged_and_live_ones_kept(pool: PgPool) {
    sqlx::query(
        "insert into sessions (id, data, expiry_date) values
           ('gone', '\\x00', now() - interval '1 minute'), ('kept', '\\x00', now() + interval '1 hour')",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into auth_throttle (key, failures, window_started_at, last_failure_at, expires_at) values
           ('gone', 3, now() - interval '1 hour', now() - interval '1 hour', now() - interval '45 minutes'),
           ('kept', 3, now(), now(), now() + interval '15 minutes')",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(clearview::db::purge_expired(&pool).await.unwrap(), (1, 1));
    for table in ["sessions", "auth_throttle"] {
        let left: Vec<String> = sqlx::query_scalar(&format!(
            "select {} from {table}",
            if table == "sessions" { "id" } else { "key" }
        ))
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(left, ["kept"], "{table}");
    }
}
