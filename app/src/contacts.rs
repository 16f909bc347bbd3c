//! Server functions of the contacts pages: the same services as `/api/contacts`.
#![allow(
    clippy::too_many_arguments,
    reason = "a server function takes a form's fields one by one, named as the form names them"
)]

use clearview::model::{Contact, ContactPage};
use leptos::prelude::*;

use crate::error::ApiError;

/// One page of the contacts table: a search over name, e-mail and company, an order, and where the last page ended.
#[server(prefix = "/fn")]
pub async fn list_contacts(
    q: String,
    sort: String,
    dir: String,
    cursor: Option<String>,
) -> Result<ContactPage, ApiError> {
    use clearview::model::{ContactQuery, ContactSort, SortDir};
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    let query = ContactQuery {
        q,
        sort: ContactSort::parse(&sort),
        dir: SortDir::parse_or_default(&dir),
        cursor: cursor.filter(|c| !c.is_empty()),
        limit: None,
    };
    Ok(clearview::services::contacts::list(&cx.state.pool, &scope, &query).await?)
}

/// The contact form's fields as the services take them (blank optional fields mean none).
#[cfg(feature = "ssr")]
fn contact_form(
    first_name: String,
    last_name: String,
    email: String,
    phone: String,
    company: String,
    title: String,
    version: Option<i32>,
) -> clearview::model::ContactInput {
    clearview::model::ContactInput {
        first_name,
        last_name,
        email: Some(email),
        phone: Some(phone),
        company: Some(company),
        title: Some(title),
        version,
        owner_id: None,
    }
}

/// Creates a contact owned by the person creating it.
#[server(prefix = "/fn")]
pub async fn create_contact(
    first_name: String,
    last_name: String,
    email: String,
    phone: String,
    company: String,
    title: String,
) -> Result<Contact, ApiError> {
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    let input = contact_form(first_name, last_name, email, phone, company, title, None);
    Ok(cx.finish(clearview::services::contacts::create(&cx.state.pool, &scope, &input).await?))
}

/// A contact with their deals, for the contact page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContactData {
    pub contact: Contact,
    pub deals: Vec<clearview::model::Deal>,
    /// For the new-deal form's stage choice.
    pub pipelines: Vec<clearview::model::Pipeline>,
    /// The first page of their timeline.
    pub timeline: clearview::model::Page<clearview::model::Activity>,
}

#[server(prefix = "/fn")]
pub async fn get_contact(id: String) -> Result<ContactData, ApiError> {
    use clearview::model::ActivityQuery;
    use clearview::services::{activities, contacts, deals, pipelines};
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    let id = crate::deals::parse_id(&id)?;
    let contact = contacts::get(&cx.state.pool, &scope, id).await?;
    let deals = deals::for_contact(&cx.state.pool, &scope, id).await?;
    let pipelines = pipelines::list(&cx.state.pool, &scope).await?;
    let timeline = activities::list(
        &cx.state.pool,
        &scope,
        &ActivityQuery {
            contact_id: Some(id),
            ..Default::default()
        },
    )
    .await?;
    Ok(ContactData {
        contact,
        deals,
        pipelines,
        timeline,
    })
}

/// Saves the edit form; a save based on an older `version` is refused as a conflict.
#[server(prefix = "/fn")]
pub async fn update_contact(
    id: String,
    version: i32,
    first_name: String,
    last_name: String,
    email: String,
    phone: String,
    company: String,
    title: String,
) -> Result<Contact, ApiError> {
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    let input = contact_form(
        first_name,
        last_name,
        email,
        phone,
        company,
        title,
        Some(version),
    );
    Ok(cx.finish(
        clearview::services::contacts::update(
            &cx.state.pool,
            &scope,
            crate::deals::parse_id(&id)?,
            &input,
        )
        .await?,
    ))
}

/// Deletes a contact (managers and admins) and returns to the table.
#[server(prefix = "/fn")]
pub async fn delete_contact(id: String) -> Result<(), ApiError> {
    let cx = crate::ctx::Ctx::load()?;
    let scope = cx.scope().await?;
    cx.finish(
        clearview::services::contacts::delete(&cx.state.pool, &scope, crate::deals::parse_id(&id)?)
            .await?,
    );
    leptos_axum::redirect("/contacts");
    Ok(())
}
