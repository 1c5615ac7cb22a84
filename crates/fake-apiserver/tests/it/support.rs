//! Shared fixtures and client construction.

use fake_apiserver::{FakeCluster, Server};
use kube::config::{KubeConfigOptions, Kubeconfig};

/// A kind-like cluster: nodes, flannel, pods in `test`, events, exec rules, logs.
pub const FIXTURE: &str = include_str!("../../fixtures/connectivity.yaml");

/// A fake cluster loaded with [`FIXTURE`].
pub fn cluster() -> FakeCluster {
    let cluster = FakeCluster::new();
    cluster.apply_yaml(FIXTURE);
    cluster
}

/// A fake cluster with [`FIXTURE`], serving, and a kube client for it.
pub async fn serve() -> (FakeCluster, Server, kube::Client) {
    let cluster = cluster();
    let server = cluster.start().await.expect("start the fake");
    let client = client_with(&cluster, &server, |_| {}).await;
    (cluster, server, client)
}

/// A kube client built from the fake's kubeconfig, after `tweak`ing its config.
pub async fn client_with(
    cluster: &FakeCluster,
    server: &Server,
    tweak: impl FnOnce(&mut kube::Config),
) -> kube::Client {
    crypto();
    let kubeconfig = Kubeconfig::from_yaml(&cluster.kubeconfig(server, "kind-kubelab"))
        .expect("kubeconfig parses");
    let mut config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .expect("kubeconfig loads");
    tweak(&mut config);
    kube::Client::try_from(config).expect("client builds")
}

/// Picks rustls's ring provider: built in one workspace with crates that enable aws-lc-rs,
/// rustls cannot choose a process default by itself.
pub fn crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The API status of a kube error (panics if it is not an API error).
pub fn api_status(err: kube::Error) -> kube::core::Status {
    match err {
        kube::Error::Api(status) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}
