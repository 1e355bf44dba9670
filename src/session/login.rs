//! The `Account: ` prompt: logging in, registering, and guest accounts (SPEC §3).
//!
//! Every path ends in a [`LoggedIn`] account or a [`Hangup`]. Wrong passwords and
//! unknown accounts get the same answer after the same bcrypt work, and three of
//! them on one connection end it.

use std::time::Instant;

use chrono::Utc;

use super::conn::{Conn, Hangup};
use crate::auth::Role;
use crate::auth::names::{check_account_name, check_character_name, display_character_name};
use crate::auth::password::policy_problems;
use crate::command::{is_command_word, store_error_reply};
use crate::store::accounts::{self, Account, FirstCharacter, NewAccount};
use crate::store::lockout::{self, is_locked};
use crate::store::{StoreError, iso};

/// The answer to a wrong password or an unknown account, alike.
pub const WRONG_LOGIN: &str = "Wrong account name or password.";
/// How many wrong logins one connection gets.
pub const MAX_FAILURES: u32 = 3;
/// The answer while an account is locked, even to the right password.
pub const LOCKED_OUT: &str = "Too many failed logins; try again later.";

/// An account that has proven who it is.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    pub is_guest: bool,
}

impl From<&Account> for LoggedIn {
    fn from(account: &Account) -> Self {
        LoggedIn {
            user_id: account.id,
            username: account.username.clone(),
            role: account.role,
            is_guest: account.is_guest,
        }
    }
}

/// The result of one attempt at the `Account: ` prompt.
enum Attempt {
    In(LoggedIn),
    /// Wrong credentials: counts towards the limit.
    Failed,
    /// Anything else that sends the player back to the prompt.
    Again,
}

/// Runs the `Account: ` prompt until someone is logged in.
pub async fn login(conn: &mut Conn, deadline: Instant) -> Result<LoggedIn, Hangup> {
    let mut failures = 0;
    loop {
        let line = conn.ask("Account: ", deadline).await?;
        let line = line.trim();
        let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim();
        let attempt = match word.to_lowercase().as_str() {
            "" => Attempt::Again,
            "quit" if rest.is_empty() => {
                conn.last_words("Goodbye.");
                return Err(Hangup::Quit);
            }
            "new" if rest.is_empty() => register_interactively(conn, deadline).await?,
            "guest" if rest.is_empty() => guest(conn, deadline).await?,
            "connect" | "create" => one_line(conn, word, rest).await?,
            _ if !rest.is_empty() => {
                conn.line("Type an account name, \"new\", \"guest\", \"connect <account> <password>\" or \"quit\".");
                Attempt::Again
            }
            _ => {
                let password = conn.ask_secret("Password: ", deadline).await?;
                check_credentials(conn, word, password).await?
            }
        };
        match attempt {
            Attempt::In(account) => return Ok(account),
            Attempt::Again => {}
            Attempt::Failed => {
                failures += 1;
                if failures >= MAX_FAILURES {
                    return Err(Hangup::Quit);
                }
            }
        }
    }
}

/// `connect <account> <password>` and `create <account> <password>`.
async fn one_line(conn: &mut Conn, word: &str, rest: &str) -> Result<Attempt, Hangup> {
    let Some((name, password)) = rest.split_once(char::is_whitespace) else {
        conn.line(format!(
            "Usage: {} <account> <password>",
            word.to_lowercase()
        ));
        return Ok(Attempt::Again);
    };
    let password = password.trim().to_string();
    if word.eq_ignore_ascii_case("connect") {
        check_credentials(conn, name, password).await
    } else {
        register(conn, name, password).await
    }
}

/// Checks a name and password; always does the bcrypt work, even for no account.
async fn check_credentials(
    conn: &mut Conn,
    name: &str,
    password: String,
) -> Result<Attempt, Hangup> {
    let lookup = name.to_string();
    let found = conn
        .game
        .store
        .call(move |db| accounts::find_account(db, &lookup))
        .await;
    let account = match found {
        Ok(account) => account.filter(|a| a.tombstoned_at.is_none()),
        Err(err) => return Ok(store_trouble(conn, &err)),
    };
    let hash = account.as_ref().map(|a| a.password_hash.clone());
    // The bcrypt work is done whatever the account's state, so timing tells nothing.
    let verified = conn.game.store.verify_password(password, hash).await;
    let locked = account
        .as_ref()
        .is_some_and(|a| is_locked(a.lockout_until.as_deref(), Utc::now()));
    if locked {
        tracing::info!(account = name, "login refused: account locked");
        conn.line(LOCKED_OUT);
        return Ok(Attempt::Failed);
    }
    if !verified {
        tracing::info!(account = name, "failed login");
        if let Some(account) = &account {
            note_failure(conn, account.id).await;
        }
        conn.line(WRONG_LOGIN);
        return Ok(Attempt::Failed);
    }
    let Some(account) = account else {
        return Ok(Attempt::Failed);
    };
    if !account.is_active {
        conn.line("This account is banned.");
        return Ok(Attempt::Again);
    }
    if guest_expired(&account) {
        conn.line("This guest account has expired.");
        return Ok(Attempt::Again);
    }
    let id = account.id;
    if let Err(err) = conn
        .game
        .store
        .call(move |db| accounts::record_login_success(db, id))
        .await
    {
        return Ok(store_trouble(conn, &err));
    }
    Ok(Attempt::In(LoggedIn::from(&account)))
}

/// Counts a wrong password against the account (and locks it when due).
async fn note_failure(conn: &Conn, user_id: i64) {
    let policy = conn.game.config.lockout;
    let result = conn
        .game
        .store
        .call(move |db| lockout::record_failure(db, user_id, &policy, Utc::now()))
        .await;
    match result {
        Ok(Some(until)) => tracing::warn!(user_id, %until, "account locked after failed logins"),
        Ok(None) => {}
        Err(err) => tracing::warn!(%err, "could not count a failed login"),
    }
}

fn guest_expired(account: &Account) -> bool {
    account.is_guest
        && account
            .guest_expires_at
            .as_deref()
            .is_some_and(|at| at <= iso(Utc::now()).as_str())
}

/// Tells the player the store failed, in words fit for them; logs the cause.
fn store_trouble(conn: &Conn, err: &StoreError) -> Attempt {
    conn.line(store_error_reply(err));
    Attempt::Again
}

/// `new`: name, password, repeat.
async fn register_interactively(conn: &mut Conn, deadline: Instant) -> Result<Attempt, Hangup> {
    let name = conn.ask("New account name: ", deadline).await?;
    let name = name.trim().to_string();
    if let Err(bad) = check_account_name(&name) {
        conn.line(bad.0);
        return Ok(Attempt::Again);
    }
    let Some(password) = conn.ask_new_password("Password: ", deadline).await? else {
        return Ok(Attempt::Again);
    };
    register(conn, &name, password).await
}

/// Creates an account (and its first character, named after it, when the name
/// is a valid character name) in the default world.
async fn register(conn: &mut Conn, name: &str, password: String) -> Result<Attempt, Hangup> {
    if let Err(bad) = check_account_name(name) {
        conn.line(bad.0);
        return Ok(Attempt::Again);
    }
    let character = check_character_name(name, is_command_word)
        .ok()
        .map(|()| display_character_name(name));
    let account = NewAccount {
        username: name.to_string(),
        password_hash: String::new(),
        role: Role::Player,
        is_guest: false,
        guest_expires_at: None,
        origin: "telnet".into(),
    };
    create(conn, account, character, password).await
}

/// `guest`: a character name and a password; the account is named for the player.
async fn guest(conn: &mut Conn, deadline: Instant) -> Result<Attempt, Hangup> {
    let character = conn.ask("Character name: ", deadline).await?;
    let character = character.trim().to_string();
    if let Err(bad) = check_character_name(&character, is_command_word) {
        conn.line(bad.0);
        return Ok(Attempt::Again);
    }
    let Some(password) = conn.ask_new_password("Password: ", deadline).await? else {
        return Ok(Attempt::Again);
    };
    let ttl = conn.game.config.guest_ttl;
    let expires = Utc::now() + chrono::Duration::from_std(ttl).unwrap_or_default();
    let account = NewAccount {
        username: guest_name(),
        password_hash: String::new(),
        role: Role::Player,
        is_guest: true,
        guest_expires_at: Some(iso(expires)),
        origin: "guest".into(),
    };
    create(
        conn,
        account,
        Some(display_character_name(&character)),
        password,
    )
    .await
}

/// `guest_` and five digits.
fn guest_name() -> String {
    let n = uuid::Uuid::new_v4().as_u128() % 100_000;
    format!("guest_{n:05}")
}

/// Checks the password policy, hashes it, and writes account and character.
async fn create(
    conn: &mut Conn,
    mut account: NewAccount,
    character: Option<String>,
    password: String,
) -> Result<Attempt, Hangup> {
    let problems = policy_problems(&password);
    if !problems.is_empty() {
        conn.line(problems.join("\n"));
        return Ok(Attempt::Again);
    }
    account.password_hash = match conn.game.store.hash_password(password).await {
        Ok(hash) => hash,
        Err(err) => return Ok(store_trouble(conn, &err)),
    };
    let world = conn.game.default_world();
    let first = character.map(|name| FirstCharacter {
        world_id: world.id.clone(),
        name,
        spawn_room: world.default_spawn.as_str().to_string(),
    });
    let to_write = account.clone();
    let wanted_character = first.as_ref().map(|f| f.name.clone());
    let result = conn
        .game
        .store
        .call(move |db| accounts::create_account(db, &to_write, first.as_ref()))
        .await;
    let created = match result {
        Ok(created) => created,
        Err(StoreError::NameTaken) => {
            conn.line("That account name is taken.");
            return Ok(Attempt::Again);
        }
        Err(err) => return Ok(store_trouble(conn, &err)),
    };
    tracing::info!(account = %account.username, guest = account.is_guest, "account created");
    announce_creation(
        conn,
        &account,
        wanted_character,
        created.character_id.is_some(),
    );
    Ok(Attempt::In(LoggedIn {
        user_id: created.user_id,
        username: account.username,
        role: account.role,
        is_guest: account.is_guest,
    }))
}

fn announce_creation(conn: &Conn, account: &NewAccount, character: Option<String>, made: bool) {
    if account.is_guest {
        let hours = conn.game.config.guest_ttl.as_secs().div_ceil(3600);
        let unit = if hours == 1 { "hour" } else { "hours" };
        conn.line(format!(
            "Guest account {} created; it expires in {hours} {unit}.",
            account.username
        ));
    } else {
        conn.line(format!("Account {} created.", account.username));
    }
    if let (Some(name), false) = (character, made) {
        conn.line(format!(
            "The character name {name} is already taken in this world."
        ));
    }
}
