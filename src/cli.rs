//! What each subcommand does; `main` only parses flags and maps the outcome to an exit code.

use std::process::ExitCode;

use crate::checks::Status;
use crate::cluster::{ClusterError, Connection};
use crate::config::{CheckArgs, ClusterArgs, ContentArgs, SelftestArgs, TaskArgs};
use crate::content::{self, Catalogue};
use crate::service::check::check as check_task;
use crate::service::steps::{self, Action, SetupOptions};

/// `kubelab lint`: prints every problem; exit 1 if there are any.
pub fn lint(args: &ContentArgs) -> ExitCode {
    match args.load() {
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

/// `kubelab diagnose [LESSON]`: walks the lesson's checklist and prints each step as it is
/// known (or only JSON with `--json`); exit 0 when nothing fails, 1 when a step fails or errs,
/// 2 on bad usage.
pub async fn diagnose(args: crate::config::DiagnoseArgs) -> ExitCode {
    use crate::checks::diagnose::StepStatus;
    let catalogue = match args.content.load() {
        Ok(catalogue) => catalogue,
        Err(report) => {
            eprintln!("{report}");
            return ExitCode::from(2);
        }
    };
    let with: Vec<&str> = catalogue
        .lessons
        .iter()
        .filter(|l| !l.diagnose.is_empty())
        .map(|l| l.id.as_str())
        .collect();
    let lesson = match &args.lesson {
        Some(id) => catalogue.lesson(id),
        None => catalogue.lessons.iter().find(|l| !l.diagnose.is_empty()),
    };
    let Some(lesson) = lesson.filter(|l| !l.diagnose.is_empty()) else {
        eprintln!(
            "kubelab: no lesson `{}` with a checklist; lessons with one: {}",
            args.lesson.as_deref().unwrap_or(""),
            with.join(", ")
        );
        return ExitCode::from(2);
    };
    let conn = connect(&args.cluster).await;
    let json = args.json;
    let mut print = |step: &crate::checks::diagnose::StepResult| {
        if json {
            return;
        }
        let mark = match step.status {
            StepStatus::Ok => "ok   ",
            StepStatus::Warn => "warn ",
            StepStatus::Fail => "FAIL ",
            StepStatus::Error => "ERROR",
        };
        println!("{mark} {}", step.title);
        for line in &step.evidence {
            println!("        {line}");
        }
        if !step.next.is_empty() {
            println!("        next: {}", step.next);
        }
    };
    let diagnosis = crate::service::diagnose::run(
        conn,
        lesson,
        std::time::Duration::from_secs(args.timeout),
        &mut print,
    )
    .await;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&diagnosis).unwrap_or_else(|_| "{}".into())
        );
    } else {
        match diagnosis
            .steps
            .iter()
            .find(|s| Some(&s.id) == diagnosis.first_broken.as_ref())
        {
            Some(step) => println!(
                "\nfirst broken link: {} (see the lesson's {} section)",
                step.title, step.section
            ),
            None => println!("\nevery link of the chain holds"),
        }
    }
    if diagnosis.healthy() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `kubelab export LESSON DIR`: writes the lesson's study folder; exit 2 on bad usage or
/// content, 1 when the folder cannot be written.
pub fn export(args: &crate::config::ExportArgs) -> ExitCode {
    let catalogue = match args.content.load() {
        Ok(catalogue) => catalogue,
        Err(report) => {
            eprintln!("{report}");
            return ExitCode::from(2);
        }
    };
    let Some(lesson) = catalogue.lesson(&args.lesson) else {
        let known: Vec<&str> = catalogue.lessons.iter().map(|l| l.id.as_str()).collect();
        eprintln!(
            "kubelab: no lesson `{}`; lessons: {}",
            args.lesson,
            known.join(", ")
        );
        return ExitCode::from(2);
    };
    let files = crate::content::export::study_folder(&catalogue, lesson);
    match crate::content::export::write_folder(&files, &args.dir) {
        Ok(()) => {
            println!(
                "wrote {} file(s) of `{}` into {}",
                files.len(),
                lesson.id,
                args.dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("kubelab: cannot write {}: {err}", args.dir.display());
            ExitCode::FAILURE
        }
    }
}

/// Loads the content and makes sure it has the task; on failure says why (exit code 2).
fn catalogue_with_task(content: &ContentArgs, task: &str) -> Result<Catalogue, ExitCode> {
    let catalogue = content.load().map_err(|report| {
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
    let connection = connect(&args.cluster).await;
    if let Ok(conn) = &connection {
        tracing::info!(context = %conn.context, server = %conn.server, "checking {}", task.id);
    }
    let verdict = check_task(connection, task).await;
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
    let catalogue = match args.content.load() {
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
        api_server: args
            .api_server_address
            .map(|address| (address, args.api_server_port)),
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

/// A connection to the context the flags name; no kubeconfig is an error like any other.
async fn connect(args: &ClusterArgs) -> Result<Connection, ClusterError> {
    let source = args.source();
    match args.context() {
        Some(context) => Connection::open(&source, &context).await,
        None => Err(ClusterError::NoKubeconfig {
            path: source.describe(),
        }),
    }
}

/// `kubelab setup TASK` / `kubelab reset TASK`: runs the task's steps and prints each.
pub async fn steps(args: TaskArgs, action: Action) -> ExitCode {
    let catalogue = match catalogue_with_task(&args.content, &args.task) {
        Ok(catalogue) => catalogue,
        Err(code) => return code,
    };
    let Some(task) = catalogue.task(&args.task) else {
        return ExitCode::from(2);
    };
    let conn = match connect(&args.cluster).await {
        Ok(conn) => conn,
        Err(err) => {
            eprintln!("kubelab: {err}");
            return ExitCode::FAILURE;
        }
    };
    let options = SetupOptions {
        flannel_manifest: args.flannel_manifest.clone(),
    };
    let action_name = action.as_str();
    eprintln!("{action_name} {} on context {}", task.id, conn.context);
    let outcome = steps::run(&conn, &options, &catalogue, task, action).await;
    if outcome.steps.is_empty() {
        println!("{}: nothing to {action_name}", task.id);
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

/// `kubelab selftest [TASK...]`: proves the tasks' checks both ways on a cluster; one line
/// per step (or JSON with `--json`); exit 0 only when everything held, 2 on bad usage.
pub async fn selftest(args: SelftestArgs) -> ExitCode {
    use crate::service::selftest::{self, Timing};
    let catalogue = match args.content.load() {
        Ok(catalogue) => catalogue,
        Err(report) => {
            eprintln!("{report}");
            return ExitCode::from(2);
        }
    };
    let mut tasks = Vec::new();
    for id in &args.tasks {
        match catalogue.task(id) {
            Some(task) => tasks.push(task),
            None => {
                let known: Vec<&str> = catalogue.tasks.keys().map(String::as_str).collect();
                eprintln!(
                    "kubelab: there is no task `{id}`; tasks: {}",
                    known.join(", ")
                );
                return ExitCode::from(2);
            }
        }
    }
    if tasks.is_empty() {
        let all: Vec<&content::Task> = catalogue.tasks.values().collect();
        tasks = selftest::order(&all);
    }
    let conn = match connect(&args.cluster).await {
        Ok(conn) => conn,
        Err(err) => {
            eprintln!("kubelab: {err}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "selftest of {} task(s) on context {} ({})",
        tasks.len(),
        conn.context,
        conn.server
    );
    let options = SetupOptions {
        flannel_manifest: args.flannel_manifest.clone(),
    };
    let timing = Timing {
        converge: std::time::Duration::from_secs(args.timeout),
        ..Timing::default()
    };
    let json = args.json;
    let mut emit = |line: &selftest::Line| {
        if json {
            eprintln!("{}", line.render());
        } else {
            println!("{}", line.render());
        }
    };
    let report = selftest::run(&conn, &options, &catalogue, &tasks, timing, &mut emit).await;
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(err) => {
                eprintln!("kubelab: cannot encode the report: {err}");
                return ExitCode::from(2);
            }
        }
    } else {
        let failed = report.lines.iter().filter(|l| !l.ok).count();
        println!(
            "selftest: {}",
            if report.ok {
                format!("all {} step(s) held", report.lines.len())
            } else {
                format!("{failed} of {} step(s) did not hold", report.lines.len())
            }
        );
    }
    if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `kubelab workshop create|list|delete`: scripts a class on the server's database; exit 0
/// on success, 1 on a refusal (said why), 2 on bad usage or unusable content.
pub async fn workshop(command: crate::config::WorkshopCommand) -> ExitCode {
    use crate::config::WorkshopCommand;
    use crate::service::{Provider, WorkshopSpec};
    let db = match &command {
        WorkshopCommand::Create(a) => &a.db,
        WorkshopCommand::List(a) => a,
        WorkshopCommand::Delete(a) => &a.db,
    };
    let service = match workshop_service(db).await {
        Ok(service) => service,
        Err(code) => return code,
    };
    let outcome = match command {
        WorkshopCommand::Create(args) => {
            let provider = match (&args.kubeconfigs, args.kind, &args.provider) {
                (Some(dir), _, _) => Provider::Kubeconfigs { dir: dir.clone() },
                (None, true, _) => match serde_json::from_str(r#"{"kind": "kind"}"#) {
                    Ok(p) => p,
                    Err(err) => {
                        eprintln!("kubelab: {err}");
                        return ExitCode::from(2);
                    }
                },
                (None, false, Some(json)) => match serde_json::from_str(json) {
                    Ok(p) => p,
                    Err(err) => {
                        eprintln!("kubelab: --provider is not a provider: {err}");
                        return ExitCode::from(2);
                    }
                },
                (None, false, None) => {
                    eprintln!(
                        "kubelab: say where clusters come from: --kubeconfigs DIR, --kind or --provider JSON"
                    );
                    return ExitCode::from(2);
                }
            };
            let spec = WorkshopSpec {
                title: args.title.clone(),
                lesson: args.lesson.clone(),
                tasks: args.tasks.clone(),
                provider,
                capacity: args.capacity,
                ends_at: None,
            };
            service.create_workshop(spec).await.map(|w| {
                if args.json {
                    println!("{}", serde_json::to_string_pretty(&w).unwrap_or_default());
                } else {
                    println!("workshop {}: {} (join code {})", w.id, w.title, w.code);
                    println!("learners open /join/{} on this server", w.code);
                }
            })
        }
        WorkshopCommand::List(_) => service.workshops().await.map(|all| {
            if all.is_empty() {
                println!("no workshops");
            }
            for w in all {
                println!("{}\t{}\t{}\t{}", w.id, w.code, w.lesson, w.title);
            }
        }),
        WorkshopCommand::Delete(args) => match service.delete_workshop(args.id).await {
            Ok(()) => {
                println!("deleted workshop {}", args.id);
                // Its clusters (kind, kubernetes) go now; a failure is said, and a running
                // server tries again.
                match service.delete_pending_environments().await {
                    Ok((deleted, failed)) => {
                        for name in deleted {
                            println!("deleted cluster {name}");
                        }
                        for line in &failed {
                            eprintln!(
                                "kubelab: could not delete cluster {line} (kubelab serve tries again)"
                            );
                        }
                        Ok(())
                    }
                    Err(err) => Err(err),
                }
            }
            Err(err) => Err(err),
        },
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("kubelab: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn workshop_service(db: &crate::config::DbArgs) -> Result<crate::service::Service, ExitCode> {
    let catalogue = db.content.load().map_err(|report| {
        eprintln!("{report}");
        ExitCode::from(2)
    })?;
    let store = crate::store::Store::open(&db.db_path())
        .await
        .map_err(|err| {
            eprintln!("kubelab: {err}");
            ExitCode::FAILURE
        })?;
    let clusters = crate::cluster::Clusters::new(
        crate::cluster::KubeconfigSource::resolve(None),
        None,
        crate::cluster::AllowedContexts::All,
    );
    Ok(crate::service::Service::new(
        catalogue,
        store,
        clusters,
        crate::clock::Clock::system(),
    ))
}
