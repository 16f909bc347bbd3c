pub mod contact;
pub mod contacts;
pub mod deal;
pub mod invite;
pub mod login;
pub mod mail;
pub mod members;
pub mod pipeline;
pub mod pipelines;
pub mod settings;
pub mod shell;
pub mod signup;
pub mod timeline;

use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="auth">
            <div class="card auth-card">
                <h1>"Page not found"</h1>
                <p class="muted">"There is nothing at this address."</p>
                <A href="/contacts">"Go to your contacts"</A>
            </div>
        </main>
    }
}
