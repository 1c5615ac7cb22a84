//! Instructor-led workshops: created by the instructor, joined by learners with a code, each
//! learner given a cluster of their own by the workshop's environment provider, and the
//! roster of who is where.

use std::path::PathBuf;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::checks::{Status as CriterionStatus, Verdict};
use crate::cluster::KubeconfigSource;
use crate::store::{LearnerId, MemberRow, NewWorkshop, WorkshopRow};

use super::{Service, ServiceError, ServiceResult};

mod class_exam;

pub use class_exam::{ClassExamRow, results_csv};

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
    /// The provider's name for it (a kubeconfig file), once assigned.
    pub name: Option<String>,
    /// `ready`, or `waiting` for a free one.
    pub state: &'static str,
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
}

/// What a learner gets from joining.
#[derive(Debug, Clone, Serialize)]
pub struct Joined {
    /// The workshop's title.
    pub workshop: String,
    /// `ready` (a cluster is theirs) or `waiting` (none free yet).
    pub status: &'static str,
    /// Their cluster's name, when ready.
    pub cluster: Option<String>,
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
        }
    }

    /// Checks that every cluster the provider offers is usable (a kubeconfig with a current
    /// context), naming the first that is not.
    fn validate(&self) -> ServiceResult<usize> {
        let names = self.clusters()?;
        if names.is_empty() {
            return Err(ServiceError::Invalid(
                "the kubeconfig folder holds no files: put one kubeconfig per learner in it".into(),
            ));
        }
        match self {
            Provider::Kubeconfigs { dir } => {
                for name in &names {
                    let source = KubeconfigSource::file(dir.join(name));
                    let (_, current) = source.contexts().map_err(|e| {
                        ServiceError::Invalid(format!("{name} is not a usable kubeconfig: {e}"))
                    })?;
                    if current.is_none() {
                        return Err(ServiceError::Invalid(format!(
                            "{name} has no current-context: set one with `kubectl config use-context`"
                        )));
                    }
                }
            }
        }
        Ok(names.len())
    }
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
        spec.provider.validate()?;
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

    /// Deletes a workshop; its learners keep their progress.
    pub async fn delete_workshop(&self, id: i64) -> ServiceResult<()> {
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
        let member = self
            .0
            .store
            .join_workshop(workshop.id, learner, &name, &clusters, now)
            .await?;
        self.publish(ClassEvent::Joined {
            workshop: workshop.id,
        });
        Ok(Joined {
            workshop: workshop.title,
            status: if member.cluster.is_some() {
                "ready"
            } else {
                "waiting"
            },
            cluster: member.cluster,
        })
    }

    /// A workshop with every learner's cluster and latest verdict per task.
    pub async fn roster(&self, id: i64) -> ServiceResult<Roster> {
        let workshop = self.workshop(id).await?;
        let members = self.0.store.workshop_members(id).await?;
        let mut learners = Vec::with_capacity(members.len());
        for member in members {
            learners.push(self.roster_row(&workshop, member).await?);
        }
        Ok(Roster { workshop, learners })
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
            cluster: MemberCluster {
                state: if member.cluster.is_some() {
                    "ready"
                } else {
                    "waiting"
                },
                name: member.cluster,
            },
            tasks,
        })
    }
}

impl Service {
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
        match serde_json::from_str::<Provider>(&row.provider) {
            Ok(Provider::Kubeconfigs { dir }) => {
                Ok(Some(KubeconfigSource::file(dir.join(cluster))))
            }
            Err(e) => Err(crate::cluster::ClusterError::Protocol(format!(
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
    /// Per roster task: the task and their latest check, if any.
    pub tasks: Vec<(String, Option<crate::store::CheckRun>)>,
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
        Ok(MemberDetail {
            display_name: member.display_name,
            cluster: member.cluster,
            tasks,
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
    async fn member_by_row(&self, id: i64, row: &str) -> ServiceResult<(MemberRow, LearnerId)> {
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
