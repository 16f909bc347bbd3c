//! `/api/contacts`: the contacts table, one contact, their deals, and the table as CSV (export and import).

use app::state::AppState;
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::response::{IntoResponse, Redirect, Response};
use clearview::Error;
use clearview::domain::ContactId;
use clearview::model::{Contact, ContactInput, ContactPage, ContactQuery};
use clearview::services::contact_csv::{self, ColumnMap, ImportReport};
use clearview::services::{contacts, deals};
use http::{StatusCode, header};
use serde_json::Value;

use super::{ApiError, Id, JsonBody, Params, Scoped, items};

/// `GET /api/contacts?q=&sort=&dir=&limit=&cursor=` → `{items, next_cursor}` (keyset).
pub async fn list(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
    Params(query): Params<ContactQuery>,
) -> Result<Json<ContactPage>, ApiError> {
    Ok(Json(contacts::list(&state.pool, &scope, &query).await?))
}

/// `POST /api/contacts` → 201 with the contact.
pub async fn create(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
    JsonBody(input): JsonBody<ContactInput>,
) -> Result<(StatusCode, Json<Contact>), ApiError> {
    let contact = state.finish(contacts::create(&state.pool, &scope, &input).await?);
    Ok((StatusCode::CREATED, Json(contact)))
}

/// `GET /api/contacts/{id}`.
pub async fn get(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
    Id(id): Id<ContactId>,
) -> Result<Json<Contact>, ApiError> {
    Ok(Json(contacts::get(&state.pool, &scope, id).await?))
}

/// `PUT /api/contacts/{id}`: a full update; with `version`, a stale one is 409.
pub async fn update(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
    Id(id): Id<ContactId>,
    JsonBody(input): JsonBody<ContactInput>,
) -> Result<Json<Contact>, ApiError> {
    Ok(Json(state.finish(
        contacts::update(&state.pool, &scope, id, &input).await?,
    )))
}

/// `DELETE /api/contacts/{id}` → 204 (managers and admins).
pub async fn delete(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
    Id(id): Id<ContactId>,
) -> Result<StatusCode, ApiError> {
    state.finish(contacts::delete(&state.pool, &scope, id).await?);
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/contacts/{id}/deals` → `{items}`.
pub async fn deals(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
    Id(id): Id<ContactId>,
) -> Result<Json<Value>, ApiError> {
    Ok(items(deals::for_contact(&state.pool, &scope, id).await?))
}

/// `GET /api/contacts/export?q=` → every matching contact as a streamed `text/csv` attachment (admins). Rows are read
/// in keyset chunks, each in its own short transaction; cells a spreadsheet would run as formulas are defused.
pub async fn export(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
    Params(query): Params<ExportQuery>,
) -> Result<Response, ApiError> {
    let export = state.finish(contact_csv::export(&state.pool, &scope, &query.q).await?);
    let stream = futures_util::stream::unfold(Some(export), |export| async move {
        let mut export = export?;
        match export.next_chunk().await {
            Ok(Some(bytes)) => Some((Ok(Bytes::from(bytes)), Some(export))),
            Ok(None) => None,
            // The status line has gone out: ending the body early tells the client the file is incomplete.
            Err(e) => {
                if let Some(cause) = e.cause() {
                    cause.log("contact export failed midway");
                }
                Some((Err(std::io::Error::other(e.to_string())), None))
            }
        }
    });
    let name = format!(
        "attachment; filename=\"contacts-{}.csv\"",
        time::OffsetDateTime::now_utc().date()
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, name),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ExportQuery {
    pub q: String,
}

/// `POST /api/contacts/import` (multipart/form-data: `file`, and optionally one part per contact field naming the
/// CSV column that fills it, e.g. `first_name=Given name`) → 201 with the import report (managers and admins). Any
/// wrong row: 422 naming each line and field, and nothing is imported.
///
/// The contacts page's import form posts here as a plain HTML form (so it works without JavaScript) with a
/// `redirect` part: then the answer is a 303 back to the contacts page, which shows the outcome.
pub async fn import(
    State(state): State<AppState>,
    Scoped(scope): Scoped,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let mut redirect = None;
    let result = import_parts(&state, &scope, multipart, &mut redirect).await;
    match (redirect, result) {
        (None, Ok(report)) => (StatusCode::CREATED, Json(report)).into_response(),
        (None, Err(e)) => ApiError(e).into_response(),
        (Some(to), outcome) => Redirect::to(&outcome_url(&to, outcome)).into_response(),
    }
}

async fn import_parts(
    state: &AppState,
    scope: &clearview::services::Scope,
    multipart: Result<Multipart, MultipartRejection>,
    redirect: &mut Option<String>,
) -> Result<ImportReport, Error> {
    let bad = |m: String| Error::field("file", m);
    let mut multipart = multipart.map_err(|e| bad(e.body_text()))?;
    let mut file: Option<Bytes> = None;
    let mut map = ColumnMap::new();
    let mut leave_out = std::collections::BTreeSet::new();
    let mut leave_out_rest = false;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| bad(format!("the upload could not be read: {}", e.body_text())))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        let value = field
            .bytes()
            .await
            .map_err(|e| bad(format!("the upload could not be read: {}", e.body_text())))?;
        match name.as_str() {
            "file" => file = Some(value).filter(|v| !v.is_empty()),
            // Only back to the contacts page: never an open redirect.
            "redirect" => {
                *redirect = std::str::from_utf8(&value)
                    .ok()
                    .filter(|to| *to == "/contacts")
                    .map(str::to_owned);
            }
            // Columns confirmed as left out: one per part, or several separated by commas.
            "leave_out" => leave_out.extend(
                String::from_utf8_lossy(&value)
                    .split(',')
                    .map(|h| h.trim().to_owned())
                    .filter(|h| !h.is_empty()),
            ),
            "leave_out_rest" => {
                leave_out_rest =
                    matches!(String::from_utf8_lossy(&value).trim(), "on" | "true" | "1");
            }
            _ => {
                let text = String::from_utf8_lossy(&value).trim().to_owned();
                if !text.is_empty() {
                    map.insert(name, text);
                }
            }
        }
    }
    let file = file.ok_or_else(|| bad("choose a CSV file to import".into()))?;
    let leave_out = if leave_out_rest {
        contact_csv::LeaveOut::Rest
    } else if leave_out.is_empty() {
        contact_csv::LeaveOut::Nothing
    } else {
        contact_csv::LeaveOut::These(leave_out)
    };
    Ok(state.finish(contact_csv::import(&state.pool, scope, &file, &map, &leave_out).await?))
}

/// Where the import form lands: the contacts page with the outcome in its query string (a summary; the first few
/// problems by line and field).
fn outcome_url(to: &str, outcome: Result<ImportReport, Error>) -> String {
    let enc = app::components::encode_query_value;
    match outcome {
        Ok(report) => {
            let mut url = format!(
                "{to}?imported={}&skipped={}",
                report.created,
                report.skipped.len()
            );
            if !report.left_out.is_empty() {
                url.push_str(&format!("&left_out={}", enc(&report.left_out.join(", "))));
            }
            url
        }
        Err(e) => {
            let mut parts = Vec::new();
            // A plain field error's message ("some fields need attention") says nothing the problems below do not.
            let generic = matches!(&e, Error::Validation { message, fields }
                if !fields.is_empty() && *message == Error::invalid(Default::default()).to_string());
            if !generic {
                parts.push(e.to_string());
            }
            if let Some(fields) = e.fields() {
                let shown: Vec<String> = fields
                    .iter()
                    .take(5)
                    .map(
                        |(k, v)| match (k.strip_prefix("mapping."), k.strip_prefix("columns.")) {
                            (Some(field), _) => {
                                format!("column for {}: {v}", field.replace('_', " "))
                            }
                            (_, Some(column)) => format!("column \"{column}\" {v}"),
                            _ => format!("{} {v}", k.replace('_', " ")),
                        },
                    )
                    .collect();
                let mut problems = shown.join("; ");
                if fields.len() > 5 {
                    problems.push_str(&format!("; and {} more", fields.len() - 5));
                }
                parts.push(problems);
            }
            let text = parts.join(" ");
            format!("{to}?import_error={}", enc(&text))
        }
    }
}
