//! Cross-site request refusal and security headers for every response.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, header};

/// Who the server believes it is: the origins pages and requests may come from and the `Host` names it answers to,
/// taken from configuration only — never from the request itself, so a page on another name that resolves to this
/// server (DNS rebinding) is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPolicy {
    /// `scheme://host[:port]`, lower-cased.
    origins: Vec<String>,
    /// `host[:port]`, lower-cased, as the `Host` header carries it.
    hosts: Vec<String>,
}

impl OriginPolicy {
    /// The origin of `public_url`; without it, the listen address when it is a loopback one (its port on
    /// `127.0.0.1`, `localhost` and `[::1]`). Any other listen address needs `PUBLIC_URL`.
    pub fn new(public_url: Option<&str>, listen: std::net::SocketAddr) -> anyhow::Result<Self> {
        match public_url {
            Some(url) => {
                let origin = origin_of(url).ok_or_else(|| {
                    anyhow::anyhow!(
                        "PUBLIC_URL {url:?} is not a URL such as https://crm.example.com"
                    )
                })?;
                let host = origin
                    .split_once("://")
                    .map(|(_, host)| host.to_owned())
                    .unwrap_or_default();
                Ok(Self {
                    origins: vec![origin],
                    hosts: vec![host],
                })
            }
            None if listen.ip().is_loopback() => Ok(Self::loopback(listen.port())),
            None => anyhow::bail!(
                "listening on {listen}, which is not a loopback address: set PUBLIC_URL to the address people \
                 reach Clearview at (for example https://crm.example.com)"
            ),
        }
    }

    /// The loopback names of `port`.
    pub fn loopback(port: u16) -> Self {
        let hosts: Vec<String> = ["127.0.0.1", "localhost", "[::1]"]
            .iter()
            .map(|h| format!("{h}:{port}"))
            .collect();
        Self {
            origins: hosts.iter().map(|h| format!("http://{h}")).collect(),
            hosts,
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
        claimed.is_some_and(|claimed| self.origins.iter().any(|o| claimed.eq_ignore_ascii_case(o)))
    }

    /// Whether the request names one of this server's hosts (`Host`, or the URI's authority over HTTP/2).
    fn known_host(&self, req: &Request) -> bool {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .or_else(|| req.uri().authority().map(|a| a.as_str()));
        host.is_some_and(|h| self.hosts.iter().any(|known| h.eq_ignore_ascii_case(known)))
    }
}

/// Refuses (421, in the API's error shape) every request addressed to a host this server is not — a DNS rebinding
/// page's requests carry its own name. The probes answer whatever the name, so a load balancer may ask by address.
pub async fn refuse_unknown_host(
    State(policy): State<OriginPolicy>,
    req: Request,
    next: Next,
) -> Response {
    let probe = matches!(req.uri().path(), "/healthz" | "/readyz");
    if !probe && !policy.known_host(&req) {
        tracing::warn!(path = req.uri().path(), "request for another host refused");
        let body = serde_json::json!({ "error": {
            "code": "misdirected_request",
            "message": "this server does not answer for that host name",
        }});
        return (http::StatusCode::MISDIRECTED_REQUEST, axum::Json(body)).into_response();
    }
    next.run(req).await
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
    fn the_allowed_origin_comes_from_configuration_only() {
        let public = OriginPolicy::new(
            Some("https://CRM.example.com/app"),
            "0.0.0.0:80".parse().unwrap(),
        )
        .unwrap();
        assert_eq!(public.origins, ["https://crm.example.com"]);
        assert_eq!(public.hosts, ["crm.example.com"]);
        let local = OriginPolicy::new(None, "127.0.0.1:3000".parse().unwrap()).unwrap();
        assert!(local.origins.contains(&"http://localhost:3000".to_owned()));
        assert!(local.hosts.contains(&"127.0.0.1:3000".to_owned()));
        assert!(OriginPolicy::new(None, "0.0.0.0:3000".parse().unwrap()).is_err());
        assert!(
            OriginPolicy::new(Some("crm.example.com"), "127.0.0.1:3000".parse().unwrap()).is_err()
        );
    }

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
