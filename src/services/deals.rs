//! Deals (their board is in [`super::board`]). A move writes one row (a fractional position between its new neighbours); every update
//! names the version it was based on, and a stale version is a conflict, never a silent overwrite.

use serde_json::{Value, json};
use sqlx::PgPool;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::{Done, Scope};
use crate::db::{ChangeOp, DealChange, Tx, Work};
use crate::domain::{
    ContactId, Currency, DealId, Money, PipelineId, Position, StageId, StageKind, UserId,
};
use crate::model::{Deal, DealForm, DealPatch, ValidPatch};
use crate::policy::Action;
use crate::{Error, Result};

/// The columns of a deal as [`Row`] reads them, from a deal row `d` and the joins of [`deal_joins!`]. Every deal
/// statement is written out whole with these two: `concat!` makes one literal of it, so the text in the binary (and in
/// `pg_stat_statements`) is exactly what is shown here, and it can be pasted into psql with the two filled in.
macro_rules! deal_columns {
    () => {
        "d.id, d.title, d.pipeline_id, d.stage_id, s.name as stage_name, s.kind as stage_kind,
        d.contact_id, nullif(trim(c.first_name || ' ' || c.last_name), '') as contact_name,
        d.owner_id, u.name as owner_name, d.amount_minor, d.currency::text as currency,
        coalesce(d.probability, s.probability) as probability, d.probability is not null as probability_explicit,
        d.expected_close, d.lost_reason, d.closed_at, d.stage_entered_at,
        (s.kind = 'open' and s.rot_days is not null
            and greatest(d.stage_entered_at, d.last_activity_at) < now() - make_interval(days => s.rot_days)) as stale,
        d.position, d.version, d.created_at, d.updated_at"
    };
}

/// What [`deal_columns!`] reads besides the deal row `d`: its stage, contact and owner.
macro_rules! deal_joins {
    () => {
        "
    join pipeline_stages s on s.org_id = d.org_id and s.id = d.stage_id
    left join contacts c on c.org_id = d.org_id and c.id = d.contact_id
    left join users u on u.id = d.owner_id"
    };
}
pub(super) use {deal_columns, deal_joins};

#[derive(sqlx::FromRow)]
pub(super) struct Row {
    id: Uuid,
    title: String,
    pipeline_id: Uuid,
    stage_id: Uuid,
    stage_name: String,
    stage_kind: StageKind,
    contact_id: Option<Uuid>,
    contact_name: Option<String>,
    owner_id: Option<Uuid>,
    owner_name: Option<String>,
    amount_minor: Option<i64>,
    currency: String,
    probability: i16,
    probability_explicit: bool,
    expected_close: Option<Date>,
    lost_reason: Option<String>,
    closed_at: Option<OffsetDateTime>,
    stage_entered_at: OffsetDateTime,
    stale: bool,
    position: String,
    version: i32,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl Row {
    pub(super) fn into_deal(self) -> Result<Deal> {
        let currency = Currency::parse(&self.currency).map_err(Error::internal)?;
        Ok(Deal {
            id: DealId(self.id),
            title: self.title,
            pipeline_id: PipelineId(self.pipeline_id),
            stage_id: StageId(self.stage_id),
            stage_name: self.stage_name,
            stage_kind: self.stage_kind,
            contact_id: self.contact_id.map(ContactId),
            contact_name: self.contact_name,
            owner_id: self.owner_id.map(UserId),
            owner_name: self.owner_name,
            amount: self.amount_minor.map(|amount_minor| Money {
                amount_minor,
                currency,
            }),
            probability: u8::try_from(self.probability).map_err(Error::internal_from)?,
            probability_explicit: self.probability_explicit,
            expected_close_date: self.expected_close,
            lost_reason: self.lost_reason,
            closed_at: self.closed_at,
            stage_entered_at: self.stage_entered_at,
            stale: self.stale,
            position: self.position,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

async fn fetch(tx: &mut Tx, scope: &Scope, id: DealId) -> Result<Deal> {
    const SQL: &str = concat!(
        "select ",
        deal_columns!(),
        " from deals d",
        deal_joins!(),
        " where d.org_id = $1 and d.id = $2"
    );
    sqlx::query_as::<_, Row>(SQL)
        .bind(scope.org_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(Error::NotFound)?
        .into_deal()
}

#[tracing::instrument(name = "deals::get", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn get(pool: &PgPool, scope: &Scope, id: DealId) -> Result<Deal> {
    scope.require(Action::ReadWorkspace)?;
    let mut tx = scope.read(pool).await?;
    let deal = fetch(&mut tx, scope, id).await?;
    tx.commit().await?;
    Ok(deal)
}

/// A contact's deals, open ones first, newest first.
#[tracing::instrument(name = "deals::for_contact", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn for_contact(pool: &PgPool, scope: &Scope, contact: ContactId) -> Result<Vec<Deal>> {
    scope.require(Action::ReadWorkspace)?;
    let mut tx = scope.read(pool).await?;
    super::contacts::fetch(&mut tx, scope, contact).await?;
    const SQL: &str = concat!(
        "select ",
        deal_columns!(),
        " from deals d",
        deal_joins!(),
        "
    where d.org_id = $1 and d.contact_id = $2
    order by (s.kind = 'open') desc, d.id desc limit 500"
    );
    let rows = sqlx::query_as::<_, Row>(SQL)
        .bind(scope.org_id)
        .bind(contact)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    rows.into_iter().map(Row::into_deal).collect()
}

pub(super) struct StageInfo {
    pub(super) pipeline_id: Uuid,
    pub(super) kind: StageKind,
}

/// A stage of the workspace; `NotFound` when it is absent or another workspace's.
pub(super) async fn stage(tx: &mut Tx, scope: &Scope, id: StageId) -> Result<StageInfo> {
    let row = sqlx::query!(
        r#"select pipeline_id, kind as "kind: StageKind" from pipeline_stages where org_id = $1 and id = $2"#,
        scope.org_id.0,
        id.0
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound)?;
    Ok(StageInfo {
        pipeline_id: row.pipeline_id,
        kind: row.kind,
    })
}

/// The first open stage of a pipeline (or of the workspace's first pipeline).
async fn first_stage(tx: &mut Tx, scope: &Scope, pipeline: Option<PipelineId>) -> Result<StageId> {
    let id = sqlx::query_scalar!(
        "select s.id from pipeline_stages s join pipelines p on p.org_id = s.org_id and p.id = s.pipeline_id
         where s.org_id = $1 and ($2::uuid is null or p.id = $2) and s.kind = 'open'
         order by p.position, p.name, s.position limit 1",
        scope.org_id.0,
        pipeline.map(|p| p.0)
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound)?;
    Ok(StageId(id))
}

fn position_of(s: &str) -> Result<Position> {
    Position::parse(s).map_err(|e| Error::internal(format!("invalid position {s:?} stored: {e}")))
}

/// The sortable key between two cards (either end open). Keys only run out after very many insertions at one spot:
/// that is a conflict to retry, not a fault.
pub(crate) fn key_between(lo: Option<&Position>, hi: Option<&Position>) -> Result<Position> {
    Position::between(lo, hi).map_err(|e| Error::Conflict(e.to_string()))
}

/// The key of the last card of `stage`, if it holds any: one probe of deals_stage_position_idx. Whoever appends cards
/// to a column starts from here.
#[tracing::instrument(name = "deals::last_position", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn last_position(tx: &mut Tx, scope: &Scope, stage: StageId) -> Result<Option<Position>> {
    let last = sqlx::query_scalar!(
        "select position from deals where org_id = $1 and stage_id = $2 order by position desc, id desc limit 1",
        scope.org_id.0,
        stage.0,
    )
    .fetch_optional(&mut **tx)
    .await?;
    last.as_deref().map(position_of).transpose()
}

fn not_found_on_fk(err: sqlx::Error) -> Error {
    match &err {
        // A contact, stage, pipeline or owner that is absent (or another workspace's) is simply not found.
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => Error::NotFound,
        _ => Error::from(err),
    }
}

#[tracing::instrument(name = "deals::create", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn create(pool: &PgPool, scope: &Scope, form: &DealForm) -> Result<Done<Deal>> {
    scope.require(Action::CreateDeal)?;
    let new = form.parse()?;
    if new.probability.is_some() {
        scope.require(Action::SetDealProbability)?;
    }
    let mut work = scope.write(pool).await?;
    let stage_id = match new.stage_id {
        Some(s) => s,
        None => first_stage(&mut work, scope, new.pipeline_id).await?,
    };
    let info = stage(&mut work, scope, stage_id).await?;
    if new.pipeline_id.is_some_and(|p| p.0 != info.pipeline_id) {
        return Err(Error::field("stage_id", "is not a stage of this pipeline"));
    }
    if info.kind == StageKind::Lost {
        return Err(Error::field(
            "stage_id",
            "a new deal cannot start lost; create it in an open stage",
        ));
    }
    let position = key_between(
        last_position(&mut work, scope, stage_id).await?.as_ref(),
        None,
    )?;
    let id = DealId::new();
    let currency = new
        .amount
        .map_or_else(crate::model::default_currency, |m| m.currency);
    sqlx::query!(
        "insert into deals (id, org_id, pipeline_id, stage_id, contact_id, owner_id, title, amount_minor, currency,
                            probability, position, expected_close, closed_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, case when $13 then now() end)",
        id.0,
        scope.org_id.0,
        info.pipeline_id,
        stage_id.0,
        new.contact_id.map(|c| c.0),
        new.owner_id.unwrap_or(scope.user_id).0,
        new.title.as_str(),
        new.amount.map(|m| m.amount_minor),
        currency.as_str() as _,
        new.probability.map(|p| i16::from(p.percent())),
        position.as_str(),
        new.expected_close_date,
        info.kind == StageKind::Won,
    )
    .execute(&mut **work)
    .await
    .map_err(not_found_on_fk)?;
    let deal = fetch(&mut work, scope, id).await?;
    work.audit(
        "deal.created",
        "deal",
        Some(id.0),
        json!({"title": deal.title, "stage_id": deal.stage_id, "amount": deal.amount,
               "contact_id": deal.contact_id, "owner_id": deal.owner_id}),
    )
    .await?;
    work.changed([change_of(&work, &deal, ChangeOp::Insert)]);
    work.finish(deal).await
}

/// The board announcement of a change of `deal` (D-019).
fn change_of(work: &Work, deal: &Deal, op: ChangeOp) -> DealChange {
    work.deal_change(
        deal.pipeline_id.0,
        deal.id.0,
        deal.stage_id.0,
        deal.version,
        op,
    )
}

fn stale_version() -> Error {
    Error::Conflict(
        "this deal was changed by someone else in the meantime; reload to see the latest".into(),
    )
}

/// A deal as an update finds it, with its target stage (the patch's, else the deal's own) and the end of that column
/// when the card changes stage, read in one statement: each part one probe of a primary key or of
/// deals_stage_position_idx.
#[derive(sqlx::FromRow)]
struct ForUpdate {
    #[sqlx(flatten)]
    deal: Row,
    target_pipeline_id: Option<Uuid>,
    target_kind: Option<StageKind>,
    target_probability: Option<i16>,
    column_end: Option<String>,
}

async fn read_for_update(
    tx: &mut Tx,
    scope: &Scope,
    id: DealId,
    target: Option<StageId>,
) -> Result<ForUpdate> {
    const SQL: &str = concat!(
        "select ",
        deal_columns!(),
        ",
        t.pipeline_id as target_pipeline_id, t.kind as target_kind, t.probability as target_probability,
        e.position as column_end
    from deals d",
        deal_joins!(),
        "
    left join pipeline_stages t on t.org_id = $1 and t.id = coalesce($3, d.stage_id)
    left join lateral (
        select x.position from deals x where x.org_id = $1 and x.stage_id = t.id and t.id <> d.stage_id
        order by x.position desc, x.id desc limit 1
    ) e on true
    where d.org_id = $1 and d.id = $2"
    );
    sqlx::query_as::<_, ForUpdate>(SQL)
        .bind(scope.org_id)
        .bind(id)
        .bind(target)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(Error::NotFound)
}

/// The key that puts a card just before `before` (or just after `after`) in `stage`: the anchor and its neighbour on
/// the far side in one statement. `None` when the anchor is not a card of that stage.
async fn beside(
    tx: &mut Tx,
    scope: &Scope,
    stage: StageId,
    moving: DealId,
    before: Option<DealId>,
    after: Option<DealId>,
) -> Result<Option<Position>> {
    let Some(anchor_id) = before.or(after) else {
        return Ok(None);
    };
    let row = sqlx::query!(
        r#"select a.position as "anchor!",
              case when $5 then
                  (select x.position from deals x where x.org_id = $1 and x.stage_id = $2 and x.id <> $3
                       and x.position < a.position order by x.position desc limit 1)
              else
                  (select x.position from deals x where x.org_id = $1 and x.stage_id = $2 and x.id <> $3
                       and x.position > a.position order by x.position asc limit 1)
              end as neighbour
           from deals a where a.org_id = $1 and a.id = $4 and a.stage_id = $2"#,
        scope.org_id.0,
        stage.0,
        moving.0,
        anchor_id.0,
        before.is_some(),
    )
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let anchor = position_of(&row.anchor)?;
    let neighbour = row.neighbour.as_deref().map(position_of).transpose()?;
    let (lo, hi) = if before.is_some() {
        (neighbour.as_ref(), Some(&anchor))
    } else {
        (Some(&anchor), neighbour.as_ref())
    };
    key_between(lo, hi).map(Some)
}

/// Changes a deal: any of its fields, its stage and its place in a column. One row is written, with its audit entry in
/// the same statement: a move to another column is the tenant `BEGIN`, one read, one write and `COMMIT`; a drop beside a
/// card reads that card and its neighbour in one more statement.
#[tracing::instrument(name = "deals::update", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn update(
    pool: &PgPool,
    scope: &Scope,
    id: DealId,
    patch: &DealPatch,
) -> Result<Done<Deal>> {
    let mut work = scope.write(pool).await?;
    let read = read_for_update(&mut work, scope, id, patch.stage_id).await?;
    let column_end = read.column_end.clone();
    let before = read.deal.into_deal()?;
    scope.require(Action::UpdateDeal {
        own: before.owner_id == Some(scope.user_id),
    })?;
    let currency = before
        .amount
        .map_or_else(crate::model::default_currency, |m| m.currency);
    let change = patch.parse(currency)?;
    if change.probability.is_some() {
        scope.require(Action::SetDealProbability)?;
    }
    if change.version != before.version {
        return Err(stale_version());
    }
    let (Some(pipeline), Some(kind), Some(stage_probability)) = (
        read.target_pipeline_id,
        read.target_kind,
        read.target_probability,
    ) else {
        return Err(Error::NotFound);
    };
    if pipeline != before.pipeline_id.0 {
        return Err(Error::field(
            "stage_id",
            "is not a stage of this deal's pipeline",
        ));
    }
    let target = Target {
        stage: change.stage_id.unwrap_or(before.stage_id),
        kind,
        probability: stage_probability,
        column_end,
    };
    let position = place(&mut work, scope, &before, &change, &target).await?;
    let planned = plan(&before, &change, &target, position, currency)?;
    let after = write(&mut work, scope, &change, &planned).await?;
    // The entry was written from the expected deal; every test that changes a deal checks it matches the real one.
    debug_assert_eq!(
        planned.changes,
        super::diff(&to_value(&before), &to_value(&after)),
        "the audit entry of a deal update differs from the change made"
    );
    work.audited_by_statement();
    work.changed([change_of(&work, &after, ChangeOp::Update)]);
    work.finish(after).await
}

/// The stage an update puts the deal in (the patch's, else its own), as [`read_for_update`] found it.
struct Target {
    stage: StageId,
    kind: StageKind,
    /// The stage's default probability.
    probability: i16,
    /// The last card's position in that stage, when the deal changes stage.
    column_end: Option<String>,
}

/// The deal's new position: beside the card the patch names, at the end of a new column, or where it was.
async fn place(
    work: &mut Work,
    scope: &Scope,
    before: &Deal,
    change: &ValidPatch,
    target: &Target,
) -> Result<Position> {
    if change.before_id.is_some() || change.after_id.is_some() {
        let field = if change.before_id.is_some() {
            "before_id"
        } else {
            "after_id"
        };
        beside(
            work,
            scope,
            target.stage,
            before.id,
            change.before_id,
            change.after_id,
        )
        .await?
        .ok_or_else(|| Error::field(field, "is not a card of the target stage"))
    } else if target.stage != before.stage_id {
        let end = target.column_end.as_deref().map(position_of).transpose()?;
        key_between(end.as_ref(), None)
    } else {
        position_of(&before.position)
    }
}

/// What an update writes, decided before its statement runs.
struct Planned {
    deal: DealId,
    stage: StageId,
    kind: StageKind,
    stage_changed: bool,
    position: Position,
    /// Whether the explicit probability is set (to `probability`, `None` clearing it).
    probability_set: bool,
    probability: Option<i16>,
    amount: Option<Money>,
    currency: Currency,
    lost_reason: Option<String>,
    /// The statement's clock, to the microsecond PostgreSQL keeps.
    now: OffsetDateTime,
    action: &'static str,
    /// The audit entry's changed fields: the deal before against the deal as it will be.
    changes: Value,
}

/// Decides every field of the update and its audit entry, from the deal before, the checked patch and its target.
fn plan(
    before: &Deal,
    change: &ValidPatch,
    target: &Target,
    position: Position,
    currency: Currency,
) -> Result<Planned> {
    let kind = target.kind;
    let stage_changed = target.stage != before.stage_id;
    let lost_reason = match (&change.lost_reason, kind) {
        (Some(r), StageKind::Lost) => r.clone(),
        (None, StageKind::Lost) => before.lost_reason.clone(),
        _ => None,
    };
    if kind == StageKind::Lost && lost_reason.is_none() {
        return Err(Error::field("lost_reason", "say why the deal was lost"));
    }
    // Reaching won or lost decides the probability (100 or 0): an explicit one no longer applies.
    let (probability_set, probability) = match (kind, change.probability) {
        (StageKind::Won | StageKind::Lost, _) if stage_changed => (true, None),
        (_, Some(p)) => (true, p.map(|p| i16::from(p.percent()))),
        (_, None) => (false, None),
    };
    let amount = change.amount.unwrap_or(before.amount);
    // Named before the row exists, so the audit entry written with the update can give the new closing time.
    let now = OffsetDateTime::now_utc();
    let now = now
        .replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .map_err(Error::internal_from)?;
    let explicit = if probability_set {
        probability
    } else {
        before
            .probability_explicit
            .then_some(i16::from(before.probability))
    };
    let expected = Deal {
        title: change
            .title
            .as_ref()
            .map_or_else(|| before.title.clone(), |t| t.to_string()),
        stage_id: target.stage,
        stage_kind: kind,
        contact_id: change.contact_id.unwrap_or(before.contact_id),
        owner_id: change.owner_id.unwrap_or(before.owner_id),
        amount,
        probability: u8::try_from(explicit.unwrap_or(target.probability))
            .map_err(Error::internal_from)?,
        probability_explicit: explicit.is_some(),
        expected_close_date: change
            .expected_close_date
            .unwrap_or(before.expected_close_date),
        lost_reason: lost_reason.clone(),
        closed_at: match kind {
            StageKind::Open => None,
            _ if stage_changed => Some(now),
            _ => before.closed_at,
        },
        ..before.clone()
    };
    let action = match (stage_changed, kind) {
        (true, StageKind::Won) => "deal.won",
        (true, StageKind::Lost) => "deal.lost",
        (true, StageKind::Open) => "deal.moved",
        (false, _) if change.is_move() => "deal.reordered",
        (false, _) => "deal.updated",
    };
    Ok(Planned {
        deal: before.id,
        stage: target.stage,
        kind,
        stage_changed,
        position,
        probability_set,
        probability,
        amount,
        currency: amount.map_or(currency, |m| m.currency),
        lost_reason,
        now,
        action,
        changes: super::diff(&to_value(before), &to_value(&expected)),
    })
}

/// The update, its audit entry (as `Work::audit` writes it; the chain trigger fills in seq and hashes) and the read of
/// the deal as it now is: one statement. No row updated (a stale version) writes no entry either.
async fn write(
    work: &mut Work,
    scope: &Scope,
    change: &ValidPatch,
    planned: &Planned,
) -> Result<Deal> {
    const UPDATE: &str = concat!(
        "with updated as (
                 update deals set
                     title = coalesce($4, title),
                     amount_minor = $5,
                     currency = $6,
                     probability = case when $7 then $8 else probability end,
                     stage_id = $9,
                     position = $10,
                     owner_id = case when $11 then $12 else owner_id end,
                     contact_id = case when $13 then $14 else contact_id end,
                     expected_close = case when $15 then $16 else expected_close end,
                     lost_reason = $17,
                     stage_entered_at = case when $18 then $20 else stage_entered_at end,
                     closed_at = case when $19 = 'open' then null when $18 then $20 else closed_at end,
                     version = version + 1
                 where org_id = $1 and id = $2 and version = $3
                 returning *
             ), logged as (
                 insert into audit_log (id, org_id, actor_id, action, entity_type, entity_id, request_id, changes,
                                        prev_hash, hash)
                 select $21, org_id, $22, $23, 'deal', id, $24, $25, '', '' from updated
             )
         select ",
        deal_columns!(),
        " from updated d",
        deal_joins!()
    );
    sqlx::query_as::<_, Row>(UPDATE)
        .bind(scope.org_id)
        .bind(planned.deal)
        .bind(change.version)
        .bind(change.title.as_ref().map(|t| t.as_str()))
        .bind(planned.amount.map(|m| m.amount_minor))
        .bind(planned.currency.as_str())
        .bind(planned.probability_set)
        .bind(planned.probability)
        .bind(planned.stage)
        .bind(planned.position.as_str())
        .bind(change.owner_id.is_some())
        .bind(change.owner_id.flatten())
        .bind(change.contact_id.is_some())
        .bind(change.contact_id.flatten())
        .bind(change.expected_close_date.is_some())
        .bind(change.expected_close_date.flatten())
        .bind(planned.lost_reason.as_deref())
        .bind(planned.stage_changed)
        .bind(planned.kind.as_str())
        .bind(planned.now)
        .bind(Uuid::now_v7())
        .bind(scope.user_id)
        .bind(planned.action)
        .bind(scope.request_id.as_deref())
        .bind(&planned.changes)
        .fetch_optional(&mut ***work)
        .await
        .map_err(not_found_on_fk)?
        .ok_or_else(stale_version)?
        .into_deal()
}

fn to_value(deal: &Deal) -> Value {
    let mut v = serde_json::to_value(deal).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        // Derived or joined fields are not changes of the deal itself.
        for k in [
            "stage_name",
            "stage_kind",
            "contact_name",
            "owner_name",
            "stale",
        ] {
            o.remove(k);
        }
    }
    v
}

/// Deletes a deal (managers and admins), with its activities.
#[tracing::instrument(name = "deals::delete", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn delete(pool: &PgPool, scope: &Scope, id: DealId) -> Result<Done<()>> {
    scope.require(Action::DeleteDeal)?;
    let mut work = scope.write(pool).await?;
    let deal = fetch(&mut work, scope, id).await?;
    sqlx::query!(
        "delete from deals where org_id = $1 and id = $2",
        scope.org_id.0,
        id.0
    )
    .execute(&mut **work)
    .await?;
    work.audit(
        "deal.deleted",
        "deal",
        Some(id.0),
        json!({"title": deal.title}),
    )
    .await?;
    work.changed([change_of(&work, &deal, ChangeOp::Delete)]);
    work.finish(()).await
}
