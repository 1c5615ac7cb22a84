//! A fake Kubernetes API server for tests: a **test double**, never part of the product.
//!
//! It speaks real Kubernetes JSON over HTTP on loopback, well enough for kube-rs (typed
//! `Api`s, `kube::runtime::watcher`, exec over WebSocket) and kubectl v1.32 (discovery,
//! `get` with server-side tables, `exec`, `-o jsonpath`) to talk to it:
//!
//! - discovery: `/version`, `/api`, `/apis`, `/api/v1`, `/apis/{group}/{version}`;
//! - get, list (label and field selectors, `limit`/`continue`), create, replace, patch
//!   (server-side apply, merge, strategic merge, JSON patch), delete, deletecollection,
//!   `/status` subresources, and watches with strictly increasing resourceVersions;
//! - pod logs and pod exec (v5/v4.channel.k8s.io) with scripted results ([`ExecRule`]);
//! - injected faults ([`Fault`]) and a record of every request ([`RecordedRequest`]).
//!
//! It keeps the API's own rules where kubelab depends on them (see `lifecycle.rs`): a new Pod
//! is bound to a node whose taints it tolerates, as the scheduler would; a scheduled Pod's
//! delete leaves it `Terminating` for its grace period (capped at 1 s here, see
//! [`FakeCluster::set_grace_cap`]); a deleted namespace is `Terminating` until its contents
//! are gone and refuses new content meanwhile (403); a Pod's spec cannot change in place
//! beyond images, the active deadline, added tolerations and the grace period (422).
//! By default there are no other controllers: a DaemonSet creates no pods and no kubelet runs
//! them. Tests put the state they need with [`FakeCluster::apply`] /
//! [`FakeCluster::apply_yaml`], which, like [`FakeCluster::delete`], act directly on the store
//! without those rules. [`FakeCluster::simulate_kind`] turns on a simulated kind cluster
//! instead (`sim/`): nodes, kubelet, DaemonSet controller, garbage collector and pod network.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let cluster = fake_apiserver::FakeCluster::new();
//! cluster.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: test\n");
//! let server = cluster.start().await?;
//! let kubeconfig = cluster.kubeconfig(&server, "kind-kubelab");
//! # let _ = kubeconfig; Ok(()) }
//! ```

mod exec;
mod fixture;
mod http;
mod images;
mod lifecycle;
mod patch;
mod resources;
mod selector;
mod sim;
mod status;
mod store;
mod table;
mod tty;
mod util;
mod watch;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch as signal;
use tokio::task::JoinHandle;

pub use fixture::FixtureError;
pub use resources::ResourceType;
pub use selector::{FieldSelector, LabelSelector};
pub use store::ObjectKey;
pub use tty::TerminalSize;
pub use util::parse_query;

use store::{ActiveFault, Inner};

/// A fake cluster: objects, scripted exec results, logs, faults and recorded requests,
/// shared behind an `Arc` (cloning is cheap and clones share state).
#[derive(Clone)]
pub struct FakeCluster {
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for FakeCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("FakeCluster")
            .field("objects", &inner.objects.len())
            .field("resource_version", &inner.rv)
            .finish()
    }
}

impl Default for FakeCluster {
    fn default() -> Self {
        Self::new()
    }
}

/// A scripted result for `pods/exec`: when a request names this pod (and container, if
/// set) and its command matches, the fake answers with this output and exit code.
///
/// `command` must match exactly, except that a trailing `"*"` element matches any rest
/// (including nothing). When several rules match, the one added last wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecRule {
    /// Namespace of the pod.
    pub namespace: String,
    /// Name of the pod; a trailing `*` matches any pod whose name starts with the rest.
    pub pod: String,
    /// Container; `None` matches any container.
    pub container: Option<String>,
    /// The command (argv), exact match; a trailing `"*"` matches any rest.
    pub command: Vec<String>,
    /// Sent on the stdout channel (if the client asked for stdout).
    pub stdout: String,
    /// Sent on the stderr channel (if the client asked for stderr).
    pub stderr: String,
    /// 0 gives a `Success` status, anything else `NonZeroExitCode`.
    pub exit_code: i32,
    /// Wait this long before answering (a slow or hanging command).
    pub delay: Option<Duration>,
}

impl ExecRule {
    /// A rule for `command` in `namespace/pod`, any container, empty output, exit code 0.
    pub fn new<S: Into<String>>(
        namespace: &str,
        pod: &str,
        command: impl IntoIterator<Item = S>,
    ) -> Self {
        ExecRule {
            namespace: namespace.to_string(),
            pod: pod.to_string(),
            command: command.into_iter().map(Into::into).collect(),
            ..ExecRule::default()
        }
    }

    /// Only for this container.
    pub fn container(mut self, container: &str) -> Self {
        self.container = Some(container.to_string());
        self
    }

    /// Sets stdout.
    pub fn stdout(mut self, text: &str) -> Self {
        self.stdout = text.to_string();
        self
    }

    /// Sets stderr.
    pub fn stderr(mut self, text: &str) -> Self {
        self.stderr = text.to_string();
        self
    }

    /// Sets the exit code.
    pub fn exit_code(mut self, code: i32) -> Self {
        self.exit_code = code;
        self
    }

    /// Sets a delay before the answer.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Whether this rule answers `command` in `namespace/pod`, container `container`.
    pub fn matches(
        &self,
        namespace: &str,
        pod: &str,
        container: Option<&str>,
        command: &[String],
    ) -> bool {
        let pod_matches = match self.pod.strip_suffix('*') {
            Some(prefix) => pod.starts_with(prefix),
            None => self.pod == pod,
        };
        if self.namespace != namespace || !pod_matches {
            return false;
        }
        if let Some(c) = &self.container
            && container != Some(c.as_str())
        {
            return false;
        }
        match self.command.split_last() {
            Some((last, head)) if last == "*" => command.starts_with(head),
            _ => self.command == command,
        }
    }
}

/// A fault to inject. Faults are checked, in the order injected, before normal handling.
///
/// `path_contains` is matched against the request target: the path, plus `?` and the raw
/// query when there is one (so `"watch=true"` or `"/pods/pod1/exec"` both work).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with a metav1 `Status` of this HTTP code (401 Unauthorized, 403 Forbidden,
    /// 404 NotFound, 409 AlreadyExists for POST / Conflict otherwise, 410 Expired,
    /// 429 TooManyRequests, 500 InternalError, 503 ServiceUnavailable, 504 Timeout...).
    Status {
        /// Substring of the request target.
        path_contains: String,
        /// HTTP method (case-insensitive); `None` matches any.
        method: Option<String>,
        /// The HTTP status code.
        status: u16,
        /// How many requests to fail; `None` for all of them until cleared.
        times: Option<usize>,
    },
    /// Hang this long before answering (then answer normally): for client timeouts.
    Delay {
        /// Substring of the request target.
        path_contains: String,
        /// How long to wait.
        delay: Duration,
    },
    /// Exec WebSockets send their output (if a rule matches) and then close without a
    /// status frame.
    DropExec,
}

impl Fault {
    /// `Fault::Status` for every method, until cleared.
    pub fn status(path_contains: &str, status: u16) -> Self {
        Fault::Status {
            path_contains: path_contains.to_string(),
            method: None,
            status,
            times: None,
        }
    }

    /// `Fault::Delay`.
    pub fn delay(path_contains: &str, delay: Duration) -> Self {
        Fault::Delay {
            path_contains: path_contains.to_string(),
            delay,
        }
    }
}

/// One HTTP request the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The URL path, e.g. `/api/v1/namespaces/test/pods`.
    pub path: String,
    /// The raw (still percent-encoded) query string, without `?`; empty if none.
    pub query: String,
}

impl RecordedRequest {
    /// The decoded query parameters, in order, repeats kept.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        parse_query(&self.query)
    }

    /// The first value of a query parameter.
    pub fn param(&self, key: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

/// A running fake API server. It stops serving (and ends its watches and exec sessions)
/// when dropped.
#[derive(Debug)]
pub struct Server {
    /// The loopback address it listens on.
    pub addr: SocketAddr,
    shutdown: signal::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Server {
    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving and waits until the server task has finished.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

fn namespace_object(name: &str) -> Value {
    serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

impl FakeCluster {
    /// An empty cluster with the namespaces `default`, `kube-system` and `kube-public`.
    pub fn new() -> FakeCluster {
        let cluster = FakeCluster {
            inner: Arc::new(Mutex::new(Inner::new())),
        };
        for ns in ["default", "kube-system", "kube-public"] {
            cluster.apply(namespace_object(ns));
        }
        cluster
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Serves on `127.0.0.1` with a free port, in a tokio task.
    pub async fn start(&self) -> std::io::Result<Server> {
        self.start_on(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Serves on `addr`, which must be a loopback address (anything else is refused).
    pub async fn start_on(&self, addr: SocketAddr) -> std::io::Result<Server> {
        if !addr.ip().is_loopback() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("fake-apiserver only binds loopback addresses, not {addr}"),
            ));
        }
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (shutdown, stop) = signal::channel(false);
        let router = http::router(http::Ctx {
            cluster: self.clone(),
            addr,
            stop: stop.clone(),
        });
        tokio::spawn(self.clone().simulate(stop.clone()));
        let mut stop_serving = stop;
        let task = tokio::spawn(async move {
            // Like a real kube-apiserver (Go sets TCP_NODELAY): without it, the small exec
            // frames after the WebSocket upgrade wait ~40 ms for a delayed ACK.
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stop_serving.wait_for(|stopped| *stopped).await;
                })
                .await;
        });
        Ok(Server {
            addr,
            shutdown,
            task: Some(task),
        })
    }

    /// Creates or replaces an object (by apiVersion, kind, namespace and name), keeping the
    /// uid and creationTimestamp of the object it replaces, setting them if missing, and
    /// bumping resourceVersion; watchers see ADDED or MODIFIED. Namespaced kinds without a
    /// namespace go to `default`. The object is stored as given otherwise (status included).
    ///
    /// # Panics
    /// If the object has no apiVersion, kind or metadata.name (see [`Self::try_apply`]).
    pub fn apply(&self, object: Value) {
        if let Err(e) = self.try_apply(object) {
            panic!("fake-apiserver: cannot apply object: {e}");
        }
    }

    /// [`Self::apply`], returning the stored object, or an error instead of panicking.
    pub fn try_apply(&self, object: Value) -> Result<Value, FixtureError> {
        let mut inner = self.lock();
        let object = inner.normalize(object).map_err(FixtureError::new)?;
        inner
            .put(object)
            .ok_or_else(|| FixtureError::new("the object has no usable key"))
    }

    /// Applies every document of a multi-document YAML string: Kubernetes objects (also
    /// `kind: List`), plus the fake's own `FakeExecRule` and `FakeLog` documents (see the
    /// crate's README).
    ///
    /// # Panics
    /// If the YAML or a document is invalid (see [`Self::try_apply_yaml`]).
    pub fn apply_yaml(&self, yaml: &str) {
        if let Err(e) = self.try_apply_yaml(yaml) {
            panic!("fake-apiserver: cannot apply YAML: {e}");
        }
    }

    /// [`Self::apply_yaml`], returning how many documents were applied, or an error.
    pub fn try_apply_yaml(&self, yaml: &str) -> Result<usize, FixtureError> {
        fixture::apply_yaml(self, yaml)
    }

    /// Deletes an object; watchers see DELETED. Deleting a namespace deletes its contents.
    /// Returns whether it existed.
    pub fn delete(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> bool {
        let mut inner = self.lock();
        if api_version == "v1" && kind == "Namespace" {
            return inner.remove_namespace(name).is_some();
        }
        let namespace = match inner.resource_for(api_version, kind) {
            Some(rt) if !rt.namespaced => None,
            _ => namespace,
        };
        inner
            .remove(&ObjectKey::new(api_version, kind, namespace, name))
            .is_some()
    }

    /// How long a graceful Pod deletion (and so a namespace deletion) takes here at most
    /// (1 s unless set): the real grace period, shortened for tests.
    pub fn set_grace_cap(&self, cap: Duration) {
        self.lock().grace_cap = cap;
    }

    /// One object, as stored.
    pub fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let inner = self.lock();
        let namespace = match inner.resource_for(api_version, kind) {
            Some(rt) if !rt.namespaced => None,
            _ => namespace,
        };
        inner
            .objects
            .get(&ObjectKey::new(api_version, kind, namespace, name))
            .cloned()
    }

    /// All objects of a type, ordered by namespace and name.
    pub fn list(&self, api_version: &str, kind: &str) -> Vec<Value> {
        self.lock()
            .objects_of(api_version, kind, None)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The current (latest) resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.lock().rv
    }

    /// Adds a scripted exec result (later rules win over earlier ones).
    pub fn script_exec(&self, rule: ExecRule) {
        self.lock().exec_rules.push(rule);
    }

    /// Removes all scripted exec results.
    pub fn clear_exec_rules(&self) {
        self.lock().exec_rules.clear();
    }

    /// Sets the log text of a container (served by `pods/{pod}/log`).
    pub fn set_log(&self, namespace: &str, pod: &str, container: &str, text: &str) {
        self.lock().logs.insert(
            (
                namespace.to_string(),
                pod.to_string(),
                container.to_string(),
            ),
            text.to_string(),
        );
    }

    /// Injects a fault (kept until it is used up or [`Self::clear_faults`]).
    pub fn inject(&self, fault: Fault) {
        let remaining = match &fault {
            Fault::Status { times, .. } => *times,
            _ => None,
        };
        self.lock().faults.push(ActiveFault { fault, remaining });
    }

    /// Removes all faults.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// Every terminal size interactive exec sessions sent (resize channel), with the Pod
    /// (`namespace/name`) it was sent to, in order.
    pub fn terminal_sizes(&self) -> Vec<(String, TerminalSize)> {
        self.lock().terminal_sizes.clone()
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.lock().requests.clear();
    }

    /// Serves another resource type (e.g. a CRD's) in addition to the built-in ones.
    pub fn register_resource(&self, resource: ResourceType) {
        let mut inner = self.lock();
        inner.resources.retain(|r| {
            !(r.group == resource.group
                && r.version == resource.version
                && r.plural == resource.plural)
        });
        inner.resources.push(resource);
    }

    /// A kubeconfig YAML for `server`: one cluster (`http://127.0.0.1:PORT`), one user with
    /// a bearer token, one context named `context` with namespace `default`, which is the
    /// current context. Cluster and user are named after the context, as kind does.
    pub fn kubeconfig(&self, server: &Server, context: &str) -> String {
        let name = yaml_quote(context);
        format!(
            "apiVersion: v1\n\
             kind: Config\n\
             preferences: {{}}\n\
             clusters:\n\
             - name: {name}\n  cluster:\n    server: {url}\n\
             users:\n\
             - name: {name}\n  user:\n    token: fake-apiserver-token\n\
             contexts:\n\
             - name: {name}\n  context:\n    cluster: {name}\n    user: {name}\n    namespace: default\n\
             current-context: {name}\n",
            url = server.url(),
        )
    }

    pub(crate) fn record_request(&self, method: &str, path: &str, query: &str) {
        self.lock().requests.push(RecordedRequest {
            method: method.to_string(),
            path: path.to_string(),
            query: query.to_string(),
        });
    }

    /// Matches faults against a request: the total delay to wait, then a status to answer
    /// with (if any). Uses up `times`.
    pub(crate) fn match_faults(&self, method: &str, target: &str) -> (Duration, Option<u16>) {
        let mut inner = self.lock();
        let mut delay = Duration::ZERO;
        let mut status = None;
        for active in inner.faults.iter_mut() {
            match &active.fault {
                Fault::Delay {
                    path_contains,
                    delay: d,
                } if target.contains(path_contains.as_str()) => delay += *d,
                Fault::Status {
                    path_contains,
                    method: m,
                    status: code,
                    ..
                } if status.is_none()
                    && target.contains(path_contains.as_str())
                    && m.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method))
                    && active.remaining != Some(0) =>
                {
                    status = Some(*code);
                    if let Some(n) = active.remaining.as_mut() {
                        *n -= 1;
                    }
                }
                _ => {}
            }
        }
        inner.faults.retain(|f| f.remaining != Some(0));
        (delay, status)
    }

    pub(crate) fn drop_exec(&self) -> bool {
        self.lock()
            .faults
            .iter()
            .any(|f| f.fault == Fault::DropExec)
    }
}

fn yaml_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"fake\"".to_string())
}
