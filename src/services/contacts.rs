//! Contacts: create, read, update, delete, and the searchable, sortable, keyset-paginated table.

use serde_json::{Value, json};
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::{Done, Scope};
use crate::db::Tx;
use crate::db::{ChangeOp, DealChange};
use crate::domain::{ContactId, UserId};
use crate::error::OnConstraint;
use crate::model::{
    Contact, ContactInput, ContactPage, ContactQuery, ContactSort, Page, SortDir, ValidContact,
    has_search_words,
};
use crate::policy::Action;
use crate::{Error, Result};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

macro_rules! columns {
    () => {
        "select c.id, c.first_name, c.last_name, c.email::text as email, c.phone, c.company, c.title,
        c.owner_id, u.name as owner_name, c.version, c.created_at, c.updated_at"
    };
}
const COLUMNS: &str = columns!();
const SELECT: &str = concat!(
    columns!(),
    " from contacts c left join users u on u.id = c.owner_id"
);

/// The owner must be a member of the workspace; the composite foreign key decides.
fn owner_error() -> Error {
    Error::field("owner_id", "is not a member of this workspace")
}

pub(crate) async fn fetch(tx: &mut Tx, scope: &Scope, id: ContactId) -> Result<Contact> {
    let sql = format!("{SELECT} where c.org_id = $1 and c.id = $2");
    sqlx::query_as::<_, Contact>(&sql)
        .bind(scope.org_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(Error::NotFound)
}

#[tracing::instrument(name = "contacts::get", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn get(pool: &PgPool, scope: &Scope, id: ContactId) -> Result<Contact> {
    scope.require(Action::ReadWorkspace)?;
    let mut tx = scope.read(pool).await?;
    let contact = fetch(&mut tx, scope, id).await?;
    tx.commit().await?;
    Ok(contact)
}

fn snapshot(c: &ValidContact) -> Value {
    json!({
        "first_name": c.first_name,
        "last_name": c.last_name,
        "email": c.email,
        "phone": c.phone,
        "company": c.company,
        "title": c.title,
        "owner_id": c.owner_id,
    })
}

#[tracing::instrument(name = "contacts::create", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn create(pool: &PgPool, scope: &Scope, input: &ContactInput) -> Result<Done<Contact>> {
    scope.require(Action::CreateContact)?;
    let mut valid = ValidContact::parse(input)?;
    valid.owner_id = Some(valid.owner_id.unwrap_or(scope.user_id));
    let id = ContactId::new();
    let mut work = scope.write(pool).await?;
    sqlx::query!(
        "insert into contacts (id, org_id, first_name, last_name, email, phone, company, title, owner_id)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        id.0,
        scope.org_id.0,
        valid.first_name.as_str(),
        valid.last_name.as_deref().unwrap_or(""),
        valid.email.as_ref().map(|e| e.as_str()) as _,
        valid.phone,
        valid.company,
        valid.title,
        valid.owner_id.map(|u| u.0),
    )
    .execute(&mut **work)
    .await
    .on_constraint("contacts_org_id_owner_id_fkey", owner_error)?;
    work.audit("contact.created", "contact", Some(id.0), snapshot(&valid))
        .await?;
    let contact = fetch(&mut work, scope, id).await?;
    work.finish(contact).await
}

/// A full update. With `input.version` set, an update based on an older version is a conflict.
#[tracing::instrument(name = "contacts::update", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn update(
    pool: &PgPool,
    scope: &Scope,
    id: ContactId,
    input: &ContactInput,
) -> Result<Done<Contact>> {
    scope.require(Action::UpdateContact)?;
    let valid = ValidContact::parse(input)?;
    let mut work = scope.write(pool).await?;
    let before = fetch(&mut work, scope, id).await?;
    if input.version.is_some_and(|v| v != before.version) {
        return Err(stale());
    }
    let updated = sqlx::query_scalar!(
        "update contacts set first_name = $3, last_name = $4, email = $5, phone = $6, company = $7, title = $8,
             owner_id = coalesce($9, owner_id), version = version + 1
         where org_id = $1 and id = $2 and version = $10
         returning id",
        scope.org_id.0,
        id.0,
        valid.first_name.as_str(),
        valid.last_name.as_deref().unwrap_or(""),
        valid.email.as_ref().map(|e| e.as_str()) as _,
        valid.phone,
        valid.company,
        valid.title,
        valid.owner_id.map(|u| u.0),
        before.version,
    )
    .fetch_optional(&mut **work)
    .await
    .on_constraint("contacts_org_id_owner_id_fkey", owner_error)?;
    if updated.is_none() {
        return Err(stale());
    }
    let after = fetch(&mut work, scope, id).await?;
    work.audit(
        "contact.updated",
        "contact",
        Some(id.0),
        super::diff(
            &serde_json::to_value(&before).unwrap_or_default(),
            &serde_json::to_value(&after).unwrap_or_default(),
        ),
    )
    .await?;
    work.finish(after).await
}

fn stale() -> Error {
    Error::Conflict("someone else changed this contact; reload to see their changes".into())
}

/// Deletes a contact (managers and admins). Their deals stay, without a contact; activities logged only against them
/// go with them, those that also belong to a deal stay on the deal.
#[tracing::instrument(name = "contacts::delete", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn delete(pool: &PgPool, scope: &Scope, id: ContactId) -> Result<Done<()>> {
    scope.require(Action::DeleteContact)?;
    let mut work = scope.write(pool).await?;
    let contact = fetch(&mut work, scope, id).await?;
    // Their deals stay, without a contact (the foreign key sets it null): boards watching them hear of it (D-019).
    let deals: Vec<DealChange> = sqlx::query!(
        "select id, pipeline_id, stage_id, version from deals where org_id = $1 and contact_id = $2",
        scope.org_id.0,
        id.0
    )
    .fetch_all(&mut **work)
    .await?
    .into_iter()
    .map(|d| work.deal_change(d.pipeline_id, d.id, d.stage_id, d.version, ChangeOp::Update))
    .collect();
    sqlx::query!(
        "update activities set contact_id = null where org_id = $1 and contact_id = $2 and deal_id is not null",
        scope.org_id.0,
        id.0
    )
    .execute(&mut **work)
    .await?;
    sqlx::query!(
        "delete from contacts where org_id = $1 and id = $2",
        scope.org_id.0,
        id.0
    )
    .execute(&mut **work)
    .await?;
    work.audit(
        "contact.deleted",
        "contact",
        Some(id.0),
        json!({"name": contact.full_name()}),
    )
    .await?;
    work.changed(deals);
    work.finish(()).await
}

/// The column a sort reads, always paired with `id` so the order is total.
fn sort_column(sort: ContactSort) -> Option<&'static str> {
    match sort {
        ContactSort::Name => Some("c.sort_name"),
        ContactSort::Company => Some("c.sort_company"),
        ContactSort::Email => Some("c.sort_email"),
        // UUIDv7 ids are creation-ordered. Best match is an order of search results only (`ContactQuery::order`).
        ContactSort::Created | ContactSort::Relevance => None,
    }
}

/// The longest sort key a cursor may carry, in bytes: longer than any sort column holds.
const MAX_CURSOR_KEY: usize = 1024;

/// Where a page ended: the last row's rank (best-match order: 1 for a match at word starts, 2 for one inside a word;
/// 0 in a column's order), its sort key and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
struct After {
    rank: i16,
    key: String,
    id: ContactId,
}

/// A cursor names the order it belongs to and where the last page ended, so it cannot be replayed against another
/// order.
fn encode_cursor(query: &ContactQuery, after: &After) -> String {
    let key = if query.order() == ContactSort::Relevance {
        format!("{}:{}", after.rank, after.key)
    } else {
        after.key.clone()
    };
    format!(
        "{}.{}.{}.{}",
        query.order().as_str(),
        query.dir.as_str(),
        hex::encode(key),
        after.id
    )
}

fn decode_cursor(query: &ContactQuery, cursor: &str) -> Result<After> {
    let bad = || {
        Error::field(
            "cursor",
            "is not a cursor of this list; start from the first page",
        )
    };
    let mut parts = cursor.splitn(4, '.');
    let (sort, dir, key, id) = (
        parts.next().ok_or_else(bad)?,
        parts.next().ok_or_else(bad)?,
        parts.next().ok_or_else(bad)?,
        parts.next().ok_or_else(bad)?,
    );
    if sort != query.order().as_str() || dir != query.dir.as_str() {
        return Err(bad());
    }
    if key.len() > 2 * MAX_CURSOR_KEY {
        return Err(bad());
    }
    let key = String::from_utf8(hex::decode(key).map_err(|_| bad())?).map_err(|_| bad())?;
    if key.contains('\0') {
        return Err(bad());
    }
    let (rank, key) = if query.order() == ContactSort::Relevance {
        match key.split_once(':') {
            Some(("1", k)) => (1, k.to_string()),
            Some(("2", k)) => (2, k.to_string()),
            _ => return Err(bad()),
        }
    } else {
        (0, key)
    };
    Ok(After {
        rank,
        key,
        id: id.parse().map_err(|_| bad())?,
    })
}

#[derive(sqlx::FromRow)]
struct ListRow {
    #[sqlx(flatten)]
    contact: Contact,
    rank: i16,
    sort_key: String,
}

/// A page of the whole table: keyset on the sort column's index, every condition an index condition under the policy.
fn plain_page(
    scope: &Scope,
    column: Option<&'static str>,
    after: Option<After>,
    dir: SortDir,
    limit: u32,
) -> QueryBuilder<'static, Postgres> {
    let (op, dir) = match dir {
        SortDir::Asc => (">", "asc"),
        SortDir::Desc => ("<", "desc"),
    };
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(SELECT.replacen(
        "select ",
        &format!(
            "select 0::int2 as rank, {}::text as sort_key, ",
            column.unwrap_or("''")
        ),
        1,
    ));
    sql.push(" where c.org_id = ").push_bind(scope.org_id);
    if let Some(after) = after {
        match column {
            Some(col) => {
                sql.push(format!(" and ({col}, c.id) {op} ("))
                    .push_bind(after.key)
                    .push(", ")
                    .push_bind(after.id)
                    .push(")");
            }
            None => {
                sql.push(format!(" and c.id {op} ")).push_bind(after.id);
            }
        }
    }
    match column {
        Some(col) => sql.push(format!(" order by {col} {dir}, c.id {dir}")),
        None => sql.push(format!(" order by c.id {dir}")),
    };
    sql.push(super::limit_clause(i64::from(limit) + 1));
    sql
}

/// A page of search results. The match runs in `contact_search` (D-011, D-023): under the policy PostgreSQL would not
/// use an index for it, so the function restricts itself to the transaction's workspace and returns the page's ids,
/// ranks and sort keys in order; the rows are read back under the policy.
fn search_page(
    scope: &Scope,
    query: &ContactQuery,
    q: &str,
    after: Option<After>,
    limit: u32,
) -> QueryBuilder<'static, Postgres> {
    let (rank, key, id) = match after {
        Some(a) => (Some(a.rank), Some(a.key), Some(a.id)),
        None => (None, None, None),
    };
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(format!(
        "{} from contact_search(",
        COLUMNS.replacen("select ", "select s.rank, s.sort_key, ", 1)
    ));
    sql.push_bind(q.to_string())
        .push(", ")
        .push_bind(query.order().as_str())
        .push(", ")
        .push_bind(query.dir == SortDir::Desc)
        .push(", ")
        .push_bind(rank)
        .push(", ")
        .push_bind(key)
        .push(", ")
        .push_bind(id)
        .push(", ")
        .push_bind((limit + 1) as i32)
        .push(") with ordinality as s (id, rank, sort_key, n) join contacts c on c.org_id = ")
        .push_bind(scope.org_id)
        .push(" and c.id = s.id")
        .push(" left join users u on u.id = c.owner_id order by s.n");
    sql
}

/// A search term as the services take it: trimmed, at most [`ContactQuery::MAX_Q`] characters, no control
/// characters; `None` when it has no word to look for (blank, or punctuation alone).
pub(crate) fn search_term(q: &str) -> Result<Option<&str>> {
    let q = q.trim();
    if q.chars().count() > ContactQuery::MAX_Q {
        return Err(Error::field(
            "q",
            format!("must be at most {} characters", ContactQuery::MAX_Q),
        ));
    }
    if q.chars().any(char::is_control) {
        return Err(Error::field("q", "must not contain control characters"));
    }
    Ok(has_search_words(q).then_some(q))
}

/// One page of the contacts table: optional search (`q` over name, e-mail and company), an order, keyset pagination.
#[tracing::instrument(name = "contacts::list", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn list(pool: &PgPool, scope: &Scope, query: &ContactQuery) -> Result<ContactPage> {
    scope.require(Action::ReadWorkspace)?;
    let term = search_term(&query.q)?;
    let (limit, after) = super::page_request(
        query.limit,
        DEFAULT_LIMIT,
        MAX_LIMIT,
        query.cursor.as_deref(),
        |c| decode_cursor(query, c),
    )?;
    let mut sql = match term {
        None => plain_page(scope, sort_column(query.order()), after, query.dir, limit),
        Some(q) => search_page(scope, query, q, after, limit),
    };
    let mut tx = scope.read(pool).await?;
    let rows: Vec<ListRow> = match sql.build_query_as().fetch_all(&mut *tx).await {
        Err(sqlx::Error::Database(db))
            if db.code().as_deref() == Some(crate::db::FOREIGN_CURSOR) =>
        {
            return Err(Error::field(
                "cursor",
                "belongs to another search; start from the first page",
            ));
        }
        rows => rows?,
    };
    tx.commit().await?;
    let page = Page::from_overfetch(rows, limit as usize, |r| {
        encode_cursor(
            query,
            &After {
                rank: r.rank,
                key: r.sort_key.clone(),
                id: r.contact.id,
            },
        )
    });
    Ok(ContactPage {
        items: page.items.into_iter().map(|r| r.contact).collect(),
        next_cursor: page.next_cursor,
    })
}

/// The people a record can be assigned to: the workspace's members.
#[tracing::instrument(name = "contacts::owners", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn owners(pool: &PgPool, scope: &Scope) -> Result<Vec<(UserId, String)>> {
    scope.require(Action::ReadWorkspace)?;
    let mut tx = scope.read(pool).await?;
    let rows = sqlx::query!(
        "select u.id, u.name from memberships m join users u on u.id = m.user_id
         where m.org_id = $1 order by lower(u.name), u.id",
        scope.org_id.0
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows.into_iter().map(|r| (UserId(r.id), r.name)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_term_without_words_lists_the_whole_table() {
        assert_eq!(search_term("  ada  ").unwrap(), Some("ada"));
        assert_eq!(search_term(" .-@ ").unwrap(), None);
        assert!(search_term("a\u{7}b").is_err());
        assert!(search_term(&"x".repeat(201)).is_err());
    }

    #[test]
    fn cursors_belong_to_their_order() {
        let q = ContactQuery::default();
        let after = After {
            rank: 0,
            key: "ada. lovelace".into(),
            id: ContactId::new(),
        };
        let c = encode_cursor(&q, &after);
        assert_eq!(decode_cursor(&q, &c).unwrap(), after);
        let other = ContactQuery {
            sort: Some(ContactSort::Company),
            ..Default::default()
        };
        assert!(decode_cursor(&other, &c).is_err());
        assert!(decode_cursor(&q, "garbage").is_err());

        // A search's best-match cursor carries the rank, and belongs to best-match order only.
        let search = ContactQuery {
            q: "ada lov".into(),
            ..Default::default()
        };
        let ranked = After {
            rank: 2,
            key: "lov lovelace".into(),
            id: after.id,
        };
        let c = encode_cursor(&search, &ranked);
        assert_eq!(decode_cursor(&search, &c).unwrap(), ranked);
        assert!(decode_cursor(&q, &c).is_err());
        let forged = format!("relevance.asc.{}.{}", hex::encode("7:x"), after.id);
        assert!(decode_cursor(&search, &forged).is_err());
    }
}
