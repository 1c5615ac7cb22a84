//! Where an attempt stands at a given moment, and what it still accepts.

use crate::clock::Timer;

/// Seconds before the deadline at which the exam view warns.
pub const NOTICE_SECONDS: i64 = 5 * 60;

/// Seconds after the deadline within which grading that starts counts as on time (the
/// deadline's own timer fires within a second).
const ON_TIME_GRACE: i64 = 2;

/// An attempt's stored state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(rename_all = "lowercase")]
pub enum Status {
    /// Setting up the tasks; the clock has not started.
    Preparing,
    /// The clock runs.
    Running,
    /// Work has ended and the grader is evaluating.
    Grading,
    /// Scored; the report is final (apart from re-grading errors).
    Graded,
}

impl Status {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Preparing => "preparing",
            Status::Running => "running",
            Status::Grading => "grading",
            Status::Graded => "graded",
        }
    }

    /// The status clients see: grading is the last moment of `running`.
    pub fn public(self) -> &'static str {
        match self {
            Status::Grading => "running",
            other => other.as_str(),
        }
    }
}

/// Where the setup of one exam task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(rename_all = "lowercase")]
pub enum SetupState {
    /// Not run yet.
    Pending,
    /// Running now.
    Running,
    /// Done.
    Ok,
    /// Failed; the learner may retry while the exam runs.
    Failed,
}

impl SetupState {
    /// The state after a setup that succeeded (`true`) or not.
    pub fn after(ok: bool) -> SetupState {
        if ok {
            SetupState::Ok
        } else {
            SetupState::Failed
        }
    }

    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            SetupState::Pending => "pending",
            SetupState::Running => "running",
            SetupState::Ok => "ok",
            SetupState::Failed => "failed",
        }
    }

    /// Whether the setup failed (the exam view offers a retry).
    pub fn failed(self) -> bool {
        self == SetupState::Failed
    }
}

/// Where an attempt stands at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Tasks are being set up.
    Preparing,
    /// Work in progress, with the seconds left and whether the end-of-exam notice is due.
    Running {
        /// Seconds to the deadline (> = 0).
        remaining: i64,
        /// Five minutes or less are left.
        notice: bool,
    },
    /// The deadline has passed and nobody has graded yet: grade now.
    Due,
    /// Being graded.
    Grading,
    /// Done.
    Graded,
}

impl Phase {
    /// The phase of an attempt with `status` and, once running, `timer`.
    pub fn at(status: Status, timer: Option<Timer>, now: i64) -> Phase {
        match (status, timer) {
            (Status::Preparing, _) => Phase::Preparing,
            (Status::Running, Some(timer)) if !timer.overtime(now) => {
                let remaining = timer.remaining(now);
                Phase::Running {
                    remaining,
                    notice: remaining <= NOTICE_SECONDS,
                }
            }
            // Running without a clock cannot be stored; treat it as due rather than endless.
            (Status::Running, _) => Phase::Due,
            (Status::Grading, _) => Phase::Grading,
            (Status::Graded, _) => Phase::Graded,
        }
    }

    /// Whether the learner may still act on the attempt (flag, view tasks, retry setup).
    pub fn accepts_work(self) -> Result<(), ActionRefused> {
        match self {
            Phase::Running { .. } => Ok(()),
            Phase::Preparing => Err(ActionRefused::NotStarted),
            Phase::Due | Phase::Grading | Phase::Graded => Err(ActionRefused::Ended),
        }
    }
}

/// Why a learner action on an attempt is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ActionRefused {
    /// The clock has not started yet.
    #[error("the exam has not started yet: its tasks are still being set up")]
    NotStarted,
    /// The deadline passed or the attempt was submitted.
    #[error("the exam has ended: nothing more is accepted")]
    Ended,
}

/// Why grading that began at `graded_at` counts as late for work that ended at `deadline`,
/// if it does.
pub fn late_reason(deadline: i64, graded_at: i64, why: &str) -> Option<String> {
    (graded_at > deadline + ON_TIME_GRACE).then(|| {
        format!(
            "graded {} after the exam ended: {why}",
            crate::clock::mm_ss(graded_at - deadline).trim_start_matches('-')
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timer() -> Option<Timer> {
        Some(Timer::start(1_000, 24))
    }

    #[test]
    fn running_until_the_last_second_then_due() {
        assert_eq!(
            Phase::at(Status::Running, timer(), 1_000),
            Phase::Running {
                remaining: 1_440,
                notice: false
            }
        );
        assert_eq!(
            Phase::at(Status::Running, timer(), 2_440),
            Phase::Running {
                remaining: 0,
                notice: true
            }
        );
        assert_eq!(Phase::at(Status::Running, timer(), 2_441), Phase::Due);
        assert_eq!(Phase::at(Status::Running, None, 0), Phase::Due);
    }

    #[test]
    fn the_notice_starts_at_five_minutes() {
        let at = |now| Phase::at(Status::Running, timer(), now);
        assert_eq!(
            at(2_440 - 301),
            Phase::Running {
                remaining: 301,
                notice: false
            }
        );
        assert_eq!(
            at(2_440 - 300),
            Phase::Running {
                remaining: 300,
                notice: true
            }
        );
    }

    #[test]
    fn only_a_running_attempt_accepts_work() {
        assert!(
            Phase::at(Status::Running, timer(), 2_000)
                .accepts_work()
                .is_ok()
        );
        assert_eq!(
            Phase::at(Status::Running, timer(), 2_441).accepts_work(),
            Err(ActionRefused::Ended)
        );
        assert_eq!(
            Phase::at(Status::Preparing, None, 0).accepts_work(),
            Err(ActionRefused::NotStarted)
        );
        assert_eq!(
            Phase::at(Status::Graded, timer(), 1_500).accepts_work(),
            Err(ActionRefused::Ended)
        );
        assert_eq!(
            Phase::at(Status::Grading, timer(), 1_500).accepts_work(),
            Err(ActionRefused::Ended)
        );
    }

    #[test]
    fn statuses_round_trip_and_grading_shows_as_running() {
        for status in [
            Status::Preparing,
            Status::Running,
            Status::Grading,
            Status::Graded,
        ] {
            assert_eq!(
                status.public() == "running",
                status == Status::Running || status == Status::Grading
            );
        }
        assert_eq!(Status::Grading.public(), "running");
        assert_eq!(Status::Graded.public(), "graded");
    }

    #[test]
    fn late_only_beyond_the_grace() {
        assert_eq!(late_reason(1_000, 1_000, "x"), None);
        assert_eq!(late_reason(1_000, 1_002, "x"), None);
        assert_eq!(
            late_reason(1_000, 1_003, "the server was down").as_deref(),
            Some("graded 00:03 after the exam ended: the server was down")
        );
    }
}
