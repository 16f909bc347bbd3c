//! The browser's static files: served precompressed (Brotli or gzip, as the request's `Accept-Encoding` allows), and
//! kept by browsers for a year when their names carry their content's hash.
//!
//! `scripts/build-site` names the script, the WASM and the stylesheet after their content (`clearview.<hash>.js`),
//! writes the hashes to `hash.txt` in the site root (which the page shell reads: `app::asset_href`) and puts a `.br`
//! and a `.gz` copy beside every file. A new build is new names, so a cached file can never be stale.

use std::path::Path;

use axum::Router;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use leptos::prelude::LeptosOptions;
use tower_http::services::{ServeDir, ServeFile};

/// A hashed file never changes: browsers and proxies may keep it for a year without asking again.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Any other file may change with the next build: kept, but confirmed (by its `Last-Modified`) before each use.
pub const REVALIDATE: &str = "no-cache";

/// The site's options with hashed names switched on when the site was built with them (its root holds `hash.txt`).
/// Leptos looks for the hash file beside the server binary; it is given the site's own, by its full path.
pub fn with_hashed_names(mut options: LeptosOptions) -> LeptosOptions {
    let file = Path::new(&*options.site_root).join("hash.txt");
    match file.canonicalize() {
        Ok(path) if path.is_file() => {
            options.hash_files = true;
            options.hash_file = path.to_string_lossy().into();
        }
        _ => options.hash_files = false,
    }
    options
}

/// `/pkg/*` and the site root's own files (the icon), precompressed, with their caching rules.
pub fn routes<S: Clone + Send + Sync + 'static>(options: &LeptosOptions) -> Router<S> {
    let root = Path::new(&*options.site_root);
    Router::new()
        .nest_service(
            &format!("/{}", options.site_pkg_dir),
            ServeDir::new(root.join(&*options.site_pkg_dir))
                .precompressed_br()
                .precompressed_gzip(),
        )
        .route_service(
            "/favicon.svg",
            ServeFile::new(root.join("favicon.svg"))
                .precompressed_br()
                .precompressed_gzip(),
        )
        .layer(axum::middleware::from_fn(cache_control))
}

/// `Cache-Control` by name (a year for a content-hashed file, revalidation for any other) and `Vary`.
async fn cache_control(req: Request, next: Next) -> Response {
    let hashed = is_hashed(req.uri().path());
    let mut res = next.run(req).await;
    if matches!(
        res.status(),
        StatusCode::OK | StatusCode::PARTIAL_CONTENT | StatusCode::NOT_MODIFIED
    ) {
        res.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(if hashed { IMMUTABLE } else { REVALIDATE }),
        );
        // Which copy was sent depends on the request's Accept-Encoding: a shared cache must keep them apart
        // (tower-http's precompressed files do not say so themselves).
        res.headers_mut()
            .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    res
}

/// Whether a file name carries a content hash as build-site writes it: `name.<16 hex digits>.ext`.
fn is_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    name.split('.')
        .any(|part| part.len() == 16 && part.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_content_hashed_names_are_immutable() {
        assert!(is_hashed("/pkg/clearview.0123456789abcdef.wasm"));
        assert!(!is_hashed("/pkg/clearview.wasm"));
        assert!(!is_hashed("/favicon.svg"));
        assert!(!is_hashed("/pkg/clearview.0123456789abcdeg.js"));
    }
}
