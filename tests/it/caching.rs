//! What goes over the wire: gzip by `Accept-Encoding`, ETags and 304s on pages, and static
//! assets linked with a version and cached for a year.

use std::io::Read as _;

use axum::body::Body;
use axum::http::{Method, StatusCode};

use crate::support::{Reply, TestApp, request, test_app};

fn gunzip(bytes: &[u8]) -> String {
    let mut out = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut out)
        .expect("a valid gzip body");
    out
}

fn unbrotli(bytes: &[u8]) -> String {
    let mut out = String::new();
    brotli::Decompressor::new(bytes, 4096)
        .read_to_string(&mut out)
        .expect("a valid brotli body");
    out
}

async fn get_with(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut builder = request(Method::GET, path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    app.send(builder.body(Body::empty()).unwrap()).await
}

fn header<'a>(reply: &'a Reply, name: &str) -> &'a str {
    reply
        .headers
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or_else(|| panic!("no `{name}` header in {:?}", reply.headers))
}

const LESSON: &str = "/lessons/pod-connectivity";

#[tokio::test]
async fn the_lesson_page_is_gzip_when_asked_and_the_same_page() {
    let app = test_app().await;
    let cookie = app.learner().await;
    let done = app
        .call(
            Method::POST,
            "/api/v1/lessons/pod-connectivity/sections/theory/complete",
            &cookie,
        )
        .await;
    assert!(done.status.is_success(), "{done:?}");
    let plain = get_with(&app, LESSON, &[("cookie", &cookie)]).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert!(plain.headers.get("content-encoding").is_none());
    assert_eq!(header(&plain, "content-type"), "text/html; charset=utf-8");
    let zipped = get_with(
        &app,
        LESSON,
        &[
            ("cookie", &cookie),
            ("accept-encoding", "gzip, deflate, br"),
        ],
    )
    .await;
    assert_eq!(header(&zipped, "content-encoding"), "gzip");
    assert_eq!(gunzip(&zipped.bytes), plain.body);
    assert!(header(&zipped, "vary").contains("accept-encoding"));
    assert_ne!(header(&zipped, "etag"), header(&plain, "etag"));
    // The learner's state is in the shared page: the done section, the count, the form.
    let page = &plain.body;
    assert!(page.contains(r#"<section id="theory" class="lesson-section done""#));
    assert!(page.contains(r#"<li data-section="theory" class="done">"#));
    assert!(page.contains(r#"<span class="done-count">1</span>"#));
    assert!(
        page.contains(r#"value="false""#),
        "an undo form for the done section"
    );
    assert!(!page.contains("@@"), "no slot marker is left");
    // Once seen, the state is compressed whole: brotli under 32 KB, gzip smaller than stitched.
    let mut brotli = None;
    for _ in 0..200 {
        let reply = get_with(
            &app,
            LESSON,
            &[
                ("cookie", &cookie),
                ("accept-encoding", "gzip, deflate, br"),
            ],
        )
        .await;
        if reply
            .headers
            .get("content-encoding")
            .is_some_and(|v| v == "br")
        {
            brotli = Some(reply);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let brotli = brotli.expect("the whole-page compression finished");
    assert_eq!(unbrotli(&brotli.bytes), plain.body);
    assert!(
        brotli.bytes.len() < 32 * 1024,
        "{} bytes on the wire",
        brotli.bytes.len()
    );
    let whole = get_with(
        &app,
        LESSON,
        &[("cookie", &cookie), ("accept-encoding", "gzip")],
    )
    .await;
    assert_eq!(gunzip(&whole.bytes), plain.body);
    assert!(whole.bytes.len() < zipped.bytes.len());
    assert_eq!(header(&whole, "etag"), header(&zipped, "etag"));
    assert_ne!(header(&brotli, "etag"), header(&zipped, "etag"));
    // Unsupported or refused encodings get the plain page.
    let refused = get_with(
        &app,
        LESSON,
        &[
            ("cookie", &cookie),
            ("accept-encoding", "gzip;q=0, identity"),
        ],
    )
    .await;
    assert!(refused.headers.get("content-encoding").is_none());
    assert_eq!(refused.body, plain.body);
}

#[tokio::test]
async fn a_revisit_with_nothing_changed_is_a_304_and_progress_changes_the_tag() {
    let app = test_app().await;
    let cookie = app.learner().await;
    let first = get_with(&app, LESSON, &[("cookie", &cookie)]).await;
    let etag = header(&first, "etag").to_string();
    assert_eq!(header(&first, "cache-control"), "private, no-cache");
    let again = get_with(
        &app,
        LESSON,
        &[("cookie", &cookie), ("if-none-match", &etag)],
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.bytes.is_empty());
    assert_eq!(header(&again, "etag"), etag);

    let other = app.learner().await;
    let theirs = get_with(&app, LESSON, &[("cookie", &other)]).await;
    assert_eq!(
        header(&theirs, "etag"),
        etag,
        "two learners without progress see the same page"
    );

    app.call(
        Method::POST,
        "/api/v1/lessons/pod-connectivity/sections/key-concepts/complete",
        &cookie,
    )
    .await;
    let changed = get_with(
        &app,
        LESSON,
        &[("cookie", &cookie), ("if-none-match", &etag)],
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "marked done: a new page");
    assert_ne!(header(&changed, "etag"), etag);
    assert!(
        changed
            .body
            .contains(r#"<span class="done-count">1</span>"#)
    );
    assert!(
        changed
            .body
            .contains(r#"<section id="key-concepts" class="lesson-section done""#)
    );
}

#[tokio::test]
async fn static_assets_are_versioned_compressed_and_cached_for_a_year() {
    let app = test_app().await;
    let page = app.get("/", None).await.body;
    let css = page
        .split('"')
        .find(|s| s.starts_with("/static/css/kubelab.css?v="))
        .expect("the page links the stylesheet with a version")
        .to_string();
    let highlight = page
        .split('"')
        .find(|s| s.starts_with("/static/highlight.css?v="))
        .expect("and the highlight stylesheet")
        .to_string();
    for url in [&css, &highlight] {
        let reply = get_with(&app, url, &[("accept-encoding", "gzip")]).await;
        assert_eq!(reply.status, StatusCode::OK, "{url}");
        assert_eq!(
            header(&reply, "cache-control"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(header(&reply, "content-encoding"), "gzip");
        assert_eq!(header(&reply, "content-type"), "text/css; charset=utf-8");
        let plain = app.get(url, None).await;
        assert_eq!(gunzip(&reply.bytes), plain.body);
        let etag = header(&reply, "etag").to_string();
        let again = get_with(
            &app,
            url,
            &[("accept-encoding", "gzip"), ("if-none-match", &etag)],
        )
        .await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    }
    // Without the version, or with an old one, the file is revalidated soon.
    for url in ["/static/css/kubelab.css", "/static/css/kubelab.css?v=0123"] {
        let reply = app.get(url, None).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(header(&reply, "cache-control"), "public, max-age=300");
    }
    let icon = get_with(&app, "/static/favicon.svg", &[("accept-encoding", "gzip")]).await;
    assert_eq!(icon.status, StatusCode::OK);
}

#[tokio::test]
async fn other_pages_and_json_get_etags_304s_and_gzip() {
    let app = test_app().await;
    let cookie = app.learner().await;
    for path in ["/", "/tasks/fix-port-conflict", "/api/v1/lessons"] {
        let plain = get_with(&app, path, &[("cookie", &cookie)]).await;
        assert_eq!(plain.status, StatusCode::OK, "{path}");
        let zipped = get_with(
            &app,
            path,
            &[("cookie", &cookie), ("accept-encoding", "gzip")],
        )
        .await;
        assert_eq!(header(&zipped, "content-encoding"), "gzip", "{path}");
        assert_eq!(gunzip(&zipped.bytes), plain.body, "{path}");
        let etag = header(&zipped, "etag").to_string();
        let again = get_with(
            &app,
            path,
            &[
                ("cookie", &cookie),
                ("accept-encoding", "gzip"),
                ("if-none-match", &etag),
            ],
        )
        .await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{path}");
        assert!(again.bytes.is_empty());
    }
    // Errors are never cached or turned into 304s.
    let missing = get_with(&app, "/lessons/nope", &[("if-none-match", "*")]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.headers.get("etag").is_none());
}
