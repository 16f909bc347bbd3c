//! Pipelines and their stages: each stage is a row of its pipeline, with its own position, default probability,
//! kind (open, won or lost) and rot days.

use serde_json::json;

use super::Done;
use super::{Scope, Work};
use crate::db::ChangeOp;
use crate::db::Tx;
use crate::domain::{PipelineId, StageId, StageKind};
use crate::error::OnConstraint;
use crate::model::{Pipeline, Stage};
use crate::model::{PipelineInput, PipelinePatch, StageInput, StagePatch, ValidStage};
use crate::policy::Action;
use crate::{Error, FieldErrors, Result};

/// The stages of the pipeline every new workspace gets at sign-up: (name, default probability, kind).
pub const DEFAULT_STAGES: [(&str, i16, StageKind); 6] = [
    ("Lead", 10, StageKind::Open),
    ("Qualified", 25, StageKind::Open),
    ("Proposal", 50, StageKind::Open),
    ("Negotiation", 75, StageKind::Open),
    ("Won", 100, StageKind::Won),
    ("Lost", 0, StageKind::Lost),
];

/// Creates the default "Sales" pipeline in the scope's workspace.
#[tracing::instrument(name = "pipelines::create_default", skip_all)]
pub async fn create_default(work: &mut Work) -> Result<PipelineId> {
    let org = work.org();
    let id = PipelineId::new();
    sqlx::query!(
        "insert into pipelines (id, org_id, name) values ($1, $2, 'Sales')",
        id.0,
        org.0
    )
    .execute(&mut ***work)
    .await?;
    for (position, (name, probability, kind)) in DEFAULT_STAGES.iter().enumerate() {
        sqlx::query!(
            "insert into pipeline_stages (id, org_id, pipeline_id, name, position, probability, kind)
             values ($1, $2, $3, $4, $5, $6, $7)",
            StageId::new().0,
            org.0,
            id.0,
            name,
            position as i32,
            probability,
            kind.as_str(),
        )
        .execute(&mut ***work)
        .await?;
    }
    work.audit(
        "pipeline.created",
        "pipeline",
        Some(id.0),
        serde_json::json!({"name": "Sales"}),
    )
    .await?;
    Ok(id)
}

/// Every pipeline of the workspace with its stages in order.
#[tracing::instrument(name = "pipelines::list", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn list(pool: &sqlx::PgPool, scope: &Scope) -> Result<Vec<Pipeline>> {
    scope.require(crate::policy::Action::ReadWorkspace)?;
    let mut tx = scope.read(pool).await?;
    let pipelines = load(&mut tx, scope, None).await?;
    tx.commit().await?;
    Ok(pipelines)
}

/// The workspace's pipelines (or only `only`), each with its stages in order.
async fn load(tx: &mut Tx, scope: &Scope, only: Option<PipelineId>) -> Result<Vec<Pipeline>> {
    let pipelines = sqlx::query!(
        "select id, name from pipelines where org_id = $1 and ($2::uuid is null or id = $2)
         order by position, name",
        scope.org_id.0,
        only.map(|p| p.0),
    )
    .fetch_all(&mut **tx)
    .await?;
    let stages = sqlx::query!(
        r#"select id, pipeline_id, name, position, probability, kind as "kind: StageKind", rot_days
           from pipeline_stages
           where org_id = $1 and ($2::uuid is null or pipeline_id = $2)
           order by pipeline_id, position"#,
        scope.org_id.0,
        only.map(|p| p.0),
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(pipelines
        .into_iter()
        .map(|p| Pipeline {
            id: PipelineId(p.id),
            name: p.name,
            stages: stages
                .iter()
                .filter(|s| s.pipeline_id == p.id)
                .map(|s| Stage {
                    id: StageId(s.id),
                    name: s.name.clone(),
                    position: s.position,
                    probability: s.probability,
                    kind: s.kind,
                    rot_days: s.rot_days,
                })
                .collect(),
        })
        .collect())
}

/// One pipeline of the workspace, with its stages in order, read in `tx`.
async fn load_one(tx: &mut Tx, scope: &Scope, id: PipelineId) -> Result<Pipeline> {
    load(tx, scope, Some(id))
        .await?
        .into_iter()
        .next()
        .ok_or(Error::NotFound)
}

// Configuring pipelines and stages (admins) ------------------------------------------------------------------------

fn name_taken() -> Error {
    Error::field("name", "another pipeline of this workspace has this name")
}

/// One pipeline of the workspace, with its stages in order.
#[tracing::instrument(name = "pipelines::get", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn get(pool: &sqlx::PgPool, scope: &Scope, id: PipelineId) -> Result<Pipeline> {
    scope.require(crate::policy::Action::ReadWorkspace)?;
    let mut tx = scope.read(pool).await?;
    let pipeline = load_one(&mut tx, scope, id).await?;
    tx.commit().await?;
    Ok(pipeline)
}

/// Locks the pipeline's row for this transaction: stage changes of one pipeline happen one at a time.
async fn lock(tx: &mut Tx, scope: &Scope, id: PipelineId) -> Result<()> {
    sqlx::query_scalar!(
        "select id from pipelines where org_id = $1 and id = $2 for update",
        scope.org_id.0,
        id.0
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound)?;
    Ok(())
}

/// The pipeline's stages in order: (id, kind).
async fn stage_order(
    tx: &mut Tx,
    scope: &Scope,
    id: PipelineId,
) -> Result<Vec<(StageId, StageKind)>> {
    let rows = sqlx::query!(
        r#"select id, kind as "kind: StageKind" from pipeline_stages where org_id = $1 and pipeline_id = $2
           order by position"#,
        scope.org_id.0,
        id.0
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|r| (StageId(r.id), r.kind)).collect())
}

/// Writes positions 0..n in the given order (the unique constraint is checked at commit).
async fn renumber(tx: &mut Tx, scope: &Scope, order: &[StageId]) -> Result<()> {
    let ids: Vec<uuid::Uuid> = order.iter().map(|s| s.0).collect();
    sqlx::query!(
        "update pipeline_stages s set position = o.n - 1
         from unnest($2::uuid[]) with ordinality as o(id, n)
         where s.org_id = $1 and s.id = o.id and s.position <> o.n - 1",
        scope.org_id.0,
        &ids
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_stage(
    tx: &mut Tx,
    scope: &Scope,
    pipeline: PipelineId,
    position: i32,
    s: &ValidStage,
) -> Result<StageId> {
    let id = StageId::new();
    sqlx::query!(
        "insert into pipeline_stages (id, org_id, pipeline_id, name, position, probability, kind, rot_days)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
        id.0,
        scope.org_id.0,
        pipeline.0,
        s.name,
        position,
        s.probability,
        s.kind.as_str(),
        s.rot_days,
    )
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Creates a pipeline with the given stages (the default six when none are given).
#[tracing::instrument(name = "pipelines::create", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn create(
    pool: &sqlx::PgPool,
    scope: &Scope,
    input: &PipelineInput,
) -> Result<Done<Pipeline>> {
    scope.require(Action::ConfigurePipelines)?;
    let (name, stages) = input.parse()?;
    let stages = stages.unwrap_or_else(|| {
        DEFAULT_STAGES
            .iter()
            .map(|(n, p, k)| ValidStage {
                name: (*n).to_owned(),
                probability: *p,
                kind: *k,
                rot_days: None,
            })
            .collect()
    });
    let mut work = scope.write(pool).await?;
    let id = PipelineId::new();
    sqlx::query!(
        "insert into pipelines (id, org_id, name, position)
         values ($1, $2, $3, (select coalesce(max(position) + 1, 0) from pipelines where org_id = $2))",
        id.0,
        scope.org_id.0,
        name
    )
    .execute(&mut **work)
    .await
    .on_constraint("pipelines_name_key", name_taken)?;
    for (i, s) in stages.iter().enumerate() {
        insert_stage(&mut work, scope, id, i as i32, s).await?;
    }
    let names: Vec<&str> = stages.iter().map(|s| s.name.as_str()).collect();
    work.audit(
        "pipeline.created",
        "pipeline",
        Some(id.0),
        json!({"name": name, "stages": names}),
    )
    .await?;
    let pipeline = load_one(&mut work, scope, id).await?;
    work.finish(pipeline).await
}

/// Renames a pipeline or moves it among the workspace's pipelines.
#[tracing::instrument(name = "pipelines::update", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn update(
    pool: &sqlx::PgPool,
    scope: &Scope,
    id: PipelineId,
    patch: &PipelinePatch,
) -> Result<Done<Pipeline>> {
    scope.require(Action::ConfigurePipelines)?;
    let mut v = crate::domain::Validator::new();
    let name = patch
        .name
        .as_deref()
        .and_then(|n| v.check("name", crate::model::pipelines_stage_name(n)));
    v.finish(|| Some(()))?;
    let mut work = scope.write(pool).await?;
    lock(&mut work, scope, id).await?;
    let before = sqlx::query!(
        "select name, position from pipelines where org_id = $1 and id = $2",
        scope.org_id.0,
        id.0
    )
    .fetch_one(&mut **work)
    .await?;
    sqlx::query!(
        "update pipelines set name = coalesce($3, name), position = coalesce($4, position)
         where org_id = $1 and id = $2",
        scope.org_id.0,
        id.0,
        name,
        patch.position,
    )
    .execute(&mut **work)
    .await
    .on_constraint("pipelines_name_key", name_taken)?;
    work.audit("pipeline.updated",
        "pipeline",
        Some(id.0),
        json!({"name": {"from": before.name, "to": name.as_deref().unwrap_or(&before.name)},
               "position": {"from": before.position, "to": patch.position.unwrap_or(before.position)}}),
    )
    .await?;
    let pipeline = load_one(&mut work, scope, id).await?;
    work.finish(pipeline).await
}

/// Deletes a pipeline that holds no deals; a workspace always keeps one.
#[tracing::instrument(name = "pipelines::delete", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn delete(pool: &sqlx::PgPool, scope: &Scope, id: PipelineId) -> Result<Done<()>> {
    scope.require(Action::ConfigurePipelines)?;
    let mut work = scope.write(pool).await?;
    lock(&mut work, scope, id).await?;
    // Through the pipeline's stages: each is one probe of deals_stage_position_idx.
    let deals = sqlx::query_scalar!(
        r#"select count(*) as "n!" from pipeline_stages s
           join deals d on d.org_id = s.org_id and d.stage_id = s.id
           where s.org_id = $1 and s.pipeline_id = $2"#,
        scope.org_id.0,
        id.0
    )
    .fetch_one(&mut **work)
    .await?;
    if deals > 0 {
        return Err(Error::Conflict(format!(
            "this pipeline still holds {deals} deal(s); move or delete them first"
        )));
    }
    let others = sqlx::query_scalar!(
        r#"select count(*) as "n!" from pipelines where org_id = $1 and id <> $2"#,
        scope.org_id.0,
        id.0
    )
    .fetch_one(&mut **work)
    .await?;
    if others == 0 {
        return Err(Error::Conflict(
            "a workspace keeps at least one pipeline".into(),
        ));
    }
    let name = sqlx::query_scalar!(
        "delete from pipelines where org_id = $1 and id = $2 returning name",
        scope.org_id.0,
        id.0
    )
    .fetch_one(&mut **work)
    .await?;
    work.audit(
        "pipeline.deleted",
        "pipeline",
        Some(id.0),
        json!({"name": name}),
    )
    .await?;
    work.finish(()).await
}

/// Where a stage lives and what it is.
struct StageRow {
    pipeline: PipelineId,
    name: String,
    probability: i16,
    kind: StageKind,
    rot_days: Option<i32>,
}

async fn stage_row(tx: &mut Tx, scope: &Scope, id: StageId) -> Result<StageRow> {
    let r = sqlx::query!(
        r#"select pipeline_id, name, probability, kind as "kind: StageKind", rot_days from pipeline_stages
           where org_id = $1 and id = $2"#,
        scope.org_id.0,
        id.0
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound)?;
    Ok(StageRow {
        pipeline: PipelineId(r.pipeline_id),
        name: r.name,
        probability: r.probability,
        kind: r.kind,
        rot_days: r.rot_days,
    })
}

fn stage_of(p: Pipeline, id: StageId) -> Result<Stage> {
    p.stages
        .into_iter()
        .find(|s| s.id == id)
        .ok_or(Error::NotFound)
}

/// Adds a stage to a pipeline, at `position`; without one, an open stage goes before the won and lost stages and a
/// closed one at the end.
#[tracing::instrument(name = "pipelines::add_stage", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn add_stage(
    pool: &sqlx::PgPool,
    scope: &Scope,
    pipeline: PipelineId,
    input: &StageInput,
) -> Result<Done<Stage>> {
    scope.require(Action::ConfigurePipelines)?;
    let stage = input.parse()?;
    let mut work = scope.write(pool).await?;
    lock(&mut work, scope, pipeline).await?;
    let stages = stage_order(&mut work, scope, pipeline).await?;
    if stages.len() >= 30 {
        return Err(Error::Conflict("a pipeline has at most 30 stages".into()));
    }
    // Without a position, an open stage goes before the first won or lost stage (where a board shows the open
    // ones), and a closed one at the end.
    let natural = match stage.kind {
        StageKind::Open => stages
            .iter()
            .position(|(_, k)| *k != StageKind::Open)
            .unwrap_or(stages.len()),
        _ => stages.len(),
    };
    let mut order: Vec<StageId> = stages.into_iter().map(|(id, _)| id).collect();
    let at = input
        .position
        .map_or(natural, |p| (p.max(0) as usize).min(order.len()));
    let id = insert_stage(&mut work, scope, pipeline, order.len() as i32, &stage).await?;
    order.insert(at, id);
    renumber(&mut work, scope, &order).await?;
    work.audit(
        "stage.created",
        "stage",
        Some(id.0),
        json!({"pipeline_id": pipeline, "name": stage.name, "kind": stage.kind.as_str(),
               "probability": stage.probability, "rot_days": stage.rot_days, "position": at}),
    )
    .await?;
    let stage = stage_of(load_one(&mut work, scope, pipeline).await?, id)?;
    work.finish(stage).await
}

/// Renames a stage, changes its default probability or rot days, or moves it within its pipeline.
#[tracing::instrument(name = "pipelines::update_stage", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn update_stage(
    pool: &sqlx::PgPool,
    scope: &Scope,
    id: StageId,
    patch: &StagePatch,
) -> Result<Done<Stage>> {
    use crate::model::{pipelines_probability, pipelines_rot_days, pipelines_stage_name};
    scope.require(Action::ConfigurePipelines)?;
    let mut v = crate::domain::Validator::new();
    let name = patch
        .name
        .as_deref()
        .and_then(|n| v.check("name", pipelines_stage_name(n)));
    let probability = patch
        .probability
        .and_then(|p| v.check("probability", pipelines_probability(p)));
    let rot_days = match patch.rot_days {
        None => None,
        Some(None) => Some(None),
        Some(Some(d)) => v.check("rot_days", pipelines_rot_days(d)).map(Some),
    };
    v.finish(|| Some(()))?;
    let mut work = scope.write(pool).await?;
    let before = stage_row(&mut work, scope, id).await?;
    lock(&mut work, scope, before.pipeline).await?;
    if probability.is_some() && before.kind != StageKind::Open {
        return Err(Error::field(
            "probability",
            "a won stage is always 100 % and a lost one 0 %",
        ));
    }
    sqlx::query!(
        "update pipeline_stages set name = coalesce($3, name), probability = coalesce($4, probability),
             rot_days = case when $5 then $6 else rot_days end
         where org_id = $1 and id = $2",
        scope.org_id.0,
        id.0,
        name,
        probability,
        rot_days.is_some(),
        rot_days.flatten(),
    )
    .execute(&mut **work)
    .await?;
    if let Some(p) = patch.position {
        let mut order: Vec<StageId> = stage_order(&mut work, scope, before.pipeline)
            .await?
            .into_iter()
            .map(|(s, _)| s)
            .filter(|s| *s != id)
            .collect();
        order.insert((p.max(0) as usize).min(order.len()), id);
        renumber(&mut work, scope, &order).await?;
    }
    work.audit("stage.updated",
        "stage",
        Some(id.0),
        json!({"name": {"from": before.name, "to": name.as_deref().unwrap_or(&before.name)},
               "probability": {"from": before.probability, "to": probability.unwrap_or(before.probability)},
               "rot_days": {"from": before.rot_days, "to": rot_days.unwrap_or(before.rot_days)},
               "position": patch.position}),
    )
    .await?;
    let stage = stage_of(load_one(&mut work, scope, before.pipeline).await?, id)?;
    work.finish(stage).await
}

/// Deletes a stage. One that holds deals needs `move_to`: another stage of the same pipeline and of the same kind
/// (open deals stay open, won stay won, lost stay lost), where they join the end of the column in their order.
/// A pipeline keeps at least one open stage.
#[tracing::instrument(name = "pipelines::delete_stage", skip_all, fields(org.id = %scope.org_id, user.id = %scope.user_id))]
pub async fn delete_stage(
    pool: &sqlx::PgPool,
    scope: &Scope,
    id: StageId,
    move_to: Option<StageId>,
) -> Result<Done<()>> {
    scope.require(Action::ConfigurePipelines)?;
    let mut work = scope.write(pool).await?;
    let stage = stage_row(&mut work, scope, id).await?;
    lock(&mut work, scope, stage.pipeline).await?;
    let order = stage_order(&mut work, scope, stage.pipeline).await?;
    if stage.kind == StageKind::Open
        && order.iter().filter(|(_, k)| *k == StageKind::Open).count() == 1
    {
        return Err(Error::Conflict(
            "a pipeline keeps at least one open stage".into(),
        ));
    }
    let deals = sqlx::query!(
        "select id from deals where org_id = $1 and stage_id = $2 order by position, id",
        scope.org_id.0,
        id.0
    )
    .fetch_all(&mut **work)
    .await?;
    let mut changes = Vec::with_capacity(deals.len());
    if !deals.is_empty() {
        let Some(target) = move_to else {
            return Err(Error::field(
                "move_to",
                format!(
                    "this stage holds {} deal(s): say which stage they move to",
                    deals.len()
                ),
            ));
        };
        let fail = |m: &str| {
            let mut f = FieldErrors::new();
            f.insert("move_to".into(), m.into());
            Error::invalid(f)
        };
        if target == id {
            return Err(fail("must be another stage"));
        }
        match order.iter().find(|(s, _)| *s == target) {
            None => return Err(fail("is not a stage of this pipeline")),
            Some((_, kind)) if *kind != stage.kind => {
                return Err(fail(&format!(
                    "must be another {} stage",
                    stage.kind.as_str()
                )));
            }
            Some(_) => {}
        }
        let mut prev = super::deals::last_position(&mut work, scope, target).await?;
        for d in &deals {
            let next = super::deals::key_between(prev.as_ref(), None)?;
            let moved = sqlx::query!(
                "update deals set stage_id = $3, position = $4, stage_entered_at = now(), version = version + 1
                 where org_id = $1 and id = $2 returning pipeline_id, version",
                scope.org_id.0,
                d.id,
                target.0,
                next.as_str()
            )
            .fetch_one(&mut **work)
            .await?;
            changes.push(work.deal_change(
                moved.pipeline_id,
                d.id,
                target.0,
                moved.version,
                ChangeOp::Update,
            ));
            prev = Some(next);
        }
    }
    sqlx::query!(
        "delete from pipeline_stages where org_id = $1 and id = $2",
        scope.org_id.0,
        id.0
    )
    .execute(&mut **work)
    .await?;
    let rest: Vec<StageId> = order.iter().map(|(s, _)| *s).filter(|s| *s != id).collect();
    renumber(&mut work, scope, &rest).await?;
    work.audit("stage.deleted",
        "stage",
        Some(id.0),
        json!({"pipeline_id": stage.pipeline, "name": stage.name, "moved_deals": deals.len(), "move_to": move_to}),
    )
    .await?;
    work.changed(changes);
    work.finish(()).await
}
