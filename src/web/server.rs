//! `kubelab serve`: builds the application from the flags and serves it until Ctrl-C or
//! SIGTERM.

use std::process::ExitCode;
use std::time::Instant;

use crate::cluster::{AllowedContexts, Clusters};
use crate::config::ServeArgs;
use crate::store::Store;

use super::{AllowedHosts, AppState};

/// Refuses invalid content, opens the database, recovers exams, then serves.
pub async fn serve(args: ServeArgs) -> ExitCode {
    let started = Instant::now();
    let catalogue = match args.content.load() {
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
    let state = AppState::new(
        catalogue,
        store.clone(),
        allowed_hosts(&args),
        Clusters::new(
            args.cluster.source(),
            args.cluster.context.clone(),
            allowed_contexts(&args),
        ),
    );
    let gate = match instructor_gate(&args) {
        Ok(gate) => gate,
        Err(message) => {
            eprintln!("kubelab: {message}");
            return ExitCode::FAILURE;
        }
    };
    let state = state.with_instructor(gate);
    // Exams keep their deadlines across restarts: resume, reschedule or grade late.
    state
        .service
        .set_terminal_settings(crate::service::TerminalSettings {
            image: args.terminal_image.clone(),
            idle: std::time::Duration::from_secs(args.terminal_idle_minutes * 60),
        });
    state.service.recover_exams().await;
    // Static files are compressed once, beside the listener rather than before it.
    let warming = state.clone();
    tokio::task::spawn_blocking(move || warming.warm());
    // Workshop clusters: finish or clean up what a restart interrupted, keep pools filled.
    state.service.kick_provisioning();
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
    let stopping = state.clone();
    let shutdown = async move {
        shutdown_signal().await;
        stopping.stop();
    };
    let served = super::listen::serve(
        listener,
        super::app(state),
        super::listen::Limits::default(),
        shutdown,
    )
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

/// The instructor's secret: from `--instructor-token-file`, else a fresh one-time token whose
/// sign-in link is printed (on stderr, with the logs).
fn instructor_gate(args: &ServeArgs) -> Result<super::instructor::InstructorGate, String> {
    use super::instructor::{InstructorGate, random_secret};
    if let Some(path) = &args.instructor_token_file {
        let secret = std::fs::read_to_string(path)
            .map_err(|e| {
                format!(
                    "cannot read the instructor token file {}: {e}",
                    path.display()
                )
            })?
            .trim()
            .to_string();
        if secret.len() < 16 {
            return Err(format!(
                "the instructor token in {} is shorter than 16 characters; use a long random one (e.g. `openssl rand -hex 24`)",
                path.display()
            ));
        }
        return Ok(InstructorGate::reusable(secret));
    }
    let secret =
        random_secret().map_err(|e| format!("no randomness for the instructor token: {e}"))?;
    eprintln!(
        "kubelab: instructor sign-in (works once): http://{}/instructor/sign-in?token={secret}",
        args.addr
    );
    Ok(InstructorGate::one_time(secret))
}

/// Loopback names, `--allow-host` names, and the address listened on.
fn allowed_hosts(args: &ServeArgs) -> AllowedHosts {
    let mut hosts: Vec<String> = args.allow_hosts.clone();
    if !args.addr.ip().is_unspecified() {
        hosts.push(args.addr.ip().to_string());
    }
    AllowedHosts::loopback_and(hosts)
}

/// `--allow-context`, else every context while on loopback, else only the default one:
/// learners on other machines must not roam the server owner's kubeconfig.
fn allowed_contexts(args: &ServeArgs) -> AllowedContexts {
    if !args.allow_contexts.is_empty() {
        AllowedContexts::Only(args.allow_contexts.clone())
    } else if args.addr.ip().is_loopback() {
        AllowedContexts::All
    } else {
        AllowedContexts::Only(args.cluster.context().into_iter().collect())
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
