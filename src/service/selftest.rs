//! `kubelab selftest`: proves a task's checks against a cluster both ways. For each task:
//! reset, setup, the starting state must not score full marks; every declared wrong answer
//! (setup, its steps) must fail the criteria it names; every declared right answer and the
//! reference solution (setup, steps) must reach full marks; then reset.

use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::checks::{Status, Verdict};
use crate::cluster::status::Cni;
use crate::cluster::{Connection, pod_network};
use crate::content::model::{Fault, Step};
use crate::content::{Catalogue, CniRequirement, Task};

use super::check::check;
use super::steps::{self, Action, SetupOptions, StepReport};

/// How long selftest waits for a cluster to converge.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// The longest a right answer may take to reach full marks, or a wrong one to fail.
    pub converge: Duration,
    /// The pause between two checks while waiting.
    pub poll: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            converge: Duration::from_secs(300),
            poll: Duration::from_secs(1),
        }
    }
}

/// One proven (or disproven) claim about a task.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Line {
    /// Task id.
    pub task: String,
    /// What was run: `reset`, `setup`, `starting state`, `wrong: NAME`, `right: NAME`,
    /// `solution`, `prepare`.
    pub stage: String,
    /// Whether it held.
    pub ok: bool,
    /// The score seen, when a check ran.
    pub score: Option<(u32, u32)>,
    /// What was seen, in words.
    pub detail: String,
    /// How long it took, in seconds.
    pub seconds: f64,
}

impl Line {
    /// The line as the CLI prints it.
    pub fn render(&self) -> String {
        let score = self
            .score
            .map(|(s, m)| format!(" {s}/{m}"))
            .unwrap_or_default();
        format!(
            "[{}] {} {}{score} ({:.1} s): {}",
            if self.ok { "ok" } else { "FAIL" },
            self.task,
            self.stage,
            self.seconds,
            self.detail
        )
    }
}

/// Everything selftest proved.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Every line held.
    pub ok: bool,
    /// Per step, in order.
    pub lines: Vec<Line>,
}

/// The order that needs the fewest CNI changes: tasks that start without a CNI first, then
/// those that break and repair Flannel (their reset leaves it running), then the rest.
pub fn order<'a>(tasks: &[&'a Task]) -> Vec<&'a Task> {
    let rank = |t: &Task| match t.requires.cni {
        CniRequirement::None => 0,
        CniRequirement::Flannel => 1,
        _ => 2,
    };
    let mut out = tasks.to_vec();
    out.sort_by_key(|t| rank(t));
    out
}

/// Makes a cluster without a pod network able to host a task that needs one: installs the
/// pinned Flannel, as the Install Flannel task's solution does, and waits until every node is
/// Ready. `Ok(None)` when nothing was needed, `Ok(Some(what))` when it was done.
pub async fn prepare_network(
    conn: &Connection,
    options: &SetupOptions,
    catalogue: &Catalogue,
    task: &Task,
    timing: Timing,
) -> Result<Option<String>, String> {
    if task.requires.cni != CniRequirement::Working {
        return Ok(None);
    }
    let since = Instant::now();
    let network = pod_network(conn).await.map_err(|e| e.to_string())?;
    if network.cni != Cni::None {
        return Ok(None);
    }
    let install = [Step::UndoFault(Fault::RemoveCni)];
    let (ok, reports) = steps::run_list(conn, options, catalogue, task, &install).await;
    if !ok {
        return Err(steps_detail(&reports));
    }
    loop {
        let seen = pod_network(conn).await;
        if let Ok(n) = &seen
            && n.cni != Cni::None
            && n.not_ready.is_empty()
        {
            return Ok(Some(
                "no CNI: installed the pinned Flannel; every node is Ready".to_string(),
            ));
        }
        if since.elapsed() >= timing.converge {
            return Err(match seen {
                Ok(n) => format!(
                    "Flannel installed, but nodes are not Ready: {}",
                    n.not_ready.join("; ")
                ),
                Err(err) => err.to_string(),
            });
        }
        tokio::time::sleep(timing.poll).await;
    }
}

/// Runs selftest for `tasks` in the given order, handing each line to `emit` as it is known.
pub async fn run(
    conn: &Connection,
    options: &SetupOptions,
    catalogue: &Catalogue,
    tasks: &[&Task],
    timing: Timing,
    emit: &mut dyn FnMut(&Line),
) -> Report {
    let mut lines = Vec::new();
    for task in tasks {
        let mut t = TaskRun {
            conn,
            options,
            catalogue,
            task,
            timing,
            lines: &mut lines,
            emit,
        };
        t.prove().await;
    }
    Report {
        ok: lines.iter().all(|l| l.ok),
        lines,
    }
}

struct TaskRun<'a, 'b> {
    conn: &'a Connection,
    options: &'a SetupOptions,
    catalogue: &'a Catalogue,
    task: &'a Task,
    timing: Timing,
    lines: &'b mut Vec<Line>,
    emit: &'b mut dyn FnMut(&Line),
}

fn steps_detail(reports: &[StepReport]) -> String {
    match reports.iter().find(|r| !r.ok) {
        Some(failed) => format!("{} failed: {}", failed.step, failed.detail),
        None => format!("{} step(s) done", reports.len()),
    }
}

fn failing(verdict: &Verdict) -> Vec<String> {
    verdict
        .criteria
        .iter()
        .filter(|c| c.status != Status::Passed)
        .map(|c| format!("{} {}", c.id, c.status.as_str()))
        .collect()
}

impl TaskRun<'_, '_> {
    fn record(
        &mut self,
        stage: &str,
        ok: bool,
        score: Option<(u32, u32)>,
        detail: String,
        since: Instant,
    ) {
        let line = Line {
            task: self.task.id.clone(),
            stage: stage.to_string(),
            ok,
            score,
            detail,
            seconds: since.elapsed().as_secs_f64(),
        };
        (self.emit)(&line);
        self.lines.push(line);
    }

    async fn prove(&mut self) {
        if !self.prepare().await {
            return;
        }
        if !self.action("reset", Action::Reset).await {
            return;
        }
        if self.action("setup", Action::Setup).await {
            self.starting_state().await;
            for wrong in self.task.wrong.clone() {
                self.wrong(&wrong.name, &wrong.steps, &wrong.fails).await;
            }
            for right in self.task.right.clone() {
                self.right(&format!("right: {}", right.name), &right.steps)
                    .await;
            }
            let solve = self.task.solve.clone();
            self.right("solution", &solve).await;
        }
        self.action("reset", Action::Reset).await;
    }

    /// A task that needs a working pod network on a cluster without one gets the pinned
    /// Flannel first (recorded as `prepare`); false when that failed.
    async fn prepare(&mut self) -> bool {
        let since = Instant::now();
        match prepare_network(
            self.conn,
            self.options,
            self.catalogue,
            self.task,
            self.timing,
        )
        .await
        {
            Ok(None) => true,
            Ok(Some(detail)) => {
                self.record("prepare", true, None, detail, since);
                true
            }
            Err(detail) => {
                self.record("prepare", false, None, detail, since);
                false
            }
        }
    }

    async fn action(&mut self, stage: &str, action: Action) -> bool {
        let since = Instant::now();
        let outcome = steps::run(self.conn, self.options, self.catalogue, self.task, action).await;
        self.record(stage, outcome.ok, None, steps_detail(&outcome.steps), since);
        outcome.ok
    }

    /// Setup, then the answer's steps; false (recorded) if either fails.
    async fn apply(&mut self, stage: &str, answer: &[Step], since: Instant) -> bool {
        let setup = steps::run(
            self.conn,
            self.options,
            self.catalogue,
            self.task,
            Action::Setup,
        )
        .await;
        if !setup.ok {
            self.record(
                stage,
                false,
                None,
                format!("setup: {}", steps_detail(&setup.steps)),
                since,
            );
            return false;
        }
        let (ok, reports) =
            steps::run_list(self.conn, self.options, self.catalogue, self.task, answer).await;
        if !ok {
            self.record(stage, false, None, steps_detail(&reports), since);
        }
        ok
    }

    async fn check(&self) -> Verdict {
        check(Ok(self.conn.clone()), self.task).await
    }

    /// Right after setup the task must not score full marks (once nothing is pending).
    async fn starting_state(&mut self) {
        let since = Instant::now();
        let verdict = loop {
            let verdict = self.check().await;
            let pending = verdict.criteria.iter().any(|c| c.status == Status::Pending);
            if verdict.passed || !pending || since.elapsed() >= self.timing.converge {
                break verdict;
            }
            tokio::time::sleep(self.timing.poll).await;
        };
        let score = Some((verdict.score, verdict.max_score));
        let detail = if verdict.passed {
            "full marks before any work: setup does not make the starting state".to_string()
        } else {
            format!("not done yet: {}", failing(&verdict).join(", "))
        };
        self.record("starting state", !verdict.passed, score, detail, since);
    }

    /// A wrong answer must fail every criterion it names (failed, not pending or error).
    async fn wrong(&mut self, name: &str, answer: &[Step], fails: &[String]) {
        let stage = format!("wrong: {name}");
        let since = Instant::now();
        if !self.apply(&stage, answer, since).await {
            return;
        }
        let mut settled_passing = 0;
        loop {
            let verdict = self.check().await;
            let status = |id: &str| {
                verdict
                    .criteria
                    .iter()
                    .find(|c| c.id == id)
                    .map(|c| c.status)
            };
            let score = Some((verdict.score, verdict.max_score));
            if fails.iter().all(|id| status(id) == Some(Status::Failed)) {
                let detail = format!("loses {}", fails.join(", "));
                self.record(&stage, true, score, detail, since);
                return;
            }
            let pending = verdict.criteria.iter().any(|c| c.status == Status::Pending);
            settled_passing = if pending { 0 } else { settled_passing + 1 };
            if settled_passing >= 2 || since.elapsed() >= self.timing.converge {
                let seen: Vec<String> = fails
                    .iter()
                    .map(|id| format!("{id} {}", status(id).map_or("missing", Status::as_str)))
                    .collect();
                let detail = format!("should lose {}, but: {}", fails.join(", "), seen.join(", "));
                self.record(&stage, false, score, detail, since);
                return;
            }
            tokio::time::sleep(self.timing.poll).await;
        }
    }

    /// A right answer (or the reference solution) must reach full marks.
    async fn right(&mut self, stage: &str, answer: &[Step]) {
        let since = Instant::now();
        if !self.apply(stage, answer, since).await {
            return;
        }
        loop {
            let verdict = self.check().await;
            let score = Some((verdict.score, verdict.max_score));
            if verdict.passed {
                self.record(stage, true, score, "full marks".to_string(), since);
                return;
            }
            if since.elapsed() >= self.timing.converge {
                let detail = format!(
                    "no full marks within {} s: {}",
                    self.timing.converge.as_secs(),
                    failing(&verdict).join(", ")
                );
                self.record(stage, false, score, detail, since);
                return;
            }
            tokio::time::sleep(self.timing.poll).await;
        }
    }
}
