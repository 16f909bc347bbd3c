//! Members, invitations and the mail queue, as the settings pages and the REST API exchange them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{EmailAddress, Password, PersonName, Role, UserId, Validator};

/// One person of a workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user_id: UserId,
    pub name: String,
    pub email: String,
    pub role: Role,
    #[serde(with = "time::serde::rfc3339")]
    pub joined_at: OffsetDateTime,
}

/// `PATCH /api/organizations/{id}/members/{user_id}`: the member's new role.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoleInput {
    pub role: Role,
}

/// What the invitation form and `POST /api/organizations/{id}/invite` send.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct InviteInput {
    pub email: String,
    pub role: String,
}

/// The parsed form of [`InviteInput`]. Runs in the browser too.
pub struct ValidInvite {
    pub email: EmailAddress,
    pub role: Role,
}

impl ValidInvite {
    pub fn parse(input: &InviteInput) -> crate::Result<Self> {
        let mut v = Validator::new();
        let email = v.check("email", EmailAddress::parse(&input.email));
        let role = v.check("role", input.role.trim().parse::<Role>());
        v.finish(|| {
            Some(Self {
                email: email?,
                role: role?,
            })
        })
    }
}

/// Where an invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InviteState {
    /// Sent, not yet accepted, and its link still valid.
    Pending,
    /// Sent, not accepted, and its link past its expiry: resend it for a new one.
    Expired,
    Accepted,
    Revoked,
}

/// An invitation of a workspace, as admins see it (never its token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub state: InviteState,
    /// Who sent it; `None` once they left the workspace.
    pub invited_by: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub sent_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// What an invitation link shows before it is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitePreview {
    pub organization: String,
    pub email: String,
    pub role: Role,
    /// Whether the address already has an account (then the person signs in instead of creating one).
    pub has_account: bool,
}

/// `POST /api/invites/accept`: the token, and for a new account the name and password. An existing account gives its
/// password instead (or is already signed in).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AcceptInput {
    pub token: String,
    pub name: String,
    pub password: String,
}

/// The new account's fields of an [`AcceptInput`].
pub struct ValidNewAccount {
    pub name: PersonName,
    pub password: Password,
}

impl ValidNewAccount {
    pub fn parse(input: &AcceptInput) -> crate::Result<Self> {
        let mut v = Validator::new();
        let name = v.check("name", PersonName::parse(&input.name));
        let password = v.check("password", Password::parse(&input.password));
        v.finish(|| {
            Some(Self {
                name: name?,
                password: password?,
            })
        })
    }
}

/// Where a queued job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(
    feature = "ssr",
    derive(sqlx::Type),
    sqlx(type_name = "text", rename_all = "lowercase")
)]
pub enum JobStatus {
    /// Waiting for its turn (new, or between attempts).
    Queued,
    /// Held by a worker now.
    Running,
    Done,
    /// Failed every attempt; waits for an admin to retry it.
    Dead,
}

impl std::str::FromStr for JobStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "queued" => Ok(JobStatus::Queued),
            "running" => Ok(JobStatus::Running),
            "done" => Ok(JobStatus::Done),
            "dead" => Ok(JobStatus::Dead),
            _ => Err("must be one of queued, running, done, dead".into()),
        }
    }
}

/// A job of a workspace, as the mail page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub id: Uuid,
    pub kind: String,
    pub status: JobStatus,
    /// What it is about, for people: for mail, its recipient and subject.
    pub summary: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub last_error: Option<String>,
    /// When it runs next (queued) or ran last.
    #[serde(with = "time::serde::rfc3339")]
    pub run_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}
