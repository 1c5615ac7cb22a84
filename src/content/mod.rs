//! Content loaded once into a typed, validated catalogue; Markdown is rendered at load.

mod exams;
pub mod export;
mod highlight;
mod load;
pub mod manifest;
mod markdown;
pub mod model;
mod problem;
mod source;

use std::collections::BTreeMap;

pub use load::load;
pub use model::{Change, ClusterSpec, CniRequirement, ObjectRef, Step, TaskStyle};
pub use source::ContentFiles;

use crate::checks::Criterion;

/// Everything a learner can read or do, validated.
#[derive(Debug)]
pub struct Catalogue {
    /// The exam, e.g. `CKA`.
    pub exam: String,
    /// The curriculum version the weights come from.
    pub curriculum: String,
    /// Exam domains in display order.
    pub domains: Vec<Domain>,
    /// Lessons in catalogue order.
    pub lessons: Vec<Lesson>,
    /// Tasks by id.
    pub tasks: BTreeMap<String, Task>,
    /// Practice exams in id order.
    pub exams: Vec<Exam>,
    /// SHA-256 over every content file, so stored results can name the content they were judged against.
    pub digest: String,
    /// The stylesheet for the highlighting classes the content uses.
    pub highlight_css: String,
}

impl Catalogue {
    /// The lesson with this id.
    pub fn lesson(&self, id: &str) -> Option<&Lesson> {
        self.lessons.iter().find(|lesson| lesson.id == id)
    }

    /// The task with this id.
    pub fn task(&self, id: &str) -> Option<&Task> {
        self.tasks.get(id)
    }

    /// The exam with this id.
    pub fn exam(&self, id: &str) -> Option<&Exam> {
        self.exams.iter().find(|exam| exam.id == id)
    }

    /// The exams a lesson links to.
    pub fn lesson_exams<'a>(&'a self, lesson: &'a str) -> impl Iterator<Item = &'a Exam> {
        self.exams
            .iter()
            .filter(move |exam| exam.lesson.as_deref() == Some(lesson))
    }

    /// The lesson's tasks in the lesson's order.
    pub fn lesson_tasks<'a>(&'a self, lesson: &'a Lesson) -> impl Iterator<Item = &'a Task> {
        lesson.tasks.iter().filter_map(|id| self.tasks.get(id))
    }
}

/// An exam domain.
#[derive(Debug)]
pub struct Domain {
    /// Stable id.
    pub id: String,
    /// Display title.
    pub title: String,
    /// Share of the exam in percent.
    pub weight: u32,
    /// Topics in curriculum order.
    pub topics: Vec<Topic>,
}

/// A curriculum topic, with its lesson when one is written.
#[derive(Debug)]
pub struct Topic {
    /// Stable id.
    pub id: String,
    /// Display title.
    pub title: String,
    /// Lesson id, if the topic has content.
    pub lesson: Option<String>,
}

/// A lesson with its rendered sections and its files.
#[derive(Debug)]
pub struct Lesson {
    /// Stable id.
    pub id: String,
    /// Display title.
    pub title: String,
    /// The summary paragraph as plain text.
    pub summary: String,
    /// Versions the lesson was written for.
    pub written_for: String,
    /// Sections in reading order.
    pub sections: Vec<Section>,
    /// Task ids in lesson order.
    pub tasks: Vec<String>,
    /// Files served raw and embedded in pages, by name (cheap to clone into a response).
    pub files: BTreeMap<String, bytes::Bytes>,
    /// The cluster the tasks run on, if the lesson has one.
    pub cluster: Option<ClusterSpec>,
    /// Its debugging checklist, in order.
    pub diagnose: Vec<model::DiagnoseStep>,
}

impl Lesson {
    /// The section with this id.
    pub fn section(&self, id: &str) -> Option<&Section> {
        self.sections.iter().find(|section| section.id == id)
    }
}

/// A rendered lesson section.
#[derive(Debug)]
pub struct Section {
    /// Stable id, the anchor and the progress key.
    pub id: String,
    /// Display title.
    pub title: String,
    /// Sanitized HTML body.
    pub html: String,
    /// The Markdown it was rendered from (for the study folder).
    pub markdown: String,
}

/// A task with its rendered texts and its declarations.
#[derive(Debug)]
pub struct Task {
    /// Stable id.
    pub id: String,
    /// Display title.
    pub title: String,
    /// The lesson it belongs to.
    pub lesson: String,
    /// Time budget in minutes.
    pub minutes: u32,
    /// Task-based or troubleshooting.
    pub style: TaskStyle,
    /// Statement HTML.
    pub statement_html: String,
    /// The files it uses, rendered as code blocks.
    pub files: Vec<ShownFile>,
    /// Hints HTML, in reveal order.
    pub hints_html: Vec<String>,
    /// Solution HTML.
    pub solution_html: String,
    /// Statement, hints and solution as the content's Markdown (for the study folder).
    pub source: TaskText,
    /// Required starting cluster state.
    pub requires: model::Requirements,
    /// Cluster-wide changes.
    pub changes: Vec<Change>,
    /// Objects the task owns.
    pub owns: Vec<ObjectRef>,
    /// Setup steps.
    pub setup: Vec<Step>,
    /// Cleanup steps.
    pub cleanup: Vec<Step>,
    /// The reference solution as steps.
    pub solve: Vec<Step>,
    /// Wrong answers that must lose the named criteria.
    pub wrong: Vec<model::WrongAnswer>,
    /// Alternative right answers that must keep full marks.
    pub right: Vec<model::RightAnswer>,
    /// Scored criteria.
    pub checks: Vec<Criterion>,
}

impl Task {
    /// The most points the task can score.
    pub fn max_points(&self) -> u32 {
        self.checks.iter().map(|c| c.points).sum()
    }
}

/// A task's texts as written, in Markdown.
#[derive(Debug, Clone, Default)]
pub struct TaskText {
    /// The statement.
    pub statement: String,
    /// Hints in reveal order.
    pub hints: Vec<String>,
    /// The solution.
    pub solution: String,
    /// The files it uses, by name.
    pub files: Vec<String>,
}

/// Why two tasks cannot be set up on one cluster at the same time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The first task.
    pub first: String,
    /// The second task.
    pub second: String,
    /// What they both claim, e.g. `Pod test/multi-container` or `the CNI`.
    pub what: String,
}

/// Pairs of tasks that own the same object, where one owns a namespace the other has objects
/// in (setting it up deletes the namespace with everything in it), or that both change the
/// CNI, in input order.
pub fn conflicts(tasks: &[&Task]) -> Vec<Conflict> {
    let mut out = Vec::new();
    for (i, first) in tasks.iter().enumerate() {
        for second in &tasks[i + 1..] {
            for object in first.owns.iter().filter(|o| second.owns.contains(o)) {
                out.push(Conflict {
                    first: first.id.clone(),
                    second: second.id.clone(),
                    what: object.to_string(),
                });
            }
            for (owner, other) in [(first, second), (second, first)] {
                for namespace in owned_namespaces_holding(owner, other) {
                    out.push(Conflict {
                        first: first.id.clone(),
                        second: second.id.clone(),
                        what: format!(
                            "namespace {namespace} (`{}` owns it and deletes it with everything in it)",
                            owner.id
                        ),
                    });
                }
            }
            if first.changes.contains(&Change::Cni) && second.changes.contains(&Change::Cni) {
                out.push(Conflict {
                    first: first.id.clone(),
                    second: second.id.clone(),
                    what: "the CNI".to_string(),
                });
            }
        }
    }
    out
}

/// Namespaces `owner` owns in which `other` owns objects that `owner` does not (those are
/// already a conflict of their own): deleting the namespace would delete them too.
fn owned_namespaces_holding<'a>(owner: &'a Task, other: &'a Task) -> impl Iterator<Item = &'a str> {
    owner
        .owns
        .iter()
        .filter(|o| o.kind == model::ObjectKind::Namespace)
        .map(|o| o.name.as_str())
        .filter(move |ns| {
            other
                .owns
                .iter()
                .any(|o| o.namespace.as_deref() == Some(*ns) && !owner.owns.contains(o))
        })
}

/// A file shown with a task's statement.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ShownFile {
    /// File name in the lesson's files/.
    pub name: String,
    /// Rendered as a highlighted code block.
    pub html: String,
}

/// A practice exam: tasks on named contexts, a time limit and a pass mark.
#[derive(Debug, Clone)]
pub struct Exam {
    /// Stable id.
    pub id: String,
    /// Display title.
    pub title: String,
    /// One paragraph.
    pub summary: String,
    /// The lesson that links to it.
    pub lesson: Option<String>,
    /// Total time in minutes.
    pub minutes: u32,
    /// Percent of the points needed to pass.
    pub pass_mark: u32,
    /// Contexts, in declaration order.
    pub contexts: Vec<model::ExamContextFile>,
    /// Tasks in exam order, with their contexts.
    pub tasks: Vec<model::ExamTaskFile>,
}
