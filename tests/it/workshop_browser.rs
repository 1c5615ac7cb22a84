//! A workshop in Chromium: the instructor signs in and creates a workshop; three learners join
//! in browser sessions of their own, each on a different cluster; one solves a task and the
//! instructor's roster turns green without a reload; a broadcast reaches every learner's open
//! page; a class exam starts for all three with one deadline.
//! Screenshots: workshop-join.png, workshop-roster.png, workshop-message.png.

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
    for n in 1..=3 {
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

    // Three learners join, each from a browser session of their own.
    let mut learners = Vec::new();
    let mut profiles = Vec::new();
    for (n, name) in ["Ada", "Brian", "Chen"].into_iter().enumerate() {
        let profile = tempfile::tempdir().unwrap();
        let learner = browser_in(&driver, profile.path()).await;
        profiles.push(profile);
        learner.goto(&format!("{base}/join/{code}")).await.unwrap();
        learner
            .find(Locator::Css("#display_name"))
            .await
            .unwrap()
            .send_keys(name)
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
        let own = format!("learner-{}.yaml", n + 1);
        assert!(
            eval(
                &learner,
                &format!("return document.body.textContent.includes('{own}');")
            )
            .await
            .as_bool()
            .unwrap(),
            "{name} got {own}"
        );
        if n == 0 {
            save(&learner, "workshop-join").await;
        }
        learner.goto(&format!("{base}/")).await.unwrap();
        assert!(
            eval(
                &learner,
                "return document.querySelector('.cluster-badge').textContent;"
            )
            .await
            .as_str()
            .unwrap()
            .contains(&format!("workshop cluster {own}")),
            "the header names {name}'s own cluster"
        );
        learners.push(learner);
    }
    let learner = &learners[0];

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

    // A broadcast appears on every learner's open task page, without a reload.
    for l in &learners[1..] {
        l.goto(&format!("{base}/tasks/deploy-two-pods"))
            .await
            .unwrap();
    }
    for l in &learners {
        wait_for_secs(l, "document.querySelector('.verdict, .criteria, main')", 5).await;
    }
    instructor
        .find(Locator::Css(".message-form #text"))
        .await
        .unwrap()
        .send_keys("Ten minutes left for the first task")
        .await
        .unwrap();
    instructor
        .find(Locator::Css(".message-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    for l in &learners {
        wait_for_secs(
            l,
            "document.querySelector('.class-messages') && document.querySelector('.class-messages').textContent.includes('Ten minutes left')",
            10,
        )
        .await;
    }
    save(&learners[1], "workshop-message").await;

    // A class exam for all three: setups run, then one start gives everyone one deadline.
    instructor.goto(&roster_url).await.unwrap();
    instructor
        .find(Locator::Css(".class-exam-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_secs(
        &instructor,
        "document.querySelector('table.class-exam')",
        10,
    )
    .await;
    instructor
        .find(Locator::Css("form[action$='/start'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let mut deadlines = std::collections::BTreeSet::new();
    for l in &learners {
        let cookie = l.get_named_cookie("kubelab_learner").await.unwrap();
        let id = kubelab::LearnerId::parse(cookie.value()).unwrap();
        let mut deadline = None;
        for _ in 0..100 {
            let latest = app
                .store
                .exam_history(&id, "pod-connectivity-one-cluster")
                .await
                .unwrap()
                .into_iter()
                .next();
            if let Some(t) = latest.and_then(|a| a.timer) {
                deadline = Some(t.deadline_at);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        deadlines.insert(deadline.expect("the learner's exam clock started"));
    }
    assert_eq!(
        deadlines.len(),
        1,
        "one deadline for the class: {deadlines:?}"
    );
    for l in learners {
        l.close().await.unwrap();
    }
    instructor.close().await.unwrap();
}
