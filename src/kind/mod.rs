//! Creating and deleting the lesson's kind cluster by running the `kind`, `docker` and `curl`
//! programs. This layer only runs external programs; it never talks to the Kubernetes API.
//!
//! `create` does what the lesson's `prepare-kind-nodes.sh` does by hand: it checks the host
//! for what Flannel needs (`br_netfilter`), creates the cluster without a CNI, and copies a
//! pinned, checksum-verified CNI `bridge` plugin into every node (kind node images lack it).

mod config;
mod error;
mod host;
mod plugins;
mod run;

use std::io::Write;
use std::path::PathBuf;

pub use config::{POD_SUBNET, render_kind_config};
pub use error::KindError;
pub use plugins::{Arch, sha256_file};

use crate::content::model::{FlannelPin, PluginsPin};
use run::{Programs, Scratch};

/// The name `kubelab cluster` uses when none is given.
pub const DEFAULT_NAME: &str = "kubelab";

/// Everything `create` needs, owned so it can move to a blocking thread.
#[derive(Debug, Clone)]
pub struct CreatePlan {
    /// The kind cluster name (checked with [`validate_name`]).
    pub name: String,
    /// How many worker nodes next to the one control-plane node.
    pub workers: u32,
    /// The file name of the lesson's kind config, for messages.
    pub kind_config_name: String,
    /// The lesson's kind config as YAML text.
    pub kind_config: String,
    /// The pinned CNI plugins release.
    pub cni_plugins: PluginsPin,
    /// The pinned Flannel release, for the next steps.
    pub flannel: FlannelPin,
    /// The file whose presence shows the host has `br_netfilter` loaded; `None` checks
    /// [`BR_NETFILTER_PATH`] on Linux and only the nodes elsewhere.
    pub br_netfilter_path: Option<PathBuf>,
    /// A CNI plugins tarball already on disk, used instead of downloading (still verified).
    pub plugins_tarball: Option<PathBuf>,
    /// Where the API server listens (address, port), when not kind's default (127.0.0.1 on a
    /// random port).
    pub api_server: Option<(String, u16)>,
}

/// What `create` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// The cluster name.
    pub name: String,
    /// True when the cluster existed already and only its nodes were prepared.
    pub existed: bool,
    /// Every node that received the `bridge` plugin.
    pub nodes: Vec<String>,
    /// The nodes' architecture.
    pub arch: Arch,
    /// The verified SHA-256 of the plugins tarball.
    pub sha256: String,
}

/// What `delete` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// The cluster existed and kind deleted it.
    Deleted,
    /// There was no such cluster.
    NotFound,
}

/// The kubeconfig context kind writes for a cluster.
pub fn context_name(name: &str) -> String {
    format!("kind-{name}")
}

/// Checks a cluster name the way kind does (`^[a-z0-9.-]+$`), and that it starts with a
/// letter or digit; returns the reason when it is not usable.
pub fn validate_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the cluster name is empty".to_string());
    }
    if name.len() > 50 {
        return Err("use at most 50 characters for a cluster name".to_string());
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit()) {
        return Err("a cluster name starts with a lowercase letter or a digit".to_string());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
    {
        return Err(
            "a kind cluster name may only hold lowercase letters, digits, `.` and `-`".to_string(),
        );
    }
    Ok(())
}

/// Creates the cluster (unless it exists) and puts the `bridge` CNI plugin into every node.
/// Progress lines go to `out`; kind's own output is streamed to stderr.
pub fn create(plan: &CreatePlan, out: &mut dyn Write) -> Result<Created, KindError> {
    validate_name(&plan.name).map_err(|reason| KindError::BadName {
        name: plan.name.clone(),
        reason,
    })?;
    // Everything that can be known before touching Docker is checked first.
    let config =
        render_kind_config(&plan.kind_config, &plan.name, plan.workers).map_err(|detail| {
            KindError::KindConfig {
                file: plan.kind_config_name.clone(),
                detail,
            }
        })?;
    let config = match &plan.api_server {
        Some((address, port)) => {
            config::with_api_server(&config, address, *port).map_err(|detail| {
                KindError::KindConfig {
                    file: plan.kind_config_name.clone(),
                    detail,
                }
            })?
        }
        None => config,
    };
    let download = match &plan.plugins_tarball {
        Some(path) => {
            plugins::check_readable(path)?;
            false
        }
        None => true,
    };
    let programs = Programs::find(download)?;
    programs.docker_running()?;
    host::check_br_netfilter(plan.br_netfilter_path.as_deref(), out)?;

    let scratch = Scratch::new()?;
    let existed = programs.cluster_exists(&plan.name)?;
    if existed {
        say(
            out,
            &format!(
                "kind cluster `{}` already exists: not creating it again, preparing its nodes \
                 (to start over: kubelab cluster delete --name {})",
                plan.name, plan.name
            ),
        );
    } else {
        let file = scratch.write("kind-config.yaml", config.as_bytes())?;
        say(
            out,
            &format!(
                "Creating kind cluster `{}` with 1 control-plane node and {} worker(s), no default CNI, pod subnet {POD_SUBNET}",
                plan.name, plan.workers
            ),
        );
        programs.create_cluster(&plan.name, &file)?;
    }

    let nodes = programs.nodes(&plan.name)?;
    say(out, &format!("Nodes: {}", nodes.join(", ")));
    let first = nodes
        .first()
        .ok_or_else(|| KindError::NoNodes {
            name: plan.name.clone(),
        })?
        .clone();
    run::check_node_br_netfilter(&programs, &first)?;

    let machine = programs.docker_output(&["exec", &first, "uname", "-m"])?;
    let arch = Arch::from_uname(&machine).ok_or_else(|| KindError::UnsupportedArch {
        node: first.clone(),
        machine: machine.trim().to_string(),
    })?;
    let tarball = plugins::obtain(
        &programs,
        &plan.cni_plugins,
        arch,
        plan.plugins_tarball.as_deref(),
        &scratch,
        out,
    )?;
    for node in &nodes {
        plugins::install(&programs, &tarball.path, node)?;
        say(
            out,
            &format!(
                "{node}: /opt/cni/bin/bridge installed (CNI plugins {})",
                plan.cni_plugins.version
            ),
        );
    }
    Ok(Created {
        name: plan.name.clone(),
        existed,
        nodes,
        arch,
        sha256: tarball.sha256,
    })
}

/// What to do after `create`: the context, why nodes are NotReady, and the Flannel command.
pub fn next_steps(created: &Created, flannel: &FlannelPin) -> String {
    let context = context_name(&created.name);
    format!(
        "\nkind cluster `{name}` is ready for a CNI ({count} node(s), bridge plugin in every one).\n\
         \n\
         Next steps:\n\
         \x20 1. kubectl uses the context `{context}`: kubectl config use-context {context}\n\
         \x20 2. The nodes stay NotReady until a CNI is installed; that is expected (kubectl get nodes).\n\
         \x20 3. Install the lesson's pinned Flannel ({version}):\n\
         \x20      kubectl --context {context} apply -f {manifest}\n\
         \x20 4. A running `kubelab serve` picks up the new context without a restart: choose `{context}` on its /cluster page.\n",
        name = created.name,
        count = created.nodes.len(),
        version = flannel.version,
        manifest = flannel.manifest,
    )
}

/// Deletes the cluster with `kind delete cluster --name NAME`; kind's output goes to stderr.
pub fn delete(name: &str, out: &mut dyn Write) -> Result<Deleted, KindError> {
    validate_name(name).map_err(|reason| KindError::BadName {
        name: name.to_string(),
        reason,
    })?;
    let programs = Programs::find(false)?;
    programs.docker_running()?;
    if !programs.cluster_exists(name)? {
        return Ok(Deleted::NotFound);
    }
    say(out, &format!("Deleting kind cluster `{name}`"));
    programs.delete_cluster(name)?;
    Ok(Deleted::Deleted)
}

/// The kubeconfig kind keeps for the cluster (`kind get kubeconfig --name NAME`).
pub fn kubeconfig(name: &str) -> Result<String, KindError> {
    validate_name(name).map_err(|reason| KindError::BadName {
        name: name.to_string(),
        reason,
    })?;
    let programs = Programs::find(false)?;
    programs.kind_output(&["get", "kubeconfig", "--name", name])
}

/// Every kind cluster on this host (`kind get clusters`).
pub fn clusters() -> Result<Vec<String>, KindError> {
    let programs = Programs::find(false)?;
    programs.docker_running()?;
    let listed = programs.kind_output(&["get", "clusters"])?;
    Ok(listed
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("No kind clusters"))
        .map(str::to_string)
        .collect())
}

/// Writes one progress line; a closed stderr must not stop the work.
fn say(out: &mut dyn Write, line: &str) {
    let _ = writeln!(out, "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_kind_rules() {
        assert!(validate_name("kubelab").is_ok());
        assert!(validate_name("lab-2.test").is_ok());
        assert!(validate_name("").is_err());
        assert!(validate_name("-x").is_err());
        assert!(validate_name("Kubelab").is_err());
        assert!(validate_name("a_b").is_err());
        assert!(validate_name(&"a".repeat(51)).is_err());
    }

    #[test]
    fn next_steps_name_the_context_and_flannel() {
        let created = Created {
            name: "lab".into(),
            existed: false,
            nodes: vec!["lab-control-plane".into(), "lab-worker".into()],
            arch: Arch::Amd64,
            sha256: "0".repeat(64),
        };
        let flannel = FlannelPin {
            version: "v0.28.9".into(),
            manifest: "https://example.test/kube-flannel.yml".into(),
        };
        let text = next_steps(&created, &flannel);
        assert!(text.contains("kind-lab"));
        assert!(text.contains("NotReady"));
        assert!(
            text.contains(
                "kubectl --context kind-lab apply -f https://example.test/kube-flannel.yml"
            )
        );
        assert!(text.contains("/cluster"));
    }
}
