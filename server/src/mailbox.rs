//! `/dev/mailbox`: the mail the app would have sent, when no SMTP server is configured (the embedded default). Not
//! served at all when mail goes out through `SMTP_URL`. It shows every workspace's mail to whoever opens it: it exists
//! for running the app on one's own machine, where the person at the keyboard is every recipient.

use app::state::AppState;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

/// The newest messages shown.
const SHOWN: usize = 50;

pub async fn page(State(state): State<AppState>) -> Response {
    let Some(dir) = state.dev_mailbox.as_deref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let kept = match clearview::jobs::mail::dev_mailbox(dir, SHOWN).await {
        Ok(kept) => kept,
        Err(e) => {
            tracing::error!(error = %e, dir = %dir.display(), "reading the dev mailbox");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let mut body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Dev mailbox · Clearview</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <link rel=\"stylesheet\" href=\"{css}\"></head><body><main class=\"page mailbox\">\
         <h1>Dev mailbox</h1><p class=\"muted\">No SMTP server is configured (SMTP_URL), so the mail Clearview \
         sends is kept here instead, newest first.</p>",
        css = app::escape_html(&app::stylesheet_href(&state.leptos_options)),
    );
    if kept.is_empty() {
        body.push_str("<p>No mail yet.</p>");
    }
    for m in &kept {
        body.push_str(&format!(
            "<article class=\"card mail\"><h2>{subject}</h2><dl><dt>To</dt><dd>{to}</dd><dt>From</dt><dd>{from}</dd>\
             <dt>Sent</dt><dd>{at}</dd><dt>Message-ID</dt><dd><code>{id}</code></dd></dl><pre>{text}</pre></article>",
            subject = app::escape_html(&m.subject),
            to = app::escape_html(&m.to),
            from = app::escape_html(&m.from),
            at = m
                .at
                .format(&time::format_description::well_known::Rfc2822)
                .unwrap_or_default(),
            id = app::escape_html(&m.message_id),
            text = linkify(&m.text),
        ));
    }
    body.push_str("</main></body></html>");
    let mut res = Html(body).into_response();
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Text as HTML, each line that is an http(s) address made a link.
fn linkify(text: &str) -> String {
    text.lines()
        .map(|line| {
            let t = line.trim();
            if (t.starts_with("http://") || t.starts_with("https://"))
                && !t.contains(char::is_whitespace)
            {
                format!("<a href=\"{0}\">{0}</a>", app::escape_html(t))
            } else {
                app::escape_html(line)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_address_lines_become_links() {
        assert_eq!(
            app::escape_html("<a href='x'>&"),
            "&lt;a href=&#39;x&#39;&gt;&amp;"
        );
        assert_eq!(
            linkify("Hi <b>\nhttp://h/invite?token=a&b=\"c\"\nbye"),
            "Hi &lt;b&gt;\n<a href=\"http://h/invite?token=a&amp;b=&quot;c&quot;\">http://h/invite?token=a&amp;b=&quot;c&quot;</a>\nbye"
        );
    }
}
