//! Task setup and reset against the fake API server: server-side apply, deletes, and the
//! remove-cni fault with its node pods, all idempotent.

use axum::http::{Method, StatusCode};
use kubelab::{Action, SetupOptions, run_steps};
use kubelab::{Connection, KubeconfigSource};

use crate::fake::*;

async fn post(env: &Env, path: &str) -> serde_json::Value {
    let cookie = env.app.learner().await;
    let reply = env.app.call(Method::POST, path, &cookie).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()
}

#[tokio::test]
async fn setup_applies_the_tasks_files_server_side_and_is_idempotent() {
    let env = env().await;
    for _ in 0..2 {
        let outcome = post(&env, "/api/v1/tasks/fix-port-conflict/setup").await;
        assert_eq!(outcome["ok"], true, "{outcome:#}");
        // First whether the cluster can host it, then what the task owns is deleted (and
        // waited for), then its files are applied.
        assert_eq!(outcome["steps"].as_array().unwrap().len(), 4);
        assert!(
            outcome["steps"][0]["step"]
                .as_str()
                .unwrap()
                .starts_with("check the cluster")
        );
        assert_eq!(
            outcome["steps"][1]["step"],
            "delete Pod multi/multi-container"
        );
    }
    let pod = env
        .fake
        .get("v1", "Pod", Some("multi"), "multi-container")
        .expect("the broken pod exists");
    let containers = pod["spec"]["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 2);
    assert_eq!(
        containers[1]["ports"][0]["containerPort"], 80,
        "the second container really binds port 80 too"
    );
    assert!(env.fake.get("v1", "Namespace", None, "multi").is_some());
    let applies: Vec<_> = env
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH" && r.path.ends_with("/pods/multi-container"))
        .collect();
    assert_eq!(applies.len(), 2);
    assert!(
        applies[0].query.contains("fieldManager=kubelab"),
        "{:?}",
        applies[0]
    );
    assert!(applies[0].query.contains("force=true"));

    let outcome = post(&env, "/api/v1/tasks/fix-port-conflict/reset").await;
    assert_eq!(outcome["ok"], true, "{outcome:#}");
    assert!(
        env.fake
            .get("v1", "Pod", Some("multi"), "multi-container")
            .is_none()
    );
    let outcome = post(&env, "/api/v1/tasks/fix-port-conflict/reset").await;
    assert_eq!(outcome["ok"], true, "reset twice is harmless");
    assert!(
        outcome["steps"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("already absent")
    );
}

#[tokio::test]
async fn the_remove_cni_fault_deletes_flannel_and_its_node_state() {
    let env = env().await;
    nodes(&env.fake, true);
    flannel(&env.fake, 2);
    let kubelet = complete_fault_pods(&env.fake);
    let outcome = post(&env, "/api/v1/tasks/fix-missing-cni/setup").await;
    kubelet.abort();
    assert_eq!(outcome["ok"], true, "{outcome:#}");
    let steps: Vec<String> = outcome["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["detail"].as_str().unwrap().to_string())
        .collect();
    // Setup deletes the DaemonSet the task owns first, then the fault clears every node.
    assert!(
        steps
            .iter()
            .any(|s| s.contains("deleted DaemonSet kube-flannel/kube-flannel-ds")),
        "{steps:?}"
    );
    assert!(
        steps
            .iter()
            .any(|s| s.contains("on node kubelab-control-plane")
                && s.contains("on node kubelab-worker")),
        "{steps:?}"
    );
    assert!(
        env.fake
            .get(
                "apps/v1",
                "DaemonSet",
                Some("kube-flannel"),
                "kube-flannel-ds"
            )
            .is_none()
    );
    assert!(env.fake.get("v1", "Pod", Some("test"), "pod1").is_some());
    // Fault pods ran privileged on each node with the host paths, and were removed.
    let created: Vec<_> = env
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/api/v1/namespaces/kube-system/pods")
        .collect();
    assert_eq!(created.len(), 2);
    assert!(env.fake.list("v1", "Pod").iter().all(|p| {
        !p["metadata"]["name"]
            .as_str()
            .unwrap()
            .starts_with("kubelab-fault-")
    }));
}

#[tokio::test]
async fn undoing_the_fault_reinstalls_flannel_from_the_pinned_manifest() {
    let env = env().await;
    nodes(&env.fake, true);
    let manifest = env.app.dir.path().join("kube-flannel.yml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: kube-flannel\n---\napiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: kube-flannel-ds\n  namespace: kube-flannel\n  labels: {app: flannel}\nspec:\n  selector:\n    matchLabels: {app: flannel}\n  template:\n    metadata:\n      labels: {app: flannel}\n    spec:\n      containers:\n      - name: kube-flannel\n        image: ghcr.io/flannel-io/flannel:v0.28.9\n",
    )
    .unwrap();
    let conn = Connection::open(
        &KubeconfigSource::file(env.kubeconfig.clone()),
        "kind-kubelab",
    )
    .await
    .unwrap();
    let options = SetupOptions {
        flannel_manifest: Some(manifest),
    };
    let task = env
        .app
        .state
        .service
        .catalogue()
        .task("fix-missing-cni")
        .unwrap();
    let outcome = run_steps(
        &conn,
        &options,
        env.app.state.service.catalogue(),
        task,
        Action::Reset,
    )
    .await;
    assert!(outcome.ok, "{outcome:#?}");
    assert!(
        outcome
            .steps
            .last()
            .unwrap()
            .detail
            .contains("DaemonSet kube-flannel/kube-flannel-ds")
    );
    assert!(
        env.fake
            .get(
                "apps/v1",
                "DaemonSet",
                Some("kube-flannel"),
                "kube-flannel-ds"
            )
            .is_some()
    );
}

#[tokio::test]
async fn setup_asks_first_and_shows_each_step() {
    let env = env().await;
    let cookie = env.app.learner().await;
    let page = env
        .app
        .get("/tasks/fix-missing-cni/setup", Some(&cookie))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("break the pod network"));
    assert!(
        page.body
            .contains("<form method=\"post\" action=\"/tasks/fix-missing-cni/setup\">")
    );
    assert!(
        env.fake.requests().iter().all(|r| r.method == "GET"),
        "showing the plan changes nothing"
    );

    let done = env
        .app
        .send(
            crate::support::request(Method::POST, "/tasks/deploy-two-pods/reset")
                .header("cookie", &cookie)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.body.contains("delete Pod test/pod1"), "{}", done.body);
}

#[tokio::test]
async fn a_cluster_that_cannot_host_the_task_is_named() {
    let env = env().await;
    nodes(&env.fake, true);
    env.fake.apply(serde_json::json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "kindnet", "namespace": "kube-system", "labels": {"app": "kindnet"}},
        "spec": {"selector": {"matchLabels": {"app": "kindnet"}}, "template": {"metadata": {"labels": {"app": "kindnet"}}, "spec": {"containers": [{"name": "kindnet-cni", "image": "kindest/kindnetd"}]}}},
        "status": {"desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberReady": 2, "numberAvailable": 2, "numberMisscheduled": 0}
    }));
    let cookie = env.app.learner().await;
    env.app.call(Method::GET, "/api/v1/cluster", &cookie).await;
    let page = env
        .app
        .get("/tasks/install-flannel", Some(&cookie))
        .await
        .body;
    assert!(
        page.contains("already runs a CNI (kube-system/kindnet)"),
        "{page}"
    );
    let page = env
        .app
        .get("/tasks/deploy-two-pods", Some(&cookie))
        .await
        .body;
    assert!(!page.contains("cluster-unsuitable"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_and_reset_from_the_cli() {
    let env = env().await;
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kubelab"))
            .args(args)
            .arg("--kubeconfig")
            .arg(&env.kubeconfig)
            .env_remove("KUBELAB_CONTEXT")
            .env_remove("KUBELAB_FLANNEL_MANIFEST")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) =
        tokio::task::block_in_place(|| run(&["setup", "intra-pod-localhost"]));
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("[done] apply namespace-multi.yaml: Namespace multi"),
        "{stdout}"
    );
    assert!(env.fake.get("v1", "Namespace", None, "multi").is_some());
    let (code, stdout, _) = tokio::task::block_in_place(|| run(&["reset", "intra-pod-localhost"]));
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains("multi-container was already absent"),
        "{stdout}"
    );
    let (code, _, stderr) = tokio::task::block_in_place(|| run(&["setup", "nope"]));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("there is no task `nope`"));
}

#[tokio::test]
async fn api_errors_stop_setup_with_the_reason() {
    for (code, words) in [(409, "409"), (403, "forbidden"), (404, "404")] {
        let env = env().await;
        env.fake.inject(fake_apiserver::Fault::Status {
            path_contains: "/pods/multi-container".into(),
            method: Some("PATCH".into()),
            status: code,
            times: None,
        });
        let outcome = post(&env, "/api/v1/tasks/fix-port-conflict/setup").await;
        assert_eq!(outcome["ok"], false, "{code}");
        let steps = outcome["steps"].as_array().unwrap();
        // The cluster check, the owned pod's delete and the namespace apply succeed; the pod's
        // apply fails.
        assert_eq!(steps.len(), 4, "stops at the failed step");
        assert_eq!(steps[0]["ok"], true);
        assert_eq!(steps[1]["ok"], true);
        assert_eq!(steps[2]["ok"], true);
        assert_eq!(steps[3]["ok"], false);
        assert!(
            steps[3]["detail"].as_str().unwrap().contains(words),
            "{code}: {outcome:#}"
        );
    }
}

/// The steps of a task's action on the fake, run as `kubelab setup`/`reset` run them.
async fn act(env: &Env, task: &str, action: Action) -> kubelab::Outcome {
    let conn = Connection::open(
        &KubeconfigSource::file(env.kubeconfig.clone()),
        "kind-kubelab",
    )
    .await
    .unwrap();
    let catalogue = env.app.state.service.catalogue();
    let task = catalogue.task(task).unwrap();
    run_steps(&conn, &SetupOptions::default(), catalogue, task, action).await
}

/// On a real API server a deleted Pod stays Terminating for its grace period, and applying a
/// different Pod of the same name meanwhile is a 422: reset must wait, and setup must start
/// from its own state whatever was there.
#[tokio::test]
async fn a_reset_then_another_tasks_setup_waits_for_the_terminating_pod() {
    let env = env().await;
    nodes(&env.fake, true);
    let setup = act(&env, "intra-pod-localhost", Action::Setup).await;
    assert!(setup.ok, "{setup:#?}");
    let solved = act(&env, "intra-pod-localhost", Action::Solve).await;
    assert!(solved.ok, "{solved:#?}");
    let pod = env
        .fake
        .get("v1", "Pod", Some("multi"), "multi-container")
        .unwrap();
    assert_eq!(
        pod["spec"]["nodeName"], "kubelab-worker",
        "the fake schedules like kube-scheduler: not on the tainted control plane"
    );

    let reset = act(&env, "intra-pod-localhost", Action::Reset).await;
    assert!(reset.ok, "{reset:#?}");
    assert!(reset.steps[0].detail.contains("gone after"), "{reset:#?}");
    assert!(
        env.fake
            .get("v1", "Pod", Some("multi"), "multi-container")
            .is_none(),
        "reset returns once the pod is really gone"
    );
    let setup = act(&env, "fix-port-conflict", Action::Setup).await;
    assert!(setup.ok, "{setup:#?}");

    // Setup on top of another task's pod of the same name: deleted and waited for first.
    let solved = act(&env, "intra-pod-localhost", Action::Solve).await;
    assert!(
        !solved.ok,
        "applying other ports onto an existing Pod is refused"
    );
    assert!(
        solved.steps.iter().any(|s| s
            .detail
            .contains("pod updates may not change fields other than")),
        "{solved:#?}"
    );
    let setup = act(&env, "fix-port-conflict", Action::Setup).await;
    assert!(setup.ok, "{setup:#?}");
    let pod = env
        .fake
        .get("v1", "Pod", Some("multi"), "multi-container")
        .unwrap();
    assert_eq!(
        pod["spec"]["containers"][1]["ports"][0]["containerPort"],
        80
    );
}

/// Deleting a namespace takes as long as its contents: a setup that applies into it right
/// after a cleanup must not land in a namespace that is still terminating (403).
#[tokio::test]
async fn a_namespace_deleted_by_cleanup_is_gone_before_the_next_setup() {
    let env = env().await;
    nodes(&env.fake, true);
    let solved = act(&env, "deploy-two-pods", Action::Solve).await;
    assert!(solved.ok, "{solved:#?}");
    let reset = act(&env, "deploy-two-pods", Action::Reset).await;
    assert!(reset.ok, "{reset:#?}");
    assert!(env.fake.get("v1", "Namespace", None, "test").is_none());
    // Creating the namespace and its Pods again right away must not meet a terminating one.
    let again = act(&env, "deploy-two-pods", Action::Solve).await;
    assert!(again.ok, "{again:#?}");
}

/// What setup cannot establish it refuses, saying how to get a cluster that can host the task.
#[tokio::test]
async fn setup_refuses_a_cluster_that_cannot_host_the_task() {
    let env = env().await;
    nodes(&env.fake, false);
    let setup = act(&env, "fix-port-conflict", Action::Setup).await;
    assert!(!setup.ok, "{setup:#?}");
    assert_eq!(setup.steps.len(), 1, "nothing is touched: {setup:#?}");
    assert!(
        setup.steps[0]
            .detail
            .contains("do the Install Flannel task first"),
        "{setup:#?}"
    );
    assert!(env.fake.get("v1", "Namespace", None, "multi").is_none());

    let env = env_on_calico().await;
    let setup = act(&env, "install-flannel", Action::Setup).await;
    assert!(!setup.ok, "{setup:#?}");
    assert!(
        setup.steps[0]
            .detail
            .contains("runs kube-system/calico-node, which kubelab does not remove"),
        "{setup:#?}"
    );
}

async fn env_on_calico() -> Env {
    let env = env().await;
    nodes(&env.fake, true);
    env.fake.apply(serde_json::json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "calico-node", "namespace": "kube-system"},
        "spec": {"selector": {"matchLabels": {"k8s-app": "calico-node"}},
                 "template": {"metadata": {"labels": {"k8s-app": "calico-node"}},
                              "spec": {"containers": [{"name": "calico-node", "image": "calico/node:v3.29"}]}}}
    }));
    env
}

/// Plays the kubelet for every scheduled pod of a namespace: Running and Ready, with an IP
/// from its node's range.
fn kubelet_runs(env: &Env, namespace: &str) {
    for (i, mut pod) in env
        .fake
        .list("v1", "Pod")
        .into_iter()
        .filter(|p| p["metadata"]["namespace"] == namespace)
        .enumerate()
    {
        let node = pod["spec"]["nodeName"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let subnet = if node.ends_with("control-plane") {
            0
        } else {
            1
        };
        let ip = format!("10.244.{subnet}.{}", 10 + i);
        let containers = pod["spec"]["containers"].as_array().unwrap().clone();
        pod["apiVersion"] = "v1".into();
        pod["kind"] = "Pod".into();
        pod["status"] = serde_json::json!({
            "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": containers.iter().map(|c| serde_json::json!({
                "name": c["name"], "ready": true, "restartCount": 0, "image": c["image"],
                "imageID": "", "state": {"running": {"startedAt": ago(120)}}})).collect::<Vec<_>>(),
        });
        env.fake.apply(pod);
    }
}

/// The cross-node task: two Pods left where the scheduler puts them share the worker and lose
/// the criterion; the reference solution spreads them and keeps full marks.
#[tokio::test]
async fn pods_across_nodes_wrong_and_right() {
    let env = env().await;
    nodes(&env.fake, true);
    flannel(&env.fake, 2);
    let cookie = env.app.learner().await;
    let setup = act(&env, "pods-across-nodes", Action::Setup).await;
    assert!(setup.ok, "{setup:#?}");

    // Wrong: plain Pods, nothing about nodes.
    for name in ["left", "right"] {
        env.fake.apply_yaml(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: across}}\nspec:\n  nodeName: kubelab-worker\n  containers: [{{name: nginx, image: 'nginx:1.25', ports: [{{containerPort: 80}}]}}]\n"
        ));
    }
    kubelet_runs(&env, "across");
    let reply = env
        .app
        .call(
            Method::POST,
            "/api/v1/tasks/pods-across-nodes/check",
            &cookie,
        )
        .await;
    let verdict = reply.json();
    let different = verdict["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "different-nodes")
        .unwrap();
    assert_eq!(different["status"], "failed", "{verdict:#}");
    assert!(
        different["evidence"]
            .to_string()
            .contains("both run on node kubelab-worker"),
        "{different:#}"
    );

    // Right: the reference solution, through the API server's scheduler.
    let setup = act(&env, "pods-across-nodes", Action::Setup).await;
    assert!(setup.ok, "{setup:#?}");
    let solved = act(&env, "pods-across-nodes", Action::Solve).await;
    assert!(solved.ok, "{solved:#?}");
    let node = |name: &str| {
        env.fake.get("v1", "Pod", Some("across"), name).unwrap()["spec"]["nodeName"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_ne!(node("left"), node("right"), "anti-affinity spreads them");
    kubelet_runs(&env, "across");
    let right_ip = env.fake.get("v1", "Pod", Some("across"), "right").unwrap()["status"]["podIP"]
        .as_str()
        .unwrap()
        .to_string();
    env.fake.script_exec(
        fake_apiserver::ExecRule::new("across", "left", kubelab::probe::http(&right_ip, 80))
            .stdout("HTTP/1.1 200 OK\r\n"),
    );
    let verdict = env
        .app
        .call(
            Method::POST,
            "/api/v1/tasks/pods-across-nodes/check",
            &cookie,
        )
        .await
        .json();
    assert_eq!(verdict["score"], verdict["max_score"], "{verdict:#}");
}
