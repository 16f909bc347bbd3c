use leptos::prelude::*;
use leptos_meta::Title;

use super::shell::use_me;

#[component]
pub fn ContactsPage() -> impl IntoView {
    let me = use_me();
    view! {
        <Title text="Contacts"/>
        <section class="page">
            <header class="page-head">
                <h1>"Contacts"</h1>
            </header>
            <div class="card empty">
                <h2>"No contacts yet"</h2>
                <p class="muted">
                    "People you sell to will be listed here for everyone in " <strong>{me.organization.name}</strong> "."
                </p>
            </div>
        </section>
    }
}
