//! What a task checks. `spec` holds the declarations that task files carry; evaluating them
//! against an observed cluster snapshot is pure and lives beside them.

pub mod spec;

pub use spec::{Check, Criterion};
