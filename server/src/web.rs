//! The HTTP application: routes, layers, and the server that runs them.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use app::state::{AppState, WebConfig};
use app::{App, shell};
use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use sqlx::PgPool;
use time::Duration;
use tower::ServiceBuilder;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite};

use crate::config::Config;
use crate::security::{self, OriginPolicy};

/// The session cookie's name. `__Host-` makes the browser insist on Secure, Path=/ and no Domain.
pub const SESSION_COOKIE: &str = "__Host-clearview_session";

/// How stale a session's idle expiry may get before a request saves it again: an idle sign-out comes at most five
/// minutes early, and an active session costs one write per five minutes instead of one per request.
const SESSION_TOUCH_SECS: i64 = 300;

/// Everything `router` needs besides the database.
pub struct WebSettings {
    pub leptos_options: LeptosOptions,
    pub session_idle: Duration,
    pub web: WebConfig,
    /// The origins and host names this server answers for.
    pub origin: OriginPolicy,
    /// What every request is held to.
    pub limits: crate::limits::Limits,
    /// The key and address of invitation links.
    pub links: clearview::services::invites::Links,
    /// The dev mailbox folder, shown at `/dev/mailbox`, when mail is kept there.
    pub dev_mailbox: Option<std::path::PathBuf>,
    /// Wakes this server's job worker when a request queued a job.
    pub jobs: Arc<tokio::sync::Notify>,
}

impl WebSettings {
    /// `links` signs invitation links; `jobs` wakes the job worker; `listen` is the address served (the allowed
    /// origin without `PUBLIC_URL`).
    pub fn from_config(
        config: &Config,
        leptos_options: LeptosOptions,
        links: clearview::services::invites::Links,
        jobs: Arc<tokio::sync::Notify>,
        listen: SocketAddr,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            leptos_options,
            session_idle: Duration::minutes(config.session_idle_minutes.max(1)),
            web: WebConfig {
                session_absolute_secs: config.session_absolute_hours.max(1) * 3600,
                trust_proxy_headers: config.trust_proxy_headers,
                session_touch_secs: SESSION_TOUCH_SECS,
            },
            origin: OriginPolicy::new(config.public_url.as_deref(), listen)?,
            limits: crate::limits::Limits::default(),
            links,
            dev_mailbox: config.smtp_url.is_none().then(|| config.dev_mailbox()),
            jobs,
        })
    }
}

/// The Leptos options, with defaults for running outside cargo-leptos (tests, a plain `cargo run`).
pub fn leptos_options() -> anyhow::Result<LeptosOptions> {
    let mut options = get_configuration(None)?.leptos_options;
    if options.output_name.is_empty() {
        options.output_name = "clearview".into();
    }
    Ok(crate::assets::with_hashed_names(options))
}

/// The whole application as an axum router.
pub fn router(pool: PgPool, settings: WebSettings) -> anyhow::Result<Router> {
    Ok(app(pool, settings)?.0)
}

/// [`router`], with the tasks that seal the requests' audit entries (D-017) and announce their deal changes (D-019).
/// They end once the router and every copy of it are dropped, after sealing and announcing what they were handed:
/// wait for the returned handle before closing the pool.
pub fn app(
    pool: PgPool,
    settings: WebSettings,
) -> anyhow::Result<(Router, tokio::task::JoinHandle<()>)> {
    // What units of work leave after commit: their audit entries join their workspace's chain (D-017), and their
    // deal changes are announced to every server's watching boards (D-019). The tasks end once every handle is gone.
    let feed = crate::live::Feed::start(pool.clone(), settings.limits.streams);
    let (sealer, sealing) = clearview::services::audit::Sealer::start(pool.clone());
    let (announcer, announcing) = crate::live::Announcer::start(pool.clone(), feed.clone());
    let finished = tokio::spawn(async move {
        let _ = tokio::join!(sealing, announcing);
    });
    let state = AppState {
        leptos_options: settings.leptos_options.clone(),
        pool: pool.clone(),
        config: Arc::new(settings.web),
        after_commit: clearview::services::AfterCommit::new(sealer, announcer, settings.jobs),
        links: Arc::new(settings.links),
        dev_mailbox: settings.dev_mailbox.map(Arc::new),
    };
    let dev_reload = std::env::var_os("LEPTOS_WATCH").map(|_| settings.leptos_options.reload_port);
    let page_context = move || {
        // The hydration scripts carry this request's nonce; the page's CSP names it.
        if let (Some(nonce), Some(res)) = (
            leptos::nonce::use_nonce(),
            use_context::<leptos_axum::ResponseOptions>(),
        ) && let Ok(v) = http::HeaderValue::from_str(&security::page_csp(&nonce, dev_reload))
        {
            res.insert_header(http::header::CONTENT_SECURITY_POLICY, v);
        }
    };
    let routes = generate_route_list(App);
    // The `sessions` table (created by our migrations), with the sessions this server has read cached in memory
    // (D-018).
    let store = crate::session_store::Sessions::new(pool.clone());
    let sessions = SessionManagerLayer::new(store.clone())
        .with_name(SESSION_COOKIE)
        .with_secure(true)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(settings.session_idle));
    let origin_policy = settings.origin;
    let gate = crate::limits::Gate::new(settings.limits);

    let leptos_state = state.clone();
    let app_shell = {
        let options = state.leptos_options.clone();
        move || shell(options.clone())
    };
    // The sign-in page again, for a sign-in that failed: rendered as the page routes render it.
    let sign_in_page = leptos_axum::render_app_to_stream_with_context(
        {
            let state = state.clone();
            move || {
                provide_context(state.clone());
                page_context();
            }
        },
        app_shell.clone(),
    );
    let pages = Router::new()
        .leptos_routes_with_context(&state, routes, page_context, app_shell)
        .route(
            "/login",
            post(move |state, session, parts, form| {
                crate::sign_in::answer(state, session, parts, form, sign_in_page.clone())
            }),
        )
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(page_context, shell))
        .with_state(leptos_state)
        // Pages are compressed as the browser accepts, at the fastest level: the board of a 5,000-deal pipeline is
        // 213 KB of HTML and 22 KB as Brotli (the contacts page 66 KB and 9 KB), and on a slow phone connection those
        // bytes came before anything was drawn. The browser's files are precompressed at build time instead (D-024);
        // the API answers as it is.
        .layer(CompressionLayer::new().quality(CompressionLevel::Fastest));

    let probes = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/dev/mailbox", get(crate::mailbox::page))
        .with_state(state.clone());

    let app = Router::new()
        .nest(
            "/api",
            crate::api::router()
                .layer(axum::Extension(feed.clone()))
                .with_state(state),
        )
        .merge(probes)
        .merge(crate::assets::routes(&settings.leptos_options))
        .merge(pages);
    let router = Router::new()
        .fallback_service(tower::service_fn(move |req: axum::extract::Request| {
            let (app, store) = (app.clone(), store.clone());
            async move {
                // A request refused as unauthenticated while it carried a session (a member transaction found the
                // session signed out through another server, D-018): this server's cached copy goes too.
                let session = req.extensions().get::<tower_sessions::Session>().and_then(|s| s.id());
                let res = confirm_scope(app, req).await;
                if let Some(id) = session
                    && res.status() == http::StatusCode::UNAUTHORIZED
                {
                    store.forget(&id);
                }
                Ok::<_, std::convert::Infallible>(res)
            }
        }))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &http::Request<_>| {
                    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                    // The path only: query strings may hold search terms, which are personal data.
                    tracing::info_span!("request", request.id = id, http.method = %req.method(), http.path = req.uri().path())
                }))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(axum::middleware::from_fn(security::headers))
                .layer(axum::middleware::from_fn_with_state(gate, crate::limits::enforce))
                .layer(axum::middleware::from_fn_with_state(origin_policy.clone(), security::refuse_unknown_host))
                .layer(axum::middleware::from_fn_with_state(origin_policy, security::refuse_cross_site))
                .layer(sessions),
        );
    Ok((router, finished))
}

/// Requests whose body is at most this big are buffered in memory, so they can be answered again with a fresh scope.
const REPLAYABLE_BODY: usize = 1 << 20;

/// A request's scope may use the role its session remembers (D-014). When that role no longer holds — the member
/// transaction refused it (`scope_changed`), or the request was forbidden while a role was remembered — the session
/// forgets the role and the request is answered again, now with the membership read afresh: a promotion or a demotion
/// applies to the very next request, with no error in between. Nothing was done the first time (the check precedes
/// every read and write; a refused transaction rolls back). Requests without a session id pass straight through;
/// bodies of unknown size or over [`REPLAYABLE_BODY`] (contact imports) are not buffered: they get the `scope_changed`
/// answer, and the next request reads the membership.
async fn confirm_scope(app: Router, req: axum::extract::Request) -> axum::response::Response {
    use axum::body::{Body, HttpBody};
    use axum::extract::Request;
    use tower::ServiceExt;
    let run = |app: Router, req: Request| async move {
        let mut res = app.oneshot(req).await.unwrap_or_else(|e| match e {});
        let changed = res
            .headers_mut()
            .remove(app::session::SCOPE_CHANGED_HEADER)
            .is_some();
        (res, changed)
    };
    // The id comes from the request's cookie; nothing is loaded to learn it.
    let Some(session) = req
        .extensions()
        .get::<tower_sessions::Session>()
        .filter(|s| s.id().is_some())
        .cloned()
    else {
        return run(app, req).await.0;
    };
    let (parts, body) = req.into_parts();
    if body
        .size_hint()
        .upper()
        .is_none_or(|n| n > REPLAYABLE_BODY as u64)
    {
        let (res, changed) = run(app, Request::from_parts(parts, body)).await;
        if changed {
            forget(&session).await;
        }
        return res;
    }
    let Ok(kept) = axum::body::to_bytes(body, REPLAYABLE_BODY).await else {
        return http::StatusCode::BAD_REQUEST.into_response();
    };
    let (res, changed) = run(
        app.clone(),
        Request::from_parts(parts.clone(), Body::from(kept.clone())),
    )
    .await;
    let stale = changed
        || (res.status() == http::StatusCode::FORBIDDEN
            && app::session::remembers_role(&session).await);
    if !stale {
        return res;
    }
    forget(&session).await;
    run(app, Request::from_parts(parts, Body::from(kept)))
        .await
        .0
}

async fn forget(session: &tower_sessions::Session) {
    if let Err(e) = app::session::forget_role(session).await {
        tracing::error!(error = %e, "could not forget a changed scope");
    }
}

async fn readyz(State(state): State<AppState>) -> impl axum::response::IntoResponse {
    match sqlx::query_scalar::<_, i32>("select 1")
        .fetch_one(&state.pool)
        .await
    {
        Ok(_) => (http::StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "database not ready");
            (
                http::StatusCode::SERVICE_UNAVAILABLE,
                "database unavailable",
            )
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    header_read: std::time::Duration,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::server::graceful::GracefulShutdown;
    use tower::Service;

    // axum::serve (HTTP/1.1, as it serves without its http2 feature) with one addition: a connection that has not sent a request's headers within `header_read` is
    // closed (it holds no request place until then, see `limits`, so nothing else would end it).
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was accepted: wait a moment.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // A page is written in several pieces (its head, then its body as it renders). With Nagle's algorithm on, a
        // piece after the first waited for the client's delayed acknowledgement, about 40 ms: the tail of a page's
        // latency on a quiet connection. Nothing here gains from coalescing small writes.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        let router = router.clone();
        let service =
            hyper::service::service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                router.clone().call(req.map(axum::body::Body::new))
            });
        // No route upgrades a connection (no WebSockets): a plain HTTP/1.1 connection.
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    // Every open connection finishes its request (event streams end at shutdown, see `live::close_all`).
    graceful.shutdown().await;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: draining requests");
    crate::live::close_all();
}
