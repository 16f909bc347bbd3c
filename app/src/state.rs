//! The state the server hands to every page render and server function.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::*;
use sqlx::PgPool;

use crate::error::ApiError;

/// Settings the web layer needs at request time.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// A session is dead this long after sign-in, however active (idle expiry, SESSION_IDLE_MINUTES, is the session
    /// layer's).
    pub session_absolute_secs: i64,
    /// Take the client address from `X-Forwarded-For` (only behind a proxy you run).
    pub trust_proxy_headers: bool,
    /// A session in use is saved again (pushing its idle expiry forward) when its last save is older than this; reads
    /// in between cost no write.
    pub session_touch_secs: i64,
}

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    pub config: Arc<WebConfig>,
    /// Where server functions hand what their units of work left to do (seal the audit entries, announce deal
    /// changes).
    pub after_commit: clearview::services::AfterCommit,
    /// The key and address of invitation links.
    pub links: Arc<clearview::services::invites::Links>,
    /// The dev mailbox folder when mail is kept there (no SMTP server configured); `None` when mail goes out.
    pub dev_mailbox: Option<Arc<std::path::PathBuf>>,
}

impl AppState {
    /// Hands on what a service's units of work left to do and returns its value.
    pub fn finish<T>(&self, done: clearview::services::Done<T>) -> T {
        self.after_commit.finish(done)
    }
}

/// The app state inside a server function or page render.
pub fn app_state() -> Result<AppState, ApiError> {
    use_context::<AppState>().ok_or_else(|| {
        clearview::Error::internal("AppState missing from the Leptos context").into()
    })
}
