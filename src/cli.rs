//! What each subcommand does; `main` only parses flags and maps the outcome to an exit code.

use std::process::ExitCode;
use std::time::Instant;

use crate::checks::Status;
use crate::cluster::{AllowedContexts, Clusters, Connection, KubeconfigSource};
use crate::config::{CheckArgs, ClusterArgs, ContentArgs, ServeArgs, TaskArgs};
use crate::content::{self, Catalogue, ContentFiles};
use crate::state::{AllowedHosts, AppState};
use crate::store::Store;

/// Reads the content named by the flags (or the embedded copy) and validates it.
fn load_content(args: &ContentArgs) -> Result<Catalogue, String> {
    let files = match &args.content {
        Some(dir) => ContentFiles::from_dir(dir)
            .map_err(|err| format!("cannot read content folder {}: {err}", dir.display()))?,
        None => ContentFiles::embedded(),
    };
    content::load(&files).map_err(|problems| {
        let count = problems.0.len();
        format!("{problems}{count} problem(s) in {}", files.root)
    })
}

/// `kubelab lint`: prints every problem; exit 1 if there are any.
pub fn lint(args: &ContentArgs) -> ExitCode {
    match load_content(args) {
        Ok(catalogue) => {
            let sections: usize = catalogue.lessons.iter().map(|l| l.sections.len()).sum();
            println!(
                "content OK: {} lesson(s), {} section(s), {} task(s), {} exam(s)",
                catalogue.lessons.len(),
                sections,
                catalogue.tasks.len(),
                catalogue.exams.len()
            );
            ExitCode::SUCCESS
        }
        Err(report) => {
            println!("{report}");
            ExitCode::FAILURE
        }
    }
}

/// `kubelab serve`: refuses invalid content, then serves until Ctrl-C or SIGTERM.
pub async fn serve(args: ServeArgs) -> ExitCode {
    let started = Instant::now();
    let catalogue = match load_content(&args.content) {
        Ok(catalogue) => catalogue,
        Err(report) => {
            eprintln!(
                "{report}\nkubelab will not start on invalid content; run `kubelab lint` after fixing it."
            );
            return ExitCode::FAILURE;
        }
    };
    let db = args.db_path();
    let store = match Store::open(&db).await {
        Ok(store) => store,
        Err(err) => {
            eprintln!("kubelab: {err}");
            return ExitCode::FAILURE;
        }
    };
    if !args.addr.ip().is_loopback() && args.allow_hosts.is_empty() {
        tracing::warn!(
            "listening on {} but only answering for loopback host names; add --allow-host NAME for learners on other machines",
            args.addr
        );
    }
    let mut hosts: Vec<String> = args.allow_hosts.clone();
    if !args.addr.ip().is_unspecified() {
        hosts.push(args.addr.ip().to_string());
    }
    let allowed = if !args.allow_contexts.is_empty() {
        AllowedContexts::Only(args.allow_contexts.clone())
    } else if args.addr.ip().is_loopback() {
        AllowedContexts::All
    } else {
        // Learners on other machines must not roam the server owner's kubeconfig.
        let only = clusters_default(&args.cluster).into_iter().collect();
        AllowedContexts::Only(only)
    };
    let clusters = Clusters::new(
        KubeconfigSource::resolve(args.cluster.kubeconfig.clone()),
        args.cluster.context.clone(),
        allowed,
    );
    let state = AppState::new(
        catalogue,
        store.clone(),
        AllowedHosts::loopback_and(hosts),
        clusters,
    );
    // Exams keep their deadlines across restarts: resume, reschedule or grade late.
    crate::proctor::recover(&state).await;
    let listener = match tokio::net::TcpListener::bind(args.addr).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("kubelab: cannot listen on {}: {err}", args.addr);
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        db = %db.display(),
        "kubelab listening on http://{} (ready in {} ms)",
        args.addr,
        started.elapsed().as_millis()
    );
    // Small responses and SSE events go out at once rather than waiting on Nagle's algorithm.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let served = axum::serve(listener, crate::web::app(state))
        .with_graceful_shutdown(shutdown_signal())
        .await;
    store.close().await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("kubelab: server error: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

/// The context named by the flags, or the kubeconfig's current one.
fn clusters_default(args: &ClusterArgs) -> Option<String> {
    args.context.clone().or_else(|| {
        KubeconfigSource::resolve(args.kubeconfig.clone())
            .contexts()
            .ok()
            .and_then(|(_, current)| current)
    })
}

/// Loads the content and makes sure it has the task; on failure says why (exit code 2).
fn catalogue_with_task(content: &ContentArgs, task: &str) -> Result<Catalogue, ExitCode> {
    let catalogue = load_content(content).map_err(|report| {
        eprintln!("{report}");
        ExitCode::from(2)
    })?;
    if catalogue.task(task).is_none() {
        let known: Vec<&str> = catalogue.tasks.keys().map(String::as_str).collect();
        eprintln!(
            "kubelab: there is no task `{task}`; tasks: {}",
            known.join(", ")
        );
        return Err(ExitCode::from(2));
    }
    Ok(catalogue)
}

/// `kubelab check TASK`: prints the verdict; exit 0 only when every criterion passes.
pub async fn check(args: CheckArgs) -> ExitCode {
    let catalogue = match catalogue_with_task(&args.content, &args.task) {
        Ok(catalogue) => catalogue,
        Err(code) => return code,
    };
    let Some(task) = catalogue.task(&args.task) else {
        return ExitCode::from(2);
    };
    let source = KubeconfigSource::resolve(args.cluster.kubeconfig.clone());
    let connection = match clusters_default(&args.cluster) {
        Some(context) => Connection::open(&source, &context).await,
        None => Err(crate::cluster::ClusterError::NoKubeconfig {
            path: source.describe(),
        }),
    };
    if let Ok(conn) = &connection {
        tracing::info!(context = %conn.context, server = %conn.server, "checking {}", task.id);
    }
    let verdict = crate::checking::check(connection, task).await;
    if args.json {
        match serde_json::to_string_pretty(&verdict) {
            Ok(text) => println!("{text}"),
            Err(err) => {
                eprintln!("kubelab: cannot encode the verdict: {err}");
                return ExitCode::from(2);
            }
        }
    } else {
        println!(
            "{}: {}/{} points{}",
            task.title,
            verdict.score,
            verdict.max_score,
            if verdict.passed { ", done" } else { "" }
        );
        for c in &verdict.criteria {
            let mark = match c.status {
                Status::Passed => "PASS",
                Status::Failed => "FAIL",
                Status::Pending => "WAIT",
                Status::Error => "ERR ",
            };
            println!("  [{mark}] {} ({} pt)", c.description, c.points);
            if c.status != Status::Passed {
                println!("         expected: {}", c.evidence.expected);
                println!("         observed: {}", c.evidence.observed);
                for reason in &c.evidence.reasons {
                    println!("         - {reason}");
                }
                for line in &c.evidence.logs {
                    println!("         | {line}");
                }
                if let Some(command) = &c.evidence.command {
                    println!("         ran: {command}");
                }
            }
        }
    }
    if verdict.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `kubelab cluster create|delete`: runs kind and docker; exit 0 on success, 1 on a clear
/// failure, 2 on bad usage.
pub async fn cluster(command: crate::config::ClusterCommand) -> ExitCode {
    match command {
        crate::config::ClusterCommand::Create(args) => cluster_create(args).await,
        crate::config::ClusterCommand::Delete(args) => cluster_delete(args).await,
    }
}

/// The lesson named by `--lesson`, else the first lesson with a `cluster:` block.
fn cluster_lesson<'a>(
    catalogue: &'a Catalogue,
    wanted: Option<&str>,
) -> Result<(&'a content::Lesson, &'a content::ClusterSpec), (ExitCode, String)> {
    let with_cluster: Vec<&str> = catalogue
        .lessons
        .iter()
        .filter(|lesson| lesson.cluster.is_some())
        .map(|lesson| lesson.id.as_str())
        .collect();
    let lesson = match wanted {
        Some(id) => catalogue.lesson(id).ok_or_else(|| {
            (
                ExitCode::from(2),
                format!(
                    "there is no lesson `{id}`; lessons with a cluster: {}",
                    with_cluster.join(", ")
                ),
            )
        })?,
        None => catalogue
            .lessons
            .iter()
            .find(|lesson| lesson.cluster.is_some())
            .ok_or_else(|| {
                (
                    ExitCode::FAILURE,
                    "no lesson in this content describes a cluster (a `cluster:` block in lesson.yaml)"
                        .to_string(),
                )
            })?,
    };
    match &lesson.cluster {
        Some(spec) => Ok((lesson, spec)),
        None => Err((
            ExitCode::from(2),
            format!(
                "lesson `{}` describes no cluster; lessons with a cluster: {}",
                lesson.id,
                with_cluster.join(", ")
            ),
        )),
    }
}

async fn cluster_create(args: crate::config::CreateArgs) -> ExitCode {
    let catalogue = match load_content(&args.content) {
        Ok(catalogue) => catalogue,
        Err(report) => {
            eprintln!("{report}");
            return ExitCode::from(2);
        }
    };
    let (lesson, spec) = match cluster_lesson(&catalogue, args.lesson.as_deref()) {
        Ok(found) => found,
        Err((code, message)) => {
            eprintln!("kubelab: {message}");
            return code;
        }
    };
    let Some(kind_config) = lesson
        .files
        .get(&spec.kind_config)
        .and_then(|bytes| std::str::from_utf8(bytes).ok())
    else {
        eprintln!(
            "kubelab: lesson `{}` has no readable kind config `{}` in its files/",
            lesson.id, spec.kind_config
        );
        return ExitCode::FAILURE;
    };
    let plan = crate::kind::CreatePlan {
        name: args.name,
        workers: args.workers,
        kind_config_name: spec.kind_config.clone(),
        kind_config: kind_config.to_string(),
        cni_plugins: spec.cni_plugins.clone(),
        flannel: spec.flannel.clone(),
        br_netfilter_path: args.br_netfilter_path,
        plugins_tarball: args.cni_plugins_tarball,
    };
    eprintln!(
        "Using the cluster of lesson `{}` ({})",
        lesson.id, spec.kind_config
    );
    let work = tokio::task::spawn_blocking(move || {
        let created = crate::kind::create(&plan, &mut std::io::stderr());
        (created, plan.flannel)
    });
    match work.await {
        Ok((Ok(created), flannel)) => {
            print!("{}", crate::kind::next_steps(&created, &flannel));
            ExitCode::SUCCESS
        }
        Ok((Err(err), _)) => kind_failure(&err),
        Err(err) => {
            eprintln!("kubelab: the cluster work stopped unexpectedly: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn cluster_delete(args: crate::config::DeleteArgs) -> ExitCode {
    let name = args.name;
    let work = tokio::task::spawn_blocking({
        let name = name.clone();
        move || crate::kind::delete(&name, &mut std::io::stderr())
    });
    match work.await {
        Ok(Ok(crate::kind::Deleted::Deleted)) => {
            println!(
                "Deleted kind cluster `{name}`; kind removed the context `{}` from your kubeconfig.",
                crate::kind::context_name(&name)
            );
            ExitCode::SUCCESS
        }
        Ok(Ok(crate::kind::Deleted::NotFound)) => {
            println!("There is no kind cluster `{name}`; nothing to delete.");
            ExitCode::SUCCESS
        }
        Ok(Err(err)) => kind_failure(&err),
        Err(err) => {
            eprintln!("kubelab: the cluster work stopped unexpectedly: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Prints a kind-layer error; a bad name is bad usage (2), anything else a failure (1).
fn kind_failure(err: &crate::kind::KindError) -> ExitCode {
    eprintln!("kubelab: {err}");
    match err {
        crate::kind::KindError::BadName { .. } => ExitCode::from(2),
        _ => ExitCode::FAILURE,
    }
}

/// `kubelab setup TASK` / `kubelab reset TASK`: runs the task's steps and prints each.
pub async fn setup(args: TaskArgs, action: &'static str) -> ExitCode {
    let catalogue = match catalogue_with_task(&args.content, &args.task) {
        Ok(catalogue) => catalogue,
        Err(code) => return code,
    };
    let Some(task) = catalogue.task(&args.task) else {
        return ExitCode::from(2);
    };
    let source = KubeconfigSource::resolve(args.cluster.kubeconfig.clone());
    let Some(context) = clusters_default(&args.cluster) else {
        eprintln!(
            "kubelab: no kubeconfig at {}: create the lesson cluster with `kubelab cluster create`",
            source.describe()
        );
        return ExitCode::FAILURE;
    };
    let conn = match Connection::open(&source, &context).await {
        Ok(conn) => conn,
        Err(err) => {
            eprintln!("kubelab: {err}");
            return ExitCode::FAILURE;
        }
    };
    let options = crate::setup::SetupOptions {
        flannel_manifest: args.flannel_manifest.clone(),
    };
    eprintln!("{action} {} on context {context}", task.id);
    let outcome = if action == "setup" {
        crate::setup::setup(&conn, &options, &catalogue, task).await
    } else {
        crate::setup::reset(&conn, &options, &catalogue, task).await
    };
    if outcome.steps.is_empty() {
        println!("{}: nothing to {action}", task.id);
    }
    for step in &outcome.steps {
        println!(
            "[{}] {}: {}",
            if step.ok { "done" } else { "FAIL" },
            step.step,
            step.detail
        );
    }
    if outcome.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
