//! The use-cases: everything the pages, the API and the CLI ask kubelab to do, in one place
//! per rule. Below are the store (SQL), the cluster layer (kube-rs) and the pure domains
//! (content, checks, exam); above is the http layer, which only extracts, calls and renders.

mod admission;
pub mod check;
mod cluster;
pub mod diagnose;
mod error;
pub mod exams;
mod learner;
mod live;
mod practice;
pub mod progress;
pub mod selftest;
pub mod steps;
mod study;
mod task;
mod terminal;
mod workshops;

use std::sync::Arc;

use crate::clock::Clock;
use crate::cluster::{ClusterError, Clusters, Connection, StatusCache, WatchHub};
use crate::content::{Catalogue, Exam, Lesson, Task};
use crate::store::{LearnerId, LearnerSnapshot, Store};

pub use cluster::ClusterProgress;
pub use error::ServiceError;
pub use exams::{AttemptView, ExamReport, Preparations};
pub use learner::LearnerProgress;
pub use live::LiveChecks;
pub use practice::PracticeBoard;
pub use steps::{Action, Outcome, SetupOptions};
pub use task::SharedTask;
pub use terminal::{
    DEFAULT_TOOLBOX_IMAGE, Input as TerminalInput, MAX_INPUT_BYTES, Output as TerminalOutput,
    Redeemed, TerminalSettings, TicketError,
};
pub use workshops::{
    ClassEvent, ClassExamRow, DEFAULT_IMAGE, Joined, MemberCluster, MemberExam, MyWorkshop,
    Provider, Roster, Workshop, WorkshopSpec, results_csv,
};

/// What a use-case returns.
pub type ServiceResult<T> = Result<T, ServiceError>;

/// kubelab's use-cases over its content, store and clusters. Cheap to clone.
#[derive(Clone)]
pub struct Service(Arc<Inner>);

struct Inner {
    catalogue: Catalogue,
    store: Store,
    clusters: Arc<Clusters>,
    statuses: Arc<StatusCache>,
    watches: WatchHub,
    steps: SetupOptions,
    preparations: Preparations,
    clock: Clock,
    new_learners: admission::Bucket,
    failed_joins: admission::Bucket,
    /// What instructors' live rosters follow: verdicts stored, learners joining.
    class_events: tokio::sync::broadcast::Sender<workshops::ClassEvent>,
    /// Workshop clusters being made or deleted by this process.
    provisioning: workshops::Provisioning,
    /// Terminal tickets and watchers.
    terminals: terminal::Terminals,
}

impl Service {
    /// Builds the service from loaded content, an open store, the clusters and a clock.
    pub fn new(catalogue: Catalogue, store: Store, clusters: Clusters, clock: Clock) -> Service {
        Service(Arc::new(Inner {
            catalogue,
            store,
            clusters: Arc::new(clusters),
            statuses: Arc::new(StatusCache::default()),
            watches: WatchHub::default(),
            steps: SetupOptions::from_env(),
            preparations: Preparations::default(),
            clock,
            new_learners: admission::Bucket::new_learners(),
            failed_joins: admission::Bucket::wrong_codes(),
            class_events: tokio::sync::broadcast::Sender::new(256),
            provisioning: workshops::Provisioning::default(),
            terminals: terminal::Terminals::default(),
        }))
    }

    /// The validated content.
    pub fn catalogue(&self) -> &Catalogue {
        &self.0.catalogue
    }

    /// The server's clock.
    pub fn clock(&self) -> &Clock {
        &self.0.clock
    }

    /// Shared watchers behind live re-checks (for measurements).
    pub fn watches(&self) -> &WatchHub {
        &self.0.watches
    }

    fn now(&self) -> i64 {
        self.0.clock.now()
    }

    /// Whether the database answers.
    pub async fn healthy(&self) -> ServiceResult<()> {
        Ok(self.0.store.ping().await?)
    }

    /// The learner's name, progress and chosen context.
    pub async fn learner(&self, learner: &LearnerId) -> ServiceResult<Arc<LearnerSnapshot>> {
        Ok(self.0.store.snapshot(learner).await?)
    }

    /// A task by id.
    pub fn task(&self, id: &str) -> ServiceResult<&Task> {
        self.0
            .catalogue
            .task(id)
            .ok_or_else(|| ServiceError::not_found("task", id))
    }

    /// A lesson by id.
    pub fn lesson(&self, id: &str) -> ServiceResult<&Lesson> {
        self.0
            .catalogue
            .lesson(id)
            .ok_or_else(|| ServiceError::not_found("lesson", id))
    }

    /// An exam by id.
    pub fn exam(&self, id: &str) -> ServiceResult<&Exam> {
        self.0
            .catalogue
            .exam(id)
            .ok_or_else(|| ServiceError::not_found("exam", id))
    }

    /// The context a learner's work runs on: their choice while still allowed, else the default.
    pub fn context_of(&self, me: &LearnerSnapshot) -> Result<String, ClusterError> {
        match &me.context {
            Some(context) if self.0.clusters.allows(context) => Ok(context.clone()),
            _ => self.0.clusters.default_context(),
        }
    }

    /// The learner's connection: the one place it is made. A cluster that cannot be used is
    /// not a request error: each use-case reports it in its own result (criteria that could
    /// not be judged, a setup step that failed).
    async fn connection(
        &self,
        learner: &LearnerId,
        me: &LearnerSnapshot,
    ) -> Result<Connection, ClusterError> {
        self.connect_learner(learner, me, false).await
    }

    /// The learner's cluster: a workshop member's own one, else their chosen context.
    async fn connect_learner(
        &self,
        learner: &LearnerId,
        me: &LearnerSnapshot,
        watch: bool,
    ) -> Result<Connection, ClusterError> {
        if let Some(source) = self.member_cluster(learner).await? {
            return self.0.clusters.connect_file(&source, watch).await;
        }
        let context = self.context_of(me)?;
        if watch {
            self.0.clusters.connect_for_watch(&context).await
        } else {
            self.0.clusters.connect(&context).await
        }
    }

    /// Refuses work on a task that belongs to the learner's unfinished exam: its hints,
    /// solution, checks and setup stay closed until the exam is graded.
    async fn ensure_open(&self, learner: &LearnerId, task: &str) -> ServiceResult<()> {
        match self.exam_holding(learner, task).await? {
            None => Ok(()),
            Some(attempt) => Err(ServiceError::TaskHeldByExam {
                task: task.to_string(),
                attempt,
            }),
        }
    }

    /// A task the learner may work on now: it exists and no unfinished exam of theirs holds it.
    pub async fn open_task(&self, learner: &LearnerId, id: &str) -> ServiceResult<&Task> {
        let task = self.task(id)?;
        self.ensure_open(learner, &task.id).await?;
        Ok(task)
    }

    /// The learner's unfinished exam attempt that includes `task`, if any.
    pub async fn exam_holding(
        &self,
        learner: &LearnerId,
        task: &str,
    ) -> ServiceResult<Option<i64>> {
        Ok(self.0.store.exam_holding_task(learner, task).await?)
    }
}
