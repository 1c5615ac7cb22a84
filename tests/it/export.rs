//! The lesson as a study folder: the download's files and modes, links that resolve inside
//! the folder, nothing pointing at this server or this machine, and `kubelab export`.

use std::collections::BTreeMap;
use std::io::Read;

use axum::http::StatusCode;

use crate::support::test_app;

/// The archive's files: path (without the top folder) → (mode, text).
fn unpack(bytes: &[u8]) -> BTreeMap<String, (u32, String)> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut out = BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mode = entry.header().mode().unwrap();
        let mut text = String::new();
        entry.read_to_string(&mut text).unwrap();
        let inside = path
            .strip_prefix("pod-connectivity/")
            .unwrap_or_else(|| panic!("{path} is under the lesson's folder"))
            .to_string();
        out.insert(inside, (mode, text));
    }
    out
}

/// Every Markdown link target in `text` (what follows `](`).
fn links(text: &str) -> Vec<String> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split_once(')').map(|(target, _)| target.to_string()))
        .collect()
}

/// Resolves `target` against the folder of `from`, `..` included.
fn resolve(from: &str, target: &str) -> String {
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop();
    for piece in target.split('/') {
        match piece {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            other => parts.push(other),
        }
    }
    parts.join("/")
}

#[tokio::test]
async fn the_lesson_downloads_as_a_study_folder() {
    let app = test_app().await;
    let reply = app.get("/lessons/pod-connectivity/download", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["content-type"], "application/gzip");
    assert!(
        reply.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("pod-connectivity.tar.gz")
    );
    let files = unpack(&reply.bytes);
    let catalogue = app.state.service.catalogue();
    let lesson = catalogue.lesson("pod-connectivity").unwrap();
    assert!(files.contains_key("README.md"));
    for name in lesson.files.keys() {
        let (mode, _) = &files[&format!("files/{name}")];
        let wanted = if name.ends_with(".sh") { 0o755 } else { 0o644 };
        assert_eq!(*mode, wanted, "{name}");
    }
    for task in &lesson.tasks {
        let (_, text) = &files[&format!("tasks/{task}.md")];
        assert!(text.contains(&format!("kubelab check {task}")), "{text}");
        assert!(text.contains("## Hints") && text.contains("## Solution"));
    }
    assert_eq!(
        files.len(),
        1 + lesson.files.len() + lesson.tasks.len(),
        "{:?}",
        files.keys()
    );
    let (_, readme) = &files["README.md"];
    for section in &lesson.sections {
        assert!(readme.contains(&format!("## {}", section.title)));
    }
    assert!(readme.contains("Written for"));
    // Every link inside the folder resolves: anchors to an anchor, paths to a file.
    for (path, (_, text)) in files.iter().filter(|(p, _)| p.ends_with(".md")) {
        for target in links(text) {
            if target.starts_with("https://") {
                continue;
            }
            assert!(
                !target.starts_with('/') && !target.starts_with("http://"),
                "{path}: `{target}` leaves the folder"
            );
            let (file, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let file = if file.is_empty() {
                path.clone()
            } else {
                resolve(path, file)
            };
            let exists = files.contains_key(&file)
                || files
                    .keys()
                    .any(|k| k.starts_with(&format!("{}/", file.trim_end_matches('/'))));
            assert!(exists, "{path}: `{target}` names no file of the folder");
            if !anchor.is_empty() {
                let (_, body) = &files[&file];
                assert!(
                    body.contains(&format!("id=\"{anchor}\"")),
                    "{path}: `{target}`: no anchor {anchor} in {file}"
                );
            }
        }
        // Nothing points at a kubelab server (the lesson itself talks about localhost inside
        // Pods, so the check is for the server's pages and default address).
        for site in [
            "http://localhost:8080",
            "http://127.0.0.1:8080",
            "](/lessons/",
            "](/tasks/",
        ] {
            assert!(!text.contains(site), "{path} contains {site}");
        }
        assert!(!text.contains(env!("CARGO_MANIFEST_DIR")), "{path}");
    }
    // An unknown lesson.
    assert_eq!(
        app.get("/lessons/nope/download", None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[test]
fn kubelab_export_writes_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kubelab"))
        .args(["export", "pod-connectivity"])
        .arg(dir.path().join("notes/pod-connectivity"))
        .env_remove("KUBELAB_CONTENT")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let folder = dir.path().join("notes/pod-connectivity");
    assert!(folder.join("README.md").is_file());
    assert!(folder.join("tasks/fix-missing-cni.md").is_file());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(folder.join("files/debug-networking.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_kubelab"))
        .args(["export", "nope"])
        .arg(dir.path())
        .env_remove("KUBELAB_CONTENT")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no lesson `nope`"));
}
