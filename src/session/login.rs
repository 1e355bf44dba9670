//! The `Account: ` prompt: logging in, registering, and guest accounts (SPEC §3).
//!
//! Every path ends in a [`LoggedIn`] account with an open session, or a
//! [`Hangup`]. The password check and the lockout are one decision per account
//! (`store.accounts().check_login`); the ban check and the session row are one
//! more (`Link::open_session`). Wrong passwords and unknown accounts get the same
//! answer after the same bcrypt work, and three of them on one connection end it.

use std::time::Instant;

use chrono::Utc;

use super::Link;
use super::conn::Hangup;
use super::guard::AddressGuard;
use crate::auth::Role;
use crate::auth::names::{
    check_account_name, check_character_name, display_character_name, guest_name,
};
use crate::auth::password::NUL_IN_PASSWORD;
use crate::command::is_command_word;
use crate::replies;
use crate::store::accounts::{Account, LoginCheck, NewAccount, PasswordRefused};
use crate::store::characters::NewCharacter;
use crate::store::{StoreError, iso};

/// The answer to `guest` from an address that made its share lately.
pub const TOO_MANY_GUESTS: &str = "Too many guest accounts from your address; try again later.";

/// How many wrong logins one connection gets.
pub const MAX_FAILURES: u32 = 3;

/// An account that has proven who it is.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    pub user_id: i64,
    pub username: String,
    /// The role at login; the live role is the session's.
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

/// What a line typed at `Account: ` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum AccountLine<'a> {
    Empty,
    Quit,
    New,
    Guest,
    Connect {
        name: &'a str,
        password: &'a str,
    },
    Create {
        name: &'a str,
        password: &'a str,
    },
    /// `connect` or `create` without both an account and a password.
    Usage(&'static str),
    /// An account name: its password is asked next.
    Name(&'a str),
    /// More than one word that is no command.
    Unclear,
}

/// Reads a line typed at `Account: ` (a pure decision, tested in a table).
///
/// In `connect <name> <password>` and `create <name> <password>`, one space
/// ends the name and everything after it is the password, exactly as typed —
/// spaces inside it and at its end included — because that is how the
/// `Password: ` prompt of `new` reads one: a password made there works here.
fn read_account_line(line: &str) -> AccountLine<'_> {
    let line = line.trim_start();
    let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim_start();
    let name_and_password = rest
        .split_once(char::is_whitespace)
        .filter(|(_, password)| !password.trim().is_empty());
    match (word.to_lowercase().as_str(), rest.trim_end().is_empty()) {
        ("", _) => AccountLine::Empty,
        ("quit", true) => AccountLine::Quit,
        ("new", true) => AccountLine::New,
        ("guest", true) => AccountLine::Guest,
        ("connect", _) => match name_and_password {
            Some((name, password)) => AccountLine::Connect { name, password },
            None => AccountLine::Usage("connect"),
        },
        ("create", _) => match name_and_password {
            Some((name, password)) => AccountLine::Create { name, password },
            None => AccountLine::Usage("create"),
        },
        (_, false) => AccountLine::Unclear,
        (_, true) => AccountLine::Name(word),
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

/// Runs the `Account: ` prompt until someone is logged in with an open session.
pub async fn login(link: &mut Link, deadline: Instant) -> Result<LoggedIn, Hangup> {
    let mut failures = 0;
    loop {
        let line = link.ask("Account: ", deadline).await?;
        let attempt = match read_account_line(&line) {
            AccountLine::Empty => Attempt::Again,
            AccountLine::Quit => {
                link.last_words(replies::GOODBYE);
                return Err(Hangup::Quit);
            }
            AccountLine::New => register_interactively(link, deadline).await?,
            AccountLine::Guest => guest(link, deadline).await?,
            AccountLine::Connect { name, password } => {
                check_credentials(link, name, password.to_string()).await
            }
            AccountLine::Create { name, password } => {
                register(link, name, password.to_string()).await
            }
            AccountLine::Usage(word) => {
                link.line(format!("Usage: {word} <account> <password>"));
                Attempt::Again
            }
            AccountLine::Unclear => {
                link.line(
                    "Type an account name, \"new\", \"guest\", \"connect <account> <password>\" or \"quit\".",
                );
                Attempt::Again
            }
            AccountLine::Name(name) => {
                let name = name.to_string();
                let password = link.ask_secret("Password: ", deadline).await?;
                check_credentials(link, &name, password).await
            }
        };
        match attempt {
            Attempt::In(account) => match link.open_session(&account).await {
                Ok(()) => return Ok(account),
                Err(refusal) => link.line(refusal),
            },
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

/// Checks a name and password as one decision on the account (see
/// `Accounts::check_login`).
async fn check_credentials(link: &mut Link, name: &str, password: String) -> Attempt {
    // Refused before any bcrypt work: a password no account can have, and any
    // attempt from an address that failed too often lately (asked again when
    // the check's turn at bcrypt comes).
    if password.contains('\0') {
        link.line(NUL_IN_PASSWORD);
        return Attempt::Again;
    }
    let guard = AddressGuard::new(link);
    if !guard.admits() {
        let refusal = guard.refusal(name).await;
        link.line(refusal);
        return Attempt::Failed;
    }
    let policy = link.game().config().lockout;
    let checked = link
        .game()
        .store()
        .accounts()
        .check_login_if(name, password, policy, &|| guard.admits())
        .await;
    match checked {
        Ok(LoginCheck::Verified(account)) => Attempt::In(LoggedIn::from(&account)),
        Ok(LoginCheck::Wrong) => {
            guard.failed();
            tracing::info!(account = name, "failed login");
            link.line(replies::WRONG_LOGIN);
            Attempt::Failed
        }
        Ok(LoginCheck::Withdrawn) => {
            let refusal = guard.refusal(name).await;
            link.line(refusal);
            Attempt::Failed
        }
        Ok(LoginCheck::Locked) => {
            guard.failed();
            tracing::info!(account = name, "login refused: account locked");
            link.line(replies::LOCKED_OUT);
            Attempt::Failed
        }
        Err(err) => store_trouble(link, &err),
    }
}

/// Tells the player the store failed, in words fit for them; logs the cause.
fn store_trouble(link: &Link, err: &StoreError) -> Attempt {
    link.line(replies::store_error(err));
    Attempt::Again
}

/// `new`: name, password, repeat.
async fn register_interactively(link: &mut Link, deadline: Instant) -> Result<Attempt, Hangup> {
    let name = link.ask("New account name: ", deadline).await?;
    let name = name.trim().to_string();
    if let Err(bad) = check_account_name(&name) {
        link.line(bad.0);
        return Ok(Attempt::Again);
    }
    let Some(password) = link.ask_new_password("Password: ", deadline).await? else {
        return Ok(Attempt::Again);
    };
    Ok(register(link, &name, password).await)
}

/// Creates an account (and its first character, named after it, when the name
/// is a valid character name) in the default world.
async fn register(link: &mut Link, name: &str, password: String) -> Attempt {
    if let Err(bad) = check_account_name(name) {
        link.line(bad.0);
        return Attempt::Again;
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
    create(link, account, character, password).await
}

/// `guest`: a character name and a password; the account is named for the player.
async fn guest(link: &mut Link, deadline: Instant) -> Result<Attempt, Hangup> {
    let character = link.ask("Character name: ", deadline).await?;
    let character = character.trim().to_string();
    if let Err(bad) = check_character_name(&character, is_command_word) {
        link.line(bad.0);
        return Ok(Attempt::Again);
    }
    let Some(password) = link.ask_new_password("Password: ", deadline).await? else {
        return Ok(Attempt::Again);
    };
    if !AddressGuard::new(link).take_guest() {
        link.line(TOO_MANY_GUESTS);
        return Ok(Attempt::Again);
    }
    let ttl = link.game().config().guest_ttl;
    let expires = Utc::now() + chrono::Duration::from_std(ttl).unwrap_or_default();
    let account = NewAccount {
        username: guest_name(),
        password_hash: String::new(),
        role: Role::Player,
        is_guest: true,
        guest_expires_at: Some(iso(expires)),
        origin: "guest".into(),
    };
    Ok(create(
        link,
        account,
        Some(display_character_name(&character)),
        password,
    )
    .await)
}

/// Hashes the password (policy first), and writes account and character.
async fn create(
    link: &mut Link,
    mut account: NewAccount,
    character: Option<String>,
    password: String,
) -> Attempt {
    let store = link.game().store().clone();
    account.password_hash = match store.accounts().hash_new_password(&password).await {
        Ok(hash) => hash,
        Err(PasswordRefused::Weak(problems)) => {
            link.line(problems.join("\n"));
            return Attempt::Again;
        }
        Err(PasswordRefused::Store(err)) => return store_trouble(link, &err),
    };
    let world = link.game().default_world();
    let first = character.map(|name| NewCharacter {
        world_id: world.id.clone(),
        name,
        spawn_room: world.default_spawn.as_str().to_string(),
    });
    let wanted_character = first.as_ref().map(|f| f.name.clone());
    let created = match store.accounts().create(account.clone(), first).await {
        Ok(created) => created,
        Err(StoreError::NameTaken) => {
            link.line("That account name is taken.");
            return Attempt::Again;
        }
        Err(err) => return store_trouble(link, &err),
    };
    // A guest's number may have been drawn again in the store.
    account.username = created.username;
    tracing::info!(account = %account.username, guest = account.is_guest, "account created");
    announce_creation(
        link,
        &account,
        wanted_character,
        created.character_id.is_some(),
    );
    Attempt::In(LoggedIn {
        user_id: created.user_id,
        username: account.username,
        role: account.role,
        is_guest: account.is_guest,
    })
}

fn announce_creation(link: &Link, account: &NewAccount, character: Option<String>, made: bool) {
    if account.is_guest {
        let hours = link.game().config().guest_ttl.as_secs().div_ceil(3600);
        let unit = if hours == 1 { "hour" } else { "hours" };
        link.line(format!(
            "Guest account {} created; it expires in {hours} {unit}.",
            account.username
        ));
    } else {
        link.line(format!("Account {} created.", account.username));
    }
    if let (Some(name), false) = (character, made) {
        link.line(format!(
            "The character name {name} is already taken in this world."
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_lines_in_a_table() {
        use AccountLine::*;
        let cases = [
            ("", Empty),
            ("   ", Empty),
            ("quit", Quit),
            ("QUIT", Quit),
            ("new", New),
            ("guest", Guest),
            ("alice", Name("alice")),
            ("  Alice  ", Name("Alice")),
            (
                "connect alice correct horse",
                Connect {
                    name: "alice",
                    password: "correct horse",
                },
            ),
            (
                "CREATE bob battery staple x",
                Create {
                    name: "bob",
                    password: "battery staple x",
                },
            ),
            ("connect alice", Usage("connect")),
            // The password is what follows the one space after the name, as
            // typed: as `new` reads it at its `Password: ` prompt.
            (
                "connect alice two  spaces  ",
                Connect {
                    name: "alice",
                    password: "two  spaces  ",
                },
            ),
            (
                "  connect   alice  lead",
                Connect {
                    name: "alice",
                    password: " lead",
                },
            ),
            (
                "create bob nul\0inside",
                Create {
                    name: "bob",
                    password: "nul\0inside",
                },
            ),
            ("connect alice   ", Usage("connect")),
            ("create", Usage("create")),
            ("alice secret", Unclear),
            ("new alice", Unclear),
            ("quit now", Unclear),
        ];
        for (line, want) in cases {
            assert_eq!(read_account_line(line), want, "{line:?}");
        }
    }
}
