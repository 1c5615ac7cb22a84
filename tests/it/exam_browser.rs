//! Practice exams in headless Chromium against fake API servers: sitting the full exam on
//! three clusters, and a short exam graded by the server after its page was closed.

use std::time::{Duration, Instant};

use fake_apiserver::{FakeCluster, Server};
use fantoccini::Locator;
use kubelab::AttemptStatus as Status;
use kubelab::ContentFiles;
use kubelab::Store;
use kubelab::{AllowedContexts, Clusters, KubeconfigSource};
use kubelab::{AllowedHosts, AppState};

use crate::browser::{browser, click, eval, save, start_driver, wait_for, wait_for_secs};
use crate::exams::solve_deploy_two_pods;
use crate::fake::*;

/// A kubeconfig naming each fake server as its own context; the first is current.
fn kubeconfig(clusters: &[(&str, &Server)]) -> String {
    let mut text = String::from("apiVersion: v1\nkind: Config\npreferences: {}\nclusters:\n");
    for (name, server) in clusters {
        text += &format!("- name: {name}\n  cluster:\n    server: {}\n", server.url());
    }
    text += "users:\n";
    for (name, _) in clusters {
        text += &format!("- name: {name}\n  user:\n    token: fake-apiserver-token\n");
    }
    text += "contexts:\n";
    for (name, _) in clusters {
        text += &format!(
            "- name: {name}\n  context:\n    cluster: {name}\n    user: {name}\n    namespace: default\n"
        );
    }
    text + &format!("current-context: {}\n", clusters[0].0)
}

async fn text(client: &fantoccini::Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sit_the_full_exam_on_three_clusters_in_chromium() {
    let Some(driver) = start_driver() else { return };
    let (main, bare, repair) = (FakeCluster::new(), FakeCluster::new(), FakeCluster::new());
    let (main_server, bare_server, repair_server) = (
        main.start().await.unwrap(),
        bare.start().await.unwrap(),
        repair.start().await.unwrap(),
    );
    nodes(&main, true);
    flannel(&main, 2);
    // The bare cluster has no CNI: its nodes are NotReady. Host-network pods still run there,
    // so install-flannel's setup clears the node files with its fault pods.
    nodes(&bare, false);
    let _bare_kubelet = complete_fault_pods(&bare);
    nodes(&repair, true);
    flannel(&repair, 2);
    let _kubelet = complete_fault_pods(&repair);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    std::fs::write(
        &path,
        kubeconfig(&[
            ("kind-kubelab", &main_server),
            ("kind-kubelab-bare", &bare_server),
            ("kind-kubelab-repair", &repair_server),
        ]),
    )
    .unwrap();
    let store = Store::open(&dir.path().join("kubelab.db")).await.unwrap();
    let state = AppState::new(
        kubelab::load_content(&ContentFiles::embedded()).unwrap(),
        store,
        AllowedHosts::loopback_and(Vec::new()),
        Clusters::new(KubeconfigSource::file(path), None, AllowedContexts::All),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = kubelab::app(state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let client = browser(&driver).await;

    // From the catalogue to the exam's start page.
    client.goto(&format!("http://{addr}/")).await.unwrap();
    click(&client, "a[href='/exams/pod-connectivity']").await;
    wait_for(&client, "document.querySelector('.exam-rules')").await;
    let selected = eval(
        &client,
        "return Array.from(document.querySelectorAll('.exam-context select')).map(s => s.value);",
    )
    .await;
    assert_eq!(
        selected,
        serde_json::json!(["kind-kubelab", "kind-kubelab-bare", "kind-kubelab-repair"]),
        "each exam context defaults to the kubeconfig context of its name"
    );
    save(&client, "exam-start").await;
    click(&client, ".exam-start-form button[type=submit]").await;

    // Preparation runs every setup (the fault on the repair cluster included), then the clock.
    wait_for_secs(&client, "document.querySelector('.exam-timer')", 30).await;
    assert!(
        repair
            .get(
                "apps/v1",
                "DaemonSet",
                Some("kube-flannel"),
                "kube-flannel-ds"
            )
            .is_none(),
        "fix-missing-cni's setup removed Flannel from its own cluster only"
    );
    assert!(
        main.get(
            "apps/v1",
            "DaemonSet",
            Some("kube-flannel"),
            "kube-flannel-ds"
        )
        .is_some()
    );
    let first = text(&client, ".exam-timer").await;
    assert!(
        first == "24:00" || first.starts_with("23:5"),
        "a fresh 24-minute clock: {first}"
    );
    wait_for(
        &client,
        &format!("document.querySelector('.exam-timer').textContent !== '{first}'"),
    )
    .await;
    assert!(
        eval(
            &client,
            "return document.body.textContent.includes('Hint 1');"
        )
        .await
        .as_bool()
            == Some(false),
        "hints are hidden"
    );

    // The learner solves two of the four tasks on their clusters.
    solve_deploy_two_pods(&main);
    multi_container(&main, "redis:7", 6379, false);

    client
        .find(Locator::LinkText(
            "4. Fix the port conflict in a multi-container Pod",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        &client,
        "document.querySelector('.exam-context-line').textContent.includes('kind-kubelab')",
    )
    .await;
    click(&client, ".flag-form button").await;
    wait_for(&client, "document.querySelector('.exam-tasks .badge.flag')").await;
    save(&client, "exam-view").await;

    click(&client, ".exam-submit summary").await;
    click(&client, ".exam-submit button[type=submit]").await;
    wait_for_secs(&client, "document.querySelector('.exam-score')", 30).await;
    let scores = eval(
        &client,
        "return Array.from(document.querySelectorAll('.exam-summary tbody tr')).map(r => [r.dataset.task, r.querySelector('.task-score').textContent.trim()]);",
    )
    .await;
    assert_eq!(
        scores,
        serde_json::json!([
            ["deploy-two-pods", "11 / 11"],
            ["install-flannel", "0 / 8"],
            ["fix-missing-cni", "1 / 9"],
            ["fix-port-conflict", "6 / 6"],
        ]),
        "solved tasks score in full; on the repair cluster only its Ready nodes count"
    );
    assert_eq!(
        text(&client, ".exam-score").await,
        "18 / 34 points (52.9 %)"
    );
    assert_eq!(text(&client, ".exam-verdict").await, "not passed");
    assert!(
        eval(
            &client,
            "return document.querySelectorAll('.exam-solutions details').length;"
        )
        .await
            == serde_json::json!(4)
    );
    save(&client, "exam-report").await;
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exam_left_alone_is_graded_at_its_deadline() {
    let Some(driver) = start_driver() else { return };
    let mut files = ContentFiles::embedded();
    files.files.insert(
        "exams/one-minute.yaml".to_string(),
        b"id: one-minute\ntitle: One-minute exam\nsummary: A short exam for tests.\nminutes: 1\n\
contexts:\n  - name: kind-kubelab\n    description: the lesson cluster\n\
tasks:\n  - task: deploy-two-pods\n    context: kind-kubelab\n"
            .to_vec(),
    );
    let env = env_with(files).await;
    nodes(&env.fake, true);
    flannel(&env.fake, 2);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = env.app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let client = browser(&driver).await;

    client
        .goto(&format!("http://{addr}/exams/one-minute"))
        .await
        .unwrap();
    click(&client, ".exam-start-form button[type=submit]").await;
    wait_for_secs(&client, "document.querySelector('.exam-timer')", 30).await;
    let shown = text(&client, ".exam-timer").await;
    assert!(shown.starts_with("00:") || shown == "01:00", "{shown}");
    wait_for(&client, "!document.querySelector('.exam-notice').hidden").await;
    save(&client, "exam-short-running").await;
    // The learner does part of the task, then closes the page.
    namespace_test(&env.fake);
    client.goto("about:blank").await.unwrap();

    let started = Instant::now();
    let attempt = loop {
        let attempt = env.app.store.exam_attempt(1).await.unwrap().unwrap();
        if attempt.status == Status::Graded {
            break attempt;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the server never graded the expired exam"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let deadline = attempt.timer.unwrap().deadline_at;
    assert_eq!(
        attempt.ended_at,
        Some(deadline),
        "work ended at the deadline"
    );
    assert!(attempt.graded_at.unwrap() >= deadline);
    assert!(
        attempt.late_reason.is_none(),
        "on time: {:?}",
        attempt.late_reason
    );
    assert_eq!(attempt.submitted_at, None);

    client
        .goto(&format!("http://{addr}/exams/attempts/1"))
        .await
        .unwrap();
    wait_for(&client, "document.querySelector('.exam-score')").await;
    assert_eq!(text(&client, ".exam-score").await, "1 / 11 points (9.0 %)");
    assert!(
        text(&client, ".exam-report .page-head")
            .await
            .contains("Time ran out")
    );
    save(&client, "exam-short-report").await;
    client.close().await.unwrap();
}
