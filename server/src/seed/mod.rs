//! `clearview seed`: data to look at and data to measure.
//!
//! - The demo workspace gets a small, realistic dataset written through the services, so every row passes the same
//!   validation as the UI and is audited like a person's work. Only its dates are moved into the past afterwards.
//! - A benchmark workspace gets as many contacts, open deals and activities as asked, written with set-based SQL
//!   (`generate_series`) inside the workspace's tenant transaction, so row-level security checks every row. Counts are
//!   targets: a second run tops the workspace up instead of doubling it.
//!
//! `demo` and `bulk` are those two; `names` is the vocabulary both draw from. What they share (the arguments, the
//! workspace they fill, its default pipeline, sealing at the end) is here.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use clearview::domain::{ContactId, DealId, Position, StageId, StageKind, UserId};
use clearview::model::{
    ActivityInput, AmountInput, ContactInput, DealForm, DealPatch, Pipeline, SignupInput,
};
use clearview::services::{Scope, activities, contacts, deals, organizations, pipelines, users};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;
use sqlx::{ConnectOptions, PgPool};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

mod bulk;
mod demo;
mod names;

use bulk::bulk;
pub use demo::demo;

/// The login the demo workspace is created with (local, embedded database only).
pub const DEMO_EMAIL: &str = "demo@example.com";
pub const DEMO_PASSWORD: &str = "clearview-demo";

/// Contacts written per statement (and per transaction) by the bulk seeder.
const CONTACT_BATCH: i64 = 50_000;
/// Connections the bulk seeder writes contacts over at the same time.
const BULK_CONNECTIONS: usize = 2;

/// How long each open stage lets a deal sit idle before it shows as stale, when the stage has no rule yet.
const ROT_DAYS: [(&str, i32); 4] = [
    ("Lead", 21),
    ("Qualified", 14),
    ("Proposal", 10),
    ("Negotiation", 7),
];

#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Examples:
  clearview seed --demo
      Create demo@example.com / clearview-demo with its workspace, and fill it with about 200 contacts, 40 deals and
      their calls, meetings and notes. Nothing is added to a workspace that already has contacts.

  clearview seed --contacts 1000000 --deals 5000 --activities 200000
      Create (or reuse) the benchmark workspace of bench@example.com and top it up to 1,000,000 contacts, 5,000 open
      deals on its default pipeline and 200,000 activities, then vacuum and analyze the tables.

Counts are totals, not increments: running the same command twice adds nothing the second time.")]
pub struct SeedArgs {
    /// Create the demo workspace (demo@example.com / clearview-demo) if it does not exist, and give it sample
    /// contacts, deals and activities if it has no contacts yet.
    #[arg(long)]
    pub demo: bool,

    /// Bulk mode: make the benchmark workspace hold (at least) this many contacts.
    #[arg(long, value_name = "N")]
    pub contacts: Option<u64>,

    /// Bulk mode: make the benchmark workspace's default pipeline hold (at least) this many open deals, spread over its
    /// open stages, each linked to one of the newest contacts.
    #[arg(long, value_name = "N")]
    pub deals: Option<u64>,

    /// Bulk mode: make the benchmark workspace hold (at least) this many activities (calls, e-mails, meetings, notes,
    /// tasks) on its deals and contacts.
    #[arg(long, value_name = "N")]
    pub activities: Option<u64>,

    /// Bulk mode: the login of the benchmark workspace. Signed up with a new workspace if unknown; otherwise their
    /// first workspace is filled.
    #[arg(long, value_name = "EMAIL", default_value = "bench@example.com")]
    pub org_email: String,

    /// Bulk mode: the password the benchmark login is created with (at least 10 characters). Only used when the
    /// login does not exist yet.
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "CLEARVIEW_SEED_PASSWORD",
        default_value = "clearview-bench",
        hide_env_values = true
    )]
    pub password: String,
}

impl SeedArgs {
    fn bulk(&self) -> bool {
        self.contacts.is_some() || self.deals.is_some() || self.activities.is_some()
    }
}

/// Runs what the arguments ask for: the demo workspace, a benchmark workspace, or both.
pub async fn run(pool: &PgPool, args: &SeedArgs) -> Result<()> {
    if !args.demo && !args.bulk() {
        bail!("nothing to seed: pass --demo, or --contacts/--deals/--activities (see --help)");
    }
    if args.demo {
        demo(pool).await?;
    }
    if args.bulk() {
        bulk(pool, args).await?;
    }
    Ok(())
}

#[expect(clippy::print_stdout, reason = "the login is this command's output")]
fn say(line: &str) {
    println!("{line}");
}

/// The admin scope of `email`'s workspace: signed up now (with a new workspace), or their first existing one.
async fn workspace(
    pool: &PgPool,
    email: &str,
    password: &str,
    name: &str,
    organization: &str,
) -> Result<(Scope, bool)> {
    let input = SignupInput {
        email: email.into(),
        password: password.into(),
        name: name.into(),
        organization_name: organization.into(),
    };
    let fields = match users::signup(pool, &input, None, users::Requester::Operator).await {
        Ok(done) => {
            let outcome = done.finish_here(pool).await?;
            let scope = Scope {
                org_id: outcome.organization.id,
                user_id: outcome.user.id,
                role: outcome.role,
                request_id: None,
                session: None,
            };
            return Ok((scope, true));
        }
        Err(clearview::Error::Validation { fields, .. }) => fields,
        Err(e) => return Err(anyhow::anyhow!(e).context(format!("signing up {email}"))),
    };
    // Signing up fails validation for a known e-mail (reuse its workspace) and for bad input (report it).
    let user: Option<Uuid> = sqlx::query_scalar("select id from users where email = $1::citext")
        .bind(email.trim())
        .fetch_optional(pool)
        .await?;
    let Some(user) = user.map(UserId) else {
        bail!("cannot sign up {email}: {fields:?}");
    };
    let first = organizations::memberships(pool, user)
        .await
        .map_err(anyhow::Error::new)?
        .into_iter()
        .next()
        .with_context(|| format!("{email} is not a member of any workspace"))?;
    let scope = organizations::scope_for(pool, user, first.id, None)
        .await
        .map_err(anyhow::Error::new)?;
    Ok((scope, false))
}

async fn tenant(pool: &PgPool, scope: &Scope) -> Result<clearview::db::Tx> {
    Ok(clearview::db::tenant(pool, scope.org_id, Some(scope.user_id)).await?)
}

/// The workspace's first pipeline (the board shown by default), with its stages in order.
async fn default_pipeline(pool: &PgPool, scope: &Scope) -> Result<Pipeline> {
    pipelines::list(pool, scope)
        .await
        .map_err(anyhow::Error::new)?
        .into_iter()
        .next()
        .context("the workspace has no pipeline")
}

/// Gives the open stages of the default pipeline the rot days of [`ROT_DAYS`] where they have none, so idle deals
/// show as stale.
async fn ensure_rot_days(pool: &PgPool, scope: &Scope, pipeline: &Pipeline) -> Result<()> {
    let (names, days): (Vec<String>, Vec<i32>) =
        ROT_DAYS.iter().map(|(n, d)| ((*n).to_owned(), *d)).unzip();
    let mut tx = tenant(pool, scope).await?;
    sqlx::query(
        "update pipeline_stages s set rot_days = r.days
         from unnest($3::text[], $4::int[]) as r(name, days)
         where s.org_id = $1 and s.pipeline_id = $2 and s.name = r.name and s.kind = 'open' and s.rot_days is null",
    )
    .bind(scope.org_id.0)
    .bind(pipeline.id.0)
    .bind(&names)
    .bind(&days)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Links the audit entries the seed wrote into the workspace's chain. A server seals after each request; the seed
/// runs outside any request (from the command line, or before `serve` starts listening), so it seals once, at the end.
async fn seal(pool: &PgPool, scope: &Scope) -> Result<()> {
    clearview::services::audit::seal(pool, scope.org_id)
        .await
        .context("sealing the workspace's audit log")?;
    Ok(())
}
