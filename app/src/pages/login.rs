use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::auth::Login;
use crate::components::FormError;

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let error = Signal::derive(move || {
        action
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.message)
    });

    view! {
        <Title text="Sign in"/>
        <main class="auth">
            <div class="card auth-card">
                <div class="brand brand-lg">"Clearview"</div>
                <h1>"Sign in"</h1>
                <ActionForm action=action attr:class="form" attr:novalidate="">
                    // An attribute, not a property: the page is sent without its script (D-026), and the server
                    // renders attributes only.
                    <input type="hidden" name="next" value=next/>
                    <label for="login-email">"Work e-mail"</label>
                    <input id="login-email" type="email" name="email" autocomplete="username" required/>
                    <label for="login-password">"Password"</label>
                    <input id="login-password" type="password" name="password" autocomplete="current-password" required/>
                    <FormError message=error/>
                    <button type="submit" class="btn btn-primary" disabled=move || action.pending().get()>
                        {move || if action.pending().get() { "Signing in…" } else { "Sign in" }}
                    </button>
                </ActionForm>
                <p class="muted">"New to Clearview? " <A href="/signup">"Create a workspace"</A></p>
            </div>
        </main>
    }
}
