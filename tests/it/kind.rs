//! `kubelab cluster create|delete` against fake `kind`, `docker` and `curl` executables that
//! record their arguments; the real binary runs with only the fakes on PATH.

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

const PINNED_AMD64: &str = "b98f74a0f8522f0a83867178729c1aa70f2158f90c45a2ca8fa791db1c76b303";
const FLANNEL: &str =
    "https://github.com/flannel-io/flannel/releases/download/v0.28.9/kube-flannel.yml";
const PLUGINS_AMD64: &str = "https://github.com/containernetworking/plugins/releases/download/v1.9.1/cni-plugins-linux-amd64-v1.9.1.tgz";

const FAKE_KIND: &str = r#"
echo "kind $*" >> "$ROOT/log"
case "$1 $2" in
  "get clusters")
    if [ -f "$ROOT/clusters" ]; then cat "$ROOT/clusters"; else echo "No kind clusters found." >&2; fi
    exit 0 ;;
  "get nodes")
    name=kind
    if [ "$3" = "--name" ]; then name="$4"; fi
    if [ -n "$FAKE_NODES" ]; then
      for node in $FAKE_NODES; do echo "$node"; done
    else
      echo "$name-worker"
      echo "$name-control-plane"
    fi
    exit 0 ;;
  "create cluster")
    shift 2
    name=kind
    while [ $# -gt 0 ]; do
      if [ "$1" = "--config" ]; then cp "$2" "$ROOT/config-used.yaml"; fi
      if [ "$1" = "--name" ]; then name="$2"; fi
      shift
    done
    echo "Creating cluster (fake kind) ..."
    echo " ✓ Preparing nodes" >&2
    if [ -d "$ROOT/pool" ]; then
      # A workshop host: each cluster is the next free fake API server of the pool.
      echo "+ $name" >> "$ROOT/boots"
      sleep "${FAKE_BOOT_SECONDS:-0}"
      taken=""
      for f in "$ROOT"/pool/*; do
        if [ -f "$f" ] && mv "$f" "$ROOT/made/$name" 2>/dev/null; then taken=1; break; fi
      done
      echo "- $name" >> "$ROOT/boots"
      if [ -z "$taken" ]; then echo "fake kind: no free fake cluster left" >&2; exit 1; fi
      ( flock 9; echo "$name" >> "$ROOT/clusters" ) 9>"$ROOT/lock"
    fi
    exit "${FAKE_KIND_CREATE_EXIT:-0}" ;;
  "get kubeconfig")
    cat "$ROOT/made/$4" || exit 1
    exit 0 ;;
  "delete cluster")
    echo "Deleting cluster (fake kind) ..." >&2
    if [ -d "$ROOT/pool" ] && [ "$3" = "--name" ]; then
      ( flock 9; grep -v -x -e "$4" "$ROOT/clusters" > "$ROOT/clusters.new"; mv "$ROOT/clusters.new" "$ROOT/clusters" ) 9>"$ROOT/lock"
      rm -f "$ROOT/made/$4"
    fi
    exit 0 ;;
esac
echo "fake kind: unexpected arguments: $*" >&2
exit 3
"#;

const FAKE_DOCKER: &str = r#"
echo "docker $*" >> "$ROOT/log"
case "$1" in
  info)
    if [ -n "$FAKE_DOCKER_DOWN" ]; then
      echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2
      exit 1
    fi
    echo "27.0.0"; exit 0 ;;
  cp)
    node="${3%%:*}"
    cp "$2" "$ROOT/copied/$node"; exit 0 ;;
  exec)
    shift 2
    case "$1" in
      uname) echo "${FAKE_UNAME:-x86_64}"; exit 0 ;;
      test)
        if [ "$2" = "-e" ] && [ -n "$FAKE_NODE_NO_BRNF" ]; then exit 1; fi
        exit 0 ;;
      tar|rm) exit 0 ;;
    esac ;;
esac
echo "fake docker: unexpected arguments: $*" >&2
exit 3
"#;

const FAKE_CURL: &str = r#"
echo "curl $*" >> "$ROOT/log"
out=""
while [ $# -gt 0 ]; do
  if [ "$1" = "-o" ]; then out="$2"; fi
  shift
done
cp "$ROOT/served.tgz" "$out"
"#;

/// A temporary world: fake programs, a content copy, a br_netfilter marker and a tarball.
pub(crate) struct World {
    dir: TempDir,
    /// The sha256 of `served.tgz`.
    sha: String,
}

impl World {
    /// Installs the named fakes (`kind`, `docker`, `curl`) and a content copy whose amd64
    /// checksum is the test tarball's.
    pub(crate) fn new(tools: &[&str]) -> World {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for sub in ["bin", "copied", "tmp", "tarsrc"] {
            std::fs::create_dir(root.join(sub)).unwrap();
        }
        for (name, body) in [
            ("kind", FAKE_KIND),
            ("docker", FAKE_DOCKER),
            ("curl", FAKE_CURL),
        ] {
            if tools.contains(&name) {
                let script = format!(
                    "#!/bin/sh\nPATH=/usr/bin:/bin\nROOT='{}'\n{body}",
                    root.display()
                );
                write_executable(&root.join("bin").join(name), &script);
            }
        }
        std::fs::write(root.join("log"), "").unwrap();
        std::fs::write(root.join("bridge-nf-call-iptables"), "1\n").unwrap();

        write_executable(
            &root.join("tarsrc/bridge"),
            "#!/bin/sh\necho fake bridge plugin\n",
        );
        let status = Command::new("tar")
            .arg("-czf")
            .arg(root.join("served.tgz"))
            .arg("-C")
            .arg(root.join("tarsrc"))
            .arg(".")
            .status()
            .unwrap();
        assert!(status.success(), "tar could build the test tarball");
        let sha = kubelab::sha256_file(&root.join("served.tgz")).unwrap();

        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("content"),
            &root.join("content"),
        );
        let world = World { dir, sha };
        world.pin("amd64", &world.sha.clone());
        world
    }

    pub(crate) fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Sets the content's pinned sha256 for `arch`.
    fn pin(&self, arch: &str, sum: &str) {
        let path = self.lesson_yaml();
        let text = std::fs::read_to_string(&path).unwrap();
        let prefix = format!("{arch}: ");
        let mut replaced = 0;
        let lines: Vec<String> = text
            .lines()
            .map(|line| {
                let trimmed = line.trim_start();
                match trimmed.strip_prefix(&prefix) {
                    Some(old) if old.trim().len() == 64 => {
                        replaced += 1;
                        format!("{}{prefix}{sum}", &line[..line.len() - trimmed.len()])
                    }
                    _ => line.to_string(),
                }
            })
            .collect();
        assert_eq!(replaced, 1, "one {arch} checksum in lesson.yaml");
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    }

    fn lesson_yaml(&self) -> PathBuf {
        self.root()
            .join("content/lessons/pod-connectivity/lesson.yaml")
    }

    fn set_clusters(&self, names: &str) {
        std::fs::write(self.root().join("clusters"), names).unwrap();
    }

    /// Runs `kubelab ARGS` with only the fakes on PATH (plus `--content` for `create`).
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kubelab"));
        command
            .args(args)
            .env_clear()
            .env("PATH", self.root().join("bin"))
            .env("TMPDIR", self.root().join("tmp"))
            .env(
                "KUBELAB_BR_NETFILTER_PATH",
                self.root().join("bridge-nf-call-iptables"),
            );
        if args.get(1) == Some(&"create") {
            command.arg("--content").arg(self.root().join("content"));
        }
        for (key, value) in env {
            command.env(key, value);
        }
        let output = command.output().unwrap();
        let run = Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            log: std::fs::read_to_string(self.root().join("log")).unwrap(),
        };
        assert!(
            !run.stderr.contains("panicked") && !run.stderr.contains("RUST_BACKTRACE"),
            "no panic: {run:#?}"
        );
        let leftovers: Vec<_> = std::fs::read_dir(self.root().join("tmp"))
            .unwrap()
            .collect();
        assert!(
            leftovers.is_empty(),
            "temporary files removed: {leftovers:?}"
        );
        run
    }

    /// The config file kind was given, parsed.
    fn config_used(&self) -> serde_yaml_ng::Value {
        let text = std::fs::read_to_string(self.root().join("config-used.yaml"))
            .expect("kind create cluster got a config");
        serde_yaml_ng::from_str(&text).unwrap()
    }

    /// The tarball bytes `docker cp` put into `node`.
    fn copied(&self, node: &str) -> Option<Vec<u8>> {
        std::fs::read(self.root().join("copied").join(node)).ok()
    }

    fn served(&self) -> Vec<u8> {
        std::fs::read(self.root().join("served.tgz")).unwrap()
    }
}

#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    log: String,
}

impl Run {
    fn lines(&self) -> Vec<&str> {
        self.log.lines().collect()
    }

    fn ran(&self, prefix: &str) -> bool {
        self.log.lines().any(|line| line.starts_with(prefix))
    }

    /// The single `kubelab: ...` error line.
    fn error_line(&self) -> &str {
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|line| line.starts_with("kubelab: "))
            .collect();
        assert_eq!(lines.len(), 1, "one error line: {self:#?}");
        lines[0]
    }
}

fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn roles(config: &serde_yaml_ng::Value) -> Vec<String> {
    config["nodes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|node| node["role"].as_str().unwrap().to_string())
        .collect()
}

/// The docker commands that put `bridge` into one node, in order.
fn assert_prepared(world: &World, run: &Run, node: &str) {
    let lines = run.lines();
    let position = |wanted: &str| {
        lines
            .iter()
            .position(|line| *line == wanted || line.starts_with(wanted))
            .unwrap_or_else(|| panic!("`{wanted}` ran: {run:#?}"))
    };
    let cp = position("docker cp ");
    let cp = lines[cp..]
        .iter()
        .position(|line| {
            line.starts_with("docker cp ")
                && line.ends_with(&format!(" {node}:/tmp/cni-plugins.tgz"))
        })
        .map(|i| i + cp)
        .unwrap_or_else(|| panic!("docker cp into {node}: {run:#?}"));
    let tar = position(&format!(
        "docker exec {node} tar -xzf /tmp/cni-plugins.tgz -C /opt/cni/bin ./bridge"
    ));
    let test = position(&format!("docker exec {node} test -x /opt/cni/bin/bridge"));
    assert!(
        cp < tar && tar < test,
        "copy, extract, verify in order: {run:#?}"
    );
    assert_eq!(
        world.copied(node),
        Some(world.served()),
        "{node} got the verified tarball"
    );
}

#[test]
fn create_makes_a_cluster_without_cni_and_puts_bridge_into_every_node() {
    let world = World::new(&["kind", "docker", "curl"]);
    let run = world.run(&["cluster", "create"], &[]);
    assert_eq!(run.code, Some(0), "{run:#?}");

    assert!(run.ran("docker info"), "{run:#?}");
    assert!(run.ran("kind get clusters"));
    let create = run
        .lines()
        .into_iter()
        .find(|line| line.starts_with("kind create cluster"))
        .expect("kind create cluster ran")
        .to_string();
    assert!(
        create.starts_with("kind create cluster --name kubelab --config "),
        "{create}"
    );
    let config = world.config_used();
    assert_eq!(config["kind"].as_str(), Some("Cluster"));
    assert_eq!(
        config["apiVersion"].as_str(),
        Some("kind.x-k8s.io/v1alpha4")
    );
    assert_eq!(config["name"].as_str(), Some("kubelab"));
    assert_eq!(
        config["networking"]["disableDefaultCNI"].as_bool(),
        Some(true)
    );
    assert_eq!(
        config["networking"]["podSubnet"].as_str(),
        Some("10.244.0.0/16")
    );
    assert_eq!(roles(&config), ["control-plane", "worker"]);

    assert!(run.ran("kind get nodes --name kubelab"));
    assert!(run.ran("docker exec kubelab-control-plane uname -m"));
    assert!(run.ran(
        "docker exec kubelab-control-plane test -e /proc/sys/net/bridge/bridge-nf-call-iptables"
    ));
    let curl = run
        .lines()
        .into_iter()
        .find(|line| line.starts_with("curl "))
        .expect("curl downloaded the plugins")
        .to_string();
    assert!(curl.contains(" -fsSL ") && curl.contains(" -o "), "{curl}");
    assert!(curl.ends_with(PLUGINS_AMD64), "{curl}");
    for node in ["kubelab-control-plane", "kubelab-worker"] {
        assert_prepared(&world, &run, node);
    }

    // kind's own output is streamed to stderr; the next steps go to stdout.
    assert!(
        run.stderr.contains("Creating cluster (fake kind)"),
        "{run:#?}"
    );
    assert!(run.stderr.contains("Preparing nodes"));
    assert!(
        run.stderr
            .contains(&format!("sha256 verified: {}", world.sha))
    );
    assert!(run.stderr.contains("br_netfilter: loaded"));
    assert!(
        run.stdout
            .contains("kubectl config use-context kind-kubelab"),
        "{run:#?}"
    );
    assert!(run.stdout.contains("NotReady"));
    assert!(run.stdout.contains(&format!(
        "kubectl --context kind-kubelab apply -f {FLANNEL}"
    )));
    assert!(run.stdout.contains("without a restart") && run.stdout.contains("/cluster"));
}

#[test]
fn create_honours_name_and_workers() {
    let world = World::new(&["kind", "docker", "curl"]);
    let nodes = "lab2-control-plane lab2-worker lab2-worker2 lab2-worker3";
    let run = world.run(
        &["cluster", "create", "--name", "lab2", "--workers", "3"],
        &[("FAKE_NODES", nodes)],
    );
    assert_eq!(run.code, Some(0), "{run:#?}");
    assert!(
        run.ran("kind create cluster --name lab2 --config "),
        "{run:#?}"
    );
    let config = world.config_used();
    assert_eq!(config["name"].as_str(), Some("lab2"));
    assert_eq!(
        roles(&config),
        ["control-plane", "worker", "worker", "worker"]
    );
    assert_eq!(
        config["networking"]["disableDefaultCNI"].as_bool(),
        Some(true)
    );
    assert!(run.ran("kind get nodes --name lab2"));
    for node in nodes.split(' ') {
        assert_prepared(&world, &run, node);
    }
    assert!(run.stdout.contains("kind-lab2"));
}

#[test]
fn zero_workers_is_a_single_node_cluster() {
    let world = World::new(&["kind", "docker", "curl"]);
    let run = world.run(
        &["cluster", "create", "--workers", "0"],
        &[("FAKE_NODES", "kubelab-control-plane")],
    );
    assert_eq!(run.code, Some(0), "{run:#?}");
    assert_eq!(roles(&world.config_used()), ["control-plane"]);
    assert_prepared(&world, &run, "kubelab-control-plane");
}

#[test]
fn missing_docker_is_one_sentence() {
    let world = World::new(&["kind", "curl"]);
    let run = world.run(&["cluster", "create"], &[]);
    assert_eq!(run.code, Some(1), "{run:#?}");
    let line = run.error_line();
    assert!(line.contains("docker is not installed"), "{line}");
    assert!(
        line.contains("https://docs.docker.com/get-docker/"),
        "{line}"
    );
    assert!(run.log.is_empty(), "nothing ran: {run:#?}");
    assert!(run.stdout.is_empty());
}

#[test]
fn missing_kind_is_one_sentence() {
    let world = World::new(&["docker", "curl"]);
    let run = world.run(&["cluster", "create"], &[]);
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(
        run.error_line().contains(
            "kind is not installed (or not on PATH): see https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
        ),
        "{run:#?}"
    );
    assert!(run.log.is_empty(), "nothing ran: {run:#?}");

    let run = world.run(&["cluster", "delete"], &[]);
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(run.error_line().contains("kind is not installed"));
}

#[test]
fn missing_curl_is_one_sentence_before_anything_is_created() {
    let world = World::new(&["kind", "docker"]);
    let run = world.run(&["cluster", "create"], &[]);
    assert_eq!(run.code, Some(1), "{run:#?}");
    let line = run.error_line();
    assert!(line.contains("curl is not installed"), "{line}");
    assert!(line.contains("KUBELAB_CNI_PLUGINS_TARBALL"), "{line}");
    assert!(!run.ran("kind create"), "{run:#?}");
}

#[test]
fn docker_engine_down_is_one_sentence() {
    let world = World::new(&["kind", "docker", "curl"]);
    let run = world.run(&["cluster", "create"], &[("FAKE_DOCKER_DOWN", "1")]);
    assert_eq!(run.code, Some(1), "{run:#?}");
    let line = run.error_line();
    assert!(line.contains("engine is not reachable"), "{line}");
    assert!(line.contains("Is the docker daemon running?"), "{line}");
    assert!(!run.ran("kind"), "{run:#?}");
}

#[test]
fn missing_br_netfilter_stops_with_the_fix() {
    let world = World::new(&["kind", "docker", "curl"]);
    let missing = world.root().join("no-such-file");
    let run = world.run(
        &["cluster", "create"],
        &[("KUBELAB_BR_NETFILTER_PATH", missing.to_str().unwrap())],
    );
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(
        run.stderr
            .contains(&format!("{} does not exist", missing.display()))
    );
    assert!(
        run.stderr
            .contains("br_netfilter kernel module is not loaded")
    );
    assert!(
        run.stderr.contains("sudo modprobe br_netfilter"),
        "{run:#?}"
    );
    assert!(
        run.stderr
            .contains("echo br_netfilter | sudo tee /etc/modules-load.d/br_netfilter.conf")
    );
    assert!(!run.ran("kind"), "no cluster work: {run:#?}");
}

#[test]
fn a_node_without_br_netfilter_stops_before_copying() {
    let world = World::new(&["kind", "docker", "curl"]);
    let run = world.run(&["cluster", "create"], &[("FAKE_NODE_NO_BRNF", "1")]);
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(
        run.error_line()
            .contains("missing inside node kubelab-control-plane")
    );
    assert!(!run.ran("docker cp"), "{run:#?}");
}

#[test]
fn checksum_mismatch_copies_nothing_and_prints_both_sums() {
    let world = World::new(&["kind", "docker", "curl"]);
    world.pin("amd64", PINNED_AMD64);
    let run = world.run(&["cluster", "create"], &[]);
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(
        run.stderr
            .contains("does not match the lesson's pinned checksum")
    );
    assert!(run.stderr.contains("nothing was copied into the nodes"));
    assert!(
        run.stderr
            .contains(&format!("expected sha256 {PINNED_AMD64}")),
        "{run:#?}"
    );
    assert!(
        run.stderr
            .contains(&format!("got      sha256 {}", world.sha))
    );
    assert!(run.stderr.contains(PLUGINS_AMD64), "names the download");
    assert!(!run.ran("docker cp"), "nothing copied: {run:#?}");
    assert!(!run.log.contains(" tar "), "nothing extracted: {run:#?}");
    assert!(world.copied("kubelab-control-plane").is_none());
    assert!(run.stdout.is_empty());
}

#[test]
fn an_existing_cluster_is_not_created_again_but_still_prepared() {
    let world = World::new(&["kind", "docker", "curl"]);
    world.set_clusters("other\nkubelab\n");
    let run = world.run(&["cluster", "create"], &[]);
    assert_eq!(run.code, Some(0), "{run:#?}");
    assert!(
        run.stderr.contains("kind cluster `kubelab` already exists"),
        "{run:#?}"
    );
    assert!(!run.ran("kind create"), "{run:#?}");
    for node in ["kubelab-control-plane", "kubelab-worker"] {
        assert_prepared(&world, &run, node);
    }
    assert!(run.stdout.contains("kind-kubelab"));
}

#[test]
fn a_local_tarball_is_used_and_still_verified() {
    let world = World::new(&["kind", "docker"]);
    let local = world.root().join("offline.tgz");
    std::fs::copy(world.root().join("served.tgz"), &local).unwrap();
    let run = world.run(
        &["cluster", "create"],
        &[("KUBELAB_CNI_PLUGINS_TARBALL", local.to_str().unwrap())],
    );
    assert_eq!(run.code, Some(0), "{run:#?}");
    assert!(!run.ran("curl"), "{run:#?}");
    assert!(
        run.stderr
            .contains(&format!("sha256 verified: {}", world.sha))
    );
    for node in ["kubelab-control-plane", "kubelab-worker"] {
        assert_prepared(&world, &run, node);
    }
    assert!(
        run.ran(&format!(
            "docker cp {} kubelab-worker:/tmp/cni-plugins.tgz",
            local.display()
        )),
        "{run:#?}"
    );

    // A wrong local file is refused the same way as a wrong download.
    std::fs::write(&local, b"not the release").unwrap();
    std::fs::remove_dir_all(world.root().join("copied")).unwrap();
    std::fs::create_dir(world.root().join("copied")).unwrap();
    std::fs::write(world.root().join("log"), "").unwrap();
    world.set_clusters("kubelab\n");
    let run = world.run(
        &["cluster", "create"],
        &[("KUBELAB_CNI_PLUGINS_TARBALL", local.to_str().unwrap())],
    );
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(
        run.stderr
            .contains(&format!("expected sha256 {}", world.sha))
    );
    assert!(!run.ran("docker cp"), "{run:#?}");

    // A missing file is reported before any cluster work.
    let run = world.run(
        &[
            "cluster",
            "create",
            "--cni-plugins-tarball",
            "/no/such/file.tgz",
        ],
        &[],
    );
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(
        run.error_line()
            .contains("cannot read the CNI plugins tarball /no/such/file.tgz"),
        "{run:#?}"
    );
}

#[test]
fn arm64_nodes_get_the_arm64_release() {
    let world = World::new(&["kind", "docker", "curl"]);
    world.pin("arm64", &world.sha.clone());
    let run = world.run(&["cluster", "create"], &[("FAKE_UNAME", "aarch64")]);
    assert_eq!(run.code, Some(0), "{run:#?}");
    assert!(
        run.log.contains("cni-plugins-linux-arm64-v1.9.1.tgz"),
        "{run:#?}"
    );

    let run = world.run(&["cluster", "create"], &[("FAKE_UNAME", "riscv64")]);
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(run.error_line().contains("`riscv64`"));
}

#[test]
fn a_failing_kind_create_stops_with_its_status() {
    let world = World::new(&["kind", "docker", "curl"]);
    let run = world.run(&["cluster", "create"], &[("FAKE_KIND_CREATE_EXIT", "1")]);
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(
        run.error_line()
            .contains("kind could not create cluster `kubelab`"),
        "{run:#?}"
    );
    assert!(!run.ran("docker cp"));
}

#[test]
fn delete_runs_kind_delete() {
    let world = World::new(&["kind", "docker"]);
    world.set_clusters("kubelab\n");
    let run = world.run(&["cluster", "delete"], &[]);
    assert_eq!(run.code, Some(0), "{run:#?}");
    assert!(run.ran("kind delete cluster --name kubelab"), "{run:#?}");
    assert!(run.stdout.contains("Deleted kind cluster `kubelab`"));
    assert!(run.stderr.contains("Deleting cluster (fake kind)"));

    let run = world.run(&["cluster", "delete", "--name", "gone"], &[]);
    assert_eq!(run.code, Some(0), "{run:#?}");
    assert!(
        run.stdout
            .contains("There is no kind cluster `gone`; nothing to delete.")
    );
    assert!(!run.ran("kind delete cluster --name gone"));
}

#[test]
fn bad_usage_exits_2() {
    let world = World::new(&["kind", "docker", "curl"]);
    for args in [
        &["cluster", "create", "--name", "Bad_Name"][..],
        &["cluster", "create", "--workers", "11"],
        &["cluster", "create", "--lesson", "no-such-lesson"],
        &["cluster", "delete", "--name", "-x"],
        &["cluster"],
    ] {
        let run = world.run(args, &[]);
        assert_eq!(run.code, Some(2), "{args:?}: {run:#?}");
        assert!(
            !run.ran("kind create") && !run.ran("kind delete"),
            "{run:#?}"
        );
    }
    let run = world.run(&["cluster", "create", "--lesson", "no-such-lesson"], &[]);
    assert!(
        run.error_line()
            .contains("lessons with a cluster: pod-connectivity")
    );
}
