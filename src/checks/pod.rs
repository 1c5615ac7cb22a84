//! Reading pod, node and event state the way `kubectl describe` would summarise it.

use k8s_openapi::api::core::v1::{ContainerStatus, Event, Node, Pod};
use k8s_openapi::jiff::Timestamp;

/// The pod's phase, or `Unknown`.
pub fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Unknown")
}

/// The pod's IP, if it has one.
pub fn ip(pod: &Pod) -> Option<&str> {
    pod.status
        .as_ref()
        .and_then(|s| s.pod_ip.as_deref())
        .filter(|ip| !ip.is_empty())
}

/// All container statuses (init containers excluded).
pub fn container_statuses(pod: &Pod) -> &[ContainerStatus] {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or(&[])
}

/// Whether a container is crash-looping or has just died.
pub fn is_crashing(status: &ContainerStatus) -> bool {
    let waiting = status
        .state
        .as_ref()
        .and_then(|s| s.waiting.as_ref())
        .and_then(|w| w.reason.as_deref());
    let terminated_badly = status
        .state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .is_some_and(|t| t.exit_code != 0);
    matches!(waiting, Some("CrashLoopBackOff" | "RunContainerError")) || terminated_badly
}

/// `READY` as kubectl prints it: `1/2`.
pub fn ready_count(pod: &Pod) -> (usize, usize) {
    let statuses = container_statuses(pod);
    let total = pod
        .spec
        .as_ref()
        .map(|s| s.containers.len())
        .unwrap_or(statuses.len());
    (statuses.iter().filter(|s| s.ready).count(), total)
}

/// The pod's age in seconds at `now`.
pub fn age_seconds(pod: &Pod, now: Timestamp) -> i64 {
    pod.metadata
        .creation_timestamp
        .as_ref()
        .map(|t| now.as_second() - t.0.as_second())
        .unwrap_or(i64::MAX)
}

/// A one-line state like `kubectl get pods` shows: `Running, 1/2 ready, 4 restarts`.
pub fn summary(pod: &Pod) -> String {
    let (ready, total) = ready_count(pod);
    let restarts: i32 = container_statuses(pod)
        .iter()
        .map(|s| s.restart_count)
        .sum();
    let mut text = format!("{}, {ready}/{total} ready", display_status(pod));
    if restarts > 0 {
        text.push_str(&format!(", {restarts} restart(s)"));
    }
    if let Some(ip) = ip(pod) {
        text.push_str(&format!(", IP {ip}"));
    }
    text
}

/// The STATUS column of `kubectl get pods`: a waiting reason wins over the phase.
pub fn display_status(pod: &Pod) -> String {
    if pod.metadata.deletion_timestamp.is_some() {
        return "Terminating".to_string();
    }
    for status in container_statuses(pod) {
        if let Some(reason) = status
            .state
            .as_ref()
            .and_then(|s| s.waiting.as_ref())
            .and_then(|w| w.reason.clone())
        {
            return reason;
        }
    }
    phase(pod).to_string()
}

/// Per-container problems: waiting and terminated reasons with messages and exit codes.
pub fn container_problems(pod: &Pod) -> Vec<String> {
    let mut out = Vec::new();
    for status in container_statuses(pod) {
        let name = &status.name;
        if let Some(waiting) = status.state.as_ref().and_then(|s| s.waiting.as_ref()) {
            let reason = waiting.reason.as_deref().unwrap_or("Waiting");
            match waiting.message.as_deref().filter(|m| !m.is_empty()) {
                Some(message) => out.push(format!("container {name} is {reason}: {message}")),
                None => out.push(format!("container {name} is {reason}")),
            }
        }
        if let Some(terminated) = status.state.as_ref().and_then(|s| s.terminated.as_ref()) {
            out.push(format!(
                "container {name} terminated: {} (exit code {})",
                terminated.reason.as_deref().unwrap_or("Terminated"),
                terminated.exit_code
            ));
        }
        if let Some(last) = status
            .last_state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            && status.restart_count > 0
        {
            out.push(format!(
                "container {name} last exited: {} (exit code {}), {} restart(s)",
                last.reason.as_deref().unwrap_or("Error"),
                last.exit_code,
                status.restart_count
            ));
        }
    }
    out
}

/// Pod conditions that are not True, with their reason and message (e.g. Unschedulable).
pub fn false_conditions(pod: &Pod) -> Vec<String> {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .map(|conditions| {
            conditions
                .iter()
                .filter(|c| c.status != "True" && c.type_ == "PodScheduled")
                .map(|c| {
                    format!(
                        "{} is {}: {} {}",
                        c.type_,
                        c.status,
                        c.reason.as_deref().unwrap_or(""),
                        c.message.as_deref().unwrap_or("")
                    )
                    .trim()
                    .to_string()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Warning events, newest first, as `Reason: message` (deduplicated, at most five).
pub fn warnings(events: &[Event]) -> Vec<String> {
    let mut sorted: Vec<&Event> = events
        .iter()
        .filter(|e| e.type_.as_deref() == Some("Warning"))
        .collect();
    sorted.sort_by_key(|e| std::cmp::Reverse(event_time(e)));
    let mut out: Vec<String> = Vec::new();
    for event in sorted {
        let line = format!(
            "{}: {}",
            event.reason.as_deref().unwrap_or("Warning"),
            event.message.as_deref().unwrap_or("").trim()
        );
        if !out.contains(&line) {
            out.push(line);
        }
        if out.len() == 5 {
            break;
        }
    }
    out
}

fn event_time(event: &Event) -> i64 {
    event
        .last_timestamp
        .as_ref()
        .map(|t| t.0.as_second())
        .or_else(|| event.event_time.as_ref().map(|t| t.0.as_second()))
        .or_else(|| {
            event
                .metadata
                .creation_timestamp
                .as_ref()
                .map(|t| t.0.as_second())
        })
        .unwrap_or(0)
}

/// Whether any warning event names this reason.
pub fn has_warning(events: &[Event], reason: &str) -> bool {
    events
        .iter()
        .any(|e| e.type_.as_deref() == Some("Warning") && e.reason.as_deref() == Some(reason))
}

/// The node's Ready condition: (status, "reason: message").
pub fn node_ready(node: &Node) -> (String, String) {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .map(|c| {
            (
                c.status.clone(),
                format!(
                    "{}: {}",
                    c.reason.as_deref().unwrap_or(""),
                    c.message.as_deref().unwrap_or("")
                ),
            )
        })
        .unwrap_or_else(|| {
            (
                "Unknown".to_string(),
                "no Ready condition reported".to_string(),
            )
        })
}

/// The node's pod CIDRs (`spec.podCIDRs`, or `spec.podCIDR`).
pub fn node_pod_cidrs(node: &Node) -> Vec<String> {
    let Some(spec) = node.spec.as_ref() else {
        return Vec::new();
    };
    match (&spec.pod_cidrs, &spec.pod_cidr) {
        (Some(list), _) if !list.is_empty() => list.clone(),
        (_, Some(one)) => vec![one.clone()],
        _ => Vec::new(),
    }
}

/// Whether `ip` lies inside `cidr` (IPv4 or IPv6).
pub fn cidr_contains(cidr: &str, ip: &str) -> bool {
    let (Some((net, prefix)), Ok(addr)) = (
        super::spec::parse_cidr(cidr),
        ip.parse::<std::net::IpAddr>(),
    ) else {
        return false;
    };
    match (net, addr) {
        (std::net::IpAddr::V4(net), std::net::IpAddr::V4(addr)) => {
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(prefix))
            };
            u32::from(net) & mask == u32::from(addr) & mask
        }
        (std::net::IpAddr::V6(net), std::net::IpAddr::V6(addr)) => {
            let mask = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(prefix))
            };
            u128::from(net) & mask == u128::from(addr) & mask
        }
        _ => false,
    }
}

/// Whether two image references name the same image, as the container runtime resolves
/// them: `nginx:1.25` is `docker.io/library/nginx:1.25`, a missing tag is `latest`, and a
/// digest pinned after the tag (`nginx:1.25@sha256:...`) still names that tag.
pub fn same_image(a: &str, b: &str) -> bool {
    normalize_image(a) == normalize_image(b)
}

/// `registry/path:tag`, with Docker Hub's defaults filled in and a digest after a tag dropped.
fn normalize_image(reference: &str) -> String {
    let (name, digest) = match reference.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (reference, None),
    };
    // The tag is after the last ':' that comes after the last '/' (a registry may have a port).
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    let (path, tag) = match name[slash..].rfind(':') {
        Some(i) => (&name[..slash + i], Some(&name[slash + i + 1..])),
        None => (name, None),
    };
    let first = path.split('/').next().unwrap_or_default();
    let has_registry =
        path.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let full = match (has_registry, path.contains('/')) {
        (true, _) => path.replacen("index.docker.io/", "docker.io/", 1),
        (false, true) => format!("docker.io/{path}"),
        (false, false) => format!("docker.io/library/{path}"),
    };
    match (tag, digest) {
        (Some(tag), _) => format!("{full}:{tag}"),
        (None, Some(digest)) => format!("{full}@{digest}"),
        (None, None) => format!("{full}:latest"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs() {
        assert!(cidr_contains("10.244.0.0/16", "10.244.1.3"));
        assert!(!cidr_contains("10.244.0.0/16", "10.245.0.1"));
        assert!(cidr_contains("0.0.0.0/0", "1.2.3.4"));
        assert!(cidr_contains("fd00::/64", "fd00::1"));
        assert!(!cidr_contains("10.244.0.0/16", "fd00::1"));
        assert!(!cidr_contains("nonsense", "10.244.0.1"));
    }

    #[test]
    fn images_compare_as_the_runtime_resolves_them() {
        assert!(same_image("nginx:1.25", "docker.io/library/nginx:1.25"));
        assert!(same_image(
            "nginx:1.25",
            "index.docker.io/library/nginx:1.25"
        ));
        assert!(same_image("library/nginx:1.25", "nginx:1.25"));
        assert!(same_image(
            "nginx:1.25@sha256:0123456789abcdef",
            "nginx:1.25"
        ));
        assert!(same_image("nginx", "nginx:latest"));
        assert!(!same_image("nginx:1.25", "nginx:1.27"));
        assert!(!same_image("nginx:1.25", "redis:7"));
        assert!(!same_image("nginx@sha256:0123", "nginx:1.25"));
        assert!(!same_image("ghcr.io/library/nginx:1.25", "nginx:1.25"));
        assert!(same_image(
            "localhost:5000/team/app:1",
            "localhost:5000/team/app:1"
        ));
        assert!(!same_image(
            "localhost:5000/app:1",
            "docker.io/library/app:1"
        ));
    }
}
