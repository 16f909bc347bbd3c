//! The browser's files: the precompressed copy the request accepts, a year's caching for content-hashed names, and
//! pages that name the hashed files (D-024).

use std::io::Read;

use reqwest::StatusCode;
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
    // Nothing of the app is preloaded from the head: its script starts once the page is painted (D-028).
    assert!(!page.contains("preload"), "{page}");
}

/// The sign-in page is sent without the app's script and WASM (D-026): only its stylesheet. Its form posts to the page
/// itself; a wrong password is answered by the page again, with the message, the e-mail address as typed (escaped,
/// never the password) and `next`, so a browser without the script keeps what it typed and lands where it was going.
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
    assert!(
        !page.contains(" action="),
        "the form posts to the page's own address: {page}"
    );

    // The form posted as a browser without the script posts it, to the page's own address.
    let typed = r#"nobody"<b>@example.com"#;
    let res = app
        .post_form(
            "/login?next=/settings",
            &[
                ("email", typed),
                ("password", "not the password"),
                ("next", "/settings"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(session_cookie(res.headers()).is_none());
    assert!(res.headers().get("location").is_none());
    let page = res.text().await.expect("a page");
    assert!(page.contains(r#"role="alert""#), "{page}");
    assert!(page.contains("is not right"), "{page}");
    assert!(page.contains(r#"name="next" value="/settings""#), "{page}");
    assert!(
        page.contains(r#"value="nobody&quot;&lt;b&gt;@example.com""#),
        "the address as typed, escaped: {page}"
    );
    assert!(!page.contains("<b>"), "{page}");
    assert!(!page.contains("not the password"), "{page}");
    for name in [".wasm", ".js", "__err"] {
        assert!(!page.contains(name), "{name} in {page}");
    }

    // An address no account can have is named under its field, and keeps the cursor there.
    let long = format!("{}@example.com", "a".repeat(300));
    let res = app
        .post_form(
            "/login",
            &[("email", long.as_str()), ("password", "whatever it is")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.expect("a page");
    assert!(page.contains(r#"id="login-email-error""#), "{page}");
    assert!(page.contains("must be a valid address"), "{page}");
    assert!(page.contains(r#"aria-invalid="true""#), "{page}");
}

/// A right e-mail address and password posted by the sign-in form sign in, with a fresh session id, and go to `next`;
/// after a wrong one, the same form signs in.
#[sqlx::test(migrator = "clearview::db::MIGRATOR")]
async fn the_sign_in_form_signs_in_and_goes_to_next(pool: PgPool) {
    let app = with_site(pool).await;
    app.signup("ada@example.com").await;
    let sign_in = async |password: &str| {
        app.post_form(
            "/login?next=/pipeline",
            &[
                ("email", "ada@example.com"),
                ("password", password),
                ("next", "/pipeline"),
            ],
        )
        .await
    };
    let wrong = sign_in("wrong").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let res = sign_in("correct horse battery").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/pipeline");
    let cookie = session_cookie(res.headers()).expect("a session cookie");
    let board = app.get("/pipeline", Some(&cookie.value)).await;
    assert_eq!(board.status(), StatusCode::OK);
    let page = board.text().await.expect("a page");
    assert!(page.contains("Ada Lovelace"), "signed in: {page}");
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
