//! A class exam: one exam started for every member on their own cluster, one start of
//! everyone's clock, per-learner extensions, and the results per learner and task.

use serde::Serialize;

use crate::store::LearnerId;

use super::super::{Service, ServiceError, ServiceResult};

/// One learner's line in a class exam.
#[derive(Debug, Clone, Serialize)]
pub struct ClassExamRow {
    /// The name they joined with.
    pub display_name: String,
    /// Their attempt, once started.
    pub attempt: Option<i64>,
    /// `preparing`, `running`, `graded`, or `not-started` with the reason in `detail`.
    pub status: String,
    /// Why it did not start, or how it ended.
    pub detail: Option<String>,
    /// The total, once graded.
    pub score: Option<u32>,
    /// Points available, once graded.
    pub max_score: Option<u32>,
    /// Passed, once graded (an incomplete attempt never passes).
    pub passed: Option<bool>,
    /// Every criterion was judged when it ended.
    pub complete: Option<bool>,
    /// Per task: (task, score, max), once graded.
    pub tasks: Vec<(String, u32, u32)>,
}

impl ClassExamRow {
    /// A line with nothing graded yet.
    fn new(display_name: String, attempt: Option<i64>, status: &str) -> ClassExamRow {
        ClassExamRow {
            display_name,
            attempt,
            status: status.to_string(),
            detail: None,
            score: None,
            max_score: None,
            passed: None,
            complete: None,
            tasks: Vec::new(),
        }
    }
}

impl Service {
    /// Starts `exam` for every member who has a cluster, each on their own: setups run now,
    /// and every clock waits for [`Service::start_class_clock`], so the class shares one
    /// deadline. One line per learner says what happened.
    pub async fn start_class_exam(&self, id: i64, exam: &str) -> ServiceResult<Vec<ClassExamRow>> {
        self.workshop(id).await?;
        self.exam(exam)?;
        let mut rows = Vec::new();
        for (member, learner) in self.members(id).await? {
            let row = match self
                .begin_exam(&learner, exam, &Default::default(), true)
                .await
            {
                Ok((view, _)) => ClassExamRow::new(
                    member.display_name,
                    Some(view.attempt.id),
                    view.attempt.status.public(),
                ),
                Err(err) => ClassExamRow {
                    detail: Some(err.to_string()),
                    ..ClassExamRow::new(member.display_name, None, "not-started")
                },
            };
            rows.push(row);
        }
        Ok(rows)
    }

    /// Every member's latest attempt at `exam`, with scores per task once graded.
    pub async fn class_exam_results(
        &self,
        id: i64,
        exam: &str,
    ) -> ServiceResult<Vec<ClassExamRow>> {
        self.workshop(id).await?;
        self.exam(exam)?;
        let mut rows = Vec::new();
        for (member, learner) in self.members(id).await? {
            let latest = self.latest_attempt(&learner, exam).await?;
            let mut row = ClassExamRow::new(
                member.display_name,
                latest.as_ref().map(|a| a.id),
                latest.as_ref().map_or("not-started", |a| a.status.public()),
            );
            if let Some(report) = latest.and_then(|l| l.report) {
                row.score = Some(report.score.score);
                row.max_score = Some(report.score.max);
                row.passed = Some(report.score.passed);
                row.complete = Some(report.complete());
                row.detail = report.incomplete_reason.clone();
                row.tasks = report
                    .records()
                    .into_iter()
                    .map(|r| (r.task, r.score, r.max))
                    .collect();
            }
            rows.push(row);
        }
        Ok(rows)
    }
}

impl Service {
    /// A workshop's members with their ids parsed (a malformed stored id is skipped).
    async fn members(&self, id: i64) -> ServiceResult<Vec<(crate::store::MemberRow, LearnerId)>> {
        Ok(self
            .0
            .store
            .workshop_members(id)
            .await?
            .into_iter()
            .filter_map(|m| LearnerId::parse(&m.learner_id).map(|l| (m, l)))
            .collect())
    }
}

/// A learner's latest attempt at an exam: its id, stored status, and its report once graded.
pub(super) struct Latest {
    pub id: i64,
    pub status: crate::exam::Status,
    pub report: Option<super::super::ExamReport>,
}

impl Service {
    /// The learner's latest attempt at `exam`, with its report once graded.
    pub(super) async fn latest_attempt(
        &self,
        learner: &LearnerId,
        exam: &str,
    ) -> ServiceResult<Option<Latest>> {
        let Some(attempt) = self
            .0
            .store
            .exam_history(learner, exam)
            .await?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let (id, status) = (attempt.id, attempt.status);
        let report = if status == crate::exam::Status::Graded {
            let stored = self.0.store.exam_tasks(id).await?;
            Some(super::super::ExamReport::build(attempt, &stored))
        } else {
            None
        };
        Ok(Some(Latest { id, status, report }))
    }
}

/// A class exam's results as CSV: one line per learner, a score column per task.
pub fn results_csv(rows: &[ClassExamRow]) -> String {
    let tasks: Vec<String> = rows
        .iter()
        .flat_map(|r| r.tasks.iter().map(|(t, _, _)| t.clone()))
        .fold(Vec::new(), |mut all, t| {
            if !all.contains(&t) {
                all.push(t);
            }
            all
        });
    let field = |text: &str| {
        if text.contains([',', '"', '\n']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text.to_string()
        }
    };
    let mut out = String::from("learner,status,score,max_score,passed,complete");
    for t in &tasks {
        out.push(',');
        out.push_str(&field(t));
    }
    out.push('\n');
    for r in rows {
        let opt = |v: Option<String>| v.unwrap_or_default();
        out.push_str(&format!(
            "{},{},{},{},{},{}",
            field(&r.display_name),
            field(&r.status),
            opt(r.score.map(|s| s.to_string())),
            opt(r.max_score.map(|s| s.to_string())),
            opt(r.passed.map(|p| p.to_string())),
            opt(r.complete.map(|c| c.to_string())),
        ));
        for t in &tasks {
            out.push(',');
            if let Some((_, score, _)) = r.tasks.iter().find(|(x, _, _)| x == t) {
                out.push_str(&score.to_string());
            }
        }
        out.push('\n');
    }
    out
}

/// The most minutes an instructor adds to an exam at once.
const MAX_EXTENSION_MINUTES: u32 = 120;

impl Service {
    /// Gives one learner's running exam `minutes` more (the instructor's call, e.g. a lost
    /// connection); answers the new deadline.
    pub async fn extend_member_exam(&self, id: i64, row: &str, minutes: u32) -> ServiceResult<i64> {
        if minutes == 0 || minutes > MAX_EXTENSION_MINUTES {
            return Err(ServiceError::Invalid(format!(
                "extend by 1 to {MAX_EXTENSION_MINUTES} minutes"
            )));
        }
        let (member, _) = self.member_by_row(id, row).await?;
        let now = self.now();
        let running = self
            .0
            .store
            .unfinished_exam_attempts()
            .await?
            .into_iter()
            .find(|a| a.learner_id == member.learner_id && a.status == crate::exam::Status::Running)
            .ok_or_else(|| {
                ServiceError::Invalid(format!("{} has no running exam", member.display_name))
            })?;
        let deadline = running
            .timer
            .map(|t| t.deadline_at)
            .ok_or_else(|| ServiceError::Invalid("the exam has no clock yet".into()))?;
        let extended = deadline + i64::from(minutes) * 60;
        if !self.0.store.extend_exam(running.id, extended, now).await? {
            return Err(ServiceError::Invalid(format!(
                "{}'s exam has already ended",
                member.display_name
            )));
        }
        tracing::info!(attempt = running.id, minutes, "instructor extended an exam");
        Ok(extended)
    }
}

impl Service {
    /// Starts the clock of every member's held attempt at `exam` at once: one deadline for the
    /// class. Answers how many started and the deadline.
    pub async fn start_class_clock(
        &self,
        id: i64,
        exam: &str,
    ) -> ServiceResult<(usize, Option<i64>)> {
        self.workshop(id).await?;
        self.exam(exam)?;
        let mut held = Vec::new();
        for (_, learner) in self.members(id).await? {
            if let Some(attempt) = self
                .0
                .store
                .exam_history(&learner, exam)
                .await?
                .into_iter()
                .next()
                && attempt.status == crate::exam::Status::Preparing
            {
                held.push(attempt);
            }
        }
        let (started, deadline) = self.start_held_clocks(&held).await?;
        Ok((started.len(), deadline))
    }
}

impl Service {
    /// The instructor grants one learner (by roster row key) a new attempt at `exam` after
    /// their last one ended incomplete (criteria that could not be judged): it starts now on
    /// their own cluster, with its own clock. Answers the new attempt's id.
    pub async fn grant_exam_attempt(&self, id: i64, row: &str, exam: &str) -> ServiceResult<i64> {
        self.exam(exam)?;
        let (_, learner) = self.member_by_row(id, row).await?;
        let Some(report) = self
            .latest_attempt(&learner, exam)
            .await?
            .and_then(|l| l.report)
        else {
            return Err(ServiceError::Invalid(
                "a new attempt is granted after one has ended; this learner's is not graded yet"
                    .into(),
            ));
        };
        if report.complete() {
            return Err(ServiceError::Invalid(
                "this learner's last attempt was judged completely; a new attempt is for one marked incomplete".into(),
            ));
        }
        let (view, _) = self
            .begin_exam(&learner, exam, &Default::default(), false)
            .await?;
        tracing::info!(
            workshop = id,
            exam,
            attempt = view.attempt.id,
            "instructor granted a new attempt"
        );
        Ok(view.attempt.id)
    }
}
