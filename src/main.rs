//! The `gaslamp` binary: parses flags, sets up logging, starts a runtime,
//! dispatches the subcommand to the library (`ops::shell`, the server, the
//! world check), prints its report, and turns its outcome into an exit code:
//! 0 fine, 1 failure (a bad request, a bad flag or config file, an invalid
//! world), 2 the database or the TLS certificate or key unusable, or a stop
//! that lost rows the disk refused (even the spill failed). It also
//! owns the process's signals: SIGINT and SIGTERM shut the server down,
//! SIGHUP reloads its TLS certificate, SIGUSR2 upgrades it in place.

use std::process::ExitCode;

use tracing_subscriber::EnvFilter;

use gaslamp::cli::{CliError, Command, CommonArgs};
use gaslamp::ops::{self, OpsError, shell};
use gaslamp::store::StoreError;
use gaslamp::{ShutdownError, StartError, world};

fn main() -> ExitCode {
    let cli = match gaslamp::cli::parse_from(std::env::args_os()) {
        Ok(cli) => cli,
        Err(err) => {
            fall_back_if_upgrading(&err.to_string());
            return report_cli_error(&err);
        }
    };
    init_logging(&cli.common.log_level);
    if let Command::CheckWorlds = &cli.command {
        return check_worlds(&cli.common);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("gaslamp: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let common = &cli.common;
    let outcome = runtime.block_on(async {
        let report = match &cli.command {
            Command::Run(run) => return run_server(common, run).await,
            Command::InitDb => shell::init_db(common).await,
            Command::CreateSuperuser => shell::create_superuser(common).await,
            Command::User { command } => shell::user(common, command).await,
            Command::GenCert(args) => shell::gen_cert(args),
            Command::Mssp(args) => shell::mssp(args).await,
            Command::Backup { file, force } => ops::backup::back_up(common, file, *force).await,
            Command::Restore { file } => ops::backup::restore(common, file).await,
            Command::CheckWorlds => return Ok(()),
            Command::Upgrade { reason } => return upgrade(common, reason).await,
        };
        let report = report?;
        println!("{}", report.trim_end());
        Ok(())
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("gaslamp: {err:#}");
            if is_unusable_file(&err) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// The new image of an upgrade whose command line it refuses gives the
/// players back to the old binary; returns if there is nothing to give back.
fn fall_back_if_upgrading(why: &str) {
    if let Ok(Some(inherited)) = gaslamp::upgrade::take_inherited() {
        // Logging is not set up yet: said plainly on stderr.
        let why = why.lines().next().unwrap_or_default().trim();
        eprintln!(
            "gaslamp: the new binary cannot start; handing the players back to the old binary: {why}"
        );
        let failed = gaslamp::upgrade::fall_back(inherited, why);
        eprintln!("gaslamp: cannot give the players back to the old binary: {failed}");
    }
}

/// Prints why the command line was refused. `--help` and `--version` succeed;
/// every other refusal is 1, not clap's usual 2, which here means the database.
fn report_cli_error(err: &CliError) -> ExitCode {
    match err {
        CliError::Clap(clap_error) => {
            let _ = clap_error.print();
            if clap_error.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        CliError::Config { .. } | CliError::Invalid(_) => {
            eprintln!("gaslamp: {err}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// Whether the failure was the database file itself, or the TLS certificate or
/// key, or a stop that lost what the disk refused (exit code 2).
fn is_unusable_file(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<StoreError>()
            .is_some_and(ops::is_database_failure)
            || cause
                .downcast_ref::<OpsError>()
                .is_some_and(OpsError::is_database_failure)
            || matches!(
                cause.downcast_ref::<StartError>(),
                Some(StartError::Store(store)) if ops::is_database_failure(store)
            )
            || matches!(
                cause.downcast_ref::<StartError>(),
                Some(StartError::Tls(_) | StartError::Locked(_))
            )
            || cause.downcast_ref::<ShutdownError>().is_some()
    })
}

async fn run_server(common: &CommonArgs, run: &gaslamp::cli::RunArgs) -> anyhow::Result<()> {
    if gaslamp::upgrade::check::asked() {
        // An upgrade's self-check: the old server reads the last line.
        let said = gaslamp::upgrade::check::check_here(&shell::server_config(common, run))
            .await
            .map_err(anyhow::Error::msg)?;
        println!("{said}");
        return Ok(());
    }
    // First, before anything opens a descriptor: what an old image of an
    // upgrade handed over, if this process is its new image.
    let mut inherited = gaslamp::upgrade::take_inherited()?;
    let plan = upgrade_plan(run);
    let config = shell::server_config(common, run);
    let server = match gaslamp::Server::start_inherited(config, &mut inherited).await {
        Ok(server) => server.with_upgrades(plan),
        // The new image of an upgrade that cannot start gives everything
        // back to the old binary (this returns only if it cannot).
        Err(err) => match inherited.take() {
            Some(inherited) => {
                let why = format!("{err:#}");
                return Err(
                    anyhow::Error::new(gaslamp::upgrade::fall_back(inherited, &why)).context(why),
                );
            }
            None => return Err(err.into()),
        },
    };
    let reloading = tokio::spawn(reload_on_hangup(server.game()));
    let upgrading = tokio::spawn(upgrade_on_usr2(server.game()));
    let outcome = server.run(shutdown_signal()).await;
    reloading.abort();
    upgrading.abort();
    outcome?;
    Ok(())
}

/// What an upgrade runs: `--exe`, or the path this binary was started from
/// (resolved now: once the file is replaced on disk, the running binary's
/// own path reads as deleted), with the arguments it was started with.
fn upgrade_plan(run: &gaslamp::cli::RunArgs) -> gaslamp::upgrade::Plan {
    let started_as = std::env::current_exe().unwrap_or_else(|_| "gaslamp".into());
    gaslamp::upgrade::Plan {
        exe: run.exe.clone().unwrap_or(started_as.clone()),
        args: std::env::args_os().skip(1).collect(),
        fallback: Some(started_as),
    }
}

/// `gaslamp upgrade [reason]`: asks the running server on its control
/// socket and waits for the end; exits 1 with the reason if it failed.
async fn upgrade(common: &CommonArgs, reason: &[String]) -> anyhow::Result<()> {
    let reason = reason.join(" ");
    let said = gaslamp::upgrade::control::ask_upgrade(&common.control_path(), &reason).await?;
    println!("{said}");
    Ok(())
}

/// Starts an upgrade on every SIGUSR2 (SPEC §15).
async fn upgrade_on_usr2(game: std::sync::Arc<gaslamp::game::Game>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut signals) = signal(SignalKind::user_defined2()) else {
        tracing::warn!("cannot listen for SIGUSR2; upgrades only by /copyover");
        return;
    };
    while signals.recv().await.is_some() {
        tracing::info!("SIGUSR2 received: upgrade");
        match game.handoffs().request("SIGUSR2") {
            // Answered apart, so that another signal meanwhile is heard (and
            // told an upgrade is under way).
            Ok(outcome) => drop(tokio::spawn(async move {
                if let Ok(Err(reason)) = outcome.await {
                    tracing::warn!(%reason, "the upgrade asked by SIGUSR2 failed");
                }
            })),
            Err(refused) => tracing::warn!("{refused}"),
        }
    }
}

/// Reloads the TLS certificate on every SIGHUP, for renewed certificates. The
/// outcome goes to the log (`Certificates::reload` writes it); without a TLS
/// listener there is nothing to reload, and the server keeps running.
async fn reload_on_hangup(game: std::sync::Arc<gaslamp::game::Game>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            tracing::warn!(
                "cannot listen for SIGHUP; the TLS certificate reloads only by /reload tls"
            );
            return;
        };
        while hangups.recv().await.is_some() {
            tracing::info!("SIGHUP received");
            if game.reload_tls().await.is_none() {
                tracing::info!("no TLS listener, so no certificate to reload");
            }
        }
    }
    #[cfg(not(unix))]
    let _ = game;
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
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
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received");
}

/// `gaslamp check-worlds`: loads the worlds as the server does (the default
/// world included) and prints a line per world and each warning, or each
/// error. Warnings do not fail the check; an error does (exit 1).
fn check_worlds(common: &CommonArgs) -> ExitCode {
    // Every script is compiled too: its syntax errors are the world's.
    let loaded = world::load(&common.worlds, common.default_world.as_deref()).and_then(|loaded| {
        let errors = gaslamp::script::check_all(&loaded.worlds);
        if errors.is_empty() {
            Ok(loaded)
        } else {
            Err(world::LoadError::Invalid(errors))
        }
    });
    let worlds = match loaded {
        Ok(loaded) => {
            for w in loaded.worlds.iter() {
                println!("{}", world::summary(w));
            }
            for warning in &loaded.warnings {
                eprintln!("warning: {warning}");
            }
            println!("{} world(s) OK.", loaded.worlds.len());
            if !loaded.warnings.is_empty() {
                eprintln!("{} warning(s).", loaded.warnings.len());
            }
            true
        }
        Err(world::LoadError::Invalid(errors)) => {
            for error in &errors {
                eprintln!("{error}");
            }
            eprintln!("{} error(s).", errors.len());
            false
        }
        Err(err) => {
            eprintln!("gaslamp: {err}");
            false
        }
    };
    if worlds && check_socials(common) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The socials' half of `check-worlds`: the file `--socials` names, or the
/// one beside the worlds if there is one; each error names file, social and
/// field.
fn check_socials(common: &CommonArgs) -> bool {
    let (path, required) = gaslamp::socials::path_for(common.socials.as_deref(), &common.worlds);
    match gaslamp::socials::load(&path, required, gaslamp::command::is_command_word) {
        Ok(Some(socials)) => {
            println!("{} social(s) OK ({}).", socials.len(), path.display());
            true
        }
        Ok(None) => {
            println!("No socials file ({}).", path.display());
            true
        }
        Err(errors) => {
            for error in &errors {
                eprintln!("{error}");
            }
            eprintln!("{} error(s) in the socials.", errors.len());
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gaslamp::store::lock::LockError;

    #[test]
    fn a_stop_that_lost_rows_and_a_database_another_server_holds_exit_2() {
        let lost = anyhow::Error::from(ShutdownError::WriterGone);
        assert!(is_unusable_file(&lost));
        let held = StartError::Locked(LockError::Held {
            database: "data/gaslamp.db".into(),
            lock: "data/gaslamp.db.lock".into(),
            holder: Some(42),
        });
        assert!(is_unusable_file(&anyhow::Error::from(held)));
        // A restore refused while a server runs is a request to correct: 1.
        let refused = OpsError::Invalid("a gaslamp server is running on ...".into());
        assert!(!is_unusable_file(&anyhow::Error::from(refused)));
    }
}
