//! The embedded default database: a private PostgreSQL cluster in the data directory, started from the system's
//! `initdb` / `pg_ctl` / `postgres`, reachable only through a Unix socket (no TCP port).
//!
//! PostgreSQL refuses to run as root, so when this process is root the cluster's files belong to, and its processes
//! run as, the `postgres` system user.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sqlx::postgres::PgConnectOptions;

/// The database role and name the app uses inside the cluster.
pub const ROLE: &str = "clearview";

pub struct EmbeddedPostgres {
    bin_dir: PathBuf,
    data_dir: PathBuf,
    socket_dir: PathBuf,
    log_file: PathBuf,
    run_as: Option<(u32, u32)>,
}

impl EmbeddedPostgres {
    /// Describes the cluster kept under `root` (nothing is started yet).
    pub fn new(root: &Path) -> Result<Self> {
        let root = std::path::absolute(root).context("resolving the data directory")?;
        let bin_dir = find_bin_dir()?;
        let run_as = if nix::unistd::geteuid().is_root() {
            let user = nix::unistd::User::from_name("postgres")
                .context("looking up the postgres system user")?
                .context("running as root needs the 'postgres' system user (PostgreSQL refuses to run as root)")?;
            Some((user.uid.as_raw(), user.gid.as_raw()))
        } else {
            None
        };
        let pg_root = root.join("postgres");
        // A Unix socket path is limited to ~107 bytes; deep checkouts get a short directory under /tmp instead.
        let mut socket_dir = pg_root.join("run");
        if socket_dir.as_os_str().len() > 80 {
            let digest = format!("{:x}", fnv1a(root.to_string_lossy().as_bytes()));
            socket_dir = PathBuf::from(format!("/tmp/clearview-{digest}"));
        }
        Ok(Self {
            bin_dir,
            data_dir: pg_root.join("data"),
            socket_dir,
            log_file: pg_root.join("postgres.log"),
            run_as,
        })
    }

    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// Initialises the cluster on first use and starts it unless it is already running.
    pub fn start(&self) -> Result<()> {
        let pg_root = self.data_dir.parent().context("data dir has a parent")?;
        std::fs::create_dir_all(pg_root)
            .with_context(|| format!("creating {}", pg_root.display()))?;
        std::fs::create_dir_all(&self.socket_dir)?;
        self.give_to_postgres(pg_root)?;
        self.give_to_postgres(&self.socket_dir)?;
        std::fs::set_permissions(&self.socket_dir, std::fs::Permissions::from_mode(0o700))?;

        if !self.data_dir.join("PG_VERSION").exists() {
            tracing::info!(dir = %self.data_dir.display(), "initialising the embedded PostgreSQL cluster");
            let out = self
                .command("initdb")
                .arg("-D")
                .arg(&self.data_dir)
                .args(["-A", "trust", "-U", ROLE, "--no-locale", "-E", "UTF8"])
                .output()
                .context("running initdb")?;
            if !out.status.success() {
                bail!("initdb failed: {}", String::from_utf8_lossy(&out.stderr));
            }
        }
        if self.is_running() {
            tracing::info!("reusing the running embedded PostgreSQL cluster");
            return Ok(());
        }
        let options = format!(
            "-k {} -c listen_addresses='' -c unix_socket_permissions=0700 -c max_connections=200",
            self.socket_dir.display()
        );
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data_dir)
            .arg("-l")
            .arg(&self.log_file)
            .args(["-o", &options, "-w", "-t", "60", "start"])
            .output()
            .context("running pg_ctl start")?;
        if !out.status.success() {
            let log = std::fs::read_to_string(&self.log_file).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(15).collect();
            bail!(
                "PostgreSQL did not start: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        tracing::info!(socket = %self.socket_dir.display(), "embedded PostgreSQL started");
        Ok(())
    }

    /// Stops the cluster (fast shutdown: running transactions are rolled back).
    pub fn stop(&self) -> Result<()> {
        if !self.is_running() {
            return Ok(());
        }
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data_dir)
            .args(["-m", "fast", "-w", "stop"])
            .output()
            .context("running pg_ctl stop")?;
        if !out.status.success() {
            bail!(
                "pg_ctl stop failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    pub fn is_running(&self) -> bool {
        self.data_dir.join("postmaster.pid").exists()
            && self
                .command("pg_ctl")
                .arg("-D")
                .arg(&self.data_dir)
                .arg("status")
                .output()
                .is_ok_and(|o| o.status.success())
    }

    /// Connection options for a database of this cluster.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .host(&self.socket_dir.to_string_lossy())
            .username(ROLE)
            .database(database)
    }

    /// A `postgres://` URL for tools (psql, sqlx-cli, tests).
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{ROLE}@localhost/{database}?host={}",
            self.socket_dir.display()
        )
    }

    /// Creates `database` unless it exists.
    pub async fn ensure_database(&self, database: &str) -> Result<()> {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect_with(&self.connect_options("postgres"))
            .await
            .context("connecting to the embedded cluster")?;
        let exists: bool =
            sqlx::query_scalar("select exists(select 1 from pg_database where datname = $1)")
                .bind(database)
                .fetch_one(&mut conn)
                .await?;
        if !exists {
            sqlx::query(&format!(
                "create database \"{}\"",
                database.replace('"', "")
            ))
            .execute(&mut conn)
            .await
            .context("creating the database")?;
        }
        Ok(())
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin_dir.join(program));
        // The cluster's processes must be able to enter their working directory.
        cmd.current_dir(self.data_dir.parent().unwrap_or(Path::new("/")));
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid).gid(gid);
        }
        cmd
    }

    fn give_to_postgres(&self, path: &Path) -> Result<()> {
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .with_context(|| format!("handing {} to the postgres user", path.display()))?;
            // The postgres user must be able to reach the directory through every parent.
            let mut p = path.parent();
            while let Some(dir) = p {
                let mode = std::fs::metadata(dir)
                    .map(|m| m.permissions().mode())
                    .unwrap_or(0);
                if mode & 0o001 == 0 {
                    bail!(
                        "{} is not reachable by the postgres user (its parent {} is not world-searchable); \
                         set CLEARVIEW_DATA_DIR to a directory outside it",
                        path.display(),
                        dir.display()
                    );
                }
                p = dir.parent();
            }
        }
        Ok(())
    }
}

/// FNV-1a: a short, stable name for a path (not a security boundary).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The directory holding `initdb`, `pg_ctl` and `postgres`: `PG_BIN_DIR`, else `pg_config --bindir`, else the newest
/// `/usr/lib/postgresql/<version>/bin`, else whatever `initdb` on PATH lives in.
fn find_bin_dir() -> Result<PathBuf> {
    let has_tools = |d: &Path| {
        d.join("initdb").exists() && d.join("pg_ctl").exists() && d.join("postgres").exists()
    };
    if let Some(dir) = std::env::var_os("PG_BIN_DIR").map(PathBuf::from) {
        if has_tools(&dir) {
            return Ok(dir);
        }
        bail!("PG_BIN_DIR={} has no initdb/pg_ctl/postgres", dir.display());
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_tools(&dir) {
            return Ok(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, d)| has_tools(d))
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Ok(dir);
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_tools(&dir) {
                return Ok(dir);
            }
        }
    }
    bail!(
        "PostgreSQL server programs (initdb, pg_ctl, postgres) were not found; install PostgreSQL or set DATABASE_URL"
    )
}
