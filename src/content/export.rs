//! A lesson as a study folder for the learner's own notes repository, generated from the same
//! content the site renders: `README.md` with the whole lesson (sections in order, links that
//! work offline), `files/` with every manifest and script, and `tasks/` with one Markdown file
//! per task (statement, hints, solution, and how to check it with `kubelab check`).

use super::{Catalogue, Lesson, Task};

/// One file of the folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderFile {
    /// Its path inside the folder, `/`-separated and relative.
    pub path: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Unix permissions: scripts are executable.
    pub mode: u32,
}

impl FolderFile {
    fn text(path: String, text: String) -> FolderFile {
        FolderFile {
            path,
            bytes: text.into_bytes(),
            mode: 0o644,
        }
    }
}

/// Where a Markdown text will live, for its relative links.
#[derive(Debug, Clone, Copy)]
enum Place {
    /// `README.md` at the top of the folder.
    Top,
    /// `tasks/ID.md`.
    Tasks,
}

impl Place {
    fn files(self) -> &'static str {
        match self {
            Place::Top => "files/",
            Place::Tasks => "../files/",
        }
    }

    fn tasks(self) -> &'static str {
        match self {
            Place::Top => "tasks/",
            Place::Tasks => "",
        }
    }
}

/// The fence language for a file name.
fn language(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("yaml" | "yml") => "yaml",
        Some("sh") => "bash",
        Some("json") => "json",
        _ => "",
    }
}

/// Rewrites the site's Markdown for the folder: embedded files become code blocks with a link
/// to `files/`, links to task pages point at `tasks/ID.md`, links to lesson pages at the
/// README's anchors; headings move `shift` levels down (a section's `##` under the README's
/// own `##`). Code blocks are left as they are.
fn offline(lesson: &Lesson, markdown: &str, place: Place, shift: usize) -> String {
    let mut out = String::new();
    let mut fence: Option<String> = None;
    let mut lines = markdown.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if fence.is_none()
            && let Some(name) = trimmed.strip_prefix("```file:")
        {
            let name = name.trim();
            // The embed's body is empty: skip to its closing fence.
            for rest in lines.by_ref() {
                if rest.trim_start().starts_with("```") {
                    break;
                }
            }
            let text = lesson
                .files
                .get(name)
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            out.push_str(&format!(
                "`{name}` ([{}{name}]({}{name})):\n\n```{}\n{}",
                place.files(),
                place.files(),
                language(name),
                text
            ));
            if !text.ends_with('\n') {
                out.push('\n');
            }
            out.push_str("```\n");
            continue;
        }
        if let Some(open) = &fence {
            if trimmed.starts_with(open.as_str()) {
                fence = None;
            }
            out.push_str(line);
            out.push('\n');
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = Some(trimmed.chars().take(3).collect());
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let line = if line.starts_with('#') && shift > 0 {
            format!("{}{line}", "#".repeat(shift))
        } else {
            line.to_string()
        };
        out.push_str(&relink(&line, lesson, place));
        out.push('\n');
    }
    out
}

/// Rewrites the site's absolute links in one line of prose.
fn relink(line: &str, lesson: &Lesson, place: Place) -> String {
    let mut out = line
        .replace("](/tasks/", &format!("]({}", place.tasks()))
        .replace(
            &format!("](/lessons/{}/files/", lesson.id),
            &format!("]({}", place.files()),
        )
        .replace(
            &format!("](/lessons/{}#", lesson.id),
            match place {
                Place::Top => "](#",
                Place::Tasks => "](../README.md#",
            },
        )
        .replace(
            &format!("](/lessons/{})", lesson.id),
            match place {
                Place::Top => "](#top)",
                Place::Tasks => "](../README.md)",
            },
        );
    // Task links got their folder; now their file.
    for task in &lesson.tasks {
        let bare = format!("]({}{task}", place.tasks());
        out = out
            .replace(&format!("{bare})"), &format!("{bare}.md)"))
            .replace(&format!("{bare}#"), &format!("{bare}.md#"));
    }
    out
}

fn task_file(lesson: &Lesson, task: &Task) -> String {
    let mut md = format!(
        "# {}\n\n{} minutes · {} points · from [{}](../README.md)\n\n## Task\n\n{}\n",
        task.title,
        task.minutes,
        task.max_points(),
        lesson.title,
        offline(lesson, &task.source.statement, Place::Tasks, 0).trim_end()
    );
    if !task.source.files.is_empty() {
        md.push_str("\n## Files\n\n");
        for name in &task.source.files {
            md.push_str(&format!("- [{name}](../files/{name})\n"));
        }
    }
    if !task.source.hints.is_empty() {
        md.push_str("\n## Hints\n\n");
        for (n, hint) in task.source.hints.iter().enumerate() {
            md.push_str(&format!(
                "<details>\n<summary>Hint {} of {}</summary>\n\n{}\n\n</details>\n\n",
                n + 1,
                task.source.hints.len(),
                offline(lesson, hint, Place::Tasks, 0).trim_end()
            ));
        }
    }
    md.push_str(&format!(
        "\n## Solution\n\n<details>\n<summary>Show the solution</summary>\n\n{}\n\n</details>\n",
        offline(lesson, &task.source.solution, Place::Tasks, 0).trim_end()
    ));
    md.push_str(&format!(
        "\n## Check it\n\nOn the lesson's cluster (`kubelab cluster create`), set the task up, do it, \
         then let kubelab judge it criterion by criterion:\n\n```bash\nkubelab setup {id}\n\
         kubelab check {id}\nkubelab reset {id}   # when you are done\n```\n\n\
         The check passes when:\n\n",
        id = task.id
    ));
    for c in &task.checks {
        md.push_str(&format!("- {} ({} pt)\n", c.description, c.points));
    }
    md
}

/// The lesson as a study folder: every file with its path and mode.
pub fn study_folder(catalogue: &Catalogue, lesson: &Lesson) -> Vec<FolderFile> {
    let mut readme = format!(
        "<a id=\"top\"></a>\n\n# {}\n\n{}\n\n> Written for {}. Generated by kubelab from the lesson it serves; \
         the manifests and scripts are in [files/](files/), the exercises in [tasks/](tasks/).\n\n## Contents\n\n",
        lesson.title, lesson.summary, lesson.written_for
    );
    for section in &lesson.sections {
        readme.push_str(&format!("- [{}](#{})\n", section.title, section.id));
    }
    readme.push_str("- Tasks:\n");
    let tasks: Vec<&Task> = lesson
        .tasks
        .iter()
        .filter_map(|id| catalogue.task(id))
        .collect();
    for task in &tasks {
        readme.push_str(&format!("  - [{}](tasks/{}.md)\n", task.title, task.id));
    }
    for section in &lesson.sections {
        readme.push_str(&format!(
            "\n<a id=\"{}\"></a>\n\n## {}\n\n{}",
            section.id,
            section.title,
            offline(lesson, &section.markdown, Place::Top, 1)
        ));
    }
    let mut out = vec![FolderFile::text("README.md".into(), readme)];
    for (name, bytes) in &lesson.files {
        out.push(FolderFile {
            path: format!("files/{name}"),
            bytes: bytes.to_vec(),
            mode: if name.ends_with(".sh") { 0o755 } else { 0o644 },
        });
    }
    for task in tasks {
        out.push(FolderFile::text(
            format!("tasks/{}.md", task.id),
            task_file(lesson, task),
        ));
    }
    out
}

/// The folder as a gzip-compressed tar archive, every file under `top/`, with its mode and a
/// fixed time (the same content gives the same archive).
pub fn tar_gz(files: &[FolderFile], top: &str) -> std::io::Result<Vec<u8>> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut archive = tar::Builder::new(gz);
    for file in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(file.bytes.len() as u64);
        header.set_mode(file.mode);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        archive.append_data(
            &mut header,
            format!("{top}/{}", file.path),
            file.bytes.as_slice(),
        )?;
    }
    archive.into_inner()?.finish()
}

/// Writes the folder into `dir` (created if missing), scripts executable.
pub fn write_folder(files: &[FolderFile], dir: &std::path::Path) -> std::io::Result<()> {
    for file in files {
        let path = dir.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, &file.bytes)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(file.mode))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lesson() -> Lesson {
        Lesson {
            id: "l".into(),
            title: "L".into(),
            summary: "s".into(),
            written_for: "v1".into(),
            sections: Vec::new(),
            tasks: vec!["t1".into()],
            files: [(
                "a.yaml".to_string(),
                bytes::Bytes::from_static(b"kind: Pod\n"),
            )]
            .into_iter()
            .collect(),
            cluster: None,
            diagnose: Vec::new(),
        }
    }

    #[test]
    fn embeds_links_and_headings_work_offline() {
        let md = "# Head\n\nSee [t](/tasks/t1) and [s](/lessons/l#theory).\n\n```file:a.yaml\n```\n\n```bash\n# not a heading\n```\n";
        let out = offline(&lesson(), md, Place::Top, 1);
        assert!(out.contains("## Head"), "{out}");
        assert!(out.contains("[t](tasks/t1.md)"), "{out}");
        assert!(out.contains("[s](#theory)"), "{out}");
        assert!(out.contains("```yaml\nkind: Pod\n```"), "{out}");
        assert!(out.contains("[files/a.yaml](files/a.yaml)"), "{out}");
        assert!(out.contains("# not a heading"), "{out}");
        assert!(!out.contains("## not a heading"), "{out}");
        let inside = offline(&lesson(), "[t](/tasks/t1)", Place::Tasks, 0);
        assert!(inside.contains("[t](t1.md)"), "{inside}");
    }
}
