//! kubectl v1.32 against the fake, through the generated kubeconfig. Skipped (with a
//! message) when kubectl is not installed.

use std::path::PathBuf;
use std::process::Command;

use fake_apiserver::{ExecRule, FakeCluster, Server};

use crate::support::cluster;

struct Kubectl {
    kubeconfig: PathBuf,
    cache: PathBuf,
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn kubectl_missing() -> bool {
    let found = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("SKIPPED: kubectl is not installed; the kubectl tests did not run");
    }
    !found
}

impl Kubectl {
    fn new(cluster: &FakeCluster, server: &Server) -> Self {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("fake-apiserver-kubectl-{}", server.addr.port()));
        std::fs::create_dir_all(&dir).unwrap();
        let kubeconfig = dir.join("kubeconfig.yaml");
        std::fs::write(&kubeconfig, cluster.kubeconfig(server, "kind-kubelab")).unwrap();
        Kubectl {
            kubeconfig,
            cache: dir.join("cache"),
        }
    }

    async fn run(&self, args: &[&str]) -> Run {
        let mut command = Command::new("kubectl");
        command
            .env_remove("KUBECONFIG")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args);
        let out = tokio::task::spawn_blocking(move || command.output())
            .await
            .unwrap()
            .unwrap();
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs and expects success; returns stdout.
    async fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args).await;
        assert_eq!(
            run.code,
            Some(0),
            "kubectl {args:?} failed:\n{}\n{}",
            run.stdout,
            run.stderr
        );
        run.stdout
    }
}

impl Drop for Kubectl {
    fn drop(&mut self) {
        if let Some(dir) = self.kubeconfig.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The whitespace-separated columns of the row whose first columns equal `key`.
fn row<'a>(table: &'a str, key: &[&str]) -> Vec<&'a str> {
    table
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|cols| cols.starts_with(key))
        .unwrap_or_else(|| panic!("no row {key:?} in\n{table}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_reads_execs_and_applies() {
    if kubectl_missing() {
        return;
    }
    let cluster = cluster();
    // pod1 asks its own nginx: pod2 crash-loops in the fixture, so nothing could answer there.
    cluster.script_exec(
        ExecRule::new("test", "pod1", ["curl", "-s", "http://127.0.0.1/"])
            .container("nginx")
            .stdout("hello from nginx\n"),
    );
    let server = cluster.start().await.unwrap();
    let k = Kubectl::new(&cluster, &server);

    let pods = k.ok(&["get", "pods", "-n", "test"]).await;
    assert!(pods.starts_with("NAME "), "{pods}");
    assert_eq!(row(&pods, &["pod1"])[1..4], ["2/2", "Running", "0"]);
    assert_eq!(
        row(&pods, &["pod2"])[1..4],
        ["0/1", "CrashLoopBackOff", "5"]
    );

    let nodes = k.ok(&["get", "nodes"]).await;
    let cp = row(&nodes, &["kind-control-plane"]);
    assert_eq!((cp[1], cp[2], cp[4]), ("Ready", "control-plane", "v1.32.0"));
    assert_eq!(row(&nodes, &["kind-worker"])[1], "Ready");

    let ds = k.ok(&["get", "ds", "-A", "-l", "app=flannel"]).await;
    assert_eq!(
        row(&ds, &["kube-flannel", "kube-flannel-ds"])[2..5],
        ["2", "2", "2"]
    );

    let exec = k
        .run(&[
            "exec",
            "-n",
            "test",
            "pod1",
            "-c",
            "nginx",
            "--",
            "curl",
            "-s",
            "http://127.0.0.1/",
        ])
        .await;
    assert_eq!(
        (exec.code, exec.stdout.as_str()),
        (Some(0), "hello from nginx\n"),
        "{}",
        exec.stderr
    );
    let exec_request = cluster
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/exec"))
        .unwrap();
    assert_eq!(
        exec_request.method, "GET",
        "kubectl uses the WebSocket executor"
    );
    assert_eq!(exec_request.path, "/api/v1/namespaces/test/pods/pod1/exec");

    // The fixture scripts exit code 7 for the sidecar; kubectl exits with it.
    let failed = k
        .run(&[
            "exec",
            "-n",
            "test",
            "pod1",
            "-c",
            "sidecar",
            "--",
            "curl",
            "-s",
            "http://10.244.1.3/",
        ])
        .await;
    assert_eq!(failed.code, Some(7), "{}", failed.stderr);
    assert!(
        failed
            .stderr
            .contains("command terminated with exit code 7"),
        "{}",
        failed.stderr
    );
    let unscripted = k
        .run(&[
            "exec", "-n", "test", "pod1", "-c", "nginx", "--", "cat", "x",
        ])
        .await;
    assert_eq!(unscripted.code, Some(1));
    assert!(
        unscripted.stderr.contains("no ExecRule matches"),
        "{}",
        unscripted.stderr
    );

    let ip = k
        .ok(&[
            "get",
            "pod",
            "pod1",
            "-n",
            "test",
            "-o",
            "jsonpath={.status.podIP}",
        ])
        .await;
    assert_eq!(ip, "10.244.1.2");

    let wide = k.ok(&["get", "pods", "-A", "-o", "wide"]).await;
    // RESTARTS reads "5 (20h ago)" like on a real server, hence the offset.
    let pod2 = row(&wide, &["test", "pod2"]);
    assert_eq!(pod2[3..5], ["CrashLoopBackOff", "5"]);
    assert!(pod2[5].starts_with('(') && pod2[6] == "ago)", "{pod2:?}");
    assert_eq!(pod2[8..10], ["10.244.1.3", "kind-worker"]);
    let events = k
        .ok(&[
            "get",
            "events",
            "-n",
            "test",
            "--field-selector",
            "involvedObject.name=pod2",
        ])
        .await;
    assert!(events.contains("BackOff"), "{events}");
    let logs = k
        .ok(&["logs", "-n", "test", "pod1", "-c", "nginx", "--tail=1"])
        .await;
    assert!(logs.contains("GET / HTTP/1.1"), "{logs}");
    let names = k
        .ok(&[
            "get",
            "pods",
            "-n",
            "kube-flannel",
            "-l",
            "app=flannel",
            "-o",
            "name",
        ])
        .await;
    assert_eq!(names, "pod/kube-flannel-ds-x7k2p\n");

    // kubectl apply (client- and server-side) and delete send JSON; they work.
    let manifest = k.kubeconfig.with_file_name("cm.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n  namespace: test\ndata:\n  a: \"1\"\n",
    )
    .unwrap();
    let manifest = manifest.to_str().unwrap();
    assert!(
        k.ok(&["apply", "-f", manifest])
            .await
            .contains("configmap/demo created")
    );
    assert!(
        k.ok(&["apply", "--server-side", "-f", manifest])
            .await
            .contains("serverside-applied")
    );
    assert_eq!(
        cluster
            .get("v1", "ConfigMap", Some("test"), "demo")
            .unwrap()["data"]["a"],
        "1"
    );
    k.ok(&["label", "pod", "pod1", "-n", "test", "checked=yes"])
        .await;
    assert_eq!(
        cluster.get("v1", "Pod", Some("test"), "pod1").unwrap()["metadata"]["labels"]["checked"],
        "yes"
    );
    k.ok(&["delete", "-f", manifest]).await;
    assert!(
        cluster
            .get("v1", "ConfigMap", Some("test"), "demo")
            .is_none()
    );
    k.ok(&[
        "wait",
        "--for=condition=Ready",
        "pod/pod1",
        "-n",
        "test",
        "--timeout=5s",
    ])
    .await;
}
