//! Configuring pipelines and their stages (admins): what `POST/PATCH /api/pipelines` and `/api/stages` send.

use serde::{Deserialize, Serialize};

use super::serde_opt;
use crate::domain::{StageId, StageKind, Validator, optional_text};

/// A new pipeline; without `stages` it gets the default six.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PipelineInput {
    pub name: String,
    pub stages: Option<Vec<StageInput>>,
}

/// A pipeline's new name and/or place among the workspace's pipelines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PipelinePatch {
    pub name: Option<String>,
    pub position: Option<i32>,
}

/// A new stage. `position` (0-based) inserts it there; absent, an open stage goes before the pipeline's won and lost
/// stages and a closed one at the end.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StageInput {
    pub name: String,
    pub probability: Option<i64>,
    pub kind: Option<String>,
    pub rot_days: Option<i64>,
    pub position: Option<i32>,
}

/// Changes to a stage; `rot_days: null` stops marking its deals stale. Its kind never changes (deals in it were
/// closed or kept open because of it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StagePatch {
    pub name: Option<String>,
    pub probability: Option<i64>,
    #[serde(
        deserialize_with = "serde_opt::double",
        skip_serializing_if = "Option::is_none"
    )]
    pub rot_days: Option<Option<i64>>,
    pub position: Option<i32>,
}

/// `DELETE /api/stages/{id}?move_to=`: where the stage's deals go.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StageDelete {
    pub move_to: Option<StageId>,
}

/// A checked stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidStage {
    pub name: String,
    pub probability: i16,
    pub kind: StageKind,
    pub rot_days: Option<i32>,
}

pub fn stage_name(s: &str) -> Result<String, String> {
    optional_text(s, 100)?.ok_or_else(|| "is required".to_string())
}

pub fn probability(p: i64) -> Result<i16, String> {
    if (0..=100).contains(&p) {
        Ok(p as i16)
    } else {
        Err("must be a whole percentage from 0 to 100".into())
    }
}

pub fn rot_days(d: i64) -> Result<i32, String> {
    if (1..=3650).contains(&d) {
        Ok(d as i32)
    } else {
        Err("must be a number of days from 1 to 3650".into())
    }
}

impl StageInput {
    /// Checks one stage; `prefix` names its place in a list (`stages.2.`) for the field errors.
    pub fn check(&self, v: &mut Validator, prefix: &str) -> Option<ValidStage> {
        let name = v.check(&format!("{prefix}name"), stage_name(&self.name));
        let kind = v.check(
            &format!("{prefix}kind"),
            self.kind.as_deref().unwrap_or("open").parse::<StageKind>(),
        );
        let default_probability = match kind {
            Some(StageKind::Won) => 100,
            Some(StageKind::Lost) => 0,
            _ => 10,
        };
        let probability = v.check(
            &format!("{prefix}probability"),
            probability(self.probability.unwrap_or(default_probability)),
        );
        let rot = v.check(
            &format!("{prefix}rot_days"),
            self.rot_days.map(rot_days).transpose(),
        );
        Some(ValidStage {
            name: name?,
            probability: probability?,
            kind: kind?,
            rot_days: rot?,
        })
    }

    pub fn parse(&self) -> crate::Result<ValidStage> {
        let mut v = Validator::new();
        let stage = self.check(&mut v, "");
        v.finish(|| stage)
    }
}

impl PipelineInput {
    pub fn parse(&self) -> crate::Result<(String, Option<Vec<ValidStage>>)> {
        let mut v = Validator::new();
        let name = v.check("name", stage_name(&self.name));
        let stages = self.stages.as_ref().map(|list| {
            if list.is_empty() || list.len() > 30 {
                v.check::<()>("stages", Err("must have from 1 to 30 stages".into()));
            }
            let checked: Vec<_> = list
                .iter()
                .enumerate()
                .map(|(i, s)| s.check(&mut v, &format!("stages.{i}.")))
                .collect();
            if !checked.iter().flatten().any(|s| s.kind == StageKind::Open) {
                v.check::<()>("stages", Err("needs at least one open stage".into()));
            }
            checked
        });
        v.finish(|| {
            Some((
                name?,
                match stages {
                    None => None,
                    Some(list) => Some(list.into_iter().collect::<Option<Vec<_>>>()?),
                },
            ))
        })
    }
}
