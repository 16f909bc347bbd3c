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

    /// The origin people reach the app at (e.g. https://crm.example.com); requests from other origins are refused.
    /// Without it, the request's own Host is the allowed origin.
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
}
