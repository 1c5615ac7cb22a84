//! Checking a task: connect to the context, observe, evaluate, and (for learners) store.

use crate::checks::{Verdict, evaluate};
use crate::cluster::{CHECK_BUDGET, ClusterError, Connection, observe};
use crate::content::Task;
use crate::store::{CheckRun, LearnerId};

use super::{Service, ServiceResult};

/// Checks a task on a connection (or explains, per criterion, why it could not).
pub async fn check(connection: Result<Connection, ClusterError>, task: &Task) -> Verdict {
    let conn = match connection {
        Ok(conn) => conn,
        Err(err) => return evaluate::unreachable(&task.id, &task.checks, &err.to_string()),
    };
    match tokio::time::timeout(CHECK_BUDGET, observe(&conn, &task.checks)).await {
        Ok(observed) => evaluate::verdict(&task.id, &task.checks, &observed),
        Err(_) => evaluate::unreachable(
            &task.id,
            &task.checks,
            &format!(
                "the check did not finish within {} s: the API server at {} is too slow or a command hung",
                CHECK_BUDGET.as_secs(),
                conn.server
            ),
        ),
    }
}

impl Service {
    /// "Check my work": checks the task on the learner's cluster and stores the run.
    pub async fn check_task(&self, learner: &LearnerId, task: &str) -> ServiceResult<Verdict> {
        let task = self.open_task(learner, task).await?;
        Ok(self.check_and_store(learner, task).await?.0)
    }

    /// Checks the task on the learner's cluster and stores the run; returns the run's id too.
    pub(super) async fn check_and_store(
        &self,
        learner: &LearnerId,
        task: &Task,
    ) -> ServiceResult<(Verdict, i64)> {
        let me = self.learner(learner).await?;
        let verdict = check(self.connection(learner, &me).await, task).await;
        let id = self
            .0
            .store
            .record_check(learner, &verdict, &self.0.catalogue.digest, self.now())
            .await?;
        self.publish(super::ClassEvent::Verdict {
            learner: learner.as_str().to_string(),
            task: task.id.clone(),
        });
        Ok((verdict, id))
    }

    /// The learner's latest check of a task, if any.
    pub async fn latest_check(
        &self,
        learner: &LearnerId,
        task: &str,
    ) -> ServiceResult<Option<CheckRun>> {
        Ok(self.0.store.latest_check(learner, task).await?)
    }
}
