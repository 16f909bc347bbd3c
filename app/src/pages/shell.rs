use leptos::prelude::*;
use leptos_router::components::{A, Outlet, Redirect};
use leptos_router::hooks::use_location;

use crate::auth::{Logout, Me, SwitchWorkspace, get_me};
use crate::form::{PostAction, PostForm};
use crate::resource::Json;

/// Guards every page behind sign-in: a stranger is sent to the sign-in page, which brings them back afterwards.
#[component]
pub fn Protected() -> impl IntoView {
    // Blocking, so the server answers with a redirect (or the full page) rather than a loading state.
    let me = Resource::<_, Json>::new_with_options(|| (), |_| get_me(), true);
    let location = use_location();
    view! {
        <Suspense fallback=|| view! { <div class="loading" aria-busy="true">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(me)) => view! { <Shell me/> }.into_any(),
                    Ok(None) => {
                        let here = location.pathname.get_untracked();
                        let path = if here == "/" { "/login".to_string() } else { format!("/login?next={here}") };
                        view! { <Redirect path/> }.into_any()
                    }
                    Err(e) if e.message == crate::auth::NO_WORKSPACE => view! { <NoWorkspace/> }.into_any(),
                    Err(e) => view! {
                        <main class="auth"><div class="card auth-card">
                            <h1>"Something went wrong"</h1>
                            <p class="form-error" role="alert">{e.message}</p>
                            <a href="/login">"Sign in again"</a>
                        </div></main>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// A signed-in person in no workspace (they left their last one, were removed, or deleted it): start another.
#[component]
fn NoWorkspace() -> impl IntoView {
    let create = PostAction::<crate::auth::CreateWorkspace>::new();
    let logout = PostAction::<Logout>::new();
    Effect::new(move |_| {
        if matches!(create.value().get(), Some(Ok(()))) {
            let _ = window().location().set_href("/contacts");
        }
    });
    let error = Signal::derive(move || {
        create
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.field("name").unwrap_or(e.message))
    });
    view! {
        <main class="auth"><div class="card auth-card">
            <h1>"No workspace"</h1>
            <p class="muted">{crate::auth::NO_WORKSPACE}" Create one (you will be its admin), or open an invitation link from your mail."</p>
            <PostForm action=create attr:class="form">
                <label for="first-workspace">"Workspace name"</label>
                <input id="first-workspace" name="name" required aria-describedby="first-workspace-error"/>
                <button type="submit" class="btn btn-primary">"Create workspace"</button>
            </PostForm>
            <crate::components::FieldError message=error id="first-workspace-error"/>
            <PostForm action=logout attr:class="logout">
                <button type="submit" class="btn btn-ghost">"Sign out"</button>
            </PostForm>
        </div></main>
    }
}

/// The signed-in frame: navigation, workspace switcher, who you are, sign-out.
#[component]
fn Shell(me: Me) -> impl IntoView {
    provide_context(me.clone());
    let logout = PostAction::<Logout>::new();
    let switch = PostAction::<SwitchWorkspace>::new();
    // After switching, everything on screen belongs to the old workspace: load the app afresh.
    Effect::new(move |_| {
        if matches!(switch.value().get(), Some(Ok(()))) {
            let _ = window().location().set_href("/contacts");
        }
    });
    let current = me.organization.id;
    let orgs = me.organizations.clone();
    let several = orgs.len() > 1;

    view! {
        <div class="app">
            <header class="topbar">
                <a class="brand" href="/contacts">"Clearview"</a>
                <nav class="mainnav" aria-label="Main">
                    <A href="/contacts">"Contacts"</A>
                    <A href="/pipeline">"Pipeline"</A>
                    <A href="/settings">"Settings"</A>
                </nav>
                <div class="topbar-right">
                    <PostForm action=switch attr:class="switcher">
                        <label class="visually-hidden" for="workspace-switcher">"Workspace"</label>
                        <select id="workspace-switcher" name="organization_id" disabled=!several
                            title=if several { "Switch workspace" } else { "Your workspace" }
                            on:change=move |ev| {
                                switch.send(&[("organization_id", &event_target_value(&ev))]);
                            }>
                            {orgs.into_iter().map(|o| view! {
                                <option value=o.id.to_string() selected=o.id == current>{o.name}</option>
                            }).collect_view()}
                        </select>
                        <noscript><button type="submit" class="btn btn-small">"Switch"</button></noscript>
                    </PostForm>
                    <div class="who" title=me.user.email.clone()>
                        <span class="who-name">{me.user.name.clone()}</span>
                        <span class="role-badge" data-role=me.role.as_str()>{me.role.label()}</span>
                    </div>
                    <PostForm action=logout attr:class="logout">
                        <button type="submit" class="btn btn-ghost">"Sign out"</button>
                    </PostForm>
                </div>
            </header>
            // The page's own content is the main landmark; the top bar is the banner, its menu the navigation.
            <main class="content" id="main">
                <Outlet/>
            </main>
        </div>
    }
}

/// The signed-in person, for pages inside the shell.
pub fn use_me() -> Me {
    use_context::<Me>().expect("pages inside the shell are rendered by Shell, which provides Me")
}
