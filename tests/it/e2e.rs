//! The real-cluster suite is `kubelab selftest` on a fresh lesson cluster: for every task,
//! reset, setup (not full marks), each wrong answer (loses its named criteria), each right
//! answer and the reference solution (full marks), reset. Skipped, with a visible message,
//! unless KUBELAB_E2E_KUBECONFIG names a kubeconfig.
//!
//! Run it with a fresh lesson cluster (no CNI yet):
//!   kubelab cluster create --name kubelab
//!   KUBELAB_E2E_KUBECONFIG=~/.kube/config cargo test --test it e2e -- --nocapture
//! Optional: KUBELAB_E2E_CONTEXT (default kind-kubelab), KUBELAB_FLANNEL_MANIFEST (offline).
//! The same proof without cargo: `kubelab selftest --context kind-kubelab`.

use std::path::PathBuf;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_task_on_a_real_kind_cluster() {
    let Some(kubeconfig) = std::env::var_os("KUBELAB_E2E_KUBECONFIG").map(PathBuf::from) else {
        eprintln!(
            "SKIPPED e2e: set KUBELAB_E2E_KUBECONFIG to a kubeconfig whose context (KUBELAB_E2E_CONTEXT, default kind-kubelab) is a fresh lesson cluster from `kubelab cluster create`"
        );
        return;
    };
    let context =
        std::env::var("KUBELAB_E2E_CONTEXT").unwrap_or_else(|_| "kind-kubelab".to_string());
    let out = tokio::task::block_in_place(|| {
        std::process::Command::new(env!("CARGO_BIN_EXE_kubelab"))
            .args(["selftest", "--kubeconfig"])
            .arg(&kubeconfig)
            .args(["--context", &context])
            .stderr(std::process::Stdio::inherit())
            .output()
            .expect("kubelab runs")
    });
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert_eq!(
        out.status.code(),
        Some(0),
        "selftest did not hold:\n{stdout}"
    );
}
