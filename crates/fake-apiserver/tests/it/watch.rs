//! Watches: `kube::runtime::watcher` and raw watch streams.

use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ResourceExt, WatchEvent, WatchParams};
use kube::runtime::watcher;
use serde_json::json;

use crate::support::serve;

async fn next<S, T>(stream: &mut S) -> T
where
    S: futures_util::Stream<Item = T> + Unpin,
{
    tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("an event within 5s")
        .expect("the stream goes on")
}

#[tokio::test]
async fn runtime_watcher_sees_apply_and_delete() {
    let (cluster, _server, client) = serve().await;
    let pods: Api<Pod> = Api::namespaced(client, "test");
    let mut events = watcher(pods, watcher::Config::default().labels("app=web")).boxed();

    let mut initial = Vec::new();
    loop {
        match next(&mut events).await.unwrap() {
            watcher::Event::Init => {}
            watcher::Event::InitApply(p) => initial.push(p.name_any()),
            watcher::Event::InitDone => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(initial, ["pod1"]);

    // A change in another namespace or to a non-matching pod is not seen...
    cluster.apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "noise", "namespace": "test"}}));
    let mut pod2 = cluster.get("v1", "Pod", Some("test"), "pod2").unwrap();
    pod2["metadata"]["labels"]["extra"] = json!("1");
    cluster.apply(pod2);
    // ...a change to pod1 is.
    let mut pod1 = cluster.get("v1", "Pod", Some("test"), "pod1").unwrap();
    pod1["status"]["podIP"] = json!("10.244.1.9");
    cluster.apply(pod1);
    match next(&mut events).await.unwrap() {
        watcher::Event::Apply(p) => {
            assert_eq!(p.name_any(), "pod1");
            assert_eq!(p.status.unwrap().pod_ip.as_deref(), Some("10.244.1.9"));
        }
        other => panic!("unexpected {other:?}"),
    }
    // A pod that starts matching is added.
    let mut pod2 = cluster.get("v1", "Pod", Some("test"), "pod2").unwrap();
    pod2["metadata"]["labels"]["app"] = json!("web");
    cluster.apply(pod2);
    match next(&mut events).await.unwrap() {
        watcher::Event::Apply(p) => assert_eq!(p.name_any(), "pod2"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(cluster.delete("v1", "Pod", Some("test"), "pod1"));
    match next(&mut events).await.unwrap() {
        watcher::Event::Delete(p) => assert_eq!(p.name_any(), "pod1"),
        other => panic!("unexpected {other:?}"),
    }

    // The watcher listed, then watched from the list's resourceVersion.
    let requests = cluster.requests();
    let list = requests
        .iter()
        .find(|r| r.path == "/api/v1/namespaces/test/pods" && r.param("watch").is_none())
        .unwrap();
    assert_eq!(list.param("labelSelector").as_deref(), Some("app=web"));
    let watch = requests
        .iter()
        .find(|r| r.param("watch").as_deref() == Some("true"))
        .unwrap();
    assert_eq!(watch.param("allowWatchBookmarks").as_deref(), Some("true"));
    assert!(watch.param("resourceVersion").is_some());
    assert_eq!(watch.param("timeoutSeconds").as_deref(), Some("290"));
}

#[tokio::test]
async fn streaming_list_watcher_gets_initial_events_and_bookmark() {
    let (cluster, _server, client) = serve().await;
    let pods: Api<Pod> = Api::all(client);
    let mut events = watcher(pods, watcher::Config::default().streaming_lists()).boxed();
    let mut initial = Vec::new();
    loop {
        match next(&mut events).await.unwrap() {
            watcher::Event::Init => {}
            watcher::Event::InitApply(p) => initial.push(p.name_any()),
            watcher::Event::InitDone => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(initial, ["kube-flannel-ds-x7k2p", "pod1", "pod2"]);
    cluster.delete("v1", "Pod", Some("test"), "pod2");
    match next(&mut events).await.unwrap() {
        watcher::Event::Delete(p) => assert_eq!(p.name_any(), "pod2"),
        other => panic!("unexpected {other:?}"),
    }
    let watch = cluster
        .requests()
        .into_iter()
        .find(|r| r.param("watch").is_some())
        .unwrap();
    assert_eq!(watch.param("sendInitialEvents").as_deref(), Some("true"));
    assert_eq!(
        watch.param("resourceVersionMatch").as_deref(),
        Some("NotOlderThan")
    );
}

#[tokio::test]
async fn raw_watch_replays_filters_and_times_out() {
    let (cluster, _server, client) = serve().await;
    let pods: Api<Pod> = Api::namespaced(client, "test");
    let from = cluster.resource_version();

    // Changes made before the watch starts are replayed from `from`.
    let mut pod1 = cluster.get("v1", "Pod", Some("test"), "pod1").unwrap();
    pod1["metadata"]["labels"]["app"] = json!("other");
    cluster.apply(pod1);
    cluster.delete("v1", "Pod", Some("test"), "pod2");

    let params = WatchParams::default().labels("app=web").timeout(1);
    let events: Vec<_> = pods
        .watch(&params, &from.to_string())
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    // pod1 left the selector (seen as DELETED); pod2 never matched.
    assert_eq!(events.len(), 1, "{events:?}");
    let WatchEvent::Deleted(p) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(p.name_any(), "pod1");
    let rv: u64 = p.resource_version().unwrap().parse().unwrap();
    assert!(rv > from);

    // resourceVersion "0": synthetic ADDED events for what exists now.
    let events: Vec<_> = pods
        .watch(&WatchParams::default().timeout(1), "0")
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert!(matches!(&events[..], [WatchEvent::Added(p)] if p.name_any() == "pod1"));
}
