//! The auth routes over real HTTP: a server on a random port, a fresh database per test, cookies handled by hand so
//! every attribute can be checked.

use crate::common::{TestApp, session_cookie, signup_body};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn signup_sets_a_host_only_httponly_secure_lax_cookie(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let res = app
        .post("/api/auth/signup", signup_body("ada@example.com"), None)
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let cookie = session_cookie(res.headers()).unwrap();
    let attrs: Vec<String> = cookie
        .attributes
        .iter()
        .map(|a| a.to_ascii_lowercase())
        .collect();
    for want in ["httponly", "secure", "samesite=lax", "path=/"] {
        assert!(
            attrs.iter().any(|a| a == want),
            "{want} missing from {attrs:?}"
        );
    }
    assert!(
        !attrs.iter().any(|a| a.starts_with("domain=")),
        "__Host- cookies carry no Domain"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["role"], "admin");
    assert_eq!(body["user"]["email"], "ada@example.com");
    assert_eq!(body["organization"]["name"], "Engines");
    assert!(body["user"].get("password_hash").is_none());

    let me = app.get("/api/auth/me", Some(&cookie.value)).await;
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["user"]["name"], "Ada Lovelace");
    assert_eq!(me["role"], "admin");
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn me_without_a_session_is_401_in_the_api_error_shape(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let res = app.get("/api/auth/me", None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthenticated");
    let res = app.get("/api/auth/me", Some("forged-session-id")).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn login_rotates_the_session_id_and_logout_kills_the_cookie(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (_, first) = app.signup("ada@example.com").await;

    let res = app
        .post(
            "/api/auth/login",
            json!({"email": "ada@example.com", "password": "correct horse battery"}),
            Some(&first),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let second = session_cookie(res.headers())
        .expect("login sets a cookie")
        .value;
    assert_ne!(first, second, "sign-in issues a new session id");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["organizations"][0]["role"], "admin");
    assert_eq!(
        app.get("/api/auth/me", Some(&first)).await.status(),
        StatusCode::UNAUTHORIZED,
        "the old id is dead"
    );
    assert_eq!(
        app.get("/api/auth/me", Some(&second)).await.status(),
        StatusCode::OK
    );

    let res = app.post("/api/auth/logout", json!({}), Some(&second)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/auth/me", Some(&second)).await.status(),
        StatusCode::UNAUTHORIZED,
        "a replayed cookie is dead"
    );
    assert_eq!(app.count("sessions").await, 0, "the session row is gone");
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn unknown_user_and_wrong_password_get_the_same_answer(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.signup("ada@example.com").await;
    let wrong = app
        .post(
            "/api/auth/login",
            json!({"email": "ada@example.com", "password": "nope nope nope"}),
            None,
        )
        .await;
    let unknown = app
        .post(
            "/api/auth/login",
            json!({"email": "bob@example.com", "password": "nope nope nope"}),
            None,
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert!(session_cookie(wrong.headers()).is_none());
    let (a, b): (Value, Value) = (wrong.json().await.unwrap(), unknown.json().await.unwrap());
    assert_eq!(a, b);
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn repeated_failures_are_throttled_with_retry_after(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.signup("ada@example.com").await;
    // Three free guesses from one source; the next must wait (a second, then two, four …).
    for _ in 0..3 {
        let res = app
            .post(
                "/api/auth/login",
                json!({"email": "ada@example.com", "password": "guess guess guess"}),
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = app
        .post(
            "/api/auth/login",
            json!({"email": "ada@example.com", "password": "correct horse battery"}),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()["retry-after"], "1");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn cross_site_and_origin_less_posts_are_refused_without_effect(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let evil = app.raw_signup(&[("origin", "https://evil.example")]).await;
    assert_eq!(evil.status(), StatusCode::FORBIDDEN);
    let body: Value = evil.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden");

    let bare = app.raw_signup(&[]).await;
    assert_eq!(bare.status(), StatusCode::FORBIDDEN);

    let evil_referer = app
        .raw_signup(&[("referer", "https://evil.example/page")])
        .await;
    assert_eq!(evil_referer.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("users").await, 0, "nothing was written");

    // A same-origin Referer (no Origin) is accepted.
    let ok = app.raw_signup(&[("referer", &app.url("/signup"))]).await;
    assert_eq!(ok.status(), StatusCode::CREATED);
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn bad_input_gets_field_errors_never_a_500(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let res = app
        .post(
            "/api/auth/signup",
            json!({"email": "nope", "password": "short", "name": "", "organization_name": "x"}),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "validation_failed");
    assert_eq!(body["error"]["fields"]["email"], "must be a valid address");
    assert_eq!(
        body["error"]["fields"]["password"],
        "must be at least 10 characters"
    );
    assert_eq!(body["error"]["fields"]["name"], "is required");
    assert!(body["error"]["fields"].get("organization_name").is_none());

    let res = app.post("/api/auth/signup", json!({}), None).await;
    assert_eq!(
        res.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "missing fields are field errors"
    );

    let res = app
        .client
        .post(app.url("/api/auth/login"))
        .header("origin", &app.base)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request");

    let res = app
        .post(
            "/api/auth/switch",
            json!({"organization_id": "not-a-uuid"}),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Registering twice is a field error, not a crash.
    app.signup("ada@example.com").await;
    let res = app
        .post("/api/auth/signup", signup_body("ADA@example.com"), None)
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("users").await, 1);
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn switching_needs_membership(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (_, ada) = app.signup("ada@example.com").await;
    let (bob, _) = app.signup("bob@example.com").await;
    let res = app
        .post(
            "/api/auth/switch",
            json!({"organization_id": bob["organization"]["id"]}),
            Some(&ada),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app.get("/api/auth/me", Some(&ada)).await;
    let me: Value = res.json().await.unwrap();
    assert_eq!(
        me["organization"]["name"], "Engines",
        "still in her own workspace"
    );
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn pages_carry_security_headers_and_a_nonce_csp(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let res = app.get("/login", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers().clone();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "strict-origin-when-cross-origin");
    assert!(h.get("x-request-id").is_some());
    let csp = h["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .expect("a nonce in the CSP")
        .to_owned();
    let html = res.text().await.unwrap();
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "the hydration scripts carry the CSP's nonce"
    );

    let again = app.get("/login", None).await;
    assert_ne!(
        again.headers()["content-security-policy"].to_str().unwrap(),
        csp,
        "a fresh nonce per response"
    );

    let api = app.get("/api/auth/me", None).await;
    assert!(
        api.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn protected_pages_send_strangers_to_sign_in(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let res = app.get("/settings", None).await;
    assert!(res.status().is_redirection(), "{}", res.status());
    assert_eq!(res.headers()["location"], "/login?next=/settings");

    let (_, cookie) = app.signup("ada@example.com").await;
    let res = app.get("/settings", Some(&cookie)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("Ada Lovelace") && html.contains("Engines"));
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn health_and_readiness(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
    assert_eq!(app.get("/readyz", None).await.status(), StatusCode::OK);
    let res = app.get("/api/nothing-here", None).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}

/// A session in use keeps moving its idle expiry forward (saved again once its last save is older than the touch
/// interval), so people who keep working are not signed out `SESSION_IDLE_MINUTES` after sign-in; within the interval a
/// request only reads. Two servers share the database: one with the production interval (five minutes), one with a
/// one-second interval, so neither check depends on how fast the machine answers.
#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn a_session_in_use_moves_its_idle_expiry_forward(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let eager = TestApp::spawn_with_touch(pool, 1).await;
    let (_, cookie) = app.signup("ada@example.com").await;
    let expiry = || async {
        sqlx::query_scalar::<_, time::OffsetDateTime>("select max(expiry_date) from sessions")
            .fetch_one(&app.pool)
            .await
            .unwrap()
    };
    let first = expiry().await;
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    // Within five minutes of the last save: no write.
    assert_eq!(
        app.get("/api/auth/me", Some(&cookie)).await.status(),
        StatusCode::OK
    );
    assert_eq!(expiry().await, first);
    // Over a second since the last save: saved again, expiry later.
    assert_eq!(
        eager.get("/api/auth/me", Some(&cookie)).await.status(),
        StatusCode::OK
    );
    let second = expiry().await;
    assert!(second > first, "{first} → {second}");
}

/// D-018: each server caches the sessions it has read, and every member transaction confirms its session. Signed
/// out through one server, a session another server still has cached is refused there at once, on reads and writes
/// alike, and a request that would have saved it (its touch is due) does not write the row back.
#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn a_session_signed_out_on_one_server_is_dead_on_another_that_kept_it(pool: PgPool) {
    let one = TestApp::spawn(pool.clone()).await;
    let other = TestApp::spawn_with_touch(pool.clone(), 1).await;
    let pages = TestApp::spawn(pool).await;
    let (_, cookie) = one.signup("ada@example.com").await;
    // Both other servers read the session and cache it.
    assert_eq!(
        other.get("/api/contacts", Some(&cookie)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        pages.get("/settings", Some(&cookie)).await.status(),
        StatusCode::OK
    );

    let res = one.post("/api/auth/logout", json!({}), Some(&cookie)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(one.count("sessions").await, 0);
    // Past the other server's touch interval: its next request would save the session it cached.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;

    let res = other
        .send(
            Method::POST,
            "/api/contacts",
            Some(json!({"first_name": "Grace", "last_name": "Hopper"})),
            &cookie,
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "a write with the signed-out session"
    );
    assert_eq!(other.count("contacts").await, 0, "nothing was written");
    assert_eq!(
        other.get("/api/contacts", Some(&cookie)).await.status(),
        StatusCode::UNAUTHORIZED,
        "a read with the signed-out session"
    );
    assert_eq!(
        other.get("/api/auth/me", Some(&cookie)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // A page sends the signed-out person to sign in, as it does a stranger, and removes the cookie.
    let res = pages.get("/settings", Some(&cookie)).await;
    assert!(res.status().is_redirection(), "{}", res.status());
    assert_eq!(res.headers()["location"], "/login?next=/settings");
    let removed = session_cookie(res.headers()).expect("the cookie is removed");
    assert!(removed.value.is_empty(), "{}", removed.value);
    assert_eq!(
        other.count("sessions").await,
        0,
        "the session was not written back"
    );
}

/// D-018: a server's copy of a session never overwrites a newer row, and its own changes are never lost to one. Each
/// save goes over the version its copy was read from; when the row has changed meanwhile (through another server),
/// the request's own changes are made over the row as it is now. Ada's idle touch (due every second on `other`) and
/// her workspace switch (through `one`) cross in both orders; both always stand. `fresh` servers read the row itself.
#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn a_kept_session_never_overwrites_a_newer_one(pool: PgPool) {
    let one = TestApp::spawn(pool.clone()).await;
    let other = TestApp::spawn_with_touch(pool.clone(), 1).await;
    let (ada, cookie) = one.signup("ada@example.com").await;
    let (bob, _) = one.signup("bob@example.com").await;
    let (own, second) = (&ada["organization"]["id"], &bob["organization"]["id"]);
    sqlx::query("insert into memberships (org_id, user_id, role) values ($1::text::uuid, $2::text::uuid, 'rep')")
        .bind(second.as_str().unwrap())
        .bind(ada["user"]["id"].as_str().unwrap())
        .execute(&pool)
        .await
        .unwrap();
    async fn workspace(app: &TestApp, cookie: &str) -> Value {
        let me: Value = app
            .get("/api/auth/me", Some(cookie))
            .await
            .json()
            .await
            .unwrap();
        me["organization"]["id"].clone()
    }
    let fresh = || TestApp::spawn(pool.clone());

    // `other` reads the session and, its touch being due, saves it: `one`'s copy is now older than the row.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    assert_eq!(&workspace(&other, &cookie).await, own);
    let res = one
        .post(
            "/api/auth/switch",
            json!({"organization_id": second}),
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        &workspace(&fresh().await, &cookie).await,
        second,
        "the switch was saved"
    );

    // Now `other`'s copy is the older one, and its touch is due again.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    assert_eq!(
        other.get("/api/contacts", Some(&cookie)).await.status(),
        StatusCode::OK,
        "its copy is still a membership she holds"
    );
    assert_eq!(
        &workspace(&fresh().await, &cookie).await,
        second,
        "the touch did not undo the switch"
    );
    assert_eq!(
        &workspace(&other, &cookie).await,
        second,
        "and `other` now keeps the merged row"
    );
    assert_eq!(&workspace(&one, &cookie).await, second);
}
