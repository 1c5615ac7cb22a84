//! The terminal in Chromium under kubelab's Content-Security-Policy: open it on a task page,
//! type a command and read its output, resize the window and see the size reach the cluster,
//! reload and land in the same shell, and no CSP violation on the way. Screenshot:
//! terminal.png.

use fantoccini::{Client, Locator};

use crate::browser::{eval, save, start_driver, wait_for_secs};

/// The text the terminal shows (xterm's screen-reader mirror of its rows).
const SCREEN: &str =
    "(document.querySelector('.xterm-accessibility-tree') || {textContent: ''}).textContent";

async fn type_keys(client: &Client, keys: &str) {
    client
        .find(Locator::Css(".xterm-helper-textarea"))
        .await
        .unwrap()
        .send_keys(keys)
        .await
        .unwrap();
}

/// Records every CSP violation the page reports from now on.
async fn watch_csp(client: &Client) {
    eval(
        client,
        "window.cspViolations = []; document.addEventListener('securitypolicyviolation', function (e) { window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber); });",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_in_chromium() {
    let Some(driver) = start_driver() else { return };
    let (env, addr) = crate::fake::served_simulated().await;
    let base = format!("http://{addr}");

    let client = crate::browser::browser(&driver).await;
    client
        .goto(&format!("{base}/tasks/install-flannel"))
        .await
        .unwrap();
    wait_for_secs(
        &client,
        "window.Terminal && document.querySelector('.terminal-open')",
        5,
    )
    .await;
    watch_csp(&client).await;
    client
        .find(Locator::Css(".terminal-open"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_secs(&client, &format!("{SCREEN}.includes('$ ')"), 30).await;
    type_keys(&client, "echo typed in the browser\u{E007}").await;
    wait_for_secs(
        &client,
        &format!("{SCREEN}.includes('typed in the browser') && {SCREEN}.split('typed in the browser').length > 2"),
        10,
    )
    .await;
    save(&client, "terminal").await;

    // A narrower window: the terminal refits and the new size reaches the exec stream.
    let before = env.fake.terminal_sizes();
    client.set_window_size(900, 900).await.unwrap();
    for _ in 0..100 {
        if env.fake.terminal_sizes().len() > before.len() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let after = env.fake.terminal_sizes();
    assert!(after.len() > before.len(), "a resize reached the cluster");
    let (first, last) = (before.last().unwrap().1, after.last().unwrap().1);
    assert!(last.width < first.width, "{first:?} then {last:?}");

    // A reload reopens the terminal into the same shell: its history is there.
    client.refresh().await.unwrap();
    wait_for_secs(&client, &format!("{SCREEN}.includes('$ ')"), 30).await;
    type_keys(&client, "history\u{E007}").await;
    wait_for_secs(
        &client,
        &format!("{SCREEN}.includes('1  echo typed in the browser')"),
        10,
    )
    .await;

    // A WebSocket without a ticket is refused.
    eval(
        &client,
        "window.refused = 'pending'; var s = new WebSocket('ws://' + location.host + '/terminal/ws'); s.onopen = function () { window.refused = 'opened'; }; s.onerror = function () { window.refused = 'refused'; };",
    )
    .await;
    wait_for_secs(&client, "window.refused === 'refused'", 5).await;

    let violations = eval(&client, "return window.cspViolations || [];").await;
    assert_eq!(
        violations,
        serde_json::json!([]),
        "no Content-Security-Policy violation"
    );
    client.close().await.unwrap();
}
