//! `clearview`: the CRM's server and admin command line.

use std::io::BufRead;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use clearview::model::SignupInput;
use server::config::Config;
use server::embedded_pg::EmbeddedPostgres;
use server::seed::SeedArgs;
use server::{telemetry, web};
use sqlx::PgPool;

#[derive(Parser)]
#[command(name = "clearview", version, about = "Clearview CRM")]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the app (the default). Without DATABASE_URL: starts the embedded database and a demo workspace.
    Serve,
    /// Run the job worker alone (sending mail), for a separate process: `serve` runs one too. Any number may run, on
    /// any number of machines.
    Worker,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Fill a workspace with data: the demo workspace with sample data, or a benchmark workspace in bulk.
    ///
    /// --demo creates the demo workspace (demo@example.com / clearview-demo) if it does not exist and, while it has no
    /// contacts, adds about 200 contacts, 40 deals across the default pipeline and their calls, meetings and notes.
    ///
    /// --contacts, --deals and --activities fill the workspace of --org-email (signed up if unknown) up to those
    /// totals with set-based SQL, for benchmarks: a million contacts take about a minute. Meant for a throwaway
    /// database.
    Seed(SeedArgs),
    /// Create a person with a new workspace they administer. The password is read from CLEARVIEW_ADMIN_PASSWORD or
    /// the first line of standard input.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        organization: String,
    },
    /// Manage the embedded PostgreSQL cluster of the data directory.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
}

#[derive(Subcommand)]
enum DbCommand {
    /// Start (or reuse) the cluster, create the database, print its URL.
    Start {
        #[arg(long, default_value = "clearview")]
        database: String,
    },
    /// Stop the cluster.
    Stop,
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    telemetry::init(cli.config.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config).await,
        Command::Worker => {
            let (pool, pg) = database(&cli.config).await?;
            let worker = worker(&cli.config, &pool)?;
            worker.run(web::shutdown_signal()).await;
            pool.close().await;
            if let Some(pg) = pg {
                pg.stop()?;
            }
            Ok(())
        }
        Command::Migrate => {
            let (pool, _pg) = database(&cli.config).await?;
            pool.close().await;
            Ok(())
        }
        Command::Seed(args) => {
            let (pool, _pg) = database(&cli.config).await?;
            let outcome = server::seed::run(&pool, &args).await;
            pool.close().await;
            outcome
        }
        Command::CreateAdmin {
            email,
            name,
            organization,
        } => {
            let password = match std::env::var("CLEARVIEW_ADMIN_PASSWORD") {
                Ok(p) => p,
                Err(_) => std::io::stdin()
                    .lock()
                    .lines()
                    .next()
                    .transpose()?
                    .unwrap_or_default(),
            };
            let (pool, _pg) = database(&cli.config).await?;
            let input = SignupInput {
                email,
                password,
                name,
                organization_name: organization,
            };
            let outcome = clearview::services::users::signup(
                &pool,
                &input,
                None,
                clearview::services::users::Requester::Operator,
            )
            .await
            .map_err(|e| match e {
                clearview::Error::Validation { fields, .. } => {
                    anyhow::anyhow!("invalid input: {fields:?}")
                }
                other => anyhow::anyhow!(other),
            })?
            .finish_here(&pool)
            .await?;
            tracing::info!(user.id = %outcome.user.id, org.id = %outcome.organization.id, "admin created");
            Ok(())
        }
        Command::Db { command } => {
            let pg = EmbeddedPostgres::new(&cli.config.data_dir)?;
            match command {
                DbCommand::Start { database } => {
                    pg.start()?;
                    pg.ensure_database(&database).await?;
                    #[expect(clippy::print_stdout, reason = "the URL is this command's output")]
                    {
                        println!("{}", pg.url(&database));
                    }
                }
                DbCommand::Stop => pg.stop()?,
            }
            Ok(())
        }
    }
}

/// Connects to `DATABASE_URL`, or starts the embedded cluster; then migrates. The cluster handle is returned so the
/// caller can stop what it started.
async fn database(config: &Config) -> Result<(PgPool, Option<EmbeddedPostgres>)> {
    let (options, pg) = match &config.database_url {
        Some(url) => (
            url.parse()
                .context("DATABASE_URL is not a valid PostgreSQL URL")?,
            None,
        ),
        None => {
            let pg = EmbeddedPostgres::new(&config.data_dir)?;
            pg.start()?;
            pg.ensure_database("clearview").await?;
            (pg.connect_options("clearview"), Some(pg))
        }
    };
    let pool = clearview::db::connect(options, config.database_max_connections)
        .await
        .context("connecting to PostgreSQL")?;
    clearview::db::MIGRATOR
        .run(&pool)
        .await
        .context("running migrations")?;
    let unsafe_roles = clearview::db::unsafe_roles(&pool)
        .await
        .context("checking the database roles")?;
    if !unsafe_roles.is_empty() {
        anyhow::bail!(
            "refusing to start: the roles requests act as must be held by row-level security, but {}",
            unsafe_roles.join("; ")
        );
    }
    Ok((pool, pg))
}

/// The demo workspace and its sample data (see `server::seed`), on first start of the embedded database too.
async fn seed_demo(pool: &PgPool) -> Result<()> {
    server::seed::demo(pool).await
}

/// A job worker with the configured mailer.
fn worker(config: &Config, pool: &PgPool) -> Result<clearview::jobs::Worker> {
    let mailer = config.mailer()?;
    if matches!(mailer, clearview::jobs::Mailer::DevMailbox { .. }) {
        tracing::info!(dir = %config.dev_mailbox().display(), "no SMTP_URL: mail is kept in the dev mailbox");
    }
    Ok(clearview::jobs::Worker::new(
        pool.clone(),
        std::sync::Arc::new(mailer),
        clearview::jobs::WorkerSettings::default(),
    ))
}

/// Every five minutes, deletes expired sessions and throttle rows. A failure is logged and tried at the next turn.
async fn purge_expired(pool: PgPool) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(5 * 60));
    loop {
        every.tick().await;
        match clearview::db::purge_expired(&pool).await {
            Ok((sessions, throttle)) if sessions + throttle > 0 => {
                tracing::info!(sessions, throttle, "purged expired rows");
            }
            Ok(_) => {}
            Err(e) => {
                if let Some(cause) = e.cause() {
                    cause.log("purging expired rows failed");
                }
            }
        }
    }
}

async fn serve(config: Config) -> Result<()> {
    let (pool, pg) = database(&config).await?;
    if pg.is_some() {
        seed_demo(&pool).await?;
    }
    let leptos_options = web::leptos_options().context("reading the Leptos settings")?;
    let addr = config.listen_addr.unwrap_or(leptos_options.site_addr);
    let links = clearview::services::invites::Links {
        key: config.secret_key()?,
        base_url: config.public_url.clone().unwrap_or_else(|| {
            let host = if addr.ip().is_unspecified() {
                std::net::SocketAddr::from(([127, 0, 0, 1], addr.port()))
            } else {
                addr
            };
            format!("http://{host}")
        }),
    };
    let worker = worker(&config, &pool)?;
    let (stop_worker, worker_stopped) = tokio::sync::oneshot::channel::<()>();
    let wake = worker.wake();
    let working = tokio::spawn(worker.run(async {
        let _ = worker_stopped.await;
    }));
    let purging = tokio::spawn(purge_expired(pool.clone()));
    let (router, sealing) = web::app(
        pool.clone(),
        web::WebSettings::from_config(&config, leptos_options, links, wake, addr)?,
    )?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    tracing::info!("Clearview is serving at http://{addr}");
    web::serve(
        listener,
        router,
        web::shutdown_signal(),
        server::limits::Limits::default().header_read,
    )
    .await?;
    // The worker finishes the batch it holds (each SMTP attempt times out after 30 s); stopped before that, the jobs
    // it still held wait for their lease to run out, and a worker takes them again.
    let _ = stop_worker.send(());
    purging.abort();
    if tokio::time::timeout(std::time::Duration::from_secs(40), working)
        .await
        .is_err()
    {
        tracing::warn!("jobs: stopped mid-job; its lease runs out and another worker takes it");
    }
    // The last requests' audit entries are sealed before the pool closes. Should that take too long, they stay
    // committed and pending, and the workspace's next seal links them (D-017).
    if tokio::time::timeout(std::time::Duration::from_secs(10), sealing)
        .await
        .is_err()
    {
        tracing::warn!("audit: stopped before sealing every entry; the next seal links the rest");
    }
    pool.close().await;
    if let Some(pg) = pg {
        pg.stop()?;
    }
    Ok(())
}
