//! The diagnosis page in Chromium on a simulated kind cluster without a CNI: the steps fill in
//! as they finish and the first broken link is highlighted. Screenshot: diagnose.png.

use crate::browser::{eval, save, start_driver, wait_for_secs};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_diagnosis_in_chromium() {
    let Some(driver) = start_driver() else { return };
    let (_env, addr) = crate::fake::served_simulated().await;

    let client = crate::browser::browser(&driver).await;
    client
        .goto(&format!(
            "http://{addr}/lessons/pod-connectivity#troubleshooting"
        ))
        .await
        .unwrap();
    // The Troubleshooting section links the diagnosis.
    wait_for_secs(
        &client,
        "document.querySelector('#troubleshooting .diagnose-link a')",
        5,
    )
    .await;
    client
        .goto(&format!("http://{addr}/lessons/pod-connectivity/diagnose"))
        .await
        .unwrap();
    wait_for_secs(
        &client,
        "document.querySelector('#step-nodes-ready.step-fail')",
        10,
    )
    .await;
    wait_for_secs(
        &client,
        "document.querySelector('.diagnosis-summary').textContent.includes('First broken link')",
        45,
    )
    .await;
    let broken = eval(
        &client,
        "return document.querySelector('.first-broken').id;",
    )
    .await;
    assert_eq!(broken, "step-nodes-ready");
    assert!(
        eval(
            &client,
            "return document.querySelector('#step-nodes-ready .step-evidence').textContent;"
        )
        .await
        .as_str()
        .unwrap()
        .contains("NotReady")
    );
    client
        .execute("window.scrollTo(0, 0);", Vec::new())
        .await
        .unwrap();
    save(&client, "diagnose").await;
    client.close().await.unwrap();
}
