//! The kubelab binary: parse flags, set up logging on stderr, run a subcommand.

use std::process::ExitCode;

use clap::Parser;
use kubelab::Action;
use kubelab::cli;
use kubelab::config::{Cli, Command};

fn main() -> ExitCode {
    let args = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "kubelab=info,tower_http=warn".into()),
        )
        .init();
    match args.command {
        Command::Lint(content) => cli::lint(&content),
        Command::Export(args) => cli::export(&args),
        Command::Diagnose(args) => run(cli::diagnose(args)),
        Command::Serve(serve) => run(kubelab::serve(serve)),
        Command::Check(check) => run(cli::check(check)),
        Command::Setup(args) => run(cli::steps(args, Action::Setup)),
        Command::Reset(args) => run(cli::steps(args, Action::Reset)),
        Command::Selftest(args) => run(cli::selftest(args)),
        Command::Cluster { command } => run(cli::cluster(command)),
        Command::Workshop { command } => run(cli::workshop(command)),
    }
}

fn run(work: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime.block_on(work),
        Err(err) => {
            eprintln!("kubelab: cannot start the async runtime: {err}");
            ExitCode::FAILURE
        }
    }
}
