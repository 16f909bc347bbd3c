//! The shapes the REST API, the server functions and the browser exchange. They compile to WASM; the services in
//! `services/` produce them.

use serde::{Deserialize, Serialize};

use crate::domain::{
    EmailAddress, OrgId, OrgName, Password, PersonName, PipelineId, Role, StageId, StageKind,
    UserId, Validator,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
}

/// What the sign-up form and `POST /api/auth/signup` send.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SignupInput {
    pub email: String,
    pub password: String,
    pub name: String,
    pub organization_name: String,
}

/// The parsed form of [`SignupInput`]; `parse` reports every bad field at once. Runs in the browser too.
pub struct ValidSignup {
    pub email: EmailAddress,
    pub password: Password,
    pub name: PersonName,
    pub organization_name: OrgName,
}

impl ValidSignup {
    pub fn parse(input: &SignupInput) -> crate::Result<Self> {
        let mut v = Validator::new();
        let email = v.check("email", EmailAddress::parse(&input.email));
        let password = v.check("password", Password::parse(&input.password));
        let name = v.check("name", PersonName::parse(&input.name));
        let organization_name = v.check(
            "organization_name",
            OrgName::parse(&input.organization_name),
        );
        v.finish(|| {
            Some(Self {
                email: email?,
                password: password?,
                name: name?,
                organization_name: organization_name?,
            })
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignupOutcome {
    pub user: User,
    pub organization: Organization,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
}

/// One of a person's workspaces with their role in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub id: OrgId,
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    pub id: StageId,
    pub name: String,
    pub position: i32,
    pub probability: i16,
    pub kind: StageKind,
    pub rot_days: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pipeline {
    pub id: PipelineId,
    pub name: String,
    pub stages: Vec<Stage>,
}

mod activities;
mod contacts;
mod deals;
mod pipelines;
pub(crate) mod serde_opt;
mod team;

pub use activities::{Activity, ActivityInput, ActivityQuery, ValidActivity};
pub use contacts::{
    Contact, ContactInput, ContactPage, ContactQuery, ContactSort, SortDir, ValidContact,
    has_search_words,
};
pub use deals::{
    AmountInput, Board, BoardColumn, CurrencyTotal, Deal, DealForm, DealPatch, NewDeal,
    NumberInput, Page, ValidPatch, default_currency,
};
pub use pipelines::{
    PipelineInput, PipelinePatch, StageDelete, StageInput, StagePatch, ValidStage,
    probability as pipelines_probability, rot_days as pipelines_rot_days,
    stage_name as pipelines_stage_name,
};
pub use team::{
    AcceptInput, Invite, InviteInput, InvitePreview, InviteState, Job, JobStatus, Member,
    RoleInput, ValidInvite, ValidNewAccount,
};
