//! Cross-site request refusal and security headers for every response.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, header};

/// The origin requests must come from: the configured public URL, or else the request's own host.
#[derive(Debug, Clone)]
pub struct OriginPolicy {
    pub public_origin: Option<String>,
}

impl OriginPolicy {
    pub fn new(public_url: Option<&str>) -> Self {
        Self {
            public_origin: public_url.and_then(origin_of),
        }
    }

    fn allowed(&self, req: &Request) -> bool {
        let headers = req.headers();
        let claimed = headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .filter(|o| *o != "null")
            .map(str::to_owned)
            .or_else(|| {
                headers
                    .get(header::REFERER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(origin_of)
            });
        let Some(claimed) = claimed else { return false };
        match &self.public_origin {
            Some(expected) => claimed.eq_ignore_ascii_case(expected),
            None => {
                let host = headers
                    .get(header::HOST)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                claimed
                    .split_once("://")
                    .is_some_and(|(scheme, authority)| {
                        matches!(scheme, "http" | "https") && authority.eq_ignore_ascii_case(host)
                    })
            }
        }
    }
}

/// `scheme://host[:port]` of a URL, lower-cased.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    Some(format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        authority.to_ascii_lowercase()
    ))
}

/// Refuses every state-changing request whose `Origin` (or, lacking it, `Referer`) is not the app's own: with
/// SameSite=Lax cookies this closes cross-site request forgery, including against sign-in and sign-up.
pub async fn refuse_cross_site(
    State(policy): State<OriginPolicy>,
    req: Request,
    next: Next,
) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && !policy.allowed(&req) {
        tracing::warn!(method = %req.method(), path = req.uri().path(), "cross-site request refused");
        return crate::api::ApiError(clearview::Error::Forbidden).into_response();
    }
    next.run(req).await
}

/// Headers every response carries. HTML pages get their CSP (with the hydration scripts' nonce) from the page renderer;
/// everything else gets a CSP that allows nothing.
pub async fn headers(req: Request<Body>, next: Next) -> Response {
    let https = req.uri().scheme_str() == Some("https")
        || req
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            == Some("https");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
        ));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    res
}

/// The CSP of an HTML page whose inline scripts carry `nonce`.
pub fn page_csp(nonce: &str, dev_reload: Option<u32>) -> String {
    let reload = dev_reload
        .map(|port| format!(" ws://127.0.0.1:{port} ws://localhost:{port}"))
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; font-src 'self'; connect-src 'self'{reload}; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_of_strips_path_and_rejects_userinfo() {
        assert_eq!(
            origin_of("http://127.0.0.1:3000/login?x=1").as_deref(),
            Some("http://127.0.0.1:3000")
        );
        assert_eq!(
            origin_of("HTTPS://CRM.Example.com").as_deref(),
            Some("https://crm.example.com")
        );
        assert_eq!(origin_of("http://evil@crm.example.com/"), None);
        assert_eq!(origin_of("not a url"), None);
    }
}
