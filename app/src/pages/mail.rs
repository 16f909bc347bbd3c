//! `/settings/mail` (admins): the workspace's mail that has not gone out yet (queued, being sent) or failed every
//! attempt (dead), with the last error and a retry button.

use clearview::model::JobStatus;
use clearview::policy::Action;
use leptos::prelude::*;
use leptos_meta::Title;

use super::settings::SettingsNav;
use crate::components::{FormError, LocalTime, can};
use crate::form::{PostAction, PostForm};
use crate::resource::resource;
use crate::team::{RetryJob, dev_mailbox_enabled, list_jobs};

#[component]
pub fn MailPage() -> impl IntoView {
    let retry = PostAction::<RetryJob>::new();
    let jobs = resource(move || retry.version().get(), |_| list_jobs(None));
    let mailbox = resource(|| (), |_| dev_mailbox_enabled());
    let error =
        Signal::derive(move || retry.value().get().and_then(|r| r.err()).map(|e| e.message));
    if !can(Action::ReadJobs) {
        return view! {
            <Title text="Mail"/>
            <section class="page">
                <header class="page-head"><h1>"Mail"</h1></header>
                <SettingsNav/>
                <div class="card"><p>"Only the workspace's admins see its mail."</p></div>
            </section>
        }
        .into_any();
    }
    view! {
        <Title text="Mail"/>
        <section class="page">
            <header class="page-head"><h1>"Mail"</h1></header>
            <SettingsNav/>
            <div class="card">
                <h2>"Waiting and failed mail"</h2>
                <p class="muted">"Mail is tried three times, waiting longer each time. Mail that failed every attempt stays here until you retry it."</p>
                <FormError message=error/>
                <Suspense fallback=|| view! { <p class="loading" aria-busy="true">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        let dev = matches!(mailbox.await, Ok(true));
                        let note = dev.then(|| view! {
                            <p class="muted">"No SMTP server is configured: sent mail is kept in the "
                                <a href="/dev/mailbox" rel="external">"dev mailbox"</a>"."</p>
                        });
                        match jobs.await {
                            Err(e) => view! { <p class="form-error" role="alert">{e.message}</p> }.into_any(),
                            Ok(list) if list.is_empty() => view! {
                                <p>"All mail has gone out."</p>{note}
                            }.into_any(),
                            Ok(list) => view! {
                                <div class="table-wrap">
                                <table class="table jobs-table">
                                    <thead><tr>
                                        <th scope="col">"Mail"</th>
                                        <th scope="col">"State"</th>
                                        <th scope="col">"Attempts"</th>
                                        <th scope="col">"Last error"</th>
                                        <th scope="col">"Queued"</th>
                                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                    </tr></thead>
                                    <tbody>
                                    {list.into_iter().map(|j| view! {
                                        <tr data-status=format!("{:?}", j.status).to_lowercase()>
                                            <td>{j.summary.clone()}</td>
                                            <td>{match j.status {
                                                JobStatus::Queued if j.attempts == 0 => "Queued".into_any(),
                                                JobStatus::Queued => view! { "Next attempt " <LocalTime at=j.run_at/> }.into_any(),
                                                JobStatus::Running => "Sending".into_any(),
                                                JobStatus::Done => "Sent".into_any(),
                                                JobStatus::Dead => "Failed".into_any(),
                                            }}</td>
                                            <td>{format!("{} of {}", j.attempts, j.max_attempts)}</td>
                                            <td class="error-text">{j.last_error.clone().unwrap_or_default()}</td>
                                            <td><LocalTime at=j.created_at/></td>
                                            <td>
                                                {(j.status == JobStatus::Dead).then(|| view! {
                                                    <PostForm action=retry attr:class="form-inline">
                                                        <input type="hidden" name="id" value=j.id.to_string()/>
                                                        <button type="submit" class="btn btn-small">"Retry"</button>
                                                    </PostForm>
                                                })}
                                            </td>
                                        </tr>
                                    }).collect_view()}
                                    </tbody>
                                </table>
                                </div>
                                {note}
                            }.into_any(),
                        }
                    })}
                </Suspense>
            </div>
        </section>
    }
    .into_any()
}
