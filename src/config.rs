//! Command-line flags, each with an environment fallback.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// kubelab: learn and practise for the Kubernetes CKA exam.
#[derive(Debug, Parser)]
#[command(name = "kubelab", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve lessons and tasks in the browser.
    Serve(ServeArgs),
    /// Validate a content folder and print every problem as file:line: message.
    Lint(ContentArgs),
    /// Check a task against a cluster; exit 0 only when every criterion passes.
    Check(CheckArgs),
    /// Make a task's starting state on the cluster (applies files, injects faults).
    Setup(TaskArgs),
    /// Undo a task: remove what it created and repair what it broke.
    Reset(TaskArgs),
    /// Prove the tasks' checks on a cluster: wrong answers lose points, right ones keep full marks.
    Selftest(SelftestArgs),
    /// Write a lesson as a study folder (README, files, tasks) into DIR for your notes repository.
    Export(ExportArgs),
    /// Walk a lesson's debugging checklist on a cluster: the first broken link, with evidence and the fix.
    Diagnose(DiagnoseArgs),
    /// Create, list or delete workshops (the same database as `serve`).
    Workshop {
        /// What to do.
        #[command(subcommand)]
        command: WorkshopCommand,
    },
    /// Create or delete the lesson's kind cluster (needs docker and kind).
    Cluster {
        /// What to do with the cluster.
        #[command(subcommand)]
        command: ClusterCommand,
    },
}

/// `kubelab diagnose` arguments.
#[derive(Debug, Clone, Args)]
pub struct DiagnoseArgs {
    /// The lesson whose checklist to walk [default: the first lesson that has one].
    pub lesson: Option<String>,
    /// Print only JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Seconds the whole diagnosis may take.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(5..=600))]
    pub timeout: u64,
    /// Cluster to diagnose.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Content source.
    #[command(flatten)]
    pub content: ContentArgs,
}

/// `kubelab export` arguments.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// The lesson to export.
    pub lesson: String,
    /// The folder to write it into (created if missing; files of the same name are replaced).
    pub dir: PathBuf,
    /// Content source.
    #[command(flatten)]
    pub content: ContentArgs,
}

/// `kubelab workshop` subcommands.
#[derive(Debug, Subcommand)]
pub enum WorkshopCommand {
    /// Create a workshop on a folder of kubeconfigs (one cluster per learner); prints its join code.
    Create(WorkshopCreateArgs),
    /// List workshops with their join codes.
    List(DbArgs),
    /// Delete a workshop (its learners keep their progress).
    Delete(WorkshopDeleteArgs),
}

/// The database to use.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// SQLite database file [default: the user's data folder, e.g. ~/.local/share/kubelab/kubelab.db].
    #[arg(long, env = "KUBELAB_DB")]
    pub db: Option<PathBuf>,
    /// Content source.
    #[command(flatten)]
    pub content: ContentArgs,
}

impl DbArgs {
    /// The database path: `--db`, or `kubelab.db` in the platform's data folder.
    pub fn db_path(&self) -> PathBuf {
        default_db(self.db.clone())
    }
}

fn default_db(flag: Option<PathBuf>) -> PathBuf {
    flag.unwrap_or_else(|| {
        dirs::data_dir()
            .unwrap_or_else(|| PathBuf::from("."))
            .join("kubelab")
            .join("kubelab.db")
    })
}

/// `kubelab workshop create` flags.
#[derive(Debug, Clone, Args)]
pub struct WorkshopCreateArgs {
    /// Title shown to the class.
    #[arg(long)]
    pub title: String,
    /// The lesson it teaches.
    #[arg(long, default_value = "pod-connectivity")]
    pub lesson: String,
    /// Tasks on the roster (repeatable) [default: the lesson's].
    #[arg(long = "task")]
    pub tasks: Vec<String>,
    /// A folder of kubeconfig files, one learner cluster each (its current context).
    #[arg(long, conflicts_with_all = ["kind", "provider"], required_unless_present_any = ["kind", "provider"])]
    pub kubeconfigs: Option<PathBuf>,
    /// One kind cluster per learner on this host, made by `kubelab serve` (warm pool of 2, 2 boots at once).
    #[arg(long, conflicts_with = "provider")]
    pub kind: bool,
    /// The provider as JSON, as the API takes it, e.g. '{"kind": "kind", "warm": 4, "parallel": 3}'
    /// or '{"kind": "kubernetes", "kubeconfig": "/srv/mgmt.yaml"}'.
    #[arg(long)]
    pub provider: Option<String>,
    /// Most learners.
    #[arg(long)]
    pub capacity: Option<u32>,
    /// Print the workshop as JSON.
    #[arg(long)]
    pub json: bool,
    /// Database and content.
    #[command(flatten)]
    pub db: DbArgs,
}

/// `kubelab workshop delete` flags.
#[derive(Debug, Clone, Args)]
pub struct WorkshopDeleteArgs {
    /// The workshop id (see `kubelab workshop list`).
    pub id: i64,
    /// Database and content.
    #[command(flatten)]
    pub db: DbArgs,
}

/// `kubelab cluster` subcommands.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Create the lesson's kind cluster without a CNI and put the pinned CNI `bridge` plugin into every node.
    Create(CreateArgs),
    /// Delete a kind cluster.
    Delete(DeleteArgs),
}

/// `kubelab cluster create` flags.
#[derive(Debug, Clone, Args)]
pub struct CreateArgs {
    /// The kind cluster name; kubectl's context becomes kind-NAME.
    #[arg(long, default_value = crate::kind::DEFAULT_NAME, value_parser = cluster_name)]
    pub name: String,
    /// Worker nodes next to the one control-plane node.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=10))]
    pub workers: u32,
    /// The lesson whose cluster to create [default: the first lesson that has one].
    #[arg(long)]
    pub lesson: Option<String>,
    /// A downloaded CNI plugins tarball to use instead of downloading it (its sha256 is still checked).
    #[arg(long, env = "KUBELAB_CNI_PLUGINS_TARBALL")]
    pub cni_plugins_tarball: Option<PathBuf>,
    /// The file that shows br_netfilter is loaded (for tests).
    #[arg(long, env = "KUBELAB_BR_NETFILTER_PATH", hide = true)]
    pub br_netfilter_path: Option<PathBuf>,
    /// The address the API server listens on (default: kind's 127.0.0.1); the environment
    /// image uses its Pod IP so kubelab can reach the cluster from outside the Pod.
    #[arg(long)]
    pub api_server_address: Option<String>,
    /// The API server's port with --api-server-address.
    #[arg(long, default_value_t = 6443)]
    pub api_server_port: u16,
    /// Content source.
    #[command(flatten)]
    pub content: ContentArgs,
}

/// `kubelab cluster delete` flags.
#[derive(Debug, Clone, Args)]
pub struct DeleteArgs {
    /// The kind cluster name.
    #[arg(long, default_value = crate::kind::DEFAULT_NAME, value_parser = cluster_name)]
    pub name: String,
}

/// A kind cluster name, checked the way kind checks it.
fn cluster_name(name: &str) -> Result<String, String> {
    crate::kind::validate_name(name).map(|()| name.to_string())
}

/// Which cluster to talk to.
#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// Kubeconfig file [default: $KUBECONFIG, else ~/.kube/config].
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Context to use [default: the kubeconfig's current context].
    #[arg(long, env = "KUBELAB_CONTEXT")]
    pub context: Option<String>,
}

/// `kubelab setup` / `kubelab reset` flags.
#[derive(Debug, Clone, Args)]
pub struct TaskArgs {
    /// The task id, e.g. fix-missing-cni.
    pub task: String,
    /// A local Flannel manifest to re-install from instead of downloading the pinned one.
    #[arg(long, env = "KUBELAB_FLANNEL_MANIFEST")]
    pub flannel_manifest: Option<PathBuf>,
    /// Cluster to change.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Content source.
    #[command(flatten)]
    pub content: ContentArgs,
}

/// `kubelab selftest` flags.
#[derive(Debug, Clone, Args)]
pub struct SelftestArgs {
    /// Task ids [default: every task, in the order needing the fewest CNI changes].
    pub tasks: Vec<String>,
    /// Print the report as JSON on stdout instead of one line per step.
    #[arg(long)]
    pub json: bool,
    /// Seconds an answer may take to converge on the cluster.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    /// A local Flannel manifest to install from instead of downloading the pinned one.
    #[arg(long, env = "KUBELAB_FLANNEL_MANIFEST")]
    pub flannel_manifest: Option<PathBuf>,
    /// Cluster to prove the content on (it is changed: use a lesson cluster, not a shared one).
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Content source.
    #[command(flatten)]
    pub content: ContentArgs,
}

/// `kubelab check` flags.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The task id, e.g. deploy-two-pods.
    pub task: String,
    /// Print the verdict as JSON on stdout (logs stay on stderr).
    #[arg(long)]
    pub json: bool,
    /// Cluster to check.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Content source.
    #[command(flatten)]
    pub content: ContentArgs,
}

/// Where content comes from.
#[derive(Debug, Clone, Args)]
pub struct ContentArgs {
    /// A content folder to use instead of the content built into the binary.
    #[arg(long, env = "KUBELAB_CONTENT")]
    pub content: Option<PathBuf>,
}

/// `kubelab serve` flags.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on; loopback by default so only this machine can connect.
    #[arg(long, env = "KUBELAB_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// SQLite database file [default: the user's data folder, e.g. ~/.local/share/kubelab/kubelab.db].
    #[arg(long, env = "KUBELAB_DB")]
    pub db: Option<PathBuf>,
    /// Extra host names to answer for, e.g. a workshop machine's name (repeatable).
    #[arg(
        long = "allow-host",
        env = "KUBELAB_ALLOW_HOSTS",
        value_delimiter = ','
    )]
    pub allow_hosts: Vec<String>,
    /// Content source.
    #[command(flatten)]
    pub content: ContentArgs,
    /// Cluster learners are bound to by default.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Contexts learners may switch to (repeatable) [default: all, while on loopback].
    #[arg(
        long = "allow-context",
        env = "KUBELAB_ALLOW_CONTEXTS",
        value_delimiter = ','
    )]
    pub allow_contexts: Vec<String>,
    /// A file holding the instructor's secret (reusable while the file is unchanged);
    /// without it, a one-time sign-in link is printed at start.
    #[arg(long, env = "KUBELAB_INSTRUCTOR_TOKEN_FILE")]
    pub instructor_token_file: Option<PathBuf>,
    /// The image of each learner's terminal toolbox Pod (see deploy/toolbox/Dockerfile).
    #[arg(long, env = "KUBELAB_TERMINAL_IMAGE", default_value = crate::service::DEFAULT_TOOLBOX_IMAGE)]
    pub terminal_image: String,
    /// Minutes a terminal may stay without input before it is closed (its shell stays).
    #[arg(long, env = "KUBELAB_TERMINAL_IDLE_MINUTES", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=1440))]
    pub terminal_idle_minutes: u64,
}

impl ServeArgs {
    /// The database path: `--db`, or `kubelab.db` in the platform's data folder.
    pub fn db_path(&self) -> PathBuf {
        default_db(self.db.clone())
    }
}

impl ContentArgs {
    /// Reads the content these flags name (or the embedded copy) and validates it; the error
    /// lists every problem.
    pub fn load(&self) -> Result<crate::content::Catalogue, String> {
        let files = match &self.content {
            Some(dir) => crate::content::ContentFiles::from_dir(dir)
                .map_err(|err| format!("cannot read content folder {}: {err}", dir.display()))?,
            None => crate::content::ContentFiles::embedded(),
        };
        crate::content::load(&files).map_err(|problems| {
            let count = problems.0.len();
            format!("{problems}{count} problem(s) in {}", files.root)
        })
    }
}

impl ClusterArgs {
    /// The kubeconfig files these flags name (`--kubeconfig`, `$KUBECONFIG`, `~/.kube/config`).
    pub fn source(&self) -> crate::cluster::KubeconfigSource {
        crate::cluster::KubeconfigSource::resolve(self.kubeconfig.clone())
    }

    /// The context named by `--context`, or the kubeconfig's current one.
    pub fn context(&self) -> Option<String> {
        self.context.clone().or_else(|| {
            self.source()
                .contexts()
                .ok()
                .and_then(|(_, current)| current)
        })
    }
}
