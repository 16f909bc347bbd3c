//! `/settings`: the workspace (its name, deleting it, leaving it) and creating another one.

use clearview::policy::Action;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::shell::use_me;
use crate::auth::CreateWorkspace;
use crate::components::{FieldError, FormError, can};
use crate::form::{PostAction, PostForm};
use crate::team::{DeleteWorkspace, RemoveMember, RenameWorkspace};

/// The tabs of the settings pages; each shows only to those the policy table lets use it.
#[component]
pub fn SettingsNav() -> impl IntoView {
    view! {
        <nav class="tabs" aria-label="Settings">
            <A href="/settings" exact=true>"Workspace"</A>
            <A href="/settings/members">"Members"</A>
            {can(Action::ConfigurePipelines).then(|| view! { <A href="/settings/pipelines">"Pipelines"</A> })}
            {can(Action::ReadJobs).then(|| view! { <A href="/settings/mail">"Mail"</A> })}
        </nav>
    }
}

#[component]
pub fn SettingsPage() -> impl IntoView {
    let me = use_me();
    let create = PostAction::<CreateWorkspace>::new();
    let rename = PostAction::<RenameWorkspace>::new();
    let delete = PostAction::<DeleteWorkspace>::new();
    let leave = PostAction::<RemoveMember>::new();
    Effect::new(move |_| {
        if matches!(create.value().get(), Some(Ok(())))
            || matches!(rename.value().get(), Some(Ok(())))
        {
            let _ = window().location().set_href("/settings");
        }
        if matches!(delete.value().get(), Some(Ok(())))
            || matches!(leave.value().get(), Some(Ok(())))
        {
            let _ = window().location().set_href("/contacts");
        }
    });
    let field_of = |e: Option<crate::error::ApiError>, name: &str| {
        e.map(|e| e.field(name).unwrap_or(e.message))
    };
    let name_error =
        Signal::derive(move || field_of(create.value().get().and_then(|r| r.err()), "name"));
    let rename_error =
        Signal::derive(move || field_of(rename.value().get().and_then(|r| r.err()), "name"));
    let delete_error =
        Signal::derive(move || field_of(delete.value().get().and_then(|r| r.err()), "confirm"));
    let leave_error =
        Signal::derive(move || leave.value().get().and_then(|r| r.err()).map(|e| e.message));
    let workspace = me.organization.name.clone();
    let delete_note = format!(
        "Deletes {workspace} with all of its contacts, deals, activities, pipelines, invitations and history, for \
         every member. It cannot be undone."
    );
    let delete_label = format!("Type “{workspace}” to confirm");
    view! {
        <Title text="Settings"/>
        <section class="page">
            <header class="page-head"><h1>"Settings"</h1></header>
            <SettingsNav/>
            <div class="card">
                <h2>"Workspace"</h2>
                <dl class="facts">
                    <dt>"Name"</dt><dd>{me.organization.name.clone()}</dd>
                    <dt>"Your role"</dt><dd>{me.role.label()}</dd>
                    <dt>"Signed in as"</dt><dd>{me.user.email.clone()}</dd>
                </dl>
                {can(Action::UpdateOrganization).then(|| view! {
                    <PostForm action=rename attr:class="form form-inline">
                        <label for="workspace-name">"Rename to"</label>
                        <input id="workspace-name" name="name" required value=workspace.clone()
                            aria-describedby="workspace-name-error"/>
                        <button type="submit" class="btn">"Rename"</button>
                    </PostForm>
                    <FieldError message=rename_error id="workspace-name-error"/>
                })}
                <PostForm action=leave attr:class="form form-inline">
                    <input type="hidden" name="user_id" value=me.user.id.to_string()/>
                    <button type="submit" class="btn btn-danger">"Leave this workspace"</button>
                </PostForm>
                <FormError message=leave_error/>
            </div>
            <div class="card">
                <h2>"Create another workspace"</h2>
                <p class="muted">"A separate team with its own contacts, deals and pipelines. You will be its admin."</p>
                <PostForm action=create attr:class="form form-inline">
                    <label for="new-workspace">"Name"</label>
                    <input id="new-workspace" name="name" required aria-describedby="new-workspace-error"/>
                    <button type="submit" class="btn">"Create"</button>
                </PostForm>
                <FieldError message=name_error id="new-workspace-error"/>
            </div>
            {can(Action::DeleteOrganization).then(|| view! {
                <div class="card danger-zone">
                    <h2>"Delete this workspace"</h2>
                    <p class="muted">{delete_note.clone()}</p>
                    <PostForm action=delete attr:class="form form-inline">
                        <label for="delete-confirm">{delete_label.clone()}</label>
                        <input id="delete-confirm" name="confirm" required autocomplete="off"
                            aria-describedby="delete-confirm-error"/>
                        <button type="submit" class="btn btn-danger">"Delete workspace"</button>
                    </PostForm>
                    <FieldError message=delete_error id="delete-confirm-error"/>
                </div>
            })}
        </section>
    }
}
