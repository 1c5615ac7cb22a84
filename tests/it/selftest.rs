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
            .args(["--timeout", "90"])
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
