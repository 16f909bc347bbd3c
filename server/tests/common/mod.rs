//! The HTTP test harness: the real router on a random port, a fresh database per test, cookies handled by hand so
//! every attribute can be checked.
#![allow(
    dead_code,
    reason = "each test crate uses its own subset of the harness"
)]
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

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub pool: PgPool,
}

impl TestApp {
    pub async fn spawn(pool: PgPool) -> Self {
        Self::spawn_with_touch(pool, 300).await
    }

    /// A server whose sessions in use are saved again once their last save is `touch_secs` old.
    pub async fn spawn_with_touch(pool: PgPool, touch_secs: i64) -> Self {
        // The server's warnings and errors, captured with the test's output (shown when it fails).
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
            )
            .with_test_writer()
            .try_init();
        let mut options = web::leptos_options().unwrap();
        options.site_root = "target/site".into();
        let settings = web::WebSettings {
            leptos_options: options,
            session_idle: time::Duration::hours(1),
            web: app::state::WebConfig {
                session_absolute_secs: 3600,
                trust_proxy_headers: false,
                session_touch_secs: touch_secs,
            },
            public_url: None,
        };
        let router = web::router(pool.clone(), settings).expect("the router builds");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(web::serve(listener, router, std::future::pending()));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            base: format!("http://{addr}"),
            client,
            pool,
        }
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
