//! Practice exams on the server: start, prepare every task's cluster, keep the deadline,
//! grade whether or not a browser is open, report, and recover after a restart.

mod grade;
mod prepare;
mod recover;
mod report;

use std::collections::BTreeMap;

use crate::clock::Timer;
use crate::content::model::ExamContextFile;
use crate::exam::{self, ExamSnapshot, Phase, Status, TaskTrend};
use crate::store::{ExamAttempt, ExamTask, LearnerId};

use super::{Service, ServiceError, ServiceResult};

pub use grade::Ending;
pub use prepare::Preparations;
pub use report::ExamReport;

/// An attempt and its tasks as they stand at one moment.
#[derive(Debug, Clone)]
pub struct AttemptView {
    /// The attempt.
    pub attempt: ExamAttempt,
    /// Its tasks' stored state, in exam order.
    pub tasks: Vec<ExamTask>,
    /// Where it stands at `now`.
    pub phase: Phase,
    /// When it was read.
    pub now: i64,
}

impl AttemptView {
    /// The stored state of one task.
    pub fn task(&self, id: &str) -> Option<&ExamTask> {
        self.tasks.iter().find(|t| t.task_id == id)
    }
}

/// The exam view: the attempt and the task the learner looks at.
#[derive(Debug, Clone)]
pub struct ExamSession {
    /// The attempt, up to date.
    pub view: AttemptView,
    /// The task shown: the one asked for, else the one last opened, else the first.
    pub current: Option<String>,
}

/// One exam context with what it runs on unless the learner chooses otherwise.
#[derive(Debug, Clone)]
pub struct SlotDefault<'a> {
    /// The exam's context.
    pub slot: &'a ExamContextFile,
    /// The kubeconfig context it would run on.
    pub default: Option<String>,
    /// Why that context cannot be used, if it cannot.
    pub problem: Option<String>,
}

/// An exam's start page: contexts, the open attempt, and the learner's history.
#[derive(Debug, Clone)]
pub struct ExamOverview<'a> {
    /// Per exam context, its default and its problem.
    pub slots: Vec<SlotDefault<'a>>,
    /// Contexts the learner may choose.
    pub available: Vec<String>,
    /// The unfinished attempt, if any.
    pub open: Option<i64>,
    /// Graded attempts, newest first.
    pub graded: Vec<ExamReport>,
    /// Tasks from weakest to strongest over the graded attempts.
    pub weakest: Vec<TaskTrend>,
}

impl Service {
    /// The learner's attempt with this id; anyone else's, or a malformed id, is not found.
    pub async fn own_attempt(&self, learner: &LearnerId, id: &str) -> ServiceResult<ExamAttempt> {
        let missing = || ServiceError::not_found("exam attempt", id);
        let number: i64 = id.parse().map_err(|_| missing())?;
        self.0
            .store
            .own_exam_attempt(learner, number)
            .await?
            .ok_or_else(missing)
    }

    /// The attempt brought up to date: one whose deadline has passed is graded before anything
    /// is shown, so no view ever offers work after the end. With `wait`, a grading already under
    /// way is waited for (pages); without, it is returned as it is (API polls).
    async fn current(&self, attempt: ExamAttempt, wait: bool) -> ServiceResult<ExamAttempt> {
        match Phase::at(attempt.status, attempt.timer, self.now()) {
            Phase::Due => self.grade(attempt.id, Ending::Deadline).await,
            Phase::Grading if wait => self.grade(attempt.id, Ending::Deadline).await,
            _ => Ok(attempt),
        }
    }

    /// The learner's attempt, up to date, with its tasks.
    pub async fn attempt(
        &self,
        learner: &LearnerId,
        id: &str,
        wait: bool,
    ) -> ServiceResult<AttemptView> {
        let attempt = self
            .current(self.own_attempt(learner, id).await?, wait)
            .await?;
        self.view_of(attempt).await
    }

    async fn view_of(&self, attempt: ExamAttempt) -> ServiceResult<AttemptView> {
        let now = self.now();
        Ok(AttemptView {
            phase: Phase::at(attempt.status, attempt.timer, now),
            tasks: self.0.store.exam_tasks(attempt.id).await?,
            attempt,
            now,
        })
    }

    /// Starts an attempt of `exam` (or returns the learner's unfinished one, with `false`) and
    /// prepares it in the background. `chosen` maps the exam's context names to kubeconfig contexts.
    pub async fn start_exam(
        &self,
        learner: &LearnerId,
        exam: &str,
        chosen: &BTreeMap<String, String>,
    ) -> ServiceResult<(AttemptView, bool)> {
        self.begin_exam(learner, exam, chosen, false).await
    }

    /// [`Service::start_exam`]; with `held`, a new attempt's clock waits for
    /// [`Service::start_held_clocks`] (a class exam's one start).
    pub(crate) async fn begin_exam(
        &self,
        learner: &LearnerId,
        exam: &str,
        chosen: &BTreeMap<String, String>,
        held: bool,
    ) -> ServiceResult<(AttemptView, bool)> {
        let exam = self.exam(exam)?;
        let me = self.learner(learner).await?;
        let member = self
            .member_cluster(learner)
            .await
            .map_err(ServiceError::Cluster)?;
        let snapshot = match &member {
            // A workshop member sits the exam on their own cluster, which must be enough.
            Some(source) => self.member_snapshot(exam, source)?,
            None => {
                let fallback = self.context_of(&me).ok();
                let placements = exam::plan(
                    exam,
                    |id| self.0.catalogue.task(id),
                    chosen,
                    &self.contexts(),
                    fallback.as_deref(),
                )
                .map_err(ServiceError::ExamPlan)?;
                ExamSnapshot::freeze(&self.0.catalogue, exam, &placements)
            }
        };
        self.contexts_free(learner, &exam.id, &snapshot).await?;
        let (id, created) = self
            .0
            .store
            .create_exam_attempt(learner, &snapshot, &self.0.catalogue.digest, self.now())
            .await?;
        if held && created {
            self.0.store.hold_exam(id).await?;
        }
        // A new attempt, or one whose preparation stopped (it resumes; setups are idempotent).
        tokio::spawn(self.clone().prepare(id));
        let view = self.attempt(learner, &id.to_string(), false).await?;
        Ok((view, created))
    }

    /// Refuses clusters another unfinished exam uses: two exams on one cluster would re-run
    /// each other's setups. The learner's own unfinished attempt of this exam is resumed
    /// instead, so it does not count. A cluster is its kubeconfig file and context.
    async fn contexts_free(
        &self,
        learner: &LearnerId,
        exam: &str,
        snapshot: &ExamSnapshot,
    ) -> ServiceResult<()> {
        let busy = self.0.store.unfinished_exam_attempts().await?;
        let resumed =
            |a: &crate::store::ExamAttempt| a.learner_id == learner.as_str() && a.exam_id == exam;
        let same = |a: &exam::TaskSnapshot, b: &exam::TaskSnapshot| {
            a.context == b.context && a.kubeconfig == b.kubeconfig
        };
        for other in busy.iter().filter(|a| !resumed(a)) {
            if let Some(t) = snapshot
                .tasks
                .iter()
                .find(|t| other.definition.tasks.iter().any(|o| same(o, t)))
            {
                return Err(ServiceError::ExamPlan(vec![exam::PlanError::InUse {
                    context: t.context.clone(),
                    attempt: other.id,
                }]));
            }
        }
        Ok(())
    }

    /// The exam placed on a workshop member's one cluster: only exams with a single context fit.
    fn member_snapshot(
        &self,
        exam: &crate::content::Exam,
        source: &crate::cluster::KubeconfigSource,
    ) -> ServiceResult<ExamSnapshot> {
        if exam.contexts.len() != 1 {
            return Err(ServiceError::Invalid(format!(
                "{} needs {} clusters; in a workshop you have one: sit a one-cluster exam",
                exam.title,
                exam.contexts.len()
            )));
        }
        let (_, current) = source.contexts().map_err(ServiceError::Cluster)?;
        let context = current.ok_or_else(|| {
            ServiceError::Invalid(
                "your workshop cluster's kubeconfig has no current context".into(),
            )
        })?;
        let slot = exam.contexts[0].name.clone();
        let chosen = BTreeMap::from([(slot, context.clone())]);
        let placements = exam::plan(
            exam,
            |id| self.0.catalogue.task(id),
            &chosen,
            std::slice::from_ref(&context),
            None,
        )
        .map_err(ServiceError::ExamPlan)?;
        let mut snapshot = ExamSnapshot::freeze(&self.0.catalogue, exam, &placements);
        for task in &mut snapshot.tasks {
            task.kubeconfig = source.single_path().map(std::path::Path::to_path_buf);
        }
        Ok(snapshot)
    }

    /// The cluster a frozen task runs on: its own kubeconfig file, else the server's context.
    pub(super) async fn connect_snapshot(
        &self,
        task: &exam::TaskSnapshot,
    ) -> Result<crate::cluster::Connection, crate::cluster::ClusterError> {
        match &task.kubeconfig {
            Some(path) => {
                let source = crate::cluster::KubeconfigSource::file(path.clone());
                self.0.clusters.connect_file(&source, false).await
            }
            None => self.0.clusters.connect(&task.context).await,
        }
    }

    /// Sets a review flag, refused once the exam has ended.
    pub async fn flag(
        &self,
        learner: &LearnerId,
        id: &str,
        task: &str,
        flagged: bool,
    ) -> ServiceResult<AttemptView> {
        let attempt = self.own_attempt(learner, id).await?;
        if attempt.definition.task(task).is_none() {
            return Err(ServiceError::NotInExam(task.to_string()));
        }
        let now = self.now();
        let refused = |refused| ServiceError::ExamRefused {
            action: "flag",
            task: task.to_string(),
            refused,
        };
        Phase::at(attempt.status, attempt.timer, now)
            .accepts_work()
            .map_err(refused)?;
        if !self
            .0
            .store
            .flag_exam_task(attempt.id, task, flagged, now)
            .await?
        {
            return Err(refused(exam::ActionRefused::Ended));
        }
        self.view_of(attempt).await
    }

    /// Submits the attempt: grades now and returns once grading is done.
    pub async fn submit(&self, learner: &LearnerId, id: &str) -> ServiceResult<AttemptView> {
        let attempt = self.own_attempt(learner, id).await?;
        let graded = self.grade(attempt.id, Ending::Submitted).await?;
        self.view_of(graded).await
    }

    /// The exam view: the attempt up to date and the task shown, whose opening is recorded
    /// (time per task is counted from these moments).
    pub async fn open_exam(
        &self,
        learner: &LearnerId,
        id: &str,
        task: Option<&str>,
    ) -> ServiceResult<ExamSession> {
        let view = self.attempt(learner, id, true).await?;
        if !matches!(view.phase, Phase::Running { .. }) {
            return Ok(ExamSession {
                view,
                current: None,
            });
        }
        let definition = &view.attempt.definition;
        let views = self.0.store.exam_views(view.attempt.id).await?;
        let current = task
            .filter(|t| definition.task(t).is_some())
            .map(str::to_string)
            .or_else(|| views.last().map(|(task, _)| task.clone()))
            .or_else(|| definition.tasks.first().map(|t| t.task.clone()));
        if let Some(task) = &current
            && views.last().is_none_or(|(last, _)| last != task)
        {
            self.0
                .store
                .record_exam_view(view.attempt.id, task, view.now)
                .await?;
        }
        Ok(ExamSession { view, current })
    }

    /// An exam's start page: where each context would run, the open attempt, the history.
    pub async fn exam_overview<'a>(
        &'a self,
        learner: &LearnerId,
        exam: &str,
    ) -> ServiceResult<ExamOverview<'a>> {
        let exam = self.exam(exam)?;
        let me = self.learner(learner).await?;
        let fallback = self.context_of(&me).ok();
        let available = self.contexts();
        let slots = exam
            .contexts
            .iter()
            .map(|slot| {
                let default = if available.contains(&slot.name) {
                    Some(slot.name.clone())
                } else {
                    fallback.clone()
                };
                let problem = match &default {
                    None => Some("no such context and no default context".to_string()),
                    Some(ctx) => self.cached_status(ctx).and_then(|s| s.problem),
                };
                SlotDefault {
                    slot,
                    default,
                    problem,
                }
            })
            .collect();
        let attempts = self.0.store.exam_history(learner, &exam.id).await?;
        let open = attempts
            .iter()
            .find(|a| a.status != Status::Graded)
            .map(|a| a.id);
        let mut graded = Vec::new();
        for attempt in attempts.into_iter().filter(|a| a.status == Status::Graded) {
            let tasks = self.0.store.exam_tasks(attempt.id).await?;
            graded.push(ExamReport::build(attempt, &tasks));
        }
        let per_attempt: Vec<_> = graded.iter().map(ExamReport::records).collect();
        Ok(ExamOverview {
            slots,
            available,
            open,
            weakest: exam::weakest(&per_attempt),
            graded,
        })
    }

    /// The report of a graded attempt; with `wait`, a grading under way is waited for.
    pub async fn report(
        &self,
        learner: &LearnerId,
        id: &str,
        wait: bool,
    ) -> ServiceResult<ExamReport> {
        let view = self.attempt(learner, id, wait).await?;
        if view.attempt.status != Status::Graded {
            return Err(ServiceError::ExamNotGraded {
                attempt: view.attempt.id,
                status: view.attempt.status.public(),
            });
        }
        Ok(ExamReport::build(view.attempt, &view.tasks))
    }

    async fn load_attempt(&self, id: i64) -> ServiceResult<ExamAttempt> {
        self.0
            .store
            .exam_attempt(id)
            .await?
            .ok_or_else(|| ServiceError::not_found("exam attempt", &id.to_string()))
    }

    /// The exam's clock, once running; a missing one counts as ending now.
    fn timer_or_now(&self, attempt: &ExamAttempt) -> Timer {
        let now = self.now();
        attempt.timer.unwrap_or(Timer {
            started_at: now,
            deadline_at: now,
        })
    }
}
