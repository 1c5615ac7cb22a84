//! Running `docker`, `kind` and `curl`, and a private scratch folder for their files.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::error::KindError;
use super::host::{BR_NETFILTER_PATH, find_program};

/// The programs `create` and `delete` run, found on PATH once.
#[derive(Debug)]
pub(crate) struct Programs {
    pub(crate) docker: PathBuf,
    pub(crate) kind: PathBuf,
    /// Only looked for when the plugins are downloaded.
    pub(crate) curl: Option<PathBuf>,
}

impl Programs {
    /// Finds docker and kind (and curl when `with_curl`), or says which one is missing.
    pub(crate) fn find(with_curl: bool) -> Result<Self, KindError> {
        let docker = find_program("docker").ok_or(KindError::DockerMissing)?;
        let kind = find_program("kind").ok_or(KindError::KindMissing)?;
        let curl = if with_curl {
            Some(find_program("curl").ok_or(KindError::CurlMissing)?)
        } else {
            None
        };
        Ok(Programs { docker, kind, curl })
    }

    /// Fails with one sentence when the Docker engine does not answer.
    pub(crate) fn docker_running(&self) -> Result<(), KindError> {
        let output = spawn(
            "docker",
            Command::new(&self.docker).args(["info", "--format", "{{.ServerVersion}}"]),
        )?;
        if output.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let detail = stderr
            .lines()
            .map(str::trim)
            .rfind(|line| !line.is_empty())
            .unwrap_or("no output")
            .to_string();
        Err(KindError::DockerNotRunning { detail })
    }

    /// True when `kind get clusters` lists `name`.
    pub(crate) fn cluster_exists(&self, name: &str) -> Result<bool, KindError> {
        let listed = self.kind_output(&["get", "clusters"])?;
        Ok(listed.lines().any(|line| line.trim() == name))
    }

    /// The cluster's node names from `kind get nodes --name NAME`.
    pub(crate) fn nodes(&self, name: &str) -> Result<Vec<String>, KindError> {
        let listed = self.kind_output(&["get", "nodes", "--name", name])?;
        let mut nodes: Vec<String> = listed
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(str::to_string)
            .collect();
        nodes.sort();
        Ok(nodes)
    }

    /// `kind create cluster --name NAME --config FILE`, kind's output streamed to stderr.
    pub(crate) fn create_cluster(&self, name: &str, config: &Path) -> Result<(), KindError> {
        let mut command = Command::new(&self.kind);
        command
            .args(["create", "cluster", "--name", name, "--config"])
            .arg(config);
        let status = stream("kind", &mut command)?;
        if status.success() {
            Ok(())
        } else {
            Err(KindError::CreateFailed {
                name: name.to_string(),
                status: status.to_string(),
            })
        }
    }

    /// `kind delete cluster --name NAME`, kind's output streamed to stderr.
    pub(crate) fn delete_cluster(&self, name: &str) -> Result<(), KindError> {
        let mut command = Command::new(&self.kind);
        command.args(["delete", "cluster", "--name", name]);
        let status = stream("kind", &mut command)?;
        if status.success() {
            Ok(())
        } else {
            Err(KindError::DeleteFailed {
                name: name.to_string(),
                status: status.to_string(),
            })
        }
    }

    /// Runs `kind ARGS` and returns its stdout, or fails with its stderr.
    pub(crate) fn kind_output(&self, args: &[&str]) -> Result<String, KindError> {
        checked("kind", &self.kind, args)
    }

    /// Runs `docker ARGS` and returns its stdout, or fails with its stderr.
    pub(crate) fn docker_output<S: AsRef<OsStr>>(&self, args: &[S]) -> Result<String, KindError> {
        checked("docker", &self.docker, args)
    }

    /// Runs `docker exec NODE test FLAG PATH`: `Ok(false)` when the test says no (exit 1),
    /// an error when docker itself failed (e.g. the node is not running).
    pub(crate) fn node_test(&self, node: &str, flag: &str, path: &str) -> Result<bool, KindError> {
        let args = ["exec", node, "test", flag, path];
        let output = spawn("docker", Command::new(&self.docker).args(args))?;
        match output.status.code() {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(failed("docker", &args, &output)),
        }
    }
}

/// Runs a program with captured output; a non-zero exit becomes `CommandFailed`.
fn checked<S: AsRef<OsStr>>(name: &str, program: &Path, args: &[S]) -> Result<String, KindError> {
    let output = spawn(name, Command::new(program).args(args))?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    Err(failed(name, args, &output))
}

/// The error for a command that ran and exited non-zero.
fn failed<S: AsRef<OsStr>>(name: &str, args: &[S], output: &Output) -> KindError {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stderr = stderr.trim();
    let shown: Vec<String> = args
        .iter()
        .map(|arg| arg.as_ref().to_string_lossy().into_owned())
        .collect();
    KindError::CommandFailed {
        command: format!("{name} {}", shown.join(" ")),
        status: output.status.to_string(),
        detail: if stderr.is_empty() {
            String::new()
        } else {
            format!(": {stderr}")
        },
    }
}

/// Runs a command to completion with stdin closed and its output captured.
fn spawn(name: &str, command: &mut Command) -> Result<Output, KindError> {
    command
        .stdin(Stdio::null())
        .output()
        .map_err(|source| KindError::Spawn {
            program: name.to_string(),
            source,
        })
}

/// Runs a command with its stdout and stderr both going to this process's stderr.
pub(crate) fn stream(
    name: &str,
    command: &mut Command,
) -> Result<std::process::ExitStatus, KindError> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::io::stderr()))
        .stderr(Stdio::inherit())
        .status()
        .map_err(|source| KindError::Spawn {
            program: name.to_string(),
            source,
        })
}

/// A private temporary folder, removed when dropped.
#[derive(Debug)]
pub(crate) struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// Creates a new folder only this user can read, below the system's temporary folder.
    pub(crate) fn new() -> Result<Self, KindError> {
        let base = std::env::temp_dir();
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let mut last = None;
        for attempt in 0..16u32 {
            let path = base.join(format!(
                "kubelab-cluster-{}-{stamp:x}-{attempt}",
                std::process::id()
            ));
            let mut builder = std::fs::DirBuilder::new();
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            match builder.create(&path) {
                Ok(()) => return Ok(Scratch { path }),
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => last = Some(err),
                Err(source) => {
                    return Err(KindError::Io {
                        what: format!("cannot create a temporary folder in {}", base.display()),
                        source,
                    });
                }
            }
        }
        Err(KindError::Io {
            what: format!("cannot create a temporary folder in {}", base.display()),
            source: last.unwrap_or_else(|| std::io::Error::other("no free name")),
        })
    }

    /// The path of `name` inside the folder.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes `bytes` to `name` inside the folder and returns its path.
    pub(crate) fn write(&self, name: &str, bytes: &[u8]) -> Result<PathBuf, KindError> {
        let path = self.path(name);
        std::fs::write(&path, bytes).map_err(|source| KindError::Io {
            what: format!("cannot write {}", path.display()),
            source,
        })?;
        Ok(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Checks that `node` sees `br_netfilter`, which is what flanneld will see.
pub(crate) fn check_node_br_netfilter(programs: &Programs, node: &str) -> Result<(), KindError> {
    if programs.node_test(node, "-e", BR_NETFILTER_PATH)? {
        Ok(())
    } else {
        Err(KindError::BrNetfilterMissingInNode {
            node: node.to_string(),
        })
    }
}
