//! The one integration test binary: router, API, content and browser tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod browser;
mod lint;
mod pages;
mod security;
mod store;
mod support;
