//! Operator tasks shared by the command line and the server's start-up: creating
//! a superuser, and the account checks that go with it.
//!
//! **Invariant:** these functions are blocking (they run before the server serves,
//! or in the command-line tools); nothing here is called from a connection task.

use crate::auth::Role;
use crate::auth::names::{check_account_name, check_character_name, display_character_name};
use crate::auth::password::policy_problems;
use crate::command::is_command_word;
use crate::store::accounts::{self, Created, FirstCharacter, NewAccount};
use crate::store::{Store, StoreError};
use crate::world::World;

/// Why an account could not be made from the shell.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error("{0}")]
    Invalid(String),
    #[error("an account named {0:?} already exists")]
    Exists(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Creates a superuser (and its first character in `world`), applying the same
/// name and password rules as everywhere else.
pub fn create_superuser(
    store: &Store,
    world: &World,
    username: &str,
    password: &str,
    origin: &str,
) -> Result<Created, OpsError> {
    check_account_name(username).map_err(|bad| OpsError::Invalid(bad.0))?;
    let problems = policy_problems(password);
    if !problems.is_empty() {
        return Err(OpsError::Invalid(problems.join(" ")));
    }
    let account = NewAccount {
        username: username.to_string(),
        password_hash: store.hash_password_blocking(password)?,
        role: Role::Superuser,
        is_guest: false,
        guest_expires_at: None,
        origin: origin.to_string(),
    };
    let first = check_character_name(username, is_command_word)
        .ok()
        .map(|()| FirstCharacter {
            world_id: world.id.clone(),
            name: display_character_name(username),
            spawn_room: world.default_spawn.as_str().to_string(),
        });
    store
        .call_blocking(|db| accounts::create_account(db, &account, first.as_ref()))
        .map_err(|err| match err {
            StoreError::NameTaken => OpsError::Exists(username.to_string()),
            other => OpsError::Store(other),
        })
}

/// At start-up: when no account exists at all and credentials were given (from
/// `MUD_ADMIN_USER` / `MUD_ADMIN_PASSWORD`), creates that superuser.
pub fn bootstrap_superuser(
    store: &Store,
    world: &World,
    credentials: Option<&(String, String)>,
) -> Result<bool, OpsError> {
    let Some((username, password)) = credentials else {
        return Ok(false);
    };
    if store.call_blocking(|db| accounts::count_accounts(db))? > 0 {
        return Ok(false);
    }
    create_superuser(store, world, username, password, "env")?;
    tracing::info!(account = %username, "superuser created from MUD_ADMIN_USER");
    Ok(true)
}
