//! The browser's files: the precompressed copy the request accepts, a year's caching for content-hashed names, and
//! pages that name the hashed files (D-024).

use std::io::Read;

use leptos::server_fn::ServerFn;
use sqlx::PgPool;

use crate::common::{Options, TestApp, session_cookie};

const HASH: &str = "0123456789abcdef";

/// A site as `scripts/build-site` lays it out, with a different text in each copy so the test can tell which was sent.
fn site() -> String {
    let root = std::env::temp_dir().join(format!("clearview-site-{}", uuid::Uuid::new_v4()));
    let pkg = root.join("pkg");
    std::fs::create_dir_all(&pkg).expect("site folder");
    let write =
        |path: std::path::PathBuf, text: String| std::fs::write(path, text).expect("site file");
    for kind in ["js", "wasm", "css"] {
        let name = pkg.join(format!("clearview.{HASH}.{kind}"));
        write(name.clone(), format!("plain {kind}"));
        write(
            name.with_extension(format!("{kind}.br")),
            format!("brotli {kind}"),
        );
        write(
            name.with_extension(format!("{kind}.gz")),
            format!("gzip {kind}"),
        );
    }
    write(root.join("favicon.svg"), "<svg/>".into());
    write(root.join("favicon.svg.br"), "brotli svg".into());
    write(
        root.join("hash.txt"),
        format!("js: {HASH}\nwasm: {HASH}\ncss: {HASH}\n"),
    );
    root.to_string_lossy().into_owned()
}

/// A server over such a site.
async fn with_site(pool: PgPool) -> TestApp {
    TestApp::spawn_with(
        pool,
        Options {
            site_root: Some(site()),
            ..Options::default()
        },
    )
    .await
}

async fn get(app: &TestApp, path: &str, accept: Option<&str>) -> (u16, http::HeaderMap, String) {
    let mut req = app.client.get(app.url(path));
    if let Some(a) = accept {
        req = req.header("accept-encoding", a);
    }
    let res = req.send().await.expect("the server answers");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.text().await.expect("a body"))
}

fn header<'a>(headers: &'a http::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[sqlx::test]
async fn hashed_files_are_sent_precompressed_as_accepted_and_cached_for_a_year(pool: PgPool) {
    let app = with_site(pool).await;
    let wasm = format!("/pkg/clearview.{HASH}.wasm");

    let (status, headers, body) = get(&app, &wasm, Some("gzip, deflate, br")).await;
    assert_eq!((status, body.as_str()), (200, "brotli wasm"));
    assert_eq!(header(&headers, "content-encoding"), "br");
    assert_eq!(header(&headers, "content-type"), "application/wasm");
    assert_eq!(
        header(&headers, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert!(
        header(&headers, "vary")
            .to_lowercase()
            .contains("accept-encoding"),
        "{headers:?}"
    );

    let (_, headers, body) = get(&app, &wasm, Some("gzip")).await;
    assert_eq!(body, "gzip wasm");
    assert_eq!(header(&headers, "content-encoding"), "gzip");

    let (_, headers, body) = get(&app, &wasm, None).await;
    assert_eq!(body, "plain wasm");
    assert_eq!(header(&headers, "content-encoding"), "");

    // A file without a hash in its name may change: cached, but confirmed first.
    let (status, headers, body) = get(&app, "/favicon.svg", Some("br")).await;
    assert_eq!((status, body.as_str()), (200, "brotli svg"));
    assert_eq!(header(&headers, "cache-control"), "no-cache");

    // A file that is not there is a 404, not a page.
    let (status, _, _) = get(&app, "/pkg/clearview.fedcba9876543210.wasm", Some("br")).await;
    assert_eq!(status, 404);
}

#[sqlx::test]
async fn pages_name_the_hashed_script_wasm_and_stylesheet(pool: PgPool) {
    let app = with_site(pool).await;
    let (status, _, page) = get(&app, "/signup", None).await;
    assert_eq!(status, 200);
    for name in [
        format!("/pkg/clearview.{HASH}.css"),
        format!("/pkg/clearview.{HASH}.wasm"),
        format!("/pkg/clearview.{HASH}.js"),
    ] {
        assert!(page.contains(&name), "{name} in {page}");
    }
    assert!(!page.contains("/pkg/clearview.css"), "{page}");
}

/// The sign-in page is sent without the app's script and WASM (D-026): only its stylesheet. A wrong password comes
/// back to it as plain HTML with the message, and `next` is in the form as an attribute, so a browser without the
/// script signs in and lands where it was going.
#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn the_sign_in_page_loads_no_script_and_works_without_it(pool: PgPool) {
    let app = with_site(pool).await;
    let (status, _, page) = get(&app, "/login?next=/settings", None).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!("/pkg/clearview.{HASH}.css")),
        "{page}"
    );
    for name in [".wasm", ".js", "modulepreload", "hydrate"] {
        assert!(!page.contains(name), "{name} in {page}");
    }
    assert!(page.contains(r#"name="next" value="/settings""#), "{page}");

    // The form posted as a browser without the script posts it: the answer is a redirect back to the page it came
    // from, which shows why, and still carries `next`.
    let res = app
        .post_form(
            app::auth::Login::PATH,
            "/login?next=/settings",
            &[
                ("email", "nobody@example.com"),
                ("password", "not the password"),
                ("next", "/settings"),
            ],
        )
        .await;
    assert!(res.status().is_redirection(), "{}", res.status());
    assert!(session_cookie(res.headers()).is_none());
    let back = res.headers()["location"].to_str().expect("an address");
    let back = back.strip_prefix(&app.base).unwrap_or(back).to_owned();
    assert!(back.starts_with("/login?next=/settings"), "{back}");
    let (status, _, page) = get(&app, &back, None).await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"role="alert""#), "{page}");
    assert!(page.contains("is not right"), "{page}");
    assert!(page.contains(r#"name="next" value="/settings""#), "{page}");
}

/// Pages are compressed as the browser accepts (Brotli before gzip), and sent as they are to a client that accepts
/// neither.
#[sqlx::test]
async fn pages_are_compressed_as_the_browser_accepts(pool: PgPool) {
    let app = with_site(pool).await;
    let (status, headers, plain) = get(&app, "/login", None).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-encoding"), "");
    assert!(plain.contains("Sign in"), "{plain}");

    for (accept, encoding) in [("gzip, deflate, br", "br"), ("gzip", "gzip")] {
        let res = app
            .client
            .get(app.url("/login"))
            .header("accept-encoding", accept)
            .send()
            .await
            .expect("the server answers");
        assert_eq!(res.status(), 200);
        assert_eq!(header(res.headers(), "content-encoding"), encoding);
        let body = res.bytes().await.expect("a body");
        let mut page = String::new();
        if encoding == "br" {
            brotli_decompressor::Decompressor::new(&body[..], 4096)
                .read_to_string(&mut page)
                .expect("Brotli");
        } else {
            flate2::read::GzDecoder::new(&body[..])
                .read_to_string(&mut page)
                .expect("gzip");
        }
        assert!(body.len() < plain.len(), "{accept}: {} bytes", body.len());
        assert!(page.contains("Sign in"), "{accept}: {page}");
    }
}
