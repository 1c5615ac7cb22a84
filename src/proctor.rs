//! Runs practice exams on the server: prepares every task's cluster, keeps the deadline and
//! grades, whether or not a browser is open. Survives restarts through [`recover`].

use std::collections::BTreeMap;
use std::time::Duration;

use crate::checks::{Status as CriterionStatus, Verdict};
use crate::content::Exam;
use crate::error::{AppError, AppResult};
use crate::exam::{self, ExamSnapshot, Phase, Status, TaskRecord, TaskSnapshot};
use crate::state::AppState;
use crate::store::{ExamAttempt, Grade, GradedTask, Grading, LearnerId};
use crate::timer::{Timer, now};

/// The longest one task's setup may take before it counts as failed.
pub const SETUP_BUDGET: Duration = Duration::from_secs(120);

/// How long a request waits for a grading that another request or the deadline started.
const GRADING_WAIT: Duration = Duration::from_secs(40);

/// Attempts whose preparation runs in this process, so a second start or a recovery does
/// not run the same setups twice at once.
#[derive(Debug, Default)]
pub struct Preparations(std::sync::Mutex<std::collections::HashSet<i64>>);

impl Preparations {
    /// Claims `id`; false if a preparation already runs.
    fn claim(&self, id: i64) -> bool {
        self.0.lock().map(|mut set| set.insert(id)).unwrap_or(false)
    }

    fn release(&self, id: i64) {
        if let Ok(mut set) = self.0.lock() {
            set.remove(&id);
        }
    }
}

/// Why an attempt is being graded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The learner submitted.
    Submitted,
    /// The deadline passed (scheduler, or a request that noticed it).
    Deadline,
}

/// Starts an attempt of `exam` (or returns the learner's unfinished one, with `false`) and
/// prepares it in the background. `chosen` maps the exam's context names to kubeconfig contexts.
pub async fn start(
    state: &AppState,
    learner: &LearnerId,
    exam: &Exam,
    chosen: &BTreeMap<String, String>,
) -> AppResult<(i64, bool)> {
    let me = state.store.snapshot(learner).await?;
    let fallback = state.learner_context(&me).ok();
    let available = state.clusters.contexts().unwrap_or_default();
    let placements = exam::plan(
        exam,
        |id| state.catalogue.task(id),
        chosen,
        &available,
        fallback.as_deref(),
    )
    .map_err(|errors| {
        AppError::Conflict(format!(
            "This exam cannot start on these contexts: {}.",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        ))
    })?;
    let snapshot = ExamSnapshot::freeze(&state.catalogue, exam, &placements);
    let (id, created) = state
        .store
        .create_exam_attempt(learner, &snapshot, &state.catalogue.digest, now())
        .await?;
    // A new attempt, or one whose preparation stopped (it resumes; setups are idempotent).
    tokio::spawn(prepare(state.clone(), id));
    Ok((id, created))
}

/// Runs every pending task's setup, then starts the clock and schedules grading. Does nothing
/// for an attempt that is not preparing or is already being prepared.
pub async fn prepare(state: AppState, id: i64) {
    if !state.preparations.claim(id) {
        return;
    }
    let result = async {
        let Some(attempt) = state.store.exam_attempt(id).await? else {
            return Ok(());
        };
        if attempt.status != Status::Preparing {
            return Ok(());
        }
        for task in state.store.exam_tasks(id).await? {
            if task.setup_state != "ok"
                && let Some(snapshot) = attempt.definition.task(&task.task_id)
            {
                run_setup(&state, id, snapshot, SETUP_BUDGET).await?;
            }
        }
        // The clock starts once the clusters are ready, so setup never eats exam time.
        let timer = Timer::start(now(), attempt.definition.minutes);
        if state.store.start_exam_clock(id, timer).await? {
            schedule(state.clone(), id, timer.deadline_at);
        }
        Ok::<(), crate::store::StoreError>(())
    }
    .await;
    state.preparations.release(id);
    if let Err(err) = result {
        tracing::error!(attempt = id, error = %err, "preparing an exam failed; starting it again resumes");
    }
}

/// Sets up one task of an attempt on its context, within [`SETUP_BUDGET`], and records it.
async fn run_setup(
    state: &AppState,
    id: i64,
    snapshot: &TaskSnapshot,
    budget: Duration,
) -> Result<bool, crate::store::StoreError> {
    state
        .store
        .set_exam_setup(id, &snapshot.task, "running", "setting up")
        .await?;
    let (ok, detail) = match state.catalogue.task(&snapshot.task) {
        None => (
            false,
            "this task is no longer in the content; nothing to set up".to_string(),
        ),
        Some(task) => match state.clusters.connect(&snapshot.context).await {
            Err(err) => (false, err.to_string()),
            Ok(conn) => {
                let work = crate::setup::setup(&conn, &state.setup, &state.catalogue, task);
                match tokio::time::timeout(budget, work).await {
                    Err(_) => (
                        false,
                        format!(
                            "setup did not finish within {} s on context {}",
                            budget.as_secs(),
                            snapshot.context
                        ),
                    ),
                    Ok(outcome) if outcome.steps.is_empty() => {
                        (true, "nothing to set up".to_string())
                    }
                    Ok(outcome) => (
                        outcome.ok,
                        outcome
                            .steps
                            .iter()
                            .map(|s| format!("{}: {}", s.step, s.detail))
                            .collect::<Vec<_>>()
                            .join("; "),
                    ),
                }
            }
        },
    };
    let state_name = if ok { "ok" } else { "failed" };
    state
        .store
        .set_exam_setup(id, &snapshot.task, state_name, &detail)
        .await?;
    Ok(ok)
}

/// Re-runs a failed task setup while the exam runs, within the time left.
pub async fn retry_setup(state: &AppState, attempt: &ExamAttempt, task: &str) -> AppResult<bool> {
    let snapshot = attempt
        .definition
        .task(task)
        .ok_or_else(|| AppError::NotFound(format!("The exam has no task `{task}`.")))?;
    let phase = Phase::at(attempt.status, attempt.timer, now());
    phase
        .accepts_work()
        .map_err(|refused| AppError::Conflict(format!("Cannot set up `{task}`: {refused}.")))?;
    let remaining = match phase {
        Phase::Running { remaining, .. } => remaining,
        _ => 0,
    };
    // Only a failed setup is re-run, and only once at a time (two tabs, a double click).
    if !state.store.claim_exam_setup(attempt.id, task).await? {
        return Err(AppError::Conflict(format!(
            "The setup of `{task}` has not failed, or is already running again."
        )));
    }
    let budget = SETUP_BUDGET.min(Duration::from_secs(u64::try_from(remaining).unwrap_or(0)));
    Ok(run_setup(state, attempt.id, snapshot, budget).await?)
}

/// Grades the attempt when its deadline comes.
pub fn schedule(state: AppState, id: i64, deadline_at: i64) {
    tokio::spawn(async move {
        let wait = u64::try_from(deadline_at - now()).unwrap_or(0);
        // One second past the deadline: the last second still belongs to the learner.
        tokio::time::sleep(Duration::from_secs(wait + 1)).await;
        // A failed grading gives its claim back; try again a few times before leaving it to
        // the next request or restart.
        for attempt in 1..=5u64 {
            match grade(&state, id, Ending::Deadline).await {
                Ok(_) => return,
                Err(err) => {
                    tracing::error!(attempt = id, error = %err, "grading at the deadline failed");
                    tokio::time::sleep(Duration::from_secs(10 * attempt)).await;
                }
            }
        }
    });
}

/// Grades a running attempt (once, whoever asks first) and returns it graded. A caller that
/// loses the race waits for the winner's result.
pub async fn grade(state: &AppState, id: i64, ending: Ending) -> AppResult<ExamAttempt> {
    let attempt = load(state, id).await?;
    match attempt.status {
        Status::Graded => return Ok(attempt),
        Status::Preparing => {
            return Err(AppError::Conflict(
                "The exam has not started yet: its tasks are still being set up.".to_string(),
            ));
        }
        Status::Grading => return wait_for_grade(state, id).await,
        Status::Running => {}
    }
    let t = now();
    let timer = attempt.timer.unwrap_or(Timer {
        started_at: t,
        deadline_at: t,
    });
    let submitted = ending == Ending::Submitted && !timer.overtime(t);
    // A submission ends work now (never before the start, should the clock step back);
    // anything else ends it at the deadline.
    let ended_at = if submitted {
        t.max(timer.started_at)
    } else {
        timer.deadline_at
    };
    if !state
        .store
        .claim_exam_grading(id, ended_at, submitted)
        .await?
    {
        return wait_for_grade(state, id).await;
    }
    let why_late = (!submitted).then_some(
        "the server could not grade at the deadline (it was busy, suspended or retrying)",
    );
    match finish_grading(state, attempt, ended_at, why_late).await {
        Ok(graded) => Ok(graded),
        Err(err) => {
            state.store.release_exam_grading(id).await?;
            Err(err)
        }
    }
}

/// Grades an attempt already moved to `grading` (or recovered), storing every verdict.
async fn finish_grading(
    state: &AppState,
    attempt: ExamAttempt,
    ended_at: i64,
    why_late: Option<&str>,
) -> AppResult<ExamAttempt> {
    let id = attempt.id;
    let verdicts = judge(state, &attempt.definition.tasks).await;
    let started = attempt.timer.map(|t| t.started_at).unwrap_or(ended_at);
    let views = state.store.exam_views(id).await?;
    let spent = exam::time_per_task(&views, started, ended_at);
    let graded: Vec<GradedTask> = verdicts
        .into_iter()
        .map(|verdict| GradedTask {
            seconds: spent.get(&verdict.task).copied().unwrap_or(0),
            task: verdict.task.clone(),
            verdict,
        })
        .collect();
    let total = totals(&graded, attempt.definition.pass_mark);
    let graded_at = now();
    let late = why_late.and_then(|why| exam::late_reason(ended_at, graded_at, why));
    state
        .store
        .store_exam_grade(
            id,
            &graded,
            total,
            Grading {
                at: graded_at,
                late_reason: late.as_deref(),
                digest: &state.catalogue.digest,
                regrade: false,
            },
        )
        .await?;
    tracing::info!(
        attempt = id,
        score = total.score,
        max = total.max,
        "exam graded"
    );
    load(state, id).await
}

fn totals(graded: &[GradedTask], pass_mark: u32) -> Grade {
    let records: Vec<TaskRecord> = graded
        .iter()
        .map(|g| TaskRecord {
            task: g.task.clone(),
            score: g.verdict.score,
            max: g.verdict.max_score,
        })
        .collect();
    let total = exam::total(&records, pass_mark);
    Grade {
        score: total.score,
        max: total.max,
        passed: total.passed,
    }
}

/// Every task's verdict on its own context, checked concurrently (each within the check budget).
async fn judge(state: &AppState, tasks: &[TaskSnapshot]) -> Vec<Verdict> {
    let checks = tasks.iter().map(|snapshot| async move {
        match state.catalogue.task(&snapshot.task) {
            None => missing(snapshot),
            Some(task) => {
                let conn = state.clusters.connect(&snapshot.context).await;
                crate::checking::check(conn, task).await
            }
        }
    });
    futures_util::future::join_all(checks).await
}

async fn wait_for_grade(state: &AppState, id: i64) -> AppResult<ExamAttempt> {
    let until = tokio::time::Instant::now() + GRADING_WAIT;
    loop {
        let attempt = load(state, id).await?;
        if attempt.status == Status::Graded {
            return Ok(attempt);
        }
        if tokio::time::Instant::now() >= until {
            return Err(AppError::Conflict(
                "The exam is still being graded; reload in a moment.".to_string(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn load(state: &AppState, id: i64) -> AppResult<ExamAttempt> {
    state
        .store
        .exam_attempt(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("There is no exam attempt {id}.")))
}

/// Re-checks, in a graded attempt, the criteria that could not be judged (status `error`),
/// keeping every other criterion as it was judged at the end of the exam, and updates the
/// totals. The report says when this happened.
pub async fn regrade(state: &AppState, learner: &LearnerId, id: i64) -> AppResult<ExamAttempt> {
    let attempt = state
        .store
        .own_exam_attempt(learner, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("There is no exam attempt {id}.")))?;
    if attempt.status != Status::Graded {
        return Err(AppError::Conflict(
            "Only a graded exam can be re-graded.".to_string(),
        ));
    }
    let stored = state.store.exam_tasks(id).await?;
    let unjudged = |task: &str| {
        stored
            .iter()
            .find(|t| t.task_id == task)
            .and_then(|t| t.verdict.as_ref())
            .is_none_or(|v| {
                v.criteria
                    .iter()
                    .any(|c| c.status == CriterionStatus::Error)
            })
    };
    let to_check: Vec<TaskSnapshot> = attempt
        .definition
        .tasks
        .iter()
        .filter(|t| unjudged(&t.task))
        .cloned()
        .collect();
    if to_check.is_empty() {
        return Ok(attempt);
    }
    let fresh = judge(state, &to_check).await;
    let graded: Vec<GradedTask> = attempt
        .definition
        .tasks
        .iter()
        .map(|snapshot| {
            let row = stored.iter().find(|t| t.task_id == snapshot.task);
            let old = row.and_then(|t| t.verdict.clone());
            let new = fresh.iter().find(|v| v.task == snapshot.task);
            GradedTask {
                task: snapshot.task.clone(),
                verdict: merge(old, new, snapshot),
                seconds: row.and_then(|t| t.seconds_spent).unwrap_or(0),
            }
        })
        .collect();
    let total = totals(&graded, attempt.definition.pass_mark);
    state
        .store
        .store_exam_grade(
            id,
            &graded,
            total,
            Grading {
                at: now(),
                late_reason: None,
                digest: &state.catalogue.digest,
                regrade: true,
            },
        )
        .await?;
    load(state, id).await
}

/// A stored verdict with only its `error` criteria replaced by a fresh judgement.
fn merge(old: Option<Verdict>, new: Option<&Verdict>, snapshot: &TaskSnapshot) -> Verdict {
    match (old, new) {
        (Some(old), Some(new)) => {
            let criteria = old
                .criteria
                .into_iter()
                .map(|c| match new.criteria.iter().find(|n| n.id == c.id) {
                    Some(n) if c.status == CriterionStatus::Error => n.clone(),
                    _ => c,
                })
                .collect();
            Verdict::new(&snapshot.task, criteria)
        }
        (Some(old), None) => old,
        (None, Some(new)) => new.clone(),
        (None, None) => missing(snapshot),
    }
}

/// The verdict of a task the content no longer has: nothing scored out of its points.
fn missing(snapshot: &TaskSnapshot) -> Verdict {
    Verdict {
        task: snapshot.task.clone(),
        score: 0,
        max_score: snapshot.max_points,
        passed: false,
        criteria: Vec::new(),
    }
}

/// Picks up every unfinished attempt after a start: preparation resumes, running clocks are
/// rescheduled, and attempts whose deadline passed while the server was down are graded now,
/// with the reason recorded.
pub async fn recover(state: &AppState) {
    let attempts = match state.store.unfinished_exam_attempts().await {
        Ok(attempts) => attempts,
        Err(err) => {
            tracing::error!(error = %err, "cannot read unfinished exam attempts");
            return;
        }
    };
    let t = now();
    for attempt in attempts {
        let id = attempt.id;
        match (attempt.status, attempt.timer) {
            (Status::Preparing, _) => {
                tokio::spawn(prepare(state.clone(), id));
            }
            (Status::Running, Some(timer)) if !timer.overtime(t) => {
                schedule(state.clone(), id, timer.deadline_at);
            }
            (Status::Running, timer) => {
                let deadline = timer.map(|t| t.deadline_at).unwrap_or(t);
                // Claimed before the server listens, so no request can grade it first
                // without the reason.
                match state.store.claim_exam_grading(id, deadline, false).await {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(err) => {
                        tracing::error!(attempt = id, error = %err, "cannot claim a late grading");
                        continue;
                    }
                }
                grade_late(
                    state,
                    attempt,
                    deadline,
                    "the server was not running at the deadline",
                );
            }
            (Status::Grading, _) => {
                let ended = attempt
                    .ended_at
                    .or(attempt.timer.map(|t| t.deadline_at))
                    .unwrap_or(t);
                grade_late(state, attempt, ended, "the server stopped while grading");
            }
            (Status::Graded, _) => {}
        }
    }
}

/// Finishes, in the background, the grading of an attempt claimed at recovery.
fn grade_late(state: &AppState, attempt: ExamAttempt, ended_at: i64, why: &'static str) {
    let state = state.clone();
    tokio::spawn(async move {
        let id = attempt.id;
        if let Err(err) = finish_grading(&state, attempt, ended_at, Some(why)).await {
            tracing::error!(attempt = id, error = %err, "grading at recovery failed");
        }
    });
}
