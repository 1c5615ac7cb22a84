//! The contexts this server may connect to, and a cache of one client per context.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

use super::{ClusterError, Connection, KubeconfigSource};

/// Which contexts learners may use.
#[derive(Debug, Clone)]
pub enum AllowedContexts {
    /// Every context of the kubeconfig (the default while listening on loopback).
    All,
    /// Only these.
    Only(Vec<String>),
}

/// The server's view of the kubeconfig: default context, allowed contexts, cached clients.
pub struct Clusters {
    source: KubeconfigSource,
    default_context: Option<String>,
    allowed: AllowedContexts,
    cache: Mutex<HashMap<CacheKey, (Option<SystemTime>, Connection)>>,
    /// Connections through other kubeconfig files (workshop members' clusters), by file.
    files: Mutex<HashMap<CacheKey, (Option<SystemTime>, Connection)>>,
}

/// (context, or a kubeconfig file for `files`; for watches?).
type CacheKey = (String, bool);

impl Clusters {
    /// A registry over the kubeconfig files of `source`.
    pub fn new(
        source: KubeconfigSource,
        default_context: Option<String>,
        allowed: AllowedContexts,
    ) -> Clusters {
        Clusters {
            source,
            default_context,
            allowed,
            cache: Mutex::new(HashMap::new()),
            files: Mutex::new(HashMap::new()),
        }
    }

    /// A connection to the current context of another kubeconfig (a workshop member's own
    /// cluster), cached while the file is unchanged; `watch` for long reads.
    pub async fn connect_file(
        &self,
        source: &KubeconfigSource,
        watch: bool,
    ) -> Result<Connection, ClusterError> {
        let key = (source.describe(), watch);
        let stamp = source.modified();
        if let Ok(cache) = self.files.lock()
            && let Some((cached, conn)) = cache.get(&key)
            && *cached == stamp
        {
            return Ok(conn.clone());
        }
        let (_, current) = source.contexts()?;
        let context = current.ok_or_else(|| {
            ClusterError::NoContext(format!(
                "(none: {} has no current-context)",
                source.describe()
            ))
        })?;
        let conn = if watch {
            Connection::open_for_watch(source, &context).await?
        } else {
            Connection::open(source, &context).await?
        };
        if let Ok(mut cache) = self.files.lock() {
            cache.insert(key, (stamp, conn.clone()));
        }
        Ok(conn)
    }

    /// The kubeconfig files, for messages.
    pub fn source(&self) -> &KubeconfigSource {
        &self.source
    }

    /// `--context`, else the kubeconfig's current context.
    pub fn default_context(&self) -> Result<String, ClusterError> {
        if let Some(context) = &self.default_context {
            return Ok(context.clone());
        }
        let (names, current) = self.source.contexts()?;
        current.or_else(|| names.first().cloned()).ok_or_else(|| {
            ClusterError::NoContext("(none: the kubeconfig has no contexts)".to_string())
        })
    }

    /// Whether a context may be used.
    pub fn allows(&self, context: &str) -> bool {
        match &self.allowed {
            AllowedContexts::All => true,
            AllowedContexts::Only(list) => list.iter().any(|c| c == context),
        }
    }

    /// The contexts a learner may switch to, in kubeconfig order.
    pub fn contexts(&self) -> Result<Vec<String>, ClusterError> {
        let (names, _) = self.source.contexts()?;
        Ok(names.into_iter().filter(|n| self.allows(n)).collect())
    }

    /// A connection to `context`, reusing the cached client while the kubeconfig is unchanged.
    pub async fn connect(&self, context: &str) -> Result<Connection, ClusterError> {
        self.cached(context, false).await
    }

    /// A connection for watches (long reads), cached likewise.
    pub async fn connect_for_watch(&self, context: &str) -> Result<Connection, ClusterError> {
        self.cached(context, true).await
    }

    async fn cached(&self, context: &str, watch: bool) -> Result<Connection, ClusterError> {
        if !self.allows(context) {
            return Err(ClusterError::ContextNotAllowed(context.to_string()));
        }
        let stamp = self.source.modified();
        if let Ok(cache) = self.cache.lock()
            && let Some((cached_stamp, conn)) = cache.get(&(context.to_string(), watch))
            && *cached_stamp == stamp
        {
            return Ok(conn.clone());
        }
        let conn = if watch {
            Connection::open_for_watch(&self.source, context).await?
        } else {
            Connection::open(&self.source, context).await?
        };
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert((context.to_string(), watch), (stamp, conn.clone()));
        }
        Ok(conn)
    }
}
