//! Runs a task's checks: connect to the context, observe, evaluate, and (for learners) store.

use crate::checks::Verdict;
use crate::checks::evaluate;
use crate::cluster::{CHECK_BUDGET, ClusterError, Connection, observe};
use crate::content::Task;

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
