//! The `Account: ` prompt: logging in, registering, and guest accounts (SPEC §3).
//!
//! Every path ends in a [`LoggedIn`] account with an open session, or a
//! [`Hangup`]. The password check and the lockout are one decision per account
//! (`store.accounts().check_login`); the ban check and the session row are one
//! more (`Link::open_session`). Wrong passwords and unknown accounts get the same
//! answer after the same bcrypt work, and three of them on one connection end it.
//!
//! Sign-up never throws work away: each answer is checked as soon as it is
//! given and asked again with the reason, and `quit` or an empty line at any
//! step goes back to `Account: `.

use std::time::Instant;

use chrono::Utc;

use super::Link;
use super::conn::Hangup;
use super::guard::AddressGuard;
use crate::auth::Role;
use crate::auth::generate::{self, Entropy};
use crate::auth::names::{
    check_account_name, check_character_name, display_character_name, guest_name,
};
use crate::auth::password::{NUL_IN_PASSWORD, policy_problems};
use crate::command::is_command_word;
use crate::metrics::LoginOutcome;
use crate::replies;
use crate::store::accounts::{Account, LoginCheck, NewAccount, PasswordRefused};
use crate::store::characters::{CharacterSummary, NewCharacter};
use crate::store::{StoreError, iso};
use crate::world::{Naming, World};

/// The answer to `guest` from an address that made its share lately.
pub const TOO_MANY_GUESTS: &str = "Too many guest accounts from your address; try again later.";

/// How many wrong logins one connection gets.
pub const MAX_FAILURES: u32 = 3;

/// What to type at `Account: `, shown after the greeting and on `help` or `?`.
pub const HOW_TO_LOG_IN: &str = "Type \"new\" to create an account, \"connect <name> <password>\" \
     (or just your account name) to log in,\n\"guest\" to look around as a guest, or \"quit\" to leave.";

/// The answer to `new` and `create` while registration is closed.
pub const REGISTRATION_CLOSED: &str = "Registration is closed.";

/// An account that has proven who it is.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    pub user_id: i64,
    pub username: String,
    /// The role at login; the live role is the session's.
    pub role: Role,
    pub is_guest: bool,
    /// A character to play at once, skipping the menu (a new guest's).
    pub play_at_once: Option<CharacterSummary>,
}

impl From<&Account> for LoggedIn {
    fn from(account: &Account) -> Self {
        LoggedIn {
            user_id: account.id,
            username: account.username.clone(),
            role: account.role,
            is_guest: account.is_guest,
            play_at_once: None,
        }
    }
}

/// What a line typed at `Account: ` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum AccountLine<'a> {
    Empty,
    Help,
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
    /// `MSSP-REQUEST`: a MUD crawler without telnet wants the MSSP table.
    MsspRequest,
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
        ("help" | "?", true) => AccountLine::Help,
        ("quit", true) => AccountLine::Quit,
        ("new", true) => AccountLine::New,
        ("guest", true) => AccountLine::Guest,
        ("mssp-request", true) => AccountLine::MsspRequest,
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

/// Whether an answer to a sign-up question means "never mind": back to
/// `Account: `.
fn backs_out(answer: &str) -> bool {
    let answer = answer.trim();
    answer.is_empty() || answer.eq_ignore_ascii_case("quit")
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
    link.line(HOW_TO_LOG_IN);
    let mut failures = 0;
    loop {
        let line = link.ask("Account: ", deadline).await?;
        let attempt = match read_account_line(&line) {
            AccountLine::Empty => Attempt::Again,
            AccountLine::Help => {
                link.line(HOW_TO_LOG_IN);
                Attempt::Again
            }
            AccountLine::MsspRequest => {
                link.mssp_reply();
                Attempt::Again
            }
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
                link.line(HOW_TO_LOG_IN);
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
        link.game().metrics().login(LoginOutcome::Throttled);
        let refusal = guard.refusal(name).await;
        link.line(refusal);
        return Attempt::Failed;
    }
    let policy = link.game().config().lockout;
    let checked = link
        .game()
        .store()
        .accounts()
        .check_login_if(name, password, policy, &|| guard.begin_check())
        .await;
    match checked {
        Ok(LoginCheck::Verified(account)) => {
            guard.succeeded();
            Attempt::In(LoggedIn::from(&account))
        }
        Ok(LoginCheck::Wrong) => {
            link.game().metrics().login(LoginOutcome::Wrong);
            guard.failed();
            tracing::info!(account = name, "failed login");
            link.line(replies::WRONG_LOGIN);
            Attempt::Failed
        }
        Ok(LoginCheck::Withdrawn) => {
            link.game().metrics().login(LoginOutcome::Throttled);
            let refusal = guard.refusal(name).await;
            link.line(refusal);
            Attempt::Failed
        }
        Ok(LoginCheck::Locked) => {
            link.game().metrics().login(LoginOutcome::Locked);
            guard.failed();
            tracing::info!(account = name, "login refused: account locked");
            link.line(replies::LOCKED_OUT);
            Attempt::Failed
        }
        Err(err) => {
            // Whatever failed was no wrong guess: the count goes back.
            guard.succeeded();
            link.game().metrics().login(LoginOutcome::Error);
            store_trouble(link, &err)
        }
    }
}

/// Tells the player the store failed, in words fit for them; logs the cause.
fn store_trouble(link: &Link, err: &StoreError) -> Attempt {
    link.line(replies::store_error(err));
    Attempt::Again
}

/// `new`: the name (checked at once: valid, not taken), the password (checked
/// against the policy at once), and its repetition (a mismatch asks for both
/// again). `quit` or an empty line at any step goes back to `Account: `.
async fn register_interactively(link: &mut Link, deadline: Instant) -> Result<Attempt, Hangup> {
    if !link.game().config().registration_open {
        link.line(REGISTRATION_CLOSED);
        return Ok(Attempt::Again);
    }
    let Some(name) = ask_free_account_name(link, deadline).await? else {
        return Ok(Attempt::Again);
    };
    let Some(password) = ask_good_password(link, "Password: ", deadline).await? else {
        return Ok(Attempt::Again);
    };
    Ok(register(link, &name, password).await)
}

/// Asks for an account name until it is valid and free; `None` to back out.
async fn ask_free_account_name(
    link: &mut Link,
    deadline: Instant,
) -> Result<Option<String>, Hangup> {
    loop {
        let name = link.ask("New account name: ", deadline).await?;
        if backs_out(&name) {
            return Ok(None);
        }
        let name = name.trim().to_string();
        if let Err(bad) = check_account_name(&name) {
            link.line(bad.0);
            continue;
        }
        match link.game().store().accounts().name_taken(&name).await {
            Ok(false) => return Ok(Some(name)),
            Ok(true) => link.line("That account name is taken."),
            Err(err) => link.line(replies::store_error(&err)),
        }
    }
}

/// Asks for a new password until it passes the policy and is repeated alike;
/// `None` to back out.
pub async fn ask_good_password(
    link: &mut Link,
    prompt: &str,
    deadline: Instant,
) -> Result<Option<String>, Hangup> {
    loop {
        let password = link.ask_secret(prompt, deadline).await?;
        if backs_out(&password) {
            return Ok(None);
        }
        let problems = policy_problems(&password);
        if !problems.is_empty() {
            link.line(problems.join("\n"));
            continue;
        }
        let repeat = link.ask_secret("Repeat password: ", deadline).await?;
        if backs_out(&repeat) {
            return Ok(None);
        }
        if repeat != password {
            link.line("The passwords do not match; once more, please.");
            continue;
        }
        return Ok(Some(password));
    }
}

/// Creates an account (and its first character, named after it when the name is
/// a valid character name — or a given name in a world that gives names) in the
/// default world.
async fn register(link: &mut Link, name: &str, password: String) -> Attempt {
    if !link.game().config().registration_open {
        link.line(REGISTRATION_CLOSED);
        return Attempt::Again;
    }
    if let Err(bad) = check_account_name(name) {
        link.line(bad.0);
        return Attempt::Again;
    }
    let world = link.game().default_world();
    let character = match world.naming {
        Naming::Chosen => check_character_name(name, is_command_word)
            .ok()
            .map(|()| display_character_name(name)),
        Naming::Generated => free_generated_name(link, &world).await,
    };
    let account = NewAccount {
        username: name.to_string(),
        password_hash: String::new(),
        role: Role::Player,
        is_guest: false,
        guest_expires_at: None,
        origin: "telnet".into(),
    };
    match create(link, account, character, &password).await {
        Some((logged_in, _)) => Attempt::In(logged_in),
        None => Attempt::Again,
    }
}

/// `guest`: one question — the character's name (an empty line takes a free one
/// the game suggests; a world that gives names asks nothing) — then a guest
/// account with a made-up password, told to the player, and straight into the
/// game.
async fn guest(link: &mut Link, deadline: Instant) -> Result<Attempt, Hangup> {
    if !link.game().config().guests {
        link.line("Guest accounts are not available here.");
        return Ok(Attempt::Again);
    }
    let world = link.game().default_world();
    let character = match world.naming {
        Naming::Generated => free_generated_name(link, &world).await,
        Naming::Chosen => match ask_guest_character(link, &world, deadline).await? {
            Some(name) => Some(name),
            None => return Ok(Attempt::Again),
        },
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
    let password = generate::password(&mut Entropy);
    let Some((mut logged_in, character)) = create(link, account, character, &password).await else {
        return Ok(Attempt::Again);
    };
    link.line(format!(
        "Your password is: {password}\nTo come back within that time: connect {} {password}",
        logged_in.username
    ));
    if let Some(character) = &character {
        link.line(format!("You play {}.", character.name));
    }
    logged_in.play_at_once = character;
    Ok(Attempt::In(logged_in))
}

/// Asks a guest for a character name until it is valid and free in `world`; an
/// empty line takes a free generated one. `None` when the guest types `quit`.
async fn ask_guest_character(
    link: &mut Link,
    world: &World,
    deadline: Instant,
) -> Result<Option<String>, Hangup> {
    loop {
        let answer = link.ask("Character name: ", deadline).await?;
        let answer = answer.trim();
        if answer.eq_ignore_ascii_case("quit") {
            return Ok(None);
        }
        if answer.is_empty() {
            if let Some(name) = free_generated_name(link, world).await {
                return Ok(Some(name));
            }
            continue;
        }
        if let Err(bad) = check_character_name(answer, is_command_word) {
            link.line(bad.0);
            continue;
        }
        let name = display_character_name(answer);
        match link
            .game()
            .store()
            .characters()
            .name_taken(&world.id, &name)
            .await
        {
            Ok(false) => return Ok(Some(name)),
            Ok(true) => link.line(format!("The name {name} is already taken in this world.")),
            Err(err) => link.line(replies::store_error(&err)),
        }
    }
}

/// A generated name nobody in `world` has yet (`None`, told, if the store fails).
pub async fn free_generated_name(link: &Link, world: &World) -> Option<String> {
    loop {
        let name = generate::character_name(&mut Entropy, is_command_word);
        match link
            .game()
            .store()
            .characters()
            .name_taken(&world.id, &name)
            .await
        {
            Ok(false) => return Some(name),
            Ok(true) => continue,
            Err(err) => {
                link.line(replies::store_error(&err));
                return None;
            }
        }
    }
}

/// Hashes the password (policy first), and writes account and character.
/// `None` (after telling the player) when that could not be done.
async fn create(
    link: &mut Link,
    mut account: NewAccount,
    character: Option<String>,
    password: &str,
) -> Option<(LoggedIn, Option<CharacterSummary>)> {
    let store = link.game().store().clone();
    account.password_hash = match store.accounts().hash_new_password(password).await {
        Ok(hash) => hash,
        Err(PasswordRefused::Weak(problems)) => {
            link.line(problems.join("\n"));
            return None;
        }
        Err(PasswordRefused::Store(err)) => {
            store_trouble(link, &err);
            return None;
        }
    };
    let world = link.game().default_world();
    let first = character.map(|name| NewCharacter {
        world_id: world.id.clone(),
        name,
        spawn_room: world.default_spawn.as_str().to_string(),
    });
    let created = match store
        .accounts()
        .create(account.clone(), first.clone())
        .await
    {
        Ok(created) => created,
        Err(StoreError::NameTaken) => {
            link.line("That account name is taken.");
            return None;
        }
        Err(err) => {
            store_trouble(link, &err);
            return None;
        }
    };
    // A guest's number may have been drawn again in the store.
    account.username = created.username;
    tracing::info!(account = %account.username, guest = account.is_guest, "account created");
    announce_creation(
        link,
        &account,
        first.as_ref(),
        created.character_id.is_some(),
    );
    let character = first
        .zip(created.character_id)
        .map(|(first, id)| CharacterSummary {
            id,
            name: first.name,
            world_id: first.world_id,
            room: Some(first.spawn_room),
        });
    let logged_in = LoggedIn {
        user_id: created.user_id,
        username: account.username,
        role: account.role,
        is_guest: account.is_guest,
        play_at_once: None,
    };
    Some((logged_in, character))
}

fn announce_creation(
    link: &Link,
    account: &NewAccount,
    character: Option<&NewCharacter>,
    made: bool,
) {
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
    if let (Some(character), false) = (character, made) {
        link.line(format!(
            "The character name {} is already taken in this world.",
            character.name
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
            ("help", Help),
            ("?", Help),
            ("HELP", Help),
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
            ("help me", Unclear),
            ("MSSP-REQUEST", MsspRequest),
        ];
        for (line, want) in cases {
            assert_eq!(read_account_line(line), want, "{line:?}");
        }
    }

    #[test]
    fn an_empty_answer_or_quit_backs_out_of_sign_up() {
        for answer in ["", "  ", "quit", "QUIT", " Quit "] {
            assert!(backs_out(answer), "{answer:?}");
        }
        for answer in ["quite", "Alice", "q"] {
            assert!(!backs_out(answer), "{answer:?}");
        }
    }
}
