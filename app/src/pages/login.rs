use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::auth::SignInFailure;
use crate::components::FormError;

/// The sign-in page. It runs no script (D-026): its form is plain HTML, posted to this same address, where the server
/// signs the person in and redirects to `next`, or renders this page again with the message and the e-mail address
/// as it was typed (`server::sign_in`).
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let failure = SignInFailure::of_this_request();
    let (email, message) = match failure {
        Some(f) => (Some(f.email), Some(f.message)),
        None => (None, None),
    };
    // After a failed attempt the address is already there: the cursor goes where the next keystroke belongs.
    let retyping = email.is_some();

    view! {
        <Title text="Sign in"/>
        <main class="auth">
            <div class="card auth-card">
                <div class="brand brand-lg">"Clearview"</div>
                <h1>"Sign in"</h1>
                // No `action`: the form posts to the page's own address, `next` and all. Everything it posts is an
                // attribute, which the server renders (a property would be lost without the script).
                <form method="post" class="form">
                    <input type="hidden" name="next" value=next/>
                    <label for="login-email">"Work e-mail"</label>
                    <input id="login-email" type="email" name="email" autocomplete="username" required
                        value=email autofocus=!retyping/>
                    <label for="login-password">"Password"</label>
                    <input id="login-password" type="password" name="password" autocomplete="current-password"
                        required autofocus=retyping/>
                    <FormError message=Signal::stored(message)/>
                    <button type="submit" class="btn btn-primary">"Sign in"</button>
                </form>
                <p class="muted">"New to Clearview? " <A href="/signup">"Create a workspace"</A></p>
            </div>
        </main>
    }
}
