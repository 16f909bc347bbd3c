use leptos::prelude::*;
use leptos_meta::Title;

use super::shell::use_me;
use crate::auth::CreateWorkspace;
use crate::components::FieldError;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let me = use_me();
    let create = ServerAction::<CreateWorkspace>::new();
    Effect::new(move |_| {
        if matches!(create.value().get(), Some(Ok(()))) {
            let _ = window().location().set_href("/settings");
        }
    });
    let name_error = Signal::derive(move || {
        create
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.field("name").unwrap_or(e.message))
    });
    view! {
        <Title text="Settings"/>
        <section class="page">
            <header class="page-head"><h1>"Settings"</h1></header>
            <div class="card">
                <h2>"Workspace"</h2>
                <dl class="facts">
                    <dt>"Name"</dt><dd>{me.organization.name.clone()}</dd>
                    <dt>"Your role"</dt><dd>{me.role.label()}</dd>
                    <dt>"Signed in as"</dt><dd>{me.user.email.clone()}</dd>
                </dl>
            </div>
            <div class="card">
                <h2>"Create another workspace"</h2>
                <p class="muted">"A separate team with its own contacts, deals and pipelines. You will be its admin."</p>
                <ActionForm action=create attr:class="form form-inline">
                    <label for="new-workspace">"Name"</label>
                    <input id="new-workspace" name="name" required aria-describedby="new-workspace-error"/>
                    <button type="submit" class="btn">"Create"</button>
                </ActionForm>
                <FieldError message=name_error id="new-workspace-error"/>
            </div>
        </section>
    }
}
