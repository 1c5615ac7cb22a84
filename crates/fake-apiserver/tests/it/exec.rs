//! Exec over WebSocket with kube-rs.

use std::time::Duration;

use fake_apiserver::{ExecRule, Fault};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams};
use tokio::io::AsyncReadExt;

use crate::support::{api_status, serve};

struct Outcome {
    stdout: String,
    stderr: String,
    status: Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Status>,
}

async fn run(pods: &Api<Pod>, pod: &str, container: &str, command: &[&str]) -> Outcome {
    let params = AttachParams::default()
        .container(container)
        .stdout(true)
        .stderr(true)
        .stdin(false);
    let mut process = pods.exec(pod, command.to_vec(), &params).await.unwrap();
    let mut out = process.stdout().unwrap();
    let mut err = process.stderr().unwrap();
    let status = process.take_status().unwrap();
    let (mut stdout, mut stderr) = (String::new(), String::new());
    let (a, b) = tokio::join!(
        out.read_to_string(&mut stdout),
        err.read_to_string(&mut stderr)
    );
    a.unwrap();
    b.unwrap();
    let status = tokio::time::timeout(Duration::from_secs(5), status)
        .await
        .unwrap();
    process.join().await.unwrap();
    Outcome {
        stdout,
        stderr,
        status,
    }
}

#[tokio::test]
async fn exec_success_failure_and_unscripted() {
    let (cluster, _server, client) = serve().await;
    let pods: Api<Pod> = Api::namespaced(client, "test");

    let ok = run(
        &pods,
        "pod1",
        "nginx",
        &["curl", "-s", "http://localhost:80/"],
    )
    .await;
    assert!(ok.stdout.contains("Welcome to nginx!"));
    assert_eq!(ok.stderr, "");
    assert_eq!(ok.status.unwrap().status.as_deref(), Some("Success"));
    let request = cluster
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/exec"))
        .unwrap();
    assert_eq!(request.path, "/api/v1/namespaces/test/pods/pod1/exec");
    assert_eq!(
        request.query,
        "&stdout=true&stderr=true&container=nginx&command=curl&command=-s&command=http%3A%2F%2Flocalhost%3A80%2F"
    );

    // From the fixture: curl to the crashing pod fails with exit code 7.
    let failed = run(
        &pods,
        "pod1",
        "sidecar",
        &["curl", "-s", "http://10.244.1.3/"],
    )
    .await;
    let status = failed.status.unwrap();
    assert_eq!(status.status.as_deref(), Some("Failure"));
    assert_eq!(status.reason.as_deref(), Some("NonZeroExitCode"));
    let causes = status.details.unwrap().causes.unwrap();
    assert_eq!(causes[0].reason.as_deref(), Some("ExitCode"));
    assert_eq!(causes[0].message.as_deref(), Some("7"));

    // Wildcards, stderr, later rules win.
    cluster.script_exec(
        ExecRule::new("test", "pod1", ["sh", "-c", "*"])
            .stdout("one\n")
            .stderr("warning\n")
            .exit_code(2),
    );
    cluster.script_exec(ExecRule::new("test", "pod1", ["sh", "-c", "echo two"]).stdout("two\n"));
    let wild = run(&pods, "pod1", "nginx", &["sh", "-c", "ls /"]).await;
    assert_eq!(
        (wild.stdout.as_str(), wild.stderr.as_str()),
        ("one\n", "warning\n")
    );
    assert_eq!(
        wild.status.unwrap().reason.as_deref(),
        Some("NonZeroExitCode")
    );
    let exact = run(&pods, "pod1", "nginx", &["sh", "-c", "echo two"]).await;
    assert_eq!(exact.stdout, "two\n");

    // No rule (for a program the image has): a Failure status naming the command.
    let unscripted = run(&pods, "pod1", "nginx", &["cat", "-n", "/etc/hostname"]).await;
    let status = unscripted.status.unwrap();
    assert_eq!(status.status.as_deref(), Some("Failure"));
    let message = status.message.unwrap();
    assert!(
        message.contains(r#"["cat","-n","/etc/hostname"]"#),
        "{message}"
    );
    assert!(message.contains("test/pod1"), "{message}");

    // A missing pod is a plain 404, not an upgrade; so is a bad container a 400.
    let params = AttachParams::default()
        .container("nginx")
        .stdout(true)
        .stderr(true)
        .stdin(false);
    let err = pods
        .exec("nope", vec!["true"], &params)
        .await
        .err()
        .unwrap();
    let status = api_status(err);
    assert_eq!((status.code, status.reason.as_str()), (404, "NotFound"));
    let params = AttachParams::default()
        .container("nosuch")
        .stdout(true)
        .stderr(true)
        .stdin(false);
    let err = pods
        .exec("pod1", vec!["true"], &params)
        .await
        .err()
        .unwrap();
    assert_eq!(api_status(err).code, 400);
}

#[tokio::test]
async fn exec_delay_drop_and_stdin_close() {
    let (cluster, _server, client) = serve().await;
    let pods: Api<Pod> = Api::namespaced(client, "test");
    cluster.script_exec(
        ExecRule::new("test", "pod2", ["sleep", "1"])
            .stdout("late\n")
            .delay(Duration::from_millis(400)),
    );
    let started = std::time::Instant::now();
    let slow = run(&pods, "pod2", "app", &["sleep", "1"]).await;
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(slow.stdout, "late\n");

    cluster.inject(Fault::DropExec);
    let dropped = run(
        &pods,
        "pod1",
        "nginx",
        &["curl", "-s", "http://localhost:80/"],
    )
    .await;
    assert!(dropped.stdout.contains("Welcome"));
    assert!(dropped.status.is_none());
    cluster.clear_faults();

    // With stdin, a v5 client sends a close signal (channel 255) when stdin ends; the
    // session still completes.
    let params = AttachParams::default()
        .container("nginx")
        .stdout(true)
        .stderr(false)
        .stdin(true);
    let mut process = pods
        .exec("pod1", vec!["curl", "-s", "http://localhost:80/"], &params)
        .await
        .unwrap();
    drop(process.stdin());
    let mut out = process.stdout().unwrap();
    let status = process.take_status().unwrap();
    let mut text = String::new();
    out.read_to_string(&mut text).await.unwrap();
    assert!(text.contains("Welcome"));
    let status = tokio::time::timeout(Duration::from_secs(5), status)
        .await
        .unwrap();
    assert_eq!(status.unwrap().status.as_deref(), Some("Success"));
}

/// The image decides what can run: no scripted rule gives nginx a ping.
#[tokio::test]
async fn exec_answers_as_the_image_would() {
    let (cluster, _server, client) = serve().await;
    cluster.script_exec(
        ExecRule::new("test", "pod1", ["ping", "-c", "1", "10.244.1.3"])
            .container("nginx")
            .stdout("64 bytes from 10.244.1.3"),
    );
    let pods: Api<Pod> = Api::namespaced(client, "test");

    let ping = run(&pods, "pod1", "nginx", &["ping", "-c", "1", "10.244.1.3"]).await;
    assert_eq!(
        ping.stdout, "",
        "the rule for a program the image lacks is ignored"
    );
    let status = ping.status.unwrap();
    assert_eq!(status.status.as_deref(), Some("Failure"));
    assert!(
        status
            .message
            .unwrap_or_default()
            .contains("exec: \"ping\": executable file not found in $PATH"),
    );

    let bash = run(&pods, "pod2", "app", &["bash", "-c", "echo hi"]).await;
    assert!(
        bash.status
            .unwrap()
            .message
            .unwrap_or_default()
            .contains("\"bash\": executable file not found in $PATH"),
        "busybox has no bash"
    );

    let script = run(
        &pods,
        "pod2",
        "app",
        &["sh", "-c", "curl -s http://10.244.1.2/"],
    )
    .await;
    assert_eq!(script.stderr, "sh: curl: not found\n");
    let status = script.status.unwrap();
    assert_eq!(status.reason.as_deref(), Some("NonZeroExitCode"));
    assert_eq!(
        status.details.unwrap().causes.unwrap()[0]
            .message
            .as_deref(),
        Some("127")
    );
}
