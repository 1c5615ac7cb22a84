//! What the images kubelab's lessons use really contain, so an exec answers as the image would
//! (CONTENT-FACTS): `nginx:1.25` has bash and curl but no ping, ip, wget or nc; `redis:7` has
//! bash and redis-cli but no curl, wget or ping; `busybox` has sh, wget, nc, ping and nslookup
//! but no bash or curl. Other images are not modelled: every command is left to the ExecRules.

use serde_json::Value;

/// Programs an image family is known to lack.
fn missing(image: &str) -> &'static [&'static str] {
    // `docker.io/library/nginx:1.25@sha256:...` -> `nginx`.
    let name = image.split(['@', ':']).next().unwrap_or(image);
    let name = name.rsplit('/').next().unwrap_or(name);
    match name {
        "nginx" => &[
            "ping",
            "ip",
            "wget",
            "nc",
            "ncat",
            "netcat",
            "nslookup",
            "dig",
            "telnet",
            "redis-cli",
        ],
        "redis" => &[
            "curl", "wget", "ping", "ip", "nc", "ncat", "netcat", "nslookup", "dig", "telnet",
        ],
        "busybox" => &["bash", "curl", "redis-cli", "dig"],
        _ => &[],
    }
}

/// How the container answers a command its image cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Missing {
    /// The program itself is not in the image: the runtime cannot start it.
    Program(String),
    /// A shell (`sh -c`, `bash -c`) ran but the script's first program is not in the image.
    InShell {
        /// `sh` or `bash`.
        shell: String,
        /// The program the script named.
        program: String,
    },
}

impl Missing {
    /// The runtime's error for a program that is not there, as the exec status carries it.
    pub(crate) fn runtime_message(program: &str) -> String {
        format!(
            "error executing command in container: failed to exec in container: failed to start exec: OCI runtime exec failed: exec failed: unable to start container process: exec: \"{program}\": executable file not found in $PATH: unknown"
        )
    }

    /// What the shell prints on stderr (exit code 127).
    pub(crate) fn shell_message(shell: &str, program: &str) -> String {
        if shell == "bash" {
            format!("bash: line 1: {program}: command not found\n")
        } else {
            format!("sh: {program}: not found\n")
        }
    }
}

/// The image of `container` in a pod (the only container when none is named).
pub(crate) fn image_of(pod: &Value, container: Option<&str>) -> Option<String> {
    [
        "/spec/containers",
        "/spec/initContainers",
        "/spec/ephemeralContainers",
    ]
    .iter()
    .filter_map(|p| pod.pointer(p).and_then(Value::as_array))
    .flatten()
    .find(|c| container.is_none_or(|name| c.get("name").and_then(Value::as_str) == Some(name)))
    .and_then(|c| c.get("image").and_then(Value::as_str))
    .map(str::to_string)
}

/// Why `command` cannot run in `image`, if the image is known to lack what it needs.
pub(crate) fn refusal(image: &str, command: &[String]) -> Option<Missing> {
    let missing = missing(image);
    let program = |word: &str| word.rsplit('/').next().unwrap_or(word).to_string();
    let first = program(command.first()?);
    if missing.contains(&first.as_str()) {
        return Some(Missing::Program(first));
    }
    if matches!(first.as_str(), "sh" | "bash") && command.get(1).map(String::as_str) == Some("-c") {
        let script = command.get(2)?;
        let word = program(script.split_whitespace().next()?);
        if missing.contains(&word.as_str()) {
            return Some(Missing::InShell {
                shell: first,
                program: word,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn images_lack_what_they_lack() {
        assert_eq!(
            refusal("nginx:1.25", &cmd(&["ping", "-c", "1", "10.0.0.1"])),
            Some(Missing::Program("ping".into()))
        );
        assert_eq!(refusal("nginx:1.25", &cmd(&["curl", "-s", "x"])), None);
        assert_eq!(
            refusal(
                "docker.io/library/redis:7",
                &cmd(&["sh", "-c", "curl -s http://x"])
            ),
            Some(Missing::InShell {
                shell: "sh".into(),
                program: "curl".into()
            })
        );
        assert_eq!(
            refusal(
                "redis:7",
                &cmd(&["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/80"])
            ),
            None
        );
        assert_eq!(
            refusal("busybox:1.36", &cmd(&["bash", "-c", "echo"])),
            Some(Missing::Program("bash".into()))
        );
        assert_eq!(refusal("busybox:1.36", &cmd(&["wget", "-qO-", "x"])), None);
        assert_eq!(refusal("example/tool:1", &cmd(&["ping"])), None);
    }
}
