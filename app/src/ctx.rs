//! What a server function needs from its request: the app state, the session, the request's parts.

use clearview::services::Scope;
use http::request::Parts;
use leptos::prelude::*;
use tower_sessions::Session;

use crate::error::ApiError;
use crate::session;
use crate::state::{AppState, app_state};

pub struct Ctx {
    pub state: AppState,
    pub session: Session,
    pub parts: Parts,
}

impl Ctx {
    pub fn load() -> Result<Self, ApiError> {
        let state = app_state()?;
        let missing = |what: &str| {
            ApiError::from(clearview::Error::internal(format!(
                "{what} missing from the request context"
            )))
        };
        let parts = use_context::<Parts>().ok_or_else(|| missing("request parts"))?;
        let session = parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or_else(|| missing("session"))?;
        Ok(Self {
            state,
            session,
            parts,
        })
    }

    /// Hands on what a service's units of work left to do and returns its value.
    pub fn finish<T>(&self, done: clearview::services::Done<T>) -> T {
        self.state.after_commit.finish(done)
    }

    pub fn request_id(&self) -> Option<String> {
        session::request_id(&self.parts)
    }

    /// The signed-in member's workspace scope (`Unauthenticated` otherwise).
    pub async fn scope(&self) -> Result<Scope, ApiError> {
        Ok(session::scope(
            &self.session,
            &self.state.pool,
            &self.state.config,
            self.request_id(),
        )
        .await?)
    }
}
