//! Time in one place: the server's clock (which tests can set), timers as pure functions of
//! a time passed in, and the one way times are shown.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// The server's clock, in seconds since the epoch: the only authority on time. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// Seconds added to the system time; tests move time forward with it.
    offset: Arc<AtomicI64>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// Seconds since the epoch, now.
    pub fn now(&self) -> i64 {
        k8s_openapi::jiff::Timestamp::now().as_second() + self.offset.load(Ordering::Relaxed)
    }

    /// Moves this clock (and its clones) `seconds` forward, for tests of deadlines.
    pub fn advance(&self, seconds: i64) {
        self.offset.fetch_add(seconds, Ordering::Relaxed);
    }
}

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
}

/// `mm:ss` for a duration in seconds, with a leading `-` when negative (overtime).
pub fn mm_ss(seconds: i64) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let s = seconds.unsigned_abs();
    format!("{sign}{:02}:{:02}", s / 60, s % 60)
}

/// How precisely a moment is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// `2026-11-26 09:30 UTC`: histories and reports.
    Minute,
    /// `2026-11-26 09:30:05 UTC`: when a check ran.
    Second,
}

/// A moment (seconds since the epoch) as UTC text; the one date formatter.
pub fn utc(seconds: i64, precision: Precision) -> String {
    let format = match precision {
        Precision::Minute => "%Y-%m-%d %H:%M UTC",
        Precision::Second => "%Y-%m-%d %H:%M:%S UTC",
    };
    k8s_openapi::jiff::Timestamp::from_second(seconds)
        .map(|t| t.strftime(format).to_string())
        .unwrap_or_default()
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
        assert_eq!(timer.deadline_at - timer.started_at, 420);
    }

    #[test]
    fn clock_format() {
        assert_eq!(mm_ss(420), "07:00");
        assert_eq!(mm_ss(59), "00:59");
        assert_eq!(mm_ss(0), "00:00");
        assert_eq!(mm_ss(-65), "-01:05");
        assert_eq!(mm_ss(3_600), "60:00");
    }

    #[test]
    fn dates_in_utc() {
        assert_eq!(utc(0, Precision::Minute), "1970-01-01 00:00 UTC");
        assert_eq!(utc(3_725, Precision::Second), "1970-01-01 01:02:05 UTC");
    }

    #[test]
    fn an_advanced_clock_moves_its_clones() {
        let clock = Clock::system();
        let copy = clock.clone();
        let before = copy.now();
        clock.advance(3_600);
        assert!(copy.now() >= before + 3_600);
    }
}
