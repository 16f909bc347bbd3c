//! The kanban board of a pipeline: its columns (every stage, won and lost included) with their counts and totals,
//! the first cards of each, and a column's next cards.

use sqlx::PgPool;
use uuid::Uuid;

use super::Scope;
use super::deals::{Row, deal_columns, deal_joins, stage};
use crate::db::Tx;
use crate::domain::{Currency, DealId, PipelineId, Position, StageId, StageKind};
use crate::model::{Board, BoardColumn, CurrencyTotal, Deal, Page};
use crate::policy::Action;
use crate::{Error, Result};

/// The cards a column's statement reads: a page and one more, to know whether there is a next page. A literal, so the
/// statements carry it in their text.
macro_rules! column_rows {
    () => {
        26
    };
}

/// Cards per column on the first load of the board and per "load more" (as the column is scrolled): more than a
/// screenful, so scrolling never waits at the start. Every card beyond the first screen was rendered, sent and
/// hydrated for nothing on every board load (D-012): 50 made the board's cards half of its cost.
pub const COLUMN_PAGE: i64 = column_rows!() - 1;

fn encode_column_cursor(deal: &Deal) -> String {
    format!("{}.{}", deal.position, deal.id)
}

fn decode_column_cursor(cursor: &str) -> Result<(Position, DealId)> {
    let bad = || Error::field("cursor", "is not a cursor of this column; reload the board");
    let (pos, id) = cursor.split_once('.').ok_or_else(bad)?;
    Ok((
        Position::parse(pos).map_err(|_| bad())?,
        id.parse().map_err(|_| bad())?,
    ))
}

async fn column_page(
    tx: &mut Tx,
    scope: &Scope,
    pipeline: PipelineId,
    stage: StageId,
    cursor: Option<&str>,
) -> Result<Page<Deal>> {
    let after = cursor
        .filter(|c| !c.is_empty())
        .map(decode_column_cursor)
        .transpose()?;
    // The row count is written into the statement, so its plan is reused (see `super::limit_clause`).
    const SQL: &str = concat!(
        "select ",
        deal_columns!(),
        " from deals d",
        deal_joins!(),
        "
    where d.org_id = $1 and d.pipeline_id = $2 and d.stage_id = $3
      and ($4::text is null or (d.position, d.id) > ($4 collate \"C\", $5))
    order by d.position, d.id limit ",
        column_rows!()
    );
    let rows = sqlx::query_as::<_, Row>(SQL)
        .bind(scope.org_id)
        .bind(pipeline)
        .bind(stage)
        .bind(after.as_ref().map(|(p, _)| p.as_str().to_owned()))
        .bind(after.map(|(_, id)| id))
        .fetch_all(&mut **tx)
        .await?;
    let items = rows
        .into_iter()
        .map(Row::into_deal)
        .collect::<Result<Vec<_>>>()?;
    Ok(column_of(items, COLUMN_PAGE))
}

/// A column's page from up to `limit + 1` cards in order.
fn column_of(items: Vec<Deal>, limit: i64) -> Page<Deal> {
    Page::from_overfetch(items, limit as usize, encode_column_cursor)
}

/// The first cards of every column of a pipeline in one statement: per stage, one probe of
/// deals_stage_position_idx for `COLUMN_PAGE + 1` cards (a lateral join), instead of one query per column.
async fn first_cards(
    tx: &mut Tx,
    scope: &Scope,
    pipeline: PipelineId,
) -> Result<std::collections::HashMap<Uuid, Vec<Deal>>> {
    const SQL: &str = concat!(
        "select ",
        deal_columns!(),
        "
    from pipeline_stages st
    cross join lateral (
        select * from deals d0
        where d0.org_id = st.org_id and d0.stage_id = st.id and d0.pipeline_id = st.pipeline_id
        order by d0.position, d0.id limit ",
        column_rows!(),
        "
    ) d",
        deal_joins!(),
        "
    where st.org_id = $1 and st.pipeline_id = $2 order by st.position, d.position, d.id"
    );
    let rows = sqlx::query_as::<_, Row>(SQL)
        .bind(scope.org_id)
        .bind(pipeline)
        .fetch_all(&mut **tx)
        .await?;
    let mut by_stage: std::collections::HashMap<Uuid, Vec<Deal>> = std::collections::HashMap::new();
    for row in rows {
        let deal = row.into_deal()?;
        by_stage.entry(deal.stage_id.0).or_default().push(deal);
    }
    Ok(by_stage)
}

/// The next cards of one column ("load more").
#[tracing::instrument(name = "board::column", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn column(
    pool: &PgPool,
    scope: &Scope,
    pipeline: PipelineId,
    stage_id: StageId,
    cursor: Option<&str>,
) -> Result<Page<Deal>> {
    scope.require(Action::ReadWorkspace)?;
    let mut tx = scope.read(pool).await?;
    let info = stage(&mut tx, scope, stage_id).await?;
    if info.pipeline_id != pipeline.0 {
        return Err(Error::NotFound);
    }
    let page = column_page(&mut tx, scope, pipeline, stage_id, cursor).await?;
    tx.commit().await?;
    Ok(page)
}

/// A stage's deals in one currency, as the board's query groups them.
struct StageTotal {
    stage_id: Uuid,
    currency: String,
    count: i64,
    with_amount: i64,
    total: i128,
    weighted_x100: i128,
}

impl StageTotal {
    /// What a column shows for this currency: the weighted total divided once, here.
    fn shown(&self) -> Result<CurrencyTotal> {
        Ok(CurrencyTotal {
            currency: Currency::parse(&self.currency).map_err(Error::internal)?,
            count: self.with_amount,
            total_minor: self.total,
            weighted_minor: self.weighted_x100 / 100,
        })
    }
}

/// The board of a pipeline: every stage in order (won and lost included) with its count and totals over all its
/// deals, and the first page of cards.
#[tracing::instrument(name = "board::board", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn board(pool: &PgPool, scope: &Scope, pipeline: PipelineId) -> Result<Board> {
    scope.require(Action::ReadWorkspace)?;
    let mut tx = scope.read(pool).await?;
    let name = sqlx::query_scalar!(
        "select name from pipelines where org_id = $1 and id = $2",
        scope.org_id.0,
        pipeline.0
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound)?;
    let stages = sqlx::query!(
        r#"select id, name, position, probability, kind as "kind: StageKind", rot_days from pipeline_stages
           where org_id = $1 and pipeline_id = $2 order by position"#,
        scope.org_id.0,
        pipeline.0
    )
    .fetch_all(&mut *tx)
    .await?;
    // Per stage, currency and explicit probability (none: the stage's): a count and an exact sum, kept by the deals'
    // triggers in deal_totals (D-012) and added up over its slots here — a few rows, however many deals there are.
    // The weighted total Σ amount × probability / 100 is put together from these groups in 128-bit integers and
    // divided once, at the end: exact, and no numeric arithmetic per deal.
    let groups = sqlx::query!(
        r#"select stage_id, currency::text as "currency!", probability,
                  sum(deals)::bigint as "count!", sum(with_amount)::bigint as "with_amount!",
                  sum(amount)::text as "total!"
           from deal_totals
           where org_id = $1 and pipeline_id = $2
           group by stage_id, currency, probability"#,
        scope.org_id.0,
        pipeline.0
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut totals: Vec<StageTotal> = Vec::new();
    for g in groups {
        let sum: i128 = g.total.parse().map_err(Error::internal_from)?;
        let probability = match g.probability {
            Some(p) => p,
            None => stages
                .iter()
                .find(|s| s.id == g.stage_id)
                .map(|s| s.probability)
                .ok_or_else(|| Error::internal("a total of a stage the board does not have"))?,
        };
        let at = match totals
            .iter()
            .position(|t| t.stage_id == g.stage_id && t.currency == g.currency)
        {
            Some(i) => i,
            None => {
                totals.push(StageTotal {
                    stage_id: g.stage_id,
                    currency: g.currency,
                    count: 0,
                    with_amount: 0,
                    total: 0,
                    weighted_x100: 0,
                });
                totals.len() - 1
            }
        };
        let t = &mut totals[at];
        t.count += g.count;
        t.with_amount += g.with_amount;
        t.total += sum;
        t.weighted_x100 += sum * i128::from(probability);
    }
    let mut cards = first_cards(&mut tx, scope, pipeline).await?;
    tx.commit().await?;

    let mut columns = Vec::with_capacity(stages.len());
    for s in stages {
        let stage_id = StageId(s.id);
        let page = column_of(cards.remove(&s.id).unwrap_or_default(), COLUMN_PAGE);
        let mine = || totals.iter().filter(|t| t.stage_id == s.id);
        let mut per_currency = mine().map(StageTotal::shown).collect::<Result<Vec<_>>>()?;
        let count = mine().map(|t| t.count).sum();
        per_currency.retain(|t| t.count > 0);
        per_currency.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then(b.total_minor.cmp(&a.total_minor))
        });
        let main = per_currency.first();
        columns.push(BoardColumn {
            id: stage_id,
            name: s.name,
            position: s.position,
            probability: s.probability,
            kind: s.kind,
            rot_days: s.rot_days,
            count,
            currency: main.map(|t| t.currency),
            total_minor: main.map_or(0, |t| t.total_minor),
            weighted_minor: main.map_or(0, |t| t.weighted_minor),
            totals: per_currency,
            deals: page.items,
            next_cursor: page.next_cursor,
        });
    }
    Ok(Board {
        pipeline_id: pipeline,
        name,
        stages: columns,
    })
}

/// The workspace's first pipeline (the board shown when none is chosen).
#[tracing::instrument(name = "board::default_pipeline", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn default_pipeline(pool: &PgPool, scope: &Scope) -> Result<PipelineId> {
    scope.require(Action::ReadWorkspace)?;
    let mut tx = scope.read(pool).await?;
    let id = sqlx::query_scalar!(
        "select id from pipelines where org_id = $1 order by position, name limit 1",
        scope.org_id.0
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound)?;
    tx.commit().await?;
    Ok(PipelineId(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_cursors_round_trip() {
        let id = DealId::new();
        let (p, d) = decode_column_cursor(&format!("a0V.{id}")).unwrap();
        assert_eq!((p.as_str(), d), ("a0V", id));
        assert!(decode_column_cursor("a0V").is_err());
        assert!(decode_column_cursor("b0.x").is_err());
    }
}
