//! Who may write: learners already stored always; new ones at a bounded rate for the whole
//! server (never per address: a class often shares one NAT address), so a client inventing
//! cookies cannot grow the database without bound. Reads never store anyone.

use std::sync::Mutex;
use std::time::Instant;

use crate::store::LearnerId;

use super::{Service, ServiceError, ServiceResult};

/// New learners admitted at once (a class of 40 joining together, twice over).
const NEW_LEARNER_BURST: f64 = 100.0;
/// New learners admitted per second once the burst is spent.
const NEW_LEARNERS_PER_SECOND: f64 = 2.0;
/// Wrong join codes tolerated at once, then per second (guessing codes stays slow).
const WRONG_CODE_BURST: f64 = 20.0;
const WRONG_CODES_PER_SECOND: f64 = 1.0;

/// A token bucket: `burst` at once, refilled at `per_second`.
#[derive(Debug)]
pub(super) struct Bucket {
    burst: f64,
    per_second: f64,
    state: Mutex<(f64, Instant)>,
}

impl Bucket {
    fn new(burst: f64, per_second: f64) -> Bucket {
        Bucket {
            burst,
            per_second,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// The server-wide limit on new learners.
    pub(super) fn new_learners() -> Bucket {
        Bucket::new(NEW_LEARNER_BURST, NEW_LEARNERS_PER_SECOND)
    }

    /// The server-wide limit on wrong join codes.
    pub(super) fn wrong_codes() -> Bucket {
        Bucket::new(WRONG_CODE_BURST, WRONG_CODES_PER_SECOND)
    }

    /// Takes one token; false when none is left right now.
    pub(super) fn take(&self, now: Instant) -> bool {
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens, last) = &mut *guard;
        let refill = now.saturating_duration_since(*last).as_secs_f64() * self.per_second;
        *tokens = (*tokens + refill).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl Service {
    /// Whether `learner` may write now: a stored learner always, a new one while the
    /// server-wide rate of new learners allows (else a 429 with the reason).
    pub async fn admit_writer(&self, learner: &LearnerId) -> ServiceResult<()> {
        if self.0.store.learner_exists(learner).await? {
            return Ok(());
        }
        if self.0.new_learners.take(Instant::now()) {
            Ok(())
        } else {
            Err(ServiceError::TooManyNewLearners)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_then_a_steady_rate() {
        let bucket = Bucket::new_learners();
        let start = Instant::now();
        let admitted = (0..150).filter(|_| bucket.take(start)).count();
        assert_eq!(admitted, 100);
        assert!(!bucket.take(start));
        assert!(bucket.take(start + Duration::from_millis(500)));
        assert!(!bucket.take(start + Duration::from_millis(600)));
    }
}
