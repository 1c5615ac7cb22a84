//! The exam as it was when an attempt started, stored with the attempt so later content
//! edits do not change its view or its report.

use serde::{Deserialize, Serialize};

use super::Placement;
use crate::content::{Catalogue, Exam, ShownFile};

/// An exam frozen at the start of an attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExamSnapshot {
    /// Exam id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Time limit in minutes.
    pub minutes: u32,
    /// Pass mark in percent.
    pub pass_mark: u32,
    /// Tasks in exam order.
    pub tasks: Vec<TaskSnapshot>,
}

/// One task of a frozen exam.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSnapshot {
    /// Task id.
    pub task: String,
    /// Title.
    pub title: String,
    /// The exam's name for its context.
    pub slot: String,
    /// The kubeconfig context it runs on.
    pub context: String,
    /// The kubeconfig file holding that context, when it is not the server's (a workshop
    /// member's own cluster); attempts stored before it existed read back as `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeconfig: Option<std::path::PathBuf>,
    /// Its own time budget, as a guide.
    pub minutes: u32,
    /// Points available.
    pub max_points: u32,
    /// Statement HTML.
    pub statement_html: String,
    /// The files shown with the statement. Attempts stored before files had names read
    /// back too: serde accepts a struct written as a `[name, html]` array.
    pub files: Vec<ShownFile>,
    /// Solution HTML, shown in the report only.
    pub solution_html: String,
}

impl ExamSnapshot {
    /// Freezes `exam` with its tasks placed on contexts.
    pub fn freeze(catalogue: &Catalogue, exam: &Exam, placements: &[Placement]) -> ExamSnapshot {
        let tasks = placements
            .iter()
            .filter_map(|p| {
                let task = catalogue.task(&p.task)?;
                Some(TaskSnapshot {
                    task: task.id.clone(),
                    title: task.title.clone(),
                    slot: p.slot.clone(),
                    context: p.context.clone(),
                    kubeconfig: None,
                    minutes: task.minutes,
                    max_points: task.max_points(),
                    statement_html: task.statement_html.clone(),
                    files: task.files.clone(),
                    solution_html: task.solution_html.clone(),
                })
            })
            .collect();
        ExamSnapshot {
            id: exam.id.clone(),
            title: exam.title.clone(),
            minutes: exam.minutes,
            pass_mark: exam.pass_mark,
            tasks,
        }
    }

    /// The task with this id.
    pub fn task(&self, id: &str) -> Option<&TaskSnapshot> {
        self.tasks.iter().find(|t| t.task == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_stored_as_pairs_still_read_back() {
        let old = r#"{"task":"t","title":"T","slot":"s","context":"c","minutes":3,"max_points":5,
            "statement_html":"<p>x</p>","files":[["pod.yaml","<pre>y</pre>"]],"solution_html":""}"#;
        let task: TaskSnapshot = serde_json::from_str(old).unwrap();
        assert_eq!(
            task.files,
            vec![ShownFile {
                name: "pod.yaml".into(),
                html: "<pre>y</pre>".into()
            }]
        );
    }
}
