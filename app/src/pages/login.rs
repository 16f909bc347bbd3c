use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::auth::SignInFailure;
use crate::components::{FieldError, FormError};

/// The sign-in page. It runs no script (D-026): its form is plain HTML, posted to this same address, where the server
/// signs the person in and redirects to `next`, or renders this page again with the error (a refused address under its
/// field) and the e-mail address as it was typed (`server::sign_in`).
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let (email, error) = SignInFailure::of_this_request()
        .map(|f| (f.email, f.error))
        .unzip();
    let email_error = error.as_ref().and_then(|e| e.field("email"));
    // After a failed attempt the address is already there: the cursor goes where the next keystroke belongs, the
    // password, unless the address itself was refused.
    let retype_password = email.is_some() && email_error.is_none();
    let email_invalid = email_error.is_some();

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
                        value=email autofocus=!retype_password aria-describedby="login-email-error"
                        aria-invalid=email_invalid.then_some("true")/>
                    <FieldError message=Signal::stored(email_error) id="login-email-error"/>
                    <label for="login-password">"Password"</label>
                    <input id="login-password" type="password" name="password" autocomplete="current-password"
                        required autofocus=retype_password/>
                    <FormError message=Signal::stored(error.map(|e| e.message))/>
                    <button type="submit" class="btn btn-primary">"Sign in"</button>
                </form>
                <p class="muted">"New to Clearview? " <A href="/signup">"Create a workspace"</A></p>
            </div>
        </main>
    }
}
