//! The `fake-apiserver` binary: fixtures, kubeconfig, loopback only.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};

const BIN: &str = env!("CARGO_BIN_EXE_fake-apiserver");

/// Kills the child when the test ends, even on panic.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn serves_fixtures_and_writes_a_kubeconfig() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("fake-apiserver-binary");
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig_path = dir.join("kubeconfig.yaml");
    let _ = std::fs::remove_file(&kubeconfig_path);
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/connectivity.yaml");
    let mut child = Child(
        Command::new(BIN)
            .args([
                "--addr",
                "127.0.0.1:0",
                "--fixture",
                fixture,
                "--context",
                "kind-bench",
            ])
            .arg("--kubeconfig-out")
            .arg(&kubeconfig_path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let yaml = std::fs::read_to_string(&kubeconfig_path).unwrap();
    assert!(yaml.contains(&format!("server: {url}")), "{yaml}");
    assert!(yaml.contains("current-context: \"kind-bench\""), "{yaml}");
    let config = kube::Config::from_custom_kubeconfig(
        Kubeconfig::from_yaml(&yaml).unwrap(),
        &KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    crate::support::crypto();
    let pods: Api<Pod> = Api::namespaced(kube::Client::try_from(config).unwrap(), "test");
    let list = pods.list(&ListParams::default()).await.unwrap();
    assert_eq!(list.items.len(), 2);
}

#[test]
fn refuses_non_loopback_addresses() {
    let out = Command::new(BIN)
        .args(["--addr", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("only listens on loopback"), "{stderr}");
}

#[test]
fn rejects_bad_fixtures() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("fake-apiserver-binary");
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "kind: FakeExecRule\nnamespace: test\n").unwrap();
    let out = Command::new(BIN)
        .arg("--fixture")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("FakeExecRule"), "{stderr}");
}
