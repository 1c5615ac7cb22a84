//! Task timers as pure functions of a clock passed in: deadlines, remaining time, overtime.

/// A timed attempt's clock, in seconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timer {
    /// When it started.
    pub started_at: i64,
    /// When the budget runs out.
    pub deadline_at: i64,
}

impl Timer {
    /// A timer starting `now` with a budget of `minutes`.
    pub fn start(now: i64, minutes: u32) -> Timer {
        Timer {
            started_at: now,
            deadline_at: now + i64::from(minutes) * 60,
        }
    }

    /// Seconds left at `now`; negative once over time.
    pub fn remaining(&self, now: i64) -> i64 {
        self.deadline_at - now
    }

    /// Whether `now` is past the deadline.
    pub fn overtime(&self, now: i64) -> bool {
        now > self.deadline_at
    }

    /// Seconds used if finished at `finished_at` (never negative).
    pub fn used(&self, finished_at: i64) -> i64 {
        (finished_at - self.started_at).max(0)
    }

    /// The budget in seconds.
    pub fn budget(&self) -> i64 {
        self.deadline_at - self.started_at
    }
}

/// Seconds since the epoch, from the server's clock (the only authority on time).
pub fn now() -> i64 {
    k8s_openapi::jiff::Timestamp::now().as_second()
}

/// `mm:ss` for a duration in seconds, with a leading `-` when negative (overtime).
pub fn clock(seconds: i64) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let s = seconds.unsigned_abs();
    format!("{sign}{:02}:{:02}", s / 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_and_overtime_at_the_boundaries() {
        let timer = Timer::start(1_000, 7);
        assert_eq!(timer.deadline_at, 1_420);
        assert_eq!(timer.remaining(1_000), 420);
        assert_eq!(timer.remaining(1_420), 0);
        assert!(!timer.overtime(1_420), "the last second still counts");
        assert!(timer.overtime(1_421));
        assert_eq!(timer.remaining(1_485), -65);
        assert_eq!(timer.used(1_485), 485);
        assert_eq!(
            timer.used(900),
            0,
            "a clock step backwards never gives negative time"
        );
        assert_eq!(timer.budget(), 420);
    }

    #[test]
    fn clock_format() {
        assert_eq!(clock(420), "07:00");
        assert_eq!(clock(59), "00:59");
        assert_eq!(clock(0), "00:00");
        assert_eq!(clock(-65), "-01:05");
        assert_eq!(clock(3_600), "60:00");
    }
}
