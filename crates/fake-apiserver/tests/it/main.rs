//! Integration tests: the fake API server driven by kube-rs, kubectl and its own binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod binary;
mod client;
mod exec;
mod kubectl;
mod simulation;
mod support;
mod watch;
