//! The `gaslamp` binary: parses flags, sets up logging, runs a subcommand, and
//! turns its outcome into an exit code: 0 fine, 1 failure (a bad request, a bad
//! flag or config file, an invalid world), 2 the database or the TLS certificate
//! or key unusable. It also owns the process's signals: SIGINT and SIGTERM shut
//! the server down, SIGHUP reloads its TLS certificate.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use anyhow::Context;
use tracing_subscriber::EnvFilter;

use gaslamp::cli::{CliError, Command, CommonArgs, GenCertArgs, UserCommand};
use gaslamp::ops::{self, OpsError};
use gaslamp::store::{Store, StoreError, StoreOptions};
use gaslamp::{StartError, server, world};

fn main() -> ExitCode {
    let cli = match gaslamp::cli::parse_from(std::env::args_os()) {
        Ok(cli) => cli,
        Err(err) => return report_cli_error(&err),
    };
    init_logging(&cli.common.log_level);
    if let Command::CheckWorlds = &cli.command {
        return check_worlds(&cli.common);
    }
    if let Command::GenCert(args) = &cli.command {
        return gen_cert(args);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("gaslamp: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match &cli.command {
            Command::Run(run) => run_server(&cli.common, run).await,
            Command::InitDb => init_db(&cli.common).await,
            Command::CreateSuperuser => create_superuser(&cli.common).await,
            Command::User { command } => run_user(&cli.common, command).await,
            Command::CheckWorlds | Command::GenCert(_) => Ok(()),
        }
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
/// key (exit code 2).
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
            || matches!(cause.downcast_ref::<StartError>(), Some(StartError::Tls(_)))
    })
}

/// The superuser credentials from the environment, if both are set.
fn admin_from_env() -> Option<(String, String)> {
    let user = std::env::var("MUD_ADMIN_USER").ok()?;
    let password = std::env::var("MUD_ADMIN_PASSWORD").ok()?;
    Some((user, password))
}

async fn run_server(common: &CommonArgs, run: &gaslamp::cli::RunArgs) -> anyhow::Result<()> {
    let mut config = common.server_config(run);
    config.bootstrap_admin = admin_from_env();
    let server = gaslamp::Server::start(config).await?;
    let reloading = tokio::spawn(reload_on_hangup(server.game()));
    let outcome = server.run(shutdown_signal()).await;
    reloading.abort();
    outcome?;
    Ok(())
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

fn store_options(common: &CommonArgs) -> StoreOptions {
    StoreOptions {
        bcrypt_cost: common.bcrypt_cost,
        ..StoreOptions::default()
    }
}

/// Opens (creating if need be) the database, off the async workers.
async fn open_store(common: &CommonArgs) -> anyhow::Result<Store> {
    let (path, options) = (common.db.clone(), store_options(common));
    let store = tokio::task::spawn_blocking(move || Store::open(&path, options))
        .await
        .context("the database could not be opened")??;
    Ok(store)
}

async fn init_db(common: &CommonArgs) -> anyhow::Result<()> {
    let store = open_store(common).await?;
    let version = store.schema_version().await?;
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

/// `gaslamp gen-cert`: a self-signed certificate for local use.
fn gen_cert(args: &GenCertArgs) -> ExitCode {
    match gaslamp::tls::dev_cert::write_self_signed(&args.hosts, &args.out, args.force) {
        Ok(made) => {
            println!(
                "Wrote {} and {} (self-signed for {}, valid until {}).",
                made.cert.display(),
                made.key.display(),
                made.hosts.join(", "),
                made.valid_until
            );
            println!(
                "Start the server with: gaslamp run --tls-bind 127.0.0.1:4443 --tls-cert {} --tls-key {}",
                made.cert.display(),
                made.key.display()
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("gaslamp: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn create_superuser(common: &CommonArgs) -> anyhow::Result<()> {
    let config = gaslamp::ServerConfig::new(common.db.clone(), common.worlds.clone());
    let config = gaslamp::ServerConfig {
        default_world: common.default_world.clone(),
        ..config
    };
    let (worlds, default) = server::load_worlds(&config)?;
    let store = open_store(common).await?;
    server::register_worlds(&store, &worlds).await?;
    let (username, password) = match admin_from_env() {
        Some(credentials) => credentials,
        None => tokio::task::spawn_blocking(prompt_credentials).await??,
    };
    ops::create_superuser(&store, &default, &username, &password).await?;
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

/// `gaslamp user ...`: one account task against an existing database.
async fn run_user(common: &CommonArgs, command: &UserCommand) -> anyhow::Result<()> {
    let (path, options) = (common.db.clone(), store_options(common));
    let store = tokio::task::spawn_blocking(move || ops::open_existing_store(&path, options))
        .await
        .context("the database could not be opened")??;
    let report = match command {
        UserCommand::List { filter } => {
            let users = ops::list_users(&store, filter.as_deref()).await?;
            if !users.is_empty() {
                ops::user_table(&users)
            } else if let Some(filter) = filter {
                format!("No account names contain {filter:?}.")
            } else {
                "There are no accounts.".to_string()
            }
        }
        UserCommand::Ban { account, reason } => {
            let reason = reason.join(" ");
            let reason = Some(reason.trim()).filter(|r| !r.is_empty());
            ops::ban_user(&store, account, reason).await?
        }
        UserCommand::Unban { account } => ops::unban_user(&store, account).await?,
        UserCommand::Create { account, role } => {
            let role: gaslamp::auth::Role = role.parse()?;
            let config = gaslamp::ServerConfig {
                default_world: common.default_world.clone(),
                ..gaslamp::ServerConfig::new(common.db.clone(), common.worlds.clone())
            };
            let (worlds, default) = server::load_worlds(&config)?;
            server::register_worlds(&store, &worlds).await?;
            let name = account.clone();
            let password = tokio::task::spawn_blocking(move || new_password(&name)).await??;
            ops::create_account(&store, &default, account, &password, role).await?;
            format!("Account {account} created ({role}).")
        }
        UserCommand::Role { account, role } => ops::set_user_role(&store, account, role).await?,
        UserCommand::Passwd { account } => {
            // Refuse an unknown account before asking for a password.
            let found = ops::find_user(&store, account).await?;
            let name = found.username.clone();
            let password = tokio::task::spawn_blocking(move || new_password(&name)).await??;
            ops::set_user_password(&store, account, &password).await?
        }
    };
    println!("{}", report.trim_end());
    Ok(())
}

/// The new password for `gaslamp user passwd`: from `GASLAMP_NEW_PASSWORD` (for
/// scripts and tests), else asked twice without echo.
fn new_password(account: &str) -> anyhow::Result<String> {
    if let Ok(password) = std::env::var("GASLAMP_NEW_PASSWORD") {
        return Ok(password);
    }
    let password = rpassword::prompt_password(format!("New password for {account}: "))
        .context("cannot read the password from the terminal")?;
    let repeat = rpassword::prompt_password("Repeat password: ")
        .context("cannot read the password from the terminal")?;
    anyhow::ensure!(password == repeat, "the passwords do not match");
    Ok(password)
}
