//! Why a use-case refused or failed, in the learner's words; the http layer maps each to a
//! status in one place.

use crate::cluster::ClusterError;
use crate::exam::{ActionRefused, PlanError};
use crate::store::StoreError;

/// Everything a use-case can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// An unknown task, lesson, exam or exam attempt.
    #[error("There is no {kind} `{id}`.")]
    NotFound {
        /// What was looked for.
        kind: &'static str,
        /// The id asked for.
        id: String,
    },
    /// A lesson without that section.
    #[error("Lesson `{lesson}` has no section `{section}`.")]
    NoSection {
        /// Lesson id.
        lesson: String,
        /// Section id asked for.
        section: String,
    },
    /// An exam attempt without that task.
    #[error("The exam has no task `{0}`.")]
    NotInExam(String),
    /// The task belongs to the learner's exam in progress.
    #[error(
        "`{task}` is part of your exam in progress (/exams/attempts/{attempt}): its checks, hints and solution are closed until the exam is graded."
    )]
    TaskHeldByExam {
        /// Task id.
        task: String,
        /// The attempt holding it.
        attempt: i64,
    },
    /// Finishing timed practice that is not running.
    #[error("No timed attempt at `{0}` is running: start one first.")]
    PracticeNotRunning(String),
    /// The exam cannot start on the chosen contexts.
    #[error("This exam cannot start on these contexts: {}.", join(.0))]
    ExamPlan(Vec<PlanError>),
    /// An action on an exam task that the attempt no longer (or not yet) accepts.
    #[error("Cannot {action} `{task}`: {refused}.")]
    ExamRefused {
        /// What was asked, e.g. "flag".
        action: &'static str,
        /// Task id.
        task: String,
        /// Why not.
        refused: ActionRefused,
    },
    /// A setup retry of a task whose setup did not fail, or already runs again.
    #[error("The setup of `{0}` has not failed, or is already running again.")]
    SetupNotRetryable(String),
    /// Grading asked for before the clock started.
    #[error("The exam has not started yet: its tasks are still being set up.")]
    ExamNotStarted,
    /// Another request or the deadline is grading the attempt.
    #[error("The exam is still being graded; reload in a moment.")]
    StillGrading,
    /// A report asked for before grading.
    #[error("Exam attempt {attempt} is not graded yet: it is {status}.")]
    ExamNotGraded {
        /// Attempt id.
        attempt: i64,
        /// Where it stands, as clients see it.
        status: &'static str,
    },
    /// Re-grading an attempt that was never graded.
    #[error("Only a graded exam can be re-graded.")]
    RegradeBeforeGrading,
    /// Too many wrong join codes lately (someone guessing codes).
    #[error("Too many wrong join codes; wait a few seconds and check the code on the projector.")]
    TooManyJoins,
    /// Too many new learners are writing at once (a client inventing identities).
    #[error("Too many new learners at once on this server; try again in a few seconds.")]
    TooManyNewLearners,
    /// Re-grading would judge the cluster after the deadline.
    #[error(
        "An exam is judged only on what was observed when it ended: criteria that could not be judged then cannot be judged later, because the cluster may have changed since. This attempt stays incomplete; start a new attempt."
    )]
    RegradeAfterDeadline,
    /// Input that breaks a rule (a display name, a context choice).
    #[error("{0}")]
    Invalid(String),
    /// The kubeconfig cannot be read where the request depends on it.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ServiceError {
    /// An unknown `kind` with this id.
    pub fn not_found(kind: &'static str, id: &str) -> ServiceError {
        ServiceError::NotFound {
            kind,
            id: id.to_string(),
        }
    }
}

fn join(errors: &[PlanError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
