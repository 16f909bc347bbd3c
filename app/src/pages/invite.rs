//! `/invite?token=…`: the page an invitation mail links to. It says what the link invites to and lets the person
//! join: with a new account, by signing in to theirs, or at once when they are signed in already. A link that
//! cannot be used says why.

use clearview::domain::Password;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::auth::Logout;
use crate::components::{FieldError, FieldErrors, FormError};
use crate::form::{PostAction, PostForm};
use crate::resource::Json;
use crate::team::{AcceptInvite, preview_invite};

#[component]
pub fn InvitePage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let preview = Resource::<_, Json>::new_with_options(token, preview_invite, true);
    let accept = PostAction::<AcceptInvite>::new();
    let logout = PostAction::<Logout>::new();
    let input = RwSignal::new(clearview::model::AcceptInput::default());
    // The new account's fields, checked with the rules the server enforces (shown once a field was left or the form
    // sent).
    let local = Memo::new(
        move |_| match clearview::model::ValidNewAccount::parse(&input.read()) {
            Ok(_) => Default::default(),
            Err(e) => e.fields().cloned().unwrap_or_default(),
        },
    );
    let errors = FieldErrors::new(local, move || accept.value().get().and_then(|r| r.err()));
    Effect::new(move |_| {
        if matches!(accept.value().get(), Some(Ok(()))) {
            let _ = window().location().set_href("/contacts");
        }
    });

    view! {
        <Title text="Invitation"/>
        <main class="auth">
            <div class="card auth-card">
                <div class="brand brand-lg">"Clearview"</div>
                <Suspense fallback=|| view! { <p class="loading" aria-busy="true">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match preview.await {
                            Err(e) => view! {
                                <h1>"This invitation cannot be used"</h1>
                                <p class="form-error" role="alert">{
                                    if e.code == crate::error::ErrorCode::NotFound {
                                        "This link is not a valid invitation. Check that you opened the whole link from the mail.".to_string()
                                    } else {
                                        capitalise(&e.message)
                                    }
                                }</p>
                                <p><a href="/login">"Sign in"</a></p>
                            }.into_any(),
                            Ok((p, signed_in)) => {
                                let heading = format!("Join {}", p.organization);
                                let what = format!("You are invited to {} as a {}.", p.organization, p.role.label().to_lowercase());
                                let form = match signed_in {
                                    Some(email) if email.eq_ignore_ascii_case(&p.email) => view! {
                                        <PostForm action=accept attr:class="form">
                                            <input type="hidden" name="token" value=token()/>
                                            <p>"You are signed in as " <strong>{email}</strong> "."</p>
                                            <FormError message=errors.form()/>
                                            <button type="submit" class="btn btn-primary">{format!("Join {}", p.organization)}</button>
                                        </PostForm>
                                    }.into_any(),
                                    Some(email) => view! {
                                        <p class="form-error" role="alert">
                                            {format!("This invitation is for {}, but you are signed in as {email}. Sign out, then open the link again.", p.email)}
                                        </p>
                                        <PostForm action=logout attr:class="form">
                                            <button type="submit" class="btn">"Sign out"</button>
                                        </PostForm>
                                    }.into_any(),
                                    None if p.has_account => view! {
                                        <PostForm action=accept attr:class="form" attr:novalidate="">
                                            <input type="hidden" name="token" value=token()/>
                                            <p>"Sign in as " <strong>{p.email.clone()}</strong> " to join."</p>
                                            <label for="accept-password">"Password"</label>
                                            <input id="accept-password" type="password" name="password" autocomplete="current-password" required
                                                aria-describedby="accept-password-error"/>
                                            <FieldError message=errors.of("password") id="accept-password-error"/>
                                            <FormError message=errors.form()/>
                                            <button type="submit" class="btn btn-primary" disabled=move || accept.pending().get()>"Sign in and join"</button>
                                        </PostForm>
                                    }.into_any(),
                                    None => view! {
                                        <PostForm action=accept attr:class="form" attr:novalidate=""
                                            on:submit=move |_| errors.submit()>
                                            <input type="hidden" name="token" value=token()/>
                                            <p>"Create your account for " <strong>{p.email.clone()}</strong> "."</p>
                                            <label for="accept-name">"Your name"</label>
                                            <input id="accept-name" name="name" autocomplete="name" required
                                                on:input=move |ev| input.update(|i| i.name = event_target_value(&ev))
                                                on:blur=move |ev| {
                                                    input.update(|i| i.name = event_target_value(&ev));
                                                    errors.touch("name");
                                                }
                                                aria-describedby="accept-name-error"/>
                                            <FieldError message=errors.of("name") id="accept-name-error"/>
                                            <label for="accept-new-password">"Password"</label>
                                            <input id="accept-new-password" type="password" name="password" autocomplete="new-password" required
                                                minlength=Password::MIN_CHARS
                                                on:input=move |ev| input.update(|i| i.password = event_target_value(&ev))
                                                aria-describedby="accept-password-error"/>
                                            <FieldError message=errors.of("password") id="accept-password-error"/>
                                            <FormError message=errors.form()/>
                                            <button type="submit" class="btn btn-primary" disabled=move || accept.pending().get()>
                                                "Create account and join"
                                            </button>
                                        </PostForm>
                                    }.into_any(),
                                };
                                view! { <h1>{heading}</h1><p class="muted">{what}</p>{form} }.into_any()
                            }
                        }
                    })}
                </Suspense>
            </div>
        </main>
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
