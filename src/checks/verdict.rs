//! The result of checking a task: one status and evidence per criterion, and the score.

use serde::{Deserialize, Serialize};

/// How one criterion stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The cluster is in the required state.
    Passed,
    /// It is not, and will not get there by itself.
    Failed,
    /// Still converging (e.g. ContainerCreating); worth re-checking shortly.
    Pending,
    /// Could not be judged: unreachable cluster, forbidden, timeout.
    Error,
}

impl Status {
    /// The JSON/display name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Pending => "pending",
            Status::Error => "error",
        }
    }
}

/// What was expected, what was seen, and why, straight from the cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The state the criterion asks for.
    pub expected: String,
    /// The state observed.
    pub observed: String,
    /// Causes from the cluster: events, conditions, container states.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// The last lines of a crashing container's log.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<String>,
    /// The command kubelab ran for the check, when it ran one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

/// One criterion's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CriterionResult {
    /// The criterion id from the task.
    pub id: String,
    /// Its learner-facing sentence.
    pub description: String,
    /// Points it is worth.
    pub points: u32,
    /// How it stands.
    pub status: Status,
    /// Why.
    pub evidence: Evidence,
}

/// A task's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Task id.
    pub task: String,
    /// Points of the passed criteria.
    pub score: u32,
    /// Points available.
    pub max_score: u32,
    /// Whether every criterion passed.
    pub passed: bool,
    /// Per criterion, in task order.
    pub criteria: Vec<CriterionResult>,
}

impl Verdict {
    /// Scores criterion results: partial credit by points.
    pub fn new(task: &str, criteria: Vec<CriterionResult>) -> Verdict {
        let score = criteria
            .iter()
            .filter(|c| c.status == Status::Passed)
            .map(|c| c.points)
            .sum();
        let max_score = criteria.iter().map(|c| c.points).sum();
        let passed = !criteria.is_empty() && criteria.iter().all(|c| c.status == Status::Passed);
        Verdict {
            task: task.to_string(),
            score,
            max_score,
            passed,
            criteria,
        }
    }

    /// Whether any criterion is still converging, so a re-check is worthwhile.
    pub fn pending(&self) -> bool {
        self.criteria.iter().any(|c| c.status == Status::Pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(points: u32, status: Status) -> CriterionResult {
        CriterionResult {
            id: format!("c{points}"),
            description: String::new(),
            points,
            status,
            evidence: Evidence::default(),
        }
    }

    #[test]
    fn partial_credit_by_points() {
        let verdict = Verdict::new(
            "t",
            vec![
                result(3, Status::Passed),
                result(2, Status::Failed),
                result(1, Status::Pending),
            ],
        );
        assert_eq!(
            (verdict.score, verdict.max_score, verdict.passed),
            (3, 6, false)
        );
        assert!(verdict.pending());
        let all = Verdict::new("t", vec![result(3, Status::Passed)]);
        assert!(all.passed);
        assert!(!Verdict::new("t", Vec::new()).passed);
    }

    #[test]
    fn json_shape() {
        let verdict = Verdict::new("t", vec![result(1, Status::Error)]);
        let json = serde_json::to_value(&verdict).unwrap();
        assert_eq!(json["criteria"][0]["status"], "error");
        assert_eq!(json["criteria"][0]["evidence"]["expected"], "");
        assert!(json["criteria"][0]["evidence"].get("logs").is_none());
    }
}
