//! Outgoing mail: over SMTP with lettre, or, without an SMTP server configured, into a dev mailbox folder that the
//! server shows at `/dev/mailbox`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// One message, as a mail job's payload holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
}

/// A message as the dev mailbox keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    pub message_id: String,
    pub from: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Where mail goes.
pub enum Mailer {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
        domain: String,
    },
    /// Each message becomes `<job id>.json` in the folder, replaced if the same job sends again.
    DevMailbox {
        dir: PathBuf,
        from: Mailbox,
        domain: String,
    },
}

/// How long one SMTP conversation may take before the attempt fails (well inside a worker's lease).
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

impl Mailer {
    /// An SMTP mailer for `url`: `smtp://host:port` (plain), `smtp://host?tls=required` (STARTTLS) or
    /// `smtps://host` (TLS), with `user:password@` when the server asks. `from` is the sender's address, e.g.
    /// `Clearview <no-reply@crm.example.com>`.
    pub fn smtp(url: &str, from: &str) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("SMTP_URL: {e}"))?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        let from: Mailbox = from.parse().map_err(|e| format!("MAIL_FROM: {e}"))?;
        let domain = from.email.domain().to_owned();
        Ok(Self::Smtp {
            transport,
            from,
            domain,
        })
    }

    /// A dev mailbox in `dir` (created when the first message arrives).
    pub fn dev_mailbox(dir: PathBuf, from: &str) -> Result<Self, String> {
        let from: Mailbox = from.parse().map_err(|e| format!("MAIL_FROM: {e}"))?;
        let domain = from.email.domain().to_owned();
        Ok(Self::DevMailbox { dir, from, domain })
    }

    /// The Message-ID of job `job`'s mail: the same on every attempt.
    pub fn message_id(&self, job: Uuid) -> String {
        let domain = match self {
            Mailer::Smtp { domain, .. } | Mailer::DevMailbox { domain, .. } => domain,
        };
        format!("<{job}@{domain}>")
    }

    /// Sends job `job`'s mail. The error is the attempt's, as the job records it.
    pub async fn send(&self, job: Uuid, mail: &Mail) -> Result<(), String> {
        let message_id = self.message_id(job);
        match self {
            Mailer::Smtp {
                transport, from, ..
            } => {
                let to: Mailbox = mail
                    .to
                    .parse()
                    .map_err(|e| format!("recipient {}: {e}", mail.to))?;
                let message = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(&mail.subject)
                    .message_id(Some(message_id))
                    .header(ContentType::TEXT_PLAIN)
                    .body(mail.text.clone())
                    .map_err(|e| format!("message: {e}"))?;
                transport
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("SMTP: {e}"))
            }
            Mailer::DevMailbox { dir, from, .. } => {
                let kept = Kept {
                    message_id,
                    from: from.to_string(),
                    to: mail.to.clone(),
                    subject: mail.subject.clone(),
                    text: mail.text.clone(),
                    at: OffsetDateTime::now_utc(),
                };
                write_kept(dir, job, &kept)
                    .await
                    .map_err(|e| format!("dev mailbox {}: {e}", dir.display()))
            }
        }
    }
}

async fn write_kept(dir: &Path, job: Uuid, kept: &Kept) -> std::io::Result<()> {
    tokio::fs::create_dir_all(dir).await?;
    let json = serde_json::to_vec_pretty(kept).map_err(std::io::Error::other)?;
    // Written aside and renamed, so a reader never sees half a message.
    let tmp = dir.join(format!(".{job}.json.tmp"));
    tokio::fs::write(&tmp, json).await?;
    tokio::fs::rename(&tmp, dir.join(format!("{job}.json"))).await
}

/// The dev mailbox's messages, newest first (at most `limit`).
pub async fn dev_mailbox(dir: &Path, limit: usize) -> std::io::Result<Vec<Kept>> {
    let mut names = Vec::new();
    let mut entries = match tokio::fs::read_dir(dir).await {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    while let Some(entry) = entries.next_entry().await? {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") && !name.starts_with('.') {
            names.push(name);
        }
    }
    // Job ids are UUIDv7: their order is the order the jobs were made.
    names.sort_unstable_by(|a, b| b.cmp(a));
    let mut kept = Vec::new();
    for name in names.into_iter().take(limit) {
        let bytes = tokio::fs::read(dir.join(&name)).await?;
        if let Ok(k) = serde_json::from_slice::<Kept>(&bytes) {
            kept.push(k);
        }
    }
    Ok(kept)
}
