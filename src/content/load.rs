//! Reads a content tree into a [`Catalogue`], collecting every problem rather than stopping
//! at the first, so one `kubelab lint` run shows an author all there is to fix.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::markdown::{Embeds, code_block, render};
use super::model::{CatalogueFile, LessonFile, Step, TaskFile};
use super::problem::{Problem, Problems, line_at, line_of};
use super::source::ContentFiles;
use super::{Catalogue, Domain, Lesson, Section, ShownFile, Task, Topic};
use crate::content::highlight::{Palette, lang_for_file};

/// Wrong answers each task must declare, at least.
const MIN_WRONG: usize = 3;

/// Loads and validates a content tree; every problem found is returned together.
pub fn load(files: &ContentFiles) -> Result<Catalogue, Problems> {
    let mut loader = Loader {
        files,
        problems: Vec::new(),
        palette: Palette::default(),
    };
    let catalogue = loader.build();
    let mut problems = loader.problems;
    problems.sort();
    problems.dedup();
    match catalogue {
        Some(catalogue) if problems.is_empty() => Ok(catalogue),
        _ => Err(Problems(problems)),
    }
}

/// A link to `/tasks/<id>` found in Markdown: (file, task id, line).
type TaskLink = (String, String, usize);

pub(super) struct Loader<'a> {
    pub(super) files: &'a ContentFiles,
    problems: Vec<Problem>,
    palette: Palette,
}

/// Whether `id` is lowercase ASCII words joined by single dashes.
pub(super) fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

impl<'a> Loader<'a> {
    pub(super) fn problem(&mut self, rel: &str, line: usize, message: impl Into<String>) {
        self.problems.push(Problem {
            file: self.files.display(rel),
            line,
            message: message.into(),
        });
    }

    fn text(&mut self, rel: &str) -> Option<&'a str> {
        let files = self.files;
        let Some(bytes) = files.get(rel) else {
            self.problem(rel, 1, "file is missing");
            return None;
        };
        match std::str::from_utf8(bytes) {
            Ok(text) => Some(text),
            Err(err) => {
                let line = line_at(bytes, err.valid_up_to());
                self.problem(rel, line, "file is not valid UTF-8");
                None
            }
        }
    }

    pub(super) fn yaml<T: DeserializeOwned>(&mut self, rel: &str) -> Option<(T, &'a str)> {
        let source = self.text(rel)?;
        match serde_yaml_ng::from_str::<T>(source) {
            Ok(value) => Some((value, source)),
            Err(err) => {
                let reported = err.location().map(|l| l.line()).unwrap_or(1);
                let mut message = err.to_string();
                if let Some(cut) = message.rfind(" at line ") {
                    message.truncate(cut);
                }
                let line = refine_line(source, reported, &message);
                self.problem(rel, line, message);
                None
            }
        }
    }

    pub(super) fn check_id(&mut self, rel: &str, source: &str, key: &str, id: &str) {
        if !valid_id(id) {
            self.problem(
                rel,
                line_of(source, key, id),
                format!(
                    "`{id}` is not a valid id: use lowercase letters, digits and single dashes"
                ),
            );
        }
    }

    fn check_unique<'s>(
        &mut self,
        rel: &str,
        source: &str,
        key: &str,
        what: &str,
        ids: impl Iterator<Item = &'s str>,
    ) {
        let mut seen = HashSet::new();
        for id in ids {
            self.check_id(rel, source, key, id);
            if !seen.insert(id) {
                let line = source
                    .lines()
                    .enumerate()
                    .filter(|(_, l)| {
                        let l = l.trim_start().trim_start_matches("- ");
                        l.starts_with(&format!("{key}:")) && l.contains(id)
                    })
                    .nth(1)
                    .map(|(i, _)| i + 1)
                    .unwrap_or(1);
                self.problem(rel, line, format!("duplicate {what} id `{id}`"));
            }
        }
    }

    fn build(&mut self) -> Option<Catalogue> {
        let rel = "catalogue.yaml";
        let parsed = self.yaml::<CatalogueFile>(rel);
        let mut lessons = Vec::new();
        let mut tasks = BTreeMap::new();
        for dir in self.files.subdirs("lessons") {
            if let Some((lesson, lesson_tasks)) = self.lesson(&dir) {
                lessons.push(lesson);
                for task in lesson_tasks {
                    tasks.insert(task.id.clone(), task);
                }
            }
        }
        let (file, source) = parsed?;
        self.check_unique(
            rel,
            source,
            "id",
            "domain",
            file.domains.iter().map(|d| d.id.as_str()),
        );
        self.check_unique(
            rel,
            source,
            "id",
            "topic",
            file.domains
                .iter()
                .flat_map(|d| d.topics.iter().map(|t| t.id.as_str())),
        );
        let total: u32 = file.domains.iter().map(|d| d.weight).sum();
        if total != 100 {
            self.problem(
                rel,
                line_of(source, "weight", ""),
                format!("domain weights add up to {total}, not 100"),
            );
        }
        let mut listed = BTreeSet::new();
        for topic in file.domains.iter().flat_map(|d| &d.topics) {
            if let Some(lesson) = &topic.lesson {
                listed.insert(lesson.clone());
                if !lessons.iter().any(|l: &Lesson| &l.id == lesson) {
                    let line = line_of(source, "lesson", lesson);
                    self.problem(rel, line, format!("topic `{}` names lesson `{lesson}`, which does not exist under lessons/", topic.id));
                }
            }
        }
        for lesson in &lessons {
            if !listed.contains(&lesson.id) {
                let lesson_rel = format!("lessons/{}/lesson.yaml", lesson.id);
                self.problem(
                    &lesson_rel,
                    1,
                    format!(
                        "lesson `{}` is not listed under any topic of catalogue.yaml",
                        lesson.id
                    ),
                );
            }
        }
        // Present lessons in the catalogue's topic order.
        let order: Vec<&String> = file
            .domains
            .iter()
            .flat_map(|d| &d.topics)
            .filter_map(|t| t.lesson.as_ref())
            .collect();
        lessons.sort_by_key(|l| {
            order
                .iter()
                .position(|id| **id == l.id)
                .unwrap_or(usize::MAX)
        });
        let domains = file
            .domains
            .into_iter()
            .map(|d| Domain {
                id: d.id,
                title: d.title,
                weight: d.weight,
                topics: d
                    .topics
                    .into_iter()
                    .map(|t| Topic {
                        id: t.id,
                        title: t.title,
                        lesson: t.lesson,
                    })
                    .collect(),
            })
            .collect();
        let exams = self.exams(&lessons, &tasks);
        Some(Catalogue {
            exam: file.exam,
            exams,
            curriculum: file.curriculum,
            domains,
            lessons,
            tasks,
            digest: digest(self.files),
            highlight_css: self.palette.stylesheet(),
        })
    }

    fn lesson(&mut self, dir: &str) -> Option<(Lesson, Vec<Task>)> {
        let base = format!("lessons/{dir}");
        let rel = format!("{base}/lesson.yaml");
        let (file, source) = self.yaml::<LessonFile>(&rel)?;
        if file.id != dir {
            self.problem(
                &rel,
                line_of(source, "id", &file.id),
                format!("lesson id `{}` must equal its folder name `{dir}`", file.id),
            );
        }
        self.check_id(&rel, source, "id", &file.id);
        self.check_unique(
            &rel,
            source,
            "id",
            "section",
            file.sections.iter().map(|s| s.id.as_str()),
        );
        if file.sections.is_empty() {
            self.problem(
                &rel,
                line_of(source, "sections", ""),
                "a lesson needs at least one section",
            );
        }

        let files: BTreeMap<String, bytes::Bytes> = self
            .files
            .children(&format!("{base}/files"), "")
            .filter_map(|path| {
                let name = path.rsplit('/').next()?;
                Some((
                    name.to_string(),
                    bytes::Bytes::copy_from_slice(self.files.get(path)?),
                ))
            })
            .collect();
        let texts: BTreeMap<&str, &str> = files
            .iter()
            .filter_map(|(name, bytes)| Some((name.as_str(), std::str::from_utf8(bytes).ok()?)))
            .collect();
        let lookup = |name: &str| texts.get(name).copied();
        let url_prefix = format!("/lessons/{}/files", file.id);
        let embeds = Embeds {
            url_prefix: &url_prefix,
            lookup: &lookup,
        };

        let mut task_links = Vec::new();
        let mut sections = Vec::new();
        let listed: HashSet<String> = file
            .sections
            .iter()
            .map(|s| format!("{base}/sections/{}.md", s.id))
            .collect();
        let orphans: Vec<String> = self
            .files
            .children(&format!("{base}/sections"), ".md")
            .filter(|path| !listed.contains(*path))
            .map(str::to_string)
            .collect();
        for orphan in orphans {
            self.problem(&orphan, 1, "section file is not listed in lesson.yaml");
        }
        for section in &file.sections {
            let md_rel = format!("{base}/sections/{}.md", section.id);
            let Some(markdown) = self.text(&md_rel) else {
                continue;
            };
            let rendered = render(markdown, &section.id, &embeds, &mut self.palette);
            for (name, line) in &rendered.files {
                if !texts.contains_key(name.as_str()) {
                    self.problem(
                        &md_rel,
                        *line,
                        format!("embedded file `{name}` does not exist in {base}/files/"),
                    );
                }
            }
            task_links.extend(
                rendered
                    .task_links
                    .iter()
                    .map(|(task, line)| (md_rel.clone(), task.clone(), *line)),
            );
            sections.push(Section {
                id: section.id.clone(),
                title: section.title.clone(),
                html: rendered.html,
                markdown: markdown.to_string(),
            });
        }

        let mut tasks = Vec::new();
        self.check_unique(
            &rel,
            source,
            "",
            "task",
            file.tasks.iter().map(String::as_str),
        );
        for task_id in &file.tasks {
            let task_rel = format!("{base}/tasks/{task_id}.yaml");
            if self.files.get(&task_rel).is_none() {
                self.problem(
                    &rel,
                    line_of(source, "", task_id),
                    format!("task `{task_id}` has no file {task_rel}"),
                );
                continue;
            }
            if let Some(task) = self.task(&task_rel, task_id, &file.id, &texts, &embeds) {
                task_links.extend(task.1);
                tasks.push(task.0);
            }
        }
        let unlisted: Vec<String> = self
            .files
            .children(&format!("{base}/tasks"), ".yaml")
            .filter(|path| {
                let stem = path
                    .rsplit('/')
                    .next()
                    .unwrap_or("")
                    .trim_end_matches(".yaml");
                !file.tasks.iter().any(|t| t == stem)
            })
            .map(str::to_string)
            .collect();
        for path in unlisted {
            self.problem(
                &path,
                1,
                "task file is not listed under `tasks` in lesson.yaml",
            );
        }
        for (md_rel, task, line) in task_links {
            if !file.tasks.contains(&task) {
                self.problem(
                    &md_rel,
                    line,
                    format!("link to unknown task `/tasks/{task}`"),
                );
            }
        }

        if let Some(cluster) = &file.cluster {
            self.check_cluster(&rel, source, cluster, &texts);
        }
        let mut step_ids = std::collections::HashSet::new();
        for step in &file.diagnose {
            if !step_ids.insert(step.id.as_str()) {
                self.problem(
                    &rel,
                    1,
                    format!("diagnose step `{}` is listed twice", step.id),
                );
            }
            if !file.sections.iter().any(|s| s.id == step.section) {
                self.problem(
                    &rel,
                    1,
                    format!(
                        "diagnose step `{}` names section `{}`, which the lesson does not have",
                        step.id, step.section
                    ),
                );
            }
            if step.title.trim().is_empty() || step.fix.trim().is_empty() {
                self.problem(
                    &rel,
                    1,
                    format!("diagnose step `{}` needs a title and a fix", step.id),
                );
            }
        }
        let lesson = Lesson {
            id: file.id,
            title: file.title,
            summary: file.summary,
            written_for: file.written_for,
            sections,
            tasks: file.tasks,
            files,
            cluster: file.cluster,
            diagnose: file.diagnose,
        };
        Some((lesson, tasks))
    }

    fn task(
        &mut self,
        rel: &str,
        expected_id: &str,
        lesson_id: &str,
        texts: &BTreeMap<&str, &str>,
        embeds: &Embeds<'_>,
    ) -> Option<(Task, Vec<TaskLink>)> {
        let (file, source) = self.yaml::<TaskFile>(rel)?;
        let mut links = Vec::new();
        if file.id != expected_id {
            self.problem(
                rel,
                line_of(source, "id", &file.id),
                format!(
                    "task id `{}` must equal its file name `{expected_id}`",
                    file.id
                ),
            );
        }
        if file.lesson != lesson_id {
            self.problem(
                rel,
                line_of(source, "lesson", &file.lesson),
                format!(
                    "task names lesson `{}` but lives in lesson `{lesson_id}`",
                    file.lesson
                ),
            );
        }
        if file.minutes == 0 {
            self.problem(
                rel,
                line_of(source, "minutes", "0"),
                "minutes must be at least 1",
            );
        }
        for name in &file.files {
            if !texts.contains_key(name.as_str()) {
                self.problem(
                    rel,
                    line_of(source, "files", name),
                    format!("file `{name}` does not exist in lessons/{lesson_id}/files/"),
                );
            }
        }
        for step in file.setup.iter().chain(&file.cleanup).chain(&file.solve) {
            match step {
                Step::Apply(name) if !texts.contains_key(name.as_str()) => {
                    self.problem(rel, line_of(source, "apply", name), format!("apply names `{name}`, which does not exist in lessons/{lesson_id}/files/"));
                }
                Step::Delete(object) => self.check_object(rel, source, object),
                _ => {}
            }
        }
        for object in &file.owns {
            self.check_object(rel, source, object);
        }
        self.check_answers(rel, source, &file, texts);
        if file.checks.is_empty() {
            self.problem(
                rel,
                line_of(source, "checks", ""),
                "a task needs at least one check",
            );
        }
        self.check_unique(
            rel,
            source,
            "id",
            "check",
            file.checks.iter().map(|c| c.id.as_str()),
        );
        for criterion in &file.checks {
            let line = line_of(source, "id", &criterion.id);
            if criterion.points == 0 {
                self.problem(
                    rel,
                    line,
                    format!("check `{}` must be worth at least 1 point", criterion.id),
                );
            }
            for message in criterion.check.problems() {
                self.problem(rel, line, format!("check `{}`: {message}", criterion.id));
            }
        }

        let mut missing_files = Vec::new();
        let mut markdown = |text: &str, key: &str| {
            let rendered = render(
                text,
                &format!("{}-{key}", file.id),
                embeds,
                &mut self.palette,
            );
            let line = line_of(source, key, "");
            for (name, _) in rendered.files {
                if !texts.contains_key(name.as_str()) {
                    missing_files.push((name, line));
                }
            }
            links.extend(
                rendered
                    .task_links
                    .into_iter()
                    .map(|(t, _)| (rel.to_string(), t, line)),
            );
            rendered.html
        };
        let statement_html = markdown(&file.statement, "statement");
        let hints_html: Vec<String> = file.hints.iter().map(|h| markdown(h, "hints")).collect();
        let solution_html = markdown(&file.solution, "solution");
        for (name, line) in missing_files {
            self.problem(
                rel,
                line,
                format!("embedded file `{name}` does not exist in lessons/{lesson_id}/files/"),
            );
        }
        let url_prefix = format!("/lessons/{lesson_id}/files");
        let palette = &mut self.palette;
        let files = file
            .files
            .iter()
            .filter_map(|name| {
                let text = texts.get(name.as_str())?;
                let html = code_block(
                    palette,
                    text,
                    lang_for_file(name),
                    Some((&url_prefix, name)),
                );
                Some(ShownFile {
                    name: name.clone(),
                    html,
                })
            })
            .collect();
        let source = super::TaskText {
            statement: file.statement.clone(),
            hints: file.hints.clone(),
            solution: file.solution.clone(),
            files: file.files.clone(),
        };
        let task = Task {
            source,
            id: file.id,
            title: file.title,
            lesson: file.lesson,
            minutes: file.minutes,
            style: file.style,
            statement_html,
            files,
            hints_html,
            solution_html,
            requires: file.requires,
            changes: file.changes,
            owns: file.owns,
            setup: file.setup,
            cleanup: file.cleanup,
            solve: file.solve,
            wrong: file.wrong,
            right: file.right,
            checks: file.checks,
        };
        Some((task, links))
    }

    fn check_cluster(
        &mut self,
        rel: &str,
        source: &str,
        cluster: &super::ClusterSpec,
        texts: &BTreeMap<&str, &str>,
    ) {
        if !texts.contains_key(cluster.kind_config.as_str()) {
            let line = line_of(source, "kind_config", &cluster.kind_config);
            self.problem(
                rel,
                line,
                format!(
                    "kind_config `{}` does not exist in the lesson's files/",
                    cluster.kind_config
                ),
            );
        }
        for (key, url) in [
            ("manifest", &cluster.flannel.manifest),
            ("url", &cluster.cni_plugins.url),
        ] {
            if !url.starts_with("https://") {
                self.problem(
                    rel,
                    line_of(source, key, url),
                    format!("`{url}` must be an https:// URL"),
                );
            }
        }
        if !cluster.cni_plugins.url.contains("{arch}") {
            let line = line_of(source, "url", &cluster.cni_plugins.url);
            self.problem(
                rel,
                line,
                "the plugins url needs `{arch}` where the architecture goes",
            );
        }
        if cluster.cni_plugins.sha256.is_empty() {
            self.problem(
                rel,
                line_of(source, "sha256", ""),
                "give at least one architecture's sha256",
            );
        }
        for (arch, sum) in &cluster.cni_plugins.sha256 {
            if sum.len() != 64 || !sum.bytes().all(|b| b.is_ascii_hexdigit()) {
                self.problem(
                    rel,
                    line_of(source, arch, sum),
                    format!("sha256 for `{arch}` must be 64 hex digits"),
                );
            }
        }
    }

    /// Wrong and right answers: enough of each for `kubelab selftest` to prove the checks
    /// both ways, steps that run, criteria that exist, and objects that setup and reset remove.
    fn check_answers(
        &mut self,
        rel: &str,
        source: &str,
        file: &TaskFile,
        texts: &BTreeMap<&str, &str>,
    ) {
        if file.wrong.len() < MIN_WRONG || file.right.is_empty() {
            self.problem(
                rel,
                line_of(source, "id", &file.id),
                format!(
                    "a task needs at least {MIN_WRONG} wrong answers (`wrong:`) and 1 right answer (`right:`) besides `solve:`, so `kubelab selftest` can prove its checks both ways; it has {} and {}",
                    file.wrong.len(),
                    file.right.len()
                ),
            );
        }
        if file.solve.is_empty() {
            self.problem(
                rel,
                line_of(source, "id", &file.id),
                "a task needs `solve:` steps (its reference solution)",
            );
        }
        let answers = file
            .wrong
            .iter()
            .map(|w| (&w.name, &w.steps))
            .chain(file.right.iter().map(|r| (&r.name, &r.steps)));
        for (name, steps) in answers {
            let line = line_of(source, "name", name);
            if steps.is_empty() {
                self.problem(rel, line, format!("answer `{name}` has no steps"));
            }
            for step in steps {
                self.check_answer_step(rel, line, file, texts, name, step);
            }
        }
        for wrong in &file.wrong {
            let line = line_of(source, "name", &wrong.name);
            if wrong.fails.is_empty() {
                self.problem(
                    rel,
                    line,
                    format!(
                        "wrong answer `{}` names no criterion it fails (`fails:`)",
                        wrong.name
                    ),
                );
            }
            for id in wrong
                .fails
                .iter()
                .filter(|id| !file.checks.iter().any(|c| &c.id == *id))
            {
                self.problem(
                    rel,
                    line,
                    format!(
                        "wrong answer `{}` fails `{id}`, which is not a check of this task",
                        wrong.name
                    ),
                );
            }
        }
        let mut seen = HashSet::new();
        let names = file
            .wrong
            .iter()
            .map(|w| &w.name)
            .chain(file.right.iter().map(|r| &r.name));
        for name in names {
            if !seen.insert(name.as_str()) {
                self.problem(
                    rel,
                    line_of(source, "name", name),
                    format!("two answers are named `{name}`"),
                );
            }
        }
    }

    fn check_answer_step(
        &mut self,
        rel: &str,
        line: usize,
        file: &TaskFile,
        texts: &BTreeMap<&str, &str>,
        answer: &str,
        step: &Step,
    ) {
        let yaml = match step {
            Step::Apply(name) => match texts.get(name.as_str()) {
                Some(text) => *text,
                None => {
                    self.problem(rel, line, format!("answer `{answer}` applies `{name}`, which does not exist in the lesson's files/"));
                    return;
                }
            },
            Step::Manifest(yaml) => yaml.as_str(),
            _ => return,
        };
        let objects = match super::manifest::objects(yaml) {
            Ok(objects) => objects,
            Err(err) => {
                self.problem(
                    rel,
                    line,
                    format!("answer `{answer}`: the manifest is not valid: {err}"),
                );
                return;
            }
        };
        for object in objects {
            let owned = serde_yaml_ng::from_str::<super::model::ObjectKind>(&object.kind)
                .ok()
                .is_some_and(|kind| {
                    let namespace = kind
                        .namespaced()
                        .then(|| object.namespace.clone().unwrap_or_else(|| "default".into()));
                    file.owns.contains(&super::ObjectRef {
                        kind,
                        namespace,
                        name: object.name.clone(),
                    })
                });
            if !owned {
                self.problem(rel, line, format!("answer `{answer}` creates {object}, which the task does not own: setup and reset would leave it behind (add it to `owns:`)"));
            }
        }
    }

    fn check_object(&mut self, rel: &str, source: &str, object: &super::ObjectRef) {
        let line = line_of(source, "name", &object.name);
        match (object.kind.namespaced(), &object.namespace) {
            (true, None) => self.problem(
                rel,
                line,
                format!("{:?} `{}` needs a namespace", object.kind, object.name),
            ),
            (false, Some(_)) => self.problem(
                rel,
                line,
                format!(
                    "{:?} `{}` is cluster-scoped and takes no namespace",
                    object.kind, object.name
                ),
            ),
            _ => {}
        }
    }
}

/// serde reports errors inside internally tagged enums (checks) at the enclosing item,
/// so for an unknown field or variant point at the nearest line naming it instead.
fn refine_line(source: &str, reported: usize, message: &str) -> usize {
    let named = |marker: &str| {
        let start = message.find(marker)? + marker.len();
        let end = start + message[start..].find('`')?;
        Some(message[start..end].to_string())
    };
    let (needle, as_key) = match (named("unknown field `"), named("unknown variant `")) {
        (Some(field), _) => (field, true),
        (None, Some(variant)) => (variant, false),
        _ => return reported,
    };
    source
        .lines()
        .enumerate()
        .filter(|(_, line)| {
            let line = line.trim_start().trim_start_matches("- ");
            if as_key {
                line.starts_with(&format!("{needle}:"))
            } else {
                line.split(|c: char| {
                    c == ':' || c == ',' || c == '[' || c == ']' || c.is_whitespace()
                })
                .any(|word| word == needle)
            }
        })
        .map(|(index, _)| index + 1)
        .min_by_key(|line| line.abs_diff(reported))
        .unwrap_or(reported)
}

fn digest(files: &ContentFiles) -> String {
    let mut hasher = Sha256::new();
    for (path, bytes) in &files.files {
        hasher.update(path.as_bytes());
        hasher.update([0]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(valid_id("deploy-two-pods"));
        assert!(valid_id("a1"));
        assert!(!valid_id("Deploy"));
        assert!(!valid_id("a--b"));
        assert!(!valid_id("-a"));
        assert!(!valid_id(""));
        assert!(!valid_id("a_b"));
    }
}
