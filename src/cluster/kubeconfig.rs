//! Reading kubeconfig files and building clients for their contexts. The files are read
//! again on every connect, so a context created while the server runs (e.g. by
//! `kubelab cluster create`) is usable at once.

use std::path::PathBuf;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

use super::error::ClusterError;

/// Where kubeconfig files are read from.
#[derive(Debug, Clone)]
pub struct KubeconfigSource {
    paths: Vec<PathBuf>,
}

impl KubeconfigSource {
    /// A kubeconfig for use inside the learner's own cluster (the toolbox): only `contexts`,
    /// `current` selected, and a kind cluster's API server named as its nodes reach it
    /// (`https://NAME-control-plane:6443`, kind's internal address) instead of the host's
    /// published port.
    pub fn for_inside(&self, contexts: &[String], current: &str) -> Result<String, ClusterError> {
        let mut config = self.read()?;
        config.contexts.retain(|c| contexts.contains(&c.name));
        let used = |name: &Option<String>| name.clone().unwrap_or_default();
        let clusters: Vec<String> = config
            .contexts
            .iter()
            .filter_map(|c| c.context.as_ref().map(|x| x.cluster.clone()))
            .collect();
        let users: Vec<String> = config
            .contexts
            .iter()
            .filter_map(|c| c.context.as_ref().map(|x| used(&x.user)))
            .collect();
        config.clusters.retain(|c| clusters.contains(&c.name));
        config.auth_infos.retain(|u| users.contains(&u.name));
        for named in &mut config.clusters {
            let Some(kind) = named.name.strip_prefix("kind-") else {
                continue;
            };
            if let Some(cluster) = named.cluster.as_mut()
                && cluster.server.as_deref().is_some_and(|s| {
                    s.contains("://127.0.0.1:")
                        || s.contains("://localhost:")
                        || s.contains("://0.0.0.0:")
                })
            {
                cluster.server = Some(format!("https://{kind}-control-plane:6443"));
            }
        }
        config.current_context = Some(current.to_string());
        serde_yaml_ng::to_string(&config).map_err(|e| ClusterError::BadKubeconfig {
            path: self.describe(),
            reason: e.to_string(),
        })
    }

    /// The one file, when the source is a single file.
    pub fn single_path(&self) -> Option<&std::path::Path> {
        match self.paths.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    /// `--kubeconfig` if given, else `$KUBECONFIG` (colon-separated), else `~/.kube/config`.
    pub fn resolve(flag: Option<PathBuf>) -> KubeconfigSource {
        if let Some(path) = flag {
            return KubeconfigSource { paths: vec![path] };
        }
        if let Some(env) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
            return KubeconfigSource {
                paths: std::env::split_paths(&env).collect(),
            };
        }
        let home = dirs::home_dir().unwrap_or_else(|| PathBuf::from("."));
        KubeconfigSource {
            paths: vec![home.join(".kube").join("config")],
        }
    }

    /// One explicit file.
    pub fn file(path: PathBuf) -> KubeconfigSource {
        KubeconfigSource { paths: vec![path] }
    }

    /// The files, for messages.
    pub fn describe(&self) -> String {
        self.paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(":")
    }

    /// The newest modification time among the files, to notice edits (new contexts).
    pub fn modified(&self) -> Option<std::time::SystemTime> {
        self.paths
            .iter()
            .filter_map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
            .max()
    }

    /// Reads and merges the files (the first file's current-context wins, as in kubectl).
    pub fn read(&self) -> Result<Kubeconfig, ClusterError> {
        let mut merged: Option<Kubeconfig> = None;
        for path in &self.paths {
            if !path.exists() {
                continue;
            }
            let config = Kubeconfig::read_from(path).map_err(|e| ClusterError::BadKubeconfig {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            merged = Some(match merged {
                None => config,
                Some(first) => first
                    .merge(config)
                    .map_err(|e| ClusterError::BadKubeconfig {
                        path: path.display().to_string(),
                        reason: e.to_string(),
                    })?,
            });
        }
        merged.ok_or_else(|| ClusterError::NoKubeconfig {
            path: self.describe(),
        })
    }

    /// Context names and the current one.
    pub fn contexts(&self) -> Result<(Vec<String>, Option<String>), ClusterError> {
        let config = self.read()?;
        let names = config.contexts.iter().map(|c| c.name.clone()).collect();
        Ok((names, config.current_context))
    }

    /// A client for `context`, with connect and read timeouts so no call hangs.
    pub async fn client(
        &self,
        context: &str,
        read_timeout: Duration,
    ) -> Result<(kube::Client, String), ClusterError> {
        let config = self.read()?;
        if !config.contexts.iter().any(|c| c.name == context) {
            return Err(ClusterError::NoContext(context.to_string()));
        }
        let options = KubeConfigOptions {
            context: Some(context.to_string()),
            ..KubeConfigOptions::default()
        };
        let mut config = kube::Config::from_custom_kubeconfig(config, &options)
            .await
            .map_err(|e| ClusterError::BadKubeconfig {
                path: self.describe(),
                reason: e.to_string(),
            })?;
        config.connect_timeout = Some(Duration::from_secs(5));
        config.read_timeout = Some(read_timeout);
        config.write_timeout = Some(Duration::from_secs(10));
        // A check answers now; a 503 is reported, not retried for minutes (checks re-run live).
        config.default_retry = false;
        let server = config.cluster_url.to_string();
        let client = kube::Client::try_from(config).map_err(|e| ClusterError::BadKubeconfig {
            path: self.describe(),
            reason: e.to_string(),
        })?;
        Ok((client, server.trim_end_matches('/').to_string()))
    }
}

#[cfg(test)]
mod inside_tests {
    use super::*;

    const TWO: &str = "apiVersion: v1
kind: Config
clusters:
- name: kind-kubelab
  cluster: {server: 'https://127.0.0.1:39001', certificate-authority-data: Q0E=}
- name: kind-other
  cluster: {server: 'https://127.0.0.1:39002'}
- name: cloud
  cluster: {server: 'https://k8s.example.test:6443'}
users:
- {name: kind-kubelab, user: {token: a}}
- {name: kind-other, user: {token: b}}
- {name: cloud, user: {token: c}}
contexts:
- {name: kind-kubelab, context: {cluster: kind-kubelab, user: kind-kubelab}}
- {name: kind-other, context: {cluster: kind-other, user: kind-other}}
- {name: cloud, context: {cluster: cloud, user: cloud}}
current-context: cloud
";

    #[test]
    fn the_toolbox_kubeconfig_has_the_allowed_contexts_reachable_from_inside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, TWO).unwrap();
        let source = KubeconfigSource::file(path);
        let text = source
            .for_inside(&["kind-kubelab".into(), "cloud".into()], "kind-kubelab")
            .unwrap();
        let parsed: Kubeconfig = serde_yaml_ng::from_str(&text).unwrap();
        let names: Vec<&str> = parsed.contexts.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["kind-kubelab", "cloud"]);
        assert_eq!(parsed.current_context.as_deref(), Some("kind-kubelab"));
        let server = |n: &str| {
            parsed
                .clusters
                .iter()
                .find(|c| c.name == n)
                .and_then(|c| c.cluster.as_ref())
                .and_then(|c| c.server.clone())
        };
        assert_eq!(
            server("kind-kubelab").as_deref(),
            Some("https://kubelab-control-plane:6443")
        );
        assert_eq!(
            server("cloud").as_deref(),
            Some("https://k8s.example.test:6443")
        );
        assert!(server("kind-other").is_none(), "not allowed, not included");
        assert_eq!(parsed.auth_infos.len(), 2);
    }
}
