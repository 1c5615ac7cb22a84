//! Shared application state, handed to every handler: the use-cases and the host guard.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;

use crate::clock::Clock;
use crate::cluster::Clusters;
use crate::content::Catalogue;
use crate::service::Service;
use crate::store::Store;
use crate::web::assets::{Asset, HIGHLIGHT_CSS};
use crate::web::lesson::LessonPages;
use crate::web::page::Chrome;
use crate::web::page_cache::PageCache;

/// Compressed lesson pages kept (about 60 KB per learner state: a few hundred learners).
const PAGE_CACHE_BYTES: usize = 16 * 1024 * 1024;

/// Cheap to clone: one `Arc` around everything handlers share.
#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl std::ops::Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

/// What handlers share.
pub struct App {
    /// kubelab's use-cases.
    pub service: Service,
    /// Host names (without port) this server answers for.
    pub allowed_hosts: AllowedHosts,
    /// The content's highlight stylesheet, served under `/static`.
    highlight_css: Asset,
    /// Every lesson's page, rendered and compressed once.
    lessons: LessonPages,
    /// Lesson pages compressed whole, per learner state seen.
    page_cache: PageCache,
    /// Raised when the server shuts down, so open streams end.
    stopping: tokio::sync::watch::Sender<bool>,
    /// The instructor's secret, set once before serving.
    instructor: std::sync::OnceLock<crate::web::instructor::InstructorGate>,
}

impl AppState {
    /// Builds the state from loaded content, an open store, the hosts to answer for and the
    /// clusters, on the system clock.
    pub fn new(
        catalogue: Catalogue,
        store: Store,
        allowed_hosts: AllowedHosts,
        clusters: Clusters,
    ) -> AppState {
        let highlight_css = Asset::new(
            HIGHLIGHT_CSS,
            Bytes::from(catalogue.highlight_css.clone().into_bytes()),
        );
        let links = Chrome {
            highlight_css: highlight_css.url().into(),
            ..Chrome::default()
        };
        let lessons = LessonPages::build(&catalogue, &links);
        AppState(Arc::new(App {
            service: Service::new(catalogue, store, clusters, Clock::system()),
            allowed_hosts,
            highlight_css,
            lessons,
            page_cache: PageCache::new(PAGE_CACHE_BYTES),
            stopping: tokio::sync::watch::Sender::new(false),
            instructor: std::sync::OnceLock::new(),
        }))
    }

    /// The same state with an instructor secret; the first secret set stays.
    pub fn with_instructor(self, gate: crate::web::instructor::InstructorGate) -> AppState {
        let _ = self.0.instructor.set(gate);
        self
    }

    /// The instructor's secret (none: nobody can sign in).
    pub fn instructor(&self) -> &crate::web::instructor::InstructorGate {
        static NONE: std::sync::OnceLock<crate::web::instructor::InstructorGate> =
            std::sync::OnceLock::new();
        self.0
            .instructor
            .get()
            .unwrap_or_else(|| NONE.get_or_init(crate::web::instructor::InstructorGate::none))
    }

    /// The content's highlight stylesheet.
    pub fn highlight_css(&self) -> &Asset {
        &self.0.highlight_css
    }

    /// The lessons' prebuilt pages.
    pub fn lessons(&self) -> &LessonPages {
        &self.0.lessons
    }

    /// Lesson pages compressed whole.
    pub fn page_cache(&self) -> &PageCache {
        &self.0.page_cache
    }

    /// Compresses what is left to compress (the static files), off the request path.
    pub fn warm(&self) {
        crate::web::assets::warm();
        self.0.highlight_css.warm();
    }

    /// Tells open streams (live verdicts) that the server is shutting down.
    pub fn stop(&self) {
        self.stopping.send_replace(true);
    }

    /// Completes once the server is shutting down.
    pub fn stopped(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.stopping.subscribe();
        async move {
            let _ = rx.wait_for(|stopping| *stopping).await;
        }
    }
}

/// The host names a request's `Host` header may carry, compared without the port.
#[derive(Debug, Clone)]
pub struct AllowedHosts(HashSet<String>);

impl AllowedHosts {
    /// Loopback names plus `extra` (from `--allow-host`), lowercased.
    pub fn loopback_and<I: IntoIterator<Item = String>>(extra: I) -> AllowedHosts {
        let mut names: HashSet<String> = ["localhost", "127.0.0.1", "::1"]
            .into_iter()
            .map(str::to_string)
            .collect();
        names.extend(extra.into_iter().map(|h| {
            let h = h.trim().to_ascii_lowercase();
            host_name(&h).to_string()
        }));
        AllowedHosts(names)
    }

    /// Whether a `Host` header value (with or without port) is allowed.
    pub fn allows(&self, host_header: &str) -> bool {
        let host = host_header.trim().to_ascii_lowercase();
        self.0.contains(host_name(&host))
    }
}

/// The name part of `host[:port]` or `[v6]:port`; an authority that is neither (such as
/// `[::1]evil.com` or `localhost:80x`) yields an empty name, which no allow-list holds.
pub fn host_name(authority: &str) -> &str {
    let port_ok = |port: &str| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
    if let Some(rest) = authority.strip_prefix('[') {
        let Some((inside, after)) = rest.split_once(']') else {
            return "";
        };
        let valid = after.is_empty() || after.strip_prefix(':').is_some_and(port_ok);
        let v6 = inside
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        return if valid && v6 && !inside.is_empty() {
            inside
        } else {
            ""
        };
    }
    let (name, port) = match authority.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (authority, None),
    };
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
    if name_ok && port.is_none_or(port_ok) {
        name
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_matching_ignores_port_and_case() {
        let hosts = AllowedHosts::loopback_and(["Workshop.Example:8080".to_string()]);
        assert!(hosts.allows("localhost:8080"));
        assert!(hosts.allows("127.0.0.1"));
        assert!(hosts.allows("[::1]:8080"));
        assert!(hosts.allows("workshop.example"));
        assert!(!hosts.allows("evil.example:8080"));
        assert!(!hosts.allows("localhost.evil.example"));
        assert!(!hosts.allows(""));
        assert!(!hosts.allows("[::1]evil.com"));
        assert!(!hosts.allows("[::1]:80x"));
        assert!(!hosts.allows("localhost:"));
        assert!(!hosts.allows("localhost:80:80"));
        assert!(!hosts.allows("local host"));
    }
}
