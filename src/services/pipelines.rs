//! Pipelines and their stages (D-002).

use super::Scope;
use crate::Result;
use crate::db::Tx;
use crate::domain::{PipelineId, StageId, StageKind};
use crate::model::{Pipeline, Stage};

/// The pipeline every new workspace starts with (API.md, signup).
pub const DEFAULT_STAGES: [(&str, i16, StageKind); 6] = [
    ("Lead", 10, StageKind::Open),
    ("Qualified", 25, StageKind::Open),
    ("Proposal", 50, StageKind::Open),
    ("Negotiation", 75, StageKind::Open),
    ("Won", 100, StageKind::Won),
    ("Lost", 0, StageKind::Lost),
];

/// Creates the default "Sales" pipeline in the scope's workspace.
pub async fn create_default(tx: &mut Tx, scope: &Scope) -> Result<PipelineId> {
    let id = PipelineId::new();
    sqlx::query!(
        "insert into pipelines (id, org_id, name) values ($1, $2, 'Sales')",
        id.0,
        scope.org_id.0
    )
    .execute(&mut **tx)
    .await?;
    for (position, (name, probability, kind)) in DEFAULT_STAGES.iter().enumerate() {
        sqlx::query!(
            "insert into pipeline_stages (id, org_id, pipeline_id, name, position, probability, kind)
             values ($1, $2, $3, $4, $5, $6, $7)",
            StageId::new().0,
            scope.org_id.0,
            id.0,
            name,
            position as i32,
            probability,
            kind.as_str(),
        )
        .execute(&mut **tx)
        .await?;
    }
    super::audit::record(
        tx,
        scope,
        "pipeline.created",
        "pipeline",
        Some(id.0),
        serde_json::json!({"name": "Sales"}),
    )
    .await?;
    Ok(id)
}

/// Every pipeline of the workspace with its stages in order.
pub async fn list(pool: &sqlx::PgPool, scope: &Scope) -> Result<Vec<Pipeline>> {
    scope.require(crate::policy::Action::ReadWorkspace)?;
    let mut tx = scope.begin(pool).await?;
    let pipelines = sqlx::query!(
        "select id, name from pipelines where org_id = $1 order by position, name",
        scope.org_id.0
    )
    .fetch_all(&mut *tx)
    .await?;
    let stages = sqlx::query!(
        "select id, pipeline_id, name, position, probability, kind, rot_days from pipeline_stages
         where org_id = $1 order by pipeline_id, position",
        scope.org_id.0
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
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
                    kind: s.kind.parse().unwrap_or(StageKind::Open),
                    rot_days: s.rot_days,
                })
                .collect(),
        })
        .collect())
}
