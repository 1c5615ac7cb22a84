//! The browser terminal: one-time tickets, the learner's toolbox on their own cluster, and the
//! relay between a terminal's input/output channels and the shell in the toolbox. The http
//! layer turns WebSocket frames into [`Input`] and [`Output`]; nothing here knows about them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{broadcast, mpsc};

use crate::cluster::toolbox::{self, ToolboxPlan};
use crate::cluster::{ClusterError, Connection, KubeconfigSource};
use crate::store::LearnerId;

use super::{Service, ServiceError, ServiceResult};

/// How long a ticket may wait for its WebSocket.
const TICKET_LIFETIME: Duration = Duration::from_secs(30);
/// Most tickets waiting at once (a bound, not a quota: old ones go first).
const MAX_TICKETS: usize = 4096;
/// The largest piece of input one message may carry.
pub const MAX_INPUT_BYTES: usize = 16 * 1024;
/// How often an exam terminal checks that its attempt still runs.
const EXAM_CHECK: Duration = Duration::from_secs(5);

/// Terminal settings of this server.
#[derive(Debug, Clone)]
pub struct TerminalSettings {
    /// The toolbox image.
    pub image: String,
    /// A terminal without input for this long is closed.
    pub idle: Duration,
}

impl Default for TerminalSettings {
    fn default() -> Self {
        TerminalSettings {
            image: DEFAULT_TOOLBOX_IMAGE.to_string(),
            idle: Duration::from_secs(30 * 60),
        }
    }
}

/// The toolbox image by default (built from `deploy/toolbox/Dockerfile`).
pub const DEFAULT_TOOLBOX_IMAGE: &str = "ghcr.io/kubelab-dev/toolbox:0.1.0";

/// Whose shell a ticket opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The learner's own toolbox; inside an exam attempt, it closes when the attempt ends.
    Own {
        /// The running exam attempt the terminal belongs to, if any.
        attempt: Option<i64>,
    },
    /// A learner's toolbox, read-only, for an instructor watching.
    Watch {
        /// The learner watched.
        learner: LearnerId,
    },
}

#[derive(Debug, Clone)]
struct Ticket {
    /// The learner the ticket was issued to (None: an instructor).
    holder: Option<LearnerId>,
    target: Target,
    expires: Instant,
}

/// Why a ticket was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    /// No ticket, an unknown or used one, or one past its lifetime.
    #[error("no valid terminal ticket: open the terminal from the page again")]
    Invalid,
    /// The ticket belongs to someone else.
    #[error("this terminal ticket was issued to someone else")]
    NotYours,
}

/// The terminals of this server: tickets waiting, and who is watching whom.
#[derive(Debug)]
pub struct Terminals {
    tickets: Mutex<HashMap<String, Ticket>>,
    settings: std::sync::OnceLock<TerminalSettings>,
    /// (learner, watchers now) whenever someone starts or stops watching.
    watching: broadcast::Sender<(String, usize)>,
    watchers: Mutex<HashMap<String, usize>>,
}

impl Default for Terminals {
    fn default() -> Self {
        Terminals {
            tickets: Mutex::default(),
            settings: std::sync::OnceLock::new(),
            watching: broadcast::Sender::new(64),
            watchers: Mutex::default(),
        }
    }
}

/// What the browser sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Keystrokes or pasted text.
    Data(Vec<u8>),
    /// The terminal's new size (columns, rows).
    Resize(u16, u16),
}

/// What the browser is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// What the shell printed.
    Data(Vec<u8>),
    /// A step while the toolbox starts.
    Status(String),
    /// The shell is attached.
    Ready,
    /// How many people watch this terminal now.
    Watching(usize),
    /// The terminal ended, and why.
    Closed(String),
}

/// A ticket redeemed: who may open what.
#[derive(Debug, Clone)]
pub struct Redeemed {
    holder: Option<LearnerId>,
    target: Target,
}

fn new_ticket() -> ServiceResult<String> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes)
        .map_err(|e| ServiceError::Invalid(format!("no randomness for a terminal ticket: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The toolbox Pod's name for a learner: a hash, never the learner's id (their cookie).
fn toolbox_name(learner: &LearnerId) -> String {
    use sha2::{Digest, Sha256};
    let hash: String = Sha256::digest(format!("toolbox:{}", learner.as_str()).as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("toolbox-{hash}")
}

impl Terminals {
    fn issue(&self, holder: Option<LearnerId>, target: Target) -> ServiceResult<String> {
        let ticket = new_ticket()?;
        let now = Instant::now();
        if let Ok(mut tickets) = self.tickets.lock() {
            tickets.retain(|_, t| t.expires > now);
            if tickets.len() >= MAX_TICKETS {
                tickets.clear();
            }
            tickets.insert(
                ticket.clone(),
                Ticket {
                    holder,
                    target,
                    expires: now + TICKET_LIFETIME,
                },
            );
        }
        Ok(ticket)
    }

    /// Takes a ticket (once): it must be known, fresh, and issued to `holder`.
    pub fn redeem(
        &self,
        ticket: &str,
        holder: Option<&LearnerId>,
    ) -> Result<Redeemed, TicketError> {
        let mut tickets = self.tickets.lock().map_err(|_| TicketError::Invalid)?;
        let found = tickets.get(ticket).cloned().ok_or(TicketError::Invalid)?;
        if found.expires <= Instant::now() {
            tickets.remove(ticket);
            return Err(TicketError::Invalid);
        }
        if found.holder.as_ref() != holder {
            return Err(TicketError::NotYours);
        }
        tickets.remove(ticket);
        Ok(Redeemed {
            holder: found.holder,
            target: found.target,
        })
    }

    fn settings(&self) -> TerminalSettings {
        self.settings.get().cloned().unwrap_or_default()
    }

    /// Counts a watcher in or out and tells the watched learner's terminals.
    fn watch(&self, learner: &LearnerId, delta: isize) {
        let count = match self.watchers.lock() {
            Ok(mut map) => {
                let n = map.entry(learner.as_str().to_string()).or_insert(0);
                *n = n.saturating_add_signed(delta);
                *n
            }
            Err(_) => return,
        };
        let _ = self.watching.send((learner.as_str().to_string(), count));
    }

    fn watchers_of(&self, learner: &LearnerId) -> usize {
        self.watchers
            .lock()
            .map(|m| m.get(learner.as_str()).copied().unwrap_or(0))
            .unwrap_or(0)
    }
}

/// Counts a watcher out when the watching session ends, however it ends.
struct WatchGuard<'a> {
    terminals: &'a Terminals,
    learner: LearnerId,
}

impl Drop for WatchGuard<'_> {
    fn drop(&mut self) {
        self.terminals.watch(&self.learner, -1);
    }
}

impl Service {
    /// Sets the terminal's image and idle time (once, before serving).
    pub fn set_terminal_settings(&self, settings: TerminalSettings) {
        let _ = self.0.terminals.settings.set(settings);
    }

    /// Redeems a one-time terminal ticket for `holder` (None: the instructor).
    pub fn redeem_terminal_ticket(
        &self,
        ticket: &str,
        holder: Option<&LearnerId>,
    ) -> Result<Redeemed, TicketError> {
        self.0.terminals.redeem(ticket, holder)
    }

    /// A one-time ticket for the learner's own terminal. Inside a running exam it is tied to
    /// that attempt; an attempt that is not running (or not theirs) is refused.
    pub async fn terminal_ticket(
        &self,
        learner: &LearnerId,
        attempt: Option<i64>,
    ) -> ServiceResult<String> {
        if let Some(id) = attempt {
            let found = self.0.store.exam_attempt(id).await?;
            match found {
                Some(a) if a.learner_id == learner.as_str() => {
                    if a.status != crate::exam::Status::Running {
                        return Err(ServiceError::Invalid(
                            "this exam attempt is not running: its terminal is closed".into(),
                        ));
                    }
                }
                _ => return Err(ServiceError::not_found("exam attempt", &id.to_string())),
            }
        }
        self.0
            .terminals
            .issue(Some(learner.clone()), Target::Own { attempt })
    }

    /// A one-time ticket for the instructor to watch one learner's terminal (read-only).
    pub async fn watch_ticket(&self, workshop: i64, row: &str) -> ServiceResult<String> {
        let (_, learner) = self.member_by_row(workshop, row).await?;
        self.0.terminals.issue(None, Target::Watch { learner })
    }

    /// Runs one terminal: starts the learner's toolbox (telling `output` each step), attaches
    /// to its shell, and relays `input` and the shell's output until either side ends, the
    /// terminal stays idle too long, or its exam attempt ends.
    pub async fn run_terminal(
        &self,
        redeemed: Redeemed,
        mut input: mpsc::Receiver<Input>,
        output: mpsc::Sender<Output>,
    ) {
        let reason = match self.terminal_session(&redeemed, &mut input, &output).await {
            Ok(reason) => reason,
            Err(err) => err.to_string(),
        };
        let _ = output.send(Output::Closed(reason)).await;
    }

    async fn terminal_session(
        &self,
        redeemed: &Redeemed,
        input: &mut mpsc::Receiver<Input>,
        output: &mpsc::Sender<Output>,
    ) -> ServiceResult<String> {
        let (learner, read_only, attempt) = match &redeemed.target {
            Target::Own { attempt } => (
                redeemed
                    .holder
                    .clone()
                    .ok_or_else(|| ServiceError::Invalid("a terminal needs a learner".into()))?,
                false,
                *attempt,
            ),
            Target::Watch { learner } => (learner.clone(), true, None),
        };
        let (conn, kubeconfig) = self
            .toolbox_cluster(&learner)
            .await
            .map_err(ServiceError::Cluster)?;
        let plan = ToolboxPlan {
            name: toolbox_name(&learner),
            image: self.0.terminals.settings().image,
            kubeconfig,
        };
        let steps = output.clone();
        let progress = move |step: &str| {
            let _ = steps.try_send(Output::Status(step.to_string()));
        };
        toolbox::ensure(&conn, &plan, &progress)
            .await
            .map_err(ServiceError::Cluster)?;
        let mut process = toolbox::shell(&conn, &plan.name, read_only)
            .await
            .map_err(ServiceError::Cluster)?;
        let _watching = if read_only {
            self.0.terminals.watch(&learner, 1);
            Some(WatchGuard {
                terminals: &self.0.terminals,
                learner: learner.clone(),
            })
        } else {
            None
        };
        let _ = output.send(Output::Ready).await;
        if !read_only {
            let now = self.0.terminals.watchers_of(&learner);
            if now > 0 {
                let _ = output.send(Output::Watching(now)).await;
            }
        }
        let (Some(mut stdin), Some(mut stdout)) = (process.stdin(), process.stdout()) else {
            return Err(ServiceError::Invalid(
                "the toolbox shell has no terminal streams".into(),
            ));
        };
        let mut resize = process.terminal_size();
        let mut watching = self.0.terminals.watching.subscribe();
        let idle = self.0.terminals.settings().idle;
        let mut last_input = tokio::time::Instant::now();
        let mut exam_tick = tokio::time::interval(EXAM_CHECK);
        let mut buffer = vec![0u8; 8192];
        let reason = loop {
            tokio::select! {
                got = stdout.read(&mut buffer) => match got {
                    Ok(0) | Err(_) => break "the shell ended".to_string(),
                    Ok(n) => {
                        if output.send(Output::Data(buffer[..n].to_vec())).await.is_err() {
                            break "the browser went away".to_string();
                        }
                    }
                },
                message = input.recv() => match message {
                    None => break "the browser went away".to_string(),
                    Some(Input::Data(bytes)) => {
                        last_input = tokio::time::Instant::now();
                        // Someone watching only looks.
                        if !read_only && stdin.write_all(&bytes).await.is_err() {
                            break "the shell ended".to_string();
                        }
                    }
                    Some(Input::Resize(cols, rows)) => {
                        if !read_only && let Some(sender) = resize.as_mut() {
                            let _ = sender.try_send(kube::api::TerminalSize { width: cols, height: rows });
                        }
                    }
                },
                event = watching.recv(), if !read_only => {
                    if let Ok((who, count)) = event && who == learner.as_str() {
                        let _ = output.send(Output::Watching(count)).await;
                    }
                },
                () = tokio::time::sleep_until(last_input + idle) => {
                    break format!("closed after {} minutes without input; open it again to go on where you were", idle.as_secs() / 60);
                },
                _ = exam_tick.tick(), if attempt.is_some() => {
                    if let Some(id) = attempt && !self.attempt_running(id).await {
                        break "the exam attempt ended: its terminal is closed".to_string();
                    }
                },
            }
        };
        // Leaving the shell detaches from tmux; the session and its history stay in the toolbox.
        drop(stdin);
        process.abort();
        Ok(reason)
    }

    async fn attempt_running(&self, id: i64) -> bool {
        matches!(
            self.0.store.exam_attempt(id).await,
            Ok(Some(a)) if a.status == crate::exam::Status::Running
        )
    }

    /// The learner's first cluster (their workshop cluster, else their context), with a
    /// kubeconfig of every context they may use, as seen from inside that cluster.
    async fn toolbox_cluster(
        &self,
        learner: &LearnerId,
    ) -> Result<(Connection, String), ClusterError> {
        if let Some(source) = self.member_cluster(learner).await? {
            let (_, current) = source.contexts()?;
            let context = current.ok_or_else(|| {
                ClusterError::Protocol(
                    "your workshop cluster's kubeconfig has no current context".into(),
                )
            })?;
            let kubeconfig = source.for_inside(std::slice::from_ref(&context), &context)?;
            let conn = Connection::open_for_terminal(&source, &context).await?;
            return Ok((conn, kubeconfig));
        }
        let me = self
            .learner(learner)
            .await
            .map_err(|e| ClusterError::Protocol(e.to_string()))?;
        let context = self.context_of(&me)?;
        let source: &KubeconfigSource = self.0.clusters.source();
        let kubeconfig = source.for_inside(&self.contexts(), &context)?;
        let conn = Connection::open_for_terminal(source, &context).await?;
        Ok((conn, kubeconfig))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn learner(n: u8) -> LearnerId {
        LearnerId::parse(&format!("{n:032x}")).unwrap()
    }

    #[test]
    fn a_ticket_opens_once_for_its_holder_only() {
        let terminals = Terminals::default();
        let ada = learner(1);
        let ticket = terminals
            .issue(Some(ada.clone()), Target::Own { attempt: None })
            .unwrap();
        assert_eq!(
            terminals.redeem(&ticket, Some(&learner(2))).unwrap_err(),
            TicketError::NotYours
        );
        assert!(terminals.redeem(&ticket, Some(&ada)).is_ok());
        assert_eq!(
            terminals.redeem(&ticket, Some(&ada)).unwrap_err(),
            TicketError::Invalid
        );
        assert_eq!(
            terminals.redeem("nope", Some(&ada)).unwrap_err(),
            TicketError::Invalid
        );
    }

    #[test]
    fn toolbox_names_do_not_reveal_the_learner() {
        let ada = learner(1);
        let name = toolbox_name(&ada);
        assert!(name.starts_with("toolbox-") && name.len() == 20);
        assert!(!name.contains(ada.as_str()));
    }
}
