//! HTML pages through the router.

use axum::body::Body;
use axum::http::{Method, StatusCode};

use crate::support::{request, test_app};

const TASKS: [&str; 5] = [
    "deploy-two-pods",
    "install-flannel",
    "intra-pod-localhost",
    "fix-missing-cni",
    "fix-port-conflict",
];

const SECTIONS: [&str; 11] = [
    "theory",
    "key-concepts",
    "configuration-examples",
    "critical-commands",
    "procedures",
    "exam-questions",
    "key-points",
    "common-mistakes",
    "troubleshooting",
    "resources",
    "summary",
];

#[tokio::test]
async fn catalogue_lists_domains_with_weights_and_coming_topics() {
    let app = test_app().await;
    let reply = app.get("/", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    for (domain, weight) in [
        ("Cluster Architecture", 25),
        ("Scheduling", 15),
        ("Services ", 20),
        ("Storage", 10),
        ("Troubleshooting", 30),
    ] {
        assert!(reply.body.contains(domain), "missing domain {domain}");
        assert!(
            reply.body.contains(&format!("<strong>{weight}%</strong>")),
            "missing weight {weight}"
        );
    }
    assert!(reply.body.contains("href=\"/lessons/pod-connectivity\""));
    assert!(reply.body.contains("coming"));
    // Coming topics are not links: the only lesson link is the written one.
    assert_eq!(reply.body.matches("href=\"/lessons/").count(), 1);
    assert!(reply.body.contains("0 of 11 sections done"));
}

#[tokio::test]
async fn lesson_has_every_section_a_toc_and_controls() {
    let app = test_app().await;
    let reply = app.get("/lessons/pod-connectivity", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = &reply.body;
    for id in SECTIONS {
        assert!(
            body.contains(&format!("<section id=\"{id}\"")),
            "section {id}"
        );
        assert!(body.contains(&format!("href=\"#{id}\"")), "toc entry {id}");
        assert!(
            body.contains(&format!(
                "action=\"/lessons/pod-connectivity/sections/{id}/done\""
            )),
            "mark-done form {id}"
        );
    }
    for task in TASKS {
        assert!(
            body.contains(&format!("href=\"/tasks/{task}\"")),
            "task link {task}"
        );
    }
    for file in [
        "pod1.yaml",
        "pod2.yaml",
        "intra-pod.yaml",
        "port-conflict.yaml",
        "kind-config.yaml",
    ] {
        assert!(
            body.contains(&format!("href=\"/lessons/pod-connectivity/files/{file}\"")),
            "download link for {file}"
        );
    }
    assert!(body.contains("class=\"copy-button\""));
    assert!(
        body.contains("<span class=\"h0\">"),
        "server-side highlighting"
    );
    assert!(!body.contains("style="), "no inline styles under the CSP");
    assert!(
        !body.contains("<script>"),
        "no inline scripts under the CSP"
    );
}

#[tokio::test]
async fn lesson_content_follows_the_facts_not_the_seed() {
    let app = test_app().await;
    let body = app.get("/lessons/pod-connectivity", None).await.body;
    assert!(body.contains("kube-flannel"), "flannel's namespace");
    assert!(body.contains("br_netfilter"));
    assert!(body.contains("bridge"));
    for line in body
        .lines()
        .filter(|l| l.contains("quay.io/coreos/flannel"))
    {
        assert!(
            line.contains("out of date") || line.contains("stale"),
            "{line}"
        );
    }
    assert!(
        !body.contains("Failed to allocate address") || body.contains("not what"),
        "the seed's wrong symptom is not taught as fact"
    );
}

#[tokio::test]
async fn every_task_page_renders_with_hints_and_hidden_solution() {
    let app = test_app().await;
    for task in TASKS {
        let reply = app.get(&format!("/tasks/{task}"), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{task}");
        assert!(reply.body.contains("class=\"hint\""), "{task} hints");
        assert!(
            reply.body.contains("<details class=\"solution\">"),
            "{task} solution is collapsed"
        );
        assert!(!reply.body.contains("<details class=\"solution\" open"));
        assert!(reply.body.contains("How it is scored"));
    }
}

#[tokio::test]
async fn unknown_things_are_friendly_404_pages() {
    let app = test_app().await;
    for path in [
        "/lessons/nope",
        "/tasks/nope",
        "/lessons/pod-connectivity/files/nope.yaml",
        "/no/such/page",
        "/static/nope.css",
    ] {
        let reply = app.get(path, None).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert!(reply.body.contains("<h1>"), "{path} is an HTML page");
        assert!(reply.body.contains("Back to the catalogue"), "{path}");
    }
    let reply = app.get("/api/v1/nope", None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.json()["error"]["status"], 404);
}

#[tokio::test]
async fn files_are_served_raw_as_text() {
    let app = test_app().await;
    let reply = app
        .get("/lessons/pod-connectivity/files/pod1.yaml", None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["content-type"], "text/plain; charset=utf-8");
    assert!(reply.body.contains("kind: Pod"));
    assert!(reply.body.contains("name: pod1"));
}

#[tokio::test]
async fn path_traversal_on_files_is_impossible() {
    let app = test_app().await;
    for path in [
        "/lessons/pod-connectivity/files/..%2Flesson.yaml",
        "/lessons/pod-connectivity/files/..%2F..%2F..%2Fcatalogue.yaml",
        "/lessons/pod-connectivity/files/%2e%2e%2f%2e%2e%2fCargo.toml",
        "/lessons/pod-connectivity/files/..%5C..%5Ccatalogue.yaml",
        "/lessons/pod-connectivity/files/%2Fetc%2Fpasswd",
        "/lessons/pod-connectivity/files/../../../etc/passwd",
        "/lessons/..%2F..%2Fetc/files/passwd",
        "/static/..%2F..%2FCargo.toml",
        "/static/../Cargo.toml",
    ] {
        let reply = app.get(path, None).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!reply.body.contains("root:"), "{path}");
        assert!(!reply.body.contains("[package]"), "{path}");
    }
}

#[tokio::test]
async fn marking_a_section_done_with_the_form_persists() {
    let app = test_app().await;
    let cookie = app.learner().await;
    let post = |done: &str| {
        request(
            Method::POST,
            "/lessons/pod-connectivity/sections/theory/done",
        )
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "http://localhost:8080")
        .body(Body::from(format!("done={done}")))
        .unwrap()
    };
    let reply = app.send(post("true")).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(
        reply.headers["location"],
        "/lessons/pod-connectivity#theory"
    );
    let page = app
        .get("/lessons/pod-connectivity", Some(&cookie))
        .await
        .body;
    assert!(page.contains("<section id=\"theory\" class=\"lesson-section done\""));
    assert!(page.contains("<span class=\"done-count\">1</span>"));
    let reply = app.send(post("false")).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let page = app
        .get("/lessons/pod-connectivity", Some(&cookie))
        .await
        .body;
    assert!(page.contains("<span class=\"done-count\">0</span>"));
}

#[tokio::test]
async fn bad_forms_and_unknown_sections_are_refused_clearly() {
    let app = test_app().await;
    let cookie = app.learner().await;
    let reply = app
        .send(
            request(
                Method::POST,
                "/lessons/pod-connectivity/sections/theory/done",
            )
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from("done=maybe"))
            .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body.contains("Bad form"));
    let reply = app
        .send(
            request(Method::POST, "/lessons/pod-connectivity/sections/nope/done")
                .header("cookie", &cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from("done=true"))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.body.contains("has no section `nope`"));
}

#[tokio::test]
async fn learner_sets_a_display_name() {
    let app = test_app().await;
    let cookie = app.learner().await;
    let reply = app
        .send(
            request(Method::POST, "/me/name")
                .header("cookie", &cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from("display_name=Ada+%3Cb%3E"))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let page = app.get("/me", Some(&cookie)).await.body;
    assert!(
        page.contains("Ada &#60;b&#62;") || page.contains("Ada &lt;b&gt;"),
        "escaped name"
    );
    assert!(!page.contains("Ada <b>"));
}

#[tokio::test]
async fn health_and_static_assets() {
    let app = test_app().await;
    let reply = app.get("/healthz", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["status"], "ok");
    assert!(reply.cookie().is_none(), "no cookie for health checks");

    let reply = app.get("/static/css/kubelab.css", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["content-type"], "text/css; charset=utf-8");
    let etag = reply.headers["etag"].to_str().unwrap().to_string();
    let reply = app
        .send(
            request(Method::GET, "/static/css/kubelab.css")
                .header("if-none-match", &etag)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);

    let reply = app.get("/static/highlight.css", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.contains(".h0{color:#"));
    let reply = app.get("/static/js/kubelab.js", None).await;
    assert_eq!(
        reply.headers["content-type"],
        "text/javascript; charset=utf-8"
    );
}

#[tokio::test]
async fn tasks_that_share_objects_say_so() {
    let app = test_app().await;
    let page = app.get("/tasks/fix-port-conflict", None).await.body;
    assert!(page.contains("Shares the cluster with other tasks"));
    assert!(page.contains("href=\"/tasks/intra-pod-localhost\""));
    assert!(page.contains("Pod multi/multi-container"));
    let page = app.get("/tasks/install-flannel", None).await.body;
    assert!(page.contains("the CNI"), "{page}");
}
