//! `rollgym`: the relay binary. Argument parsing, logging and signals; everything else is in
//! the library.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use rollgym_relay::{Relay, RelayOptions, config};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(name = "rollgym", version, about = "Real-time two-player browser experiments")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve an experiment: the participant page, the relay WebSocket and data storage.
    Serve {
        /// Experiment file (TOML). Default: the bundled Overcooked demo.
        experiment: Option<PathBuf>,
        /// Address to listen on. Port 0 picks a free port.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Where research data is written.
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// A directory served in front of the built-in participant page and wasm package
        /// (`/pkg/`): your own pages. Default: the built-in files alone.
        #[arg(long)]
        www_dir: Option<PathBuf>,
        /// The secret in the admin page's address. Default: `ROLLGYM_ADMIN_TOKEN`, else a
        /// random one each start (printed with the address).
        #[arg(long)]
        admin_token: Option<String>,
    },
    /// Check an experiment file and exit 0 when it is valid.
    Validate { experiment: PathBuf },
    /// Compare players' CSV files of one episode (two, or a group's) on their shared columns,
    /// each with the first; exit 0 only when all are equal (1 when one differs, 2 when a file
    /// cannot be read).
    Compare {
        #[arg(required = true, num_args = 2..)]
        files: Vec<PathBuf>,
    },
    /// Re-simulate a stored episode (a built-in environment) from its recorded actions; exit 0
    /// only when every recorded state hash is reproduced (1 at the first row that is not, 2
    /// when the file cannot be replayed). Its sidecar (`.json`) must be beside it.
    Replay { file: PathBuf },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Validate { experiment } => match config::load(Some(&experiment)) {
            Ok(_) => {
                eprintln!("{}: valid", experiment.display());
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("error: {err}");
                ExitCode::FAILURE
            }
        },
        Command::Compare { files } => compare(&files),
        Command::Replay { file } => match rollgym_relay::replay::replay_file(&file) {
            Ok(replayed) => {
                report(&rollgym_relay::replay::describe(&replayed));
                if replayed.mismatch.is_none() { ExitCode::SUCCESS } else { ExitCode::from(1) }
            }
            Err(err) => {
                eprintln!("error: {err}");
                ExitCode::from(2)
            }
        },
        Command::Serve { experiment, addr, data_dir, www_dir, admin_token } => {
            let runtime = match runtime() {
                Ok(rt) => rt,
                Err(err) => {
                    eprintln!("error: cannot start the async runtime: {err}");
                    return ExitCode::FAILURE;
                }
            };
            let admin_token = admin_token
                .or_else(|| std::env::var("ROLLGYM_ADMIN_TOKEN").ok())
                .filter(|t| !t.is_empty());
            runtime.block_on(serve(experiment, addr, data_dir, www_dir, admin_token))
        }
    }
}

/// One worker thread per core this process may run on: tokio's default counts the machine's
/// cores, so a relay confined to one core (taskset, a cpuset) would time-slice two workers on it.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    tokio::runtime::Builder::new_multi_thread().worker_threads(cores).enable_all().build()
}

async fn serve(
    experiment: Option<PathBuf>,
    addr: SocketAddr,
    data_dir: PathBuf,
    www_dir: Option<PathBuf>,
    admin_token: Option<String>,
) -> ExitCode {
    let own_package = www_dir.as_ref().is_some_and(|dir| dir.join("pkg").is_dir());
    if !rollgym_relay::has_package() && !own_package {
        tracing::error!(
            "this relay was built without the wasm package (build it with `make build`): the participant page cannot start"
        );
    }
    let started = async {
        let experiment = config::load(experiment.as_deref())?;
        Relay::bind(RelayOptions { experiment, addr, www_dir, data_dir, admin_token }).await
    };
    let relay = match started.await {
        Ok(relay) => relay,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    let url = format!("http://{}", relay.local_addr());
    announce(&url, relay.admin_token());
    relay.run(shutdown_signal()).await;
    ExitCode::SUCCESS
}

fn compare(files: &[PathBuf]) -> ExitCode {
    let mut texts = Vec::with_capacity(files.len());
    for path in files {
        match std::fs::read_to_string(path) {
            Ok(text) => texts.push(text),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", path.display());
                return ExitCode::from(2);
            }
        }
    }
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let Some(group) = rollgym_relay::parity::compare_all(&texts) else {
        eprintln!("error: give at least two files");
        return ExitCode::from(2);
    };
    if group.parity.is_equal() {
        report(&group.parity.to_string());
        return ExitCode::SUCCESS;
    }
    let (left, right) = (files[0].display(), files[group.against].display());
    report(&format!("{} ({left} vs {right})", group.parity));
    ExitCode::from(1)
}

#[allow(clippy::print_stdout, reason = "the verdict is the command's output")]
fn report(line: &str) {
    println!("{line}");
}

/// The one line a person (and the test harness) reads: where to point the browsers. A reader
/// that has gone (a harness that read its line and closed the pipe) must not stop the relay,
/// so write errors are ignored rather than panicking as `println!` would.
fn announce(url: &str, admin_token: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "rollgym listening on {url}");
    let _ = writeln!(out, "  participant page: {url}/  (open it in two tabs to pair them)");
    let _ = writeln!(out, "  admin page:       {url}/admin.html?token={admin_token}");
    let _ = out.flush();
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
