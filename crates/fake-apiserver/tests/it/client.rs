//! kube-rs against the fake: lists with selectors, get/create/delete, apply, patch, logs,
//! faults, discovery.

use std::time::Duration;

use fake_apiserver::Fault;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Namespace, Node, Pod};
use kube::api::{
    Api, DeleteParams, ListParams, LogParams, Patch, PatchParams, PostParams, ResourceExt,
};
use serde_json::json;

use crate::support::{api_status, client_with, serve};

fn names<K: ResourceExt>(items: &[K]) -> Vec<String> {
    items.iter().map(|o| o.name_any()).collect()
}

#[tokio::test]
async fn lists_with_label_and_field_selectors() {
    let (cluster, _server, client) = serve().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "test");

    let all = pods.list(&ListParams::default()).await.unwrap();
    assert_eq!(names(&all.items), ["pod1", "pod2"]);
    let rv: u64 = all.metadata.resource_version.unwrap().parse().unwrap();
    assert_eq!(rv, cluster.resource_version());
    // Typed fields a check reads.
    let pod2 = &all.items[1];
    let status = pod2.status.as_ref().unwrap();
    assert_eq!(status.pod_ip.as_deref(), Some("10.244.1.3"));
    let cs = &status.container_statuses.as_ref().unwrap()[0];
    assert_eq!(cs.restart_count, 5);
    let waiting = cs.state.as_ref().unwrap().waiting.as_ref().unwrap();
    assert_eq!(waiting.reason.as_deref(), Some("CrashLoopBackOff"));

    let web = pods
        .list(&ListParams::default().labels("app=web"))
        .await
        .unwrap();
    assert_eq!(names(&web.items), ["pod1"]);
    let not_web = pods
        .list(&ListParams::default().labels("app!=web,run in (pod1,pod2)"))
        .await
        .unwrap();
    assert_eq!(names(&not_web.items), ["pod2"]);
    let none = pods
        .list(&ListParams::default().labels("!run"))
        .await
        .unwrap();
    assert!(none.items.is_empty());

    let everywhere: Api<Pod> = Api::all(client.clone());
    let on_worker = everywhere
        .list(&ListParams::default().fields("spec.nodeName=kind-worker,status.phase=Running"))
        .await
        .unwrap();
    assert_eq!(
        names(&on_worker.items),
        ["kube-flannel-ds-x7k2p", "pod1", "pod2"]
    );
    let by_name = everywhere
        .list(&ListParams::default().fields("metadata.name=pod1,metadata.namespace=test"))
        .await
        .unwrap();
    assert_eq!(names(&by_name.items), ["pod1"]);

    let events: Api<Event> = Api::namespaced(client.clone(), "test");
    let about_pod2 = events
        .list(&ListParams::default().fields("involvedObject.kind=Pod,involvedObject.name=pod2"))
        .await
        .unwrap();
    assert_eq!(about_pod2.items.len(), 1);
    assert_eq!(about_pod2.items[0].reason.as_deref(), Some("BackOff"));

    let nodes: Api<Node> = Api::all(client.clone());
    let control_plane = nodes
        .list(&ListParams::default().labels("node-role.kubernetes.io/control-plane"))
        .await
        .unwrap();
    assert_eq!(names(&control_plane.items), ["kind-control-plane"]);

    let daemonsets: Api<DaemonSet> = Api::all(client.clone());
    let flannel = daemonsets
        .list(&ListParams::default().labels("app=flannel"))
        .await
        .unwrap();
    assert_eq!(names(&flannel.items), ["kube-flannel-ds"]);
    assert_eq!(
        flannel.items[0].namespace().as_deref(),
        Some("kube-flannel")
    );

    // Paging, as kube-rs and kubectl ask for it.
    let page = everywhere
        .list(&ListParams::default().limit(2))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
    let rest = everywhere
        .list(
            &ListParams::default()
                .limit(2)
                .continue_token(page.metadata.continue_.as_deref().unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(names(&rest.items), ["pod2"]);
    assert!(rest.metadata.continue_.is_none());

    // An unsupported field label is a 400, as on a real server.
    let err = pods
        .list(&ListParams::default().fields("spec.containers=x"))
        .await
        .unwrap_err();
    let status = api_status(err);
    assert_eq!((status.code, status.reason.as_str()), (400, "BadRequest"));
    assert!(status.message.contains("field label not supported"));

    // The exact calls are recorded.
    let requests = cluster.requests();
    let web_request = requests
        .iter()
        .find(|r| r.param("labelSelector").as_deref() == Some("app=web"))
        .unwrap();
    assert_eq!(web_request.method, "GET");
    assert_eq!(web_request.path, "/api/v1/namespaces/test/pods");
    assert_eq!(web_request.query, "&labelSelector=app%3Dweb");
}

#[tokio::test]
async fn get_create_delete_and_their_errors() {
    let (cluster, _server, client) = serve().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "test");

    let pod1 = pods.get("pod1").await.unwrap();
    assert_eq!(
        pod1.status.unwrap().pod_ips.unwrap()[0].ip,
        "10.244.1.2".to_string()
    );
    assert!(pod1.metadata.uid.is_some());
    assert!(pod1.metadata.creation_timestamp.is_some());

    let missing = api_status(pods.get("nope").await.unwrap_err());
    assert_eq!((missing.code, missing.reason.as_str()), (404, "NotFound"));
    assert_eq!(missing.message, "pods \"nope\" not found");
    assert_eq!(missing.details.unwrap().kind, "pods");
    assert!(pods.get_opt("nope").await.unwrap().is_none());

    let new_pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "pod3", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]},
        "status": {"phase": "Running"},
    }))
    .unwrap();
    let created = pods.create(&PostParams::default(), &new_pod).await.unwrap();
    assert_eq!(created.namespace().as_deref(), Some("test"));
    // Like a real server, a created pod starts Pending whatever the request said.
    assert_eq!(
        created.status.as_ref().unwrap().phase.as_deref(),
        Some("Pending")
    );
    assert!(cluster.get("v1", "Pod", Some("test"), "pod3").is_some());

    let again = api_status(
        pods.create(&PostParams::default(), &new_pod)
            .await
            .unwrap_err(),
    );
    assert_eq!((again.code, again.reason.as_str()), (409, "AlreadyExists"));

    let elsewhere: Api<Pod> = Api::namespaced(client.clone(), "no-such-ns");
    let no_ns = api_status(
        elsewhere
            .create(&PostParams::default(), &new_pod)
            .await
            .unwrap_err(),
    );
    assert_eq!(no_ns.code, 404);
    assert_eq!(no_ns.message, "namespaces \"no-such-ns\" not found");

    // Optimistic concurrency on replace.
    let mut stale = created.clone();
    stale.metadata.resource_version = Some("1".into());
    let conflict = api_status(
        pods.replace("pod3", &PostParams::default(), &stale)
            .await
            .unwrap_err(),
    );
    assert_eq!((conflict.code, conflict.reason.as_str()), (409, "Conflict"));
    let mut fresh = pods.get("pod3").await.unwrap();
    fresh.labels_mut().insert("tier".into(), "x".into());
    let replaced = pods
        .replace("pod3", &PostParams::default(), &fresh)
        .await
        .unwrap();
    assert_eq!(replaced.labels()["tier"], "x");

    // Without a grace period (the pod was bound to a node, so it would get 30 s) it is gone
    // at once; a graceful delete is covered below.
    let deleted = pods
        .delete("pod3", &DeleteParams::default().grace_period(0))
        .await
        .unwrap();
    assert_eq!(deleted.left().unwrap().name_any(), "pod3");
    let gone = api_status(
        pods.delete("pod3", &DeleteParams::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(gone.code, 404);

    // Deleting a namespace deletes what is in it: the namespace is Terminating until its
    // scheduled pods have gone through their (shortened) grace period, refusing new content.
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .delete("test", &DeleteParams::default())
        .await
        .unwrap();
    let terminating = namespaces.get("test").await.unwrap();
    assert_eq!(
        terminating.status.unwrap().phase.as_deref(),
        Some("Terminating")
    );
    let lingering = pods.list(&ListParams::default()).await.unwrap().items;
    assert!(
        !lingering.is_empty(),
        "scheduled pods take their grace period"
    );
    assert!(
        lingering
            .iter()
            .all(|p| p.metadata.deletion_timestamp.is_some())
    );
    let refused = api_status(
        pods.create(&PostParams::default(), &new_pod)
            .await
            .unwrap_err(),
    );
    assert_eq!(refused.code, 403);
    assert_eq!(
        refused.message,
        "pods \"pod3\" is forbidden: unable to create new content in namespace test because it is being terminated"
    );
    let until = tokio::time::Instant::now() + Duration::from_secs(5);
    while namespaces.get_opt("test").await.unwrap().is_some() {
        assert!(
            tokio::time::Instant::now() < until,
            "the namespace never went away"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        pods.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let missing_ns = api_status(
        pods.create(&PostParams::default(), &new_pod)
            .await
            .unwrap_err(),
    );
    assert_eq!(missing_ns.code, 404);
    assert_eq!(missing_ns.message, "namespaces \"test\" not found");
    let protected = api_status(
        namespaces
            .delete("default", &DeleteParams::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(protected.code, 403);
}

#[tokio::test]
async fn server_side_apply_merge_patch_and_status() {
    let (cluster, _server, client) = serve().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "test");
    let params = PatchParams::apply("kubelab").force();
    let cm = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "settings", "labels": {"app": "kubelab"}},
        "data": {"a": "1"},
    });
    let created = cms
        .patch("settings", &params, &Patch::Apply(&cm))
        .await
        .unwrap();
    assert_eq!(created.data.unwrap()["a"], "1");
    let fields = created.metadata.managed_fields.unwrap();
    assert_eq!(fields[0].manager.as_deref(), Some("kubelab"));
    assert_eq!(fields[0].operation.as_deref(), Some("Apply"));

    let update = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "settings"},
        "data": {"b": "2"},
    });
    let merged = cms
        .patch("settings", &params, &Patch::Apply(&update))
        .await
        .unwrap();
    let data = merged.data.clone().unwrap();
    assert_eq!((data["a"].as_str(), data["b"].as_str()), ("1", "2"));
    assert_eq!(merged.labels()["app"], "kubelab");

    let apply_request = cluster
        .requests()
        .into_iter()
        .find(|r| r.method == "PATCH")
        .unwrap();
    assert_eq!(
        apply_request.path,
        "/api/v1/namespaces/test/configmaps/settings"
    );
    assert_eq!(
        apply_request.param("fieldManager").as_deref(),
        Some("kubelab")
    );
    assert_eq!(apply_request.param("force").as_deref(), Some("true"));

    // Merge patch on a pod keeps the status; the status subresource changes only status.
    let pods: Api<Pod> = Api::namespaced(client.clone(), "test");
    let labelled = pods
        .patch(
            "pod2",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"labels": {"checked": "yes"}}, "status": {"phase": "Failed"}}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(labelled.labels()["checked"], "yes");
    assert_eq!(labelled.status.unwrap().phase.as_deref(), Some("Running"));
    let failed = pods
        .patch_status(
            "pod2",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"status": {"phase": "Failed"}, "metadata": {"labels": {"ignored": "x"}}}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        failed.status.as_ref().unwrap().phase.as_deref(),
        Some("Failed")
    );
    assert!(!failed.labels().contains_key("ignored"));

    // Strategic merge patches merge containers by name.
    let patched = pods
        .patch(
            "pod1",
            &PatchParams::default(),
            &Patch::Strategic(
                json!({"spec": {"containers": [{"name": "nginx", "image": "nginx:1.28"}]}}),
            ),
        )
        .await
        .unwrap();
    let containers = patched.spec.unwrap().containers;
    assert_eq!(containers.len(), 2);
    assert_eq!(containers[0].image.as_deref(), Some("nginx:1.28"));

    // Apply to a missing namespace fails like create does.
    let other: Api<ConfigMap> = Api::namespaced(client.clone(), "nowhere");
    let err = api_status(
        other
            .patch("settings", &params, &Patch::Apply(&cm))
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 404);
}

#[tokio::test]
async fn logs_with_container_and_tail() {
    let (cluster, _server, client) = serve().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "test");
    let tail = pods
        .logs(
            "pod1",
            &LogParams {
                container: Some("nginx".into()),
                tail_lines: Some(1),
                ..LogParams::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        tail,
        "10.244.1.5 - - [25/Nov/2026:09:30:00 +0000] \"GET / HTTP/1.1\" 200 615 \"-\" \"curl/8.11.1\" \"-\"\n"
    );
    let request = cluster.requests().pop().unwrap();
    assert_eq!(request.path, "/api/v1/namespaces/test/pods/pod1/log");
    assert_eq!(request.param("container").as_deref(), Some("nginx"));
    assert_eq!(request.param("tailLines").as_deref(), Some("1"));

    // One container: no need to name it.
    cluster.set_log("test", "pod2", "app", "boom\n");
    assert_eq!(
        pods.logs("pod2", &LogParams::default()).await.unwrap(),
        "boom\n"
    );

    let ambiguous = api_status(pods.logs("pod1", &LogParams::default()).await.unwrap_err());
    assert_eq!(ambiguous.code, 400);
    assert!(ambiguous.message.contains("choose one of: [nginx sidecar]"));
    let missing = api_status(pods.logs("nope", &LogParams::default()).await.unwrap_err());
    assert_eq!((missing.code, missing.reason.as_str()), (404, "NotFound"));
}

#[tokio::test]
async fn faults_answer_with_status_or_hang() {
    let (cluster, server, client) = serve().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "test");
    cluster.inject(Fault::Status {
        path_contains: "/namespaces/test/pods".into(),
        method: Some("GET".into()),
        status: 403,
        times: Some(1),
    });
    let forbidden = api_status(pods.list(&ListParams::default()).await.unwrap_err());
    assert_eq!(
        (forbidden.code, forbidden.reason.as_str()),
        (403, "Forbidden")
    );
    assert_eq!(
        forbidden.message,
        "pods is forbidden: User \"fake-user\" cannot list resource \"pods\" in API group \"\" in the namespace \"test\""
    );
    // Used up after one request.
    assert_eq!(
        pods.list(&ListParams::default()).await.unwrap().items.len(),
        2
    );

    cluster.inject(Fault::status("/pods/pod1", 401));
    assert_eq!(api_status(pods.get("pod1").await.unwrap_err()).code, 401);
    cluster.clear_faults();
    pods.get("pod1").await.unwrap();

    // kube 5's default client retries 429/503/504 (up to 15 times, exponential backoff):
    // a one-off 503 is invisible...
    cluster.inject(Fault::Status {
        path_contains: "/api/v1/nodes".into(),
        method: None,
        status: 503,
        times: Some(2),
    });
    let nodes: Api<Node> = Api::all(client.clone());
    assert_eq!(
        nodes
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    // ...and a lasting one is seen quickly only without retries.
    cluster.inject(Fault::status("/api/v1/nodes", 503));
    let no_retry = client_with(&cluster, &server, |config| config.default_retry = false).await;
    let nodes: Api<Node> = Api::all(no_retry);
    let unavailable = api_status(nodes.list(&ListParams::default()).await.unwrap_err());
    assert_eq!(
        (unavailable.code, unavailable.reason.as_str()),
        (503, "ServiceUnavailable")
    );
    cluster.clear_faults();

    // A hanging server and a client with a short read timeout.
    cluster.inject(Fault::delay("/api/v1/nodes", Duration::from_secs(3)));
    let impatient = client_with(&cluster, &server, |config| {
        config.read_timeout = Some(Duration::from_millis(300));
    })
    .await;
    let nodes: Api<Node> = Api::all(impatient.clone());
    let started = std::time::Instant::now();
    let err = nodes.list(&ListParams::default()).await.unwrap_err();
    assert!(!matches!(err, kube::Error::Api(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    // Other paths answer at once.
    let pods: Api<Pod> = Api::namespaced(impatient, "test");
    pods.get("pod1").await.unwrap();
}

#[tokio::test]
async fn discovery_covers_the_served_groups() {
    let (_cluster, _server, client) = serve().await;
    let discovery = kube::discovery::Discovery::new(client.clone())
        .run()
        .await
        .unwrap();
    let groups: Vec<String> = discovery.groups().map(|g| g.name().to_string()).collect();
    for g in ["", "apps", "rbac.authorization.k8s.io"] {
        assert!(groups.iter().any(|x| x == g), "{g} in {groups:?}");
    }
    let (ar, caps) = discovery
        .groups()
        .find(|g| g.name() == "apps")
        .unwrap()
        .recommended_kind("DaemonSet")
        .unwrap();
    assert_eq!(ar.plural, "daemonsets");
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
    // Aggregated discovery (apidiscovery.k8s.io/v2) gives the same answer.
    let aggregated = kube::discovery::Discovery::new(client.clone())
        .run_aggregated()
        .await
        .unwrap();
    let (ar, caps) = aggregated
        .groups()
        .find(|g| g.name() == "")
        .unwrap()
        .recommended_kind("Pod")
        .unwrap();
    assert_eq!((ar.plural.as_str(), ar.version.as_str()), ("pods", "v1"));
    assert!(
        caps.subresources
            .iter()
            .any(|(s, _)| s.plural == "pods/exec" || s.plural == "exec")
    );
    assert_eq!(aggregated.groups().count(), discovery.groups().count());
    let version = client.apiserver_version().await.unwrap();
    assert_eq!(version.git_version, "v1.32.0");
}

/// Graceful deletion and Pod update validation as a real API server does them.
#[tokio::test]
async fn pods_terminate_gracefully_and_refuse_spec_changes() {
    let (cluster, _server, client) = serve().await;
    cluster.set_grace_cap(Duration::from_millis(300));
    let pods: Api<Pod> = Api::namespaced(client.clone(), "test");
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "test"},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.25",
            "ports": [{"containerPort": 80}]}]},
    }))
    .unwrap();
    let apply = PatchParams::apply("test").force();
    let created = pods
        .patch("web", &apply, &Patch::Apply(&pod))
        .await
        .unwrap();
    assert!(
        created.spec.as_ref().unwrap().node_name.is_some(),
        "a new pod is bound to a node"
    );

    // Only images (and a few other fields) may change in place.
    let mut image = pod.clone();
    image.spec.as_mut().unwrap().containers[0].image = Some("nginx:1.27".into());
    pods.patch("web", &apply, &Patch::Apply(&image))
        .await
        .unwrap();
    let mut ports = image.clone();
    ports.spec.as_mut().unwrap().containers[0]
        .ports
        .as_mut()
        .unwrap()[0]
        .container_port = 8080;
    let refused = api_status(
        pods.patch("web", &apply, &Patch::Apply(&ports))
            .await
            .unwrap_err(),
    );
    assert_eq!(refused.code, 422);
    assert!(
        refused.message.starts_with(
            "Pod \"web\" is invalid: spec: Forbidden: pod updates may not change fields other than"
        ),
        "{}",
        refused.message
    );

    // A scheduled pod is Terminating for its grace period, then gone.
    pods.delete("web", &DeleteParams::default()).await.unwrap();
    let terminating = pods.get("web").await.unwrap();
    assert!(terminating.metadata.deletion_timestamp.is_some());
    assert_eq!(terminating.metadata.deletion_grace_period_seconds, Some(30));
    let until = tokio::time::Instant::now() + Duration::from_secs(3);
    while pods.get_opt("web").await.unwrap().is_some() {
        assert!(
            tokio::time::Instant::now() < until,
            "the pod never went away"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // With no grace period it is gone at once.
    pods.patch("web", &apply, &Patch::Apply(&pod))
        .await
        .unwrap();
    pods.delete("web", &DeleteParams::default().grace_period(0))
        .await
        .unwrap();
    assert!(pods.get_opt("web").await.unwrap().is_none());
}
