//! kubelab: an interactive tutorial server for the Kubernetes CKA exam.
//!
//! The modules are private: the crate exports only what the binary, the tests and the
//! examples use, so rustc reports everything else that nothing calls.

mod checks;
pub mod cli;
mod clock;
mod cluster;
pub mod config;
mod content;
mod exam;
mod kind;
mod service;
mod store;
mod web;

pub use checks::{Check, Criterion, Status as CriterionStatus, Verdict, probe};
pub use clock::{Clock, Timer};
pub use cluster::{
    AllowedContexts, Clusters, Connection, KubeconfigSource, install_crypto_provider,
};
pub use content::{Catalogue, ContentFiles, Task, load as load_content};
pub use exam::{ExamSnapshot, Status as AttemptStatus, plan as plan_exam};
pub use kind::sha256_file;
pub use service::check::check;
pub use service::selftest::{Timing as SelftestTiming, prepare_network};
pub use service::steps::run as run_steps;
pub use service::{Action, Outcome, SetupOptions};
pub use store::{LearnerId, MIGRATOR, Store, StoreError, StoreOptions};
pub use web::instructor::InstructorGate;
pub use web::listen::{Limits, serve as serve_with_limits};
pub use web::security::CONTENT_SECURITY_POLICY;
pub use web::{AllowedHosts, AppState, app, harden, serve};
