//! Shared watches: one kube-rs watcher per (context, resource kind), fanned out to every
//! live page that needs it, and stopped when the last of them goes away.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Event, Namespace, Node, Pod};
use kube::Api;
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use super::Connection;
use crate::checks::Need;

/// The resource kinds live checks watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WatchKind {
    /// Pods in all namespaces.
    Pods,
    /// Events in all namespaces (scheduling and sandbox failures).
    Events,
    /// Nodes.
    Nodes,
    /// DaemonSets in all namespaces.
    DaemonSets,
    /// Namespaces.
    Namespaces,
}

impl WatchKind {
    /// The kinds whose changes can change the outcome of these needs.
    pub fn for_needs<'a>(needs: impl IntoIterator<Item = &'a Need>) -> Vec<WatchKind> {
        let mut kinds: Vec<WatchKind> = needs
            .into_iter()
            .flat_map(|need| match need {
                Need::Namespace(_) => vec![WatchKind::Namespaces],
                Need::Pod(..) => vec![WatchKind::Pods, WatchKind::Events],
                Need::Nodes => vec![WatchKind::Nodes],
                Need::DaemonSets | Need::DaemonSetPods(..) => {
                    vec![WatchKind::DaemonSets, WatchKind::Pods]
                }
            })
            .collect();
        kinds.sort();
        kinds.dedup();
        kinds
    }
}

struct Shared {
    changes: broadcast::Sender<()>,
    task: JoinHandle<()>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A live page's interest in one kind; the watcher lives while any subscription does.
pub struct Subscription {
    _shared: Arc<Shared>,
    /// Ticks on every change.
    pub changes: broadcast::Receiver<()>,
}

/// All shared watchers of this server.
#[derive(Default)]
pub struct WatchHub {
    watchers: Mutex<HashMap<(String, WatchKind), Weak<Shared>>>,
}

async fn pump<K>(api: Api<K>, changes: broadcast::Sender<()>)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    // The runtime's backoff restarts a broken watch without hammering the API server.
    let mut stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    while let Some(event) = stream.next().await {
        match event {
            Ok(watcher::Event::Apply(_) | watcher::Event::Delete(_) | watcher::Event::InitDone) => {
                let _ = changes.send(());
            }
            Ok(_) => {}
            Err(err) => tracing::debug!(error = %err, "watch interrupted; backing off"),
        }
    }
}

impl WatchHub {
    /// Subscribes to changes of `kind` on the connection's cluster, starting a watcher only
    /// if none runs for that cluster and kind.
    pub fn subscribe(&self, conn: &Connection, kind: WatchKind) -> Subscription {
        // Context names repeat across kubeconfigs (every kind cluster's file may say
        // kind-kubelab): the API server tells clusters apart.
        let key = (format!("{}@{}", conn.context, conn.server), kind);
        let mut watchers = match self.watchers.lock() {
            Ok(w) => w,
            Err(poisoned) => poisoned.into_inner(),
        };
        watchers.retain(|_, weak| weak.strong_count() > 0);
        if let Some(shared) = watchers.get(&key).and_then(Weak::upgrade) {
            let changes = shared.changes.subscribe();
            return Subscription {
                _shared: shared,
                changes,
            };
        }
        let (tx, rx) = broadcast::channel(16);
        let client = conn.client.clone();
        let sender = tx.clone();
        let task = tokio::spawn(async move {
            match kind {
                WatchKind::Pods => pump(Api::<Pod>::all(client), sender).await,
                WatchKind::Events => pump(Api::<Event>::all(client), sender).await,
                WatchKind::Nodes => pump(Api::<Node>::all(client), sender).await,
                WatchKind::DaemonSets => pump(Api::<DaemonSet>::all(client), sender).await,
                WatchKind::Namespaces => pump(Api::<Namespace>::all(client), sender).await,
            }
        });
        let shared = Arc::new(Shared { changes: tx, task });
        watchers.insert(key, Arc::downgrade(&shared));
        Subscription {
            _shared: shared,
            changes: rx,
        }
    }

    /// How many watchers run now.
    pub fn active(&self) -> usize {
        self.watchers
            .lock()
            .map(|w| w.values().filter(|weak| weak.strong_count() > 0).count())
            .unwrap_or(0)
    }
}
