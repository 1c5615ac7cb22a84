//! Pure evaluation: a task's criteria against an [`Observed`] snapshot, each with a status
//! and the evidence a learner needs to fix what is wrong without opening a terminal.

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Event, Pod};

pub mod listening;

use super::observed::{ExecOutput, Need, Observed};
use super::plan::{exec_request, matching_daemonsets};
use super::pod;
use super::probe::http_answered;
use super::spec::{Check, Criterion, LocalProtocol, PodProtocol, Probe};
use super::verdict::{CriterionResult, Evidence, Status, Verdict};

/// A pod younger than this that is still being created is "pending", not "failed".
pub const CONVERGE_SECONDS: i64 = 120;
/// Scheduling and sandbox failures younger than this may still resolve by themselves.
pub const SETTLE_SECONDS: i64 = 15;
/// Log lines shown for a crashing container.
pub const LOG_LINES: usize = 10;
/// What is observed when the nodes could not be fetched.
const NODES_UNREAD: &str = "the nodes could not be read";

/// Evaluates every criterion of a task into a scored verdict.
pub fn verdict(task: &str, criteria: &[Criterion], observed: &Observed) -> Verdict {
    let results = criteria
        .iter()
        .map(|criterion| {
            let (status, evidence) = judge(&criterion.check, observed);
            CriterionResult {
                id: criterion.id.clone(),
                description: criterion.description.clone(),
                points: criterion.points,
                status,
                evidence,
            }
        })
        .collect();
    Verdict::new(task, results)
}

/// The same verdict with every criterion in `error`, e.g. when the cluster is unreachable.
pub fn unreachable(task: &str, criteria: &[Criterion], reason: &str) -> Verdict {
    let results = criteria
        .iter()
        .map(|criterion| CriterionResult {
            id: criterion.id.clone(),
            description: criterion.description.clone(),
            points: criterion.points,
            status: Status::Error,
            evidence: Evidence {
                expected: expected(&criterion.check),
                observed: "could not be checked".to_string(),
                reasons: vec![reason.to_string()],
                ..Evidence::default()
            },
        })
        .collect();
    Verdict::new(task, results)
}

fn outcome(status: Status, expected: String, observed: String) -> (Status, Evidence) {
    (
        status,
        Evidence {
            expected,
            observed,
            ..Evidence::default()
        },
    )
}

fn with_reasons(mut result: (Status, Evidence), reasons: Vec<String>) -> (Status, Evidence) {
    result.1.reasons.extend(reasons);
    result
}

/// A finished judgement.
type Judged = (Status, Evidence);

/// What a check wants, in words.
pub fn expected(check: &Check) -> String {
    match check {
        Check::NamespaceExists { namespace } => {
            format!("namespace {namespace} exists and is Active")
        }
        Check::PodRunning { .. } => pod_running_expected(check),
        Check::PodIpInCidr {
            namespace,
            pod,
            cidr: Some(cidr),
        } => format!("pod {namespace}/{pod} has an IP inside {cidr}"),
        Check::PodIpInCidr { namespace, pod, .. } => {
            format!("pod {namespace}/{pod} has an IP inside the nodes' pod CIDRs")
        }
        Check::PodsOnDifferentNodes { namespace, pods } => {
            format!(
                "pods {} in {namespace} run on different nodes",
                pods.join(", ")
            )
        }
        Check::DistinctPodIps { namespace, pods } => {
            format!(
                "pods {} in {namespace} each have their own IP",
                pods.join(", ")
            )
        }
        Check::DaemonsetReady { name, selector, .. } => {
            let by = match (name, selector) {
                (Some(n), Some(s)) => format!("named {n} or labelled {s}"),
                (Some(n), None) => format!("named {n}"),
                (None, Some(s)) => format!("labelled {s}"),
                (None, None) => "(unspecified)".to_string(),
            };
            format!("a DaemonSet {by} has a ready, available pod on every node it targets")
        }
        Check::NodesReady {} => "every node is Ready".to_string(),
        Check::ContainerStable {
            namespace,
            pod,
            container,
            seconds,
        } => format!(
            "container {container} of pod {namespace}/{pod} has been running for {seconds} s without crashing"
        ),
        Check::UniqueContainerPorts { namespace, pod } => {
            format!("no two containers of pod {namespace}/{pod} declare the same port")
        }
        Check::DeclaredPortsListening { namespace, pod } => format!(
            "every port a container of pod {namespace}/{pod} declares accepts a connection on 127.0.0.1 from that container"
        ),
        Check::Exec {
            command,
            exit_code,
            stdout_contains,
            stdout_regex,
            ..
        } => {
            let mut text = format!("`{}` exits with {exit_code}", command.join(" "));
            if let Some(s) = stdout_contains {
                text.push_str(&format!(" and prints `{s}`"));
            }
            if let Some(r) = stdout_regex {
                text.push_str(&format!(" and prints something matching /{r}/"));
            }
            text
        }
        Check::PodToPod {
            namespace,
            from,
            to,
            port,
            protocol,
            ..
        } => format!(
            "pod {namespace}/{from} reaches pod {to}'s IP on port {port} ({})",
            match protocol {
                PodProtocol::Http => "an HTTP answer",
                PodProtocol::Tcp => "a TCP connection",
            }
        ),
        Check::Localhost {
            namespace,
            pod,
            from_container,
            port,
            protocol,
        } => format!(
            "in pod {namespace}/{pod}, container {from_container} reaches 127.0.0.1:{port} ({})",
            match protocol {
                LocalProtocol::Http => "an HTTP answer",
                LocalProtocol::Redis => "Redis answers PING with PONG",
                LocalProtocol::Tcp => "a TCP connection",
            }
        ),
    }
}

/// What a `pod-running` check wants, in words: running, and the shape asked for.
fn pod_running_expected(check: &Check) -> String {
    let Check::PodRunning {
        namespace,
        pod,
        image,
        images,
        containers,
        ports,
    } = check
    else {
        return String::new();
    };
    let mut want = format!("pod {namespace}/{pod} is Running");
    match image {
        Some(image) => want.push_str(&format!(", all containers Ready, image {image}")),
        None => want.push_str(" with all containers Ready"),
    }
    for (container, image) in images {
        want.push_str(&format!(", container {container} runs {image}"));
    }
    if let Some(count) = containers {
        want.push_str(&format!(", {count} container(s)"));
    }
    for port in ports {
        want.push_str(&format!(", port {port} declared"));
    }
    want
}

/// Judges one check.
pub fn judge(check: &Check, observed: &Observed) -> (Status, Evidence) {
    let want = expected(check);
    match check {
        Check::NamespaceExists { namespace } => namespace_exists(namespace, observed, want),
        // Checks about one pod share the lookup: an absent or unreadable pod fails them alike.
        Check::PodRunning { namespace, pod, .. }
        | Check::PodIpInCidr { namespace, pod, .. }
        | Check::ContainerStable { namespace, pod, .. }
        | Check::UniqueContainerPorts { namespace, pod } => {
            match find_pod(namespace, pod, observed, &want) {
                Ok(found) => judge_pod(check, &found, want),
                Err(done) => *done,
            }
        }
        Check::DistinctPodIps { namespace, pods } => {
            apart(Apart::Ip, namespace, pods, observed, want)
        }
        Check::PodsOnDifferentNodes { namespace, pods } => {
            apart(Apart::Node, namespace, pods, observed, want)
        }
        Check::DaemonsetReady {
            name,
            selector,
            namespaces,
            images,
        } => daemonset_ready(
            (name.as_deref(), selector.as_deref(), namespaces.as_deref()),
            images,
            observed,
            want,
        ),
        Check::NodesReady {} => nodes_ready(observed, want),
        Check::DeclaredPortsListening { namespace, pod } => {
            match find_pod(namespace, pod, observed, &want) {
                Ok(found) => listening::judge(&found, namespace, want),
                Err(done) => *done,
            }
        }
        Check::Exec { .. } | Check::PodToPod { .. } | Check::Localhost { .. } => {
            command_check(check, observed, want)
        }
    }
}

/// Judges a check about one pod, once that pod is found.
fn judge_pod(check: &Check, found: &FoundPod, want: String) -> Judged {
    match check {
        Check::PodRunning {
            image,
            images,
            containers,
            ports,
            ..
        } => {
            let shape = PodShape {
                image: image.as_deref(),
                images,
                containers: *containers,
                ports,
            };
            pod_running(found, &shape, want)
        }
        Check::PodIpInCidr { cidr, .. } => pod_ip_in_cidr(found, cidr.as_deref(), want),
        Check::ContainerStable {
            container, seconds, ..
        } => container_stable(found, container, *seconds, want),
        Check::UniqueContainerPorts { .. } => unique_ports(found, want),
        _ => outcome(Status::Error, want, "not a check about one pod".into()),
    }
}

/// The error judgement when the snapshot could not fetch `need`, with `what` as the observation.
fn unreadable(observed: &Observed, need: &Need, want: &str, what: &str) -> Option<Judged> {
    let reason = observed.failure(need)?;
    Some(with_reasons(
        outcome(Status::Error, want.to_string(), what.to_string()),
        vec![reason.to_string()],
    ))
}

fn namespace_exists(namespace: &str, observed: &Observed, want: String) -> (Status, Evidence) {
    let need = Need::Namespace(namespace.to_string());
    if let Some(done) = unreadable(observed, &need, &want, "could not be read") {
        return done;
    }
    match observed.namespaces.get(namespace).and_then(Option::as_ref) {
        None => outcome(
            Status::Failed,
            want,
            format!("namespace {namespace} does not exist (kubectl get ns {namespace})"),
        ),
        Some(ns) => {
            let phase = ns
                .status
                .as_ref()
                .and_then(|s| s.phase.clone())
                .unwrap_or_else(|| "Active".to_string());
            if phase == "Active" {
                outcome(
                    Status::Passed,
                    want,
                    format!("namespace {namespace} is Active"),
                )
            } else {
                outcome(
                    Status::Pending,
                    want,
                    format!("namespace {namespace} is {phase}: it is being deleted"),
                )
            }
        }
    }
}

/// A pod a check is about, as found in the snapshot.
struct FoundPod<'a> {
    /// The name the check gives it.
    name: &'a str,
    pod: &'a Pod,
    /// Events about the pod, oldest first.
    events: &'a [Event],
    /// The snapshot it was found in, for its clock, logs and nodes.
    observed: &'a Observed,
}

/// Looks up a pod; Err carries the finished judgement when it is absent or unreadable.
fn find_pod<'a>(
    namespace: &str,
    name: &'a str,
    observed: &'a Observed,
    want: &str,
) -> Result<FoundPod<'a>, Box<Judged>> {
    let key = (namespace.to_string(), name.to_string());
    let need = Need::Pod(key.0.clone(), key.1.clone());
    let what = format!("pod {namespace}/{name} could not be read");
    if let Some(done) = unreadable(observed, &need, want, &what) {
        return Err(Box::new(done));
    }
    let Some(pod) = observed.pods.get(&key).and_then(Option::as_ref) else {
        return Err(Box::new(outcome(
            Status::Failed,
            want.to_string(),
            format!(
                "pod {name} does not exist in namespace {namespace} (kubectl get pods -n {namespace})"
            ),
        )));
    };
    let events = observed
        .pod_events
        .get(&key)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    Ok(FoundPod {
        name,
        pod,
        events,
        observed,
    })
}

fn log_tail(observed: &Observed, pod: &Pod) -> Vec<String> {
    let (Some(ns), Some(name)) = (&pod.metadata.namespace, &pod.metadata.name) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for ((lns, lpod, container, _), text) in &observed.logs {
        if lns == ns && lpod == name {
            let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
            let start = lines.len().saturating_sub(LOG_LINES);
            out.extend(lines[start..].iter().map(|l| format!("[{container}] {l}")));
        }
    }
    out
}

/// How far a pod that is not (yet) Running and Ready has got, and why it is stuck.
fn pod_progress(found: &FoundPod, want: String) -> Judged {
    let (pod, events, observed) = (found.pod, found.events, found.observed);
    let name = pod.metadata.name.clone().unwrap_or_default();
    let age = pod::age_seconds(pod, observed.now);
    let state = pod::summary(pod);
    let mut reasons = pod::false_conditions(pod);
    reasons.extend(pod::container_problems(pod));
    reasons.extend(pod::warnings(events));
    let logs = log_tail(observed, pod);
    let crashing = pod::container_statuses(pod).iter().any(pod::is_crashing);
    let waiting: Vec<String> = pod::container_statuses(pod)
        .iter()
        .filter_map(|s| s.state.as_ref()?.waiting.as_ref()?.reason.clone())
        .collect();
    let stuck_reason = waiting.iter().any(|r| {
        matches!(
            r.as_str(),
            "ErrImagePull"
                | "ImagePullBackOff"
                | "InvalidImageName"
                | "CreateContainerConfigError"
                | "CreateContainerError"
        )
    });
    let sandbox_failed = pod::has_warning(events, "FailedCreatePodSandBox")
        || pod::has_warning(events, "FailedScheduling")
        || pod::has_warning(events, "FailedMount");
    let status = if pod.metadata.deletion_timestamp.is_some() {
        Status::Pending
    } else if crashing || stuck_reason || matches!(pod::phase(pod), "Succeeded" | "Failed") {
        Status::Failed
    } else if sandbox_failed {
        if age < SETTLE_SECONDS {
            Status::Pending
        } else {
            Status::Failed
        }
    } else if age < CONVERGE_SECONDS {
        Status::Pending
    } else {
        Status::Failed
    };
    let observed_text = if status == Status::Pending && !sandbox_failed {
        format!("pod {name} is {state} (created {age} s ago, still starting)")
    } else {
        format!("pod {name} is {state}")
    };
    (
        status,
        Evidence {
            expected: want,
            observed: observed_text,
            reasons,
            logs,
            command: None,
        },
    )
}

/// A pod not (yet) in the state a check needs: its progress, with `what` as the observation.
/// A pod that looks healthy yet lacks what is needed (e.g. an IP) counts as failed.
fn not_ready(found: &FoundPod, want: String, what: String) -> Judged {
    let (status, mut evidence) = pod_progress(found, want);
    evidence.observed = what;
    (at_least_failed_if_passed(status), evidence)
}

/// A pod's progress says Passed when it looks healthy; a check that still lacks something
/// from it (e.g. an IP) has failed.
fn at_least_failed_if_passed(status: Status) -> Status {
    if status == Status::Passed {
        Status::Failed
    } else {
        status
    }
}

fn running_and_ready(pod: &Pod) -> bool {
    let (ready, total) = pod::ready_count(pod);
    pod::phase(pod) == "Running"
        && total > 0
        && ready == total
        && pod.metadata.deletion_timestamp.is_none()
}

/// What a `pod-running` check asks of the pod's spec besides running.
struct PodShape<'a> {
    image: Option<&'a str>,
    images: &'a std::collections::BTreeMap<String, String>,
    containers: Option<usize>,
    ports: &'a [u16],
}

fn pod_running(found: &FoundPod, shape: &PodShape, want: String) -> Judged {
    let (pod, name) = (found.pod, found.name);
    if let Some(image) = shape.image {
        let wrong = wrong_images(pod, image);
        if !wrong.is_empty() {
            return with_reasons(
                outcome(
                    Status::Failed,
                    want,
                    format!("pod {name} does not run {image}"),
                ),
                wrong,
            );
        }
    }
    let mut wrong = wrong_containers(pod, shape.images);
    wrong.extend(wrong_shape(pod, shape.containers, shape.ports));
    if !wrong.is_empty() {
        return with_reasons(
            outcome(
                Status::Failed,
                want,
                format!("pod {name} is not the pod asked for"),
            ),
            wrong,
        );
    }
    if running_and_ready(pod) {
        return outcome(
            Status::Passed,
            want,
            format!("pod {name} is {}", pod::summary(pod)),
        );
    }
    pod_progress(found, want)
}

/// Each container of the pod that does not run `image`, with what it runs instead.
fn wrong_images(pod: &Pod, image: &str) -> Vec<String> {
    pod.spec
        .as_ref()
        .map(|s| s.containers.as_slice())
        .unwrap_or(&[])
        .iter()
        .filter(|c| {
            !c.image
                .as_deref()
                .is_some_and(|i| pod::same_image(i, image))
        })
        .map(|c| {
            format!(
                "container {} runs {}",
                c.name,
                c.image.as_deref().unwrap_or("no image")
            )
        })
        .collect()
}

/// Each named container that is missing or runs another image than the one it must run.
fn wrong_containers(pod: &Pod, images: &std::collections::BTreeMap<String, String>) -> Vec<String> {
    let containers: Vec<&k8s_openapi::api::core::v1::Container> = pod
        .spec
        .as_ref()
        .map(|s| s.containers.iter().collect())
        .unwrap_or_default();
    image_mismatches(&containers, images, "the pod")
}

/// For each container named in `images`: missing from `containers` (of `owner`), or running
/// another image than the one named (compared as the runtime resolves images).
fn image_mismatches(
    containers: &[&k8s_openapi::api::core::v1::Container],
    images: &std::collections::BTreeMap<String, String>,
    owner: &str,
) -> Vec<String> {
    images
        .iter()
        .filter_map(
            |(name, want)| match containers.iter().find(|c| &c.name == name) {
                None => Some(format!("{owner} has no container named {name}")),
                Some(c) if c.image.as_deref().is_some_and(|i| pod::same_image(i, want)) => None,
                Some(c) => Some(format!(
                    "container {name} runs {}, not {want}",
                    c.image.as_deref().unwrap_or("no image")
                )),
            },
        )
        .collect()
}

/// A container count other than the one asked for, and ports no container declares.
fn wrong_shape(pod: &Pod, containers: Option<usize>, ports: &[u16]) -> Vec<String> {
    let list = pod
        .spec
        .as_ref()
        .map(|s| s.containers.as_slice())
        .unwrap_or(&[]);
    let mut wrong = Vec::new();
    if let Some(count) = containers.filter(|c| *c != list.len()) {
        wrong.push(format!(
            "the pod has {} container(s), not {count}",
            list.len()
        ));
    }
    for port in ports {
        let declared = list.iter().any(|c| {
            c.ports
                .iter()
                .flatten()
                .any(|p| p.container_port == i32::from(*port))
        });
        if !declared {
            wrong.push(format!("no container declares port {port}"));
        }
    }
    wrong
}

fn pod_ip_in_cidr(found: &FoundPod, cidr: Option<&str>, want: String) -> Judged {
    let name = found.name;
    let Some(ip) = pod::ip(found.pod) else {
        let what = format!("pod {name} has no IP yet: {}", pod::summary(found.pod));
        return not_ready(found, want, what);
    };
    let cidrs: Vec<String> = match cidr {
        Some(c) => vec![c.to_string()],
        None => {
            let observed = found.observed;
            if let Some(done) = unreadable(observed, &Need::Nodes, &want, NODES_UNREAD) {
                return done;
            }
            observed
                .nodes
                .iter()
                .flatten()
                .flat_map(pod::node_pod_cidrs)
                .collect()
        }
    };
    if cidrs.is_empty() {
        return outcome(
            Status::Error,
            want,
            format!("pod {name} has IP {ip}, but no node reports a pod CIDR to compare with"),
        );
    }
    if cidrs.iter().any(|c| pod::cidr_contains(c, ip)) {
        outcome(
            Status::Passed,
            want,
            format!("pod {name} has IP {ip}, inside {}", cidrs.join(", ")),
        )
    } else {
        outcome(
            Status::Failed,
            want,
            format!("pod {name} has IP {ip}, outside {}", cidrs.join(", ")),
        )
    }
}

/// What pods must not share: an IP, or a node.
#[derive(Debug, Clone, Copy)]
enum Apart {
    Ip,
    Node,
}

impl Apart {
    fn of(self, pod: &Pod) -> Option<&str> {
        match self {
            Apart::Ip => pod::ip(pod),
            Apart::Node => pod
                .spec
                .as_ref()
                .and_then(|s| s.node_name.as_deref())
                .filter(|n| !n.is_empty()),
        }
    }

    fn missing(self) -> &'static str {
        match self {
            Apart::Ip => "has no IP yet",
            Apart::Node => "is not on a node yet",
        }
    }

    fn none(self) -> &'static str {
        match self {
            Apart::Ip => "no pod has an IP",
            Apart::Node => "no pod is on a node",
        }
    }

    fn shared(self) -> &'static str {
        match self {
            Apart::Ip => "share IP",
            Apart::Node => "both run on node",
        }
    }
}

/// Every pod has the attribute and no two share it (distinct IPs, different nodes).
fn apart(
    what: Apart,
    namespace: &str,
    pods: &[String],
    observed: &Observed,
    want: String,
) -> (Status, Evidence) {
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut worst = Status::Passed;
    let mut reasons = Vec::new();
    for name in pods {
        match find_pod(namespace, name, observed, &want) {
            Err(done) => {
                let (status, evidence) = *done;
                worst = worse(worst, status);
                reasons.push(evidence.observed);
                reasons.extend(evidence.reasons);
            }
            Ok(found) => match what.of(found.pod) {
                Some(value) => seen.push((name.clone(), value.to_string())),
                None => {
                    let (status, evidence) = pod_progress(&found, want.clone());
                    worst = worse(worst, at_least_failed_if_passed(status));
                    reasons.push(format!(
                        "pod {name} {}: {}",
                        what.missing(),
                        evidence.observed
                    ));
                    reasons.extend(evidence.reasons);
                }
            },
        }
    }
    let listing = seen
        .iter()
        .map(|(n, ip)| format!("{n} {ip}"))
        .collect::<Vec<_>>()
        .join(", ");
    for (i, (a, value)) in seen.iter().enumerate() {
        for (b, other) in &seen[i + 1..] {
            if value == other {
                worst = worse(worst, Status::Failed);
                reasons.push(format!("pods {a} and {b} {} {value}", what.shared()));
            }
        }
    }
    let observed_text = if listing.is_empty() {
        what.none().to_string()
    } else {
        listing
    };
    with_reasons(outcome(worst, want, observed_text), reasons)
}

/// The more serious of two statuses: error > failed > pending > passed.
fn worse(a: Status, b: Status) -> Status {
    let rank = |s: Status| match s {
        Status::Passed => 0,
        Status::Pending => 1,
        Status::Failed => 2,
        Status::Error => 3,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// Which DaemonSet: by name, by label selector, in these namespaces (default all).
type DaemonsetQuery<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a [String]>);

fn daemonset_ready(
    (name, selector, namespaces): DaemonsetQuery,
    images: &std::collections::BTreeMap<String, String>,
    observed: &Observed,
    want: String,
) -> (Status, Evidence) {
    let unlisted = "DaemonSets could not be listed";
    if let Some(done) = unreadable(observed, &Need::DaemonSets, &want, unlisted) {
        return done;
    }
    let all = observed.daemonsets.as_deref().unwrap_or(&[]);
    let found = matching_daemonsets(all, name, selector, namespaces);
    // Several may match (e.g. by name and by label): a rolled-out one is the one to judge.
    let Some(ds) = found
        .iter()
        .copied()
        .find(|d| rolled_out(d))
        .or(found.first().copied())
    else {
        return no_daemonset(all, namespaces, want);
    };
    let (desired, ready, available) = rollout_counts(ds);
    let ns = ds.metadata.namespace.clone().unwrap_or_default();
    let ds_name = ds.metadata.name.clone().unwrap_or_default();
    let modified = template_changes(ds, images);
    if !modified.is_empty() {
        return with_reasons(
            outcome(
                Status::Failed,
                want,
                format!("{ns}/{ds_name} is not the manifest asked for"),
            ),
            modified,
        );
    }
    let state = format!("{ns}/{ds_name}: {desired} desired, {ready} ready, {available} available");
    if rolled_out(ds) {
        return outcome(
            Status::Passed,
            want,
            format!("found in namespace {ns}: {state}"),
        );
    }
    let pods = observed
        .daemonset_pods
        .get(&(ns, ds_name))
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    daemonset_progress(pods, desired, observed, want, state)
}

/// The pod template's containers (init containers included) that are missing or run another
/// image than the one named.
fn template_changes(
    ds: &DaemonSet,
    images: &std::collections::BTreeMap<String, String>,
) -> Vec<String> {
    let containers: Vec<&k8s_openapi::api::core::v1::Container> = ds
        .spec
        .template
        .spec
        .as_ref()
        .map(|s| {
            s.containers
                .iter()
                .chain(s.init_containers.iter().flatten())
                .collect()
        })
        .unwrap_or_default();
    image_mismatches(&containers, images, "the DaemonSet")
}

/// A DaemonSet's desired, ready and available pod counts.
fn rollout_counts(ds: &DaemonSet) -> (i32, i32, i32) {
    let s = ds.status.as_ref();
    (
        s.map_or(0, |s| s.desired_number_scheduled),
        s.map_or(0, |s| s.number_ready),
        s.and_then(|s| s.number_available).unwrap_or(0),
    )
}

/// Whether a DaemonSet has a ready, available pod on every node it targets (at least one).
fn rolled_out(ds: &DaemonSet) -> bool {
    let (desired, ready, available) = rollout_counts(ds);
    desired > 0 && desired == ready && ready == available
}

/// No DaemonSet matches: failed, listing the DaemonSets there are to spot a misnamed one.
fn no_daemonset(all: &[DaemonSet], namespaces: Option<&[String]>, want: String) -> Judged {
    let where_ = namespaces.map_or("any namespace".to_string(), |n| n.join(", "));
    let others: Vec<String> = all
        .iter()
        .map(|d| {
            format!(
                "{}/{}",
                d.metadata.namespace.as_deref().unwrap_or(""),
                d.metadata.name.as_deref().unwrap_or("")
            )
        })
        .collect();
    let mut reasons = Vec::new();
    if !others.is_empty() {
        reasons.push(format!("DaemonSets present: {}", others.join(", ")));
    }
    with_reasons(
        outcome(
            Status::Failed,
            want,
            format!("no matching DaemonSet in {where_}: the CNI is not installed"),
        ),
        reasons,
    )
}

/// A DaemonSet not rolled out yet: why its pods are not ready, and pending while they are
/// young and none crashes.
fn daemonset_progress(
    pods: &[Pod],
    desired: i32,
    observed: &Observed,
    want: String,
    state: String,
) -> Judged {
    let mut reasons = Vec::new();
    let mut logs = Vec::new();
    let mut crashing = false;
    for p in pods.iter().filter(|p| !running_and_ready(p)) {
        let pname = p.metadata.name.clone().unwrap_or_default();
        reasons.push(format!("pod {pname}: {}", pod::summary(p)));
        reasons.extend(pod::container_problems(p));
        logs.extend(log_tail(observed, p));
        crashing |= pod::container_statuses(p).iter().any(pod::is_crashing);
    }
    if desired == 0 {
        reasons.push(
            "no node is targeted: check the DaemonSet's nodeSelector and tolerations".to_string(),
        );
    }
    let young = pods
        .iter()
        .map(|p| pod::age_seconds(p, observed.now))
        .min()
        .is_some_and(|age| age < CONVERGE_SECONDS);
    let status = if !crashing && young {
        Status::Pending
    } else {
        Status::Failed
    };
    let (status, mut evidence) = with_reasons(outcome(status, want, state), reasons);
    evidence.logs = logs;
    (status, evidence)
}

fn nodes_ready(observed: &Observed, want: String) -> (Status, Evidence) {
    if let Some(done) = unreadable(observed, &Need::Nodes, &want, NODES_UNREAD) {
        return done;
    }
    let nodes = observed.nodes.as_deref().unwrap_or(&[]);
    if nodes.is_empty() {
        return outcome(
            Status::Failed,
            want,
            "the cluster reports no nodes".to_string(),
        );
    }
    let mut reasons = Vec::new();
    let mut not_ready = Vec::new();
    for node in nodes {
        let name = node.metadata.name.clone().unwrap_or_default();
        let (status, why) = pod::node_ready(node);
        if status != "True" {
            not_ready.push(name.clone());
            reasons.push(format!("node {name} is NotReady: {why}"));
            let taints: Vec<String> = node
                .spec
                .as_ref()
                .and_then(|s| s.taints.as_ref())
                .map(|t| {
                    t.iter()
                        .map(|t| format!("{}:{}", t.key, t.effect))
                        .collect()
                })
                .unwrap_or_default();
            if !taints.is_empty() {
                reasons.push(format!("node {name} taints: {}", taints.join(", ")));
            }
        }
    }
    if not_ready.is_empty() {
        outcome(
            Status::Passed,
            want,
            format!("{} node(s) Ready", nodes.len()),
        )
    } else {
        with_reasons(
            outcome(
                Status::Failed,
                want,
                format!(
                    "{} of {} node(s) NotReady: {}",
                    not_ready.len(),
                    nodes.len(),
                    not_ready.join(", ")
                ),
            ),
            reasons,
        )
    }
}

fn container_stable(found: &FoundPod, container: &str, seconds: u32, want: String) -> Judged {
    let (pod, observed) = (found.pod, found.observed);
    let Some(status) = pod::container_statuses(pod)
        .iter()
        .find(|s| s.name == container)
    else {
        return undeclared_container(found, container, &want)
            .unwrap_or_else(|| pod_progress(found, want));
    };
    if pod::is_crashing(status) {
        let (_, mut evidence) = pod_progress(found, want);
        evidence.observed = format!("container {container} is crashing: {}", pod::summary(pod));
        return (Status::Failed, evidence);
    }
    let started = status
        .state
        .as_ref()
        .and_then(|s| s.running.as_ref())
        .and_then(|r| r.started_at.as_ref());
    match started {
        Some(at) => {
            let up = observed.now.as_second() - at.0.as_second();
            if up >= i64::from(seconds) {
                outcome(
                    Status::Passed,
                    want,
                    format!(
                        "container {container} has been running for {up} s ({} restart(s) before)",
                        status.restart_count
                    ),
                )
            } else {
                outcome(
                    Status::Pending,
                    want,
                    format!(
                        "container {container} has been running for {up} s of the {seconds} s required"
                    ),
                )
            }
        }
        None => pod_progress(found, want),
    }
}

/// The failed judgement when the pod declares no container named `container`.
fn undeclared_container(found: &FoundPod, container: &str, want: &str) -> Option<Judged> {
    let declared = found
        .pod
        .spec
        .as_ref()
        .is_some_and(|s| s.containers.iter().any(|c| c.name == container));
    (!declared).then(|| {
        outcome(
            Status::Failed,
            want.to_string(),
            format!("pod {} has no container named {container}", found.name),
        )
    })
}

fn unique_ports(found: &FoundPod, want: String) -> Judged {
    let mut declared: Vec<(i32, String, String)> = Vec::new();
    for container in found
        .pod
        .spec
        .as_ref()
        .map(|s| s.containers.as_slice())
        .unwrap_or(&[])
    {
        for port in container.ports.as_deref().unwrap_or(&[]) {
            let protocol = port.protocol.clone().unwrap_or_else(|| "TCP".to_string());
            declared.push((port.container_port, protocol, container.name.clone()));
        }
    }
    let mut clashes = Vec::new();
    for (i, (port, proto, a)) in declared.iter().enumerate() {
        for (other, other_proto, b) in &declared[i + 1..] {
            if port == other && proto == other_proto {
                clashes.push(format!("port {port}/{proto} is declared by both {a} and {b}: only one process in a pod can bind it"));
            }
        }
    }
    let listing = declared
        .iter()
        .map(|(p, proto, c)| format!("{c} {p}/{proto}"))
        .collect::<Vec<_>>()
        .join(", ");
    let listing = if listing.is_empty() {
        "no ports declared".to_string()
    } else {
        listing
    };
    if clashes.is_empty() {
        outcome(Status::Passed, want, listing)
    } else {
        with_reasons(outcome(Status::Failed, want, listing), clashes)
    }
}

/// Judges a command check: the pods it depends on first, then what the command did.
fn command_check(check: &Check, observed: &Observed, want: String) -> Judged {
    if let Some(done) = command_blocked(check, observed, &want) {
        return done;
    }
    let Some(request) = exec_request(check, observed) else {
        return outcome(
            Status::Error,
            want,
            "the command could not be prepared".into(),
        );
    };
    let command = Some(request.display());
    match observed.execs.get(&request) {
        None => command_error(want, "the command was not run", Vec::new(), command),
        Some(Err(reason)) => command_error(
            want,
            "the command could not be run",
            vec![reason.clone()],
            command,
        ),
        Some(Ok(output)) => judge_output(check, output, command, want),
    }
}

/// The namespace of a command check, the pods it depends on (a connection's target first)
/// and the container the command runs in.
fn command_pods(check: &Check) -> Option<(&str, Vec<&str>, Option<&str>)> {
    match check {
        Check::Exec {
            namespace,
            pod,
            container,
            ..
        } => Some((namespace, vec![pod.as_str()], Some(container.as_str()))),
        Check::PodToPod {
            namespace,
            from,
            to,
            probe,
            from_container,
            ..
        } => Some(match probe {
            Probe::Exec => (
                namespace,
                vec![to.as_str(), from.as_str()],
                from_container.as_deref(),
            ),
            Probe::ProbePod => (namespace, vec![to.as_str()], None),
        }),
        Check::Localhost {
            namespace,
            pod,
            from_container,
            ..
        } => Some((namespace, vec![pod.as_str()], Some(from_container.as_str()))),
        _ => None,
    }
}

/// Why the command cannot run yet: every pod it depends on must be there and running first.
fn command_blocked(check: &Check, observed: &Observed, want: &str) -> Option<Judged> {
    let Some((namespace, pods, container)) = command_pods(check) else {
        let what = "not a command check".to_string();
        return Some(outcome(Status::Error, want.to_string(), what));
    };
    pods.iter().enumerate().find_map(|(index, name)| {
        let found = match find_pod(namespace, name, observed, want) {
            Ok(found) => found,
            Err(done) => return Some(*done),
        };
        if matches!(check, Check::PodToPod { .. }) && index == 0 {
            target_blocked(&found, want)
        } else {
            host_blocked(&found, container, want)
        }
    })
}

/// A connection's target needs only an IP: nothing runs in it.
fn target_blocked(found: &FoundPod, want: &str) -> Option<Judged> {
    pod::ip(found.pod).is_none().then(|| {
        let what = format!(
            "target pod {} has no IP yet: {}",
            found.name,
            pod::summary(found.pod)
        );
        not_ready(found, want.to_string(), what)
    })
}

/// The pod a command runs in must be Running, and so must the container it names.
fn host_blocked(found: &FoundPod, container: Option<&str>, want: &str) -> Option<Judged> {
    let (pod, name) = (found.pod, found.name);
    if pod::phase(pod) != "Running" {
        let what = format!(
            "nothing can run in pod {name} yet: it is {}",
            pod::summary(pod)
        );
        return Some(not_ready(found, want.to_string(), what));
    }
    let container = container?;
    match pod::container_statuses(pod)
        .iter()
        .find(|s| s.name == container)
    {
        // Not started yet is fine as long as the pod declares it.
        None => undeclared_container(found, container, want),
        Some(s)
            if s.state
                .as_ref()
                .and_then(|st| st.running.as_ref())
                .is_none() =>
        {
            let what = format!(
                "container {container} of pod {name} is not running: {}",
                pod::summary(pod)
            );
            Some(not_ready(found, want.to_string(), what))
        }
        Some(_) => None,
    }
}

/// An error judgement about a command, showing the command.
fn command_error(
    want: String,
    what: &str,
    reasons: Vec<String>,
    command: Option<String>,
) -> Judged {
    let (status, mut evidence) =
        with_reasons(outcome(Status::Error, want, what.to_string()), reasons);
    evidence.command = command;
    (status, evidence)
}

/// Judges what a command did, showing its exit code, the tail of its output and the command.
fn judge_output(
    check: &Check,
    output: &ExecOutput,
    command: Option<String>,
    want: String,
) -> Judged {
    let stdout = output.stdout.trim();
    let stderr = output.stderr.trim();
    let printed = if stdout.is_empty() {
        "nothing".to_string()
    } else {
        tail(stdout, 5)
    };
    let mut reasons = Vec::new();
    if !stderr.is_empty() {
        reasons.push(format!("stderr: {}", tail(stderr, 5)));
    }
    if output.exit_code == 127 {
        reasons.push("the container lacks the tools for this probe; a probe pod (busybox) can test from outside".to_string());
    }
    (
        if output_passes(check, output) {
            Status::Passed
        } else {
            Status::Failed
        },
        Evidence {
            expected: want,
            observed: format!("exit code {}, printed {printed}", output.exit_code),
            reasons,
            logs: Vec::new(),
            command,
        },
    )
}

/// Whether a command's output is what the check wants: its exit code, and for probes an
/// answer in the protocol spoken.
fn output_passes(check: &Check, output: &ExecOutput) -> bool {
    match check {
        Check::Exec {
            exit_code,
            stdout_contains,
            stdout_regex,
            ..
        } => {
            output.exit_code == *exit_code
                && stdout_contains
                    .as_ref()
                    .is_none_or(|s| output.stdout.contains(s.as_str()))
                && stdout_regex.as_ref().is_none_or(|r| {
                    regex::Regex::new(r).is_ok_and(|re| re.is_match(&output.stdout))
                })
        }
        Check::PodToPod {
            protocol: PodProtocol::Http,
            ..
        }
        | Check::Localhost {
            protocol: LocalProtocol::Http,
            ..
        } => output.exit_code == 0 && http_answered(&output.stdout),
        Check::Localhost {
            protocol: LocalProtocol::Redis,
            ..
        } => output.exit_code == 0 && output.stdout.contains("PONG"),
        _ => output.exit_code == 0,
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join(" | ")
}
