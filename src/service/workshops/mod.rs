//! Instructor-led workshops: created by the instructor, joined by learners with a code, each
//! learner given a cluster of their own by the workshop's environment provider, and the
//! roster of who is where.

use std::path::PathBuf;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::checks::{Status as CriterionStatus, Verdict};
use crate::cluster::KubeconfigSource;
use crate::store::{EnvState, LearnerId, MemberRow, NewWorkshop, WorkshopRow};

use super::{Service, ServiceError, ServiceResult};

mod class_exam;
mod provision;

pub use class_exam::{ClassExamRow, results_csv};
pub(crate) use provision::elapsed;
pub use provision::{DEFAULT_IMAGE, Provisioning};

/// Letters and digits that cannot be mistaken for each other on a projector.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// Characters in a join code.
const CODE_LENGTH: usize = 6;
/// The longest workshop title.
const MAX_TITLE_CHARS: usize = 100;

/// Where each learner's cluster comes from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Provider {
    /// A folder of kubeconfig files the instructor made: every regular file is one cluster
    /// (its current context), one per learner.
    Kubeconfigs {
        /// The folder.
        dir: PathBuf,
    },
    /// One kind cluster per learner on this host, made by kubelab as `kubelab cluster create`
    /// makes the lesson's cluster.
    Kind {
        /// Ready clusters kept unassigned, so a learner who joins gets one at once.
        #[serde(default = "default_warm")]
        warm: u32,
        /// Clusters booting at once (a kind boot is CPU-bound).
        #[serde(default = "default_parallel")]
        parallel: u32,
        /// Most clusters the workshop may have (default: its capacity, else 40).
        #[serde(default)]
        max: Option<u32>,
        /// Worker nodes per cluster.
        #[serde(default = "default_workers")]
        workers: u32,
    },
    /// One environment Pod (Docker and kind inside) per learner on a management cluster.
    Kubernetes {
        /// Kubeconfig of the management cluster (default: kubelab's own).
        #[serde(default)]
        kubeconfig: Option<PathBuf>,
        /// Its context (default: the kubeconfig's current one).
        #[serde(default)]
        context: Option<String>,
        /// The environment image (see deploy/environment/Dockerfile).
        #[serde(default = "default_image")]
        image: String,
        /// Nodes the environments may run on, by label.
        #[serde(default)]
        node_selector: std::collections::BTreeMap<String, String>,
        /// CPU each environment requests.
        #[serde(default = "default_cpu")]
        cpu: String,
        /// Memory each environment requests.
        #[serde(default = "default_memory")]
        memory: String,
        /// Ready environments kept unassigned.
        #[serde(default = "default_warm")]
        warm: u32,
        /// Environments booting at once.
        #[serde(default = "default_pod_parallel")]
        parallel: u32,
        /// Most environments the workshop may have (default: its capacity, else 40).
        #[serde(default)]
        max: Option<u32>,
        /// Worker nodes of each kind cluster.
        #[serde(default = "default_workers")]
        workers: u32,
        /// Seconds an environment may take to become ready before it counts as failed.
        #[serde(default = "default_boot_timeout")]
        boot_timeout: u64,
    },
}

fn default_warm() -> u32 {
    2
}
fn default_parallel() -> u32 {
    2
}
fn default_pod_parallel() -> u32 {
    10
}
fn default_workers() -> u32 {
    1
}
fn default_image() -> String {
    provision::DEFAULT_IMAGE.to_string()
}
fn default_cpu() -> String {
    "2".to_string()
}
fn default_memory() -> String {
    "3Gi".to_string()
}
fn default_boot_timeout() -> u64 {
    600
}

/// What an instructor asks for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkshopSpec {
    /// Title shown to the class.
    pub title: String,
    /// The lesson it teaches.
    pub lesson: String,
    /// The tasks on the roster (default: the lesson's).
    #[serde(default)]
    pub tasks: Vec<String>,
    /// The environment provider.
    pub provider: Provider,
    /// Most members, if limited.
    #[serde(default)]
    pub capacity: Option<u32>,
    /// When it ends (Unix seconds), if set.
    #[serde(default)]
    pub ends_at: Option<i64>,
}

/// A workshop as the instructor and the class see it.
#[derive(Debug, Clone, Serialize)]
pub struct Workshop {
    /// Id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Join code.
    pub code: String,
    /// Lesson id.
    pub lesson: String,
    /// Task ids on the roster.
    pub tasks: Vec<String>,
    /// The provider.
    pub provider: Provider,
    /// Most members.
    pub capacity: Option<i64>,
    /// End time.
    pub ends_at: Option<i64>,
}

/// One cell of the roster: a learner's latest verdict on a task.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    /// Task id.
    pub task: String,
    /// `passed`, `failed`, `pending`, `error` or `not-started`.
    pub status: &'static str,
    /// Points of the latest check.
    pub score: Option<u32>,
    /// Points available.
    pub max_score: u32,
}

/// A learner's cluster in a workshop.
#[derive(Debug, Clone, Serialize)]
pub struct MemberCluster {
    /// The provider's name for it (a kubeconfig file, a kind cluster, an environment Pod),
    /// once assigned.
    pub name: Option<String>,
    /// `ready`, `waiting` for a free one, `provisioning`, `failed`, or `replacing`.
    pub state: &'static str,
    /// While provisioning: what is happening and for how long.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// When failed: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Something an instructor's live roster shows without a reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClassEvent {
    /// A verdict was stored for a learner's task.
    Verdict {
        /// The learner's id.
        learner: String,
        /// The task.
        task: String,
    },
    /// Someone joined a workshop.
    Joined {
        /// The workshop's id.
        workshop: i64,
    },
    /// A learner's exam attempt started its clock or was graded.
    Exam {
        /// The learner's id.
        learner: String,
    },
    /// The instructor opened the next hint of a task for the class.
    Hint {
        /// The workshop's id.
        workshop: i64,
        /// The task.
        task: String,
        /// How many hints are open now (1-based count).
        revealed: i64,
    },
    /// The instructor sent a message.
    Message {
        /// The workshop's id.
        workshop: i64,
        /// One learner's id, or everyone.
        learner: Option<String>,
        /// What it says.
        text: String,
    },
}

/// A learner's own view of their workshop.
#[derive(Debug, Clone, Serialize)]
pub struct MyWorkshop {
    /// The workshop's id.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// The name they joined with.
    pub display_name: String,
    /// Where their cluster is.
    pub cluster: MemberCluster,
}

/// A roster cell that changed, addressed by its row key and task.
#[derive(Debug, Clone, Serialize)]
pub struct CellUpdate {
    /// The row's key.
    pub row: String,
    /// The new cell.
    #[serde(flatten)]
    pub cell: Cell,
}

/// A stable key for a learner's roster row that does not reveal their id (which is their
/// cookie): a short hash.
fn row_key(learner: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(format!("roster:{learner}").as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One learner on the roster.
#[derive(Debug, Clone, Serialize)]
pub struct RosterRow {
    /// A stable key for the row (not the learner's id).
    pub key: String,
    /// The name they joined with.
    pub display_name: String,
    /// Their cluster.
    pub cluster: MemberCluster,
    /// Their latest verdict per task, in roster order.
    pub tasks: Vec<Cell>,
}

/// A workshop with everyone in it.
#[derive(Debug, Clone, Serialize)]
pub struct Roster {
    /// The workshop.
    #[serde(flatten)]
    pub workshop: Workshop,
    /// Learners, in joining order.
    pub learners: Vec<RosterRow>,
    /// The clusters kubelab made for it (kind, kubernetes), oldest first; empty for a
    /// kubeconfig folder.
    pub clusters: Vec<PoolCluster>,
}

/// One cluster kubelab made for a workshop, as the instructor sees it.
#[derive(Debug, Clone, Serialize)]
pub struct PoolCluster {
    /// Its name.
    pub name: String,
    /// `provisioning`, `ready`, `failed` or `deleting`.
    pub state: crate::store::EnvState,
    /// What provisioning is doing, or did last.
    pub step: String,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Seconds since making it began.
    pub age_seconds: i64,
    /// The learner who has it (display name), if anyone.
    pub learner: Option<String>,
}

/// What a learner gets from joining.
#[derive(Debug, Clone, Serialize)]
pub struct Joined {
    /// The workshop's title.
    pub workshop: String,
    /// `ready` (a cluster is theirs), `waiting` (none free yet), `provisioning` (theirs is
    /// being made) or `failed`.
    pub status: &'static str,
    /// Their cluster's name, once assigned.
    pub cluster: Option<String>,
    /// While provisioning: what is happening.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
}

impl Provider {
    /// The clusters the provider offers, by name, in a stable order.
    fn clusters(&self) -> ServiceResult<Vec<String>> {
        match self {
            Provider::Kubeconfigs { dir } => {
                let entries = std::fs::read_dir(dir).map_err(|e| {
                    ServiceError::Invalid(format!(
                        "cannot read the kubeconfig folder {}: {e}",
                        dir.display()
                    ))
                })?;
                let mut names: Vec<String> = entries
                    .filter_map(Result::ok)
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter(|n| !n.starts_with('.'))
                    .collect();
                names.sort();
                Ok(names)
            }
            // kubelab makes these clusters; they are assigned from the store.
            Provider::Kind { .. } | Provider::Kubernetes { .. } => Ok(Vec::new()),
        }
    }

    /// Checks that the provider can give clusters: every kubeconfig usable (a current
    /// context), the kind programs and Docker there, the management cluster reachable.
    async fn validate(&self) -> ServiceResult<()> {
        let invalid = |what: String| ServiceError::Invalid(what);
        match self {
            Provider::Kubeconfigs { dir } => {
                let names = self.clusters()?;
                if names.is_empty() {
                    return Err(invalid(
                        "the kubeconfig folder holds no files: put one kubeconfig per learner in it"
                            .into(),
                    ));
                }
                for name in &names {
                    let source = KubeconfigSource::file(dir.join(name));
                    let (_, current) = source
                        .contexts()
                        .map_err(|e| invalid(format!("{name} is not a usable kubeconfig: {e}")))?;
                    if current.is_none() {
                        return Err(invalid(format!(
                            "{name} has no current-context: set one with `kubectl config use-context`"
                        )));
                    }
                }
            }
            Provider::Kind {
                parallel, workers, ..
            } => {
                pool_limits(*parallel, *workers)?;
                tokio::task::spawn_blocking(crate::kind::clusters)
                    .await
                    .map_err(|e| invalid(format!("the kind check stopped: {e}")))?
                    .map_err(|e| invalid(format!("the kind provider cannot work here: {e}")))?;
            }
            Provider::Kubernetes {
                parallel,
                workers,
                boot_timeout,
                ..
            } => {
                pool_limits(*parallel, *workers)?;
                if *boot_timeout < 5 {
                    return Err(invalid("boot_timeout is at least 5 seconds".into()));
                }
                let conn = provision::management(self).await.map_err(invalid)?;
                crate::cluster::environments::list(&conn, "default")
                    .await
                    .map_err(|e| invalid(format!("the management cluster cannot be used: {e}")))?;
            }
        }
        Ok(())
    }
}

/// Refuses pool settings no host could honour.
fn pool_limits(parallel: u32, workers: u32) -> ServiceResult<()> {
    if !(1..=20).contains(&parallel) {
        return Err(ServiceError::Invalid(
            "parallel (boots at once) is 1 to 20".into(),
        ));
    }
    if workers > 4 {
        return Err(ServiceError::Invalid(
            "workers is 0 to 4 per learner cluster".into(),
        ));
    }
    Ok(())
}

fn workshop_of(row: WorkshopRow) -> ServiceResult<Workshop> {
    let bad =
        |what: &str| ServiceError::Invalid(format!("workshop {} has a damaged {what}", row.id));
    Ok(Workshop {
        id: row.id,
        tasks: serde_json::from_str(&row.tasks).map_err(|_| bad("task list"))?,
        provider: serde_json::from_str(&row.provider).map_err(|_| bad("provider"))?,
        title: row.title,
        code: row.code,
        lesson: row.lesson,
        capacity: row.capacity,
        ends_at: row.ends_at,
    })
}

fn new_code() -> ServiceResult<String> {
    let mut bytes = [0u8; CODE_LENGTH];
    getrandom::fill(&mut bytes)
        .map_err(|e| ServiceError::Invalid(format!("no randomness for a join code: {e}")))?;
    Ok(bytes
        .iter()
        .map(|b| CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()] as char)
        .collect())
}

/// The cell for a learner's latest verdict on a task.
fn cell(task: &str, max: u32, verdict: Option<&Verdict>) -> Cell {
    let status = match verdict {
        None => "not-started",
        Some(v) if v.passed => "passed",
        Some(v)
            if v.criteria
                .iter()
                .any(|c| c.status == CriterionStatus::Error) =>
        {
            "error"
        }
        Some(v)
            if v.criteria
                .iter()
                .any(|c| c.status == CriterionStatus::Pending) =>
        {
            "pending"
        }
        Some(_) => "failed",
    };
    Cell {
        task: task.to_string(),
        status,
        score: verdict.map(|v| v.score),
        max_score: verdict.map_or(max, |v| v.max_score),
    }
}

impl Service {
    /// Creates a workshop after checking its lesson, tasks and provider.
    pub async fn create_workshop(&self, spec: WorkshopSpec) -> ServiceResult<Workshop> {
        let title = spec.title.trim();
        if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
            return Err(ServiceError::Invalid(format!(
                "a workshop needs a title of 1 to {MAX_TITLE_CHARS} characters"
            )));
        }
        let lesson = self.lesson(&spec.lesson)?;
        let tasks = if spec.tasks.is_empty() {
            lesson.tasks.clone()
        } else {
            spec.tasks.clone()
        };
        for task in &tasks {
            if !lesson.tasks.contains(task) {
                return Err(ServiceError::Invalid(format!(
                    "task `{task}` is not in lesson `{}`; its tasks are: {}",
                    lesson.id,
                    lesson.tasks.join(", ")
                )));
            }
        }
        spec.provider.validate().await?;
        let tasks_json =
            serde_json::to_string(&tasks).map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let provider_json = serde_json::to_string(&spec.provider)
            .map_err(|e| ServiceError::Invalid(e.to_string()))?;
        for _ in 0..8 {
            let code = new_code()?;
            let new = NewWorkshop {
                title,
                code: &code,
                lesson: &lesson.id,
                tasks: &tasks_json,
                provider: &provider_json,
                capacity: spec.capacity.map(i64::from),
                ends_at: spec.ends_at,
            };
            if let Some(id) = self.0.store.create_workshop(&new, self.now()).await? {
                return self.workshop(id).await;
            }
        }
        Err(ServiceError::Invalid(
            "could not find a free join code; try again".into(),
        ))
    }

    /// One workshop.
    pub async fn workshop(&self, id: i64) -> ServiceResult<Workshop> {
        let row = self
            .0
            .store
            .workshop(id)
            .await?
            .ok_or_else(|| ServiceError::not_found("workshop", &id.to_string()))?;
        workshop_of(row)
    }

    /// Every workshop, newest first.
    pub async fn workshops(&self) -> ServiceResult<Vec<Workshop>> {
        self.0
            .store
            .workshops()
            .await?
            .into_iter()
            .map(workshop_of)
            .collect()
    }

    /// Deletes a workshop; its learners keep their progress. Its clusters (kind, kubernetes)
    /// are marked for deletion: a running server deletes them ([`Service::kick_provisioning`]),
    /// the CLI with [`Service::delete_pending_environments`].
    pub async fn delete_workshop(&self, id: i64) -> ServiceResult<()> {
        let provisioned = self
            .workshop(id)
            .await
            .is_ok_and(|w| w.provider.pool().is_some());
        if provisioned {
            // Its clusters stay recorded as `deleting` until they are really gone.
            self.0.store.recycle_environments(id, self.now()).await?;
        }
        if self.0.store.delete_workshop(id).await? {
            Ok(())
        } else {
            Err(ServiceError::not_found("workshop", &id.to_string()))
        }
    }

    /// Joins the learner to the workshop with `code` under `display_name`, giving them a
    /// cluster of their own when one is free. Unknown or ended workshops are one answer,
    /// and wrong codes are rate-limited server-wide.
    pub async fn join(
        &self,
        learner: &LearnerId,
        code: &str,
        display_name: &str,
    ) -> ServiceResult<Joined> {
        let name = super::learner::clean_name(display_name)?
            .ok_or_else(|| ServiceError::Invalid("give the name the instructor will see".into()))?;
        let code = code.trim().to_ascii_uppercase();
        let now = self.now();
        let found = self.0.store.workshop_by_code(&code).await?;
        let Some(row) = found.filter(|w| w.ends_at.is_none_or(|end| end > now)) else {
            if !self.0.failed_joins.take(Instant::now()) {
                return Err(ServiceError::TooManyJoins);
            }
            return Err(ServiceError::not_found("workshop", &code));
        };
        let workshop = workshop_of(row)?;
        let members = self.0.store.workshop_members(workshop.id).await?;
        let already = members.iter().any(|m| m.learner_id == learner.as_str());
        if let Some(cap) = workshop.capacity
            && !already
            && i64::try_from(members.len()).unwrap_or(i64::MAX) >= cap
        {
            return Err(ServiceError::Invalid(format!(
                "{} is full ({cap} learners); ask the instructor",
                workshop.title
            )));
        }
        let clusters = workshop.provider.clusters()?;
        let mut member = self
            .0
            .store
            .join_workshop(workshop.id, learner, &name, &clusters, now)
            .await?;
        if let Some(pool) = workshop.provider.pool() {
            // A ready cluster from the warm pool if there is one, else one being made (started
            // now if need be); the pool refills in the background.
            if member.cluster.is_none() {
                member.cluster = self.0.store.take_environment(workshop.id, learner).await?;
            }
            if member.cluster.is_none() {
                self.fill_pool(&workshop, pool).await?;
                member.cluster = self
                    .0
                    .store
                    .membership(learner)
                    .await?
                    .and_then(|m| m.cluster);
            }
            self.kick_provisioning();
        }
        self.publish(ClassEvent::Joined {
            workshop: workshop.id,
        });
        let cluster = self.member_cluster_state(member.cluster).await?;
        Ok(Joined {
            workshop: workshop.title,
            status: cluster.state,
            cluster: cluster.name,
            step: cluster.step,
        })
    }

    /// A workshop with every learner's cluster and latest verdict per task.
    pub async fn roster(&self, id: i64) -> ServiceResult<Roster> {
        let workshop = self.workshop(id).await?;
        let members = self.0.store.workshop_members(id).await?;
        let now = self.now();
        let clusters = self
            .0
            .store
            .environments(id)
            .await?
            .into_iter()
            .map(|env| PoolCluster {
                learner: members
                    .iter()
                    .find(|m| m.cluster.as_deref() == Some(env.name.as_str()))
                    .map(|m| m.display_name.clone()),
                age_seconds: now - env.started_at,
                name: env.name,
                state: env.state,
                step: env.step,
                error: env.error,
            })
            .collect();
        let mut learners = Vec::with_capacity(members.len());
        for member in members {
            learners.push(self.roster_row(&workshop, member).await?);
        }
        Ok(Roster {
            workshop,
            learners,
            clusters,
        })
    }

    async fn roster_row(&self, workshop: &Workshop, member: MemberRow) -> ServiceResult<RosterRow> {
        let learner = LearnerId::parse(&member.learner_id)
            .ok_or_else(|| ServiceError::Invalid("a member has a malformed id".into()))?;
        let mut tasks = Vec::with_capacity(workshop.tasks.len());
        for id in &workshop.tasks {
            let max = self.0.catalogue.task(id).map_or(0, |t| t.max_points());
            let latest = self.0.store.latest_check(&learner, id).await?;
            tasks.push(cell(id, max, latest.as_ref().map(|r| &r.verdict)));
        }
        Ok(RosterRow {
            key: row_key(&member.learner_id),
            display_name: member.display_name,
            cluster: self.member_cluster_state(member.cluster).await?,
            tasks,
        })
    }
}

impl Service {
    /// Where a member's cluster is, from its name (none: they wait for one).
    pub(super) async fn member_cluster_state(
        &self,
        cluster: Option<String>,
    ) -> ServiceResult<MemberCluster> {
        let Some(name) = cluster else {
            return Ok(MemberCluster {
                name: None,
                state: "waiting",
                step: None,
                error: None,
            });
        };
        let env = self.0.store.environment(&name).await?;
        let (state, step, error) = match env {
            // Not made by kubelab (a kubeconfigs folder): there when assigned.
            None => ("ready", None, None),
            Some(env) => match env.state {
                EnvState::Ready => ("ready", None, None),
                EnvState::Provisioning => (
                    "provisioning",
                    Some(format!(
                        "{} ({})",
                        env.step,
                        provision::elapsed(self.now() - env.started_at)
                    )),
                    None,
                ),
                EnvState::Failed => ("failed", None, env.error),
                EnvState::Deleting => ("replacing", None, None),
            },
        };
        Ok(MemberCluster {
            name: Some(name),
            state,
            step,
            error,
        })
    }

    /// Opens an instructor session for a cookie value (only its hash is stored).
    pub async fn open_instructor_session(&self, cookie: &str) -> ServiceResult<()> {
        Ok(self
            .0
            .store
            .add_instructor_session(&session_hash(cookie), self.now())
            .await?)
    }

    /// Whether a cookie value is a live instructor session.
    pub async fn instructor_session(&self, cookie: &str) -> ServiceResult<bool> {
        Ok(self
            .0
            .store
            .instructor_session_valid(&session_hash(cookie))
            .await?)
    }

    /// Ends an instructor session for good.
    pub async fn close_instructor_session(&self, cookie: &str) -> ServiceResult<()> {
        Ok(self
            .0
            .store
            .revoke_instructor_session(&session_hash(cookie), self.now())
            .await?)
    }
}

/// The stored form of a session cookie: its SHA-256, so a copy of the database signs no one in.
fn session_hash(cookie: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(cookie.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Service {
    /// A workshop member's own cluster (its kubeconfig), if the learner has one.
    pub(super) async fn member_cluster(
        &self,
        learner: &LearnerId,
    ) -> Result<Option<KubeconfigSource>, crate::cluster::ClusterError> {
        let unreadable = |e: crate::store::StoreError| {
            crate::cluster::ClusterError::Protocol(format!(
                "cannot read the workshop membership: {e}"
            ))
        };
        let Some(member) = self.0.store.membership(learner).await.map_err(unreadable)? else {
            return Ok(None);
        };
        let Some(cluster) = member.cluster else {
            return Err(crate::cluster::ClusterError::Protocol(
                "every cluster of your workshop is taken: you wait for a free one (the instructor sees it)".into(),
            ));
        };
        let Some(row) = self
            .0
            .store
            .workshop(member.workshop_id)
            .await
            .map_err(unreadable)?
        else {
            return Ok(None);
        };
        let protocol = crate::cluster::ClusterError::Protocol;
        match serde_json::from_str::<Provider>(&row.provider) {
            Ok(Provider::Kubeconfigs { dir }) => {
                Ok(Some(KubeconfigSource::file(dir.join(cluster))))
            }
            Ok(Provider::Kind { .. } | Provider::Kubernetes { .. }) => {
                let env = self
                    .0
                    .store
                    .environment(&cluster)
                    .await
                    .map_err(unreadable)?;
                match env {
                    Some(env) if env.state == EnvState::Ready => match env.kubeconfig {
                        Some(path) => Ok(Some(KubeconfigSource::file(PathBuf::from(path)))),
                        None => Err(protocol("your cluster has no kubeconfig yet".into())),
                    },
                    Some(env) if env.state == EnvState::Provisioning => Err(protocol(format!(
                        "your cluster is starting: {} ({} so far); checks run once it is ready",
                        env.step,
                        provision::elapsed(self.now() - env.started_at)
                    ))),
                    Some(env) if env.state == EnvState::Failed => Err(protocol(format!(
                        "your cluster could not be made: {}. Press \"Try again\" on the workshop bar, or ask the instructor",
                        env.error.unwrap_or_default()
                    ))),
                    _ => Err(protocol(
                        "your cluster is being replaced: a new one is on its way".into(),
                    )),
                }
            }
            Err(e) => Err(protocol(format!(
                "workshop {} has a damaged provider: {e}",
                row.id
            ))),
        }
    }

    /// Refuses what a workshop member cannot do on their own cluster yet.
    pub(super) async fn refuse_for_members(
        &self,
        learner: &LearnerId,
        what: &str,
    ) -> ServiceResult<()> {
        match self.0.store.membership(learner).await? {
            Some(_) => Err(ServiceError::Invalid(format!(
                "in a workshop, {what} is not available: your checks, setups and practice run on the cluster the workshop gave you"
            ))),
            None => Ok(()),
        }
    }
}

impl Service {
    /// Tells live rosters about a change (nobody listening is fine).
    pub(super) fn publish(&self, event: ClassEvent) {
        let _ = self.0.class_events.send(event);
    }

    /// Follows class events (for an instructor's live roster).
    pub fn class_events(&self) -> tokio::sync::broadcast::Receiver<ClassEvent> {
        self.0.class_events.subscribe()
    }

    /// The roster cell a verdict event changes in workshop `id`, if the learner is a member
    /// and the task on its roster.
    pub async fn cell_update(
        &self,
        id: i64,
        learner: &str,
        task: &str,
    ) -> ServiceResult<Option<CellUpdate>> {
        let workshop = self.workshop(id).await?;
        if !workshop.tasks.iter().any(|t| t == task) {
            return Ok(None);
        }
        let Some(learner_id) = LearnerId::parse(learner) else {
            return Ok(None);
        };
        match self.0.store.membership(&learner_id).await? {
            Some(m) if m.workshop_id == id => {}
            _ => return Ok(None),
        }
        let max = self.0.catalogue.task(task).map_or(0, |t| t.max_points());
        let latest = self.0.store.latest_check(&learner_id, task).await?;
        Ok(Some(CellUpdate {
            row: row_key(learner),
            cell: cell(task, max, latest.as_ref().map(|r| &r.verdict)),
        }))
    }
}

impl Service {
    /// The instructor resets one learner's task on that learner's own cluster (the row key
    /// names the learner, as the roster shows it).
    pub async fn reset_member_task(
        &self,
        workshop: i64,
        row: &str,
        task: &str,
    ) -> ServiceResult<super::Outcome> {
        let ws = self.workshop(workshop).await?;
        if !ws.tasks.iter().any(|t| t == task) {
            return Err(ServiceError::not_found(
                "task on this workshop's roster",
                task,
            ));
        }
        let (_, learner) = self.member_by_row(workshop, row).await?;
        let task = self.task(task)?;
        let me = self.learner(&learner).await?;
        let outcome = self
            .run_on(
                self.connection(&learner, &me).await,
                task,
                super::Action::Reset,
            )
            .await;
        tracing::info!(workshop, task = %task.id, ok = outcome.ok, "instructor reset a learner's task");
        Ok(outcome)
    }
}

/// The longest instructor message.
const MAX_MESSAGE_CHARS: usize = 300;

impl Service {
    /// Sends a message to a workshop's learners (`to`: one learner by roster row key); shown
    /// at the top of their pages, live on task pages.
    pub async fn send_message(&self, id: i64, to: Option<&str>, text: &str) -> ServiceResult<()> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MAX_MESSAGE_CHARS {
            return Err(ServiceError::Invalid(format!(
                "a message has 1 to {MAX_MESSAGE_CHARS} characters"
            )));
        }
        self.workshop(id).await?;
        let learner = match to {
            None => None,
            Some(row) => Some(self.member_by_row(id, row).await?.1),
        };
        self.0
            .store
            .add_workshop_message(id, learner.as_ref(), text, self.now())
            .await?;
        self.publish(ClassEvent::Message {
            workshop: id,
            learner: learner.map(|l| l.as_str().to_string()),
            text: text.to_string(),
        });
        Ok(())
    }

    /// The learner's workshop and where their cluster is, if they are in one.
    pub async fn my_workshop(&self, learner: &LearnerId) -> ServiceResult<Option<MyWorkshop>> {
        let Some(member) = self.0.store.membership(learner).await? else {
            return Ok(None);
        };
        let workshop = self.workshop(member.workshop_id).await?;
        Ok(Some(MyWorkshop {
            id: workshop.id,
            title: workshop.title,
            display_name: member.display_name,
            cluster: self.member_cluster_state(member.cluster).await?,
        }))
    }

    /// The workshop the learner is in, if any.
    pub async fn workshop_of(&self, learner: &LearnerId) -> ServiceResult<Option<i64>> {
        Ok(self
            .0
            .store
            .membership(learner)
            .await?
            .map(|m| m.workshop_id))
    }
}

impl Service {
    /// Opens the next hint of a task for the whole class: open on members' task pages, live on
    /// the ones that are open. Answers how many are open.
    pub async fn reveal_hint(&self, id: i64, task: &str) -> ServiceResult<i64> {
        let workshop = self.workshop(id).await?;
        if !workshop.tasks.iter().any(|t| t == task) {
            return Err(ServiceError::not_found(
                "task on this workshop's roster",
                task,
            ));
        }
        let total = i64::try_from(self.task(task)?.hints_html.len()).unwrap_or(0);
        if total == 0 {
            return Err(ServiceError::Invalid(format!("task `{task}` has no hints")));
        }
        let revealed = self.0.store.reveal_hint(id, task, total).await?;
        self.publish(ClassEvent::Hint {
            workshop: id,
            task: task.to_string(),
            revealed,
        });
        Ok(revealed)
    }

    /// How many hints of a task the learner's workshop opened for everyone (0 outside one).
    pub async fn hints_open(&self, learner: &LearnerId, task: &str) -> ServiceResult<i64> {
        match self.0.store.membership(learner).await? {
            Some(m) => Ok(self.0.store.hints_revealed(m.workshop_id, task).await?),
            None => Ok(0),
        }
    }
}

/// One learner of a workshop, as the instructor looks at them.
#[derive(Debug, Clone)]
pub struct MemberDetail {
    /// The name they joined with.
    pub display_name: String,
    /// Their cluster, once assigned.
    pub cluster: Option<String>,
    /// Where that cluster is.
    pub cluster_state: MemberCluster,
    /// Whether kubelab makes this workshop's clusters (so it can make a new one).
    pub provisioned: bool,
    /// Per roster task: the task and their latest check, if any.
    pub tasks: Vec<(String, Option<crate::store::CheckRun>)>,
    /// Their latest attempt at every exam they sat.
    pub exams: Vec<MemberExam>,
}

/// A member's latest attempt at one exam, as the instructor sees it.
#[derive(Debug, Clone, Serialize)]
pub struct MemberExam {
    /// The exam's id.
    pub exam: String,
    /// Its title.
    pub title: String,
    /// The attempt.
    pub attempt: i64,
    /// `preparing`, `running`, `grading` or `graded`.
    pub status: &'static str,
    /// Score and maximum, once graded.
    pub score: Option<(u32, u32)>,
    /// Whether every criterion was judged, once graded.
    pub complete: Option<bool>,
}

impl Service {
    /// A member's cluster and latest check (with evidence) of every roster task.
    pub async fn member_detail(&self, id: i64, row: &str) -> ServiceResult<MemberDetail> {
        let workshop = self.workshop(id).await?;
        let (member, learner) = self.member_by_row(id, row).await?;
        let mut tasks = Vec::new();
        for task in &workshop.tasks {
            tasks.push((
                task.clone(),
                self.0.store.latest_check(&learner, task).await?,
            ));
        }
        let mut exams = Vec::new();
        for exam in &self.0.catalogue.exams {
            let Some(latest) = self.latest_attempt(&learner, &exam.id).await? else {
                continue;
            };
            let report = latest.report.as_ref();
            exams.push(MemberExam {
                exam: exam.id.clone(),
                title: exam.title.clone(),
                attempt: latest.id,
                status: latest.status.public(),
                score: report.map(|r| (r.score.score, r.score.max)),
                complete: report.map(super::ExamReport::complete),
            });
        }
        Ok(MemberDetail {
            display_name: member.display_name,
            cluster_state: self.member_cluster_state(member.cluster.clone()).await?,
            cluster: member.cluster,
            provisioned: workshop.provider.pool().is_some(),
            tasks,
            exams,
        })
    }
}

impl Service {
    /// Takes a learner out of their workshop (they leave, or the instructor removes them): their
    /// cluster goes to whoever has waited longest; their progress stays theirs.
    pub async fn leave_workshop(&self, learner: &LearnerId) -> ServiceResult<()> {
        let member = self
            .0
            .store
            .membership(learner)
            .await?
            .ok_or_else(|| ServiceError::Invalid("you are not in a workshop".into()))?;
        self.remove_member_id(member.workshop_id, learner).await
    }

    /// The instructor removes one learner (by roster row key).
    pub async fn remove_member(&self, id: i64, row: &str) -> ServiceResult<()> {
        let (_, learner) = self.member_by_row(id, row).await?;
        self.remove_member_id(id, &learner).await
    }

    async fn remove_member_id(&self, id: i64, learner: &LearnerId) -> ServiceResult<()> {
        let workshop = self.workshop(id).await?;
        if workshop.provider.pool().is_some() {
            // A used cluster is never handed on: it is deleted and the pool makes a fresh one.
            if let Some(cluster) = self
                .0
                .store
                .membership(learner)
                .await?
                .filter(|m| m.workshop_id == id)
                .and_then(|m| m.cluster)
            {
                self.0
                    .store
                    .recycle_environment(&cluster, self.now())
                    .await?;
            }
            self.kick_provisioning();
        }
        if self.0.store.remove_member(id, learner).await?.is_none() {
            return Err(ServiceError::not_found(
                "learner in this workshop",
                learner.as_str(),
            ));
        }
        // The roster changed shape: live rosters reload.
        self.publish(ClassEvent::Joined { workshop: id });
        Ok(())
    }
}

impl Service {
    /// The instructor recreates one learner's cluster (by roster row key): the old one is
    /// deleted and the learner gets a ready one from the warm pool, or the next one made.
    pub async fn recreate_member_cluster(
        &self,
        id: i64,
        row: &str,
    ) -> ServiceResult<MemberCluster> {
        let (_, learner) = self.member_by_row(id, row).await?;
        self.recreate_cluster(id, &learner).await
    }

    /// A learner whose cluster could not be made asks for a new one.
    pub async fn retry_my_cluster(&self, learner: &LearnerId) -> ServiceResult<MemberCluster> {
        let member = self
            .0
            .store
            .membership(learner)
            .await?
            .ok_or_else(|| ServiceError::Invalid("you are not in a workshop".into()))?;
        let state = self.member_cluster_state(member.cluster).await?;
        if state.state != "failed" {
            return Err(ServiceError::Invalid(format!(
                "your cluster is {}: only a cluster that could not be made is tried again",
                state.state
            )));
        }
        self.recreate_cluster(member.workshop_id, learner).await
    }

    async fn recreate_cluster(&self, id: i64, learner: &LearnerId) -> ServiceResult<MemberCluster> {
        let workshop = self.workshop(id).await?;
        if workshop.provider.pool().is_none() {
            return Err(ServiceError::Invalid(
                "this workshop's clusters come from the instructor's kubeconfig folder: kubelab cannot make a new one (reset the learner's tasks instead)".into(),
            ));
        }
        let member = self
            .0
            .store
            .membership(learner)
            .await?
            .filter(|m| m.workshop_id == id)
            .ok_or_else(|| ServiceError::not_found("learner in this workshop", learner.as_str()))?;
        if let Some(cluster) = member.cluster {
            self.0
                .store
                .recycle_environment(&cluster, self.now())
                .await?;
        }
        let taken = self.0.store.take_environment(id, learner).await?;
        self.kick_provisioning();
        self.publish(ClassEvent::Joined { workshop: id });
        tracing::info!(workshop = id, "a learner's cluster is made again");
        self.member_cluster_state(taken).await
    }
}

impl Service {
    /// Whether the learner (by id) is a member of workshop `id`.
    pub async fn is_member_of(&self, id: i64, learner: &str) -> bool {
        let Some(learner) = LearnerId::parse(learner) else {
            return false;
        };
        matches!(self.0.store.membership(&learner).await, Ok(Some(m)) if m.workshop_id == id)
    }
}

impl Service {
    /// A member of workshop `id` by their roster row key, with their learner id.
    pub(in crate::service) async fn member_by_row(
        &self,
        id: i64,
        row: &str,
    ) -> ServiceResult<(MemberRow, LearnerId)> {
        let member = self
            .0
            .store
            .workshop_members(id)
            .await?
            .into_iter()
            .find(|m| row_key(&m.learner_id) == row)
            .ok_or_else(|| ServiceError::not_found("learner in this workshop", row))?;
        let learner = LearnerId::parse(&member.learner_id)
            .ok_or_else(|| ServiceError::Invalid("a member has a malformed id".into()))?;
        Ok((member, learner))
    }
}
