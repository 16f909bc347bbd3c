//! Clearview's user interface: routes, pages, components and the server functions they call.

pub mod activities;
pub mod auth;
pub mod components;
pub mod contacts;
pub mod deals;
pub mod error;
pub mod pages;
pub mod pipelines;
pub mod team;
pub mod workspace;

#[cfg(feature = "ssr")]
pub mod ctx;
#[cfg(feature = "ssr")]
pub mod session;
#[cfg(feature = "ssr")]
pub mod state;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::{SsrMode, path};

use crate::pages::{
    contact::ContactPage, contacts::ContactsPage, deal::DealPage, invite::InvitePage,
    login::LoginPage, mail::MailPage, members::MembersPage, pipeline::PipelinePage,
    pipelines::PipelinesPage, settings::SettingsPage, shell::Protected, signup::SignupPage,
};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <meta name="description" content="Clearview CRM: contacts, deals and pipelines for small sales teams"/>
                // Plain elements in the server-only shell: they are never hydrated, so they cannot mismatch.
                <link rel="stylesheet" id="leptos" href=stylesheet_href(&options)/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <AutoReload options=options.clone()/>
                {runs_script().then(|| view! { <HydrationScripts options/> })}
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Pages whose first visit downloads no script (D-026): they work completely as plain HTML, so the browser fetches
/// neither the script nor the WASM. Sign-in is one form whose outcome the server renders (a wrong password gets the page
/// again with the message and the address as typed, a right one a redirect: `server::sign_in`), and the bundle it
/// would load is only needed on the next page.
/// Reached by a link inside the running app, such a page is rendered by the app as every other.
pub const SCRIPT_FREE_PAGES: &[&str] = &["/login"];

/// Whether the page being rendered loads the app's script: every page but the [`SCRIPT_FREE_PAGES`].
fn runs_script() -> bool {
    #[cfg(feature = "ssr")]
    if let Some(parts) = use_context::<http::request::Parts>() {
        return !SCRIPT_FREE_PAGES.contains(&parts.uri.path());
    }
    true
}

/// The stylesheet's address: `/pkg/<name>.<hash>.css` when the site was built with content-hashed names (the `css`
/// line of the hash file that `HydrationScripts` reads for the script and the WASM), else `/pkg/<name>.css`.
pub fn stylesheet_href(options: &LeptosOptions) -> String {
    #[allow(unused_mut, reason = "only the server reads the hash file")]
    let mut name = options.output_name.to_string();
    #[cfg(feature = "ssr")]
    if options.hash_files
        && let Some(hash) = css_hash(&options.hash_file)
    {
        name = format!("{name}.{hash}");
    }
    format!("/{}/{name}.css", options.site_pkg_dir)
}

/// The stylesheet's hash from a hash file, read once per file: rendering a page does not touch the disk.
#[cfg(feature = "ssr")]
fn css_hash(file: &str) -> Option<String> {
    static READ: std::sync::Mutex<Vec<(String, Option<String>)>> =
        std::sync::Mutex::new(Vec::new());
    let mut read = READ.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, hash)) = read.iter().find(|(f, _)| f == file) {
        return hash.clone();
    }
    let hash = std::fs::read_to_string(file).ok().and_then(|text| {
        text.lines().find_map(|line| {
            line.split_once(':')
                .filter(|(kind, _)| kind.trim() == "css")
                .map(|(_, hash)| hash.trim().to_string())
        })
    });
    read.push((file.to_string(), hash.clone()));
    hash
}

/// The page's title, as every `<Title text=…/>` is shown: "… · Clearview". Every title passes through here (the root
/// `<Title formatter/>`). On the server leptos_meta (0.8.7) writes the title into the page's `<head>` as it is, not
/// escaped, and titles carry people's data (a contact's or a deal's name): so the server escapes it here. In the
/// browser the title is set as `document.title`, which is text, and stays as it is.
fn page_title(title: String) -> String {
    let full = if title.is_empty() {
        "Clearview".to_string()
    } else {
        format!("{title} · Clearview")
    };
    #[cfg(feature = "ssr")]
    let full = escape_html(&full);
    full
}

/// Text as HTML, for markup the server writes outside the view macro: `& < > " '` as character references, so it can
/// end neither the element nor the quoted attribute it is in.
#[cfg(feature = "ssr")]
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Set once the WASM has taken over the page; tests and styles can tell a hydrated page from a static one.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Title formatter=page_title/>
        <Router>
            // The routed view needs a parent element: hydration resumes inside it.
            <div id="root">
            <Routes fallback=|| view! { <pages::NotFound/> }>
                <Route path=path!("/login") view=LoginPage/>
                <Route path=path!("/signup") view=SignupPage/>
                <Route path=path!("/invite") view=InvitePage ssr=SsrMode::Async/>
                // Signed-in pages render completely on the server before they are sent (SsrMode::Async): the first
                // paint has the data, and every page works without JavaScript, where streamed fragments could not
                // be swapped in.
                <ParentRoute path=path!("") view=Protected ssr=SsrMode::Async>
                    <Route path=path!("") view=|| view! { <Redirect path="/contacts"/> } ssr=SsrMode::Async/>
                    <Route path=path!("/contacts") view=ContactsPage ssr=SsrMode::Async/>
                    <Route path=path!("/contacts/:id") view=ContactPage ssr=SsrMode::Async/>
                    <Route path=path!("/deals/:id") view=DealPage ssr=SsrMode::Async/>
                    <Route path=path!("/pipeline") view=PipelinePage ssr=SsrMode::Async/>
                    <Route path=path!("/settings") view=SettingsPage ssr=SsrMode::Async/>
                    <Route path=path!("/settings/members") view=MembersPage ssr=SsrMode::Async/>
                    <Route path=path!("/settings/mail") view=MailPage ssr=SsrMode::Async/>
                    <Route path=path!("/settings/pipelines") view=PipelinesPage ssr=SsrMode::Async/>
                </ParentRoute>
            </Routes>
            </div>
        </Router>
    }
}
