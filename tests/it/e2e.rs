//! The real-cluster suite: for every task, setup -> the reference solution -> check (full
//! marks expected) -> reset, on a kind cluster made for the lesson. Skipped, with a visible
//! message, unless KUBELAB_E2E_KUBECONFIG names a kubeconfig.
//!
//! Run it with a fresh lesson cluster (no CNI yet):
//!   kubelab cluster create --name kubelab
//!   KUBELAB_E2E_KUBECONFIG=~/.kube/config cargo test --test it e2e -- --nocapture
//! Optional: KUBELAB_E2E_CONTEXT (default kind-kubelab), KUBELAB_FLANNEL_MANIFEST (offline).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use kubelab::{Catalogue, ContentFiles};
use kubelab::{Connection, KubeconfigSource};

use kubelab::{Action, Outcome, SetupOptions, run_steps};

/// How long a solved task may take to converge on a real cluster (image pulls included).
const CONVERGE: Duration = Duration::from_secs(300);

fn ok(outcome: Outcome) {
    assert!(
        outcome.ok,
        "{} of {} failed: {:#?}",
        outcome.action.as_str(),
        outcome.task,
        outcome.steps
    );
}

async fn full_marks(conn: &Connection, catalogue: &Catalogue, id: &str) {
    let task = catalogue.task(id).unwrap();
    let started = Instant::now();
    loop {
        let verdict = kubelab::check(Ok(conn.clone()), task).await;
        if verdict.passed {
            eprintln!(
                "e2e: {id} passed with {}/{} after {:?}",
                verdict.score,
                verdict.max_score,
                started.elapsed()
            );
            return;
        }
        assert!(
            started.elapsed() < CONVERGE,
            "{id} did not reach full marks within {CONVERGE:?}: {}",
            serde_json::to_string_pretty(&verdict).unwrap()
        );
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
}

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
    let catalogue = kubelab::load_content(&ContentFiles::embedded()).unwrap();
    let conn = Connection::open(&KubeconfigSource::file(kubeconfig), &context)
        .await
        .expect("the cluster answers");
    let options = SetupOptions::from_env();
    let task = |id: &str| catalogue.task(id).unwrap();

    // The lesson cluster starts without a CNI: install Flannel first, and keep it.
    ok(run_steps(
        &conn,
        &options,
        &catalogue,
        task("install-flannel"),
        Action::Setup,
    )
    .await);
    ok(run_steps(
        &conn,
        &options,
        &catalogue,
        task("install-flannel"),
        Action::Solve,
    )
    .await);
    full_marks(&conn, &catalogue, "install-flannel").await;

    for id in [
        "deploy-two-pods",
        "intra-pod-localhost",
        "fix-port-conflict",
        "fix-missing-cni",
    ] {
        eprintln!("e2e: {id}");
        ok(run_steps(&conn, &options, &catalogue, task(id), Action::Setup).await);
        if id != "deploy-two-pods" {
            let broken = kubelab::check(Ok(conn.clone()), task(id)).await;
            assert!(
                !broken.passed || id == "intra-pod-localhost",
                "{id} must start broken: {broken:#?}"
            );
        }
        ok(run_steps(&conn, &options, &catalogue, task(id), Action::Solve).await);
        full_marks(&conn, &catalogue, id).await;
        ok(run_steps(&conn, &options, &catalogue, task(id), Action::Reset).await);
    }

    // Back to the starting point: no CNI.
    ok(run_steps(
        &conn,
        &options,
        &catalogue,
        task("install-flannel"),
        Action::Reset,
    )
    .await);
}
