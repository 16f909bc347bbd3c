//! `/settings/members`: everyone in the workspace; for admins, their roles, removal, invitations.

use clearview::domain::Role;
use clearview::model::{InviteInput, InviteState, ValidInvite};
use clearview::policy::Action;
use leptos::prelude::*;
use leptos_meta::Title;

use super::settings::SettingsNav;
use super::shell::use_me;
use crate::components::{FieldError, FieldErrors, FormError, LocalTime, can};
use crate::form::{PostAction, PostForm};
use crate::resource::resource;
use crate::team::{
    InviteMember, RemoveMember, ResendInvite, RevokeInvite, SetMemberRole, dev_mailbox_enabled,
    list_invites, list_members,
};

#[component]
pub fn MembersPage() -> impl IntoView {
    let me = use_me();
    let admin = can(Action::ManageMembers);
    let set_role = PostAction::<SetMemberRole>::new();
    let remove = PostAction::<RemoveMember>::new();
    let invite = PostAction::<InviteMember>::new();
    let resend = PostAction::<ResendInvite>::new();
    let revoke = PostAction::<RevokeInvite>::new();
    let members = resource(
        move || (set_role.version().get(), remove.version().get()),
        |_| list_members(),
    );
    let invites = resource(
        move || {
            (
                invite.version().get(),
                resend.version().get(),
                revoke.version().get(),
            )
        },
        move |_| async move {
            if admin {
                list_invites().await
            } else {
                Ok(Vec::new())
            }
        },
    );
    let mailbox = resource(|| (), |_| dev_mailbox_enabled());
    let member_error = Signal::derive(move || {
        set_role
            .value()
            .get()
            .and_then(|r| r.err())
            .or_else(|| remove.value().get().and_then(|r| r.err()))
            .map(|e| e.message)
    });
    let invite_error = Signal::derive(move || {
        resend
            .value()
            .get()
            .and_then(|r| r.err())
            .or_else(|| revoke.value().get().and_then(|r| r.err()))
            .map(|e| e.message)
    });
    let me_id = me.user.id;

    view! {
        <Title text="Members"/>
        <section class="page">
            <header class="page-head"><h1>"Members"</h1></header>
            <SettingsNav/>
            <div class="card">
                <h2>"People in " {me.organization.name.clone()}</h2>
                <FormError message=member_error/>
                <Suspense fallback=|| view! { <p class="loading" aria-busy="true">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match members.await {
                            Err(e) => view! { <p class="form-error" role="alert">{e.message}</p> }.into_any(),
                            Ok(list) => view! {
                                <div class="table-wrap">
                                <table class="table members-table">
                                    <thead><tr>
                                        <th scope="col">"Name"</th>
                                        <th scope="col">"E-mail"</th>
                                        <th scope="col">"Role"</th>
                                        <th scope="col">"Joined"</th>
                                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                    </tr></thead>
                                    <tbody>
                                    {list.into_iter().map(|m| {
                                        let own = m.user_id == me_id;
                                        let label = format!("Role of {}", m.name);
                                        let select_id = format!("role-{}", m.user_id);
                                        view! {
                                            <tr data-member=m.email.clone()>
                                                <td>{m.name.clone()} {own.then(|| view! { <span class="muted">" (you)"</span> })}</td>
                                                <td>{m.email.clone()}</td>
                                                <td>
                                                    {if admin {
                                                        view! {
                                                            <PostForm action=set_role attr:class="form-inline">
                                                                <input type="hidden" name="user_id" value=m.user_id.to_string()/>
                                                                <label class="visually-hidden" for=select_id.clone()>{label}</label>
                                                                <select id=select_id name="role">
                                                                    {Role::ALL.into_iter().map(|r| view! {
                                                                        <option value=r.as_str() selected=r == m.role>{r.label()}</option>
                                                                    }).collect_view()}
                                                                </select>
                                                                <button type="submit" class="btn btn-small">"Save"</button>
                                                            </PostForm>
                                                        }.into_any()
                                                    } else {
                                                        view! { <span class="role-badge" data-role=m.role.as_str()>{m.role.label()}</span> }.into_any()
                                                    }}
                                                </td>
                                                <td>{m.joined_at.date().to_string()}</td>
                                                <td>
                                                    {(admin || own).then(|| view! {
                                                        <PostForm action=remove attr:class="form-inline">
                                                            <input type="hidden" name="user_id" value=m.user_id.to_string()/>
                                                            <button type="submit" class="btn btn-small btn-danger">
                                                                {if own { "Leave workspace".to_string() } else { format!("Remove {}", m.name) }}
                                                            </button>
                                                        </PostForm>
                                                    })}
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                    </tbody>
                                </table>
                                </div>
                            }.into_any(),
                        }
                    })}
                </Suspense>
                <p class="muted">"A removed member's contacts and deals stay in the workspace, with no owner."</p>
            </div>
            {admin.then(|| view! {
                <InviteForm invite/>
                <div class="card">
                    <h2>"Pending invitations"</h2>
                    <FormError message=invite_error/>
                    <Suspense fallback=|| view! { <p class="loading" aria-busy="true">"Loading…"</p> }>
                        {move || Suspend::new(async move {
                            let dev = matches!(mailbox.await, Ok(true));
                            match invites.await {
                                Err(e) => view! { <p class="form-error" role="alert">{e.message}</p> }.into_any(),
                                Ok(list) if list.is_empty() => view! { <p class="muted">"No invitation is waiting."</p> }.into_any(),
                                Ok(list) => view! {
                                    <div class="table-wrap">
                                    <table class="table invites-table">
                                        <thead><tr>
                                            <th scope="col">"E-mail"</th>
                                            <th scope="col">"Role"</th>
                                            <th scope="col">"Sent"</th>
                                            <th scope="col">"State"</th>
                                            <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                        </tr></thead>
                                        <tbody>
                                        {list.into_iter().map(|i| {
                                            let email = i.email.clone();
                                            let resend_label = format!("Resend to {}", i.email);
                                            let revoke_label = format!("Revoke {}", i.email);
                                            let (resend_id, revoke_id) = (i.id.to_string(), i.id.to_string());
                                            view! {
                                            <tr data-invite=email.clone()>
                                                <td>{email.clone()}</td>
                                                <td>{i.role.label()}</td>
                                                <td><LocalTime at=i.sent_at/> {i.invited_by.clone().map(|n| format!(" by {n}"))}</td>
                                                <td>{match i.state {
                                                    InviteState::Expired => "Expired: resend it".into_any(),
                                                    _ => view! { "Valid until " <LocalTime at=i.expires_at/> }.into_any(),
                                                }}</td>
                                                <td class="row-actions">
                                                    <PostForm action=resend attr:class="form-inline">
                                                        <input type="hidden" name="id" value=resend_id/>
                                                        <button type="submit" class="btn btn-small">{resend_label}</button>
                                                    </PostForm>
                                                    <PostForm action=revoke attr:class="form-inline">
                                                        <input type="hidden" name="id" value=revoke_id/>
                                                        <button type="submit" class="btn btn-small btn-danger">{revoke_label}</button>
                                                    </PostForm>
                                                </td>
                                            </tr>
                                        }}).collect_view()}
                                        </tbody>
                                    </table>
                                    </div>
                                    {dev.then(|| view! {
                                        <p class="muted">"No SMTP server is configured: invitation mail is kept in the "
                                            <a href="/dev/mailbox" rel="external">"dev mailbox"</a>"."</p>
                                    })}
                                }.into_any(),
                            }
                        })}
                    </Suspense>
                </div>
            })}
        </section>
    }
}

/// The invitation form, checked as it is typed with the rules the server enforces.
#[component]
fn InviteForm(invite: PostAction<InviteMember>) -> impl IntoView {
    let input = RwSignal::new(InviteInput {
        email: String::new(),
        role: Role::Rep.as_str().into(),
    });
    let local = Memo::new(move |_| match ValidInvite::parse(&input.read()) {
        Ok(_) => Default::default(),
        Err(e) => e.fields().cloned().unwrap_or_default(),
    });
    let errors = FieldErrors::new(local, move || invite.value().get().and_then(|r| r.err()));
    let sent = Signal::derive(move || {
        invite
            .value()
            .get()
            .and_then(|r| r.ok())
            .map(|i| format!("Invitation sent to {}.", i.email))
    });
    Effect::new(move |_| {
        if matches!(invite.value().get(), Some(Ok(_))) {
            errors.reset();
            input.update(|i| i.email.clear());
        }
    });
    view! {
        <div class="card">
            <h2>"Invite someone"</h2>
            <p class="muted">"They get an e-mail with a link that works once, for 7 days."</p>
            <PostForm action=invite attr:class="form invite-form" attr:novalidate=""
                on:submit=move |_| errors.submit()>
                <label for="invite-email">"E-mail"</label>
                <input id="invite-email" type="email" name="email" autocomplete="off" required
                    prop:value=move || input.read().email.clone()
                    on:input=move |ev| input.update(|i| i.email = event_target_value(&ev))
                    on:blur=move |ev| {
                        input.update(|i| i.email = event_target_value(&ev));
                        errors.touch("email");
                    }
                    aria-describedby="invite-email-error"/>
                <label for="invite-role">"Role"</label>
                <select id="invite-role" name="role"
                    on:change=move |ev| input.update(|i| i.role = event_target_value(&ev))>
                    {Role::ALL.into_iter().map(|r| view! {
                        <option value=r.as_str() selected=r == Role::Rep>{r.label()}</option>
                    }).collect_view()}
                </select>
                <button type="submit" class="btn btn-primary" disabled=move || invite.pending().get()>
                    {move || if invite.pending().get() { "Sending…" } else { "Send invitation" }}
                </button>
            </PostForm>
            <FieldError message=errors.of("email") id="invite-email-error"/>
            <FieldError message=errors.of("role") id="invite-role-error"/>
            <FormError message=errors.form()/>
            <Show when=move || sent.get().is_some()>
                <p class="form-ok" role="status">{move || sent.get()}</p>
            </Show>
        </div>
    }
}
