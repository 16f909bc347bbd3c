//! The team over real HTTP: invitations whose mail goes through a real SMTP server process (stopped, then started:
//! the mail arrives once), accepting a link into a session, members and roles, the workspace routes.
#![expect(
    clippy::unwrap_used,
    reason = "helpers of the tests: a failed step must fail the test that called it"
)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::common::{TestApp, admin, json_of, member, session_cookie};

/// The tests' SMTP server (`scripts/smtp-sink`, aiosmtpd) on `port`, keeping mail in `dir`; stopped when dropped.
struct SmtpSink(Child);

impl SmtpSink {
    fn start(port: u16, dir: &Path) -> Self {
        use std::io::BufRead;
        let python = std::env::var_os("CLEARVIEW_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(std::env::var("HOME").unwrap_or_default())
                    .join(".cache/clearview/tools/py/bin/python")
            });
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/smtp-sink");
        let mut child = Command::new(&python)
            .arg(script)
            .args(["--port", &port.to_string(), "--dir"])
            .arg(dir)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("starting the SMTP server with {python:?} ({e}); `scripts/setup --test` installs it")
            });
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the SMTP server did not start");
        Self(child)
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The decoded messages the sink kept, oldest first.
fn kept(dir: &Path) -> Vec<Value> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".json") && !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
        .iter()
        .map(|n| serde_json::from_slice(&std::fs::read(dir.join(n)).unwrap()).unwrap())
        .collect()
}

async fn wait_for(what: &str, secs: u64, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {secs} s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn job(app: &TestApp) -> (String, i32, Option<String>) {
    sqlx::query_as("select status, attempts, last_error from jobs order by created_at desc limit 1")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn an_invitation_mailed_while_smtp_is_down_arrives_once_it_is_up_and_its_link_joins(
    pool: PgPool,
) {
    let app = TestApp::spawn(pool).await;
    let (admin_cookie, org) = admin(&app, "ada@example.com").await;
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("clearview-smtp-{}", uuid::Uuid::new_v4()));
    app.start_worker(
        clearview::jobs::Mailer::smtp(
            &format!("smtp://127.0.0.1:{port}"),
            "Clearview <no-reply@example.com>",
        )
        .unwrap(),
        clearview::jobs::WorkerSettings {
            lease: Duration::from_secs(60),
            backoff: Duration::from_millis(500),
            poll: Duration::from_millis(100),
            batch: 10,
        },
    );

    // The SMTP server is down: the invitation is made, its first attempt fails and is kept for another.
    let invite = json_of(
        app.send(
            Method::POST,
            &format!("/api/organizations/{org}/invite"),
            Some(json!({"email": "grace@example.com", "role": "rep"})),
            &admin_cookie,
        )
        .await,
        StatusCode::ACCEPTED,
    )
    .await;
    assert_eq!(invite["state"], "pending");
    wait_for("a failed first attempt", 10, async || {
        job(&app).await.2.is_some()
    })
    .await;
    let (status, attempts, error) = job(&app).await;
    assert_eq!((status.as_str(), attempts), ("queued", 1), "{error:?}");
    let waiting = json_of(
        app.send(
            Method::GET,
            &format!("/api/organizations/{org}/jobs"),
            None,
            &admin_cookie,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(waiting["items"][0]["status"], "queued");

    // Up again: the next attempt delivers it, once.
    let _smtp = SmtpSink::start(port, &dir);
    wait_for("the mail", 15, async || !kept(&dir).is_empty()).await;
    wait_for("the job done", 5, async || job(&app).await.0 == "done").await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let mail = kept(&dir);
    assert_eq!(mail.len(), 1, "exactly once: {mail:?}");
    assert_eq!(mail[0]["to"], "grace@example.com");
    let job_id: uuid::Uuid = sqlx::query_scalar("select id from jobs")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(mail[0]["message_id"], format!("<{job_id}@example.com>"));
    let text = mail[0]["text"].as_str().unwrap();
    let link = text
        .lines()
        .find(|l| l.starts_with(&format!("{}/invite?token=", app.base)))
        .unwrap_or_else(|| panic!("no link in {text}"));
    let token = link.split_once("token=").unwrap().1;

    // The link's page works without JavaScript and names the workspace.
    let page = app.get(&format!("/invite?token={token}"), None).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Create your account for"), "{html}");

    // Accepting makes the account, the membership and a session in the workspace.
    let res = app
        .post(
            "/api/invites/accept",
            json!({"token": token, "name": "Grace Hopper", "password": "correct horse battery"}),
            None,
        )
        .await;
    let cookie = session_cookie(res.headers()).expect("a session").value;
    let body = json_of(res, StatusCode::OK).await;
    assert_eq!(
        (body["organization"]["id"].as_str(), body["role"].as_str()),
        (Some(org.as_str()), Some("rep"))
    );
    let me = json_of(
        app.send(Method::GET, "/api/auth/me", None, &cookie).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["organization"]["id"], org.as_str());
    assert_eq!(me["role"], "rep");
    // As a rep: the members, but no invitations and no mail.
    json_of(
        app.send(
            Method::GET,
            &format!("/api/organizations/{org}/members"),
            None,
            &cookie,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    for path in ["invites", "jobs"] {
        let body = json_of(
            app.send(
                Method::GET,
                &format!("/api/organizations/{org}/{path}"),
                None,
                &cookie,
            )
            .await,
            StatusCode::FORBIDDEN,
        )
        .await;
        assert_eq!(body["error"]["code"], "forbidden");
    }
    // The link is used up.
    let again = json_of(
        app.post(
            "/api/invites/accept",
            json!({"token": token, "name": "X", "password": "correct horse battery"}),
            None,
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(again["error"]["code"], "conflict");
    let _ = std::fs::remove_dir_all(dir);
    app.assert_audit_sealed().await;
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn admins_manage_members_and_the_last_admin_stays(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (admin_cookie, org) = admin(&app, "ada@example.com").await;
    let rep = member(&app, &org, "rep@example.com", "rep").await;
    let list = json_of(
        app.send(
            Method::GET,
            &format!("/api/organizations/{org}/members"),
            None,
            &admin_cookie,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let people = list["items"].as_array().unwrap();
    assert_eq!(people.len(), 2);
    let id_of = |email: &str| {
        people
            .iter()
            .find(|p| p["email"] == email)
            .and_then(|p| p["user_id"].as_str())
            .unwrap()
            .to_owned()
    };
    let (ada, rep_id) = (id_of("ada@example.com"), id_of("rep@example.com"));
    // The last admin cannot step down or leave: 409, and nothing changes.
    for (method, body) in [
        (Method::PATCH, Some(json!({"role": "rep"}))),
        (Method::DELETE, None),
    ] {
        let res = app
            .send(
                method,
                &format!("/api/organizations/{org}/members/{ada}"),
                body,
                &admin_cookie,
            )
            .await;
        let body = json_of(res, StatusCode::CONFLICT).await;
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("only admin"),
            "{body}"
        );
    }
    // A bad role is a 422, not a 500.
    let res = app
        .send(
            Method::PATCH,
            &format!("/api/organizations/{org}/members/{rep_id}"),
            Some(json!({"role": "owner"})),
            &admin_cookie,
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Promoted, the rep may set a deal's probability at once.
    let deal = json_of(
        app.send(
            Method::POST,
            "/api/deals",
            Some(json!({"title": "Big one"})),
            &rep,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let deal_path = format!("/api/deals/{}", deal["id"].as_str().unwrap());
    let set_probability = |version: Value| {
        app.send(
            Method::PATCH,
            &deal_path,
            Some(json!({"version": version, "probability": 80})),
            &rep,
        )
    };
    assert_eq!(
        set_probability(deal["version"].clone()).await.status(),
        StatusCode::FORBIDDEN
    );
    json_of(
        app.send(
            Method::PATCH,
            &format!("/api/organizations/{org}/members/{rep_id}"),
            Some(json!({"role": "manager"})),
            &admin_cookie,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let updated = json_of(
        set_probability(deal["version"].clone()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(updated["probability"], 80);
    // Removed, they are out at their next request; their deal stays, with no owner.
    let res = app
        .send(
            Method::DELETE,
            &format!("/api/organizations/{org}/members/{rep_id}"),
            None,
            &admin_cookie,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .send(
            Method::GET,
            &format!("/api/deals/{}", deal["id"].as_str().unwrap()),
            None,
            &rep,
        )
        .await;
    assert_ne!(
        res.status(),
        StatusCode::OK,
        "a removed member reads nothing of the workspace"
    );
    let kept = json_of(
        app.send(
            Method::GET,
            &format!("/api/deals/{}", deal["id"].as_str().unwrap()),
            None,
            &admin_cookie,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(kept["owner_id"], Value::Null);
    app.assert_audit_sealed().await;
}

#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn workspaces_are_listed_created_renamed_and_deleted(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (cookie, org) = admin(&app, "ada@example.com").await;
    let created = json_of(
        app.send(
            Method::POST,
            "/api/organizations",
            Some(json!({"name": "Second team"})),
            &cookie,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["role"], "admin");
    let second = created["id"].as_str().unwrap().to_owned();
    let mine = json_of(
        app.send(Method::GET, "/api/organizations", None, &cookie)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 2);
    // Creating it did not move the session.
    let me = json_of(
        app.send(Method::GET, "/api/auth/me", None, &cookie).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["organization"]["id"], org.as_str());
    let bad = json_of(
        app.send(
            Method::PATCH,
            &format!("/api/organizations/{second}"),
            Some(json!({"name": ""})),
            &cookie,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(bad["error"]["fields"]["name"].is_string(), "{bad}");
    let renamed = json_of(
        app.send(
            Method::PATCH,
            &format!("/api/organizations/{second}"),
            Some(json!({"name": "Renamed"})),
            &cookie,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(renamed["name"], "Renamed");
    // Deleting needs its exact name.
    let refused = json_of(
        app.send(
            Method::DELETE,
            &format!("/api/organizations/{second}"),
            Some(json!({"confirm": "renamed"})),
            &cookie,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(refused["error"]["fields"]["confirm"].is_string());
    let res = app
        .send(
            Method::DELETE,
            &format!("/api/organizations/{second}"),
            Some(json!({"confirm": "Renamed"})),
            &cookie,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .send(
            Method::GET,
            &format!("/api/organizations/{second}"),
            None,
            &cookie,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let mine = json_of(
        app.send(Method::GET, "/api/organizations", None, &cookie)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    let res = app
        .client
        .get(app.url("/api/organizations"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
