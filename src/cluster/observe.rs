//! Fills an [`Observed`] snapshot for a task's checks: objects first, then what they show
//! is needed (DaemonSet pods, log tails of crashing containers, probe commands).

use futures_util::future::join_all;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Event, Namespace, Node, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{ListParams, LogParams};

use super::{ClusterError, Connection, exec};
use crate::checks::observed::{LogRequest, Need, Observed};
use crate::checks::{Criterion, plan};

/// Lines of log fetched per crashing container.
const LOG_TAIL_LINES: i64 = 20;

enum Fetched {
    Namespace(String, Option<Box<Namespace>>),
    Pod(String, String, Option<Box<Pod>>, Vec<Event>),
    Nodes(Vec<Node>),
    DaemonSets(Vec<DaemonSet>),
    DaemonSetPods(String, String, Vec<Pod>),
}

async fn fetch(conn: &Connection, need: &Need) -> Result<Fetched, ClusterError> {
    let client = conn.client.clone();
    Ok(match need {
        Need::Namespace(name) => {
            let api: Api<Namespace> = Api::all(client);
            Fetched::Namespace(
                name.clone(),
                conn.call(api.get_opt(name)).await?.map(Box::new),
            )
        }
        Need::Pod(ns, name) => {
            let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
            let events: Api<Event> = Api::namespaced(client, ns);
            let fields = format!("involvedObject.kind=Pod,involvedObject.name={name}");
            let (pod, events) = futures_util::future::join(
                conn.call(pods.get_opt(name)),
                conn.call(events.list(&ListParams::default().fields(&fields))),
            )
            .await;
            let pod = pod?;
            // Events older than the current pod belong to an earlier pod of the same name.
            let uid = pod.as_ref().and_then(|p| p.metadata.uid.clone());
            let events = events
                .map(|list| list.items)
                .unwrap_or_default()
                .into_iter()
                .filter(|e| {
                    uid.is_none() || e.involved_object.uid.is_none() || e.involved_object.uid == uid
                })
                .collect();
            Fetched::Pod(ns.clone(), name.clone(), pod.map(Box::new), events)
        }
        Need::Nodes => {
            let api: Api<Node> = Api::all(client);
            Fetched::Nodes(conn.call(api.list(&ListParams::default())).await?.items)
        }
        Need::DaemonSets => {
            let api: Api<DaemonSet> = Api::all(client);
            Fetched::DaemonSets(conn.call(api.list(&ListParams::default())).await?.items)
        }
        Need::DaemonSetPods(ns, name, selector) => {
            let api: Api<Pod> = Api::namespaced(client, ns);
            let pods = conn
                .call(api.list(&ListParams::default().labels(selector)))
                .await?;
            Fetched::DaemonSetPods(ns.clone(), name.clone(), pods.items)
        }
    })
}

async fn fetch_all(
    conn: &Connection,
    needs: impl IntoIterator<Item = Need>,
    observed: &mut Observed,
) {
    let needs: Vec<Need> = needs.into_iter().collect();
    let results = join_all(needs.iter().map(|need| fetch(conn, need))).await;
    for (need, result) in needs.into_iter().zip(results) {
        match result {
            Ok(Fetched::Namespace(name, ns)) => {
                observed.namespaces.insert(name, ns.map(|n| *n));
            }
            Ok(Fetched::Pod(ns, name, pod, events)) => {
                observed
                    .pods
                    .insert((ns.clone(), name.clone()), pod.map(|p| *p));
                observed.pod_events.insert((ns, name), events);
            }
            Ok(Fetched::Nodes(nodes)) => observed.nodes = Some(nodes),
            Ok(Fetched::DaemonSets(list)) => observed.daemonsets = Some(list),
            Ok(Fetched::DaemonSetPods(ns, name, pods)) => {
                observed.daemonset_pods.insert((ns, name), pods);
            }
            Err(err) => {
                observed.failures.insert(need, err.to_string());
            }
        }
    }
}

async fn fetch_log(conn: &Connection, request: &LogRequest) -> Option<String> {
    let (ns, pod, container, previous) = request;
    let api: Api<Pod> = Api::namespaced(conn.client.clone(), ns);
    let params = |previous: bool| LogParams {
        container: Some(container.clone()),
        tail_lines: Some(LOG_TAIL_LINES),
        previous,
        ..LogParams::default()
    };
    // The previous instance holds the crash; fall back to the current one.
    if *previous && let Ok(text) = conn.call(api.logs(pod, &params(true))).await {
        return Some(text);
    }
    conn.call(api.logs(pod, &params(false))).await.ok()
}

/// Observes everything the criteria need, then runs the commands they need.
pub async fn observe(conn: &Connection, criteria: &[Criterion]) -> Observed {
    let mut observed = Observed::new(Timestamp::now());
    fetch_all(conn, plan::needs(criteria), &mut observed).await;
    let follow_up = plan::daemonset_pod_needs(criteria, &observed);
    fetch_all(conn, follow_up, &mut observed).await;

    let logs: Vec<LogRequest> = plan::log_requests(&observed).into_iter().collect();
    let execs: Vec<_> = plan::exec_requests(criteria, &observed)
        .into_iter()
        .collect();
    let (log_texts, exec_results) = futures_util::future::join(
        join_all(logs.iter().map(|r| fetch_log(conn, r))),
        join_all(execs.iter().map(|r| exec::run(conn, r))),
    )
    .await;
    for (request, text) in logs.into_iter().zip(log_texts) {
        if let Some(text) = text {
            observed.logs.insert(request, text);
        }
    }
    for (request, result) in execs.into_iter().zip(exec_results) {
        observed
            .execs
            .insert(request, result.map_err(|e| e.to_string()));
    }
    observed
}
