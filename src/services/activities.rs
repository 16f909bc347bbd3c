//! Activities: logging calls, e-mails, meetings, notes and tasks, and the timelines that show them newest first.

use serde_json::{Value, json};
use sqlx::{PgPool, Postgres, QueryBuilder};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Done, Scope};
use crate::db::ChangeOp;
use crate::domain::{ActivityId, ContactId, DealId, UserId};
use crate::model::{Activity, ActivityInput, ActivityQuery, Page, ValidActivity};
use crate::policy::Action;
use crate::{Error, Result};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

const COLUMNS: &str = "select a.id, a.kind, a.deal_id, d.title as deal_title, a.contact_id,
        nullif(trim(c.first_name || ' ' || c.last_name), '') as contact_name,
        a.author_id, u.name as author_name, a.subject, a.body, a.occurred_at, a.metadata, a.created_at";
const JOINS: &str = "
    left join deals d on d.org_id = a.org_id and d.id = a.deal_id
    left join contacts c on c.org_id = a.org_id and c.id = a.contact_id
    left join users u on u.id = a.author_id";

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    kind: String,
    deal_id: Option<Uuid>,
    deal_title: Option<String>,
    contact_id: Option<Uuid>,
    contact_name: Option<String>,
    author_id: Option<Uuid>,
    author_name: Option<String>,
    subject: String,
    body: Option<String>,
    occurred_at: OffsetDateTime,
    metadata: Value,
    created_at: OffsetDateTime,
}

impl Row {
    fn into_activity(self) -> Result<Activity> {
        Ok(Activity {
            id: ActivityId(self.id),
            kind: self.kind.parse().map_err(Error::internal)?,
            deal_id: self.deal_id.map(DealId),
            deal_title: self.deal_title,
            contact_id: self.contact_id.map(ContactId),
            contact_name: self.contact_name,
            author_id: self.author_id.map(UserId),
            author_name: self.author_name,
            subject: self.subject,
            body: self.body,
            occurred_at: self.occurred_at,
            metadata: self.metadata,
            created_at: self.created_at,
        })
    }
}

/// Logs an activity against a deal and/or a contact. A deal's activity also counts as the deal's latest sign of life
/// (it is no longer stale).
#[tracing::instrument(name = "activities::create", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn create(pool: &PgPool, scope: &Scope, input: &ActivityInput) -> Result<Done<Activity>> {
    scope.require(Action::LogActivity)?;
    let valid = ValidActivity::parse(input)?;
    let id = ActivityId::new();
    let mut work = scope.write(pool).await?;
    // A deal logged against without a contact picks up the deal's contact, so the contact's timeline shows it too.
    let contact_id = match (valid.contact_id, valid.deal_id) {
        (Some(c), _) => Some(c.0),
        (None, Some(d)) => sqlx::query_scalar!(
            "select contact_id from deals where org_id = $1 and id = $2",
            scope.org_id.0,
            d.0
        )
        .fetch_optional(&mut **work)
        .await?
        .ok_or(Error::NotFound)?,
        (None, None) => None,
    };
    let occurred_at = sqlx::query_scalar!(
        "insert into activities (id, org_id, kind, deal_id, contact_id, author_id, subject, body, occurred_at, metadata)
         values ($1, $2, $3, $4, $5, $6, $7, $8, coalesce($9, now()), $10)
         returning occurred_at",
        id.0,
        scope.org_id.0,
        valid.kind.as_str(),
        valid.deal_id.map(|d| d.0),
        contact_id,
        scope.user_id.0,
        valid.subject.as_str(),
        valid.body,
        valid.occurred_at,
        valid.metadata,
    )
    .fetch_one(&mut **work)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => Error::NotFound,
        _ => Error::from(e),
    })?;
    // The deal's card may stop being stale: boards watching it hear of it (D-019).
    let touched = match valid.deal_id {
        None => None,
        Some(deal) => sqlx::query!(
            "update deals set last_activity_at = greatest(last_activity_at, $3) where org_id = $1 and id = $2
             returning pipeline_id, stage_id, version",
            scope.org_id.0,
            deal.0,
            occurred_at
        )
        .fetch_optional(&mut **work)
        .await?
        .map(|d| work.deal_change(d.pipeline_id, deal.0, d.stage_id, d.version, ChangeOp::Update)),
    };
    work.audit("activity.created",
        "activity",
        Some(id.0),
        json!({"kind": valid.kind, "deal_id": valid.deal_id, "contact_id": contact_id, "subject": valid.subject}),
    )
    .await?;
    let sql = format!("{COLUMNS} from activities a {JOINS} where a.org_id = $1 and a.id = $2");
    let activity = sqlx::query_as::<_, Row>(&sql)
        .bind(scope.org_id)
        .bind(id)
        .fetch_one(&mut **work)
        .await?
        .into_activity()?;
    work.changed(touched);
    work.finish(activity).await
}

fn encode_cursor(a: &Activity) -> String {
    format!("{}.{}", a.occurred_at.unix_timestamp_nanos(), a.id)
}

fn decode_cursor(cursor: &str) -> Result<(OffsetDateTime, ActivityId)> {
    let bad = || {
        Error::field(
            "cursor",
            "is not a cursor of this timeline; start from the newest",
        )
    };
    let (nanos, id) = cursor.split_once('.').ok_or_else(bad)?;
    let at = nanos
        .parse::<i128>()
        .ok()
        .and_then(|n| OffsetDateTime::from_unix_timestamp_nanos(n).ok())
        .ok_or_else(bad)?;
    Ok((at, id.parse().map_err(|_| bad())?))
}

/// A page of a timeline without a details filter: every condition is an index condition under the policy.
fn plain_page(
    scope: &Scope,
    query: &ActivityQuery,
    after: Option<(OffsetDateTime, ActivityId)>,
    limit: u32,
) -> QueryBuilder<'static, Postgres> {
    let mut sql: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("{COLUMNS} from activities a {JOINS}"));
    sql.push(" where a.org_id = ").push_bind(scope.org_id);
    if let Some(deal) = query.deal_id {
        sql.push(" and a.deal_id = ").push_bind(deal);
    }
    if let Some(contact) = query.contact_id {
        sql.push(" and a.contact_id = ").push_bind(contact);
    }
    if let Some(kind) = query.kind {
        sql.push(" and a.kind = ").push_bind(kind.as_str());
    }
    if let Some((at, id)) = after {
        sql.push(" and (a.occurred_at, a.id) < (")
            .push_bind(at)
            .push(", ")
            .push_bind(id)
            .push(")");
    }
    sql.push(" order by a.occurred_at desc, a.id desc")
        .push(super::limit_clause(i64::from(limit) + 1));
    sql
}

/// A page of a timeline filtered by details (JSON containment). Under the policy PostgreSQL cannot use the GIN index
/// for `@>` (it is not LEAKPROOF), so the match runs in `activity_search`, which restricts itself to the
/// transaction's workspace and returns ids in order (D-011); the rows are read back under the policy.
fn filtered_page(
    scope: &Scope,
    query: &ActivityQuery,
    metadata: &Value,
    after: Option<(OffsetDateTime, ActivityId)>,
    limit: u32,
) -> QueryBuilder<'static, Postgres> {
    let mut sql: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("{COLUMNS} from activity_search("));
    let (at, id) = after.unzip();
    sql.push_bind(metadata.clone())
        .push(", ")
        .push_bind(query.kind.map(|k| k.as_str()))
        .push(", ")
        .push_bind(query.deal_id)
        .push(", ")
        .push_bind(query.contact_id)
        .push(", ")
        .push_bind(at)
        .push(", ")
        .push_bind(id)
        .push(", ")
        .push_bind((limit + 1) as i32)
        .push(") with ordinality as s (id, n) join activities a on a.org_id = ")
        .push_bind(scope.org_id)
        .push(" and a.id = s.id ")
        .push(JOINS)
        .push(" order by s.n");
    sql
}

/// A timeline, newest first: the workspace's, a deal's or a contact's, optionally of one kind and with details
/// containing `metadata` (JSON containment, served by the GIN index).
#[tracing::instrument(name = "activities::list", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn list(pool: &PgPool, scope: &Scope, query: &ActivityQuery) -> Result<Page<Activity>> {
    scope.require(Action::ReadWorkspace)?;
    let (limit, after) = super::page_request(
        query.limit,
        DEFAULT_LIMIT,
        MAX_LIMIT,
        query.cursor.as_deref(),
        decode_cursor,
    )?;
    if let Some(m) = &query.metadata
        && !m.is_object()
    {
        return Err(Error::field("metadata", "must be a JSON object"));
    }
    let mut tx = scope.read(pool).await?;
    // Filtering by a deal or contact that is absent (or another workspace's) is a 404, not an empty timeline.
    if let Some(deal) = query.deal_id {
        sqlx::query_scalar!(
            "select 1 as \"one!\" from deals where org_id = $1 and id = $2",
            scope.org_id.0,
            deal.0
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(Error::NotFound)?;
    }
    if let Some(contact) = query.contact_id {
        super::contacts::fetch(&mut tx, scope, contact).await?;
    }

    let mut sql = match &query.metadata {
        Some(m) => filtered_page(scope, query, m, after, limit),
        None => plain_page(scope, query, after, limit),
    };
    let rows: Vec<Row> = sql.build_query_as().fetch_all(&mut *tx).await?;
    tx.commit().await?;
    let items = rows
        .into_iter()
        .map(Row::into_activity)
        .collect::<Result<Vec<_>>>()?;
    Ok(Page::from_overfetch(items, limit as usize, encode_cursor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let at = time::macros::datetime!(2026-11-22 10:00:00.123456 UTC);
        let id = ActivityId(Uuid::now_v7());
        let (a, i) = decode_cursor(&format!("{}.{id}", at.unix_timestamp_nanos())).unwrap();
        assert_eq!((a, i), (at, id));
        assert!(decode_cursor("x.y").is_err());
    }
}
