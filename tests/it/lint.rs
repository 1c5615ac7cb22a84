//! Content validation: the real content lints clean; broken content gives exact `file:line` messages.

use std::path::Path;
use std::process::Command;

use kubelab::ContentFiles;
use tempfile::TempDir;

const CATALOGUE: &str = "\
exam: CKA
curriculum: test curriculum
domains:
  - id: net
    title: Networking
    weight: 100
    topics:
      - id: pods
        title: Pods
        lesson: demo
";

const LESSON: &str = "\
id: demo
title: Demo
summary: A demo lesson.
written_for: tests
sections:
  - id: intro
    title: Intro
  - id: more
    title: More
tasks:
  - t1
";

const INTRO: &str = "\
### Hello

Some text.

```file:pod.yaml
```

See [the task](/tasks/t1).
";

const TASK: &str = "\
id: t1
title: Task one
lesson: demo
minutes: 5
style: task
statement: Do it.
files: [pod.yaml]
hints:
  - Think.
solution: Done.
requires:
  cni: working
owns:
  - { kind: Pod, namespace: test, name: p }
setup:
  - apply: pod.yaml
cleanup:
  - delete: { kind: Pod, namespace: test, name: p }
checks:
  - id: ns
    description: Namespace exists
    points: 1
    check:
      kind: namespace-exists
      namespace: test
solve:
  - apply: pod.yaml
wrong:
  - name: w1
    steps: [{manifest: \"apiVersion: v1\\nkind: Pod\\nmetadata: {name: p, namespace: test}\\n\"}]
    fails: [ns]
  - name: w2
    steps: [{delete: {kind: Pod, namespace: test, name: p}}]
    fails: [ns]
  - name: w3
    steps: [{delete: {kind: Pod, namespace: test, name: p}}]
    fails: [ns]
right:
  - name: r1
    steps: [{delete: {kind: Pod, namespace: test, name: p}}]
";

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A small valid content tree in a temporary folder.
pub fn fixture() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "catalogue.yaml", CATALOGUE);
    write(root, "lessons/demo/lesson.yaml", LESSON);
    write(root, "lessons/demo/sections/intro.md", INTRO);
    write(root, "lessons/demo/sections/more.md", "### More\n\nText.\n");
    write(
        root,
        "lessons/demo/files/pod.yaml",
        "apiVersion: v1\nkind: Pod\n",
    );
    write(root, "lessons/demo/tasks/t1.yaml", TASK);
    dir
}

/// Lint messages for the fixture after `edit`, with the temp root replaced by `content`.
fn problems_after(edit: impl FnOnce(&Path)) -> Vec<String> {
    let dir = fixture();
    edit(dir.path());
    let files = ContentFiles::from_dir(dir.path()).unwrap();
    let root = files.root.clone();
    match kubelab::load_content(&files) {
        Ok(_) => Vec::new(),
        Err(problems) => problems
            .0
            .iter()
            .map(|p| p.to_string().replacen(&root, "content", 1))
            .collect(),
    }
}

#[test]
fn the_fixture_is_valid() {
    assert_eq!(problems_after(|_| {}), Vec::<String>::new());
}

#[test]
fn answers_are_required_and_proven_steps() {
    let problems = problems_after(|root| {
        let path = root.join("lessons/demo/tasks/t1.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text
            .replace("  - name: w3\n", "  - name: w1\n")
            .replace("    fails: [ns]\n  - name: w2", "    fails: [nope]\n  - name: w2")
            .replace("name: p, namespace: test}\\n", "name: q, namespace: test}\\n")
            .replace(
                "right:\n  - name: r1\n    steps: [{delete: {kind: Pod, namespace: test, name: p}}]\n",
                "right: []\n",
            );
        std::fs::write(&path, text).unwrap();
    });
    let joined = problems.join("\n");
    for wanted in [
        "t1.yaml:1: a task needs at least 3 wrong answers (`wrong:`) and 1 right answer (`right:`) besides `solve:`, so `kubelab selftest` can prove its checks both ways; it has 3 and 0",
        "wrong answer `w1` fails `nope`, which is not a check of this task",
        "answer `w1` creates Pod test/q, which the task does not own: setup and reset would leave it behind (add it to `owns:`)",
        "two answers are named `w1`",
    ] {
        assert!(joined.contains(wanted), "missing {wanted:?} in:\n{joined}");
    }
}

#[test]
fn the_real_content_lints_clean() {
    let embedded = kubelab::load_content(&ContentFiles::embedded());
    assert!(embedded.is_ok(), "{}", embedded.err().unwrap());
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("content");
    let from_dir = kubelab::load_content(&ContentFiles::from_dir(&dir).unwrap());
    let catalogue = from_dir.expect("content/ lints clean");
    assert_eq!(catalogue.tasks.len(), 6);
    for task in catalogue.tasks.values() {
        assert!(!task.checks.is_empty(), "{} declares its checks", task.id);
        assert!(!task.owns.is_empty(), "{} declares what it owns", task.id);
    }
}

#[test]
fn unknown_field_in_a_check() {
    let problems = problems_after(|root| {
        write(
            root,
            "lessons/demo/tasks/t1.yaml",
            &TASK.replace("      namespace: test\n", "      namespce: test\n"),
        );
    });
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("content/lessons/demo/tasks/t1.yaml:25: checks[0]: unknown field `namespce`, expected `namespace`"),
        "{problems:?}"
    );
}

#[test]
fn unknown_check_kind() {
    let problems = problems_after(|root| {
        write(
            root,
            "lessons/demo/tasks/t1.yaml",
            &TASK.replace("kind: namespace-exists", "kind: namespace-dances"),
        );
    });
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("content/lessons/demo/tasks/t1.yaml:24: checks[0].check.kind: unknown variant `namespace-dances`, expected one of `namespace-exists`"),
        "{problems:?}"
    );
}

#[test]
fn unknown_top_level_field_and_bad_yaml() {
    let problems = problems_after(|root| {
        write(
            root,
            "lessons/demo/lesson.yaml",
            &format!("{LESSON}colour: blue\n"),
        );
        write(
            root,
            "catalogue.yaml",
            &CATALOGUE.replace("    weight: 100\n", "    weight: [100\n"),
        );
    });
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(
        problems[0],
        "content/catalogue.yaml:6: domains[0].weight: invalid type: sequence, expected u32"
    );
    assert!(
        problems[1].starts_with("content/lessons/demo/lesson.yaml:12: unknown field `colour`"),
        "{problems:?}"
    );
}

#[test]
fn missing_files_and_sections() {
    let problems = problems_after(|root| {
        std::fs::remove_file(root.join("lessons/demo/sections/more.md")).unwrap();
        std::fs::remove_file(root.join("lessons/demo/files/pod.yaml")).unwrap();
    });
    assert_eq!(
        problems,
        vec![
            "content/lessons/demo/sections/intro.md:5: embedded file `pod.yaml` does not exist in lessons/demo/files/",
            "content/lessons/demo/sections/more.md:1: file is missing",
            "content/lessons/demo/tasks/t1.yaml:7: file `pod.yaml` does not exist in lessons/demo/files/",
            "content/lessons/demo/tasks/t1.yaml:16: apply names `pod.yaml`, which does not exist in lessons/demo/files/",
        ]
    );
}

#[test]
fn duplicate_ids() {
    let problems = problems_after(|root| {
        write(
            root,
            "lessons/demo/lesson.yaml",
            &LESSON.replace(
                "  - id: more\n    title: More\n",
                "  - id: intro\n    title: Again\n",
            ),
        );
        let task = TASK.replace(
            "checks:\n",
            "checks:\n  - id: ns\n    description: Twice\n    points: 1\n    check:\n      kind: nodes-ready\n",
        );
        write(root, "lessons/demo/tasks/t1.yaml", &task);
    });
    assert_eq!(
        problems,
        vec![
            "content/lessons/demo/lesson.yaml:8: duplicate section id `intro`",
            "content/lessons/demo/sections/more.md:1: section file is not listed in lesson.yaml",
            "content/lessons/demo/tasks/t1.yaml:25: duplicate check id `ns`",
        ]
    );
}

#[test]
fn broken_references_between_files() {
    let problems = problems_after(|root| {
        write(
            root,
            "lessons/demo/sections/more.md",
            "### More\n\nTry [this](/tasks/t9).\n",
        );
        write(
            root,
            "lessons/demo/tasks/t2.yaml",
            &TASK.replace("id: t1", "id: t2"),
        );
        write(
            root,
            "catalogue.yaml",
            &format!(
                "{CATALOGUE}      - id: ghost\n        title: Ghost\n        lesson: nowhere\n"
            ),
        );
        write(
            root,
            "lessons/demo/tasks/t1.yaml",
            &TASK
                .replace("lesson: demo", "lesson: other")
                .replace("minutes: 5", "minutes: 0"),
        );
    });
    assert_eq!(
        problems,
        vec![
            "content/catalogue.yaml:13: topic `ghost` names lesson `nowhere`, which does not exist under lessons/",
            "content/lessons/demo/sections/more.md:3: link to unknown task `/tasks/t9`",
            "content/lessons/demo/tasks/t1.yaml:3: task names lesson `other` but lives in lesson `demo`",
            "content/lessons/demo/tasks/t1.yaml:4: minutes must be at least 1",
            "content/lessons/demo/tasks/t2.yaml:1: task file is not listed under `tasks` in lesson.yaml",
        ]
    );
}

#[test]
fn bad_check_parameters_and_objects() {
    let problems = problems_after(|root| {
        let task = TASK
            .replace("  - { kind: Pod, namespace: test, name: p }\nsetup", "  - { kind: Pod, name: p }\n  - { kind: Namespace, namespace: x, name: test }\nsetup")
            .replace("    points: 1\n    check:\n      kind: namespace-exists\n      namespace: test\n",
                     "    points: 0\n    check:\n      kind: pod-ip-in-cidr\n      namespace: test\n      pod: p\n      cidr: 10.244.0.0/99\n");
        write(root, "lessons/demo/tasks/t1.yaml", &task);
    });
    assert_eq!(
        problems,
        vec![
            "content/lessons/demo/tasks/t1.yaml:14: Pod `p` needs a namespace",
            "content/lessons/demo/tasks/t1.yaml:15: Namespace `test` is cluster-scoped and takes no namespace",
            "content/lessons/demo/tasks/t1.yaml:21: check `ns` must be worth at least 1 point",
            "content/lessons/demo/tasks/t1.yaml:21: check `ns`: `10.244.0.0/99` is not an IPv4 or IPv6 CIDR such as 10.244.0.0/16",
            // The answer's Pod test/p is no longer owned once owns names a Pod without namespace.
            "content/lessons/demo/tasks/t1.yaml:32: answer `w1` creates Pod test/p, which the task does not own: setup and reset would leave it behind (add it to `owns:`)",
        ]
    );
}

#[test]
fn the_lint_command_prints_problems_and_exits_1() {
    let dir = fixture();
    write(
        dir.path(),
        "lessons/demo/tasks/t1.yaml",
        &TASK.replace("style: task", "style: puzzle"),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_kubelab"))
        .args(["lint", "--content"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let expected = format!(
        "{}/lessons/demo/tasks/t1.yaml:5: style: unknown variant `puzzle`",
        dir.path().display()
    );
    assert!(stdout.starts_with(&expected), "{stdout}");
    assert!(stdout.contains("1 problem(s)"), "{stdout}");

    let ok = Command::new(env!("CARGO_BIN_EXE_kubelab"))
        .arg("lint")
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    assert!(
        String::from_utf8_lossy(&ok.stdout)
            .contains("content OK: 1 lesson(s), 11 section(s), 6 task(s), 2 exam(s)")
    );
}

#[test]
fn serve_refuses_invalid_content() {
    let dir = fixture();
    write(
        dir.path(),
        "lessons/demo/lesson.yaml",
        &LESSON.replace("id: demo", "id: Demo"),
    );
    let db = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kubelab"))
        .args(["serve", "--addr", "127.0.0.1:0", "--content"])
        .arg(dir.path())
        .arg("--db")
        .arg(db.path().join("k.db"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("lesson.yaml:1: lesson id `Demo` must equal its folder name `demo`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("will not start on invalid content"),
        "{stderr}"
    );
}

/// Problems of the real content with `exams/pod-connectivity.yaml` replaced by `text`.
fn exam_problems(text: &str) -> Vec<String> {
    let mut files = ContentFiles::embedded();
    files.files.insert(
        "exams/pod-connectivity.yaml".to_string(),
        text.as_bytes().to_vec(),
    );
    match kubelab::load_content(&files) {
        Ok(_) => Vec::new(),
        Err(problems) => problems.0.iter().map(ToString::to_string).collect(),
    }
}

fn real_exam() -> String {
    String::from_utf8(
        ContentFiles::embedded()
            .get("exams/pod-connectivity.yaml")
            .expect("the exam ships")
            .to_vec(),
    )
    .unwrap()
}

#[test]
fn the_shipped_exams_load() {
    let catalogue = kubelab::load_content(&ContentFiles::embedded()).unwrap();
    let exam = catalogue
        .exam("pod-connectivity")
        .expect("the lesson's exam");
    assert!(exam.minutes < 25, "the seed's practice target");
    assert_eq!(exam.pass_mark, 66);
    assert_eq!(exam.tasks.len(), 4);
    let single = catalogue.exam("pod-connectivity-one-cluster").unwrap();
    assert_eq!(single.contexts.len(), 1, "runs on the lesson cluster alone");
    assert_eq!(catalogue.lesson_exams("pod-connectivity").count(), 2);
}

#[test]
fn an_exam_whose_tasks_conflict_on_one_context_is_refused() {
    let one_cluster = real_exam()
        .replace("context: kind-kubelab-bare", "context: kind-kubelab")
        .replace("context: kind-kubelab-repair", "context: kind-kubelab");
    let problems = exam_problems(&one_cluster);
    assert!(
        problems.iter().any(|p| p.contains(
            "tasks `install-flannel` and `fix-missing-cni` both claim the CNI on context `kind-kubelab`"
        )),
        "{problems:#?}"
    );
    assert!(
        problems.iter().any(|p| p.contains(
            "tasks `deploy-two-pods` and `install-flannel` both claim Pod test/pod1 on context `kind-kubelab`"
        )),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("context `kind-kubelab-bare` is declared but no task uses it")),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .all(|p| p.starts_with("content/exams/pod-connectivity.yaml:")),
        "{problems:#?}"
    );
}

#[test]
fn exam_mistakes_are_named_with_their_line() {
    let broken = real_exam()
        .replace("task: fix-port-conflict", "task: fix-port-conflcit")
        .replace("pass_mark: 66", "pass_mark: 166")
        .replace(
            "  - task: install-flannel\n    context: kind-kubelab-bare",
            "  - task: install-flannel\n    context: kind-nowhere",
        );
    let problems = exam_problems(&broken);
    let find = |needle: &str| {
        problems
            .iter()
            .find(|p| p.contains(needle))
            .unwrap_or_else(|| panic!("no problem with {needle:?} in {problems:#?}"))
            .clone()
    };
    let line = |needle: &str| {
        broken
            .lines()
            .position(|l| l.contains(needle))
            .map(|i| i + 1)
            .unwrap()
    };
    assert!(
        find("task `fix-port-conflcit` does not exist")
            .contains(&format!(":{}:", line("fix-port-conflcit")))
    );
    assert!(
        find("the pass mark is a percentage from 1 to 100, not 166")
            .contains(&format!(":{}:", line("pass_mark")))
    );
    assert!(find("which is not declared under `contexts`").contains("kind-nowhere"));
    let reserved = exam_problems(&real_exam().replace("id: pod-connectivity", "id: attempts"));
    assert!(
        reserved
            .iter()
            .any(|p| p.contains("`attempts` is reserved")),
        "{reserved:#?}"
    );
    let unknown = exam_problems(&real_exam().replace("pass_mark: 66", "passmark: 66"));
    assert!(
        unknown
            .iter()
            .any(|p| p.contains("unknown field `passmark`")),
        "{unknown:#?}"
    );
}

/// A task that owns a namespace deletes it, with everything in it, when it is set up: any
/// other task with objects there cannot share its cluster, and lint says so.
#[test]
fn owning_a_namespace_conflicts_with_tasks_that_live_in_it() {
    let mut files = ContentFiles::embedded();
    let path = "lessons/pod-connectivity/tasks/fix-port-conflict.yaml";
    let task = String::from_utf8(files.get(path).unwrap().to_vec()).unwrap();
    let moved = task.replace(
        "  - { kind: Pod, namespace: multi, name: multi-container }",
        "  - { kind: Pod, namespace: test, name: multi-container }",
    );
    assert_ne!(task, moved, "the task owns its Pod in namespace multi");
    files.files.insert(path.to_string(), moved.into_bytes());
    let problems: Vec<String> = match kubelab::load_content(&files) {
        Ok(_) => Vec::new(),
        Err(problems) => problems.0.iter().map(ToString::to_string).collect(),
    };
    assert!(
        problems.iter().any(|p| p.contains(
            "tasks `deploy-two-pods` and `fix-port-conflict` both claim namespace test (`deploy-two-pods` owns it and deletes it with everything in it) on context `kind-kubelab`"
        )),
        "{problems:#?}"
    );
}
