//! Live re-checks for an open task page: a check whenever the resources the task reads
//! change (shared kube-rs watchers, debounced), and again while a criterion is converging.
//! Only verdicts that differ from the last one are handed out.

use std::time::Duration;

use crate::checks::{Verdict, plan};
use crate::cluster::{Subscription, WatchKind};
use crate::store::LearnerId;

use super::{Service, ServiceResult};

/// Changes closer together than this are checked once.
pub const DEBOUNCE: Duration = Duration::from_millis(400);
/// While a criterion is pending, re-check this often even without changes (time passes).
pub const PENDING_RECHECK: Duration = Duration::from_secs(5);

/// A task's verdicts as the cluster changes, for one open page.
pub struct LiveChecks {
    service: Service,
    learner: LearnerId,
    task: String,
    subscriptions: Vec<Subscription>,
    /// The last verdict handed out; None before the first.
    last: Option<Verdict>,
}

impl Service {
    /// Starts live checks of a task for a learner; refused while an exam holds the task. A
    /// cluster that cannot be watched still gets the first check and pending re-checks.
    pub async fn live(&self, learner: &LearnerId, task: &str) -> ServiceResult<LiveChecks> {
        let task = self.open_task(learner, task).await?;
        let me = self.learner(learner).await?;
        let mut subscriptions = Vec::new();
        if let Ok(conn) = self.connect_learner(learner, &me, true).await {
            for kind in WatchKind::for_needs(&plan::needs(&task.checks)) {
                subscriptions.push(self.0.watches.subscribe(&conn, kind));
            }
        }
        Ok(LiveChecks {
            service: self.clone(),
            learner: learner.clone(),
            task: task.id.clone(),
            subscriptions,
            last: None,
        })
    }
}

impl LiveChecks {
    /// The next verdict that differs from the last one: the first check at once, then one
    /// after each change (or every few seconds while a criterion is pending).
    pub async fn next(&mut self) -> ServiceResult<Verdict> {
        loop {
            if let Some(last) = &self.last {
                let pending = last.pending();
                tokio::select! {
                    () = next_change(&mut self.subscriptions) => {
                        tokio::time::sleep(DEBOUNCE).await;
                        drain(&mut self.subscriptions);
                    }
                    () = tokio::time::sleep(PENDING_RECHECK), if pending => {}
                }
            }
            let verdict = self.service.check_task(&self.learner, &self.task).await?;
            // Only the criteria and their evidence count as a change, never the time of the run.
            let changed = self.last.as_ref() != Some(&verdict);
            self.last = Some(verdict.clone());
            if changed {
                return Ok(verdict);
            }
        }
    }
}

async fn next_change(subscriptions: &mut [Subscription]) {
    if subscriptions.is_empty() {
        std::future::pending::<()>().await;
    }
    let waits = subscriptions.iter_mut().map(|s| Box::pin(s.changes.recv()));
    let _ = futures_util::future::select_all(waits).await;
}

fn drain(subscriptions: &mut [Subscription]) {
    for s in subscriptions.iter_mut() {
        while s.changes.try_recv().is_ok() {}
    }
}
