//! The UI in headless Chromium through ChromeDriver (Debian's chromium and chromium-driver).
//! Skipped with a visible message when they are missing, except under CI, where it fails.

use std::net::{SocketAddr, TcpListener as StdListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::support::test_app;

/// A running ChromeDriver, killed on drop.
pub struct Driver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
    chromium: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Ok(path) = std::env::var(env) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn start_driver() -> Option<Driver> {
    let driver = find("KUBELAB_CHROMEDRIVER", &["chromedriver"]);
    let chromium = find(
        "KUBELAB_CHROMIUM",
        &["chromium", "chromium-browser", "google-chrome"],
    );
    let (Some(driver), Some(chromium)) = (driver, chromium) else {
        let message = "browser tests need chromium and chromedriver (apt-get install chromium chromium-driver)";
        assert!(
            std::env::var_os("CI").is_none(),
            "{message}: CI must install them"
        );
        eprintln!("SKIPPED browser tests: {message}");
        return None;
    };
    let port = free_port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let deadline = Instant::now() + Duration::from_secs(15);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not listen within 15 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(Driver {
        child,
        port,
        _profile: tempfile::tempdir().unwrap(),
        chromium,
    })
}

pub async fn browser(driver: &Driver) -> Client {
    browser_in(driver, driver._profile.path()).await
}

/// A browser session with its own profile (its own cookies): another person at another machine.
pub async fn browser_in(driver: &Driver, profile: &Path) -> Client {
    // fantoccini's rustls and kube's both compile in; pick one provider for the process.
    kubelab::install_crypto_provider();
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": driver.chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-quic", "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    ClientBuilder::rustls()
        .unwrap()
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a WebDriver session")
}

fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub async fn save(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    std::fs::write(screenshot_dir().join(format!("{name}.png")), png).unwrap();
}

/// Clicks the first element matching `css`.
pub async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .unwrap();
}

pub async fn eval(client: &Client, script: &str) -> Value {
    client.execute(script, Vec::new()).await.unwrap()
}

/// Polls a JS expression until it is truthy; fails after five seconds.
pub async fn wait_for(client: &Client, expression: &str) {
    wait_for_secs(client, expression, 5).await;
}

/// Polls a JS expression until it is truthy; fails after `secs` seconds.
pub async fn wait_for_secs(client: &Client, expression: &str, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let value = eval(client, &format!("return !!({expression});")).await;
        if value == json!(true) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {expression}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn serve() -> (SocketAddr, crate::support::TestApp) {
    let app = test_app().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (addr, app)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learner_reads_copies_and_marks_progress_in_chromium() {
    let Some(driver) = start_driver() else { return };
    let (addr, _app) = serve().await;
    let base = format!("http://{addr}");
    let client = browser(&driver).await;

    // The catalogue links to the lesson.
    client.goto(&format!("{base}/")).await.unwrap();
    save(&client, "catalogue").await;
    click(&client, "a[href='/lessons/pod-connectivity']").await;
    wait_for(&client, "location.pathname === '/lessons/pod-connectivity'").await;
    wait_for(&client, "!document.querySelector('.copy-button').hidden").await;
    save(&client, "lesson").await;

    // Following the table of contents scrolls to the section.
    click(&client, ".toc-list a[href='#procedures']").await;
    wait_for(&client, "location.hash === '#procedures'").await;
    wait_for(
        &client,
        "Math.abs(document.getElementById('procedures').getBoundingClientRect().top) < 120",
    )
    .await;
    wait_for(
        &client,
        "document.querySelector('.reading-progress').value > 0",
    )
    .await;

    // Copy a manifest: the copied text is exactly the raw file.
    let raw = reqwest_text(&format!("{base}/lessons/pod-connectivity/files/pod1.yaml")).await;
    eval(
        &client,
        "window.__copied = null; navigator.clipboard.writeText = function (t) { window.__copied = t; return Promise.resolve(); };",
    )
    .await;
    let button = "document.querySelector('a[href=\"/lessons/pod-connectivity/files/pod1.yaml\"]').closest('figure').querySelector('.copy-button')";
    eval(
        &client,
        &format!("{button}.scrollIntoView({{block: 'center'}}); {button}.click();"),
    )
    .await;
    wait_for(&client, &format!("{button}.textContent === 'Copied'")).await;
    let copied = eval(&client, "return window.__copied;").await;
    assert_eq!(
        copied.as_str().unwrap(),
        raw,
        "the copy button copies the manifest verbatim"
    );
    save(&client, "lesson-copied").await;

    // Without the Clipboard API (plain HTTP on a workshop host) the fallback still copies or selects.
    eval(
        &client,
        "Object.defineProperty(navigator, 'clipboard', { value: undefined, configurable: true });",
    )
    .await;
    eval(&client, &format!("{button}.click();")).await;
    wait_for(
        &client,
        &format!("{button}.textContent === 'Copied' || ({button}.textContent === 'Press Ctrl+C' && window.getSelection().toString().includes('name: pod1'))"),
    )
    .await;

    // Mark a section done, reload, see it persist.
    let theory_button = "document.querySelector('form.mark-done[data-section=\"theory\"] button')";
    eval(
        &client,
        &format!("{theory_button}.scrollIntoView({{block: 'center'}});"),
    )
    .await;
    click(&client, "form.mark-done[data-section='theory'] button").await;
    wait_for(
        &client,
        &format!("{theory_button}.getAttribute('aria-pressed') === 'true'"),
    )
    .await;
    wait_for(
        &client,
        "document.querySelector('.done-count').textContent === '1'",
    )
    .await;
    client.refresh().await.unwrap();
    wait_for(&client, "document.querySelector('.toc-list li[data-section=\"theory\"]').classList.contains('done')").await;
    wait_for(
        &client,
        &format!("{theory_button}.getAttribute('aria-pressed') === 'true'"),
    )
    .await;
    wait_for(
        &client,
        "document.getElementById('lesson-progress').value === 1",
    )
    .await;
    client
        .goto(&format!("{base}/lessons/pod-connectivity#theory"))
        .await
        .unwrap();
    save(&client, "lesson-section-done").await;

    // The catalogue shows the progress too.
    client.goto(&format!("{base}/")).await.unwrap();
    wait_for(
        &client,
        "document.body.textContent.includes('1 of 11 sections done')",
    )
    .await;

    // Task page: hints reveal one after another; the solution stays folded until asked for.
    client
        .goto(&format!("{base}/tasks/fix-port-conflict"))
        .await
        .unwrap();
    wait_for(
        &client,
        "document.querySelectorAll('details.hint')[1].hidden === true",
    )
    .await;
    wait_for(&client, "!document.querySelector('details.solution').open").await;
    click(&client, "details.hint summary").await;
    wait_for(
        &client,
        "document.querySelectorAll('details.hint')[1].hidden === false",
    )
    .await;
    save(&client, "task").await;

    // The learner page sets a name shown in the header.
    client.goto(&format!("{base}/me")).await.unwrap();
    let input = client.find(Locator::Id("display_name")).await.unwrap();
    input.send_keys("Ada").await.unwrap();
    click(&client, ".name-form button").await;
    wait_for(
        &client,
        "document.querySelector('.learner-link').textContent === 'Ada'",
    )
    .await;
    save(&client, "learner").await;

    // Dark theme, remembered across pages, and a phone-sized viewport.
    client
        .goto(&format!("{base}/lessons/pod-connectivity"))
        .await
        .unwrap();
    let toggle = client.find(Locator::Css(".theme-toggle")).await.unwrap();
    toggle.click().await.unwrap();
    toggle.click().await.unwrap();
    wait_for(
        &client,
        "document.documentElement.getAttribute('data-theme') === 'dark'",
    )
    .await;
    client
        .goto(&format!("{base}/tasks/deploy-two-pods"))
        .await
        .unwrap();
    wait_for(
        &client,
        "document.documentElement.getAttribute('data-theme') === 'dark'",
    )
    .await;
    save(&client, "task-dark").await;
    client.set_window_size(390, 844).await.unwrap();
    client
        .goto(&format!("{base}/lessons/pod-connectivity"))
        .await
        .unwrap();
    wait_for(
        &client,
        "document.documentElement.scrollWidth <= window.innerWidth + 1",
    )
    .await;
    save(&client, "lesson-phone-dark").await;

    // Timed practice: the countdown runs from the server's deadline (the cluster is absent
    // here, so the setup fails, and the page says so).
    client
        .goto(&format!("{base}/tasks/deploy-two-pods"))
        .await
        .unwrap();
    click(&client, "#practice form button").await;
    wait_for(&client, "!!document.querySelector('.timer[data-deadline]')").await;
    let first = eval(
        &client,
        "return document.querySelector('.timer').textContent;",
    )
    .await;
    wait_for(
        &client,
        &format!("document.querySelector('.timer').textContent !== {first}"),
    )
    .await;
    eval(
        &client,
        "document.getElementById('practice').scrollIntoView();",
    )
    .await;
    save(&client, "task-practice").await;

    // A friendly 404.
    client.goto(&format!("{base}/lessons/nope")).await.unwrap();
    wait_for(
        &client,
        "document.querySelector('h1').textContent.includes('404')",
    )
    .await;
    save(&client, "not-found").await;

    client.close().await.unwrap();
}

/// Fetches a URL's body with a bare HTTP/1.1 request (no extra client dependency).
async fn reqwest_text(url: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (_, body) = response.split_once("\r\n\r\n").unwrap();
    body.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_page_updates_itself_when_the_cluster_changes() {
    let Some(driver) = start_driver() else { return };
    let env = crate::fake::env().await;
    crate::fake::nodes(&env.fake, true);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = env.app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let client = browser(&driver).await;

    client
        .goto(&format!("http://{addr}/tasks/deploy-two-pods"))
        .await
        .unwrap();
    let namespace = "document.querySelector('[data-criterion=\"namespace-test\"]')";
    wait_for(
        &client,
        &format!("{namespace} && {namespace}.classList.contains('status-failed')"),
    )
    .await;
    wait_for(&client, "!document.querySelector('.live-status').hidden").await;
    eval(
        &client,
        "document.getElementById('verdict').scrollIntoView();",
    )
    .await;
    save(&client, "task-verdict-failing").await;

    // The learner creates the namespace in another terminal; nobody reloads the page.
    crate::fake::namespace_test(&env.fake);
    wait_for(
        &client,
        &format!("{namespace}.classList.contains('status-passed')"),
    )
    .await;
    wait_for(
        &client,
        "document.querySelector('.verdict-score').textContent.includes('1 / 11 points')",
    )
    .await;
    crate::fake::running_nginx(&env.fake, "pod1", "10.244.1.2");
    crate::fake::running_nginx(&env.fake, "pod2", "10.244.1.3");
    crate::fake::pod1_reaches_pod2(&env.fake);
    wait_for(
        &client,
        "document.querySelector('.verdict-score').textContent.includes('11 / 11 points')",
    )
    .await;
    eval(
        &client,
        "document.getElementById('verdict').scrollIntoView();",
    )
    .await;
    save(&client, "task-verdict-passed").await;
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seventh_tab_does_not_hang() {
    let Some(driver) = start_driver() else { return };
    let env = crate::fake::env().await;
    crate::fake::nodes(&env.fake, true);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = env.app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let client = browser(&driver).await;
    let url = format!("http://{addr}/tasks/deploy-two-pods");
    client.goto(&url).await.unwrap();
    wait_for(&client, "!document.querySelector('.live-status').hidden").await;
    for _ in 0..7 {
        let window = client.new_window(true).await.unwrap();
        client.switch_to_window(window.handle).await.unwrap();
        client.goto(&url).await.unwrap();
        wait_for(
            &client,
            "document.readyState === 'complete' && !!document.querySelector('.verdict-box')",
        )
        .await;
    }
    // The last tab still gets answers from the server: nothing is starved of connections.
    let answered = client
        .execute_async(
            "const done = arguments[arguments.length - 1]; fetch('/healthz').then(r => done(r.status), () => done(0));",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(answered, json!(200));
    let streams = client
        .execute(
            "return document.querySelectorAll('.live-status:not([hidden])').length;",
            Vec::new(),
        )
        .await
        .unwrap();
    assert!(streams.as_u64().unwrap() <= 1);
    client.close().await.unwrap();
}
