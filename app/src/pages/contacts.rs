use clearview::model::{ContactInput, ContactQuery, ContactSort, SortDir, ValidContact};
use clearview::policy::Action;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::NavigateOptions;
use leptos_router::components::{A, Form};
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::components::{FieldError, FieldErrors, FormError, Later, can, encode_query_value};
use crate::contacts::{CreateContact, list_contacts};
use crate::form::{PostAction, PostForm};
use crate::resource::resource;

/// The contacts table: search as you type, sortable columns, keyset pages. Everything it shows is in the address
/// (`?q=&sort=&dir=&cursor=`), so a page renders on the server, links can be shared, and it works without JavaScript.
#[component]
pub fn ContactsPage() -> impl IntoView {
    let query = use_query_map();
    let q = Memo::new(move |_| query.read().get("q").unwrap_or_default());
    // The order asked for (none: best match while searching, else by name), and the order the table is in.
    let sort =
        Memo::new(move |_| ContactSort::parse(&query.read().get("sort").unwrap_or_default()));
    let dir =
        Memo::new(move |_| SortDir::parse_or_default(&query.read().get("dir").unwrap_or_default()));
    let cursor = Memo::new(move |_| query.read().get("cursor"));
    let order = Memo::new(move |_| {
        ContactQuery {
            q: q.get(),
            sort: sort.get(),
            ..Default::default()
        }
        .order()
    });
    let create = PostAction::<CreateContact>::new();
    // Bumped by each successful save, so the table reloads then and not after a refused one.
    let saved = create.successes();
    let page = resource(
        move || (q.get(), sort.get(), dir.get(), cursor.get(), saved.get()),
        |(q, sort, dir, cursor, _)| {
            list_contacts(
                q,
                sort.map(ContactSort::as_str).unwrap_or_default().into(),
                dir.as_str().into(),
                cursor,
            )
        },
    );

    // The address of this table with another search, order or page.
    let href = move |q: &str, sort: Option<ContactSort>, dir: SortDir, cursor: Option<&str>| {
        let mut h = format!(
            "/contacts?q={}&sort={}&dir={}",
            encode_query_value(q),
            sort.map(ContactSort::as_str).unwrap_or_default(),
            dir.as_str()
        );
        if let Some(c) = cursor {
            h.push_str("&cursor=");
            h.push_str(&encode_query_value(c));
        }
        h
    };

    // Search as you type: the address follows the box after a short pause, replacing (not adding) history entries.
    let navigate = use_navigate();
    let pending = StoredValue::new(None::<TimeoutHandle>);
    let on_search = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        let navigate = navigate.clone();
        if let Some(h) = pending.get_value() {
            h.clear();
        }
        let target = href(&text, sort.get_untracked(), dir.get_untracked(), None);
        let handle = set_timeout_with_handle(
            move || {
                navigate(
                    &target,
                    NavigateOptions {
                        replace: true,
                        scroll: false,
                        ..Default::default()
                    },
                )
            },
            std::time::Duration::from_millis(200),
        )
        .ok();
        pending.set_value(handle);
    };

    let header = move |label: &'static str, column: ContactSort| {
        view! {
            <th scope="col" aria-sort=move || match (order.get() == column, dir.get()) {
                (true, SortDir::Asc) => "ascending",
                (true, SortDir::Desc) => "descending",
                _ => "none",
            }>
                <A href=move || {
                    let next = if order.get() == column { dir.get().flip() } else { SortDir::Asc };
                    href(&q.get(), Some(column), next, None)
                }>
                    {label}
                    <span class="sort-mark" aria-hidden="true">{move || match (order.get() == column, dir.get()) {
                        (true, SortDir::Asc) => " ▲",
                        (true, SortDir::Desc) => " ▼",
                        _ => "",
                    }}</span>
                </A>
            </th>
        }
    };

    view! {
        <Title text="Contacts"/>
        <section class="page">
            <header class="page-head">
                <h1>"Contacts"</h1>
                {can(Action::ExportContacts).then(|| view! {
                    // A plain download (rel="external": not a page of this app), of what the search shows.
                    <a class="btn" rel="external" download=""
                        href=move || format!("/api/contacts/export?q={}", encode_query_value(&q.get()))>
                        "Export CSV"
                    </a>
                })}
            </header>
            <ImportOutcome/>
            <Later>
                <NewContact create/>
                {can(Action::ImportContacts).then(|| view! { <ImportContacts/> })}
            </Later>
            <Form method="GET" action="/contacts" attr:class="search" attr:role="search">
                <label class="visually-hidden" for="contact-search">"Search contacts"</label>
                <input id="contact-search" type="search" name="q" placeholder="Search name, e-mail or company"
                    autocomplete="off" prop:value=move || q.get() on:input=on_search/>
                <input type="hidden" name="sort" prop:value=move || sort.get().map(ContactSort::as_str).unwrap_or_default()/>
                <input type="hidden" name="dir" prop:value=move || dir.get().as_str()/>
                <noscript><button type="submit" class="btn">"Search"</button></noscript>
            </Form>
            <Transition fallback=|| view! { <p class="muted">"Loading contacts…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Err(e) => view! { <p class="form-error" role="alert">{e.message}</p> }.into_any(),
                        Ok(p) if p.items.is_empty() && cursor.get_untracked().is_none() => {
                            let searching = !q.get_untracked().trim().is_empty();
                            view! {
                                <div class="card empty">
                                    <h2>{if searching { "No contacts match" } else { "No contacts yet" }}</h2>
                                    <p class="muted">{if searching {
                                        "Try part of a name, an e-mail address or a company."
                                    } else {
                                        "Add the people you sell to with “New contact”."
                                    }}</p>
                                </div>
                            }.into_any()
                        }
                        Ok(p) => {
                            let next = p.next_cursor.clone();
                            view! {
                                <div class="table-wrap card"><Later>
                                    <table class="table contacts-table">
                                        <thead><tr>
                                            {header("Name", ContactSort::Name)}
                                            {header("Company", ContactSort::Company)}
                                            {header("E-mail", ContactSort::Email)}
                                            <th scope="col">"Phone"</th>
                                            <th scope="col">"Owner"</th>
                                            {header("Added", ContactSort::Created)}
                                        </tr></thead>
                                        <tbody>
                                            {p.items.into_iter().map(|c| { let name = c.full_name(); view! {
                                                <tr>
                                                    <td class="strong"><A href=format!("/contacts/{}", c.id)>{name}</A>
                                                        {c.title.clone().map(|t| view! { <div class="muted small">{t}</div> })}
                                                    </td>
                                                    <td>{c.company.clone().unwrap_or_default()}</td>
                                                    <td>{c.email.clone().map(|e| view! {
                                                        <a href=format!("mailto:{e}")>{e.clone()}</a>
                                                    })}</td>
                                                    <td>{c.phone.clone().unwrap_or_default()}</td>
                                                    <td>{c.owner_name.clone().unwrap_or_default()}</td>
                                                    <td class="muted">{c.created_at.date().to_string()}</td>
                                                </tr>
                                            }}).collect_view()}
                                        </tbody>
                                    </table>
                                </Later></div>
                                <nav class="pager" aria-label="Pages">
                                    <Show when=move || cursor.get().is_some()>
                                        <A href=move || href(&q.get(), sort.get(), dir.get(), None)>"« First page"</A>
                                    </Show>
                                    {next.map(|n| view! {
                                        <A href=move || href(&q.get(), sort.get(), dir.get(), Some(&n)) attr:rel="next">"Next page »"</A>
                                    })}
                                </nav>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

/// "New contact": checked field by field in the browser with the same rules the server applies.
#[component]
fn NewContact(create: PostAction<CreateContact>) -> impl IntoView {
    let input = RwSignal::new(ContactInput::default());
    let local = Memo::new(move |_| match ValidContact::parse(&input.read()) {
        Ok(_) => Default::default(),
        Err(e) => e.fields().cloned().unwrap_or_default(),
    });
    let errors = FieldErrors::new(local, move || create.value().get().and_then(|r| r.err()));
    let form = NodeRef::<leptos::html::Form>::new();
    // After a contact is created the form is emptied for the next one.
    Effect::new(move |_| {
        if let Some(Ok(_)) = create.value().get() {
            if let Some(f) = form.get() {
                f.reset();
            }
            input.set(ContactInput::default());
            errors.reset();
        }
    });
    let created = move || match create.value().get() {
        Some(Ok(c)) => Some(format!("{} was added.", c.full_name())),
        _ => None,
    };

    // One labelled input with its error line; `set` copies what is typed into the browser-side check.
    let field = move |id: &'static str,
                      name: &'static str,
                      label: &'static str,
                      kind: &'static str,
                      set: fn(&mut ContactInput, String)| {
        let error_id = format!("{id}-error");
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <input id=id name=name type=kind autocomplete="off" aria-describedby=error_id.clone()
                    aria-invalid=move || errors.of(name).get().is_some().to_string()
                    on:input=move |ev| input.update(|i| set(i, event_target_value(&ev)))
                    // Also on leaving the field: text typed before the page hydrated never fired `input`.
                    on:blur=move |ev| {
                        input.update(|i| set(i, event_target_value(&ev)));
                        errors.touch(name);
                    }/>
                <FieldError message=errors.of(name) id=error_id/>
            </div>
        }
    };

    view! {
        <details class="card new-contact">
            <summary class="btn btn-primary">
                "New contact"
            </summary>
            <PostForm action=create node_ref=form attr:class="form form-grid" attr:novalidate="">
                {field("contact-first-name", "first_name", "First name", "text", |i, v| i.first_name = v)}
                {field("contact-last-name", "last_name", "Last name", "text", |i, v| i.last_name = v)}
                {field("contact-email", "email", "E-mail", "email", |i, v| i.email = Some(v))}
                {field("contact-phone", "phone", "Phone", "tel", |i, v| i.phone = Some(v))}
                {field("contact-company", "company", "Company", "text", |i, v| i.company = Some(v))}
                {field("contact-title", "title", "Job title", "text", |i, v| i.title = Some(v))}
                <div class="form-actions">
                    <FormError message=errors.form()/>
                    // The server checks again and answers field by field; meanwhile every field shows the browser's verdict.
                    <button type="submit" class="btn btn-primary" disabled=move || create.pending().get()
                        on:click=move |_| errors.submit()>
                        {move || if create.pending().get() { "Saving…" } else { "Save contact" }}
                    </button>
                </div>
            </PostForm>
        </details>
        <Show when=move || created().is_some()>
            <p class="notice" role="status">{created}</p>
        </Show>
    }
}

/// What the import form came back with (`?imported=&skipped=` or `?import_error=`).
#[component]
fn ImportOutcome() -> impl IntoView {
    let query = use_query_map();
    move || {
        let query = query.read();
        if let Some(error) = query.get("import_error") {
            return Some(
                view! { <p class="form-error" role="alert">"Import failed: " {error}</p> }
                    .into_any(),
            );
        }
        let imported = query.get("imported")?;
        let skipped = query
            .get("skipped")
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0);
        let plural = |n: &str| if n == "1" { "" } else { "s" };
        let mut text = format!("Imported {imported} contact{}.", plural(&imported));
        if skipped > 0 {
            text.push_str(&format!(
                " {skipped} row{} skipped: the e-mail address is already a contact (or came earlier in the file).",
                plural(&skipped.to_string())
            ));
        }
        if let Some(left_out) = query.get("left_out").filter(|l| !l.is_empty()) {
            text.push_str(&format!(" Left out (no field takes them): {left_out}."));
        }
        Some(view! { <p class="notice" role="status">{text}</p> }.into_any())
    }
}

/// Import from a spreadsheet: a plain multipart form to `POST /api/contacts/import`, which sends the browser back
/// here with the outcome, so it works with and without JavaScript. Columns are matched by their header; the optional
/// fields name a column whose header differs.
#[component]
fn ImportContacts() -> impl IntoView {
    let mapping = |id: &'static str, name: &'static str, label: &'static str| {
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <input id=id name=name type="text" placeholder="matched by header" autocomplete="off"/>
            </div>
        }
    };
    view! {
        <details class="card new-contact import-contacts">
            <summary class="btn">"Import from CSV"</summary>
            <form method="post" action="/api/contacts/import" enctype="multipart/form-data" class="form form-grid">
                <input type="hidden" name="redirect" value="/contacts"/>
                <div class="field field-wide">
                    <label for="import-file">"CSV file (UTF-8, first line names the columns)"</label>
                    <input id="import-file" name="file" type="file" accept=".csv,text/csv" required=""/>
                </div>
                {mapping("import-first-name", "first_name", "Column for first name")}
                {mapping("import-last-name", "last_name", "Column for last name")}
                {mapping("import-email", "email", "Column for e-mail")}
                {mapping("import-phone", "phone", "Column for phone")}
                {mapping("import-company", "company", "Column for company")}
                {mapping("import-title", "title", "Column for job title")}
                <div class="field field-wide">
                    <label for="import-leave-out">"Columns to leave out (comma-separated)"</label>
                    <input id="import-leave-out" name="leave_out" type="text" autocomplete="off"
                        placeholder="columns with data that no field takes"/>
                </div>
                <div class="field field-wide checkbox">
                    <label>
                        <input name="leave_out_rest" type="checkbox" value="on"/>
                        "Leave out every column that no field takes"
                    </label>
                </div>
                <div class="form-actions">
                    <p class="muted">"Every row is checked first: if one is wrong, nothing is imported. A column with \
                        data that no field takes stops the import until you map it or leave it out. Rows whose \
                        e-mail is already a contact are skipped."</p>
                    <button type="submit" class="btn btn-primary">"Import contacts"</button>
                </div>
            </form>
        </details>
    }
    .into_any()
}
