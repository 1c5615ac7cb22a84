//! Clusters kubelab makes for workshops (the `kind` and `kubernetes` providers): a warm pool,
//! at most N boots at once, a fresh cluster when a learner leaves or the instructor recreates
//! one, deletion when the workshop ends, and reconciliation after a restart. Every state is
//! in the store first; the engines (the kind programs, a management cluster) do the work,
//! kubelab schedules nothing itself.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::cluster::environments::{self, PodPlan, PodProgress};
use crate::cluster::{Connection, KubeconfigSource};
use crate::store::{EnvState, EnvironmentRow, LearnerId};

use super::super::{Service, ServiceError, ServiceResult};
use super::{ClassEvent, Provider};

/// The environment image the `kubernetes` provider runs by default (built from
/// `deploy/environment/Dockerfile`).
pub const DEFAULT_IMAGE: &str = "ghcr.io/kubelab-dev/environment:0.1.0";
/// Most clusters a workshop gets when neither `max` nor its capacity says.
const DEFAULT_MAX: u32 = 40;
/// How often provisioning looks again without being asked.
const TICK: Duration = Duration::from_secs(5);
/// How often an environment Pod's progress is read.
const POLL: Duration = Duration::from_secs(2);
/// The longest the pod network may take to come up on a new cluster.
const NETWORK_TIMEOUT: Duration = Duration::from_secs(300);

/// Why a boot stopped early: its environment was recycled meanwhile.
const NO_LONGER_WANTED: &str = "no longer wanted";

/// Provisioning's in-process state (everything lasting is in the store).
#[derive(Debug, Default)]
pub struct Provisioning {
    kick: tokio::sync::Notify,
    running: OnceLock<()>,
    /// Environments a task of this process is making or deleting right now.
    busy: Mutex<HashSet<String>>,
    /// Ready environments were checked against the engine since this process started.
    verified: AtomicBool,
    /// Per workshop: boot slots.
    slots: Mutex<HashMap<i64, Arc<Semaphore>>>,
    /// One pool fill at a time (a join and the background pass would both count the same
    /// waiting learner and make two clusters for them).
    filling: tokio::sync::Mutex<()>,
}

impl Provisioning {
    fn claim(&self, name: &str) -> bool {
        self.busy
            .lock()
            .map(|mut b| b.insert(name.to_string()))
            .unwrap_or(false)
    }

    fn release(&self, name: &str) {
        if let Ok(mut b) = self.busy.lock() {
            b.remove(name);
        }
    }

    fn slots(&self, workshop: i64, parallel: u32) -> Arc<Semaphore> {
        let permits = usize::try_from(parallel.max(1)).unwrap_or(1);
        match self.slots.lock() {
            Ok(mut map) => map
                .entry(workshop)
                .or_insert_with(|| Arc::new(Semaphore::new(permits)))
                .clone(),
            Err(_) => Arc::new(Semaphore::new(permits)),
        }
    }
}

/// A provider's pool settings, for the providers kubelab provisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pool {
    /// Ready clusters kept unassigned.
    pub warm: u32,
    /// Boots at once.
    pub parallel: u32,
    /// Most clusters.
    pub max: Option<u32>,
}

impl Provider {
    /// The pool settings, when kubelab makes this provider's clusters.
    pub(super) fn pool(&self) -> Option<Pool> {
        match self {
            Provider::Kubeconfigs { .. } => None,
            Provider::Kind {
                warm,
                parallel,
                max,
                ..
            }
            | Provider::Kubernetes {
                warm,
                parallel,
                max,
                ..
            } => Some(Pool {
                warm: *warm,
                parallel: *parallel,
                max: *max,
            }),
        }
    }
}

/// A new environment name: kind and DNS rules, unique across workshops.
fn new_name(workshop: i64) -> ServiceResult<String> {
    const LETTERS: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 5];
    getrandom::fill(&mut bytes)
        .map_err(|e| ServiceError::Invalid(format!("no randomness for a cluster name: {e}")))?;
    let tail: String = bytes
        .iter()
        .map(|b| LETTERS[usize::from(*b) % LETTERS.len()] as char)
        .collect();
    Ok(format!("kl{workshop}-{tail}"))
}

/// The namespace of a workshop's environment Pods.
fn namespace(workshop: i64) -> String {
    format!("kubelab-ws-{workshop}")
}

/// How long ago, in words.
pub(crate) fn elapsed(seconds: i64) -> String {
    match seconds.max(0) {
        s if s < 60 => format!("{s} s"),
        s => format!("{} min {} s", s / 60, s % 60),
    }
}

/// Progress lines of a blocking kind run, sent to the async side.
struct Lines(tokio::sync::mpsc::UnboundedSender<String>);

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for line in String::from_utf8_lossy(buf).lines() {
            let line = line.trim();
            if !line.is_empty() {
                let _ = self.0.send(line.to_string());
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Service {
    /// Asks provisioning to look at every workshop now (starting it on first use).
    pub fn kick_provisioning(&self) {
        let provisioning = &self.0.provisioning;
        if provisioning.running.set(()).is_ok() {
            tokio::spawn(self.clone().provision_loop());
        }
        provisioning.kick.notify_one();
    }

    async fn provision_loop(self) {
        loop {
            if let Err(err) = self.reconcile().await {
                tracing::warn!(error = %err, "provisioning could not look at the workshops");
            }
            tokio::select! {
                () = self.0.provisioning.kick.notified() => {}
                () = tokio::time::sleep(TICK) => {}
            }
        }
    }

    /// One pass: delete what is to go, pick up work a restart interrupted, give waiting
    /// learners a cluster, and boot what the pools lack.
    async fn reconcile(&self) -> ServiceResult<()> {
        let store = &self.0.store;
        let provisioning = &self.0.provisioning;
        for env in store.environments_in(EnvState::Deleting).await? {
            if provisioning.claim(&env.name) {
                tokio::spawn(self.clone().delete_environment(env));
            }
        }
        if !provisioning.verified.swap(true, Ordering::SeqCst) {
            self.verify_ready().await?;
        }
        // A provisioning environment nobody here is making was interrupted by a restart:
        // clean up what was half-made and make it again.
        for env in store.environments_in(EnvState::Provisioning).await? {
            if provisioning.claim(&env.name) {
                tracing::info!(environment = %env.name, "finishing an environment a restart interrupted");
                tokio::spawn(self.clone().boot(env.name, env.workshop_id, true));
            }
        }
        let now = self.now();
        for row in store.workshops().await? {
            let Ok(workshop) = super::workshop_of(row) else {
                continue;
            };
            let Some(pool) = workshop.provider.pool() else {
                continue;
            };
            if workshop.ends_at.is_some_and(|end| end <= now) {
                let live = store.environments(workshop.id).await?;
                if live.iter().any(|e| e.state != EnvState::Deleting) {
                    tracing::info!(
                        workshop = workshop.id,
                        "the workshop ended: deleting its clusters"
                    );
                    store.recycle_environments(workshop.id, now).await?;
                    provisioning.kick.notify_one();
                }
                continue;
            }
            self.fill_pool(&workshop, pool).await?;
        }
        Ok(())
    }

    /// Gives waiting members a free environment and starts the ones the pool lacks.
    pub(super) async fn fill_pool(
        &self,
        workshop: &super::Workshop,
        pool: Pool,
    ) -> ServiceResult<()> {
        let _one_at_a_time = self.0.provisioning.filling.lock().await;
        let store = &self.0.store;
        let mut waiting = 0u32;
        for member in store.workshop_members(workshop.id).await? {
            if member.cluster.is_some() {
                continue;
            }
            let Some(learner) = LearnerId::parse(&member.learner_id) else {
                continue;
            };
            if store
                .take_environment(workshop.id, &learner)
                .await?
                .is_some()
            {
                self.publish(ClassEvent::Joined {
                    workshop: workshop.id,
                });
            } else {
                waiting += 1;
            }
        }
        let envs = store.environments(workshop.id).await?;
        let held: HashSet<String> = store
            .workshop_members(workshop.id)
            .await?
            .into_iter()
            .filter_map(|m| m.cluster)
            .collect();
        let free = envs
            .iter()
            .filter(|e| matches!(e.state, EnvState::Ready | EnvState::Provisioning))
            .filter(|e| !held.contains(&e.name))
            .count();
        let existing = envs
            .iter()
            .filter(|e| e.state != EnvState::Deleting)
            .count();
        let max = pool
            .max
            .or(workshop.capacity.and_then(|c| u32::try_from(c).ok()))
            .unwrap_or(DEFAULT_MAX);
        let wanted = usize::try_from(waiting + pool.warm).unwrap_or(usize::MAX);
        let room = usize::try_from(max)
            .unwrap_or(usize::MAX)
            .saturating_sub(existing);
        let new = wanted.saturating_sub(free).min(room);
        if new == 0 {
            return Ok(());
        }
        let provider = serde_json::to_string(&workshop.provider)
            .map_err(|e| ServiceError::Invalid(e.to_string()))?;
        for _ in 0..new {
            let name = new_name(workshop.id)?;
            if !store
                .add_environment(&name, workshop.id, &provider, self.now())
                .await?
            {
                continue;
            }
            self.0.provisioning.claim(&name);
            tokio::spawn(self.clone().boot(name, workshop.id, false));
        }
        // Members still waiting get the new ones (being made: they see its progress).
        for member in store.workshop_members(workshop.id).await? {
            if member.cluster.is_none()
                && let Some(learner) = LearnerId::parse(&member.learner_id)
            {
                store.take_environment(workshop.id, &learner).await?;
            }
        }
        self.publish(ClassEvent::Joined {
            workshop: workshop.id,
        });
        Ok(())
    }

    /// Ready environments that vanished while kubelab was down are made again.
    async fn verify_ready(&self) -> ServiceResult<()> {
        let store = &self.0.store;
        for env in store.environments_in(EnvState::Ready).await? {
            let Ok(provider) = serde_json::from_str::<Provider>(&env.provider) else {
                continue;
            };
            match self
                .engine_exists(&provider, env.workshop_id, &env.name)
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(environment = %env.name, "a ready cluster is gone: making it again");
                    store.environment_restarted(&env.name, self.now()).await?;
                }
                Err(err) => {
                    tracing::warn!(environment = %env.name, error = %err, "cannot tell whether a cluster still exists; keeping it");
                }
            }
        }
        Ok(())
    }

    /// Makes one environment (claimed by the caller), then marks it ready or failed.
    async fn boot(self, name: String, workshop: i64, interrupted: bool) {
        let result = self.boot_claimed(&name, workshop, interrupted).await;
        let store = &self.0.store;
        let recorded = match result {
            Ok(path) => store
                .environment_ready(&name, &path.display().to_string(), self.now())
                .await
                .map(|_| ()),
            Err(reason) if reason == NO_LONGER_WANTED => {
                tracing::info!(environment = %name, "stopped making a cluster that is no longer wanted");
                Ok(())
            }
            Err(reason) => {
                tracing::warn!(environment = %name, %reason, "making a cluster failed");
                store.environment_failed(&name, &reason, self.now()).await
            }
        };
        if let Err(err) = recorded {
            tracing::error!(environment = %name, error = %err, "cannot record a cluster's state");
        }
        self.0.provisioning.release(&name);
        self.publish(ClassEvent::Joined { workshop });
        // A recycled-meanwhile environment is deleted by the next pass.
        self.0.provisioning.kick.notify_one();
    }

    async fn boot_claimed(
        &self,
        name: &str,
        workshop: i64,
        interrupted: bool,
    ) -> Result<PathBuf, String> {
        let store = &self.0.store;
        let env = store
            .environment(name)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the environment is no longer recorded")?;
        let provider: Provider =
            serde_json::from_str(&env.provider).map_err(|e| format!("damaged provider: {e}"))?;
        let pool = provider.pool().ok_or("this provider is not provisioned")?;
        self.step(name, "queued: waiting for a free boot slot")
            .await;
        let slots = self.0.provisioning.slots(workshop, pool.parallel);
        let _slot = slots
            .acquire_owned()
            .await
            .map_err(|_| "provisioning is shutting down")?;
        if interrupted {
            self.step(name, "cleaning up what a restart left half-made")
                .await;
            self.engine_delete(&provider, workshop, name).await?;
            store
                .environment_restarted(name, self.now())
                .await
                .map_err(|e| e.to_string())?;
        }
        let kubeconfig = self.engine_create(&provider, workshop, name).await?;
        if !self.still_wanted(name).await {
            return Err(NO_LONGER_WANTED.into());
        }
        let path = self.write_kubeconfig(name, &kubeconfig)?;
        self.prepare_environment(name, workshop, &path).await?;
        Ok(path)
    }

    /// Whether an environment is still to be made (not recycled, its workshop not ended).
    async fn still_wanted(&self, name: &str) -> bool {
        match self.0.store.environment(name).await {
            Ok(Some(env)) => env.state == EnvState::Provisioning,
            Ok(None) => false,
            // Unknown: keep going; the record is checked again at the end.
            Err(_) => true,
        }
    }

    /// Records a provisioning step (a failure to record is only logged: the boot goes on).
    async fn step(&self, name: &str, step: &str) {
        if let Err(err) = self.0.store.environment_step(name, step, self.now()).await {
            tracing::warn!(environment = %name, error = %err, "cannot record a provisioning step");
        }
    }

    /// Keeps the environment's kubeconfig next to the database, readable by kubelab only.
    fn write_kubeconfig(&self, name: &str, text: &str) -> Result<PathBuf, String> {
        let dir = self.0.store.data_dir().join("environments");
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let path = dir.join(format!("{name}.kubeconfig"));
        write_private(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(path)
    }

    /// Gets a new cluster ready for the workshop's tasks: the pinned Flannel where a task
    /// needs a working pod network and the cluster has none.
    async fn prepare_environment(
        &self,
        name: &str,
        workshop: i64,
        path: &Path,
    ) -> Result<(), String> {
        let source = KubeconfigSource::file(path.to_path_buf());
        let (_, current) = source.contexts().map_err(|e| e.to_string())?;
        let context = current.ok_or("its kubeconfig has no current context")?;
        let conn = Connection::open(&source, &context)
            .await
            .map_err(|e| e.to_string())?;
        let ws = self.workshop(workshop).await.map_err(|e| e.to_string())?;
        let needs_network = ws.tasks.iter().find_map(|id| {
            self.0
                .catalogue
                .task(id)
                .filter(|t| t.requires.cni == crate::content::model::CniRequirement::Working)
        });
        if let Some(task) = needs_network {
            self.step(
                name,
                "installing the pinned Flannel and waiting for every node to be Ready",
            )
            .await;
            let timing = crate::service::selftest::Timing {
                converge: NETWORK_TIMEOUT,
                poll: Duration::from_secs(2),
            };
            crate::service::selftest::prepare_network(
                &conn,
                &self.0.steps,
                &self.0.catalogue,
                task,
                timing,
            )
            .await?;
        }
        Ok(())
    }

    /// Deletes one environment (claimed by the caller) and forgets it.
    async fn delete_environment(self, env: EnvironmentRow) {
        match self.delete_now(&env).await {
            Ok(()) => tracing::info!(environment = %env.name, "deleted a workshop cluster"),
            Err(reason) => {
                tracing::warn!(environment = %env.name, %reason, "deleting a cluster failed; trying again later");
                // Later, not in a tight loop.
                tokio::time::sleep(TICK * 6).await;
            }
        }
        self.0.provisioning.release(&env.name);
        self.publish(ClassEvent::Joined {
            workshop: env.workshop_id,
        });
    }

    /// Deletes an environment with its engine, then its record and kubeconfig file.
    async fn delete_now(&self, env: &EnvironmentRow) -> Result<(), String> {
        let provider = serde_json::from_str::<Provider>(&env.provider)
            .map_err(|e| format!("damaged provider: {e}"))?;
        self.engine_delete(&provider, env.workshop_id, &env.name)
            .await?;
        self.0
            .store
            .remove_environment(&env.name)
            .await
            .map_err(|e| format!("deleted, but cannot forget it: {e}"))?;
        if let Some(path) = &env.kubeconfig {
            let _ = std::fs::remove_file(path);
        }
        Ok(())
    }

    /// Deletes every environment marked for deletion and waits for it (the CLI's
    /// `workshop delete`); the names deleted and the failures.
    pub async fn delete_pending_environments(&self) -> ServiceResult<(Vec<String>, Vec<String>)> {
        let mut deleted = Vec::new();
        let mut failed = Vec::new();
        for env in self.0.store.environments_in(EnvState::Deleting).await? {
            match self.delete_now(&env).await {
                Ok(()) => deleted.push(env.name),
                Err(reason) => failed.push(format!("{}: {reason}", env.name)),
            }
        }
        Ok((deleted, failed))
    }
}

/// Writes a file only its owner can read (it holds cluster credentials).
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

impl Service {
    /// Makes the cluster and answers its kubeconfig.
    async fn engine_create(
        &self,
        provider: &Provider,
        workshop: i64,
        name: &str,
    ) -> Result<String, String> {
        match provider {
            Provider::Kubeconfigs { .. } => Err("the kubeconfigs provider makes nothing".into()),
            Provider::Kind { workers, .. } => self.kind_create(name, *workers).await,
            Provider::Kubernetes {
                image,
                node_selector,
                cpu,
                memory,
                workers,
                boot_timeout,
                ..
            } => {
                let conn = management(provider).await?;
                let plan = PodPlan {
                    name: name.to_string(),
                    namespace: namespace(workshop),
                    workshop,
                    image: image.clone(),
                    node_selector: node_selector.clone(),
                    cpu: cpu.clone(),
                    memory: memory.clone(),
                    workers: *workers,
                };
                self.pod_create(&conn, &plan, Duration::from_secs(*boot_timeout))
                    .await
            }
        }
    }

    async fn kind_create(&self, name: &str, workers: u32) -> Result<String, String> {
        let plan = self.kind_plan(name, workers)?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let work = tokio::task::spawn_blocking(move || {
            let mut lines = Lines(tx);
            crate::kind::create(&plan, &mut lines)
        });
        while let Some(line) = rx.recv().await {
            self.step(name, &line).await;
        }
        match work.await {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => return Err(err.to_string()),
            Err(err) => return Err(format!("the kind run stopped: {err}")),
        }
        let owned = name.to_string();
        match tokio::task::spawn_blocking(move || crate::kind::kubeconfig(&owned)).await {
            Ok(Ok(text)) => Ok(text),
            Ok(Err(err)) => Err(err.to_string()),
            Err(err) => Err(format!("the kind run stopped: {err}")),
        }
    }

    /// The `kubelab cluster create` plan for a workshop cluster: the first lesson with a
    /// cluster, its pins; host overrides from the environment as for the CLI.
    fn kind_plan(&self, name: &str, workers: u32) -> Result<crate::kind::CreatePlan, String> {
        let (lesson, spec) = self
            .0
            .catalogue
            .lessons
            .iter()
            .find_map(|l| l.cluster.as_ref().map(|c| (l, c)))
            .ok_or("no lesson describes a kind cluster")?;
        let kind_config = lesson
            .files
            .get(&spec.kind_config)
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .ok_or_else(|| {
                format!(
                    "lesson `{}` has no readable {}",
                    lesson.id, spec.kind_config
                )
            })?;
        Ok(crate::kind::CreatePlan {
            name: name.to_string(),
            workers,
            kind_config_name: spec.kind_config.clone(),
            kind_config: kind_config.to_string(),
            cni_plugins: spec.cni_plugins.clone(),
            flannel: spec.flannel.clone(),
            br_netfilter_path: std::env::var_os("KUBELAB_BR_NETFILTER_PATH").map(Into::into),
            plugins_tarball: std::env::var_os("KUBELAB_CNI_PLUGINS_TARBALL").map(Into::into),
            api_server: None,
        })
    }

    async fn pod_create(
        &self,
        conn: &Connection,
        plan: &PodPlan,
        timeout: Duration,
    ) -> Result<String, String> {
        self.step(&plan.name, "creating the environment Pod").await;
        environments::prepare_namespace(conn, &plan.namespace, plan.workshop)
            .await
            .map_err(|e| e.to_string())?;
        environments::create(conn, plan)
            .await
            .map_err(|e| e.to_string())?;
        let since = tokio::time::Instant::now();
        let mut last = String::new();
        loop {
            match environments::progress(conn, &plan.namespace, &plan.name).await {
                Ok(PodProgress::Ready(kubeconfig)) => return Ok(kubeconfig),
                Ok(PodProgress::Failed(reason)) => return Err(reason),
                Ok(PodProgress::Missing) => {
                    return Err("the environment Pod was deleted while it started".into());
                }
                Ok(PodProgress::Starting(step)) => {
                    if step != last {
                        self.step(&plan.name, &step).await;
                        last = step;
                    }
                }
                Err(err) => last = err.to_string(),
            }
            if since.elapsed() >= timeout {
                return Err(format!(
                    "not ready within {} s (last seen: {last})",
                    timeout.as_secs()
                ));
            }
            // Recycled or its workshop ended meanwhile: stop waiting, the deletion follows.
            if !self.still_wanted(&plan.name).await {
                return Err(NO_LONGER_WANTED.into());
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Deletes the cluster; one that is already gone is fine.
    async fn engine_delete(
        &self,
        provider: &Provider,
        workshop: i64,
        name: &str,
    ) -> Result<(), String> {
        match provider {
            Provider::Kubeconfigs { .. } => Ok(()),
            Provider::Kind { .. } => {
                let owned = name.to_string();
                match tokio::task::spawn_blocking(move || {
                    crate::kind::delete(&owned, &mut std::io::sink())
                })
                .await
                {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(err)) => Err(err.to_string()),
                    Err(err) => Err(format!("the kind run stopped: {err}")),
                }
            }
            Provider::Kubernetes { .. } => {
                let conn = management(provider).await?;
                environments::delete(&conn, &namespace(workshop), name)
                    .await
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// Whether the cluster still exists.
    async fn engine_exists(
        &self,
        provider: &Provider,
        workshop: i64,
        name: &str,
    ) -> Result<bool, String> {
        match provider {
            Provider::Kubeconfigs { .. } => Ok(true),
            Provider::Kind { .. } => match tokio::task::spawn_blocking(crate::kind::clusters).await
            {
                Ok(Ok(names)) => Ok(names.iter().any(|n| n == name)),
                Ok(Err(err)) => Err(err.to_string()),
                Err(err) => Err(format!("the kind run stopped: {err}")),
            },
            Provider::Kubernetes { .. } => {
                let conn = management(provider).await?;
                environments::list(&conn, &namespace(workshop))
                    .await
                    .map(|names| names.iter().any(|n| n == name))
                    .map_err(|e| e.to_string())
            }
        }
    }
}

/// The management cluster of a `kubernetes` provider.
pub(super) async fn management(provider: &Provider) -> Result<Connection, String> {
    let Provider::Kubernetes {
        kubeconfig,
        context,
        ..
    } = provider
    else {
        return Err("not a kubernetes provider".into());
    };
    let source = KubeconfigSource::resolve(kubeconfig.clone());
    let context =
        match context {
            Some(c) => c.clone(),
            None => source.contexts().map_err(|e| e.to_string())?.1.ok_or(
                "the management kubeconfig has no current context: name one with `context`",
            )?,
        };
    Connection::open(&source, &context)
        .await
        .map_err(|e| format!("the management cluster: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_kind_and_pod_names() {
        for _ in 0..50 {
            let name = new_name(12).unwrap();
            crate::kind::validate_name(&name).unwrap();
            assert!(name.starts_with("kl12-"));
            assert!(name.len() <= 63);
        }
    }

    #[test]
    fn elapsed_reads_as_words() {
        assert_eq!(elapsed(5), "5 s");
        assert_eq!(elapsed(75), "1 min 15 s");
        assert_eq!(elapsed(-3), "0 s");
    }
}
