//! What a container does once started, read from its image and command the way the image's
//! entrypoint would run it: which ports it listens on (and what answers there), which node
//! files it writes or removes through its hostPath mounts, and whether it exits.
//! Only the programs kubelab's lessons, faults and probes use are modelled; anything else
//! runs idle and listens on nothing.

use serde_json::Value;

/// What answers on a listening port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    /// An HTTP server (nginx, busybox httpd).
    Http,
    /// A Redis server.
    Redis,
    /// Something that accepts TCP and says nothing (`nc -l`).
    Tcp,
}

/// A change on the node's filesystem, by node path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FileOp {
    /// Creates or replaces a file.
    Write { path: String, content: String },
    /// Removes a file (absent is fine, as with `rm -f`).
    Remove { path: String },
}

/// What one container does when the kubelet starts it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Behaviour {
    /// Ports it binds on the pod's network, with what answers there.
    pub(crate) listens: Vec<(u16, Service)>,
    /// Node files changed on start.
    pub(crate) files: Vec<FileOp>,
    /// `Some(code)` when it exits by itself.
    pub(crate) exits: Option<i32>,
    /// What it prints.
    pub(crate) log: String,
}

impl Behaviour {
    fn serve(port: u16, service: Service) -> Behaviour {
        Behaviour {
            listens: vec![(port, service)],
            ..Behaviour::default()
        }
    }

    fn exit(code: i32) -> Behaviour {
        Behaviour {
            exits: Some(code),
            ..Behaviour::default()
        }
    }

    /// The same program, failing to bind `port` (another container of the pod has it).
    pub(crate) fn bind_failure(&self, port: u16, image: &str) -> Behaviour {
        let log = match family(image) {
            "redis" => format!(
                "1:M 29 Nov 2026 09:59:20.000 # Warning: Could not create server TCP listening socket *:{port}: bind: Address already in use\n1:M 29 Nov 2026 09:59:20.000 # Failed listening on port {port} (tcp), aborting.\n"
            ),
            "nginx" => format!(
                "/docker-entrypoint.sh: Configuration complete; ready for start up\n2026/11/29 09:59:20 [emerg] 1#1: bind() to 0.0.0.0:{port} failed (98: Address already in use)\nnginx: [emerg] bind() to 0.0.0.0:{port} failed (98: Address already in use)\n2026/11/29 09:59:22 [emerg] 1#1: still could not bind()\nnginx: [emerg] still could not bind()\n"
            ),
            _ => format!("bind: 0.0.0.0:{port}: Address already in use\n"),
        };
        Behaviour {
            listens: Vec::new(),
            files: self.files.clone(),
            exits: Some(1),
            log,
        }
    }
}

/// `docker.io/library/nginx:1.25@sha256:...` -> `nginx`; `ghcr.io/flannel-io/flannel:v0.28.9`
/// -> `flannel`.
pub(crate) fn family(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last.split(':').next().unwrap_or(last)
}

/// The argv a container runs: its `command` (else the image's entrypoint) and `args`.
fn argv(container: &Value) -> (Vec<String>, bool) {
    let list = |field: &str| -> Option<Vec<String>> {
        container.get(field).and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
    };
    match (list("command"), list("args")) {
        (Some(mut command), args) => {
            command.extend(args.unwrap_or_default());
            (command, true)
        }
        (None, Some(args)) => (args, false),
        (None, None) => (Vec::new(), false),
    }
}

/// Where a container path lands on the node, through the container's hostPath mounts.
pub(crate) struct Mounts<'a> {
    mounts: Vec<(String, String)>,
    config: Vec<(String, &'a Value)>,
}

impl<'a> Mounts<'a> {
    pub(crate) fn of(pod: &Value, container: &Value, configmaps: &'a [Value]) -> Mounts<'a> {
        let volumes = pod
            .pointer("/spec/volumes")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut mounts = Vec::new();
        let mut config = Vec::new();
        for mount in container
            .get("volumeMounts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = mount.get("name").and_then(Value::as_str).unwrap_or("");
            let at = mount.get("mountPath").and_then(Value::as_str).unwrap_or("");
            let Some(volume) = volumes
                .iter()
                .find(|v| v.get("name").and_then(Value::as_str) == Some(name))
            else {
                continue;
            };
            if let Some(host) = volume.pointer("/hostPath/path").and_then(Value::as_str) {
                mounts.push((at.trim_end_matches('/').to_string(), host.to_string()));
            }
            if let Some(cm) = volume.pointer("/configMap/name").and_then(Value::as_str)
                && let Some(data) = configmaps
                    .iter()
                    .find(|c| c.pointer("/metadata/name").and_then(Value::as_str) == Some(cm))
                    .and_then(|c| c.get("data"))
            {
                config.push((at.trim_end_matches('/').to_string(), data));
            }
        }
        Mounts { mounts, config }
    }

    /// The node path of a container path, if a hostPath mount covers it.
    pub(crate) fn node_path(&self, path: &str) -> Option<String> {
        self.mounts.iter().find_map(|(at, host)| {
            let rest = path.strip_prefix(at.as_str())?;
            (rest.is_empty() || rest.starts_with('/'))
                .then(|| format!("{}{rest}", host.trim_end_matches('/')))
        })
    }

    /// A file's content from a mounted ConfigMap.
    fn config_file(&self, path: &str) -> Option<String> {
        self.config.iter().find_map(|(at, data)| {
            let key = path.strip_prefix(at.as_str())?.trim_start_matches('/');
            data.get(key).and_then(Value::as_str).map(str::to_string)
        })
    }
}

/// Splits a shell script into simple commands (on `&&`, `;`, newlines), each as words;
/// single and double quotes group words.
fn simple_commands(script: &str) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut chars = script.chars().peekable();
    let flush = |word: &mut String, words: &mut Vec<String>| {
        if !word.is_empty() {
            words.push(std::mem::take(word));
        }
    };
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => quote = Some(c),
            (None, '&') if chars.peek() == Some(&'&') => {
                chars.next();
                flush(&mut word, &mut words);
                commands.push(std::mem::take(&mut words));
            }
            (None, ';' | '\n') => {
                flush(&mut word, &mut words);
                commands.push(std::mem::take(&mut words));
            }
            (None, c) if c.is_whitespace() => flush(&mut word, &mut words),
            (None, c) => word.push(c),
        }
    }
    flush(&mut word, &mut words);
    commands.push(words);
    commands.retain(|c| !c.is_empty());
    commands
}

/// The port a `sed` rewrite of nginx's `listen` directive sets (`s/listen\(.*\)80;/listen\18080;/`).
fn sed_listen_port(words: &[String]) -> Option<u16> {
    let expression = words
        .iter()
        .find(|w| w.starts_with("s/") || w.starts_with("s|"))?;
    let separator = expression.chars().nth(1)?;
    let replacement = expression.split(separator).nth(2)?;
    let mut rest = replacement.strip_prefix("listen")?;
    // An optional group reference (`\1`) before the port.
    if let Some(after) = rest.strip_prefix('\\') {
        rest = after.get(1..)?;
    }
    rest.trim().strip_suffix(';')?.trim().parse().ok()
}

fn flag_value(words: &[String], flags: &[&str]) -> Option<String> {
    words.iter().enumerate().find_map(|(i, w)| {
        flags.iter().find_map(|f| {
            if w == f {
                words.get(i + 1).cloned()
            } else {
                w.strip_prefix(&format!("{f}=")).map(str::to_string)
            }
        })
    })
}

fn program_name(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// The container's behaviour: its image's default program, or the commands it was given.
/// `node_cidr` is the podCIDR of the node it runs on (flanneld writes it to `subnet.env`).
pub(crate) fn behaviour(
    pod: &Value,
    container: &Value,
    configmaps: &[Value],
    node_cidr: &str,
) -> Behaviour {
    let image = container.get("image").and_then(Value::as_str).unwrap_or("");
    let (argv, own_command) = argv(container);
    let mounts = Mounts::of(pod, container, configmaps);
    if !own_command {
        return default_program(image, &argv, node_cidr);
    }
    let commands = match argv.first().map(|w| program_name(w)) {
        Some("sh" | "bash" | "ash") if argv.get(1).map(String::as_str) == Some("-c") => argv
            .get(2..)
            .map(|rest| simple_commands(&rest.join(" ")))
            .unwrap_or_default(),
        _ => vec![argv],
    };
    let mut result = Behaviour::default();
    let mut nginx_port = 80;
    let mut long_running = false;
    for words in commands {
        let words: Vec<String> = match words.first().map(String::as_str) {
            Some("exec") => words[1..].to_vec(),
            _ => words,
        };
        let Some(first) = words.first() else { continue };
        // `printf '...' > /host/etc/cni/net.d/x.conflist`: the output lands in a file.
        if let Some(at) = words.iter().position(|w| w == ">") {
            if let Some(path) = words.get(at + 1).and_then(|p| mounts.node_path(p)) {
                let content = words[1..at].join(" ");
                result.files.push(FileOp::Write { path, content });
            }
            continue;
        }
        match program_name(first) {
            "sed" => {
                if let Some(port) = sed_listen_port(&words) {
                    nginx_port = port;
                }
            }
            "rm" => result.files.extend(
                words[1..]
                    .iter()
                    .filter(|w| !w.starts_with('-'))
                    .filter_map(|w| mounts.node_path(w))
                    .map(|path| FileOp::Remove { path }),
            ),
            "cp" | "install-conf" => {
                let paths: Vec<&String> =
                    words[1..].iter().filter(|w| !w.starts_with('-')).collect();
                if let [source, target] = paths.as_slice()
                    && let Some(path) = mounts.node_path(target)
                {
                    let content = mounts
                        .config_file(source)
                        .unwrap_or_else(|| format!("(copy of {source})"));
                    result.files.push(FileOp::Write { path, content });
                }
            }
            "flanneld" => {
                result = flanneld(&mounts, node_cidr);
                long_running = true;
            }
            "nginx" => result.listens = vec![(nginx_port, Service::Http)],
            "redis-server" => {
                let port = flag_value(&words, &["--port"])
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(6379);
                result.listens = vec![(port, Service::Redis)];
            }
            "httpd" => {
                let port = flag_value(&words, &["-p"])
                    .and_then(|p| p.rsplit(':').next().and_then(|p| p.parse().ok()))
                    .unwrap_or(80);
                result.listens = vec![(port, Service::Http)];
            }
            "nc" if words.iter().any(|w| w.starts_with("-l")) => {
                let port = flag_value(&words, &["-p"])
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0);
                result.listens = vec![(port, Service::Tcp)];
            }
            "sleep" | "tail" => long_running = true,
            "mkdir" | "echo" | "printf" | "cat" => {}
            "true" => result.exits = Some(0),
            "false" | "exit" => {
                result.exits = Some(words.get(1).and_then(|c| c.parse().ok()).unwrap_or(1));
            }
            _ => {}
        }
    }
    // Servers and sleeps keep running; scripts that only change files end; an unknown
    // program in an unmodelled image is taken to keep running.
    if !result.listens.is_empty() || long_running {
        result.exits = None;
    } else if result.exits.is_none() && (!result.files.is_empty() || !image_runs(image)) {
        result.exits = Some(0);
    }
    result
}

/// Images whose unknown commands are taken to keep running (not modelled programs).
fn image_runs(image: &str) -> bool {
    !matches!(family(image), "busybox" | "alpine")
}

fn flanneld(mounts: &Mounts<'_>, node_cidr: &str) -> Behaviour {
    let subnet = node_cidr
        .split_once('/')
        .map(|(net, bits)| {
            let base = net.rsplit_once('.').map_or(net, |(head, _)| head);
            format!("{base}.1/{bits}")
        })
        .unwrap_or_default();
    let content = format!(
        "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET={subnet}\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n"
    );
    Behaviour {
        listens: Vec::new(),
        files: mounts
            .node_path("/run/flannel/subnet.env")
            .map(|path| FileOp::Write { path, content })
            .into_iter()
            .collect(),
        exits: None,
        log: format!(
            "I1129 09:59:20.000000       1 main.go:148] Installing signal handlers\nI1129 09:59:21.000000       1 kube.go:490] Current network or subnet (10.244.0.0/16, {subnet}) is not equal to previous one (0.0.0.0/0, 0.0.0.0/0), trying to recycle old iptables rules\n"
        ),
    }
}

/// What an image runs when the Pod gives no command.
fn default_program(image: &str, args: &[String], node_cidr: &str) -> Behaviour {
    match family(image) {
        "nginx" => Behaviour::serve(80, Service::Http),
        "redis" => {
            let port = flag_value(args, &["--port"])
                .and_then(|p| p.parse().ok())
                .unwrap_or(6379);
            Behaviour::serve(port, Service::Redis)
        }
        "httpd" => Behaviour::serve(80, Service::Http),
        // Their default command is a shell that exits at once without a terminal.
        "busybox" | "alpine" => Behaviour::exit(0),
        "flannel" => flanneld(&Mounts::empty(), node_cidr),
        _ => Behaviour::default(),
    }
}

impl Mounts<'_> {
    fn empty() -> Mounts<'static> {
        Mounts {
            mounts: Vec::new(),
            config: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(pod: Value) -> Vec<Behaviour> {
        let configmaps = [
            json!({"metadata": {"name": "kube-flannel-cfg"}, "data": {"cni-conf.json": "{\"type\": \"flannel\"}"}}),
        ];
        pod["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| behaviour(&pod, c, &configmaps, "10.244.1.0/24"))
            .collect()
    }

    #[test]
    fn servers_listen_where_their_image_and_command_say() {
        let pod = json!({"spec": {"containers": [
            {"name": "app", "image": "nginx:1.25"},
            {"name": "sidecar", "image": "docker.io/library/redis:7"},
            {"name": "moved", "image": "nginx:1.25", "command": ["sh", "-c"], "args": [
                "sed -i 's/listen\\(.*\\)80;/listen\\18080;/' /etc/nginx/conf.d/default.conf && exec nginx -g 'daemon off;'"]},
            {"name": "web", "image": "busybox:1.36", "command": ["httpd", "-f", "-p", "8081"]},
            {"name": "idle", "image": "busybox:1.36", "command": ["sleep", "3600"]},
            {"name": "bare", "image": "busybox:1.36"},
        ]}});
        let b = run(pod);
        assert_eq!(b[0].listens, vec![(80, Service::Http)]);
        assert_eq!(b[1].listens, vec![(6379, Service::Redis)]);
        assert_eq!(b[2].listens, vec![(8080, Service::Http)]);
        assert_eq!(b[2].exits, None);
        assert_eq!(b[3].listens, vec![(8081, Service::Http)]);
        assert_eq!((b[4].listens.len(), b[4].exits), (0, None));
        assert_eq!(b[5].exits, Some(0), "busybox's shell exits at once");
    }

    #[test]
    fn node_files_change_through_host_path_mounts() {
        let pod = json!({"spec": {
        "volumes": [{"name": "run", "hostPath": {"path": "/run/flannel"}},
                    {"name": "cni", "hostPath": {"path": "/etc/cni/net.d"}},
                    {"name": "cfg", "configMap": {"name": "kube-flannel-cfg"}}],
        "containers": [
            {"name": "rm", "image": "busybox:1.36", "command": ["sh", "-c",
                "rm -f /host/run/flannel/subnet.env /host/etc/cni/net.d/10-flannel.conflist"],
             "volumeMounts": [{"name": "run", "mountPath": "/host/run/flannel"},
                              {"name": "cni", "mountPath": "/host/etc/cni/net.d"}]},
            {"name": "install-cni", "image": "ghcr.io/flannel-io/flannel:v0.28.9",
             "command": ["/opt/bin/install-conf"], "args": ["/etc/kube-flannel/cni-conf.json", "/etc/cni/net.d/10-flannel.conflist"],
             "volumeMounts": [{"name": "cni", "mountPath": "/etc/cni/net.d"}, {"name": "cfg", "mountPath": "/etc/kube-flannel/"}]},
            {"name": "kube-flannel", "image": "ghcr.io/flannel-io/flannel:v0.28.9",
             "command": ["/opt/bin/flanneld"], "args": ["--ip-masq"],
             "volumeMounts": [{"name": "run", "mountPath": "/run/flannel"}]},
        ]}});
        let b = run(pod);
        assert_eq!(
            b[0].files,
            vec![
                FileOp::Remove {
                    path: "/run/flannel/subnet.env".into()
                },
                FileOp::Remove {
                    path: "/etc/cni/net.d/10-flannel.conflist".into()
                },
            ]
        );
        assert_eq!(b[0].exits, Some(0));
        assert_eq!(
            b[1].files,
            vec![FileOp::Write {
                path: "/etc/cni/net.d/10-flannel.conflist".into(),
                content: "{\"type\": \"flannel\"}".into()
            }]
        );
        assert_eq!(b[1].exits, Some(0));
        assert!(matches!(&b[2].files[0], FileOp::Write { path, content }
            if path == "/run/flannel/subnet.env" && content.contains("FLANNEL_SUBNET=10.244.1.1/24")));
        assert_eq!(b[2].exits, None);
    }

    #[test]
    fn families() {
        assert_eq!(family("docker.io/library/nginx:1.25@sha256:abc"), "nginx");
        assert_eq!(
            family("ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel3"),
            "flannel-cni-plugin"
        );
        assert_eq!(family("redis"), "redis");
    }
}
