//! `declared-ports-listening`: every port a container declares is really bound inside the
//! Pod, proved by a TCP connection to 127.0.0.1:PORT from that container with its own tools
//! (a declared port is only informational to the API, so a wrong one is accepted silently).

use k8s_openapi::api::core::v1::Pod;

use super::{FoundPod, Judged, not_ready, outcome, with_reasons};
use crate::checks::observed::{ExecRequest, ExecTarget, Observed};
use crate::checks::pod;
use crate::checks::probe;
use crate::checks::verdict::Status;

/// Every (container, port) the Pod declares, in spec order.
fn declared(pod: &Pod) -> Vec<(String, u16)> {
    pod.spec
        .iter()
        .flat_map(|s| &s.containers)
        .flat_map(|c| {
            c.ports.iter().flatten().filter_map(move |p| {
                u16::try_from(p.container_port)
                    .ok()
                    .map(|port| (c.name.clone(), port))
            })
        })
        .collect()
}

/// The probe for one declared port, run in the container that declares it.
fn request(namespace: &str, pod: &str, container: &str, port: u16) -> ExecRequest {
    ExecRequest {
        target: ExecTarget::Pod {
            namespace: namespace.to_string(),
            pod: pod.to_string(),
            container: Some(container.to_string()),
        },
        command: probe::tcp("127.0.0.1", port),
    }
}

/// What to run once the Pod is observed Running: a probe per declared port.
pub fn requests(namespace: &str, name: &str, observed: &Observed) -> Vec<ExecRequest> {
    let Some(pod) = observed
        .pods
        .get(&(namespace.to_string(), name.to_string()))
        .and_then(Option::as_ref)
        .filter(|p| pod::phase(p) == "Running")
    else {
        return Vec::new();
    };
    declared(pod)
        .iter()
        .filter(|(c, _)| running(pod, c))
        .map(|(c, port)| request(namespace, name, c, *port))
        .collect()
}

fn running(pod: &Pod, container: &str) -> bool {
    pod::container_statuses(pod).iter().any(|s| {
        s.name == container
            && s.state
                .as_ref()
                .and_then(|st| st.running.as_ref())
                .is_some()
    })
}

/// Judges the Pod's declared ports from the probes' outputs.
pub(super) fn judge(found: &FoundPod, namespace: &str, want: String) -> Judged {
    let pod = found.pod;
    let ports = declared(pod);
    if ports.is_empty() {
        return outcome(
            Status::Failed,
            want,
            format!("pod {} declares no container port", found.name),
        );
    }
    if let Some((container, _)) = ports.iter().find(|(c, _)| !running(pod, c)) {
        let what = format!(
            "container {container} is not running, so its ports cannot be tried: {}",
            pod::summary(pod)
        );
        return not_ready(found, want, what);
    }
    let mut heard = Vec::new();
    let mut silent = Vec::new();
    let mut errors = Vec::new();
    for (container, port) in &ports {
        let req = request(namespace, found.name, container, *port);
        match found.observed.execs.get(&req) {
            Some(Ok(out)) if out.exit_code == 0 && out.stdout.contains("connected") => {
                heard.push(format!("{container}:{port}"));
            }
            Some(Ok(out)) => silent.push(format!(
                "container {container} declares port {port}, but nothing accepts a connection on 127.0.0.1:{port} ({})",
                first_line(&out.stderr).unwrap_or_else(|| format!("exit code {}", out.exit_code))
            )),
            Some(Err(reason)) => errors.push(format!("{container}:{port}: {reason}")),
            None => errors.push(format!("{container}:{port}: the probe was not run")),
        }
    }
    if !silent.is_empty() {
        let what = format!(
            "{} of {} declared port(s) not listened on",
            silent.len(),
            ports.len()
        );
        return with_reasons(outcome(Status::Failed, want, what), silent);
    }
    if !errors.is_empty() {
        let what = "the ports could not be tried".to_string();
        return with_reasons(outcome(Status::Error, want, what), errors);
    }
    outcome(
        Status::Passed,
        want,
        format!("listening: {}", heard.join(", ")),
    )
}

fn first_line(text: &str) -> Option<String> {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_string())
}
