//! The contacts, deals, board and activities routes of the REST API over real HTTP: statuses and bodies, roles,
//! another workspace's ids, bad input, and that refused requests change nothing.
#![expect(
    clippy::unwrap_used,
    reason = "helpers of the tests: a failed step must fail the test that called it"
)]

use crate::common::{TestApp, admin, json_of, member};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server::web::SESSION_COOKIE;
use sqlx::PgPool;

pub(crate) async fn first_pipeline(app: &TestApp, cookie: &str) -> Value {
    let body = json_of(
        app.send(Method::GET, "/api/pipelines", None, cookie).await,
        StatusCode::OK,
    )
    .await;
    body["items"][0].clone()
}

fn stage_id(pipeline: &Value, name: &str) -> String {
    pipeline["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .and_then(|s| s["id"].as_str())
        .unwrap()
        .to_owned()
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn a_rep_works_a_contact_through_a_deal_and_a_call(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (cookie, _) = admin(&app, "ada@example.com").await;

    let contact = json_of(
        app.send(
            Method::POST,
            "/api/contacts",
            Some(json!({"first_name": "Grace", "last_name": "Hopper", "email": "grace@navy.mil", "company": "US Navy"})),
            &cookie,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let cid = contact["id"].as_str().unwrap();
    assert_eq!(contact["version"], 1);

    let listed = json_of(
        app.send(Method::GET, "/api/contacts?q=navy&limit=10", None, &cookie)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert!(listed["next_cursor"].is_null());

    let updated = json_of(
        app.send(
            Method::PUT,
            &format!("/api/contacts/{cid}"),
            Some(json!({"first_name": "Grace", "last_name": "Hopper", "company": "Yale", "version": 1})),
            &cookie,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(updated["company"], "Yale");
    // The same stale version again: 409, and the first update stands.
    let stale = app
        .send(
            Method::PUT,
            &format!("/api/contacts/{cid}"),
            Some(json!({"first_name": "Grace", "last_name": "Hopper", "company": "Harvard", "version": 1})),
            &cookie,
        )
        .await;
    assert_eq!(
        json_of(stale, StatusCode::CONFLICT).await["error"]["code"],
        "conflict"
    );

    let pipeline = first_pipeline(&app, &cookie).await;
    let deal = json_of(
        app.send(
            Method::POST,
            "/api/deals",
            Some(
                json!({"title": "Compiler", "contact_id": cid, "pipeline_id": pipeline["id"],
                        "amount": {"amount_minor": 1_250_000, "currency": "EUR"}}),
            ),
            &cookie,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let did = deal["id"].as_str().unwrap();
    assert_eq!(deal["stage_name"], "Lead");
    assert_eq!(deal["probability"], 10);

    let theirs = json_of(
        app.send(
            Method::GET,
            &format!("/api/contacts/{cid}/deals"),
            None,
            &cookie,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(theirs["items"][0]["id"], did);

    let call = json_of(
        app.send(
            Method::POST,
            "/api/activities",
            Some(json!({"kind": "call", "deal_id": did, "contact_id": cid, "subject": "Intro call",
                        "metadata": {"duration_seconds": 420, "direction": "outbound", "outcome": "connected"}})),
            &cookie,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(call["metadata"]["duration_seconds"], 420);
    let timeline = json_of(
        app.send(
            Method::GET,
            &format!("/api/activities?deal_id={did}&kind=call"),
            None,
            &cookie,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(timeline["items"][0]["subject"], "Intro call");

    // Move on the board, then read the board and one column's page. Its audit entry is written by the move's own
    // update statement, and the server seals it like any other (everything before it sealed first, to show that).
    app.assert_audit_sealed().await;
    let moved = json_of(
        app.send(
            Method::PATCH,
            &format!("/api/deals/{did}"),
            Some(json!({"version": deal["version"], "stage_id": stage_id(&pipeline, "Proposal")})),
            &cookie,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(moved["stage_name"], "Proposal");
    app.assert_audit_sealed().await;
    let pid = pipeline["id"].as_str().unwrap();
    let board = json_of(
        app.send(
            Method::GET,
            &format!("/api/pipelines/{pid}/deals"),
            None,
            &cookie,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let proposal = board["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Proposal")
        .unwrap();
    assert_eq!(proposal["count"], 1);
    assert_eq!(proposal["total_minor"], 1_250_000);
    assert_eq!(proposal["weighted_minor"], 625_000);
    let column = json_of(
        app.send(
            Method::GET,
            &format!(
                "/api/pipelines/{pid}/deals?stage_id={}",
                stage_id(&pipeline, "Proposal")
            ),
            None,
            &cookie,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(column["items"][0]["id"], did);

    let res = app
        .send(Method::DELETE, &format!("/api/deals/{did}"), None, &cookie)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .send(
            Method::DELETE,
            &format!("/api/contacts/{cid}"),
            None,
            &cookie,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.count("contacts").await, 0);
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn another_workspaces_ids_are_404_on_every_route_and_change_nothing(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (ours, _) = admin(&app, "ada@example.com").await;
    let (theirs, _) = admin(&app, "eve@example.com").await;

    let contact = json_of(
        app.send(
            Method::POST,
            "/api/contacts",
            Some(json!({"first_name": "Grace", "last_name": "Hopper"})),
            &ours,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let cid = contact["id"].as_str().unwrap();
    let pipeline = first_pipeline(&app, &ours).await;
    let pid = pipeline["id"].as_str().unwrap();
    let deal = json_of(
        app.send(
            Method::POST,
            "/api/deals",
            Some(json!({"title": "Compiler", "contact_id": cid, "pipeline_id": pid})),
            &ours,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let did = deal["id"].as_str().unwrap();
    let audit_before = app.count("audit_log").await;

    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/api/contacts/{cid}"), None),
        (
            Method::PUT,
            format!("/api/contacts/{cid}"),
            Some(json!({"first_name": "Eve", "last_name": "Was here"})),
        ),
        (Method::DELETE, format!("/api/contacts/{cid}"), None),
        (Method::GET, format!("/api/contacts/{cid}/deals"), None),
        (Method::GET, format!("/api/deals/{did}"), None),
        (
            Method::PATCH,
            format!("/api/deals/{did}"),
            Some(json!({"version": 1, "title": "Stolen"})),
        ),
        (Method::DELETE, format!("/api/deals/{did}"), None),
        (Method::GET, format!("/api/pipelines/{pid}/deals"), None),
        (
            Method::POST,
            "/api/deals".into(),
            Some(json!({"title": "Mine now", "pipeline_id": pid})),
        ),
        (Method::GET, format!("/api/activities?deal_id={did}"), None),
        (
            Method::POST,
            "/api/activities".into(),
            Some(json!({"kind": "note", "deal_id": did, "subject": "peek"})),
        ),
    ];
    for (method, path, body) in routes {
        let res = app.send(method.clone(), &path, body, &theirs).await;
        let body = json_of(res, StatusCode::NOT_FOUND).await;
        assert_eq!(body["error"]["code"], "not_found", "{method} {path}");
    }
    assert_eq!(app.count("audit_log").await, audit_before);
    let still = json_of(
        app.send(Method::GET, &format!("/api/deals/{did}"), None, &ours)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(still["title"], "Compiler");
    assert_eq!(still["version"], deal["version"]);
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn a_changed_role_is_caught_before_anything_runs_and_then_applies(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (admin_cookie, org) = admin(&app, "ada@example.com").await;
    let rep = member(&app, &org, "rep@example.com", "rep").await;
    let (app, admin_cookie, rep) = (&app, &admin_cookie, &rep);
    let set_role = |role: &'static str| {
        let pool = app.pool.clone();
        let org = org.clone();
        async move {
            sqlx::query(
                "update memberships set role = $1 where org_id = $2::uuid
                 and user_id = (select id from users where email = 'rep@example.com')",
            )
            .bind(role)
            .bind(org)
            .execute(&pool)
            .await
            .unwrap();
        }
    };
    let create_contact = |first_name: &'static str, cookie: String| async move {
        json_of(
            app.send(
                Method::POST,
                "/api/contacts",
                Some(json!({"first_name": first_name, "last_name": "Hopper"})),
                &cookie,
            )
            .await,
            StatusCode::CREATED,
        )
        .await
    };
    let new_contact = || async {
        let c = create_contact("Grace", admin_cookie.clone()).await;
        c["id"].as_str().unwrap().to_owned()
    };
    let exists = |id: String| async move {
        app.send(
            Method::GET,
            &format!("/api/contacts/{id}"),
            None,
            admin_cookie,
        )
        .await
        .status()
            == StatusCode::OK
    };
    let delete = |id: String| async move {
        app.send(Method::DELETE, &format!("/api/contacts/{id}"), None, rep)
            .await
    };

    let cid = new_contact().await;
    assert_eq!(delete(cid.clone()).await.status(), StatusCode::FORBIDDEN);

    // Promoted while the session remembers "rep": the very next request acts as a manager. The stale role is caught
    // (forbidden, or refused by the member transaction) before anything is done, and the request answered again with
    // the membership read afresh.
    set_role("manager").await;
    let res = delete(cid.clone()).await;
    assert!(res.headers().get("x-clearview-scope-changed").is_none());
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(!exists(cid).await);

    // Demoted: the manager's right goes with the role, at once, and the contact stays.
    let cid = new_contact().await;
    set_role("rep").await;
    let res = delete(cid.clone()).await;
    assert!(res.headers().get("x-clearview-scope-changed").is_none());
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(exists(cid.clone()).await);
    // A change that only a role's own transaction notices (a read both roles may do) is answered all the same.
    set_role("manager").await;
    let list = json_of(
        app.send(Method::GET, "/api/contacts", None, rep).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");
    set_role("rep").await;
    let page = app.send(Method::GET, "/contacts", None, rep).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers().get("x-clearview-scope-changed").is_none());
    // A request with a body is answered again with that same body, and what it asks is done once.
    set_role("manager").await;
    let created = create_contact("Katherine", rep.clone()).await;
    assert_eq!(created["first_name"], "Katherine", "{created}");
    let katherines: i64 = sqlx::query_scalar(
        "select count(*) from contacts where org_id = $1::uuid and first_name = 'Katherine'",
    )
    .bind(&org)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(katherines, 1);
    set_role("rep").await;

    // Removed from the workspace: the next request is back in their own workspace, where the old one's contacts are
    // not.
    sqlx::query("delete from memberships where org_id = $1::uuid and role = 'rep'")
        .bind(&org)
        .execute(&app.pool)
        .await
        .unwrap();
    let list = json_of(
        app.send(Method::GET, "/api/contacts", None, rep).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0), "{list}");
    assert_eq!(
        app.send(Method::GET, &format!("/api/contacts/{cid}"), None, rep)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn roles_are_enforced_by_the_server(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (admin_cookie, org) = admin(&app, "ada@example.com").await;
    let rep = member(&app, &org, "rep@example.com", "rep").await;
    let manager = member(&app, &org, "boss@example.com", "manager").await;

    let contact = json_of(
        app.send(
            Method::POST,
            "/api/contacts",
            Some(json!({"first_name": "Grace", "last_name": "Hopper"})),
            &rep,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let cid = contact["id"].as_str().unwrap();
    let deal = json_of(
        app.send(
            Method::POST,
            "/api/deals",
            Some(json!({"title": "Admin's deal"})),
            &admin_cookie,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let did = deal["id"].as_str().unwrap();

    // A rep: no deleting contacts, no setting probability, no changing someone else's deal.
    for (method, path, body) in [
        (Method::DELETE, format!("/api/contacts/{cid}"), None),
        (
            Method::PATCH,
            format!("/api/deals/{did}"),
            Some(json!({"version": deal["version"], "probability": 80})),
        ),
        (
            Method::PATCH,
            format!("/api/deals/{did}"),
            Some(json!({"version": deal["version"], "title": "Mine"})),
        ),
        (Method::DELETE, format!("/api/deals/{did}"), None),
    ] {
        let res = app.send(method.clone(), &path, body, &rep).await;
        let body = json_of(res, StatusCode::FORBIDDEN).await;
        assert_eq!(body["error"]["code"], "forbidden", "{method} {path}");
    }
    let unchanged = json_of(
        app.send(Method::GET, &format!("/api/deals/{did}"), None, &rep)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(unchanged["version"], deal["version"]);
    assert_eq!(unchanged["probability_explicit"], false);

    // A manager may set the probability and delete.
    let set = json_of(
        app.send(
            Method::PATCH,
            &format!("/api/deals/{did}"),
            Some(json!({"version": deal["version"], "probability": 80})),
            &manager,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(set["probability"], 80);
    let res = app
        .send(
            Method::DELETE,
            &format!("/api/contacts/{cid}"),
            None,
            &manager,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn bad_input_gets_clear_errors_never_a_500(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (cookie, _) = admin(&app, "ada@example.com").await;

    let body = json_of(
        app.send(
            Method::POST,
            "/api/contacts",
            Some(json!({"first_name": "", "last_name": "X", "email": "nope"})),
            &cookie,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(body["error"]["code"], "validation_failed");
    assert!(body["error"]["fields"]["first_name"].is_string(), "{body}");
    assert!(body["error"]["fields"]["email"].is_string(), "{body}");

    let body = json_of(
        app.send(
            Method::POST,
            "/api/deals",
            Some(json!({"title": "X", "amount": "twelve", "currency": "EUR"})),
            &cookie,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(body["error"]["fields"]["amount"].is_string(), "{body}");

    let body = json_of(
        app.send(
            Method::POST,
            "/api/activities",
            Some(
                json!({"kind": "call", "subject": "Hi", "metadata": {"duration_seconds": "long"}}),
            ),
            &cookie,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(body["error"]["code"], "validation_failed");

    // Not a UUID: names nothing.
    let res = app
        .send(Method::GET, "/api/contacts/not-a-uuid", None, &cookie)
        .await;
    assert_eq!(
        json_of(res, StatusCode::NOT_FOUND).await["error"]["code"],
        "not_found"
    );
    // A query string of the wrong type, or a forged cursor.
    let res = app
        .send(Method::GET, "/api/contacts?limit=lots", None, &cookie)
        .await;
    assert_eq!(
        json_of(res, StatusCode::BAD_REQUEST).await["error"]["code"],
        "bad_request"
    );
    let res = app
        .send(Method::GET, "/api/contacts?cursor=zzz", None, &cookie)
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = app
        .send(
            Method::GET,
            "/api/activities?metadata=%5B1%5D",
            None,
            &cookie,
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Without a session: 401 in the same shape.
    let res = app
        .client
        .get(app.url("/api/contacts"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_of(res, StatusCode::UNAUTHORIZED).await["error"]["code"],
        "unauthenticated"
    );
    assert_eq!(app.count("contacts").await, 0);
    assert_eq!(app.count("deals").await, 0);
    assert_eq!(app.count("activities").await, 0);

    // A page's form as the app's script sends it: its fields as they are, parsed by the server alone. A version that
    // is not a number is the client's mistake (400, not 500) and changes nothing.
    let id = created(
        &app,
        "/api/contacts",
        json!({"first_name": "Grace", "last_name": "Hopper"}),
        cookie.clone(),
    )
    .await;
    let id = id.as_str();
    let path = format!("/api/contacts/{id}");
    let before = json_of(
        app.send(Method::GET, &path, None, &cookie).await,
        StatusCode::OK,
    )
    .await;
    let page = app
        .get(&format!("/contacts/{id}"), Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    let start = page.find("action=\"/fn/update_contact").unwrap() + "action=\"".len();
    let action = &page[start..start + page[start..].find('"').unwrap()];
    let res = app
        .client
        .post(app.url(action))
        .header("origin", &app.base)
        .header("cookie", format!("{SESSION_COOKIE}={cookie}"))
        .header("accept", "application/json")
        .form(&[
            ("id", id),
            ("version", "one"),
            ("first_name", "Amazing"),
            ("last_name", "Grace"),
        ])
        .send()
        .await
        .unwrap();
    let body = json_of(res, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["code"], "validation_failed", "{body}");
    let after = json_of(
        app.send(Method::GET, &path, None, &cookie).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(after, before, "the contact is as it was");
}

/// Reads server-sent events until one named `kind` arrives; its data as JSON. `None` after `wait`.
async fn next_event(
    res: &mut reqwest::Response,
    buf: &mut String,
    kind: &str,
    wait: std::time::Duration,
) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let name = block
                .lines()
                .find_map(|l| l.strip_prefix("event:"))
                .map(str::trim);
            let data = block
                .lines()
                .find_map(|l| l.strip_prefix("data:"))
                .map(str::trim);
            if name == Some(kind) {
                return Some(serde_json::from_str(data.unwrap_or("null")).unwrap());
            }
        }
        let chunk = tokio::time::timeout_at(deadline, res.chunk())
            .await
            .ok()?
            .unwrap()?;
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

/// The next change the board hears of, within 5 s.
async fn announced(stream: &mut reqwest::Response, buf: &mut String, what: &str) -> Value {
    next_event(stream, buf, "deal", std::time::Duration::from_secs(5))
        .await
        .unwrap_or_else(|| panic!("{what}: not heard within 5 s"))
}

/// Changes are announced once committed, by the server that made them, to every server's boards (D-019): here the
/// watcher is on one server and the move, the note and the deletion are made through another.
#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn a_watching_board_hears_of_its_own_workspaces_changes_only(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let other = TestApp::spawn(pool).await;
    let (a, _) = admin(&app, "a@example.com").await;
    let (b, _) = admin(&app, "b@example.com").await;
    let pa = first_pipeline(&app, &a).await;
    let pb = first_pipeline(&app, &b).await;
    let events = |p: &Value| format!("/api/pipelines/{}/events", p["id"].as_str().unwrap());

    // Another workspace's board does not exist for you; nobody's board exists for a stranger.
    let res = app.send(Method::GET, &events(&pb), None, &a).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app.client.get(app.url(&events(&pa))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let mut stream = app.send(Method::GET, &events(&pa), None, &a).await;
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(
        stream.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let mut buf = String::new();
    let new_deal = |cookie: String, pipeline: Value, title: &'static str| {
        let app = &app;
        async move {
            json_of(
                app.send(
                    Method::POST,
                    "/api/deals",
                    Some(json!({"title": title, "pipeline_id": pipeline["id"]})),
                    &cookie,
                )
                .await,
                StatusCode::CREATED,
            )
            .await
        }
    };
    // The process starts listening in the background: wait until a change of ours is heard.
    let mut heard = None;
    for _ in 0..20 {
        let warm = new_deal(a.clone(), pa.clone(), "Warm-up").await;
        if let Some(e) = next_event(
            &mut stream,
            &mut buf,
            "deal",
            std::time::Duration::from_millis(500),
        )
        .await
        {
            assert_eq!(e["deal_id"], warm["id"]);
            heard = Some(e);
            break;
        }
    }
    assert!(heard.is_some(), "no change was announced within 10 s");

    // B's change first, then A's move: the first event A's board hears is its own move.
    new_deal(b.clone(), pb.clone(), "Elsewhere").await;
    let deal = new_deal(a.clone(), pa.clone(), "Watched").await;
    let created = announced(&mut stream, &mut buf, "the new deal is announced").await;
    assert_eq!(created["deal_id"], deal["id"]);
    let target = &pa["stages"][2]["id"];
    json_of(
        other
            .send(
                Method::PATCH,
                &format!("/api/deals/{}", deal["id"].as_str().unwrap()),
                Some(json!({"version": deal["version"], "stage_id": target})),
                &a,
            )
            .await,
        StatusCode::OK,
    )
    .await;
    let moved = announced(&mut stream, &mut buf, "the move is announced").await;
    assert_eq!(moved["deal_id"], deal["id"]);
    assert_eq!(&moved["stage_id"], target);
    assert_eq!(moved["version"], 2);
    assert_eq!(moved["op"], "update");

    // A note logged on the deal may make its card fresh again: the board hears of it too.
    json_of(
        other
            .send(
                Method::POST,
                "/api/activities",
                Some(json!({"kind": "note", "deal_id": deal["id"], "subject": "Spoke to them"})),
                &a,
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    let touched = announced(&mut stream, &mut buf, "the logged activity is announced").await;
    assert_eq!(touched["deal_id"], deal["id"]);
    assert_eq!(touched["version"], 2);

    // Deleting a contact leaves their deal without one: its card changes.
    let contact = json_of(
        other
            .send(
                Method::POST,
                "/api/contacts",
                Some(json!({"first_name": "Grace", "last_name": "Hopper"})),
                &a,
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    let hers = json_of(
        other
            .send(
                Method::POST,
                "/api/deals",
                Some(json!({"title": "Grace's", "pipeline_id": pa["id"], "contact_id": contact["id"]})),
                &a,
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    let created = announced(&mut stream, &mut buf, "her deal is announced").await;
    assert_eq!(created["deal_id"], hers["id"]);
    let res = other
        .send(
            Method::DELETE,
            &format!("/api/contacts/{}", contact["id"].as_str().unwrap()),
            None,
            &a,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let orphaned = announced(&mut stream, &mut buf, "her deal's change is announced").await;
    assert_eq!(orphaned["deal_id"], hers["id"]);

    // Deleting the watched deal: the last thing the board hears.
    let res = other
        .send(
            Method::DELETE,
            &format!("/api/deals/{}", deal["id"].as_str().unwrap()),
            None,
            &a,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let deleted = announced(&mut stream, &mut buf, "the deletion is announced").await;
    assert_eq!(deleted["deal_id"], deal["id"]);
    assert_eq!(deleted["op"], "delete");
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn admins_configure_pipelines_and_stages_and_no_deal_is_lost(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (admin_cookie, org) = admin(&app, "admin@example.com").await;
    let manager = member(&app, &org, "manager@example.com", "manager").await;
    let (other, _) = admin(&app, "other@example.com").await;

    // Only admins configure; another workspace's admin cannot even see it.
    let body = json!({"name": "Renewals", "stages": [
        {"name": "Due", "probability": 60, "rot_days": 14},
        {"name": "Renewed", "kind": "won"},
        {"name": "Churned", "kind": "lost"}
    ]});
    let res = app
        .send(Method::POST, "/api/pipelines", Some(body.clone()), &manager)
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let p = json_of(
        app.send(
            Method::POST,
            "/api/pipelines",
            Some(body.clone()),
            &admin_cookie,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let stages: Vec<&str> = p["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["Due", "Renewed", "Churned"]);
    assert_eq!(p["stages"][1]["probability"], 100);
    let pid = p["id"].as_str().unwrap().to_owned();
    for method in [Method::GET, Method::PATCH, Method::DELETE] {
        let res = app
            .send(
                method.clone(),
                &format!("/api/pipelines/{pid}"),
                Some(json!({"name": "x"})),
                &other,
            )
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{method}");
    }
    // Same name twice, bad stage lists: field errors, nothing written.
    let before = app.count("pipelines").await;
    let dup = json_of(
        app.send(Method::POST, "/api/pipelines", Some(body), &admin_cookie)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(dup["error"]["fields"]["name"].is_string(), "{dup}");
    let bad = json_of(
        app.send(
            Method::POST,
            "/api/pipelines",
            Some(json!({"name": "Bad", "stages": [{"name": "", "probability": 140, "kind": "maybe"}]})),
            &admin_cookie,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    for f in ["stages.0.name", "stages.0.probability", "stages.0.kind"] {
        assert!(bad["error"]["fields"][f].is_string(), "{f}: {bad}");
    }
    assert_eq!(app.count("pipelines").await, before);

    // A stage added in the middle; a stage moved; a won stage's probability is fixed.
    let due = p["stages"][0]["id"].as_str().unwrap().to_owned();
    let churned = p["stages"][2]["id"].as_str().unwrap().to_owned();
    let added = json_of(
        app.send(
            Method::POST,
            &format!("/api/pipelines/{pid}/stages"),
            Some(json!({"name": "Negotiating", "probability": 80, "position": 1})),
            &admin_cookie,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(added["position"], 1);
    let sid = added["id"].as_str().unwrap().to_owned();
    let moved = json_of(
        app.send(
            Method::PATCH,
            &format!("/api/stages/{sid}"),
            Some(json!({"position": 0, "name": "Talking"})),
            &admin_cookie,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (moved["position"].as_i64(), moved["name"].as_str()),
        (Some(0), Some("Talking"))
    );
    let won = p["stages"][1]["id"].as_str().unwrap();
    let res = app
        .send(
            Method::PATCH,
            &format!("/api/stages/{won}"),
            Some(json!({"probability": 50})),
            &admin_cookie,
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let order: Vec<String> = json_of(
        app.send(
            Method::GET,
            &format!("/api/pipelines/{pid}"),
            None,
            &admin_cookie,
        )
        .await,
        StatusCode::OK,
    )
    .await["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| format!("{}@{}", s["name"].as_str().unwrap(), s["position"]))
        .collect();
    assert_eq!(order, ["Talking@0", "Due@1", "Renewed@2", "Churned@3"]);

    // Deleting a stage that holds deals needs a stage of the same kind to move them to; every deal arrives.
    for title in ["One", "Two", "Three"] {
        json_of(
            app.send(
                Method::POST,
                "/api/deals",
                Some(json!({"title": title, "stage_id": due})),
                &admin_cookie,
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
    }
    let res = app
        .send(
            Method::DELETE,
            &format!("/api/stages/{due}"),
            None,
            &admin_cookie,
        )
        .await;
    let body = json_of(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(
        body["error"]["fields"]["move_to"]
            .as_str()
            .unwrap()
            .contains("3 deal"),
        "{body}"
    );
    let res = app
        .send(
            Method::DELETE,
            &format!("/api/stages/{due}?move_to={churned}"),
            None,
            &admin_cookie,
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = app
        .send(
            Method::DELETE,
            &format!("/api/stages/{due}?move_to={sid}"),
            None,
            &admin_cookie,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let board = json_of(
        app.send(
            Method::GET,
            &format!("/api/pipelines/{pid}/deals"),
            None,
            &admin_cookie,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let talking = &board["stages"][0];
    assert_eq!(talking["name"], "Talking");
    assert_eq!(talking["count"], 3);
    let titles: Vec<&str> = talking["deals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        ["One", "Two", "Three"],
        "the moved deals keep their order"
    );
    assert_eq!(board["stages"].as_array().unwrap().len(), 3);

    // The last open stage stays; a pipeline with deals stays; the workspace's last pipeline stays.
    let res = app
        .send(
            Method::DELETE,
            &format!("/api/stages/{sid}"),
            None,
            &admin_cookie,
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let res = app
        .send(
            Method::DELETE,
            &format!("/api/pipelines/{pid}"),
            None,
            &admin_cookie,
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let sales = first_pipeline(&app, &other).await;
    let res = app
        .send(
            Method::DELETE,
            &format!("/api/pipelines/{}", sales["id"].as_str().unwrap()),
            None,
            &other,
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);

    // Every change left its audit row, and the server linked each into the workspace's chain once the request had
    // answered (D-017): nothing stays pending.
    app.assert_audit_sealed().await;
    let actions: Vec<String> = sqlx::query_scalar(
        "select action from audit_log where org_id = $1::uuid and entity_type in ('pipeline', 'stage') order by seq",
    )
    .bind(&org)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        actions,
        [
            "pipeline.created",
            "pipeline.created",
            "stage.created",
            "stage.updated",
            "stage.deleted"
        ]
    );
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn record_pages_of_another_workspace_answer_not_found(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (a, _) = admin(&app, "a@example.com").await;
    let (b, _) = admin(&app, "b@example.com").await;
    let contact = json_of(
        app.send(
            Method::POST,
            "/api/contacts",
            Some(json!({"first_name": "Grace"})),
            &a,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let deal = json_of(
        app.send(
            Method::POST,
            "/api/deals",
            Some(json!({"title": "Turbine"})),
            &a,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let contact_page = format!("/contacts/{}", contact["id"].as_str().unwrap());
    let deal_page = format!("/deals/{}", deal["id"].as_str().unwrap());

    // Its own workspace sees the pages, rendered on the server with the record in them.
    for (path, text) in [(&contact_page, "Grace"), (&deal_page, "Turbine")] {
        let res = app.get(path, Some(&a)).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert!(res.text().await.unwrap().contains(text), "{path}");
    }
    // Another workspace, or an id that is no id: the same 404 page, nothing of the record.
    for path in [
        contact_page.as_str(),
        deal_page.as_str(),
        "/contacts/not-an-id",
        "/deals/0",
    ] {
        let res = app.get(path, Some(&b)).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        let html = res.text().await.unwrap();
        assert!(html.contains("not found"), "{path}");
        for secret in ["Turbine", "Grace"] {
            assert!(!html.contains(secret), "{path} shows {secret}: {html}");
        }
    }
}

/// A `multipart/form-data` body by hand: (name, value, file name).
fn multipart(parts: &[(&str, &str, Option<&str>)]) -> (String, Vec<u8>) {
    let boundary = "clearview-test-boundary-7d1f";
    let mut body = Vec::new();
    for (name, value, file) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(f) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: text/csv\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(value.as_bytes());
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub(crate) async fn import(
    app: &TestApp,
    cookie: &str,
    parts: &[(&str, &str, Option<&str>)],
) -> reqwest::Response {
    let (content_type, body) = multipart(parts);
    app.client
        .post(app.url("/api/contacts/import"))
        .header("origin", &app.base)
        .header(
            "cookie",
            format!("{}={cookie}", server::web::SESSION_COOKIE),
        )
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn export(app: &TestApp, cookie: &str, query: &str) -> reqwest::Response {
    app.client
        .get(app.url(&format!("/api/contacts/export{query}")))
        .header(
            "cookie",
            format!("{}={cookie}", server::web::SESSION_COOKIE),
        )
        .send()
        .await
        .unwrap()
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn contacts_go_out_and_come_in_as_csv(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (admin_cookie, org) = admin(&app, "ada@example.com").await;
    let rep = member(&app, &org, "rep@example.com", "rep").await;
    let manager = member(&app, &org, "boss@example.com", "manager").await;
    for body in [
        json!({"first_name": "Alan", "last_name": "Turing", "email": "alan@example.com", "company": "Bletchley"}),
        json!({"first_name": "Mallory", "last_name": "Formula", "company": "=HYPERLINK(\"http://x\",\"y\")", "title": "@SUM(1)"}),
    ] {
        json_of(
            app.send(Method::POST, "/api/contacts", Some(body), &rep)
                .await,
            StatusCode::CREATED,
        )
        .await;
    }

    // Export: admins only, a streamed CSV attachment, formulas defused, the search applies.
    assert_eq!(export(&app, &rep, "").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        export(&app, &manager, "").await.status(),
        StatusCode::FORBIDDEN
    );
    let res = export(&app, &admin_cookie, "").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let text = res.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "id,first_name,last_name,email,phone,company,title,owner_email,created_at,updated_at"
    );
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        text.contains("\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""),
        "{text}"
    );
    assert!(text.contains(",'@SUM(1),"), "{text}");
    assert!(
        text.contains("rep@example.com"),
        "the owner's e-mail: {text}"
    );
    let searched = export(&app, &admin_cookie, "?q=turing")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(searched.lines().count(), 2, "{searched}");

    // Import: managers and admins; columns mapped by name or by the form's choices.
    let file = "Given name,Surname,E-mail,Org\n\
                Hedy,Lamarr,hedy@example.com,MGM\n\
                Alan,Turing,ALAN@example.com,Bletchley\n\
                Hedy,L.,Hedy@Example.com,MGM\n\
                Katherine,Johnson,,NASA\n\
                ,,,\n";
    let mapping = [
        ("first_name", "Given name", None),
        ("last_name", "Surname", None),
        ("company", "Org", None),
        ("file", file, Some("people.csv")),
    ];
    assert_eq!(
        import(&app, &rep, &mapping).await.status(),
        StatusCode::FORBIDDEN
    );
    // Everything so far sealed first, so that what follows shows the import's own entries are reported.
    app.assert_audit_sealed().await;
    let before = app.count("contacts").await;
    let report = json_of(import(&app, &manager, &mapping).await, StatusCode::CREATED).await;
    assert_eq!(report["created"], 2, "{report}");
    let skipped: Vec<u64> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["line"].as_u64().unwrap())
        .collect();
    assert_eq!(skipped, [3, 4], "{report}");
    assert_eq!(report["columns"]["email"], "E-mail");
    assert_eq!(app.count("contacts").await, before + 2);
    let audited: i64 =
        sqlx::query_scalar("select count(*) from audit_log where action = 'contact.imported'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(audited, 2);
    // The import writes its entries in one statement of its own; the server seals them too.
    app.assert_audit_sealed().await;
    let found = json_of(
        app.send(Method::GET, "/api/contacts?q=lamarr", None, &rep)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(found["items"][0]["company"], "MGM");

    // A file with a wrong row imports nothing and names the line and field.
    let before = app.count("contacts").await;
    let bad = "first_name,last_name,email\nGrace,Hopper,grace@example.com\n,Nobody,not-an-email\n";
    let body = json_of(
        import(&app, &manager, &[("file", bad, Some("bad.csv"))]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let fields = &body["error"]["fields"];
    assert!(fields["line 3: first_name"].is_string(), "{body}");
    assert!(fields["line 3: email"].is_string(), "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nothing was imported")
    );
    assert_eq!(app.count("contacts").await, before);

    // A mapping to a column the file lacks, no file at all, an empty file: field errors, nothing written.
    let body = json_of(
        import(
            &app,
            &manager,
            &[
                ("first_name", "Vorname", None),
                ("file", bad, Some("bad.csv")),
            ],
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        body["error"]["fields"]["mapping.first_name"].is_string(),
        "{body}"
    );
    let body = json_of(
        import(&app, &manager, &[("first_name", "Name", None)]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(body["error"]["fields"]["file"].is_string(), "{body}");
    let body = json_of(
        import(&app, &manager, &[("file", "", Some("empty.csv"))]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(body["error"]["fields"]["file"].is_string(), "{body}");
    assert_eq!(app.count("contacts").await, before);

    // What one workspace exports, another imports as it is.
    let all = export(&app, &admin_cookie, "").await.text().await.unwrap();
    let (other, _) = admin(&app, "eve@example.com").await;
    let report = json_of(
        import(&app, &other, &[("file", &all, Some("export.csv"))]).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        report["created"].as_u64().unwrap() as usize,
        all.lines().count() - 1
    );

    // Signed out: 401.
    let res = app.get("/api/contacts/export", None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

/// The contacts page's import form posts as a plain HTML form and is sent back to the page with the outcome.
#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn the_import_form_lands_back_on_the_contacts_page(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (admin_cookie, _) = admin(&app, "ada@example.com").await;
    let file = "First name,Last name,Email\nHedy,Lamarr,hedy@example.com\n";
    let res = import(
        &app,
        &admin_cookie,
        &[
            ("redirect", "/contacts", None),
            ("file", file, Some("people.csv")),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/contacts?imported=1&skipped=0");

    let res = import(
        &app,
        &admin_cookie,
        &[
            ("redirect", "/contacts", None),
            (
                "file",
                "First name,Email\nHedy,not-an-email\n",
                Some("x.csv"),
            ),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.starts_with("/contacts?import_error="), "{to}");
    assert!(
        to.contains("line%202%3A%20email"),
        "names the line and field: {to}"
    );

    // A mapping to a column the file lacks is named as the form names it.
    let res = import(
        &app,
        &admin_cookie,
        &[
            ("redirect", "/contacts", None),
            ("first_name", "Given", None),
            ("file", file, Some("people.csv")),
        ],
    )
    .await;
    let to = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.contains("column%20for%20first%20name"), "{to}");
    assert!(!to.contains("some%20fields"), "{to}");

    // Anywhere else is not a place to send people: the answer is the API's own.
    let res = import(
        &app,
        &admin_cookie,
        &[
            ("redirect", "https://elsewhere.example/", None),
            ("file", file, Some("people.csv")),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

/// What the role matrix compares before and after a refused request: every row a request could have written in any
/// workspace, by count and by version.
async fn everything(app: &TestApp) -> Value {
    sqlx::query_scalar(
        "select jsonb_build_object(
             'contacts', (select jsonb_build_array(count(*), coalesce(sum(version), 0)) from contacts),
             'deals', (select jsonb_build_array(count(*), coalesce(sum(version), 0)) from deals),
             'activities', (select count(*) from activities),
             'pipelines', (select jsonb_agg(name order by id) from pipelines),
             'organizations', (select jsonb_agg(name order by id) from organizations),
             'memberships', (select jsonb_agg(jsonb_build_array(org_id, user_id, role) order by org_id, user_id)
                             from memberships),
             'invites', (select jsonb_agg(jsonb_build_array(email, role, token_hash, revoked_at) order by id)
                         from invites),
             'jobs', (select jsonb_agg(jsonb_build_array(id, status, attempts) order by id) from jobs),
             'audit_log', (select count(*) from audit_log))",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

/// A job of `org` that failed every attempt, written directly (the queue's own tests make them by failing).
async fn dead_job(app: &TestApp, org: &str) -> String {
    sqlx::query_scalar(
        "insert into jobs (id, org_id, kind, payload, status, attempts, last_error)
         values (gen_random_uuid(), $1::uuid, 'mail', '{\"to\": \"x@example.com\", \"subject\": \"Hi\", \"text\": \"\"}',
                 'dead', 3, 'refused') returning id::text",
    )
    .bind(org)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

/// The workspace's name now.
async fn org_name(app: &TestApp, org: &str) -> String {
    sqlx::query_scalar("select name from organizations where id = $1::uuid")
        .bind(org)
        .fetch_optional(&app.pool)
        .await
        .unwrap()
        .unwrap_or_default()
}

/// The id of the person signed in with `cookie`.
async fn user_id(app: &TestApp, cookie: &str) -> String {
    json_of(
        app.send(Method::GET, "/api/auth/me", None, cookie).await,
        StatusCode::OK,
    )
    .await["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Creates a record with `POST path` and returns its id.
async fn created(app: &TestApp, path: &str, body: Value, cookie: String) -> String {
    json_of(
        app.send(Method::POST, path, Some(body), &cookie).await,
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// One attempt of an action through its REST handler, and the status it answers when allowed.
struct Attempt {
    method: Method,
    path: String,
    body: Option<Value>,
    csv: bool,
    ok: StatusCode,
    /// Whether the path names a record of the workspace (a non-member gets 404 there; elsewhere they would act in
    /// their own workspace, so the matrix does not send them).
    names_a_record: bool,
}

/// Every action of the policy table, for every role of the workspace, a member of another workspace and an anonymous
/// caller, through its REST handler: the status the table says, the error body when refused, and nothing written
/// anywhere when refused. The match over the actions has no catch-all, so a new action must say here how it is tried.
#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn every_action_answers_every_role_as_the_policy_table_says(pool: PgPool) {
    use clearview::domain::Role;
    use clearview::policy::{Action, allows};
    let app = TestApp::spawn(pool).await;
    let (admin_cookie, org) = admin(&app, "ada@example.com").await;
    let roles = [
        (
            Role::Rep,
            member(&app, &org, "rep@example.com", "rep").await,
        ),
        (
            Role::Manager,
            member(&app, &org, "boss@example.com", "manager").await,
        ),
        (Role::Admin, admin_cookie.clone()),
    ];
    let (stranger, _) = admin(&app, "mallory@example.com").await;
    let new_deal = |cookie: String| created(&app, "/api/deals", json!({"title": "Matrix"}), cookie);
    let new_contact = || {
        created(
            &app,
            "/api/contacts",
            json!({"first_name": "Grace"}),
            admin_cookie.clone(),
        )
    };
    let version_of = |deal: String| {
        let app = &app;
        let cookie = admin_cookie.clone();
        async move {
            json_of(
                app.send(Method::GET, &format!("/api/deals/{deal}"), None, &cookie)
                    .await,
                StatusCode::OK,
            )
            .await["version"]
                .clone()
        }
    };
    let pipeline = first_pipeline(&app, &admin_cookie).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin_id = user_id(&app, &admin_cookie).await;
    let mut tried = 0;

    for action in Action::ALL {
        // Outsiders first: the admin's attempt of the last action deletes the workspace.
        for (role, cookie) in [(None, stranger.clone()), (None, String::new())]
            .into_iter()
            .chain(roles.iter().map(|(r, c)| (Some(*r), c.clone())))
        {
            let anonymous = role.is_none() && cookie.is_empty();
            // The deal the actor owns (the admin's for callers from outside), and one somebody else owns.
            let (own, others) = match role {
                Some(Role::Admin) => (
                    new_deal(admin_cookie.clone()).await,
                    new_deal(roles[0].1.clone()).await,
                ),
                Some(_) => (
                    new_deal(cookie.clone()).await,
                    new_deal(admin_cookie.clone()).await,
                ),
                None => {
                    let d = new_deal(admin_cookie.clone()).await;
                    (d.clone(), d)
                }
            };
            let contact = new_contact().await;
            let n = tried;
            // Leaving ends a membership: a fresh member of the role leaves, so the role's own member stays.
            let (cookie, me) = match role {
                Some(r) if action == Action::LeaveWorkspace => {
                    let email = format!("leaver{n}@example.com");
                    let c = member(&app, &org, &email, r.as_str()).await;
                    let id = user_id(&app, &c).await;
                    (c, id)
                }
                _ if cookie.is_empty() => (cookie, admin_id.clone()),
                _ => {
                    let id = user_id(&app, &cookie).await;
                    (cookie, id)
                }
            };
            let attempt = match action {
                Action::ReadWorkspace => Some(Attempt {
                    method: Method::GET,
                    path: format!("/api/contacts/{contact}"),
                    body: None,
                    csv: false,
                    ok: StatusCode::OK,
                    names_a_record: true,
                }),
                Action::CreateContact => Some(Attempt {
                    method: Method::POST,
                    path: "/api/contacts".into(),
                    body: Some(json!({"first_name": "New"})),
                    csv: false,
                    ok: StatusCode::CREATED,
                    names_a_record: false,
                }),
                Action::UpdateContact => Some(Attempt {
                    method: Method::PUT,
                    path: format!("/api/contacts/{contact}"),
                    body: Some(json!({"first_name": "Renamed"})),
                    csv: false,
                    ok: StatusCode::OK,
                    names_a_record: true,
                }),
                Action::CreateDeal => Some(Attempt {
                    method: Method::POST,
                    path: "/api/deals".into(),
                    body: Some(json!({"title": "New"})),
                    csv: false,
                    ok: StatusCode::CREATED,
                    names_a_record: false,
                }),
                Action::LogActivity => Some(Attempt {
                    method: Method::POST,
                    path: "/api/activities".into(),
                    body: Some(json!({"kind": "note", "subject": "Met", "contact_id": contact})),
                    csv: false,
                    ok: StatusCode::CREATED,
                    // The contact it names is a record of the workspace.
                    names_a_record: true,
                }),
                Action::UpdateDeal { own: true } => Some(Attempt {
                    method: Method::PATCH,
                    path: format!("/api/deals/{own}"),
                    body: Some(json!({"version": version_of(own.clone()).await, "title": "Mine"})),
                    csv: false,
                    ok: StatusCode::OK,
                    names_a_record: true,
                }),
                Action::UpdateDeal { own: false } => Some(Attempt {
                    method: Method::PATCH,
                    path: format!("/api/deals/{others}"),
                    body: Some(
                        json!({"version": version_of(others.clone()).await, "title": "Theirs"}),
                    ),
                    csv: false,
                    ok: StatusCode::OK,
                    names_a_record: true,
                }),
                Action::SetDealProbability => Some(Attempt {
                    method: Method::PATCH,
                    path: format!("/api/deals/{own}"),
                    body: Some(
                        json!({"version": version_of(own.clone()).await, "probability": 70}),
                    ),
                    csv: false,
                    ok: StatusCode::OK,
                    names_a_record: true,
                }),
                Action::DeleteDeal => Some(Attempt {
                    method: Method::DELETE,
                    path: format!("/api/deals/{own}"),
                    body: None,
                    csv: false,
                    ok: StatusCode::NO_CONTENT,
                    names_a_record: true,
                }),
                Action::DeleteContact => Some(Attempt {
                    method: Method::DELETE,
                    path: format!("/api/contacts/{contact}"),
                    body: None,
                    csv: false,
                    ok: StatusCode::NO_CONTENT,
                    names_a_record: true,
                }),
                Action::ImportContacts => Some(Attempt {
                    method: Method::POST,
                    path: "/api/contacts/import".into(),
                    body: None,
                    csv: true,
                    ok: StatusCode::CREATED,
                    names_a_record: false,
                }),
                Action::ExportContacts => Some(Attempt {
                    method: Method::GET,
                    path: "/api/contacts/export".into(),
                    body: None,
                    csv: false,
                    ok: StatusCode::OK,
                    names_a_record: false,
                }),
                Action::ConfigurePipelines => Some(Attempt {
                    method: Method::PATCH,
                    path: format!("/api/pipelines/{pipeline}"),
                    body: Some(json!({"name": format!("Sales {n}")})),
                    csv: false,
                    ok: StatusCode::OK,
                    names_a_record: true,
                }),
                Action::ManageMembers => Some(Attempt {
                    method: Method::POST,
                    path: format!("/api/organizations/{org}/invite"),
                    body: Some(json!({"email": format!("new{n}@example.com"), "role": "rep"})),
                    csv: false,
                    ok: StatusCode::ACCEPTED,
                    names_a_record: true,
                }),
                Action::LeaveWorkspace => Some(Attempt {
                    method: Method::DELETE,
                    path: format!("/api/organizations/{org}/members/{me}"),
                    body: None,
                    csv: false,
                    ok: StatusCode::NO_CONTENT,
                    names_a_record: true,
                }),
                Action::ReadJobs => Some(Attempt {
                    method: Method::GET,
                    path: format!("/api/organizations/{org}/jobs?status=dead"),
                    body: None,
                    csv: false,
                    ok: StatusCode::OK,
                    names_a_record: true,
                }),
                Action::RetryJob => Some(Attempt {
                    method: Method::POST,
                    path: format!("/api/jobs/{}/retry", dead_job(&app, &org).await),
                    body: None,
                    csv: false,
                    ok: StatusCode::ACCEPTED,
                    names_a_record: true,
                }),
                Action::UpdateOrganization => Some(Attempt {
                    method: Method::PATCH,
                    path: format!("/api/organizations/{org}"),
                    body: Some(json!({"name": format!("Engines {n}")})),
                    csv: false,
                    ok: StatusCode::OK,
                    names_a_record: true,
                }),
                // The last action, and the admin is the last to try it: their attempt deletes the workspace.
                Action::DeleteOrganization => Some(Attempt {
                    method: Method::DELETE,
                    path: format!("/api/organizations/{org}"),
                    body: Some(json!({"confirm": org_name(&app, &org).await})),
                    csv: false,
                    ok: StatusCode::NO_CONTENT,
                    names_a_record: true,
                }),
                // No REST route yet: nothing to try. It joins the matrix with the route that brings it.
                Action::ReadAuditLog => None,
            };
            let Some(a) = attempt else { continue };
            if role.is_none() && !anonymous && !a.names_a_record {
                continue;
            }
            tried += 1;
            let before = everything(&app).await;
            let res = if a.csv {
                let line = format!("first_name,email\nImported,imported{n}@example.com\n");
                import(
                    &app,
                    &cookie,
                    &[("file", line.as_str(), Some("contacts.csv"))],
                )
                .await
            } else {
                app.send(a.method.clone(), &a.path, a.body.clone(), &cookie)
                    .await
            };
            let what = format!(
                "{action:?} as {role:?} (anonymous: {anonymous}): {} {}",
                a.method, a.path
            );
            let status = res.status();
            let allowed = role.is_some_and(|r| allows(r, action));
            if allowed {
                assert_eq!(status, a.ok, "{what}: {}", res.text().await.unwrap());
                continue;
            }
            let (want, code) = match role {
                _ if anonymous => (StatusCode::UNAUTHORIZED, "unauthenticated"),
                None => (StatusCode::NOT_FOUND, "not_found"),
                Some(_) => (StatusCode::FORBIDDEN, "forbidden"),
            };
            let body: Value = res.json().await.unwrap_or(Value::Null);
            assert_eq!(status, want, "{what}: {body}");
            assert_eq!(body["error"]["code"], code, "{what}: {body}");
            assert_eq!(everything(&app).await, before, "{what} wrote something");
        }
    }
    assert!(
        tried >= 19 * 4,
        "every action with a front door was tried ({tried})"
    );
    assert_eq!(
        app.count(&format!("organizations where id = '{org}'"))
            .await,
        0,
        "the admin deleted the workspace last"
    );
    app.assert_audit_sealed().await;
}
