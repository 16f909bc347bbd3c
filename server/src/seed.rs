//! `clearview seed`: data to look at and data to measure.
//!
//! - The demo workspace gets a small, realistic dataset written through the services, so every row passes the same
//!   validation as the UI and is audited like a person's work. Only its dates are moved into the past afterwards.
//! - A benchmark workspace gets as many contacts, open deals and activities as asked, written with set-based SQL
//!   (`generate_series`) inside the workspace's tenant transaction, so row-level security checks every row. Counts are
//!   targets: a second run tops the workspace up instead of doubling it.

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
    let fields = match users::signup(pool, &input, None).await {
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

// Sample vocabulary --------------------------------------------------------------------------------------------------

const FIRST_NAMES: [&str; 120] = [
    "Ada",
    "Adrian",
    "Aisha",
    "Alba",
    "Alejandro",
    "Alice",
    "Amara",
    "Amelia",
    "Anders",
    "Andrea",
    "Anna",
    "Antoine",
    "Arjun",
    "Astrid",
    "Ayumi",
    "Beatriz",
    "Ben",
    "Bianca",
    "Camille",
    "Carlos",
    "Caroline",
    "Chen",
    "Chiara",
    "Chloé",
    "Claire",
    "Daniel",
    "David",
    "Diego",
    "Dmitri",
    "Elena",
    "Elif",
    "Elise",
    "Emil",
    "Emma",
    "Eva",
    "Fatima",
    "Felix",
    "Finn",
    "Francesca",
    "Gabriel",
    "Grace",
    "Hana",
    "Hannah",
    "Hugo",
    "Ibrahim",
    "Ines",
    "Ingrid",
    "Isabel",
    "Ivan",
    "Jakob",
    "James",
    "Jan",
    "Javier",
    "Jonas",
    "José",
    "Julia",
    "Julien",
    "Kai",
    "Karin",
    "Katarzyna",
    "Kenji",
    "Laila",
    "Lars",
    "Laura",
    "Leo",
    "Léa",
    "Lena",
    "Liam",
    "Lina",
    "Lucas",
    "Lucía",
    "Luis",
    "Maja",
    "Marco",
    "Margaux",
    "Maria",
    "Marta",
    "Mateo",
    "Matilda",
    "Max",
    "Maya",
    "Mehmet",
    "Mia",
    "Mikael",
    "Nadia",
    "Naomi",
    "Nico",
    "Nina",
    "Noah",
    "Nora",
    "Olivia",
    "Omar",
    "Oscar",
    "Paul",
    "Pedro",
    "Petra",
    "Pierre",
    "Priya",
    "Rafael",
    "Rania",
    "Rosa",
    "Ruben",
    "Sakura",
    "Samuel",
    "Sara",
    "Sebastian",
    "Sofia",
    "Sophie",
    "Søren",
    "Tariq",
    "Thomas",
    "Tomás",
    "Valentina",
    "Victor",
    "Wei",
    "Yara",
    "Yusuf",
    "Zara",
    "Zoë",
    "Łukasz",
];

const LAST_NAMES: [&str; 120] = [
    "Abbott",
    "Adeyemi",
    "Almeida",
    "Andersen",
    "Bauer",
    "Becker",
    "Bennett",
    "Berg",
    "Bernard",
    "Bianchi",
    "Brandt",
    "Brown",
    "Castro",
    "Chen",
    "Clarke",
    "Costa",
    "Dahl",
    "Dubois",
    "Dupont",
    "Eriksson",
    "Esposito",
    "Evans",
    "Fernández",
    "Fischer",
    "Fontaine",
    "García",
    "Gómez",
    "Graham",
    "Haas",
    "Hansen",
    "Hartmann",
    "Hoffmann",
    "Horvat",
    "Hughes",
    "Ibrahim",
    "Ivanova",
    "Jansen",
    "Jensen",
    "Johansson",
    "Kaya",
    "Keller",
    "Khan",
    "Kim",
    "Koch",
    "Kowalski",
    "Krause",
    "Larsen",
    "Laurent",
    "Lefebvre",
    "Lehmann",
    "Lindqvist",
    "López",
    "Lovelace",
    "Maier",
    "Marino",
    "Martin",
    "Meyer",
    "Moreau",
    "Müller",
    "Murphy",
    "Nakamura",
    "Nielsen",
    "Novak",
    "Nowak",
    "O'Brien",
    "Okafor",
    "Olsen",
    "Park",
    "Patel",
    "Peeters",
    "Pereira",
    "Petrov",
    "Quinn",
    "Ramos",
    "Reyes",
    "Ricci",
    "Richter",
    "Roberts",
    "Romano",
    "Rossi",
    "Russo",
    "Sato",
    "Schäfer",
    "Schmidt",
    "Schneider",
    "Schulz",
    "Silva",
    "Singh",
    "Smith",
    "Sørensen",
    "Suzuki",
    "Svensson",
    "Tanaka",
    "Taylor",
    "Thomas",
    "Torres",
    "Vargas",
    "Varga",
    "Vasquez",
    "Visser",
    "Vogel",
    "Wagner",
    "Walsh",
    "Wang",
    "Weber",
    "Williams",
    "Wilson",
    "Wolf",
    "Wright",
    "Yamamoto",
    "Yilmaz",
    "Young",
    "Zhang",
    "Zimmermann",
    "da Costa",
    "de Vries",
    "van Dijk",
    "van der Berg",
    "Öztürk",
    "Żak",
];

const COMPANIES: [&str; 80] = [
    "Northwind Traders",
    "Contoso Pharmaceuticals",
    "Fabrikam Logistics",
    "Tailspin Toys",
    "Wide World Importers",
    "Adventure Works Cycles",
    "Blue Yonder Airlines",
    "Coho Winery",
    "Alpine Ski House",
    "Litware Systems",
    "Proseware Analytics",
    "Lucerne Publishing",
    "Margie's Travel",
    "Trey Research",
    "Woodgrove Bank",
    "Fourth Coffee",
    "Graphic Design Institute",
    "Humongous Insurance",
    "Southridge Video",
    "City Power & Light",
    "Nordlicht Energie",
    "Helix Biotech",
    "Brightline Solar",
    "Kestrel Robotics",
    "Meridian Health",
    "Aurora Textiles",
    "Bluefin Maritime",
    "Cobalt Mining",
    "Dunmore Foods",
    "Evergreen Packaging",
    "Falcon Freight",
    "Granite Construction Group",
    "Harbor Analytics",
    "Ironbridge Capital",
    "Juniper Clinics",
    "Keystone Hotels",
    "Lumen Optics",
    "Monarch Furniture",
    "Nimbus Cloud Services",
    "Orchard Retail",
    "Pinnacle Telecom",
    "Quarry Stoneworks",
    "Redwood Publishing",
    "Sapphire Jewellers",
    "Tidewater Shipping",
    "Umbra Security",
    "Vantage Media",
    "Westbrook Schools",
    "Xenon Semiconductors",
    "Yellowstone Outfitters",
    "Zephyr Airways",
    "Atlas Engineering",
    "Beacon Legal",
    "Cascade Water",
    "Delta Dental Labs",
    "Ember Studios",
    "Fjord Seafood",
    "Glacier Cold Chain",
    "Horizon Real Estate",
    "Indigo Fashion",
    "Jade Garden Restaurants",
    "Kite Software",
    "Lighthouse Consulting",
    "Maple Leaf Dairy",
    "Nova Pharma",
    "Oasis Spas",
    "Polar Data",
    "Quantum Labs",
    "Riverbend Farms",
    "Summit Outdoor",
    "Terra Cotta Ceramics",
    "Urban Mobility",
    "Velvet Cosmetics",
    "Willow Care Homes",
    "Xylo Instruments",
    "Yarrow Botanicals",
    "Zenith Printing",
    "Alder & Finch Architects",
    "Brückner Maschinenbau",
    "Côte Vineyards",
];

const TITLES: [&str; 30] = [
    "CEO",
    "CFO",
    "COO",
    "CTO",
    "Founder",
    "Managing Director",
    "Head of Sales",
    "Head of Procurement",
    "Head of Operations",
    "Head of IT",
    "VP Marketing",
    "VP Engineering",
    "Sales Manager",
    "Account Manager",
    "Purchasing Manager",
    "Office Manager",
    "Operations Manager",
    "Marketing Manager",
    "Product Manager",
    "IT Manager",
    "Finance Director",
    "HR Director",
    "Project Manager",
    "Business Analyst",
    "Buyer",
    "Logistics Coordinator",
    "Executive Assistant",
    "Partner",
    "Consultant",
    "Facilities Manager",
];

const PRODUCTS: [&str; 16] = [
    "Annual licence",
    "Team plan, 25 seats",
    "Team plan, 50 seats",
    "Enterprise plan",
    "Pilot project",
    "Renewal",
    "Onboarding package",
    "Support upgrade",
    "Data migration",
    "Integration project",
    "Training days",
    "Expansion: new office",
    "Multi-year agreement",
    "Consulting retainer",
    "Hardware bundle",
    "Premium support",
];

/// Phone number prefixes of fictional or drama ranges, per country.
const PHONE_PREFIXES: [&str; 6] = [
    "+44 20 7946 ",
    "+49 30 5550 ",
    "+33 1 99 00 ",
    "+1 415 555 ",
    "+31 20 555 ",
    "+46 8 555 ",
];

const PERSONAL_DOMAINS: [&str; 3] = ["mail.example", "post.example", "inbox.example"];

/// Accented letters and their plain spelling for e-mail addresses (same number of characters on both sides).
const FOLD_FROM: &str = "áàâäãåçéèêëíìîïñóòôöõøúùûüýÿłśšźżæ";
const FOLD_TO: &str = "aaaaaaceeeeiiiinoooooouuuuyylsszza";

/// A name as an e-mail address part: lower case, accents folded, only letters and digits.
fn mail_part(name: &str) -> String {
    let from: Vec<char> = FOLD_FROM.chars().collect();
    let to: Vec<char> = FOLD_TO.chars().collect();
    name.to_lowercase()
        .chars()
        .map(|c| from.iter().position(|f| *f == c).map_or(c, |i| to[i]))
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// A company's e-mail domain: `northwind-traders.example`.
fn company_domain(company: &str) -> String {
    let from: Vec<char> = FOLD_FROM.chars().collect();
    let to: Vec<char> = FOLD_TO.chars().collect();
    let slug: String = company
        .to_lowercase()
        .chars()
        .filter(|c| *c != '\'')
        .map(|c| from.iter().position(|f| *f == c).map_or(c, |i| to[i]))
        .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
        .collect();
    format!(
        "{}.example",
        slug.split_whitespace().collect::<Vec<_>>().join("-")
    )
}

fn rfc3339(t: OffsetDateTime) -> Result<String> {
    Ok(t.format(&Rfc3339)?)
}

// The demo workspace ------------------------------------------------------------------------------------------------

/// Creates the demo workspace if it does not exist, and fills it with sample data if it has no contacts yet.
pub async fn demo(pool: &PgPool) -> Result<()> {
    let (scope, _) = workspace(
        pool,
        DEMO_EMAIL,
        DEMO_PASSWORD,
        "Demo Admin",
        "Demo Workspace",
    )
    .await
    .context("creating the demo workspace")?;
    let mut tx = tenant(pool, &scope).await?;
    let has_contacts: bool =
        sqlx::query_scalar("select exists(select 1 from contacts where org_id = $1)")
            .bind(scope.org_id.0)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    if has_contacts {
        tracing::info!("the demo workspace already has data; nothing added");
    } else {
        let started = Instant::now();
        demo_data(pool, &scope)
            .await
            .context("filling the demo workspace")?;
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "demo workspace filled with sample contacts, deals and activities"
        );
    }
    seal(pool, &scope).await?;
    tracing::info!("demo workspace ready: sign in as {DEMO_EMAIL} with password {DEMO_PASSWORD}");
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

struct DemoContact {
    id: ContactId,
    name: String,
    email: Option<String>,
    company: Option<String>,
}

struct DemoDeal {
    id: DealId,
    contact: usize,
    kind: StageKind,
    /// Days since the deal entered its stage.
    entered_days: i64,
    stale: bool,
}

async fn demo_data(pool: &PgPool, scope: &Scope) -> Result<()> {
    let mut rng = StdRng::seed_from_u64(20_261_122);
    let now = OffsetDateTime::now_utc();
    let pipeline = default_pipeline(pool, scope).await?;
    ensure_rot_days(pool, scope, &pipeline).await?;
    let pipeline = default_pipeline(pool, scope).await?;

    // About 200 people at 40 companies (a few without one), every name pair used once.
    let mut pairs: Vec<(usize, usize)> = (0..FIRST_NAMES.len())
        .flat_map(|f| (0..LAST_NAMES.len()).map(move |l| (f, l)))
        .collect();
    pairs.shuffle(&mut rng);
    let mut people = Vec::with_capacity(200);
    for (f, l) in pairs.into_iter().take(200) {
        let (first, last) = (FIRST_NAMES[f], LAST_NAMES[l]);
        let company = rng
            .gen_ratio(9, 10)
            .then(|| COMPANIES[rng.gen_range(0..40)].to_owned());
        let domain = company.as_deref().map_or_else(
            || PERSONAL_DOMAINS[rng.gen_range(0..PERSONAL_DOMAINS.len())].to_owned(),
            company_domain,
        );
        let local = match rng.gen_range(0..4) {
            0 => format!("{}{}", &mail_part(first)[..1], mail_part(last)),
            1 => mail_part(first),
            _ => format!("{}.{}", mail_part(first), mail_part(last)),
        };
        let email = rng.gen_ratio(23, 25).then(|| format!("{local}@{domain}"));
        let phone = rng.gen_ratio(3, 4).then(|| {
            format!(
                "{}{:04}",
                PHONE_PREFIXES[rng.gen_range(0..PHONE_PREFIXES.len())],
                rng.gen_range(0..10_000)
            )
        });
        let title = (company.is_some() && rng.gen_ratio(4, 5))
            .then(|| TITLES[rng.gen_range(0..TITLES.len())].to_owned());
        let input = ContactInput {
            first_name: first.into(),
            last_name: last.into(),
            email: email.clone(),
            phone,
            company: company.clone(),
            title,
            owner_id: None,
            version: None,
        };
        let contact = contacts::create(pool, scope, &input)
            .await
            .map_err(|e| anyhow::anyhow!("{e}: {:?}", e.fields()))?
            .finish_here(pool)
            .await?;
        people.push(DemoContact {
            id: contact.id,
            name: contact.full_name(),
            email,
            company,
        });
    }

    // 40 deals over the board: most early in the pipeline, a few won and lost; some idle past their stage's rot days.
    let stage = |name: &str| {
        pipeline
            .stages
            .iter()
            .find(|s| s.name == name)
            .with_context(|| format!("the default pipeline has no stage {name}"))
    };
    let open_first = pipeline
        .stages
        .iter()
        .find(|s| s.kind == StageKind::Open)
        .context("the default pipeline has no open stage")?;
    let plan: [(&str, usize); 6] = [
        ("Lead", 12),
        ("Qualified", 10),
        ("Proposal", 8),
        ("Negotiation", 5),
        ("Won", 3),
        ("Lost", 2),
    ];
    let with_company: Vec<usize> = (0..people.len())
        .filter(|i| people[*i].company.is_some())
        .collect();
    let mut buyers = with_company.clone();
    buyers.shuffle(&mut rng);
    let mut buyers = buyers.into_iter();
    let mut board = Vec::new();
    let mut open_count = 0;
    for (stage_name, count) in plan {
        let target = stage(stage_name)?;
        for _ in 0..count {
            let contact = buyers.next().context("not enough contacts for the deals")?;
            let person = &people[contact];
            let product = PRODUCTS[rng.gen_range(0..PRODUCTS.len())];
            let euros: i64 = rng.gen_range(4..=240) * 500;
            let expected_close = (matches!(stage_name, "Proposal" | "Negotiation")
                || rng.gen_ratio(1, 5))
                && target.kind == StageKind::Open;
            let form = DealForm {
                title: format!(
                    "{} – {product}",
                    person.company.as_deref().unwrap_or(&person.name)
                ),
                contact_id: Some(person.id),
                pipeline_id: Some(pipeline.id),
                // A deal cannot start lost: it is created open and then lost.
                stage_id: Some(if target.kind == StageKind::Lost {
                    open_first.id
                } else {
                    target.id
                }),
                amount: Some(AmountInput::Exact {
                    amount_minor: euros * 100,
                    currency: "EUR".into(),
                }),
                currency: None,
                probability: None,
                expected_close_date: expected_close
                    .then(|| (now.date() + time::Duration::days(rng.gen_range(7..90))).to_string()),
                owner_id: None,
            };
            let mut deal = deals::create(pool, scope, &form)
                .await
                .map_err(|e| anyhow::anyhow!("{e}: {:?}", e.fields()))?
                .finish_here(pool)
                .await?;
            if target.kind == StageKind::Lost {
                let reason = [
                    "Went with a competitor",
                    "No budget this year",
                    "Project cancelled",
                ][rng.gen_range(0..3)];
                let patch: DealPatch = serde_json::from_value(json!({
                    "version": deal.version,
                    "stage_id": target.id,
                    "lost_reason": reason,
                }))?;
                deal = deals::update(pool, scope, deal.id, &patch)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}: {:?}", e.fields()))?
                    .finish_here(pool)
                    .await?;
            }
            let rot = target.rot_days.map(i64::from);
            let (entered_days, stale) = match rot {
                Some(rot) if target.kind == StageKind::Open => {
                    open_count += 1;
                    // Every fifth open deal has been left alone for too long.
                    if open_count % 5 == 0 {
                        (rot + rng.gen_range(3..25), true)
                    } else {
                        (rng.gen_range(1..rot), false)
                    }
                }
                _ => (rng.gen_range(2..60), false),
            };
            board.push(DemoDeal {
                id: deal.id,
                contact,
                kind: target.kind,
                entered_days,
                stale,
            });
        }
    }

    // Dates as if the team had been working for a few months (writes no version: this is the seed, not an edit).
    let ids: Vec<Uuid> = board.iter().map(|d| d.id.0).collect();
    let entered: Vec<i32> = board.iter().map(|d| d.entered_days as i32).collect();
    let created: Vec<i32> = board
        .iter()
        .map(|d| (d.entered_days + rng.gen_range(0..45)) as i32)
        .collect();
    let mut tx = tenant(pool, scope).await?;
    sqlx::query(
        "update deals d set stage_entered_at = now() - make_interval(days => b.entered, hours => b.entered % 9),
             created_at = now() - make_interval(days => b.created, hours => b.entered % 9 + 1),
             closed_at = case when d.closed_at is not null then now() - make_interval(days => b.entered) end
         from unnest($2::uuid[], $3::int[], $4::int[]) as b(id, entered, created)
         where d.org_id = $1 and d.id = b.id",
    )
    .bind(scope.org_id.0)
    .bind(&ids)
    .bind(&entered)
    .bind(&created)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;

    // Calls, meetings and notes: recent ones on live deals, an old call on each stale one, a few on contacts alone.
    let outcomes = [
        ("connected", 120..2400),
        ("connected", 300..1800),
        ("voicemail", 20..60),
        ("no_answer", 0..1),
    ];
    for deal in &board {
        let person = &people[deal.contact];
        let days_ago = |rng: &mut StdRng| {
            if deal.stale {
                deal.entered_days + rng.gen_range(1..10)
            } else {
                rng.gen_range(0..deal.entered_days.clamp(1, 6))
            }
        };
        let log =
            |kind: &str, subject: String, body: Option<String>, at: OffsetDateTime, metadata| {
                ActivityInput {
                    kind: kind.into(),
                    deal_id: Some(deal.id),
                    contact_id: None,
                    subject,
                    body,
                    occurred_at: rfc3339(at).ok(),
                    metadata,
                }
            };
        let mut inputs = Vec::new();
        let (outcome, seconds) = outcomes[rng.gen_range(0..outcomes.len())].clone();
        let duration = rng.gen_range(seconds);
        let first_name = person.name.split(' ').next().unwrap_or(&person.name);
        inputs.push(log(
            "call",
            match outcome {
                "connected" => format!("Call with {first_name}"),
                _ => format!("Tried to reach {first_name}"),
            },
            (outcome == "connected")
                .then(|| "Walked through requirements and timeline.".to_owned()),
            now - time::Duration::days(days_ago(&mut rng))
                - time::Duration::hours(rng.gen_range(1..8)),
            json!({
                "duration_seconds": duration,
                "direction": if rng.gen_ratio(3, 4) { "outbound" } else { "inbound" },
                "outcome": outcome,
            }),
        ));
        if !deal.stale && deal.kind == StageKind::Open && rng.gen_ratio(1, 2) {
            let minutes = [30, 45, 60][rng.gen_range(0..3)];
            inputs.push(log(
                "meeting",
                format!(
                    "Demo for {}",
                    person.company.as_deref().unwrap_or(&person.name)
                ),
                None,
                now - time::Duration::days(days_ago(&mut rng))
                    - time::Duration::hours(rng.gen_range(1..8)),
                json!({
                    "attendees": [person.name, "Demo Admin"],
                    "location": if rng.gen_ratio(1, 2) { "Video call" } else { "Their office" },
                    "duration_minutes": minutes,
                }),
            ));
        }
        if !deal.stale && rng.gen_ratio(1, 3) {
            inputs.push(log(
                "note",
                "Next steps".into(),
                Some("Send the revised quote and a reference customer in their industry.".into()),
                now - time::Duration::days(days_ago(&mut rng)),
                json!({}),
            ));
        }
        for input in inputs {
            activities::create(pool, scope, &input)
                .await
                .map_err(|e| anyhow::anyhow!("{e}: {:?}", e.fields()))?
                .finish_here(pool)
                .await?;
        }
    }
    let on_deals: Vec<usize> = board.iter().map(|d| d.contact).collect();
    let loose: Vec<usize> = (0..people.len())
        .filter(|i| !on_deals.contains(i) && people[*i].email.is_some())
        .take(8)
        .collect();
    for (n, i) in loose.into_iter().enumerate() {
        let person = &people[i];
        let at =
            rfc3339(now - time::Duration::days(rng.gen_range(0..20)) - time::Duration::hours(3))?;
        let input = if n % 2 == 0 {
            ActivityInput {
                kind: "email".into(),
                deal_id: None,
                contact_id: Some(person.id),
                subject: "Introduction and product overview".into(),
                body: None,
                occurred_at: Some(at),
                metadata: json!({"to": [person.email], "opens": rng.gen_range(0..4)}),
            }
        } else {
            ActivityInput {
                kind: "note".into(),
                deal_id: None,
                contact_id: Some(person.id),
                subject: "Met at the trade fair".into(),
                body: Some("Interested in a pilot next quarter; follow up in a few weeks.".into()),
                occurred_at: Some(at),
                metadata: json!({}),
            }
        };
        activities::create(pool, scope, &input)
            .await
            .map_err(|e| anyhow::anyhow!("{e}: {:?}", e.fields()))?
            .finish_here(pool)
            .await?;
    }
    Ok(())
}

// Bulk data for benchmarks ------------------------------------------------------------------------------------------

/// A UUIDv7 (creation-ordered like the app's ids) for the timestamp `{at}`: the millisecond time in the first 48 bits
/// and version 7 over a random UUID.
fn uuid_v7_sql(at: &str) -> String {
    format!(
        "encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) placing \
         substring(int8send((extract(epoch from {at}) * 1000)::bigint) from 3) from 1 for 6), 52, 1), 53, 1), 'hex')::uuid"
    )
}

/// A deterministic pseudo-random non-negative number for row `{i}` (one stream per `seed`).
fn hash_sql(i: &str, seed: u32) -> String {
    format!("(hashint8extended({i}, {seed}) & 9223372036854775807)")
}

async fn bulk(pool: &PgPool, args: &SeedArgs) -> Result<()> {
    let started = Instant::now();
    let (scope, created) = workspace(
        pool,
        &args.org_email,
        &args.password,
        "Benchmark Admin",
        "Benchmark Workspace",
    )
    .await
    .context("creating the benchmark workspace")?;
    eprintln!(
        "seed: {} workspace {} of {}",
        if created { "created" } else { "reusing" },
        scope.org_id,
        args.org_email
    );
    let pipeline = default_pipeline(pool, &scope).await?;
    ensure_rot_days(pool, &scope, &pipeline).await?;

    // Its own connections, without the slow-statement log: every statement here is slow on purpose.
    let options = (*pool.connect_options())
        .clone()
        .disable_statement_logging();
    let bulk_pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(BULK_CONNECTIONS as u32)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(options)
        .await
        .context("connecting for the bulk writes")?;
    let filled = fill(&bulk_pool, &scope, &pipeline, args).await;
    bulk_pool.close().await;
    filled?;

    let mut tx = tenant(pool, &scope).await?;
    let (contacts, deals, activities): (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from contacts where org_id = $1),
                (select count(*) from deals where org_id = $1),
                (select count(*) from activities where org_id = $1)",
    )
    .bind(scope.org_id.0)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    seal(pool, &scope).await?;
    eprintln!(
        "seed: done in {:.1} s: {contacts} contacts, {deals} deals, {activities} activities",
        started.elapsed().as_secs_f64()
    );
    let login = if created {
        format!("{} / {}", args.org_email, args.password)
    } else {
        format!("{} (existing login, password unchanged)", args.org_email)
    };
    say(&format!("benchmark workspace ready: sign in as {login}"));
    Ok(())
}

/// The bulk writes, then vacuum (visibility map, the trigram index's pending list) and fresh statistics.
async fn fill(pool: &PgPool, scope: &Scope, pipeline: &Pipeline, args: &SeedArgs) -> Result<()> {
    if let Some(target) = args.contacts {
        bulk_contacts(pool, scope, i64::try_from(target)?).await?;
    }
    if let Some(target) = args.deals {
        bulk_deals(pool, scope, pipeline, i64::try_from(target)?).await?;
    }
    if let Some(target) = args.activities {
        bulk_activities(pool, scope, i64::try_from(target)?).await?;
    }
    let started = Instant::now();
    eprintln!("seed: vacuum and analyze");
    for table in ["contacts", "deals", "activities"] {
        sqlx::query(&format!("vacuum (analyze) {table}"))
            .execute(pool)
            .await
            .with_context(|| format!("vacuum analyze {table}"))?;
    }
    eprintln!(
        "seed: vacuum and analyze took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn count(pool: &PgPool, scope: &Scope, sql: &str) -> Result<i64> {
    let mut tx = tenant(pool, scope).await?;
    let n: i64 = sqlx::query_scalar(sql)
        .bind(scope.org_id.0)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(n)
}

/// Tops the workspace up to `target` contacts, `CONTACT_BATCH` rows per statement. Row `i` (1-based over the
/// workspace) is created `target - i` × 90 s before now, so the newest contact is the last one written.
async fn bulk_contacts(pool: &PgPool, scope: &Scope, target: i64) -> Result<()> {
    let existing = count(
        pool,
        scope,
        "select count(*) from contacts where org_id = $1",
    )
    .await?;
    if existing >= target {
        eprintln!("seed: contacts: {existing} already, none added");
        return Ok(());
    }
    let firsts: Vec<String> = FIRST_NAMES.iter().map(|s| (*s).to_owned()).collect();
    let lasts: Vec<String> = LAST_NAMES.iter().map(|s| (*s).to_owned()).collect();
    let companies: Vec<String> = COMPANIES.iter().map(|s| (*s).to_owned()).collect();
    let domains: Vec<String> = COMPANIES.iter().map(|s| company_domain(s)).collect();
    let titles: Vec<String> = TITLES.iter().map(|s| (*s).to_owned()).collect();
    let phones: Vec<String> = PHONE_PREFIXES.iter().map(|s| (*s).to_owned()).collect();
    let personal: Vec<String> = PERSONAL_DOMAINS.iter().map(|s| (*s).to_owned()).collect();
    // The database's lower() may only know ASCII (a C-locale cluster): fold capitals with accents explicitly.
    let fold_from = format!("{FOLD_FROM}{}", FOLD_FROM.to_uppercase());
    let fold_to = format!("{FOLD_TO}{FOLD_TO}");

    // r: one row's choices; the outer select assembles the contact from them.
    let sql = format!(
        "insert into contacts (id, org_id, first_name, last_name, email, phone, company, title, owner_id,
                               created_at, updated_at)
         select {id}, $1, r.first_name, r.last_name,
                case when r.h3 % 25 >= 2 then
                    case r.h3 % 4
                        when 0 then left(r.f, 1) || r.l
                        when 1 then r.f || r.h2 % 100
                        else r.f || '.' || r.l
                    end || '@' || coalesce(r.domain, ($9::text[])[1 + r.h1 % 3])
                end,
                case when r.h4 % 4 <> 0 then ($8::text[])[1 + r.h4 % 6] || lpad((r.h5 % 10000)::text, 4, '0') end,
                r.company,
                case when r.company is not null and r.h5 % 5 <> 0 then ($7::text[])[1 + r.h6 % 30] end,
                $2, r.at, r.at
         from (
             select g.i, g.at, g.first_name, g.last_name, g.h1, g.h2, g.h3, g.h4, g.h5, g.h6,
                    case when g.h1 % 10 <> 0 then ($5::text[])[1 + g.h2 % 80] end as company,
                    case when g.h1 % 10 <> 0 then ($6::text[])[1 + g.h2 % 80] end as domain,
                    regexp_replace(lower(translate(g.first_name, $10, $11)), '[^a-z0-9]', '', 'g') as f,
                    regexp_replace(lower(translate(g.last_name, $10, $11)), '[^a-z0-9]', '', 'g') as l
             from (
                 select i, now() - ($12 - i) * interval '90 seconds' as at,
                        ($3::text[])[1 + {h7} % 120] as first_name, ($4::text[])[1 + {h8} % 120] as last_name,
                        {h1} as h1, {h2} as h2, {h3} as h3, {h4} as h4, {h5} as h5, {h6} as h6
                 from generate_series($13::bigint, $14::bigint) as i
             ) g
         ) r",
        id = uuid_v7_sql("r.at"),
        h1 = hash_sql("i", 1),
        h2 = hash_sql("i", 2),
        h3 = hash_sql("i", 3),
        h4 = hash_sql("i", 4),
        h5 = hash_sql("i", 5),
        h6 = hash_sql("i", 6),
        h7 = hash_sql("i", 7),
        h8 = hash_sql("i", 8),
    );
    let job = Arc::new(ContactBatches {
        sql,
        scope: scope.clone(),
        target,
        texts: [firsts, lasts, companies, domains, titles, phones, personal],
        fold: [fold_from, fold_to],
    });
    eprintln!(
        "seed: contacts: {existing} already, adding {}",
        target - existing
    );
    // Batches go to two connections at a time: the writes are CPU-bound in the database (index maintenance).
    let started = Instant::now();
    let next = Arc::new(AtomicI64::new(existing + 1));
    let done = Arc::new(AtomicI64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..BULK_CONNECTIONS {
        let (pool, job, next, done) = (pool.clone(), job.clone(), next.clone(), done.clone());
        tasks.spawn(async move {
            loop {
                let first = next.fetch_add(CONTACT_BATCH, Ordering::Relaxed);
                if first > job.target {
                    return anyhow::Ok(());
                }
                let last = (first + CONTACT_BATCH - 1).min(job.target);
                job.insert(&pool, first, last).await?;
                let total = done.fetch_add(last - first + 1, Ordering::Relaxed) + last - first + 1;
                let secs = started.elapsed().as_secs_f64();
                eprintln!(
                    "seed: contacts: {}/{} ({secs:.1} s, {:.0} rows/s)",
                    existing + total,
                    job.target,
                    total as f64 / secs.max(0.001)
                );
            }
        });
    }
    while let Some(outcome) = tasks.join_next().await {
        outcome.context("a seeding task failed")??;
    }
    Ok(())
}

/// The bulk contact insert and its parameters, shared by the connections that run its batches.
struct ContactBatches {
    sql: String,
    scope: Scope,
    target: i64,
    /// First names, last names, companies, their domains, titles, phone prefixes, personal mail domains.
    texts: [Vec<String>; 7],
    /// Accented letters and their plain spelling.
    fold: [String; 2],
}

impl ContactBatches {
    /// Rows `first..=last` in one transaction of the workspace.
    async fn insert(&self, pool: &PgPool, first: i64, last: i64) -> Result<()> {
        let mut tx = tenant(pool, &self.scope).await?;
        // Fewer, larger flushes of the trigram index's pending list.
        sqlx::query("set local gin_pending_list_limit = '64MB'")
            .execute(&mut *tx)
            .await?;
        let mut query = sqlx::query(&self.sql)
            .bind(self.scope.org_id.0)
            .bind(self.scope.user_id.0);
        for list in &self.texts {
            query = query.bind(list);
        }
        query
            .bind(&self.fold[0])
            .bind(&self.fold[1])
            .bind(self.target)
            .bind(first)
            .bind(last)
            .execute(&mut *tx)
            .await
            .context("inserting contacts")?;
        tx.commit().await?;
        Ok(())
    }
}

/// Tops the default pipeline up to `target` open deals: 40 / 30 / 20 / 10 % over its open stages, appended at the end
/// of each column with the keys the board itself would make, each linked to one of the newest contacts.
async fn bulk_deals(pool: &PgPool, scope: &Scope, pipeline: &Pipeline, target: i64) -> Result<()> {
    let open: Vec<StageId> = pipeline
        .stages
        .iter()
        .filter(|s| s.kind == StageKind::Open)
        .map(|s| s.id)
        .collect();
    anyhow::ensure!(!open.is_empty(), "the default pipeline has no open stage");
    let mut tx = tenant(pool, scope).await?;
    let existing: i64 = sqlx::query_scalar(
        "select count(*) from deals d join pipeline_stages s on s.org_id = d.org_id and s.id = d.stage_id
         where d.org_id = $1 and d.pipeline_id = $2 and s.kind = 'open'",
    )
    .bind(scope.org_id.0)
    .bind(pipeline.id.0)
    .fetch_one(&mut *tx)
    .await?;
    if existing >= target {
        tx.commit().await?;
        eprintln!("seed: deals: {existing} open already, none added");
        return Ok(());
    }
    let add = target - existing;
    let weights: Vec<i64> = (0..open.len()).map(|i| (open.len() - i) as i64).collect();
    let total_weight: i64 = weights.iter().sum();
    let mut stage_ids = Vec::with_capacity(add as usize);
    let mut positions = Vec::with_capacity(add as usize);
    let mut left = add;
    for (n, (stage, weight)) in open.iter().zip(&weights).enumerate() {
        let k = if n + 1 == open.len() {
            left
        } else {
            add * weight / total_weight
        };
        left -= k;
        let mut key = deals::last_position(&mut tx, scope, *stage).await?;
        for _ in 0..k {
            let next = Position::between(key.as_ref(), None).map_err(|e| anyhow::anyhow!(e))?;
            stage_ids.push(stage.0);
            positions.push(next.as_str().to_owned());
            key = Some(next);
        }
    }
    let products: Vec<String> = PRODUCTS.iter().map(|s| (*s).to_owned()).collect();
    let sql = format!(
        "with picked as (
             select array_agg(id) as ids, array_agg(coalesce(company, first_name || ' ' || last_name)) as names,
                    count(*) as n
             from (select id, first_name, last_name, company from contacts where org_id = $1 order by id desc limit $6) c
         ), cards as (
             select d.stage_id, d.position, d.n,
                    now() - ({h1} % 120) * interval '1 day' - ({h2} % 86400) * interval '1 second' as entered,
                    {h3} as h3, {h4} as h4
             from unnest($4::uuid[], $5::text[]) with ordinality as d(stage_id, position, n)
         )
         insert into deals (id, org_id, pipeline_id, stage_id, contact_id, owner_id, title, amount_minor, currency,
                            position, expected_close, stage_entered_at, created_at, updated_at)
         select {id}, $1, $2, cards.stage_id, p.ids[1 + (cards.n - 1) % greatest(p.n, 1)], $3,
                coalesce(p.names[1 + (cards.n - 1) % greatest(p.n, 1)], 'New business')
                    || ' – ' || ($7::text[])[1 + cards.h3 % 16],
                (10 + cards.h4 % 490) * 50000, 'EUR', cards.position,
                case when cards.h3 % 3 = 0 then current_date + (7 + cards.h4 % 120)::int end,
                cards.entered, cards.entered - (cards.h4 % 30) * interval '1 day',
                cards.entered
         from cards cross join picked p",
        id = uuid_v7_sql("cards.entered - (cards.h4 % 30) * interval '1 day'"),
        h1 = hash_sql("d.n", 11),
        h2 = hash_sql("d.n", 12),
        h3 = hash_sql("d.n", 13),
        h4 = hash_sql("d.n", 14),
    );
    let started = Instant::now();
    let inserted = sqlx::query(&sql)
        .bind(scope.org_id.0)
        .bind(pipeline.id.0)
        .bind(scope.user_id.0)
        .bind(&stage_ids)
        .bind(&positions)
        .bind(add)
        .bind(&products)
        .execute(&mut *tx)
        .await
        .context("inserting deals")?
        .rows_affected();
    tx.commit().await?;
    eprintln!(
        "seed: deals: {existing} open already, added {inserted} over {} open stages ({:.1} s)",
        open.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Tops the workspace up to `target` activities over the last year: 60 % on a deal (and its contact), 40 % on one of
/// the newest 50,000 contacts alone. Calls carry duration, direction and outcome; e-mails, meetings and tasks their
/// details too, in the shapes the activity form validates.
async fn bulk_activities(pool: &PgPool, scope: &Scope, target: i64) -> Result<()> {
    let existing = count(
        pool,
        scope,
        "select count(*) from activities where org_id = $1",
    )
    .await?;
    if existing >= target {
        eprintln!("seed: activities: {existing} already, none added");
        return Ok(());
    }
    let people = count(
        pool,
        scope,
        "select count(*) from contacts where org_id = $1",
    )
    .await?;
    anyhow::ensure!(
        people > 0,
        "activities are logged against contacts and deals: seed --contacts first"
    );
    let sql = format!(
        "with d as (
             select array_agg(d.id) as ids, array_agg(d.contact_id) as contacts, array_agg(c.email::text) as emails,
                    array_agg(c.first_name) as names, count(*) as n
             from deals d left join contacts c on c.org_id = d.org_id and c.id = d.contact_id
             where d.org_id = $1
         ), c as (
             select array_agg(id) as ids, array_agg(email::text) as emails, array_agg(first_name) as names,
                    count(*) as n
             from (select id, email, first_name from contacts where org_id = $1 order by id desc limit 50000) s
         ), g as (
             select i, now() - ({h1} % (365 * 86400)) * interval '1 second' as at,
                    {h2} as h2, {h3} as h3, {h4} as h4, {h5} as h5
             from generate_series($3::bigint, $4::bigint) as i
         ), r as (
             select g.*, case when on_deal then d.ids[dk] end as deal_id,
                    case when on_deal then d.contacts[dk] else c.ids[ck] end as contact_id,
                    case when on_deal then d.emails[dk] else c.emails[ck] end as email,
                    coalesce(case when on_deal then d.names[dk] else c.names[ck] end, 'them') as first_name
             from g cross join d cross join c
             cross join lateral (
                 select g.h2 % 10 < 6 and d.n > 0 as on_deal,
                        1 + g.h3 % greatest(d.n, 1) as dk, 1 + g.h3 % greatest(c.n, 1) as ck
             ) pick
         ), k as (
             select r.*,
                    case
                        when r.h4 % 100 < 40 then 'call'
                        when r.h4 % 100 < 55 and r.email is not null then 'email'
                        when r.h4 % 100 < 70 then 'meeting'
                        when r.h4 % 100 < 90 then 'note'
                        else 'task'
                    end as kind,
                    case
                        when r.h5 % 100 < 55 then 'connected'
                        when r.h5 % 100 < 75 then 'voicemail'
                        when r.h5 % 100 < 90 then 'no_answer'
                        when r.h5 % 100 < 97 then 'busy'
                        else 'wrong_number'
                    end as outcome
             from r
         )
         insert into activities (id, org_id, kind, deal_id, contact_id, author_id, subject, body, occurred_at,
                                 metadata, created_at)
         select {id}, $1, k.kind, k.deal_id, k.contact_id, $2,
                case k.kind
                    when 'call' then case when k.outcome = 'connected' then 'Call with ' else 'Tried to reach ' end
                        || k.first_name
                    when 'email' then (array['Proposal sent', 'Follow-up', 'Pricing questions', 'Meeting recap'])
                        [1 + k.h2 % 4]
                    when 'meeting' then (array['Discovery meeting', 'Product demo', 'Quarterly review',
                        'Contract negotiation'])[1 + k.h2 % 4]
                    when 'note' then (array['Next steps', 'Budget confirmed', 'Decision maker identified',
                        'Competitor in the running'])[1 + k.h2 % 4]
                    else (array['Send the revised quote', 'Book a follow-up call', 'Prepare the contract'])
                        [1 + k.h2 % 3]
                end,
                case when k.kind = 'note' then 'Agreed to reconnect after their internal review.' end,
                k.at,
                case k.kind
                    when 'call' then jsonb_build_object(
                        'duration_seconds', case k.outcome
                            when 'connected' then 60 + k.h3 % 3540
                            when 'voicemail' then 15 + k.h3 % 60
                            else 0 end,
                        'direction', case when k.h4 % 10 < 6 then 'outbound' else 'inbound' end,
                        'outcome', k.outcome)
                    when 'email' then jsonb_build_object('to', jsonb_build_array(k.email), 'opens', k.h5 % 5)
                    when 'meeting' then jsonb_build_object(
                        'attendees', jsonb_build_array(k.first_name),
                        'location', case when k.h5 % 2 = 0 then 'Video call' else 'Their office' end,
                        'duration_minutes', (array[30, 45, 60, 90])[1 + k.h3 % 4])
                    when 'task' then jsonb_build_object(
                        'due_date', to_char(k.at + interval '7 days', 'YYYY-MM-DD'),
                        'done', k.at < now() - interval '7 days')
                    else '{{}}'::jsonb
                end,
                k.at
         from k",
        id = uuid_v7_sql("k.at"),
        h1 = hash_sql("i", 21),
        h2 = hash_sql("i", 22),
        h3 = hash_sql("i", 23),
        h4 = hash_sql("i", 24),
        h5 = hash_sql("i", 25),
    );
    let started = Instant::now();
    let mut tx = tenant(pool, scope).await?;
    sqlx::query("set local gin_pending_list_limit = '64MB'")
        .execute(&mut *tx)
        .await?;
    let inserted = sqlx::query(&sql)
        .bind(scope.org_id.0)
        .bind(scope.user_id.0)
        .bind(existing + 1)
        .bind(target)
        .execute(&mut *tx)
        .await
        .context("inserting activities")?
        .rows_affected();
    // A deal's latest activity is its latest sign of life (the board's staleness).
    sqlx::query(
        "update deals d set last_activity_at = a.last
         from (select deal_id, max(occurred_at) as last from activities where org_id = $1 and deal_id is not null
               group by deal_id) a
         where d.org_id = $1 and d.id = a.deal_id and d.last_activity_at is distinct from a.last",
    )
    .bind(scope.org_id.0)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    eprintln!(
        "seed: activities: {existing} already, added {inserted} ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_names_into_address_parts() {
        assert_eq!(FOLD_FROM.chars().count(), FOLD_TO.chars().count());
        assert_eq!(mail_part("Zoë"), "zoe");
        assert_eq!(mail_part("O'Brien"), "obrien");
        assert_eq!(mail_part("van der Berg"), "vanderberg");
        assert_eq!(mail_part("Łukasz"), "lukasz");
        assert_eq!(company_domain("Margie's Travel"), "margies-travel.example");
        assert_eq!(
            company_domain("City Power & Light"),
            "city-power-light.example"
        );
        assert_eq!(
            company_domain("Brückner Maschinenbau"),
            "bruckner-maschinenbau.example"
        );
    }

    #[test]
    fn every_sample_name_makes_a_valid_address() {
        for first in FIRST_NAMES {
            for last in LAST_NAMES.iter().take(20) {
                for company in COMPANIES {
                    let email = format!(
                        "{}.{}@{}",
                        mail_part(first),
                        mail_part(last),
                        company_domain(company)
                    );
                    assert!(
                        clearview::domain::EmailAddress::parse(&email).is_ok(),
                        "{email}"
                    );
                }
            }
        }
    }
}
