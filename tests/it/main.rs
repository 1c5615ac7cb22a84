//! The one integration test binary: router, API, content and browser tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod browser;
mod checks;
mod cluster;
mod e2e;
mod exam_browser;
mod exams;
mod fake;
mod kind;
mod limits;
mod lint;
mod live;
mod pages;
mod practice;
mod security;
mod selftest;
mod setup;
mod store;
mod support;
mod terminal;
mod terminal_browser;
mod workshop_browser;
mod workshop_kind;
mod workshop_kubernetes;
mod workshops;
