//! The pod network, as probes see it: an exec runs the first tool of a probe script that the
//! image really has (curl, wget, bash's `/dev/tcp`, nc, redis-cli, ping), and the connection
//! reaches a port only where a running container binds it, on a Pod whose path is up (the
//! same node's bridge, or Flannel on both nodes). Answers are what those tools print.

use serde_json::Value;

use super::programs::Service;
use super::{PodRuntime, Sim, network_problem};
use crate::ExecRule;
use crate::images;
use crate::store::Inner;

/// Why a connection did not get an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// Nothing listens there.
    Refused,
    /// No route: the packets go nowhere.
    Timeout,
}

/// What a command does when the simulation runs it in `container` of `pod`, as an exec
/// answer; `Err` with a message when the container is not running; `None` when the command
/// is not one the simulation models.
pub(crate) fn exec(
    inner: &Inner,
    pod: &Value,
    container: Option<&str>,
    command: &[String],
) -> Option<Result<ExecRule, String>> {
    let sim = inner.sim.as_ref()?;
    let uid = pod.pointer("/metadata/uid").and_then(Value::as_str)?;
    let name = container
        .map(str::to_string)
        .or_else(|| {
            pod.pointer("/spec/containers/0/name")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_default();
    let Some(rt) = sim.pods.get(uid).filter(|rt| rt.running.contains(&name)) else {
        return Some(Err(format!(
            "unable to upgrade connection: container not found (\"{name}\")"
        )));
    };
    let image = images::image_of(pod, Some(&name)).unwrap_or_default();
    let has = |tool: &str| images::refusal(&image, &[tool.to_string()]).is_none();
    let body = match command {
        [shell, flag, script] if matches!(shell.as_str(), "sh" | "bash") && flag == "-c" => {
            match choose_branch(script, &has) {
                Branch::Body(body) => body,
                Branch::Else(message) => {
                    return Some(Ok(answer(command, "", &message, 127)));
                }
            }
        }
        _ => command.join(" "),
    };
    if let Some(answer_) = node_files(sim, pod, &name, &body, command) {
        return Some(Ok(answer_));
    }
    if let Some(name) = body.strip_prefix("nslookup ") {
        return Some(Ok(nslookup(inner, sim, rt, name.trim(), command)));
    }
    let probe = Probe::parse(&body)?;
    let reached = reach(inner, sim, rt, &probe.host, probe.port);
    let (stdout, stderr, code) = probe.outcome(reached);
    Some(Ok(answer(command, &stdout, &stderr, code)))
}

/// busybox `nslookup NAME` through the cluster DNS: answered when a CoreDNS Pod
/// (`k8s-app=kube-dns`) runs and the network reaches it; only the API server's Service name
/// is known.
fn nslookup(
    inner: &Inner,
    sim: &Sim,
    from: &PodRuntime,
    name: &str,
    command: &[String],
) -> ExecRule {
    let dns_ips: Vec<String> = inner
        .objects
        .values()
        .filter(|o| {
            o["kind"] == "Pod"
                && o.pointer("/metadata/labels/k8s-app") == Some(&Value::from("kube-dns"))
        })
        .filter_map(|o| o.pointer("/metadata/uid").and_then(Value::as_str))
        .filter_map(|uid| sim.pods.get(uid))
        .filter(|rt| !rt.running.is_empty())
        .filter_map(|rt| rt.ip.clone())
        .collect();
    let reachable = dns_ips
        .iter()
        .any(|ip| reach(inner, sim, from, ip, 0).is_ok());
    if !reachable {
        return answer(
            command,
            "",
            ";; connection timed out; no servers could be reached\n",
            1,
        );
    }
    let server = "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\n";
    if name == "kubernetes.default.svc.cluster.local" || name == "kubernetes.default" {
        answer(
            command,
            &format!("{server}Name:\tkubernetes.default.svc.cluster.local\nAddress: 10.96.0.1\n\n"),
            "",
            0,
        )
    } else {
        answer(
            command,
            server,
            &format!("** server can't find {name}: NXDOMAIN\n"),
            1,
        )
    }
}

/// `ls DIR...` and `cat FILE` of node files through the container's hostPath mounts, as
/// busybox answers them (the files the pod network depends on are simulated per node).
fn node_files(
    sim: &super::Sim,
    pod: &Value,
    container: &str,
    body: &str,
    command: &[String],
) -> Option<ExecRule> {
    let words: Vec<&str> = body.split_whitespace().collect();
    let (tool, paths) = words.split_first()?;
    if !matches!(*tool, "ls" | "cat") || paths.is_empty() {
        return None;
    }
    let spec = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)?
        .iter()
        .find(|c| c["name"] == container)?;
    let mounts = super::programs::Mounts::of(pod, spec, &[]);
    let node = pod.pointer("/spec/nodeName").and_then(Value::as_str)?;
    let files = sim.node_files.get(node).cloned().unwrap_or_default();
    let mut out = String::new();
    let mut err = String::new();
    for path in paths {
        let Some(on_node) = mounts.node_path(path) else {
            err.push_str(&format!("{tool}: {path}: No such file or directory\n"));
            continue;
        };
        if *tool == "cat" {
            match files.get(&on_node) {
                Some(text) => out.push_str(text),
                None => err.push_str(&format!(
                    "cat: can't open '{path}': No such file or directory\n"
                )),
            }
            continue;
        }
        let prefix = format!("{}/", on_node.trim_end_matches('/'));
        let mut names: Vec<&str> = files
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .map(|rest| rest.split('/').next().unwrap_or(rest))
            .collect();
        names.dedup();
        if names.is_empty() && !files.contains_key(&on_node) {
            // The directory exists on a kind node even when empty (mounted); say nothing.
            if paths.len() > 1 {
                out.push_str(&format!("{path}:\n\n"));
            }
            continue;
        }
        if paths.len() > 1 {
            out.push_str(&format!("{path}:\n"));
        }
        for n in names {
            out.push_str(n);
            out.push('\n');
        }
        if paths.len() > 1 {
            out.push('\n');
        }
    }
    let code = i32::from(!err.is_empty());
    Some(answer(command, &out, &err, code))
}

/// Without the simulation, scripted answers stand, except one no cluster could give: a
/// probe answered by a port that no running container of the target binds (by its image
/// and command). Returns the refusal the tool would print instead; `None` when the probe is
/// possible or its target is not something the fake can judge (an unknown IP or image).
pub(crate) fn impossible_probe(
    inner: &Inner,
    pod: &Value,
    container: Option<&str>,
    command: &[String],
) -> Option<ExecRule> {
    let image = images::image_of(pod, container).unwrap_or_default();
    let has = |tool: &str| images::refusal(&image, &[tool.to_string()]).is_none();
    let body = match command {
        [shell, flag, script] if matches!(shell.as_str(), "sh" | "bash") && flag == "-c" => {
            match choose_branch(script, &has) {
                Branch::Body(body) => body,
                Branch::Else(_) => return None,
            }
        }
        _ => command.join(" "),
    };
    let probe = Probe::parse(&body)?;
    if probe.tool == Tool::Ping {
        return None;
    }
    let target = if probe.host == "127.0.0.1" || probe.host == "localhost" {
        pod.clone()
    } else {
        inner
            .objects_of("v1", "Pod", None)
            .map(|(_, p)| p)
            .find(|p| {
                p.pointer("/status/podIP").and_then(Value::as_str) == Some(probe.host.as_str())
                    && p.pointer("/spec/hostNetwork") != Some(&Value::Bool(true))
            })?
            .clone()
    };
    let listens = declared_listeners(&target)?;
    if listens.contains(&probe.port) {
        return None;
    }
    let (stdout, stderr, code) = probe.outcome(Err(Failure::Refused));
    Some(answer(command, &stdout, &stderr, code))
}

/// The ports a pod's running containers bind, judged from the pod's own status and the
/// images' programs; `None` when a running container's image is not modelled.
fn declared_listeners(pod: &Value) -> Option<Vec<u16>> {
    let statuses = pod.pointer("/status/containerStatuses")?.as_array()?;
    let mut ports = Vec::new();
    for c in pod.pointer("/spec/containers")?.as_array()? {
        let name = c.get("name").and_then(Value::as_str).unwrap_or("");
        let running = statuses.iter().any(|s| {
            s.get("name").and_then(Value::as_str) == Some(name)
                && s.pointer("/state/running").is_some()
        });
        if !running {
            continue;
        }
        let image = c.get("image").and_then(Value::as_str).unwrap_or("");
        if !matches!(
            super::programs::family(image),
            "nginx" | "redis" | "busybox" | "httpd"
        ) {
            return None;
        }
        let b = super::programs::behaviour(pod, c, &[], "");
        ports.extend(b.listens.iter().map(|(p, _)| *p));
    }
    Some(ports)
}

fn answer(command: &[String], stdout: &str, stderr: &str, code: i32) -> ExecRule {
    ExecRule {
        command: command.to_vec(),
        stdout: stdout.to_string(),
        stderr: stderr.to_string(),
        exit_code: code,
        ..ExecRule::default()
    }
}

enum Branch {
    Body(String),
    Else(String),
}

/// In `if command -v A ...; then X; elif command -v B ...; then Y; else Z; fi`, the body of
/// the first branch whose tool the image has (else the `else` part's message); a script
/// without that shape is its own body.
fn choose_branch(script: &str, has: &dyn Fn(&str) -> bool) -> Branch {
    let Some(rest) = script.trim().strip_prefix("if ") else {
        return Branch::Body(script.to_string());
    };
    let rest = rest
        .trim_end()
        .trim_end_matches("fi")
        .trim_end()
        .trim_end_matches(';');
    let (branches, otherwise) = match rest.rsplit_once("; else ") {
        Some((b, e)) => (b, Some(e)),
        None => (rest, None),
    };
    for branch in branches.split("; elif ") {
        let Some((test, body)) = branch.split_once("; then ") else {
            continue;
        };
        let tool = test.split_whitespace().nth(2).unwrap_or("");
        if test.trim_start().starts_with("command -v") && has(tool) {
            return Branch::Body(body.trim().to_string());
        }
    }
    let message = otherwise
        .and_then(|e| e.split('\'').nth(1))
        .unwrap_or("no tool for this probe in the container");
    Branch::Else(format!("{message}\n"))
}

/// The tool a probe uses, and what it asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    Curl { status_line: bool },
    Wget,
    BashHttp,
    BashRedis,
    BashConnect,
    Nc,
    RedisCli,
    Ping,
}

#[derive(Debug)]
struct Probe {
    tool: Tool,
    host: String,
    port: u16,
}

fn url_target(body: &str) -> Option<(String, u16)> {
    let rest = &body[body.find("http://")? + "http://".len()..];
    let authority = rest.split(['/', ' ', '"', '\'']).next()?;
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host.to_string(), port.parse().ok()?)),
        None => Some((authority.to_string(), 80)),
    }
}

impl Probe {
    fn parse(body: &str) -> Option<Probe> {
        let words: Vec<&str> = body.split_whitespace().collect();
        let first = words.first().map(|w| w.rsplit('/').next().unwrap_or(w))?;
        let first = if first == "timeout" {
            words.get(2).copied().unwrap_or("")
        } else {
            first
        };
        if let Some(at) = body.find("/dev/tcp/") {
            let mut parts = body[at + "/dev/tcp/".len()..].splitn(2, '/');
            let host = parts.next()?.to_string();
            let port: String = parts
                .next()?
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            let tool = if body.contains("GET /") {
                Tool::BashHttp
            } else if body.contains("PING") {
                Tool::BashRedis
            } else {
                Tool::BashConnect
            };
            return Some(Probe {
                tool,
                host,
                port: port.parse().ok()?,
            });
        }
        let flag = |name: &str| {
            words
                .iter()
                .position(|w| *w == name)
                .and_then(|i| words.get(i + 1))
                .map(|s| s.to_string())
        };
        match first {
            "curl" => {
                let (host, port) = url_target(body)?;
                let status_line = body.contains("%{http_code}");
                Some(Probe {
                    tool: Tool::Curl { status_line },
                    host,
                    port,
                })
            }
            "wget" => {
                let (host, port) = url_target(body)?;
                Some(Probe {
                    tool: Tool::Wget,
                    host,
                    port,
                })
            }
            "redis-cli" => Some(Probe {
                tool: Tool::RedisCli,
                host: flag("-h").unwrap_or_else(|| "127.0.0.1".into()),
                port: flag("-p").and_then(|p| p.parse().ok()).unwrap_or(6379),
            }),
            "nc" => {
                let plain: Vec<&str> = words
                    .iter()
                    .skip(1)
                    .copied()
                    .take_while(|w| *w != "&&")
                    .filter(|w| !w.starts_with('-') && w.parse::<u32>().map_or(true, |_| true))
                    .collect();
                // `nc -z -w 5 HOST PORT`: the last two plain words.
                let n = plain.len();
                let port = plain.get(n.checked_sub(1)?)?.parse().ok()?;
                let host = plain.get(n.checked_sub(2)?)?.to_string();
                Some(Probe {
                    tool: Tool::Nc,
                    host,
                    port,
                })
            }
            "ping" => Some(Probe {
                tool: Tool::Ping,
                host: words.last()?.to_string(),
                port: 0,
            }),
            _ => None,
        }
    }

    /// What the tool prints and exits with.
    fn outcome(&self, reached: Result<Option<Service>, Failure>) -> (String, String, i32) {
        let Probe { host, port, .. } = self;
        match (self.tool, reached) {
            (Tool::Ping, Ok(_)) => (
                format!(
                    "PING {host} ({host}): 56 data bytes\n64 bytes from {host}: seq=0 ttl=62 time=0.105 ms\n\n--- {host} ping statistics ---\n1 packets transmitted, 1 packets received, 0% packet loss\n"
                ),
                String::new(),
                0,
            ),
            (Tool::Ping, Err(_)) => (
                format!(
                    "PING {host} ({host}): 56 data bytes\n\n--- {host} ping statistics ---\n1 packets transmitted, 0 packets received, 100% packet loss\n"
                ),
                String::new(),
                1,
            ),
            (_, Ok(None)) | (_, Err(Failure::Refused)) => refused(self.tool, host, *port),
            (_, Err(Failure::Timeout)) => timed_out(self.tool, host, *port),
            (tool, Ok(Some(service))) => served(tool, service),
        }
    }
}

fn refused(tool: Tool, host: &str, port: u16) -> (String, String, i32) {
    match tool {
        Tool::Curl { status_line } => (
            if status_line {
                "HTTP/0 000\n".into()
            } else {
                String::new()
            },
            format!(
                "curl: (7) Failed to connect to {host} port {port} after 0 ms: Couldn't connect to server\n"
            ),
            7,
        ),
        Tool::Wget => (
            String::new(),
            format!("wget: can't connect to remote host ({host}): Connection refused\n"),
            1,
        ),
        Tool::RedisCli => (
            String::new(),
            format!("Could not connect to Redis at {host}:{port}: Connection refused\n"),
            1,
        ),
        Tool::Nc => (String::new(), String::new(), 1),
        _ => (
            String::new(),
            format!(
                "bash: connect: Connection refused\nbash: line 1: /dev/tcp/{host}/{port}: Connection refused\n"
            ),
            1,
        ),
    }
}

fn timed_out(tool: Tool, host: &str, port: u16) -> (String, String, i32) {
    match tool {
        Tool::Curl { status_line } => (
            if status_line {
                "HTTP/0 000\n".into()
            } else {
                String::new()
            },
            format!(
                "curl: (28) Failed to connect to {host} port {port} after 5001 ms: Timeout was reached\n"
            ),
            28,
        ),
        Tool::Wget => (String::new(), "wget: download timed out\n".into(), 1),
        Tool::RedisCli => (
            String::new(),
            format!("Could not connect to Redis at {host}:{port}: Connection timed out\n"),
            1,
        ),
        Tool::Nc => (
            String::new(),
            format!("nc: {host} ({host}:{port}): Connection timed out\n"),
            1,
        ),
        _ => (String::new(), String::new(), 124),
    }
}

fn served(tool: Tool, service: Service) -> (String, String, i32) {
    const PAGE: &str = "<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n</head>\n<body>\n<h1>Welcome to nginx!</h1>\n</body>\n</html>\n";
    match (tool, service) {
        (Tool::Curl { status_line: true }, Service::Http) => {
            ("HTTP/1.1 200\n".into(), String::new(), 0)
        }
        (Tool::Curl { status_line: false }, Service::Http) => (PAGE.into(), String::new(), 0),
        (Tool::Curl { status_line }, _) => (
            if status_line {
                "HTTP/0 000\n".into()
            } else {
                String::new()
            },
            "curl: (52) Empty reply from server\n".into(),
            52,
        ),
        (Tool::Wget, Service::Http) => ("  HTTP/1.1 200 OK\n".into(), String::new(), 0),
        (Tool::Wget, _) => (String::new(), "wget: error getting response\n".into(), 1),
        (Tool::BashHttp, Service::Http) => ("HTTP/1.1 200 OK\r\n".into(), String::new(), 0),
        (Tool::BashHttp, Service::Redis) => (
            "-ERR wrong number of arguments for 'get' command\r\n".into(),
            String::new(),
            0,
        ),
        (Tool::BashRedis, Service::Redis) => ("+PONG\r\n".into(), String::new(), 0),
        (Tool::BashRedis, Service::Http) => ("HTTP/1.".into(), String::new(), 0),
        (Tool::RedisCli, Service::Redis) => ("PONG\n".into(), String::new(), 0),
        (Tool::RedisCli, _) => (
            String::new(),
            "Error: Protocol error, got \"H\" as reply type byte\n".into(),
            1,
        ),
        (Tool::BashConnect | Tool::Nc, _) => ("connected\n".into(), String::new(), 0),
        (_, _) => (String::new(), String::new(), 0),
    }
}

/// Whether a connection from `from` to `host:port` is answered, and by what.
fn reach(
    inner: &Inner,
    sim: &Sim,
    from: &PodRuntime,
    host: &str,
    port: u16,
) -> Result<Option<Service>, Failure> {
    let listening = |pods: &[&PodRuntime]| -> Result<Option<Service>, Failure> {
        if port == 0 {
            return Ok(None);
        }
        pods.iter()
            .flat_map(|p| p.listens.iter())
            .find(|(p, _)| *p == port)
            .map(|(_, s)| Ok(Some(*s)))
            .unwrap_or(Err(Failure::Refused))
    };
    let on_node = |node: &str| -> Vec<&PodRuntime> {
        sim.pods
            .values()
            .filter(|p| p.host_network && p.node == node)
            .collect()
    };
    if host == "127.0.0.1" || host == "localhost" {
        return if from.host_network {
            listening(&on_node(&from.node))
        } else {
            listening(&[from])
        };
    }
    let node_ip = |node: &str| -> Option<String> {
        inner
            .objects
            .get(&crate::store::ObjectKey::new("v1", "Node", None, node))?
            .pointer("/status/addresses")?
            .as_array()?
            .iter()
            .find(|a| a["type"] == "InternalIP")?
            .get("address")?
            .as_str()
            .map(str::to_string)
    };
    let target_pod = sim
        .pods
        .values()
        .find(|p| !p.host_network && p.ip.as_deref() == Some(host) && !p.running.is_empty());
    let (target_node, targets) = match target_pod {
        Some(p) => (p.node.clone(), vec![p]),
        None => match sim
            .node_files
            .keys()
            .find(|n| node_ip(n).as_deref() == Some(host))
        {
            Some(node) => (node.clone(), on_node(node)),
            None => return Err(Failure::Timeout),
        },
    };
    let path_up = |node: &str| {
        sim.node_files
            .get(node)
            .is_some_and(|files| network_problem(files).is_none())
    };
    let crosses = target_node != from.node && !(from.host_network && target_pod.is_none());
    if crosses && !(path_up(&from.node) && path_up(&target_node)) {
        return Err(Failure::Timeout);
    }
    // Pod-to-Pod traffic across nodes rides the overlay.
    if crosses && sim.overlay_blocked && target_pod.is_some() && !from.host_network {
        return Err(Failure::Timeout);
    }
    listening(&targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_scripts_pick_the_first_tool_the_image_has() {
        let script = "if command -v curl >/dev/null 2>&1; then curl -sS -o /dev/null --max-time 5 -w 'HTTP/%{http_version} %{http_code}\\n' http://10.244.1.3:80/; elif command -v wget >/dev/null 2>&1; then wget -S -q -O /dev/null -T 5 http://10.244.1.3:80/ 2>&1 | grep -m1 HTTP/; elif command -v bash >/dev/null 2>&1; then timeout 5 bash -c 'exec 3<>/dev/tcp/10.244.1.3/80; head -n1 <&3'; else echo 'no curl, wget or bash in this container' >&2; exit 127; fi";
        let nginx = |t: &str| t != "wget";
        let Branch::Body(body) = choose_branch(script, &nginx) else {
            panic!()
        };
        let probe = Probe::parse(&body).unwrap();
        assert_eq!(
            (probe.tool, probe.host.as_str(), probe.port),
            (Tool::Curl { status_line: true }, "10.244.1.3", 80)
        );
        let busybox = |t: &str| t == "wget";
        let Branch::Body(body) = choose_branch(script, &busybox) else {
            panic!()
        };
        assert_eq!(Probe::parse(&body).unwrap().tool, Tool::Wget);
        let nothing = |_: &str| false;
        let Branch::Else(message) = choose_branch(script, &nothing) else {
            panic!()
        };
        assert_eq!(message, "no curl, wget or bash in this container\n");
    }

    #[test]
    fn other_tools() {
        let p = Probe::parse("timeout 5 redis-cli -h 127.0.0.1 -p 6379 ping").unwrap();
        assert_eq!((p.tool, p.port), (Tool::RedisCli, 6379));
        let p = Probe::parse("nc -z -w 5 10.0.0.1 53 && echo connected").unwrap();
        assert_eq!(
            (p.tool, p.host.as_str(), p.port),
            (Tool::Nc, "10.0.0.1", 53)
        );
        let p = Probe::parse("timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/6379; printf \"PING\\r\\n\" >&3; head -c7 <&3'").unwrap();
        assert_eq!((p.tool, p.port), (Tool::BashRedis, 6379));
        assert!(Probe::parse("ls /").is_none());
    }
}
