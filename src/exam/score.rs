//! Exam scores: partial credit by points, the pass mark, and trends over attempts.

use std::collections::BTreeMap;

/// One task's result in an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRecord {
    /// Task id.
    pub task: String,
    /// Points scored.
    pub score: u32,
    /// Points available.
    pub max: u32,
}

/// An attempt's total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExamScore {
    /// Points scored over all tasks.
    pub score: u32,
    /// Points available over all tasks.
    pub max: u32,
    /// Percentage in tenths, rounded down (so 65.99 % shows as 65.9, never as 66.0).
    pub percent_tenths: u32,
    /// Whether the score reaches the pass mark, compared exactly.
    pub passed: bool,
}

impl ExamScore {
    /// The percentage with one decimal, e.g. `65.9`.
    pub fn percent(&self) -> String {
        format!("{}.{}", self.percent_tenths / 10, self.percent_tenths % 10)
    }
}

/// Totals tasks: every criterion point counts the same, so a task's weight is its points.
/// Passing needs `score / max >= pass_mark %`, compared in integers with no rounding up.
pub fn total(tasks: &[TaskRecord], pass_mark: u32) -> ExamScore {
    let score: u32 = tasks.iter().map(|t| t.score.min(t.max)).sum();
    let max: u32 = tasks.iter().map(|t| t.max).sum();
    let (score64, max64) = (u64::from(score), u64::from(max));
    let percent_tenths = (score64 * 1_000)
        .checked_div(max64)
        .map_or(0, |p| u32::try_from(p).unwrap_or(1_000));
    ExamScore {
        score,
        max,
        percent_tenths,
        passed: max > 0 && score64 * 100 >= u64::from(pass_mark) * max64,
    }
}

/// A task's average over past attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskTrend {
    /// Task id.
    pub task: String,
    /// Attempts it was graded in.
    pub attempts: u32,
    /// Average share of its points, in whole percent rounded down.
    pub percent: u32,
}

/// Tasks from weakest to strongest over all `attempts` (ties by id).
pub fn weakest(attempts: &[Vec<TaskRecord>]) -> Vec<TaskTrend> {
    let mut sums: BTreeMap<&str, (u64, u64, u32)> = BTreeMap::new();
    for record in attempts.iter().flatten() {
        let entry = sums.entry(record.task.as_str()).or_default();
        entry.0 += u64::from(record.score.min(record.max));
        entry.1 += u64::from(record.max);
        entry.2 += 1;
    }
    let mut trends: Vec<TaskTrend> = sums
        .into_iter()
        .map(|(task, (score, max, attempts))| TaskTrend {
            task: task.to_string(),
            attempts,
            percent: (score * 100)
                .checked_div(max)
                .map_or(0, |p| u32::try_from(p).unwrap_or(100)),
        })
        .collect();
    trends.sort_by(|a, b| a.percent.cmp(&b.percent).then_with(|| a.task.cmp(&b.task)));
    trends
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(task: &str, score: u32, max: u32) -> TaskRecord {
        TaskRecord {
            task: task.to_string(),
            score,
            max,
        }
    }

    #[test]
    fn partial_credit_is_weighted_by_points() {
        let score = total(&[rec("a", 11, 11), rec("b", 2, 10), rec("c", 0, 12)], 66);
        assert_eq!((score.score, score.max), (13, 33));
        assert_eq!(score.percent(), "39.3");
        assert!(!score.passed);
    }

    #[test]
    fn the_pass_mark_boundary_is_exact() {
        // 66 of 100: exactly the mark passes.
        assert!(total(&[rec("a", 66, 100)], 66).passed);
        assert!(!total(&[rec("a", 65, 100)], 66).passed);
        // 2 of 3 is 66.67 %: passes 66, fails 67.
        assert!(total(&[rec("a", 2, 3)], 66).passed);
        assert!(!total(&[rec("a", 2, 3)], 67).passed);
        // 65.99 % must neither pass 66 nor display as 66.0.
        let near = total(&[rec("a", 6_599, 10_000)], 66);
        assert!(!near.passed);
        assert_eq!(near.percent(), "65.9");
    }

    #[test]
    fn empty_and_full_exams() {
        let none = total(&[], 66);
        assert_eq!((none.score, none.max, none.passed), (0, 0, false));
        assert_eq!(none.percent(), "0.0");
        let full = total(&[rec("a", 5, 5), rec("b", 7, 7)], 100);
        assert!(full.passed);
        assert_eq!(full.percent(), "100.0");
        // A score above the maximum (content changed under a stored verdict) is capped.
        assert_eq!(total(&[rec("a", 9, 5)], 66).score, 5);
    }

    #[test]
    fn weakest_tasks_first() {
        let trends = weakest(&[
            vec![rec("a", 10, 10), rec("b", 0, 10)],
            vec![rec("a", 5, 10), rec("b", 6, 10), rec("c", 3, 10)],
        ]);
        let order: Vec<(&str, u32, u32)> = trends
            .iter()
            .map(|t| (t.task.as_str(), t.percent, t.attempts))
            .collect();
        assert_eq!(order, vec![("b", 30, 2), ("c", 30, 1), ("a", 75, 2)]);
    }
}
