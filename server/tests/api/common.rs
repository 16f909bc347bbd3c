//! The HTTP test harness: the real router on a random port, a fresh database per test, cookies handled by hand so
//! every attribute can be checked.
#![expect(
    clippy::unwrap_used,
    reason = "harness helpers: a failed setup step must fail the test that called it"
)]

use std::net::SocketAddr;

use reqwest::header::{HeaderMap, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server::web::{self, SESSION_COOKIE};
use sqlx::PgPool;

/// How a test server differs from the default one.
pub struct Options {
    /// Sessions in use are saved again once their last save is this old.
    pub touch_secs: i64,
    pub limits: server::limits::Limits,
    /// Believe `X-Forwarded-For` (as behind a proxy), so a test can speak from many addresses.
    pub trust_proxy_headers: bool,
    /// The site's files (default: `target/site`, as `scripts/build-site` leaves it).
    pub site_root: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            touch_secs: 300,
            limits: server::limits::Limits::default(),
            trust_proxy_headers: false,
            site_root: None,
        }
    }
}

#[derive(Clone)]
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub pool: PgPool,
    /// What the server's requests wake a job worker with (see [`TestApp::start_worker`]).
    pub wake: std::sync::Arc<tokio::sync::Notify>,
}

impl TestApp {
    pub async fn spawn(pool: PgPool) -> Self {
        Self::spawn_with(pool, Options::default()).await
    }

    /// A server whose sessions in use are saved again once their last save is `touch_secs` old.
    pub async fn spawn_with_touch(pool: PgPool, touch_secs: i64) -> Self {
        Self::spawn_with(
            pool,
            Options {
                touch_secs,
                ..Options::default()
            },
        )
        .await
    }

    pub async fn spawn_with(pool: PgPool, with: Options) -> Self {
        // The server's warnings and errors, captured with the test's output (shown when it fails).
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
            )
            .with_test_writer()
            .try_init();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let wake = std::sync::Arc::new(tokio::sync::Notify::new());
        let links = clearview::services::invites::Links {
            key: clearview::auth::token::SecretKey::generate(),
            base_url: format!("http://{addr}"),
        };
        let mut options = web::leptos_options().unwrap();
        options.site_root = with.site_root.as_deref().unwrap_or("target/site").into();
        let options = server::assets::with_hashed_names(options);
        let settings = web::WebSettings {
            leptos_options: options,
            session_idle: time::Duration::hours(1),
            web: app::state::WebConfig {
                session_absolute_secs: 3600,
                trust_proxy_headers: with.trust_proxy_headers,
                session_touch_secs: with.touch_secs,
            },
            origin: server::security::OriginPolicy::loopback(addr.port()),
            limits: with.limits.clone(),
            links,
            dev_mailbox: None,
            jobs: wake.clone(),
        };
        let header_read = with.limits.header_read;
        let router = web::router(pool.clone(), settings).expect("the router builds");
        tokio::spawn(web::serve(
            listener,
            router,
            std::future::pending(),
            header_read,
        ));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            base: format!("http://{addr}"),
            client,
            pool,
            wake,
        }
    }

    /// Runs a job worker with `mailer` for this server, woken by its requests; it stops with the test.
    pub fn start_worker(
        &self,
        mailer: clearview::jobs::Mailer,
        settings: clearview::jobs::WorkerSettings,
    ) {
        let worker = clearview::jobs::Worker::with_wake(
            self.pool.clone(),
            std::sync::Arc::new(mailer),
            settings,
            self.wake.clone(),
        );
        tokio::spawn(worker.run(std::future::pending()));
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A same-origin POST, as the browser sends it.
    pub async fn post(&self, path: &str, body: Value, cookie: Option<&str>) -> reqwest::Response {
        let mut req = self
            .client
            .post(self.url(path))
            .header("origin", &self.base)
            .json(&body);
        if let Some(c) = cookie {
            req = req.header("cookie", format!("{SESSION_COOKIE}={c}"));
        }
        req.send().await.unwrap()
    }

    /// A GET as a browser's navigation sends it (`Accept: text/html`).
    pub async fn get(&self, path: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut req = self
            .client
            .get(self.url(path))
            .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8");
        if let Some(c) = cookie {
            req = req.header("cookie", format!("{SESSION_COOKIE}={c}"));
        }
        req.send().await.unwrap()
    }

    pub async fn signup(&self, email: &str) -> (Value, String) {
        let res = self
            .post("/api/auth/signup", signup_body(email), None)
            .await;
        if res.status() != StatusCode::CREATED {
            panic!(
                "sign-up answered {}: {}",
                res.status(),
                res.text().await.unwrap_or_default()
            );
        }
        let cookie = session_cookie(res.headers()).expect("signup sets the session cookie");
        (res.json().await.unwrap(), cookie.value)
    }

    /// A sign-up POST with exactly the given headers (no Origin unless given).
    pub async fn raw_signup(&self, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut req = self
            .client
            .post(self.url("/api/auth/signup"))
            .json(&signup_body("ada@example.com"));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.send().await.unwrap()
    }

    /// A same-origin JSON request with any method, signed in with `cookie`.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        cookie: &str,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .request(method, self.url(path))
            .header("origin", &self.base)
            .header("cookie", format!("{SESSION_COOKIE}={cookie}"));
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }

    /// A form with no `action` posted as a browser without the app's script posts it: to the page's own address `path`
    /// (also its `Referer`), accepting HTML, with the app's own `Origin`.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("origin", &self.base)
            .header("referer", self.url(path))
            .header("accept", "text/html")
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("select count(*) from {table}"))
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    /// Waits (up to 10 s) until the server has sealed every audit entry its requests wrote (D-017): none pending.
    pub async fn assert_audit_sealed(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let pending: i64 = sqlx::query_scalar("select count(*) from audit_log where seq < 0")
                .fetch_one(&self.pool)
                .await
                .unwrap();
            if pending == 0 {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{pending} audit entries still pending after 10 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

pub fn signup_body(email: &str) -> Value {
    json!({"email": email, "password": "correct horse battery", "name": "Ada Lovelace", "organization_name": "Engines"})
}

pub struct SetCookie {
    pub value: String,
    pub attributes: Vec<String>,
}

pub fn session_cookie(headers: &HeaderMap) -> Option<SetCookie> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let mut parts = v.split(';').map(str::trim);
            let (name, value) = parts.next()?.split_once('=')?;
            (name == SESSION_COOKIE).then(|| SetCookie {
                value: value.to_owned(),
                attributes: parts.map(str::to_owned).collect(),
            })
        })
}

/// A signed-in admin of a fresh workspace: (cookie, organization id).
pub async fn admin(app: &TestApp, email: &str) -> (String, String) {
    let (body, cookie) = app.signup(email).await;
    let org = body["organization"]["id"].as_str().unwrap().to_owned();
    (cookie, org)
}

/// A person who works in `org` with `role`, signed in there (the membership is written directly, so a test of
/// one route needs no other).
pub async fn member(app: &TestApp, org: &str, email: &str, role: &str) -> String {
    let (body, cookie) = app.signup(email).await;
    let user = body["user"]["id"].as_str().unwrap();
    sqlx::query("insert into memberships (org_id, user_id, role) values ($1::uuid, $2::uuid, $3)")
        .bind(org)
        .bind(user)
        .bind(role)
        .execute(&app.pool)
        .await
        .unwrap();
    let res = app
        .post(
            "/api/auth/switch",
            json!({"organization_id": org}),
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    cookie
}

pub async fn json_of(res: reqwest::Response, status: StatusCode) -> Value {
    let got = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "{body}");
    body
}
