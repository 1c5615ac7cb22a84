//! Browser tests in headless Chromium (added below).
