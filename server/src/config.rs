//! Typed configuration: command-line flags over environment variables over defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// PostgreSQL server to use. Without it, a private cluster in the data directory is started and used.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Where the embedded database lives.
    #[arg(long, env = "CLEARVIEW_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Address to listen on (default: the Leptos site address, 127.0.0.1:3000).
    #[arg(long, env = "LISTEN_ADDR")]
    pub listen_addr: Option<SocketAddr>,

    /// The origin people reach the app at (e.g. https://crm.example.com); requests from other origins, and for other
    /// host names, are refused. Without it the server must listen on a loopback address, whose names are allowed.
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Sign a session out after this many minutes without a request.
    #[arg(long, env = "SESSION_IDLE_MINUTES", default_value_t = 60 * 12)]
    pub session_idle_minutes: i64,

    /// Sign a session out this many hours after sign-in, however active.
    #[arg(long, env = "SESSION_ABSOLUTE_HOURS", default_value_t = 24 * 7)]
    pub session_absolute_hours: i64,

    /// Trust X-Forwarded-For for the client address (only behind a reverse proxy you run).
    #[arg(long, env = "TRUST_PROXY_HEADERS", default_value_t = false)]
    pub trust_proxy_headers: bool,

    /// Maximum database connections (0: a default for this machine).
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 0)]
    pub database_max_connections: u32,

    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,

    /// The key that signs invitation links: at least 32 bytes (e.g. `openssl rand -hex 32`). Every server of one
    /// deployment needs the same key. Without it, a key is generated once and kept in the data directory.
    #[arg(long, env = "SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,

    /// The SMTP server mail goes out through: `smtp://host:25`, `smtp://user:pass@host:587?tls=required` (STARTTLS)
    /// or `smtps://user:pass@host:465` (TLS). Without it, mail is kept in the dev mailbox (/dev/mailbox) instead.
    #[arg(long, env = "SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// The sender of the app's mail.
    #[arg(
        long,
        env = "MAIL_FROM",
        default_value = "Clearview <no-reply@clearview.localhost>"
    )]
    pub mail_from: String,
}

impl Config {
    /// The key that signs invitation links: `SECRET_KEY`, or the data directory's `secret_key` file, made the first
    /// time (readable by its owner only).
    pub fn secret_key(&self) -> anyhow::Result<clearview::auth::token::SecretKey> {
        use anyhow::Context;
        use clearview::auth::token::SecretKey;
        if let Some(key) = &self.secret_key {
            return SecretKey::from_bytes(key.as_bytes().to_vec()).with_context(|| {
                format!("SECRET_KEY must be at least {} bytes", SecretKey::MIN_LEN)
            });
        }
        let path = self.data_dir.join("secret_key");
        match std::fs::read_to_string(&path) {
            Ok(text) => hex::decode(text.trim())
                .ok()
                .and_then(SecretKey::from_bytes)
                .with_context(|| format!("{} does not hold a key", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                use std::io::Write;
                use std::os::unix::fs::OpenOptionsExt;
                std::fs::create_dir_all(&self.data_dir)
                    .with_context(|| format!("creating {}", self.data_dir.display()))?;
                let key = SecretKey::generate();
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .with_context(|| format!("creating {}", path.display()))?;
                file.write_all(key.to_hex().as_bytes())?;
                tracing::info!(path = %path.display(), "generated the key that signs invitation links");
                Ok(key)
            }
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Where mail goes: `SMTP_URL`, or the dev mailbox folder of the data directory.
    pub fn mailer(&self) -> anyhow::Result<clearview::jobs::Mailer> {
        use clearview::jobs::Mailer;
        match &self.smtp_url {
            Some(url) => Mailer::smtp(url, &self.mail_from),
            None => Mailer::dev_mailbox(self.dev_mailbox(), &self.mail_from),
        }
        .map_err(anyhow::Error::msg)
    }

    /// The dev mailbox folder (used only without `SMTP_URL`).
    pub fn dev_mailbox(&self) -> PathBuf {
        self.data_dir.join("mailbox")
    }
}
