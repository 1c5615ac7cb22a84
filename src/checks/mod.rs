//! What a task checks and how it is judged. `spec` holds the declarations task files carry;
//! `plan` decides what to observe; the cluster layer fills an [`Observed`] snapshot; and
//! `evaluate` turns it into a [`Verdict`] with no I/O, so judging is unit-tested on fixtures.

pub mod diagnose;
pub mod evaluate;
pub mod observed;
pub mod plan;
pub mod pod;
pub mod probe;
pub mod spec;
pub mod verdict;

pub use observed::Need;
pub use spec::{Check, Criterion};
pub use verdict::{CriterionResult, Status, Verdict};

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;
