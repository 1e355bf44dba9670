//! The `gaslamp` binary: parses flags, sets up logging, runs a subcommand, and
//! turns its outcome into an exit code (0 fine, 1 failure, 2 database unusable).

use std::io::{BufRead, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use tracing_subscriber::EnvFilter;

use gaslamp::cli::{Cli, Command, CommonArgs};
use gaslamp::store::{Store, StoreError, StoreOptions, schema};
use gaslamp::{StartError, server, world};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.common.log_level);
    let outcome = match &cli.command {
        Command::Run(run) => run_server(&cli.common, run),
        Command::InitDb => init_db(&cli.common),
        Command::CreateSuperuser => create_superuser(&cli.common),
        Command::CheckWorlds => return check_worlds(&cli.common),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("gaslamp: {err:#}");
            if is_database_error(&err) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
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
        .init();
}

fn is_database_error(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<StoreError>().is_some()
            || matches!(
                cause.downcast_ref::<StartError>(),
                Some(StartError::Store(_))
            )
    })
}

/// The superuser credentials from the environment, if both are set.
fn admin_from_env() -> Option<(String, String)> {
    let user = std::env::var("MUD_ADMIN_USER").ok()?;
    let password = std::env::var("MUD_ADMIN_PASSWORD").ok()?;
    Some((user, password))
}

fn run_server(common: &CommonArgs, run: &gaslamp::cli::RunArgs) -> anyhow::Result<()> {
    let mut config = common.server_config(run);
    config.bootstrap_admin = admin_from_env();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let server = gaslamp::Server::start(config).await?;
        server.run(shutdown_signal()).await?;
        Ok::<(), StartError>(())
    })?;
    Ok(())
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

fn open_store(common: &CommonArgs) -> anyhow::Result<Store> {
    let options = StoreOptions {
        bcrypt_cost: common.bcrypt_cost,
        ..StoreOptions::default()
    };
    Ok(Store::open(&common.db, options)?)
}

fn init_db(common: &CommonArgs) -> anyhow::Result<()> {
    let store = open_store(common)?;
    let version = store.call_blocking(|db| schema::user_version(db))?;
    println!(
        "Database {} is ready (schema version {version}).",
        common.db.display()
    );
    Ok(())
}

fn check_worlds(common: &CommonArgs) -> ExitCode {
    match world::load_worlds(&common.worlds) {
        Ok(worlds) => {
            for w in worlds.iter() {
                println!("{}", world::summary(w));
            }
            println!("{} world(s) OK.", worlds.len());
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for error in &errors {
                eprintln!("{error}");
            }
            eprintln!("{} error(s).", errors.len());
            ExitCode::FAILURE
        }
    }
}

fn create_superuser(common: &CommonArgs) -> anyhow::Result<()> {
    let config = gaslamp::ServerConfig::new(common.db.clone(), common.worlds.clone());
    let config = gaslamp::ServerConfig {
        default_world: common.default_world.clone(),
        ..config
    };
    let (worlds, default) = server::load_worlds(&config)?;
    let store = open_store(common)?;
    for w in worlds.iter() {
        store.call_blocking(|db| gaslamp::store::worlds::register_world(db, w))?;
    }
    let (username, password) = match admin_from_env() {
        Some(credentials) => credentials,
        None => prompt_credentials()?,
    };
    gaslamp::ops::create_superuser(&store, &default, &username, &password, "cli")?;
    println!("Superuser {username} created.");
    Ok(())
}

fn prompt_credentials() -> anyhow::Result<(String, String)> {
    print!("Superuser account name: ");
    std::io::stdout().flush()?;
    let mut username = String::new();
    std::io::stdin().lock().read_line(&mut username)?;
    let password = rpassword::prompt_password("Password: ")?;
    let repeat = rpassword::prompt_password("Repeat password: ")?;
    anyhow::ensure!(password == repeat, "the passwords do not match");
    Ok((username.trim().to_string(), password))
}
