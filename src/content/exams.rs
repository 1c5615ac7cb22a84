//! Loading `exams/*.yaml`: every task exists, every context is declared and used, and no
//! two tasks on one context claim the same objects or both change the CNI.

use std::collections::{BTreeMap, HashSet};

use super::load::Loader;
use super::model::ExamFile;
use super::problem::line_of;
use super::{Exam, Lesson, Task, conflicts};

/// The longest exam kubelab accepts (the CKA itself takes two hours).
const MAX_MINUTES: u32 = 240;

impl Loader<'_> {
    /// Every exam under `exams/`, validated against the loaded lessons and tasks.
    pub(super) fn exams(
        &mut self,
        lessons: &[Lesson],
        tasks: &BTreeMap<String, Task>,
    ) -> Vec<Exam> {
        let paths: Vec<String> = self
            .files
            .children("exams", ".yaml")
            .map(str::to_string)
            .collect();
        let mut exams = Vec::new();
        for rel in paths {
            let stem = rel
                .trim_start_matches("exams/")
                .trim_end_matches(".yaml")
                .to_string();
            if let Some(exam) = self.exam(&rel, &stem, lessons, tasks) {
                exams.push(exam);
            }
        }
        exams
    }

    fn exam(
        &mut self,
        rel: &str,
        stem: &str,
        lessons: &[Lesson],
        tasks: &BTreeMap<String, Task>,
    ) -> Option<Exam> {
        let (file, source) = self.yaml::<ExamFile>(rel)?;
        if file.id != stem {
            self.problem(
                rel,
                line_of(source, "id", &file.id),
                format!("exam id `{}` must equal its file name `{stem}`", file.id),
            );
        }
        self.check_id(rel, source, "id", &file.id);
        if file.id == "attempts" {
            self.problem(
                rel,
                line_of(source, "id", &file.id),
                "`attempts` is reserved: /exams/attempts/ is where attempts live",
            );
        }
        if file.minutes == 0 || file.minutes > MAX_MINUTES {
            self.problem(
                rel,
                line_of(source, "minutes", ""),
                format!(
                    "an exam takes 1 to {MAX_MINUTES} minutes, not {}",
                    file.minutes
                ),
            );
        }
        if file.pass_mark == 0 || file.pass_mark > 100 {
            self.problem(
                rel,
                line_of(source, "pass_mark", ""),
                format!(
                    "the pass mark is a percentage from 1 to 100, not {}",
                    file.pass_mark
                ),
            );
        }
        if let Some(lesson) = &file.lesson
            && !lessons.iter().any(|l| &l.id == lesson)
        {
            self.problem(
                rel,
                line_of(source, "lesson", lesson),
                format!("exam names lesson `{lesson}`, which does not exist"),
            );
        }
        if file.tasks.is_empty() {
            self.problem(
                rel,
                line_of(source, "tasks", ""),
                "an exam needs at least one task",
            );
        }
        let mut contexts = HashSet::new();
        for context in &file.contexts {
            if context.name.trim().is_empty() {
                self.problem(
                    rel,
                    line_of(source, "contexts", ""),
                    "a context needs a name",
                );
            } else if !contexts.insert(context.name.as_str()) {
                self.problem(
                    rel,
                    line_of(source, "name", &context.name),
                    format!("duplicate context `{}`", context.name),
                );
            }
        }
        let mut seen = HashSet::new();
        for entry in &file.tasks {
            let line = line_of(source, "task", &entry.task);
            if !tasks.contains_key(&entry.task) {
                self.problem(rel, line, format!("task `{}` does not exist", entry.task));
            }
            if !seen.insert(entry.task.as_str()) {
                self.problem(rel, line, format!("task `{}` is listed twice", entry.task));
            }
            if !contexts.contains(entry.context.as_str()) {
                self.problem(
                    rel,
                    line,
                    format!(
                        "task `{}` runs on context `{}`, which is not declared under `contexts`",
                        entry.task, entry.context
                    ),
                );
            }
        }
        for context in &file.contexts {
            if !file.tasks.iter().any(|t| t.context == context.name) {
                self.problem(
                    rel,
                    line_of(source, "name", &context.name),
                    format!("context `{}` is declared but no task uses it", context.name),
                );
            }
            let on_context: Vec<&Task> = file
                .tasks
                .iter()
                .filter(|t| t.context == context.name)
                .filter_map(|t| tasks.get(&t.task))
                .collect();
            for conflict in conflicts(&on_context) {
                self.problem(
                    rel,
                    line_of(source, "task", &conflict.second),
                    format!(
                        "tasks `{}` and `{}` both claim {} on context `{}`: give them different contexts or leave one out",
                        conflict.first, conflict.second, conflict.what, context.name
                    ),
                );
            }
        }
        Some(Exam {
            id: file.id,
            title: file.title,
            summary: file.summary,
            lesson: file.lesson,
            minutes: file.minutes,
            pass_mark: file.pass_mark,
            contexts: file.contexts,
            tasks: file.tasks,
        })
    }
}
