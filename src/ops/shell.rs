//! The subcommands other than `run` and `check-worlds`, whole: what each
//! needs from the flags, the database opened off the async workers, the
//! questions asked (see [`super::prompt`]), the task itself, and the report
//! the binary prints. Each returns that report, or an [`OpsError`] the binary
//! turns into its exit code; `main.rs` only dispatches.
//!
//! The flags are turned into what a task needs in one place each: the
//! store's options by [`store_options`], the worlds by [`load_worlds`], the
//! server's configuration by [`server_config`].

use std::sync::Arc;

use super::{OpsError, prompt};
use crate::cli::{CommonArgs, GenCertArgs, MsspQueryArgs, RunArgs, UserCommand};
use crate::config::ServerConfig;
use crate::store::{Store, StoreOptions};
use crate::world::{World, Worlds};

/// `gaslamp run`'s configuration: the flags', with the superuser to create
/// from `MUD_ADMIN_USER` / `MUD_ADMIN_PASSWORD` should the database have no
/// account at all.
pub fn server_config(common: &CommonArgs, run: &RunArgs) -> ServerConfig {
    ServerConfig {
        bootstrap_admin: prompt::admin_from_env(),
        ..common.server_config(run)
    }
}

/// `gaslamp init-db`: creates or migrates the schema.
pub async fn init_db(common: &CommonArgs) -> Result<String, OpsError> {
    let store = open_store(common, Opening::CreateIfMissing).await?;
    let version = store.schema_version().await?;
    Ok(format!(
        "Database {} is ready (schema version {version}).",
        common.db.display()
    ))
}

/// `gaslamp create-superuser`: the worlds registered first (the superuser's
/// first character stands in the default one), then the name and password
/// from the environment or asked, then the account.
pub async fn create_superuser(common: &CommonArgs) -> Result<String, OpsError> {
    let (worlds, default) = load_worlds(common)?;
    let store = open_store(common, Opening::CreateIfMissing).await?;
    crate::server::register_worlds(&store, &worlds).await?;
    let (username, password) = prompt::blocking(prompt::superuser_credentials).await?;
    super::create_superuser(&store, &default, &username, &password).await?;
    Ok(format!("Superuser {username} created."))
}

/// `gaslamp user ...`: one account task against an existing database.
pub async fn user(common: &CommonArgs, command: &UserCommand) -> Result<String, OpsError> {
    let store = open_store(common, Opening::MustExist).await?;
    match command {
        UserCommand::List { filter } => {
            let users = super::list_users(&store, filter.as_deref()).await?;
            Ok(if !users.is_empty() {
                super::user_table(&users)
            } else if let Some(filter) = filter {
                format!("No account names contain {filter:?}.")
            } else {
                "There are no accounts.".to_string()
            })
        }
        UserCommand::Create { account, role } => create_user(common, &store, account, role).await,
        UserCommand::Ban { account, reason } => {
            let reason = reason.join(" ");
            let reason = Some(reason.trim()).filter(|r| !r.is_empty());
            super::ban_user(&store, account, reason).await
        }
        UserCommand::Unban { account } => super::unban_user(&store, account).await,
        UserCommand::Role { account, role } => super::set_user_role(&store, account, role).await,
        UserCommand::Passwd { account } => {
            // An unknown account is refused before a password is asked.
            let found = super::find_user(&store, account).await?;
            let name = found.username.clone();
            let password = prompt::blocking(move || prompt::new_password(&name)).await?;
            super::set_user_password(&store, account, &password).await
        }
    }
}

/// `gaslamp user create <account> [--role r]`: the role checked, the worlds
/// registered, the password asked, then the account.
async fn create_user(
    common: &CommonArgs,
    store: &Store,
    account: &str,
    role: &str,
) -> Result<String, OpsError> {
    let role: crate::auth::Role = role
        .parse()
        .map_err(|err: crate::auth::UnknownRole| OpsError::Invalid(err.to_string()))?;
    let (worlds, default) = load_worlds(common)?;
    crate::server::register_worlds(store, &worlds).await?;
    let name = account.to_string();
    let password = prompt::blocking(move || prompt::new_password(&name)).await?;
    super::create_account(store, &default, account, &password, role).await?;
    Ok(format!("Account {account} created ({role})."))
}

/// `gaslamp gen-cert`: a self-signed certificate for local use.
/// `gaslamp mssp`: the running server's MSSP table, asked for over telnet.
pub async fn mssp(args: &MsspQueryArgs) -> Result<String, OpsError> {
    let table = super::mssp::query(&args.bind, super::mssp::PATIENCE).await?;
    Ok(super::mssp::print(&table))
}

pub fn gen_cert(args: &GenCertArgs) -> Result<String, OpsError> {
    let made = crate::tls::dev_cert::write_self_signed(&args.hosts, &args.out, args.force)
        .map_err(|err| OpsError::Invalid(err.to_string()))?;
    Ok(format!(
        "Wrote {} and {} (self-signed for {}, valid until {}).\n\
         Start the server with: gaslamp run --tls-bind 127.0.0.1:4443 --tls-cert {} --tls-key {}",
        made.cert.display(),
        made.key.display(),
        made.hosts.join(", "),
        made.valid_until,
        made.cert.display(),
        made.key.display()
    ))
}

/// The store's tunables from the flags.
pub fn store_options(common: &CommonArgs) -> StoreOptions {
    StoreOptions {
        bcrypt_cost: common.bcrypt_cost,
        ..StoreOptions::default()
    }
}

/// Whether a task may create the database file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opening {
    CreateIfMissing,
    /// The account tools: a mistyped `--db` must not leave an empty file.
    MustExist,
}

/// Opens the database on the blocking pool (opening runs SQLite, and
/// migrating may write).
async fn open_store(common: &CommonArgs, opening: Opening) -> Result<Store, OpsError> {
    let (path, options) = (common.db.clone(), store_options(common));
    let opened = tokio::task::spawn_blocking(move || match opening {
        Opening::CreateIfMissing => Store::open(&path, options),
        Opening::MustExist => super::open_existing_store(&path, options),
    })
    .await
    .map_err(|err| OpsError::Store(crate::store::StoreError::Task(err.to_string())))?;
    Ok(opened?)
}

/// The worlds the flags name, and the default one among them.
fn load_worlds(common: &CommonArgs) -> Result<(Worlds, Arc<World>), OpsError> {
    let config = ServerConfig {
        default_world: common.default_world.clone(),
        ..ServerConfig::new(common.db.clone(), common.worlds.clone())
    };
    crate::server::load_worlds(&config).map_err(|err| OpsError::Invalid(err.to_string()))
}
