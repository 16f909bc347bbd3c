//! Contacts in and out of spreadsheets: a streamed CSV export (admins) and a CSV import with column mapping
//! (managers and admins).
//!
//! The export is read in keyset chunks, each in its own short tenant transaction, so a million rows never hold a
//! transaction or the whole file in memory. The import checks every row with the same rules as the contact form and
//! writes either all of the new contacts (and their audit rows) in one transaction, or — when any row is wrong —
//! nothing, with the row and field of every problem.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::{Done, Scope};
use crate::domain::ContactId;
use crate::error::FieldErrors;
use crate::model::{ContactInput, ValidContact};
use crate::policy::Action;
use crate::{Error, Result};
use sqlx::PgPool;

/// The export's columns, in order.
pub const EXPORT_COLUMNS: [&str; 10] = [
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "title",
    "owner_email",
    "created_at",
    "updated_at",
];
/// Rows read per export query.
pub const EXPORT_CHUNK: i64 = 2_000;
/// The most rows one import takes; a larger file is refused before anything is written.
pub const IMPORT_MAX_ROWS: usize = 50_000;
/// The most row problems an import reports by name (the count is always exact).
const REPORTED_PROBLEMS: usize = 100;

/// The contact fields a CSV column can fill: the export's columns from `first_name` to `title`, so an export imports
/// as it is.
pub const IMPORT_FIELDS: &[&str] = EXPORT_COLUMNS.split_at(1).1.split_at(6).0;

/// A cell a spreadsheet would read as a formula (or a control character that starts one) gets a leading `'`.
pub fn spreadsheet_safe(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// A running export: call [`Export::next_chunk`] until it returns `None`.
pub struct Export {
    pool: PgPool,
    scope: Scope,
    /// The search term (none: every contact), matched as the contacts table matches it.
    term: Option<String>,
    after: Option<Uuid>,
    header_sent: bool,
    done: bool,
    /// Rows written so far.
    pub rows: u64,
}

#[derive(sqlx::FromRow)]
struct ExportRow {
    id: Uuid,
    first_name: String,
    last_name: String,
    email: Option<String>,
    phone: Option<String>,
    company: Option<String>,
    title: Option<String>,
    owner_email: Option<String>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

/// Starts an export of every contact matching `q` (all of them when blank). Admins only; the export itself is
/// audited (who took which rows out), before the first byte leaves.
#[tracing::instrument(name = "contact_csv::export", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn export(pool: &PgPool, scope: &Scope, q: &str) -> Result<Done<Export>> {
    scope.require(Action::ExportContacts)?;
    let term = super::contacts::search_term(q)?.map(str::to_string);
    let q = q.trim();
    let mut work = scope.write(pool).await?;
    work.audit("contacts.exported", "contact", None, json!({ "q": q }))
        .await?;
    work.finish(Export {
        pool: pool.clone(),
        scope: scope.clone(),
        term,
        after: None,
        header_sent: false,
        done: false,
        rows: 0,
    })
    .await
}

impl Export {
    /// The next piece of the CSV file: the header and up to [`EXPORT_CHUNK`] rows; `None` at the end.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>> {
        if self.done {
            return Ok(None);
        }
        let mut out = csv::Writer::from_writer(Vec::with_capacity(256 * EXPORT_CHUNK as usize));
        if !self.header_sent {
            out.write_record(EXPORT_COLUMNS).map_err(csv_err)?;
            self.header_sent = true;
        }
        let mut tx = self.scope.read(&self.pool).await?;
        // In creation order; a search reads its matches through the contacts table's own search function, so the file
        // holds exactly what the table shows.
        let query = match &self.term {
            None => sqlx::query_as::<_, ExportRow>(
                "select c.id, c.first_name, c.last_name, c.email::text as email, c.phone, c.company, c.title,
                        u.email::text as owner_email, c.created_at, c.updated_at
                 from contacts c left join users u on u.id = c.owner_id
                 where c.org_id = $1 and ($2::uuid is null or c.id > $2)
                 order by c.id limit $3",
            )
            .bind(self.scope.org_id.0)
            .bind(self.after)
            .bind(EXPORT_CHUNK),
            Some(term) => sqlx::query_as::<_, ExportRow>(
                "select c.id, c.first_name, c.last_name, c.email::text as email, c.phone, c.company, c.title,
                        u.email::text as owner_email, c.created_at, c.updated_at
                 from contact_search($2, 'created', false, null, null, $3, $4)
                      with ordinality as s (id, rank, sort_key, n)
                 join contacts c on c.org_id = $1 and c.id = s.id
                 left join users u on u.id = c.owner_id
                 order by s.n",
            )
            .bind(self.scope.org_id.0)
            .bind(term.clone())
            .bind(self.after)
            .bind(EXPORT_CHUNK as i32),
        };
        let rows: Vec<ExportRow> = query.fetch_all(&mut *tx).await?;
        tx.commit().await?;
        if (rows.len() as i64) < EXPORT_CHUNK {
            self.done = true;
        }
        self.after = rows.last().map(|r| r.id);
        self.rows += rows.len() as u64;
        for r in &rows {
            let time = |t: &OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
            let opt = |s: &Option<String>| s.clone().unwrap_or_default();
            let cells = [
                r.id.to_string(),
                r.first_name.clone(),
                r.last_name.clone(),
                opt(&r.email),
                opt(&r.phone),
                opt(&r.company),
                opt(&r.title),
                opt(&r.owner_email),
                time(&r.created_at),
                time(&r.updated_at),
            ];
            out.write_record(cells.iter().map(|c| spreadsheet_safe(c).into_owned()))
                .map_err(csv_err)?;
        }
        let bytes = out.into_inner().map_err(|e| csv_err(e.into_error()))?;
        if bytes.is_empty() {
            return Ok(None);
        }
        Ok(Some(bytes))
    }
}

#[track_caller]
fn csv_err(e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::internal_from(e)
}

/// Which CSV column fills which contact field: field → header. Fields left out are matched by header name
/// (`First name`, `first_name` and `FIRST NAME` all fill `first_name`).
pub type ColumnMap = BTreeMap<String, String>;

/// The columns with data that fill no field and that the person has confirmed are left out. Any other such column
/// stops the import before anything is written (nothing a file holds is dropped without a word).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum LeaveOut {
    /// None: every column with data must fill a field.
    #[default]
    Nothing,
    /// These columns (by header).
    These(BTreeSet<String>),
    /// Every column that fills no field.
    Rest,
}

/// The export's own columns that no import field takes (`id`, `owner_email`, `created_at`, `updated_at`): an export
/// imports as it is, with these left out and named in the report.
const EXPORT_ONLY: [&str; 4] = ["id", "owner_email", "created_at", "updated_at"];

/// Header names other programs use for a field, normalised (letters and digits, lower case): Outlook's and Google
/// Contacts' exports among them. A field takes the first of the file's columns that matches.
const ALIASES: &[(&str, &[&str])] = &[
    (
        "first_name",
        &["firstname", "givenname", "forename", "first"],
    ),
    ("last_name", &["lastname", "surname", "familyname", "last"]),
    (
        "email",
        &[
            "email",
            "emailaddress",
            "mail",
            "email1value",
            "primaryemail",
            "workemail",
            "businessemail",
        ],
    ),
    (
        "phone",
        &[
            "phone",
            "phonenumber",
            "telephone",
            "mobile",
            "mobilephone",
            "businessphone",
            "phone1value",
        ],
    ),
    (
        "company",
        &[
            "company",
            "companyname",
            "organization",
            "organisation",
            "organization1name",
        ],
    ),
    (
        "title",
        &["title", "jobtitle", "position", "organization1title"],
    ),
];

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// Contacts created.
    pub created: u64,
    /// Rows not imported because their e-mail is already a contact here (or appears earlier in the file).
    pub skipped: Vec<ImportSkip>,
    /// The field each CSV column filled: field → header.
    pub columns: ColumnMap,
    /// The columns with data that filled no field and were left out (as confirmed, or the export's own).
    #[serde(default)]
    pub left_out: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSkip {
    /// The row's line in the file (the header is line 1).
    pub line: u64,
    pub reason: String,
}

fn normalize(header: &str) -> String {
    header
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Resolves the mapping against the file's headers: field → column index.
fn resolve(
    headers: &csv::StringRecord,
    map: &ColumnMap,
) -> Result<(HashMap<&'static str, usize>, ColumnMap)> {
    let mut fields = FieldErrors::new();
    for key in map.keys() {
        if !IMPORT_FIELDS.contains(&key.as_str()) {
            fields.insert(
                format!("mapping.{key}"),
                format!(
                    "is not a contact field; use one of {}",
                    IMPORT_FIELDS.join(", ")
                ),
            );
        }
    }
    let mut index = HashMap::new();
    let mut used = ColumnMap::new();
    for &field in IMPORT_FIELDS {
        let found = match map.get(field).map(|h| h.trim()).filter(|h| !h.is_empty()) {
            Some(wanted) => match headers.iter().position(|h| h.trim() == wanted) {
                Some(i) => Some(i),
                None => {
                    fields.insert(
                        format!("mapping.{field}"),
                        format!("the file has no column named \"{wanted}\""),
                    );
                    None
                }
            },
            None => {
                let names = ALIASES
                    .iter()
                    .find(|(f, _)| *f == field)
                    .map_or(&[][..], |(_, names)| *names);
                std::iter::once(normalize(field))
                    .chain(names.iter().map(|n| (*n).to_owned()))
                    .find_map(|name| headers.iter().position(|h| normalize(h) == name))
                    // A column the person mapped to another field is that field's.
                    .filter(|i| {
                        !map.values().any(|wanted| {
                            headers.get(*i).is_some_and(|h| h.trim() == wanted.trim())
                        })
                    })
            }
        };
        if let Some(i) = found {
            index.insert(field, i);
            used.insert(
                field.to_owned(),
                headers.get(i).unwrap_or_default().trim().to_owned(),
            );
        }
    }
    if !index.contains_key("first_name") && !fields.contains_key("mapping.first_name") {
        fields.insert(
            "mapping.first_name".into(),
            "choose the column that holds first names".into(),
        );
    }
    if fields.is_empty() {
        Ok((index, used))
    } else {
        Err(Error::invalid(fields))
    }
}

/// Imports contacts from a CSV file (UTF-8, with a header row). Every row is checked first; if any is wrong nothing
/// is written and the error names each problem by line and field. Rows whose e-mail already belongs to a contact of
/// this workspace (or to an earlier row) are skipped and listed. New contacts are owned by the importer.
#[tracing::instrument(name = "contact_csv::import", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn import(
    pool: &PgPool,
    scope: &Scope,
    file: &[u8],
    map: &ColumnMap,
    leave_out: &LeaveOut,
) -> Result<Done<ImportReport>> {
    scope.require(Action::ImportContacts)?;
    let file = file.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(file); // a spreadsheet's byte-order mark
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
    let headers = reader
        .headers()
        .map_err(|e| Error::field("file", format!("is not a CSV file with a header row ({e})")))?
        .clone();
    if headers.iter().all(|h| h.trim().is_empty()) {
        return Err(Error::field(
            "file",
            "is empty: the first line must name the columns",
        ));
    }
    let (index, columns) = resolve(&headers, map)?;
    // The columns no field takes, and whether any row has data in them.
    let unused: Vec<usize> = (0..headers.len())
        .filter(|i| !index.values().any(|used| used == i))
        .collect();
    let mut unused_with_data = vec![false; headers.len()];

    let mut problems = FieldErrors::new();
    let mut problem_rows = 0usize;
    let mut rows: Vec<(u64, ValidContact)> = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let line = n as u64 + 2;
        if n >= IMPORT_MAX_ROWS {
            return Err(Error::field(
                "file",
                format!("has more than {IMPORT_MAX_ROWS} rows; split it into smaller files"),
            ));
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problem_rows += 1;
                if problems.len() < REPORTED_PROBLEMS {
                    problems.insert(format!("line {line}"), format!("cannot be read: {e}"));
                }
                continue;
            }
        };
        if record.iter().all(|c| c.trim().is_empty()) {
            continue; // blank lines at the end of a sheet
        }
        for &i in &unused {
            if record.get(i).is_some_and(|c| !c.trim().is_empty()) {
                unused_with_data[i] = true;
            }
        }
        let cell = |field: &str| -> Option<String> {
            index
                .get(field)
                .and_then(|&i| record.get(i))
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        };
        let input = ContactInput {
            first_name: cell("first_name").unwrap_or_default(),
            last_name: cell("last_name").unwrap_or_default(),
            email: cell("email"),
            phone: cell("phone"),
            company: cell("company"),
            title: cell("title"),
            owner_id: Some(scope.user_id),
            version: None,
        };
        match ValidContact::parse(&input) {
            Ok(valid) => rows.push((line, valid)),
            Err(Error::Validation { fields, .. }) => {
                problem_rows += 1;
                for (field, message) in fields {
                    if problems.len() < REPORTED_PROBLEMS {
                        problems.insert(format!("line {line}: {field}"), message);
                    }
                }
            }
            Err(e) => return Err(e),
        }
    }
    let mut left_out = Vec::new();
    let mut unmapped = FieldErrors::new();
    for (i, header) in headers.iter().enumerate() {
        let header = header.trim();
        if !unused_with_data[i] {
            continue;
        }
        let confirmed = match leave_out {
            LeaveOut::Rest => true,
            LeaveOut::These(these) => these.iter().any(|h| h.trim() == header),
            LeaveOut::Nothing => false,
        };
        if confirmed || EXPORT_ONLY.contains(&header) {
            left_out.push(header.to_owned());
        } else {
            unmapped.insert(
                format!("columns.{header}"),
                "has data but fills no field".into(),
            );
        }
    }
    if !unmapped.is_empty() {
        let names: Vec<String> = unmapped
            .keys()
            .map(|k| format!("\"{}\"", k.trim_start_matches("columns.")))
            .collect();
        return Err(Error::Validation {
            message: format!(
                "{} {} data that fills no contact field: {}. Map {} to a field or confirm that {} left out; nothing \
                 was imported.",
                if names.len() == 1 {
                    "column"
                } else {
                    "columns"
                },
                if names.len() == 1 { "has" } else { "have" },
                names.join(", "),
                if names.len() == 1 { "it" } else { "each" },
                if names.len() == 1 {
                    "it is"
                } else {
                    "they are"
                },
            ),
            fields: unmapped,
        });
    }
    if problem_rows > 0 {
        return Err(Error::Validation {
            message: format!(
                "{problem_rows} row{} cannot be imported; nothing was imported. Correct the file and try again.",
                if problem_rows == 1 { "" } else { "s" }
            ),
            fields: problems,
        });
    }
    if rows.is_empty() {
        return Err(Error::field("file", "has no rows under its header"));
    }

    let mut work = scope.write(pool).await?;
    let emails: Vec<String> = rows
        .iter()
        .filter_map(|(_, v)| v.email.as_ref().map(|e| e.as_str().to_lowercase()))
        .collect();
    let existing: Vec<String> = sqlx::query_scalar(
        "select lower(email::text) from contacts where org_id = $1 and email = any($2::citext[])",
    )
    .bind(scope.org_id.0)
    .bind(&emails)
    .fetch_all(&mut **work)
    .await?;
    let mut seen: HashMap<String, u64> = existing.into_iter().map(|e| (e, 0)).collect();
    let mut skipped = Vec::new();
    let mut new = Vec::with_capacity(rows.len());
    for (line, valid) in rows {
        if let Some(email) = valid.email.as_ref().map(|e| e.as_str().to_lowercase()) {
            match seen.get(&email) {
                Some(0) => {
                    skipped.push(ImportSkip {
                        line,
                        reason: format!("{email} is already a contact"),
                    });
                    continue;
                }
                Some(first) => {
                    skipped.push(ImportSkip {
                        line,
                        reason: format!("{email} is on line {first} already"),
                    });
                    continue;
                }
                None => {
                    seen.insert(email, line);
                }
            }
        }
        new.push((ContactId::new(), valid));
    }

    let col =
        |f: fn(&ValidContact) -> Option<String>| new.iter().map(|(_, v)| f(v)).collect::<Vec<_>>();
    let ids: Vec<Uuid> = new.iter().map(|(id, _)| id.0).collect();
    sqlx::query(
        "insert into contacts (id, org_id, first_name, last_name, email, phone, company, title, owner_id)
         select u.id, $1, u.first_name, coalesce(u.last_name, ''), u.email, u.phone, u.company, u.title, $2
         from unnest($3::uuid[], $4::text[], $5::text[], $6::citext[], $7::text[], $8::text[], $9::text[])
             as u (id, first_name, last_name, email, phone, company, title)",
    )
    .bind(scope.org_id.0)
    .bind(scope.user_id.0)
    .bind(&ids)
    .bind(col(|v| Some(v.first_name.as_str().to_owned())))
    .bind(col(|v| v.last_name.clone()))
    .bind(col(|v| v.email.as_ref().map(|e| e.as_str().to_owned())))
    .bind(col(|v| v.phone.clone()))
    .bind(col(|v| v.company.clone()))
    .bind(col(|v| v.title.clone()))
    .execute(&mut **work)
    .await?;
    // One audit row per contact, as for a contact created by hand, written in the same transaction.
    sqlx::query(
        "insert into audit_log (id, org_id, actor_id, action, entity_type, entity_id, request_id, changes, prev_hash, hash)
         select gen_random_uuid(), $1, $2, 'contact.imported', 'contact', c.id, $3,
                jsonb_build_object('first_name', c.first_name, 'last_name', c.last_name, 'email', c.email,
                                   'phone', c.phone, 'company', c.company, 'title', c.title, 'owner_id', c.owner_id),
                '', ''
         from unnest($4::uuid[]) with ordinality as i (id, n)
         join contacts c on c.org_id = $1 and c.id = i.id
         order by i.n",
    )
    .bind(scope.org_id.0)
    .bind(scope.user_id.0)
    .bind(scope.request_id.as_deref())
    .bind(&ids)
    .execute(&mut **work)
    .await?;
    // Every new contact has its entry from the statement above (none when every row was skipped: nothing else was
    // written either).
    work.audited_by_statement();
    work.finish(ImportReport {
        created: ids.len() as u64,
        skipped,
        columns,
        left_out,
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_names_every_importable_field() {
        assert_eq!(
            IMPORT_FIELDS,
            [
                "first_name",
                "last_name",
                "email",
                "phone",
                "company",
                "title"
            ]
        );
    }

    #[test]
    fn formulas_are_defused() {
        assert_eq!(spreadsheet_safe("=1+1"), "'=1+1");
        assert_eq!(spreadsheet_safe("+33 1 23"), "'+33 1 23");
        assert_eq!(spreadsheet_safe("-x"), "'-x");
        assert_eq!(spreadsheet_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(spreadsheet_safe("\tcmd"), "'\tcmd");
        assert_eq!(spreadsheet_safe("\rcmd"), "'\rcmd");
        assert_eq!(spreadsheet_safe("Ada"), "Ada");
        assert_eq!(spreadsheet_safe(""), "");
    }

    #[test]
    fn headers_match_by_name_or_mapping() {
        let headers = csv::StringRecord::from(vec!["First Name", "Surname", "E-mail", "Org"]);
        let mut map = ColumnMap::new();
        map.insert("last_name".into(), "Surname".into());
        map.insert("company".into(), "Org".into());
        let (index, used) = resolve(&headers, &map).unwrap();
        assert_eq!(index["first_name"], 0);
        assert_eq!(index["last_name"], 1);
        assert_eq!(index["email"], 2);
        assert_eq!(index["company"], 3);
        assert_eq!(used["company"], "Org");

        map.insert("title".into(), "Job".into());
        map.insert("shoe_size".into(), "Org".into());
        let Err(Error::Validation { fields, .. }) = resolve(&headers, &map) else {
            panic!("expected field errors");
        };
        assert!(fields.contains_key("mapping.title"), "{fields:?}");
        assert!(fields.contains_key("mapping.shoe_size"), "{fields:?}");

        let none = csv::StringRecord::from(vec!["Name", "Mail"]);
        let Err(Error::Validation { fields, .. }) = resolve(&none, &ColumnMap::new()) else {
            panic!("expected field errors");
        };
        assert!(fields.contains_key("mapping.first_name"), "{fields:?}");
    }
}
