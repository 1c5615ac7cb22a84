//! Walking a lesson's debugging checklist on the learner's cluster: observe once, judge each
//! step in the checklist's order (probing the pod network when the checklist asks), hand each
//! step out as it is known, all within a time bound.

use std::time::Duration;

use serde::Serialize;

use crate::checks::diagnose::{self, Probes, StepResult, StepStatus};
use crate::cluster::{ClusterError, Connection};
use crate::content::Lesson;
use crate::content::model::DiagnoseKind;
use crate::store::LearnerId;

use super::{Service, ServiceResult};

/// The whole diagnosis may take this long by default.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(30);
/// The longest the probe Pods may take to start.
const PROBE_START: Duration = Duration::from_secs(15);

/// A finished diagnosis.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis {
    /// The lesson whose checklist it walked.
    pub lesson: String,
    /// The cluster (context) it looked at, when known.
    pub context: Option<String>,
    /// Every step, in the checklist's order.
    pub steps: Vec<StepResult>,
    /// The first step that failed or could not be judged: the first broken link.
    pub first_broken: Option<String>,
}

impl Diagnosis {
    /// Whether every step holds (warnings allowed).
    pub fn healthy(&self) -> bool {
        self.first_broken.is_none()
    }
}

/// Walks `lesson`'s checklist on `conn` within `budget`, handing each step to `emit`.
pub async fn run(
    conn: Result<Connection, ClusterError>,
    lesson: &Lesson,
    budget: Duration,
    emit: &mut (dyn FnMut(&StepResult) + Send),
) -> Diagnosis {
    let since = tokio::time::Instant::now();
    let left = || budget.saturating_sub(since.elapsed());
    let context = conn.as_ref().ok().map(|c| c.context.clone());
    let mut steps = Vec::new();
    let mut out = |result: StepResult, steps: &mut Vec<StepResult>| {
        emit(&result);
        steps.push(result);
    };
    let facts = match conn {
        Err(err) => Err(err.to_string()),
        Ok(conn) => {
            match tokio::time::timeout(left(), crate::cluster::diagnose::observe(&conn)).await {
                Ok(Ok(facts)) => Ok((conn, facts)),
                Ok(Err(err)) => Err(err.to_string()),
                Err(_) => Err(format!(
                    "the cluster did not answer within {} s",
                    budget.as_secs()
                )),
            }
        }
    };
    match facts {
        Err(reason) => {
            for step in &lesson.diagnose {
                out(diagnose::unjudged(step, &reason), &mut steps);
            }
        }
        Ok((conn, facts)) => {
            let mut probed = false;
            let probe_ns = crate::cluster::diagnose::run_namespace();
            // The probe Pods' findings, shared by the pod-network and DNS steps.
            let mut network: Option<(Probes, Option<Result<String, String>>)> = None;
            for step in &lesson.diagnose {
                if left().is_zero() {
                    out(
                        diagnose::unjudged(
                            step,
                            &format!("the diagnosis ran out of its {} s", budget.as_secs()),
                        ),
                        &mut steps,
                    );
                    continue;
                }
                let result = if step.kind == DiagnoseKind::CniNodeFiles {
                    probed = true;
                    let nodes: Vec<String> = facts.nodes.iter().map(|n| n.name.clone()).collect();
                    let start = PROBE_START.min(left().saturating_sub(Duration::from_secs(3)));
                    let files = match tokio::time::timeout(
                        left(),
                        crate::cluster::diagnose::read_node_files(&conn, &probe_ns, &nodes, start),
                    )
                    .await
                    {
                        Ok(files) => files,
                        Err(_) => Err(format!(
                            "reading the nodes' files did not finish within the diagnosis' {} s",
                            budget.as_secs()
                        )),
                    };
                    diagnose::judge_node_files(step, &files)
                } else if matches!(step.kind, DiagnoseKind::PodNetwork | DiagnoseKind::Dns) {
                    probed = true;
                    if network.is_none() {
                        let nodes: Vec<String> =
                            facts.nodes.iter().map(|n| n.name.clone()).collect();
                        let start = PROBE_START.min(left().saturating_sub(Duration::from_secs(3)));
                        network = Some(
                            match tokio::time::timeout(
                                left(),
                                crate::cluster::diagnose::probe_network(
                                    &conn, &probe_ns, &nodes, start,
                                ),
                            )
                            .await
                            {
                                Ok(found) => found,
                                Err(_) => (
                                    Probes::Error(format!(
                                        "probing did not finish within the diagnosis' {} s",
                                        budget.as_secs()
                                    )),
                                    None,
                                ),
                            },
                        );
                    }
                    match (&network, step.kind) {
                        (Some((_, dns)), DiagnoseKind::Dns) => diagnose::judge_dns(step, dns),
                        (Some((probes, _)), _) => diagnose::judge_probes(step, probes),
                        (None, _) => diagnose::unjudged(step, "the probes did not run"),
                    }
                } else {
                    diagnose::judge(step, &facts)
                };
                out(result, &mut steps);
            }
            if probed {
                // Awaited here, not only on drop: a CLI run exits right after.
                crate::cluster::diagnose::clean_up(&conn, &probe_ns).await;
            }
        }
    }
    let first_broken = steps
        .iter()
        .find(|s| matches!(s.status, StepStatus::Fail | StepStatus::Error))
        .map(|s| s.id.clone());
    Diagnosis {
        lesson: lesson.id.clone(),
        context,
        steps,
        first_broken,
    }
}

impl Service {
    /// Walks `lesson`'s checklist on the learner's cluster, handing each step to `emit`.
    pub async fn diagnose(
        &self,
        learner: &LearnerId,
        lesson: &str,
        emit: &mut (dyn FnMut(&StepResult) + Send),
    ) -> ServiceResult<Diagnosis> {
        let lesson = self.lesson(lesson)?;
        let me = self.learner(learner).await?;
        let conn = self.connection(learner, &me).await;
        Ok(run(conn, lesson, DEFAULT_BUDGET, emit).await)
    }
}
