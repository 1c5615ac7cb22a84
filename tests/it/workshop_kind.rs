//! The workshop `kind` provider end to end with the real `kubelab serve` binary, fake `kind`
//! and `docker` executables on its PATH, and simulated kind clusters (fake API servers) as
//! what `kind create cluster` makes: a warm pool, at most N boots at once, the pinned Flannel
//! on every new cluster, recycling on leave and recreate, reconciliation after `kill -9`, and
//! every cluster deleted with the workshop.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fake_apiserver::{FakeCluster, Server};
use serde_json::Value;

use crate::exams::{Killed, http, wait_healthy};
use crate::kind::World;

const TOKEN: &str = "a-workshop-instructor-secret";

/// Simulated kind clusters waiting in `pool/`, one kubeconfig file each.
struct Pool {
    fakes: Vec<(FakeCluster, Server)>,
}

async fn pool(world: &World, n: usize) -> Pool {
    let root = world.root();
    for dir in ["pool", "made", "db"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    std::fs::write(root.join("clusters"), "").unwrap();
    let mut fakes = Vec::new();
    for i in 0..n {
        let fake = FakeCluster::new();
        fake.simulate_kind("lab", 1);
        let server = fake.start().await.unwrap();
        std::fs::write(
            root.join("pool").join(format!("{i:02}")),
            fake.kubeconfig(&server, "kind-lab"),
        )
        .unwrap();
        fakes.push((fake, server));
    }
    Pool { fakes }
}

fn flannel_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kube-flannel-v0.28.9.yml")
}

/// `kubelab serve` on the world's database, with only the fakes on PATH.
async fn serve(world: &World, addr: &str, boot_seconds: &str) -> Killed {
    let root = world.root();
    std::fs::write(root.join("token"), TOKEN).unwrap();
    let child = Killed(
        std::process::Command::new(env!("CARGO_BIN_EXE_kubelab"))
            .args(["serve", "--addr", addr, "--db"])
            .arg(root.join("db/kubelab.db"))
            .arg("--content")
            .arg(root.join("content"))
            .arg("--instructor-token-file")
            .arg(root.join("token"))
            .arg("--kubeconfig")
            .arg(root.join("no-such-kubeconfig"))
            .env_clear()
            .env("PATH", root.join("bin"))
            .env("TMPDIR", root.join("tmp"))
            .env("HOME", root)
            .env(
                "KUBELAB_BR_NETFILTER_PATH",
                root.join("bridge-nf-call-iptables"),
            )
            .env("KUBELAB_CNI_PLUGINS_TARBALL", root.join("served.tgz"))
            .env("KUBELAB_FLANNEL_MANIFEST", flannel_fixture())
            .env("FAKE_BOOT_SECONDS", boot_seconds)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(root.join(format!("serve-{boot_seconds}.log"))).unwrap())
            .spawn()
            .unwrap(),
    );
    wait_healthy(addr).await;
    child
}

fn free_addr() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}

async fn call(addr: &str, method: &str, path: &str, cookie: &str, body: &str) -> (u16, Value) {
    let (status, _, text) = http(addr, method, path, Some(cookie), body)
        .await
        .unwrap_or_else(|| panic!("{method} {path} answered"));
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Polls the roster until `done` holds (at most `seconds`).
async fn roster_until(
    addr: &str,
    instructor: &str,
    id: i64,
    seconds: u64,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let mut roster = Value::Null;
    for _ in 0..seconds * 4 {
        roster = call(
            addr,
            "GET",
            &format!("/api/v1/workshops/{id}"),
            instructor,
            "",
        )
        .await
        .1;
        if done(&roster) {
            return roster;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("{what} within {seconds} s: {roster:#}");
}

fn clusters_in(roster: &Value, state: &str) -> Vec<String> {
    roster["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["state"] == state)
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

fn learner<'a>(roster: &'a Value, name: &str) -> &'a Value {
    roster["learners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["display_name"] == name)
        .unwrap_or_else(|| panic!("{name} on the roster: {roster:#}"))
}

/// The kind clusters that exist now (the fake's `kind get clusters`).
fn existing(world: &World) -> Vec<String> {
    std::fs::read_to_string(world.root().join("clusters"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The most boots the fake kind saw running at once.
fn most_at_once(world: &World) -> usize {
    let log = std::fs::read_to_string(world.root().join("boots")).unwrap_or_default();
    let (mut now, mut most) = (0usize, 0usize);
    for line in log.lines() {
        if line.starts_with('+') {
            now += 1;
            most = most.max(now);
        } else {
            now = now.saturating_sub(1);
        }
    }
    most
}

async fn join(addr: &str, code: &str, name: &str) -> (String, Value) {
    let (_, cookie, _) = http(addr, "GET", "/", None, "").await.unwrap();
    let cookie = cookie.expect("a learner cookie");
    let body = serde_json::json!({"code": code, "display_name": name}).to_string();
    let (status, joined) = call(addr, "POST", "/api/v1/join", &cookie, &body).await;
    assert_eq!(status, 200, "{joined:#}");
    (cookie, joined)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kind_workshop_gives_every_learner_a_fresh_cluster() {
    let world = World::new(&["kind", "docker"]);
    let pool = pool(&world, 12).await;
    let addr = free_addr();
    let mut server = serve(&world, &addr, "1").await;
    let (_, instructor, _) = http(
        &addr,
        "GET",
        &format!("/instructor/sign-in?token={TOKEN}"),
        None,
        "",
    )
    .await
    .unwrap();
    let instructor = instructor.expect("an instructor session");

    // A workshop whose task needs a pod network: every cluster gets the pinned Flannel.
    let spec = serde_json::json!({
        "title": "kind class",
        "lesson": "pod-connectivity",
        "tasks": ["deploy-two-pods"],
        "provider": {"kind": "kind", "warm": 2, "parallel": 2},
    });
    let (status, created) = call(
        &addr,
        "POST",
        "/api/v1/workshops",
        &instructor,
        &spec.to_string(),
    )
    .await;
    assert_eq!(status, 201, "{created:#}");
    let id = created["id"].as_i64().unwrap();
    let code = created["code"].as_str().unwrap().to_string();

    // The warm pool boots before anyone joins.
    let roster = roster_until(&addr, &instructor, id, 60, "two warm clusters", |r| {
        clusters_in(r, "ready").len() == 2
    })
    .await;
    let warm = clusters_in(&roster, "ready");
    let with_flannel = pool
        .fakes
        .iter()
        .filter(|(fake, _)| {
            fake.get(
                "apps/v1",
                "DaemonSet",
                Some("kube-flannel"),
                "kube-flannel-ds",
            )
            .is_some()
        })
        .count();
    assert_eq!(with_flannel, 2, "the pinned Flannel on each new cluster");
    assert!(
        std::fs::read_to_string(world.root().join("config-used.yaml"))
            .unwrap()
            .contains("disableDefaultCNI: true"),
        "the lesson's kind config"
    );

    // Ada joins and gets a warm cluster at once; her checks run on it.
    let (ada, joined) = join(&addr, &code, "Ada").await;
    assert_eq!(joined["status"], "ready", "{joined:#}");
    let ada_cluster = joined["cluster"].as_str().unwrap().to_string();
    assert!(warm.contains(&ada_cluster));
    let (status, verdict) = call(
        &addr,
        "POST",
        "/api/v1/tasks/deploy-two-pods/check",
        &ada,
        "",
    )
    .await;
    assert_eq!(status, 200, "{verdict:#}");
    let nodes_ready = verdict["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["status"] != "error");
    assert!(nodes_ready, "judged on her own ready cluster: {verdict:#}");

    // Three more join at once: one gets the other warm cluster, the others see theirs being
    // made, and never more than two boot at a time.
    let mut others = Vec::new();
    for name in ["Brian", "Chen", "Dana"] {
        others.push(join(&addr, &code, name).await);
    }
    assert!(
        others
            .iter()
            .any(|(_, j)| j["status"] == "provisioning" && j["step"].is_string()),
        "a learner sees their cluster being made: {others:#?}"
    );
    let roster = roster_until(&addr, &instructor, id, 90, "everyone ready", |r| {
        r["learners"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["cluster"]["state"] == "ready")
            && clusters_in(r, "ready").len() == 6
    })
    .await;
    assert!(most_at_once(&world) <= 2, "at most two boots at once");
    let names: std::collections::HashSet<_> = roster["learners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["cluster"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 4, "a cluster each: {roster:#}");

    // Ada leaves: her used cluster is deleted, never handed on.
    let (status, _) = call(&addr, "POST", "/api/v1/workshop/leave", &ada, "").await;
    assert_eq!(status, 204);
    roster_until(&addr, &instructor, id, 30, "Ada's cluster deleted", |_| {
        !existing(&world).contains(&ada_cluster)
    })
    .await;

    // The instructor recreates Brian's cluster: a warm one replaces it at once.
    let brian = learner(&roster, "Brian");
    let old = brian["cluster"]["name"].as_str().unwrap().to_string();
    let key = brian["key"].as_str().unwrap();
    let (status, fresh) = call(
        &addr,
        "POST",
        &format!("/api/v1/workshops/{id}/learners/{key}/recreate"),
        &instructor,
        "",
    )
    .await;
    assert_eq!(status, 200, "{fresh:#}");
    assert_ne!(fresh["name"], old.as_str());
    assert_eq!(fresh["state"], "ready", "from the warm pool: {fresh:#}");
    roster_until(
        &addr,
        &instructor,
        id,
        30,
        "Brian's old cluster deleted",
        |_| !existing(&world).contains(&old),
    )
    .await;

    // kill -9 while the pool refills (boots now take long), then start again: what was
    // half-made is cleaned up and made again; ready clusters are kept.
    roster_until(&addr, &instructor, id, 30, "a cluster being made", |r| {
        !clusters_in(r, "provisioning").is_empty()
    })
    .await;
    server.kill();
    let before = existing(&world);
    let mut server = serve(&world, &addr, "0").await;
    let roster = roster_until(&addr, &instructor, id, 90, "the pool full again", |r| {
        clusters_in(r, "provisioning").is_empty() && clusters_in(r, "ready").len() >= 5
    })
    .await;
    for name in clusters_in(&roster, "ready") {
        assert!(existing(&world).contains(&name), "{name} exists");
    }
    for l in roster["learners"].as_array().unwrap() {
        let name = l["cluster"]["name"].as_str().unwrap().to_string();
        assert!(
            before.contains(&name),
            "ready clusters kept across the restart: {roster:#}"
        );
    }

    // The workshop ends: every one of its clusters is deleted.
    let (status, _) = call(
        &addr,
        "DELETE",
        &format!("/api/v1/workshops/{id}"),
        &instructor,
        "",
    )
    .await;
    assert_eq!(status, 204);
    for _ in 0..120 {
        if existing(&world).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(existing(&world).is_empty(), "{:?}", existing(&world));
    server.kill();
    let log = std::fs::read_to_string(world.root().join("serve-0.log")).unwrap();
    assert!(!log.contains("panicked"), "{log}");
    assert!(
        log.contains("finishing an environment a restart interrupted"),
        "the half-made cluster was picked up: {log}"
    );
}
