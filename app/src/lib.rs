//! Clearview's user interface: routes, pages, components and the server functions they call.

pub mod activities;
pub mod auth;
pub mod components;
pub mod contacts;
pub mod deals;
pub mod error;
pub mod form;
pub mod pages;
pub mod pipelines;
pub mod resource;
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
                {runs_script().then(|| view! { <AppScript options=options.clone()/> })}
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

/// The app's script, started once the server's page is on screen (D-028). The server sends every page complete; the
/// browser paints it, and only then fetches the script and the WASM, both at once, and hands the page to the app.
/// Leptos' `HydrationScripts` preloads both from the `<head>`, where on a slow connection the WASM competes with the
/// page and its stylesheet for the first paint, and the app's start-up work can run before that paint.
#[component]
fn AppScript(options: LeptosOptions) -> impl IntoView {
    let nonce = leptos::nonce::use_nonce();
    let script = format!(
        "({START_APP})({:?},{:?})",
        asset_href(&options, "js"),
        asset_href(&options, "wasm")
    );
    view! { <script type="module" nonce=nonce>{script}</script> }
}

/// Starts the app once the browser reports the page's first contentful paint (a browser that does not report paints,
/// or a hidden tab, which paints nothing, starts at once). The WASM is fetched while the script loads (wasm-bindgen's
/// `init` takes the pending response); the page is hydrated in a task of its own after the WASM is instantiated, so
/// neither holds the main thread for the sum of both.
const START_APP: &str = "(js, wasm) => {
  let started = false;
  const start = () => {
    if (started) return;
    started = true;
    const module = fetch(wasm);
    import(js)
      .then((app) => app.default({ module_or_path: module }).then(() => app))
      .then((app) => setTimeout(() => app.hydrate(), 0));
  };
  const paints = globalThis.PerformanceObserver?.supportedEntryTypes?.includes('paint');
  if (!paints || document.visibilityState === 'hidden') return start();
  new PerformanceObserver((list, observer) => {
    if (list.getEntriesByName('first-contentful-paint').length) {
      observer.disconnect();
      start();
    }
  }).observe({ type: 'paint', buffered: true });
  // A tab hidden before its first paint never paints; it starts when it is hidden.
  document.addEventListener('visibilitychange', start, { once: true });
}";

/// The stylesheet's address: see [`asset_href`].
pub fn stylesheet_href(options: &LeptosOptions) -> String {
    asset_href(options, "css")
}

/// The address of the site's `js`, `wasm` or `css` file: `/pkg/<name>.<hash>.<kind>` when the site was built with
/// content-hashed names (the hash file's `<kind>: <hash>` lines), else `/pkg/<name>.<kind>`.
pub fn asset_href(options: &LeptosOptions, kind: &str) -> String {
    #[allow(unused_mut, reason = "only the server reads the hash file")]
    let mut name = options.output_name.to_string();
    #[cfg(feature = "ssr")]
    if options.hash_files
        && let Some(hash) = asset_hash(&options.hash_file, kind)
    {
        name = format!("{name}.{hash}");
    }
    format!("/{}/{name}.{kind}", options.site_pkg_dir)
}

/// A file's hash from a hash file (its `<kind>: <hash>` lines). Each hash file is read once: rendering a page does not
/// touch the disk.
#[cfg(feature = "ssr")]
fn asset_hash(file: &str, kind: &str) -> Option<String> {
    static READ: std::sync::Mutex<std::collections::BTreeMap<String, String>> =
        std::sync::Mutex::new(std::collections::BTreeMap::new());
    let mut read = READ.lock().unwrap_or_else(|e| e.into_inner());
    let text = read
        .entry(file.to_owned())
        .or_insert_with(|| std::fs::read_to_string(file).unwrap_or_default());
    text.lines().find_map(|line| {
        line.split_once(':')
            .filter(|(k, _)| k.trim() == kind)
            .map(|(_, hash)| hash.trim().to_owned())
    })
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
    // `<body data-hydrated>` once the WASM has taken over the page, deferred parts included: the browser journeys tell a
    // running page from a static one by it.
    Effect::new(move |_| components::later::hydration_pass_done());

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
