//! kubelab: an interactive tutorial server for the Kubernetes CKA exam.

pub mod checks;
pub mod cli;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod content;
pub mod exam;
pub mod kind;
pub mod service;
pub mod store;
pub mod web;

pub use store::MIGRATOR;
pub use web::{AllowedHosts, AppState, app, serve};
