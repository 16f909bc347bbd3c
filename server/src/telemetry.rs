//! Logging: pretty for people, JSON for machines; level from RUST_LOG.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn,tower_http=info"));
    let registry = tracing_subscriber::registry().with(filter);
    // A second init (tests) keeps the first subscriber.
    let _ = match format {
        LogFormat::Pretty => registry
            .with(tracing_subscriber::fmt::layer().with_target(false))
            .try_init(),
        LogFormat::Json => registry
            .with(tracing_subscriber::fmt::layer().json().flatten_event(true))
            .try_init(),
    };
}
