use clearview::model::{SignupInput, ValidSignup};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::auth::Signup;
use crate::components::{FieldError, FieldErrors, FormError};
use crate::form::{PostAction, PostForm};

/// Sign-up checks each field as it is typed, with the same `clearview::domain` rules the server enforces.
#[component]
pub fn SignupPage() -> impl IntoView {
    let action = PostAction::<Signup>::new();
    let input = RwSignal::new(SignupInput::default());
    let local_errors = Memo::new(move |_| match ValidSignup::parse(&input.read()) {
        Ok(_) => Default::default(),
        Err(e) => e.fields().cloned().unwrap_or_default(),
    });
    let errors = FieldErrors::new(local_errors, move || {
        action.value().get().and_then(|r| r.err())
    });
    let field_error = move |name: &'static str| errors.of(name);
    let form_error = errors.form();
    let touch = move |name: &'static str| errors.touch(name);

    view! {
        <Title text="Create your workspace"/>
        <main class="auth">
            <div class="card auth-card">
                <div class="brand brand-lg">"Clearview"</div>
                <h1>"Create your workspace"</h1>
                <p class="muted">"You will be its admin."</p>
                <PostForm action=action attr:class="form" attr:novalidate="">
                    <label for="signup-name">"Your name"</label>
                    <input id="signup-name" name="name" autocomplete="name" required
                        on:input=move |ev| input.update(|i| i.name = event_target_value(&ev))
                        // Text typed before the page hydrated never fired `input`: take it on leaving the field.
                        on:blur=move |ev| {
                            input.update(|i| i.name = event_target_value(&ev));
                            touch("name");
                        }
                        aria-describedby="signup-name-error"/>
                    <FieldError message=field_error("name") id="signup-name-error"/>

                    <label for="signup-email">"Work e-mail"</label>
                    <input id="signup-email" type="email" name="email" autocomplete="email" required
                        on:input=move |ev| input.update(|i| i.email = event_target_value(&ev))
                        // Text typed before the page hydrated never fired `input`: take it on leaving the field.
                        on:blur=move |ev| {
                            input.update(|i| i.email = event_target_value(&ev));
                            touch("email");
                        }
                        aria-describedby="signup-email-error"/>
                    <FieldError message=field_error("email") id="signup-email-error"/>

                    <label for="signup-password">"Password"</label>
                    <input id="signup-password" type="password" name="password" autocomplete="new-password" required
                        minlength=clearview::domain::Password::MIN_CHARS
                        on:input=move |ev| {
                            input.update(|i| i.password = event_target_value(&ev));
                            touch("password");
                        }
                        aria-describedby="signup-password-error"/>
                    <FieldError message=field_error("password") id="signup-password-error"/>

                    <label for="signup-org">"Company or team name"</label>
                    <input id="signup-org" name="organization_name" autocomplete="organization" required
                        on:input=move |ev| input.update(|i| i.organization_name = event_target_value(&ev))
                        // Text typed before the page hydrated never fired `input`: take it on leaving the field.
                        on:blur=move |ev| {
                            input.update(|i| i.organization_name = event_target_value(&ev));
                            touch("organization_name");
                        }
                        aria-describedby="signup-org-error"/>
                    <FieldError message=field_error("organization_name") id="signup-org-error"/>

                    <FormError message=form_error/>
                    <button type="submit" class="btn btn-primary" disabled=move || action.pending().get()>
                        {move || if action.pending().get() { "Creating…" } else { "Create workspace" }}
                    </button>
                </PostForm>
                <p class="muted">"Already have an account? " <A href="/login">"Sign in"</A></p>
            </div>
        </main>
    }
}
