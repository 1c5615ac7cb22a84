//! Shared helpers: a fresh app per test and one-shot requests through the router.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use kubelab::ContentFiles;
use kubelab::Store;
use kubelab::{AllowedHosts, AppState};
use tempfile::TempDir;
use tower::ServiceExt;

/// An app on a fresh database in its own temporary folder.
pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    /// The same store the app uses (one pool, one cache), for tests that set up rows.
    pub store: Store,
    pub dir: TempDir,
}

/// A response, fully read.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    /// The body as it came (for binary downloads).
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The learner cookie set by this response, as `name=value`.
    pub fn cookie(&self) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("kubelab_learner="))
            .map(|v| v.split(';').next().unwrap().to_string())
    }
}

pub async fn test_app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("kubelab.db")).await.unwrap();
    app_on(store, dir)
}

pub fn app_on(store: Store, dir: TempDir) -> TestApp {
    let catalogue =
        kubelab::load_content(&ContentFiles::embedded()).expect("the real content lints clean");
    let state = AppState::new(
        catalogue,
        store.clone(),
        AllowedHosts::loopback_and(Vec::new()),
        crate::support::no_cluster(),
    );
    TestApp {
        router: kubelab::app(state.clone()),
        state,
        store,
        dir,
    }
}

/// A request builder with the Host header a browser on this machine would send.
pub fn request(method: Method, path: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost:8080")
}

impl TestApp {
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            bytes: bytes.to_vec(),
        }
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        let mut builder = request(Method::GET, path);
        if let Some(cookie) = cookie {
            builder = builder.header("cookie", cookie);
        }
        self.send(builder.body(Body::empty()).unwrap()).await
    }

    pub async fn call(&self, method: Method, path: &str, cookie: &str) -> Reply {
        self.send(
            request(method, path)
                .header("cookie", cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    /// A new learner: their cookie, from a first visit.
    pub async fn learner(&self) -> String {
        self.get("/", None)
            .await
            .cookie()
            .expect("first visit sets a cookie")
    }
}

/// A cluster registry whose kubeconfig does not exist: checks explain there is no cluster.
pub fn no_cluster() -> kubelab::Clusters {
    kubelab::Clusters::new(
        kubelab::KubeconfigSource::file("/nonexistent/kubelab-test/kubeconfig".into()),
        None,
        kubelab::AllowedContexts::All,
    )
}
