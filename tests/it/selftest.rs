//! `kubelab selftest` on the fake API server's simulated kind cluster: every task's wrong
//! answers lose their named points, its right answers and reference solution keep full marks,
//! starting from a lesson cluster without a CNI, as on a fresh `kubelab cluster create`.

use std::path::{Path, PathBuf};
use std::process::Output;

use fake_apiserver::FakeCluster;

fn flannel_manifest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kube-flannel-v0.28.9.yml")
}

struct Simulated {
    fake: FakeCluster,
    _server: fake_apiserver::Server,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

async fn simulated() -> Simulated {
    let fake = FakeCluster::new();
    fake.simulate_kind("kubelab", 1);
    let server = fake.start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, fake.kubeconfig(&server, "kind-kubelab")).unwrap();
    Simulated {
        fake,
        _server: server,
        kubeconfig,
        _dir: dir,
    }
}

fn selftest(cluster: &Simulated, args: &[&str]) -> Output {
    let timeout: &[&str] = if args.contains(&"--timeout") {
        &[]
    } else {
        &["--timeout", "90"]
    };
    tokio::task::block_in_place(|| {
        std::process::Command::new(env!("CARGO_BIN_EXE_kubelab"))
            .arg("selftest")
            .args(args)
            .arg("--kubeconfig")
            .arg(&cluster.kubeconfig)
            .arg("--context")
            .arg("kind-kubelab")
            .arg("--flannel-manifest")
            .arg(flannel_manifest())
            .args(timeout)
            .env_remove("KUBELAB_CONTEXT")
            .env_remove("KUBELAB_CONTENT")
            .output()
            .unwrap()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selftest_proves_every_task_on_a_simulated_lesson_cluster() {
    let cluster = simulated().await;
    let out = selftest(&cluster, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    for task in [
        "install-flannel",
        "fix-missing-cni",
        "deploy-two-pods",
        "pods-across-nodes",
        "intra-pod-localhost",
        "fix-port-conflict",
    ] {
        assert!(
            stdout.contains(&format!("[ok] {task} solution")),
            "{task}: {stdout}"
        );
        assert!(
            stdout.contains(&format!("[ok] {task} starting state")),
            "{task}: {stdout}"
        );
    }
    assert!(stdout.contains(
        "[ok] fix-port-conflict wrong: only the sidecar's containerPort changed to 8080"
    ));
    assert!(stdout.contains("selftest: all "), "{stdout}");
    // The first task left the cluster without a CNI; the Flannel tasks put it back.
    assert!(
        cluster
            .fake
            .node_files("kubelab-worker")
            .contains(&"/run/flannel/subnet.env".to_string())
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A task that needs a pod network, on a cluster without one: selftest installs the pinned
/// Flannel first; `--json` prints only the report on stdout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selftest_prepares_a_network_and_reports_json() {
    let cluster = simulated().await;
    let out = selftest(&cluster, &["deploy-two-pods", "--json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("only JSON on stdout");
    assert_eq!(report["ok"], true);
    let lines = report["lines"].as_array().unwrap();
    assert_eq!(lines[0]["stage"], "prepare", "{report:#}");
    assert!(
        lines[0]["detail"]
            .as_str()
            .unwrap()
            .contains("installed the pinned Flannel"),
        "{report:#}"
    );
    let stages: Vec<&str> = lines.iter().map(|l| l["stage"].as_str().unwrap()).collect();
    assert!(
        stages.contains(&"wrong: another nginx version"),
        "{stages:?}"
    );
    assert_eq!(stages.last(), Some(&"reset"));
}

/// A wrong answer that does not lose the criterion it names, and a right answer that does
/// not reach full marks, are reported and fail the run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selftest_fails_when_the_content_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let content = dir.path().join("content");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("content"),
        &content,
    );
    let task = content.join("lessons/pod-connectivity/tasks/deploy-two-pods.yaml");
    let text = std::fs::read_to_string(&task).unwrap();
    // "another nginx version" claims to lose the namespace criterion, which it keeps; the
    // right answer's Pods run nginx 1.27, which loses pod1-running and pod2-running.
    let text = text
        .replace(
            "      - apply: pod2.yaml\n    fails: [pod1-running]\nright:",
            "      - apply: pod2.yaml\n    fails: [namespace-test]\nright:",
        )
        .replace("\"docker.io/library/nginx:1.25\"", "\"nginx:1.27\"");
    std::fs::write(&task, text).unwrap();
    let cluster = simulated().await;
    let out = selftest(
        &cluster,
        &[
            "deploy-two-pods",
            "--content",
            content.to_str().unwrap(),
            "--timeout",
            "8",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("[FAIL] deploy-two-pods wrong: another nginx version")
            && stdout.contains("should lose namespace-test, but: namespace-test passed"),
        "{stdout}"
    );
    assert!(
        stdout
            .contains("[FAIL] deploy-two-pods right: kubectl run's Pods, the image named in full")
            && stdout.contains("pod1-running failed"),
        "{stdout}"
    );
    assert!(stdout.contains("[ok] deploy-two-pods solution"), "{stdout}");
    assert!(stdout.contains("2 of "), "{stdout}");
}

/// From any task's solved state, its reset followed by any other task's setup succeeds on
/// the simulated cluster (with the pinned Flannel installed first where a task needs a
/// network and the reset left none).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_then_any_other_setup_succeeds() {
    use kubelab::{Action, Connection, KubeconfigSource, SetupOptions, run_steps};
    let cluster = simulated().await;
    let catalogue = kubelab::load_content(&kubelab::ContentFiles::embedded()).unwrap();
    let conn = Connection::open(
        &KubeconfigSource::file(cluster.kubeconfig.clone()),
        "kind-kubelab",
    )
    .await
    .unwrap();
    let options = SetupOptions {
        flannel_manifest: Some(flannel_manifest()),
    };
    let timing = kubelab::SelftestTiming {
        converge: std::time::Duration::from_secs(60),
        poll: std::time::Duration::from_millis(250),
    };
    let ids: Vec<&String> = catalogue.tasks.keys().collect();
    for first in &ids {
        let a = catalogue.task(first).unwrap();
        kubelab::prepare_network(&conn, &options, &catalogue, a, timing)
            .await
            .unwrap();
        for action in [Action::Setup, Action::Solve, Action::Reset] {
            let outcome = run_steps(&conn, &options, &catalogue, a, action).await;
            assert!(outcome.ok, "{first} {}: {outcome:#?}", action.as_str());
        }
        for second in ids.iter().filter(|id| id != &first) {
            let b = catalogue.task(second).unwrap();
            kubelab::prepare_network(&conn, &options, &catalogue, b, timing)
                .await
                .unwrap();
            let setup = run_steps(&conn, &options, &catalogue, b, Action::Setup).await;
            assert!(setup.ok, "reset {first}, then setup {second}: {setup:#?}");
            let reset = run_steps(&conn, &options, &catalogue, b, Action::Reset).await;
            assert!(reset.ok, "reset {second} after {first}: {reset:#?}");
        }
    }
}
