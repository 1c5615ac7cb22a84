//! A workshop in Chromium: the instructor signs in and creates a workshop; a learner joins in
//! another browser session, works on their own cluster, and the instructor's roster turns
//! green without a reload. Screenshots: workshop-join.png, workshop-roster.png.

use fantoccini::Locator;

use crate::browser::{browser, browser_in, eval, save, start_driver, wait_for_secs};
use crate::exams::solve_deploy_two_pods;
use crate::fake::nodes;

const SECRET: &str = "a-long-instructor-secret-for-the-browser";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_class_in_chromium() {
    let Some(driver) = start_driver() else { return };
    let clusters = tempfile::tempdir().unwrap();
    let mut fakes = Vec::new();
    for n in 1..=2 {
        let fake = fake_apiserver::FakeCluster::new();
        nodes(&fake, true);
        let server = fake.start().await.unwrap();
        std::fs::write(
            clusters.path().join(format!("learner-{n}.yaml")),
            fake.kubeconfig(&server, "kind-kubelab"),
        )
        .unwrap();
        fakes.push((fake, server));
    }
    let app = crate::support::test_app().await;
    let state = app
        .state
        .clone()
        .with_instructor(kubelab::InstructorGate::reusable(SECRET.into()));
    let router = kubelab::app(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let base = format!("http://{addr}");

    // The instructor signs in and creates the workshop with the form.
    let instructor = browser(&driver).await;
    instructor
        .goto(&format!("{base}/instructor/sign-in?token={SECRET}"))
        .await
        .unwrap();
    wait_for_secs(&instructor, "document.querySelector('#title')", 5).await;
    let field = |css: &'static str| {
        let client = instructor.clone();
        async move { client.find(Locator::Css(css)).await.unwrap() }
    };
    field("#title")
        .await
        .send_keys("Thursday class")
        .await
        .unwrap();
    field("input[name=provider][value=kubeconfigs]")
        .await
        .click()
        .await
        .unwrap();
    field("#kubeconfigs")
        .await
        .send_keys(clusters.path().to_str().unwrap())
        .await
        .unwrap();
    field(".workshop-form button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    wait_for_secs(&instructor, "document.querySelector('.join-code')", 5).await;
    let code = eval(
        &instructor,
        "return document.querySelector('.join-code').textContent;",
    )
    .await
    .as_str()
    .unwrap()
    .to_string();
    let roster_url = instructor.current_url().await.unwrap().to_string();

    // A learner joins from another browser.
    let profile = tempfile::tempdir().unwrap();
    let learner = browser_in(&driver, profile.path()).await;
    learner.goto(&format!("{base}/join/{code}")).await.unwrap();
    learner
        .find(Locator::Css("#display_name"))
        .await
        .unwrap()
        .send_keys("Ada")
        .await
        .unwrap();
    learner
        .find(Locator::Css(".join-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_secs(&learner, "document.querySelector('.join-result')", 5).await;
    assert!(
        eval(
            &learner,
            "return document.body.textContent.includes('learner-1.yaml');"
        )
        .await
        .as_bool()
        .unwrap()
    );
    save(&learner, "workshop-join").await;
    learner.goto(&format!("{base}/")).await.unwrap();
    assert!(
        eval(
            &learner,
            "return document.querySelector('.cluster-badge').textContent;"
        )
        .await
        .as_str()
        .unwrap()
        .contains("workshop cluster learner-1.yaml"),
        "the header names her own cluster"
    );

    // The roster shows her; she solves the task on her cluster and opens its page.
    instructor.goto(&roster_url).await.unwrap();
    wait_for_secs(
        &instructor,
        "document.querySelector('td[data-task=\"deploy-two-pods\"]')",
        5,
    )
    .await;
    let cell = "document.querySelector('td[data-task=\"deploy-two-pods\"]')";
    assert!(
        eval(&instructor, &format!("return {cell}.className;"))
            .await
            .as_str()
            .unwrap()
            .contains("not-started")
    );
    solve_deploy_two_pods(&fakes[0].0);
    learner
        .goto(&format!("{base}/tasks/deploy-two-pods"))
        .await
        .unwrap();
    wait_for_secs(
        &instructor,
        &format!("{cell}.classList.contains('status-passed')"),
        10,
    )
    .await;
    save(&instructor, "workshop-roster").await;
    learner.close().await.unwrap();
    instructor.close().await.unwrap();
}
