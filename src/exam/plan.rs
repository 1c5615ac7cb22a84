//! Which kubeconfig context each exam task runs on, and why a choice cannot work.

use std::collections::BTreeMap;

use crate::content::{Exam, Task, conflicts};

/// One task placed on a context.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Placement {
    /// Task id.
    pub task: String,
    /// The exam's name for the context.
    pub slot: String,
    /// The kubeconfig context it runs on.
    pub context: String,
}

/// Why an exam cannot start on the chosen contexts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A chosen context is not one this server may use.
    #[error("context `{context}` chosen for `{slot}` is not available on this server")]
    NotAvailable {
        /// The exam's context name.
        slot: String,
        /// The context chosen.
        context: String,
    },
    /// A context choice names a slot the exam does not have.
    #[error("the exam has no context `{slot}`; its contexts are: {known}")]
    UnknownSlot {
        /// The name given.
        slot: String,
        /// The exam's context names, comma-separated.
        known: String,
    },
    /// Another unfinished exam runs on the context.
    #[error(
        "context `{context}` is in use by another exam (attempt {attempt}) until it ends; choose another context"
    )]
    InUse {
        /// The context.
        context: String,
        /// The attempt holding it.
        attempt: i64,
    },
    /// Nothing to run a slot on.
    #[error("no context for `{slot}`: the kubeconfig has no such context and no default")]
    NoContext {
        /// The exam's context name.
        slot: String,
    },
    /// Two tasks would claim the same thing on one cluster.
    #[error(
        "tasks `{first}` and `{second}` would both claim {what} on context `{context}`: choose different contexts for them (the start page says how to create the clusters)"
    )]
    Conflict {
        /// The shared context.
        context: String,
        /// The first task.
        first: String,
        /// The second task.
        second: String,
        /// What both claim.
        what: String,
    },
}

/// Places every task of `exam`: a slot runs on the context chosen for it, else on the
/// kubeconfig context of the same name when `available`, else on `fallback` (the learner's
/// context). Fails with every problem when a choice is unavailable or tasks would conflict.
pub fn plan<'a>(
    exam: &Exam,
    task: impl Fn(&str) -> Option<&'a Task>,
    chosen: &BTreeMap<String, String>,
    available: &[String],
    fallback: Option<&str>,
) -> Result<Vec<Placement>, Vec<PlanError>> {
    let mut errors = Vec::new();
    for slot in chosen.keys() {
        if !exam.contexts.iter().any(|c| &c.name == slot) {
            errors.push(PlanError::UnknownSlot {
                slot: slot.clone(),
                known: exam
                    .contexts
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    let mut contexts: BTreeMap<&str, String> = BTreeMap::new();
    for slot in &exam.contexts {
        let name = slot.name.as_str();
        let resolved = match chosen.get(name).filter(|c| !c.is_empty()) {
            Some(context) if available.contains(context) => Some(context.clone()),
            Some(context) => {
                errors.push(PlanError::NotAvailable {
                    slot: name.to_string(),
                    context: context.clone(),
                });
                None
            }
            None if available.iter().any(|c| c == name) => Some(name.to_string()),
            None => fallback.map(str::to_string),
        };
        match resolved {
            Some(context) => {
                contexts.insert(name, context);
            }
            None if chosen.contains_key(name) => {}
            None => errors.push(PlanError::NoContext {
                slot: name.to_string(),
            }),
        }
    }
    let placements: Vec<Placement> = exam
        .tasks
        .iter()
        .filter_map(|entry| {
            Some(Placement {
                task: entry.task.clone(),
                slot: entry.context.clone(),
                context: contexts.get(entry.context.as_str())?.clone(),
            })
        })
        .collect();
    let mut by_context: BTreeMap<&str, Vec<&Task>> = BTreeMap::new();
    for placement in &placements {
        if let Some(task) = task(&placement.task) {
            by_context.entry(&placement.context).or_default().push(task);
        }
    }
    for (context, tasks) in by_context {
        for conflict in conflicts(&tasks) {
            errors.push(PlanError::Conflict {
                context: context.to_string(),
                first: conflict.first,
                second: conflict.second,
                what: conflict.what,
            });
        }
    }
    if errors.is_empty() {
        Ok(placements)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::{ContentFiles, load};

    fn catalogue() -> crate::content::Catalogue {
        load(&ContentFiles::embedded()).unwrap()
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn slots_use_same_named_contexts_when_the_kubeconfig_has_them() {
        let catalogue = catalogue();
        let exam = catalogue.exam("pod-connectivity").unwrap();
        let available = names(&["kind-kubelab", "kind-kubelab-bare", "kind-kubelab-repair"]);
        let placed = plan(
            exam,
            |id| catalogue.task(id),
            &BTreeMap::new(),
            &available,
            Some("kind-kubelab"),
        )
        .unwrap();
        let pairs: Vec<(&str, &str)> = placed
            .iter()
            .map(|p| (p.task.as_str(), p.context.as_str()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("deploy-two-pods", "kind-kubelab"),
                ("install-flannel", "kind-kubelab-bare"),
                ("fix-missing-cni", "kind-kubelab-repair"),
                ("fix-port-conflict", "kind-kubelab"),
            ]
        );
    }

    #[test]
    fn one_cluster_for_everything_is_refused_with_the_conflicts() {
        let catalogue = catalogue();
        let exam = catalogue.exam("pod-connectivity").unwrap();
        let errors = plan(
            exam,
            |id| catalogue.task(id),
            &BTreeMap::new(),
            &names(&["kind-kubelab"]),
            Some("kind-kubelab"),
        )
        .unwrap_err();
        assert!(
            errors.iter().any(|e| matches!(e,
            PlanError::Conflict { first, second, what, .. }
                if first == "install-flannel" && second == "fix-missing-cni" && what == "the CNI"))
        );
    }

    #[test]
    fn the_one_cluster_exam_falls_back_to_the_learners_context() {
        let catalogue = catalogue();
        let exam = catalogue.exam("pod-connectivity-one-cluster").unwrap();
        let placed = plan(
            exam,
            |id| catalogue.task(id),
            &BTreeMap::new(),
            &names(&["fake"]),
            Some("fake"),
        )
        .unwrap();
        assert!(
            placed
                .iter()
                .all(|p| p.context == "fake" && p.slot == "kind-kubelab")
        );
    }

    #[test]
    fn chosen_contexts_must_be_available() {
        let catalogue = catalogue();
        let exam = catalogue.exam("pod-connectivity-one-cluster").unwrap();
        let chosen = BTreeMap::from([("kind-kubelab".to_string(), "prod".to_string())]);
        let errors = plan(
            exam,
            |id| catalogue.task(id),
            &chosen,
            &names(&["fake"]),
            Some("fake"),
        )
        .unwrap_err();
        assert_eq!(
            errors,
            vec![PlanError::NotAvailable {
                slot: "kind-kubelab".into(),
                context: "prod".into()
            }]
        );
        let none = plan(exam, |id| catalogue.task(id), &BTreeMap::new(), &[], None).unwrap_err();
        assert_eq!(
            none,
            vec![PlanError::NoContext {
                slot: "kind-kubelab".into()
            }]
        );
    }
}
