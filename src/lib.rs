//! kubelab: an interactive tutorial server for the Kubernetes CKA exam.

pub mod checking;
pub mod checks;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod content;
pub mod error;
pub mod exam;
pub mod kind;
pub mod proctor;
pub mod progress;
pub mod setup;
pub mod state;
pub mod store;
pub mod timer;
pub mod web;

pub use state::{AllowedHosts, AppState};
pub use store::MIGRATOR;
pub use web::app;
