//! The server as an attacker meets it, over plain HTTP on loopback: guessing, flooding, redirect tricks, other host
//! names, huge and stalled requests. Every loop is bounded; every refusal is checked for its status, its error shape and
//! that it changed nothing.
#![expect(
    clippy::unwrap_used,
    reason = "a failed request or query must fail the test"
)]

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{Options, TestApp, json_of, session_cookie, signup_body};

/// A server that believes `X-Forwarded-For`, so one test can speak from many addresses.
async fn behind_proxy(pool: PgPool) -> TestApp {
    TestApp::spawn_with(
        pool,
        Options {
            trust_proxy_headers: true,
            ..Options::default()
        },
    )
    .await
}

/// A same-origin JSON POST, as if from the client address `from` (the server trusts the proxy header).
async fn post_from(app: &TestApp, from: &str, path: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header("origin", &app.base)
        .header("x-forwarded-for", from)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn login_from(app: &TestApp, from: &str, email: &str, password: &str) -> reqwest::Response {
    post_from(
        app,
        from,
        "/api/auth/login",
        &json!({"email": email, "password": password}),
    )
    .await
}

async fn signup_from(app: &TestApp, from: &str, email: &str) -> reqwest::Response {
    post_from(app, from, "/api/auth/signup", &signup_body(email)).await
}

async fn throttle_count(app: &TestApp, key: &str) -> i32 {
    sqlx::query_scalar("select failures from auth_throttle where key = $1")
        .bind(key)
        .fetch_optional(&app.pool)
        .await
        .unwrap()
        .unwrap_or(0)
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn guesses_at_once_are_counted_one_by_one_and_slow_only_their_source(pool: PgPool) {
    let app = behind_proxy(pool).await;
    app.signup("ada@example.com").await;

    let guesses: Vec<_> = (0..12)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move {
                login_from(&app, "203.0.113.7", "ada@example.com", "wrong password!").await
            })
        })
        .collect();
    let (mut checked, mut slowed) = (0, 0);
    for guess in guesses {
        let res = guess.await.unwrap();
        match res.status() {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                let wait: u64 = res.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((1..=60).contains(&wait), "Retry-After {wait}");
                let body: Value = res.json().await.unwrap();
                assert_eq!(body["error"]["code"], "rate_limited");
                slowed += 1;
            }
            other => panic!("a guess answered {other}"),
        }
    }
    // Three free guesses, then each waits a doubling delay: twelve at once cannot all be checked.
    assert!(
        checked <= 5,
        "{checked} of 12 simultaneous guesses were checked"
    );
    assert_eq!(checked + slowed, 12);
    assert_eq!(
        throttle_count(&app, "signin:ada@example.com|203.0.113.7").await,
        checked,
        "every guess that was checked was counted, and only those"
    );

    // The owner, from their own network, signs in at once.
    let owner = login_from(
        &app,
        "198.51.100.20",
        "ada@example.com",
        "correct horse battery",
    )
    .await;
    assert_eq!(owner.status(), StatusCode::OK);
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn sign_ups_from_one_source_are_throttled_without_effect(pool: PgPool) {
    let app = behind_proxy(pool).await;
    let budget = clearview::auth::throttle::Limit::new_account("x").budget;
    for i in 0..budget {
        let res = signup_from(&app, "203.0.113.9", &format!("p{i}@example.com")).await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let over = signup_from(&app, "203.0.113.9", "one-more@example.com").await;
    assert_eq!(over.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(over.headers().contains_key("retry-after"));
    assert_eq!(
        app.count("users").await,
        i64::from(budget),
        "the refused sign-up wrote nothing"
    );
    // Another source still signs up.
    let other = signup_from(&app, "198.51.100.1", "elsewhere@example.com").await;
    assert_eq!(other.status(), StatusCode::CREATED);
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn a_burst_of_sign_ins_never_hashes_more_than_the_machine_has_cores(pool: PgPool) {
    let app = behind_proxy(pool).await;
    let burst: Vec<_> = (0..12)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                let from = format!("203.0.113.{}", 20 + i);
                login_from(
                    &app,
                    &from,
                    &format!("nobody{i}@example.com"),
                    "a guess at it",
                )
                .await
            })
        })
        .collect();
    for sign_in in burst {
        let res = sign_in.await.unwrap();
        // Unknown accounts cost a hash like real ones; none of them is a 500.
        let status = res.status();
        assert!(
            status == StatusCode::UNAUTHORIZED
                || (status == StatusCode::SERVICE_UNAVAILABLE
                    && res.headers().contains_key("retry-after")),
            "{status}"
        );
    }
    let cores = clearview::auth::password::concurrency();
    let peak = clearview::auth::password::peak_running();
    assert!(
        peak >= 1 && peak <= cores,
        "{peak} hashes ran at once on {cores} cores"
    );
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn sign_in_sends_a_person_only_to_paths_of_this_site(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.signup("ada@example.com").await;
    let cases = [
        ("/settings", "/settings"),
        ("/contacts?q=ada", "/contacts?q=ada"),
        ("/\t/evil.example", "/contacts"),
        ("/\n/evil.example", "/contacts"),
        ("/\\evil.example", "/contacts"),
        ("//evil.example", "/contacts"),
        ("https://evil.example/", "/contacts"),
        ("/\u{0}x", "/contacts"),
        ("/\u{7}x", "/contacts"),
        ("/caf\u{e9}", "/caf%C3%A9"),
    ];
    for (next, want) in cases {
        let res = app
            .post_form(
                "/login",
                &[
                    ("email", "ada@example.com"),
                    ("password", "correct horse battery"),
                    ("next", next),
                ],
            )
            .await;
        assert!(res.status().is_redirection(), "{next:?}: {}", res.status());
        assert_eq!(res.headers()["location"], want, "{next:?}");
        assert!(
            session_cookie(res.headers()).is_some(),
            "{next:?}: signed in"
        );
    }
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn other_host_names_are_refused_so_dns_rebinding_gets_nothing(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    let rebound = format!("rebind.example:{port}");
    let page = app
        .client
        .get(app.url("/login"))
        .header("host", &rebound)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::MISDIRECTED_REQUEST);
    let body: Value = page.json().await.unwrap();
    assert_eq!(body["error"]["code"], "misdirected_request");

    // The page's own Origin matches its Host, as it would after rebinding: refused all the same, and nothing written.
    let signup = app
        .client
        .post(app.url("/api/auth/signup"))
        .header("host", &rebound)
        .header("origin", format!("http://{rebound}"))
        .json(&signup_body("ada@example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(signup.status(), StatusCode::MISDIRECTED_REQUEST);
    assert_eq!(app.count("users").await, 0);

    // The load balancer's probes answer whatever host they use.
    let probe = app
        .client
        .get(app.url("/healthz"))
        .header("host", "10.0.0.5")
        .send()
        .await
        .unwrap();
    assert_eq!(probe.status(), StatusCode::OK);
}

/// Sends `head` and then `body` on a fresh connection and answers the status line and body of the response.
async fn raw(app: &TestApp, head: &str, body: &[u8]) -> (u16, String) {
    let addr = app.base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(head.as_bytes()).await.unwrap();
    // The server may answer (and close) before it has read everything: a failed write is part of the answer.
    let _ = tcp.write_all(body).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn huge_bodies_are_refused_with_413_declared_or_chunked(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let mut big = signup_body("ada@example.com");
    big["name"] = Value::String("x".repeat(300 * 1024));
    let res = app.post("/api/auth/signup", big, None).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_large");

    // Without a length, the body is cut off at the limit as it is read.
    let addr = app.base.trim_start_matches("http://").to_owned();
    let head = format!(
        "POST /api/auth/signup HTTP/1.1\r\nHost: {addr}\r\nOrigin: {}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        app.base
    );
    let chunk = "a".repeat(64 * 1024);
    let mut chunks = String::from("{\"name\": \"");
    chunks = format!("{:x}\r\n{chunks}\r\n", chunks.len());
    for _ in 0..6 {
        chunks.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    chunks.push_str("0\r\n\r\n");
    let (status, text) = raw(&app, &head, chunks.as_bytes()).await;
    assert_eq!(status, 413, "{}", &text[..text.len().min(300)]);
    assert!(
        text.contains("too_large"),
        "{}",
        &text[..text.len().min(300)]
    );
    assert_eq!(app.count("users").await, 0);
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn stalled_clients_hold_a_place_only_until_the_deadline(pool: PgPool) {
    let app = TestApp::spawn_with(
        pool,
        Options {
            limits: server::limits::Limits {
                in_flight: 2,
                timeout: Duration::from_secs(1),
                ..server::limits::Limits::default()
            },
            ..Options::default()
        },
    )
    .await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    // Two clients announce a body and never send it: they take both places.
    let head = format!(
        "POST /api/auth/login HTTP/1.1\r\nHost: {addr}\r\nOrigin: {}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\nConnection: close\r\n\r\n",
        app.base
    );
    let stalled: Vec<_> = (0..2)
        .map(|_| {
            let addr = addr.clone();
            let head = head.clone();
            tokio::spawn(async move {
                let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
                tcp.write_all(head.as_bytes()).await.unwrap();
                let mut answer = Vec::new();
                let _ = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut answer))
                    .await;
                String::from_utf8_lossy(&answer).into_owned()
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let busy = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(busy.headers()["retry-after"], "1");
    let body: Value = busy.json().await.unwrap();
    assert_eq!(body["error"]["code"], "overloaded");

    // At the deadline the stalled requests are answered and let go; the server serves again.
    for s in stalled {
        let text = s.await.unwrap();
        assert!(text.starts_with("HTTP/1.1 503"), "{text}");
        assert!(text.contains("\"timeout\""), "{text}");
    }
    let again = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn amounts_are_bounded_and_board_totals_cannot_overflow(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (cookie, org) = crate::common::admin(&app, "ada@example.com").await;
    let pipeline = crate::crm::first_pipeline(&app, &cookie).await;
    let pipeline = pipeline["id"].as_str().unwrap().to_owned();
    let deal = |minor: i64| {
        json!({"title": "Big one", "pipeline_id": pipeline,
               "amount": {"amount_minor": minor, "currency": "EUR"}})
    };
    let huge = json_of(
        app.send(Method::POST, "/api/deals", Some(deal(i64::MAX)), &cookie)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        huge["error"]["fields"]["amount"]
            .as_str()
            .unwrap()
            .contains("at most"),
        "{huge}"
    );
    let typed = json_of(
        app.send(
            Method::POST,
            "/api/deals",
            Some(json!({"title": "Typed", "pipeline_id": pipeline, "amount": "99999999999999999999"})),
            &cookie,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(typed["error"]["fields"]["amount"].is_string(), "{typed}");
    // Past 64 bits (as a browser's JavaScript rounds i64::MAX up), and fractions of a cent: the field is named too.
    for amount in [
        json!({"amount_minor": 9_223_372_036_854_775_808_u64, "currency": "EUR"}),
        json!({"amount_minor": 12.5, "currency": "EUR"}),
    ] {
        let past = json_of(
            app.send(
                Method::POST,
                "/api/deals",
                Some(json!({"title": "Past", "pipeline_id": pipeline, "amount": amount})),
                &cookie,
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert!(past["error"]["fields"]["amount"].is_string(), "{past}");
    }
    assert_eq!(app.count("deals").await, 0, "nothing was written");

    let max = clearview::domain::Money::MAX_MINOR;
    for _ in 0..3 {
        json_of(
            app.send(Method::POST, "/api/deals", Some(deal(max)), &cookie)
                .await,
            StatusCode::CREATED,
        )
        .await;
    }
    // Far more than 64 bits hold, as deals from before the bound (or enough of them at the bound) could add up to.
    sqlx::query(
        "update deal_totals set amount = amount + 100000000000000000000000
         where org_id = $1::uuid and with_amount > 0 and slot = (select min(slot) from deal_totals
                                                                  where org_id = $1::uuid and with_amount > 0)",
    )
    .bind(&org)
    .execute(&app.pool)
    .await
    .unwrap();
    // Read as exact integers: a JSON number past 2^64 is no f64.
    #[derive(serde::Deserialize)]
    struct Column {
        count: i64,
        total_minor: i128,
    }
    #[derive(serde::Deserialize)]
    struct Board {
        stages: Vec<Column>,
    }
    let res = app
        .send(
            Method::GET,
            &format!("/api/pipelines/{pipeline}/deals"),
            None,
            &cookie,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let board: Board = serde_json::from_str(&res.text().await.unwrap()).unwrap();
    let lead = &board.stages[0];
    assert_eq!(lead.count, 3);
    assert_eq!(
        lead.total_minor,
        100_000_000_000_000_000_000_000 + 3 * i128::from(max)
    );
    let page = app.get("/pipeline", Some(&cookie)).await;
    assert_eq!(
        page.status(),
        StatusCode::OK,
        "the board page renders the totals too"
    );
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn nul_bytes_and_oversized_text_are_refused_with_the_field_named(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (cookie, _) = crate::common::admin(&app, "ada@example.com").await;
    let field_of =
        |body: &Value, field: &str| body["error"]["fields"][field].as_str().map(str::to_owned);

    let contact = json_of(
        app.send(
            Method::POST,
            "/api/contacts",
            Some(json!({"first_name": "Ada\u{0}", "last_name": "Lovelace"})),
            &cookie,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(field_of(&contact, "first_name").is_some(), "{contact}");
    let nested = json_of(
        app.send(
            Method::POST,
            "/api/activities",
            Some(json!({"kind": "note", "subject": "x", "metadata": {"tags": ["ok", "bad\u{0}"]}})),
            &cookie,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(field_of(&nested, "metadata.tags.1").is_some(), "{nested}");
    assert_eq!(app.count("contacts").await, 0);
    assert_eq!(app.count("activities").await, 0);

    for (query, field, status) in [
        ("q=ada%00", "q", StatusCode::BAD_REQUEST),
        (
            &*format!("q={}", "a".repeat(5000)),
            "q",
            StatusCode::BAD_REQUEST,
        ),
        (
            &*format!("q={}", "a".repeat(201)),
            "q",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        // A cursor whose key is a NUL byte (hex 00).
        (
            "cursor=name.asc.00.0191f0c0-0000-7000-8000-000000000000",
            "cursor",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let res = app
            .send(
                Method::GET,
                &format!("/api/contacts?{query}"),
                None,
                &cookie,
            )
            .await;
        let body = json_of(res, status).await;
        assert!(field_of(&body, field).is_some(), "{query}: {body}");
    }

    let login = json_of(
        app.post(
            "/api/auth/login",
            json!({"email": "ada@example.com\u{0}", "password": "correct horse battery"}),
            None,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(field_of(&login, "email").is_some(), "{login}");
    let long = json_of(
        app.post(
            "/api/auth/login",
            json!({"email": format!("{}@example.com", "a".repeat(3000)), "password": "x"}),
            None,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(field_of(&long, "email").is_some(), "{long}");
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn markup_in_data_stays_text_on_every_page(pool: PgPool) {
    const PAYLOAD: &str = "X</title><script>alert(1)</script><b title=\"";
    let app = TestApp::spawn(pool).await;
    let mut body = signup_body("ada@example.com");
    body["name"] = json!(PAYLOAD);
    body["organization_name"] = json!(PAYLOAD);
    let res = app.post("/api/auth/signup", body, None).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let cookie = crate::common::session_cookie(res.headers()).unwrap().value;

    let contact = json_of(
        app.send(
            Method::POST,
            "/api/contacts",
            Some(json!({"first_name": PAYLOAD, "last_name": PAYLOAD, "company": PAYLOAD, "title": PAYLOAD})),
            &cookie,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let cid = contact["id"].as_str().unwrap();
    let pipeline = crate::crm::first_pipeline(&app, &cookie).await;
    let deal = json_of(
        app.send(
            Method::POST,
            "/api/deals",
            Some(json!({"title": PAYLOAD, "contact_id": cid, "pipeline_id": pipeline["id"]})),
            &cookie,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let did = deal["id"].as_str().unwrap();
    json_of(
        app.send(
            Method::POST,
            "/api/activities",
            Some(json!({"kind": "note", "deal_id": did, "contact_id": cid, "subject": PAYLOAD, "body": PAYLOAD})),
            &cookie,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;

    // An invitation: its page (seen signed out) names the workspace and who invited.
    let org = crate::common::json_of(app.get("/api/auth/me", Some(&cookie)).await, StatusCode::OK)
        .await["organization"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    json_of(
        app.send(
            Method::POST,
            &format!("/api/organizations/{org}/invite"),
            Some(json!({"email": "grace@example.com", "role": "rep"})),
            &cookie,
        )
        .await,
        StatusCode::ACCEPTED,
    )
    .await;
    let mail: Value = sqlx::query_scalar("select payload from jobs")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let text = mail["text"].as_str().unwrap().to_owned();
    let token = text
        .lines()
        .find_map(|l| l.split_once("/invite?token=").map(|(_, t)| t.to_owned()))
        .unwrap_or_else(|| panic!("no link in {text}"));
    let invite = app.get(&format!("/invite?token={token}"), None).await;
    assert_eq!(invite.status(), StatusCode::OK);
    let html = invite.text().await.unwrap();
    assert!(
        html.contains("X&lt;/title&gt;"),
        "/invite: the workspace is named"
    );
    assert!(
        !html.contains("<script>alert(1)"),
        "/invite: markup from data is live in:\n{html}"
    );

    for page in [
        "/contacts".to_owned(),
        format!("/contacts?q={}", "X%3C%2Ftitle"),
        format!("/contacts/{cid}"),
        format!("/deals/{did}"),
        "/pipeline".to_owned(),
        "/settings".to_owned(),
        "/settings/members".to_owned(),
    ] {
        let res = app.get(&page, Some(&cookie)).await;
        assert_eq!(res.status(), StatusCode::OK, "{page}");
        let html = res.text().await.unwrap();
        assert!(
            html.contains("X&lt;/title&gt;"),
            "{page}: the data is on the page, as text"
        );
        assert!(
            !html.contains("<script>alert(1)"),
            "{page}: markup from data is live in:\n{html}"
        );
        assert!(!html.contains("</title><script>"), "{page}");
        assert_eq!(html.matches("<title>").count(), 1, "{page}: one title");
    }
}

/// Reads a live stream until `want` arrives or it ends; answers what was read.
async fn read_stream_until(res: &mut reqwest::Response, want: &str, within: Duration) -> String {
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + within;
    while !seen.contains(want) {
        match tokio::time::timeout_at(deadline, res.chunk()).await {
            Ok(Ok(Some(bytes))) => seen.push_str(&String::from_utf8_lossy(&bytes)),
            _ => break,
        }
    }
    seen
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn live_streams_are_capped_and_end_with_the_session_or_the_membership(pool: PgPool) {
    let app = TestApp::spawn_with(
        pool,
        Options {
            limits: server::limits::Limits {
                streams: server::live::StreamLimits {
                    per_session: 2,
                    total: 4,
                    recheck: Duration::from_millis(200),
                },
                ..server::limits::Limits::default()
            },
            ..Options::default()
        },
    )
    .await;
    let (ada, org) = crate::common::admin(&app, "ada@example.com").await;
    let bob = crate::common::member(&app, &org, "bob@example.com", "rep").await;
    let carol = crate::common::member(&app, &org, "carol@example.com", "rep").await;
    let pipeline = crate::crm::first_pipeline(&app, &ada).await;
    let events = format!("/api/pipelines/{}/events", pipeline["id"].as_str().unwrap());
    let open = |cookie: String| {
        let app = app.clone();
        let events = events.clone();
        async move { app.send(Method::GET, &events, None, &cookie).await }
    };

    let mut ada_streams = vec![open(ada.clone()).await, open(ada.clone()).await];
    for s in &ada_streams {
        assert_eq!(s.status(), StatusCode::OK);
    }
    let third = open(ada.clone()).await;
    assert_eq!(
        third.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "a session holds at most two"
    );
    assert!(third.headers().contains_key("retry-after"));
    let mut bob_stream = open(bob.clone()).await;
    assert_eq!(bob_stream.status(), StatusCode::OK);
    let carol_first = open(carol.clone()).await;
    assert_eq!(carol_first.status(), StatusCode::OK);
    let over = open(carol.clone()).await;
    assert_eq!(
        over.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "the server holds at most four"
    );
    assert!(over.headers().contains_key("retry-after"));

    // Ada signs out: both her streams say so and close within a recheck or two.
    let out = app.post("/api/auth/logout", json!({}), Some(&ada)).await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    for s in &mut ada_streams {
        let seen = read_stream_until(s, "\"unauthenticated\"", Duration::from_secs(5)).await;
        assert!(seen.contains("event: ended"), "{seen}");
        assert!(
            s.chunk().await.unwrap_or(None).is_none(),
            "the stream closed"
        );
    }

    // Bob is removed from the workspace by another admin's hand (here: directly): his stream ends too.
    sqlx::query("delete from memberships where org_id = $1::uuid and user_id = (select id from users where email = 'bob@example.com')")
        .bind(&org)
        .execute(&app.pool)
        .await
        .unwrap();
    let seen = read_stream_until(&mut bob_stream, "event: ended", Duration::from_secs(5)).await;
    assert!(seen.contains("event: ended"), "{seen}");

    // Their places are free again.
    let again = open(carol.clone()).await;
    assert_eq!(again.status(), StatusCode::OK);
    drop(carol_first);
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn an_import_names_every_column_whose_data_no_field_takes_before_writing(pool: PgPool) {
    use crate::crm::import;
    let app = TestApp::spawn(pool).await;
    let (cookie, _) = crate::common::admin(&app, "ada@example.com").await;
    // As Outlook exports contacts (a few of its columns).
    let outlook = "First Name,Middle Name,Last Name,E-mail Address,Mobile Phone,Business Phone,Notes\n\
                   Hedy,,Lamarr,hedy@example.com,+1 555 0100,+1 555 0199,Inventor\n\
                   Alan,,Turing,alan@example.com,,,\n";

    let refused = json_of(
        import(&app, &cookie, &[("file", outlook, Some("contacts.csv"))]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let fields = refused["error"]["fields"].as_object().unwrap();
    let named: Vec<&str> = fields.keys().map(String::as_str).collect();
    assert_eq!(
        named,
        ["columns.Business Phone", "columns.Notes"],
        "{refused}"
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nothing was imported"),
        "{refused}"
    );
    assert_eq!(app.count("contacts").await, 0, "nothing was written");

    // Confirming one of the two is not enough.
    let half = json_of(
        import(
            &app,
            &cookie,
            &[
                ("file", outlook, Some("contacts.csv")),
                ("leave_out", "Notes", None),
            ],
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        half["error"]["fields"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["columns.Business Phone"]
    );

    // Confirmed: the e-mail addresses arrive (Outlook's header is matched), and the answer names what was left out.
    let report = json_of(
        import(
            &app,
            &cookie,
            &[
                ("file", outlook, Some("contacts.csv")),
                ("leave_out", "Notes, Business Phone", None),
            ],
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(report["created"], 2);
    assert_eq!(report["columns"]["email"], "E-mail Address");
    assert_eq!(report["columns"]["phone"], "Mobile Phone");
    assert_eq!(report["left_out"], json!(["Business Phone", "Notes"]));
    let emails: Vec<String> = sqlx::query_scalar(
        "select email::text from contacts where email is not null order by email",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(emails, ["alan@example.com", "hedy@example.com"]);

    // The plain form lands on the page with the columns named.
    let form = import(
        &app,
        &cookie,
        &[
            ("file", "First name,Shoe size\nGrace,7\n", Some("more.csv")),
            ("redirect", "/contacts", None),
        ],
    )
    .await;
    let to = form.headers()["location"].to_str().unwrap().to_owned();
    let page = app.get(&to, Some(&cookie)).await.text().await.unwrap();
    assert!(page.contains("Shoe size"), "{to}");
    assert!(page.contains("nothing was imported"), "{to}");
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn a_client_that_never_finishes_its_headers_is_disconnected(pool: PgPool) {
    let app = TestApp::spawn_with(
        pool,
        Options {
            limits: server::limits::Limits {
                header_read: Duration::from_millis(500),
                ..server::limits::Limits::default()
            },
            ..Options::default()
        },
    )
    .await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    tcp.write_all(format!("GET /contacts HTTP/1.1\r\nHost: {addr}\r\nX-Slow: ").as_bytes())
        .await
        .unwrap();
    // The server closes the connection (with or without a 408) instead of waiting for the rest.
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut rest)).await;
    assert!(
        closed.is_ok(),
        "the half-sent request was still held open after 5 s"
    );
    let again = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
}
