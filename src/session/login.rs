//! The `Account: ` prompt: logging in, registering, and guest accounts (SPEC §3).
//!
//! Every path ends in a [`LoggedIn`] account with an open session, or a
//! [`Hangup`]. The password check and the lockout are one decision per account
//! (`Game::check_login`); the ban check and the session row are one more
//! (`Game::open_session`, through `Link::open_session`). Wrong passwords and
//! unknown accounts get the same answer after the same bcrypt work, and three
//! of them on one connection end it. A locked account is told when the lock
//! that applies to the asking address ends; a login after failed password
//! checks tells the owner how many there were. Sign-ups are limited per
//! address (`game::abuse`), apart from guests.
//!
//! Sign-up never throws work away: each answer is checked as soon as it is
//! given and asked again with the reason, and `quit` or an empty line at any
//! step goes back to `Account: `.

use std::time::Instant;

use chrono::{DateTime, Utc};

use super::Link;
use super::conn::Hangup;
use super::guard::AddressGuard;
use super::handover::Step;
use crate::auth::Role;
use crate::auth::generate::{self, Entropy};
use crate::auth::names::{check_account_name, check_character_name, display_character_name};
use crate::auth::password::{NUL_IN_PASSWORD, policy_problems};
use crate::command::is_command_word;
use crate::metrics::LoginOutcome;
use crate::replies;
use crate::store::StoreError;
use crate::store::accounts::{
    Account, AccountRefused, Created, FirstCharacter, FirstName, LoginCheck,
};
use crate::store::characters::{CharacterName, CharacterSummary};
use crate::store::refusal::CharacterRefused;
use crate::world::{Naming, World};

/// The answer to `guest` from an address that made its share lately.
pub const TOO_MANY_GUESTS: &str = "Too many guest accounts from your address; try again later.";

/// The answer to `new` and `create` from an address that signed up its share
/// lately.
pub const TOO_MANY_SIGNUPS: &str = "Too many new accounts from your address; try again later.";

/// How many wrong logins one connection gets.
pub const MAX_FAILURES: u32 = 3;

/// What to type at `Account: `, shown after the greeting and on `help` or `?`:
/// one paragraph, wrapped only at the width the client reported.
pub const HOW_TO_LOG_IN: &str = "Type \"new\" to create an account, \"connect <name> <password>\" \
     (or just your account name) to log in, \"guest\" to look around as a guest, or \"quit\" to leave.";

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
    pub play_at_once: Option<Box<CharacterSummary>>,
    /// Failed password checks since the account's last login, to tell.
    pub failed_since_last_visit: i64,
}

impl From<&Account> for LoggedIn {
    fn from(account: &Account) -> Self {
        LoggedIn {
            user_id: account.id,
            username: account.username.clone(),
            role: account.role,
            is_guest: account.is_guest,
            play_at_once: None,
            failed_since_last_visit: account.failed_since_login,
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

/// Where a login begins: with what to type (a new connection), or, for a
/// connection an upgrade's new image took over, at the prompt it stood at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    Greeting,
    Account,
    /// At `Password:` for this account name.
    Password(String),
}

/// Runs the `Account: ` prompt until someone is logged in with an open session.
pub async fn login(link: &mut Link, deadline: Instant) -> Result<LoggedIn, Hangup> {
    login_from(link, deadline, Begin::Greeting).await
}

/// [`login`] from where `begin` says.
pub async fn login_from(
    link: &mut Link,
    deadline: Instant,
    begin: Begin,
) -> Result<LoggedIn, Hangup> {
    let mut resumed = match begin {
        Begin::Greeting => {
            link.paragraphs(HOW_TO_LOG_IN);
            None
        }
        Begin::Account => None,
        Begin::Password(name) => Some(name),
    };
    loop {
        link.at_step(Step::Account);
        let attempt = match resumed.take() {
            Some(name) => ask_password(link, name, deadline).await?,
            None => account_line(link, deadline).await?,
        };
        match attempt {
            Attempt::In(account) => match link.open_session(&account).await {
                Ok(()) => {
                    if let Some(told) = failures_since_last_visit(account.failed_since_last_visit) {
                        link.line(told);
                    }
                    return Ok(account);
                }
                Err(refusal) => link.line(refusal),
            },
            Attempt::Again => {}
            Attempt::Failed => {
                link.failures += 1;
                if link.failures >= MAX_FAILURES {
                    link.last_words(replies::TOO_MANY_WRONG_PASSWORDS);
                    return Err(Hangup::WrongPasswords);
                }
            }
        }
    }
}

/// `Password: ` for an account name typed alone, then the check.
async fn ask_password(link: &mut Link, name: String, deadline: Instant) -> Result<Attempt, Hangup> {
    link.at_step(Step::Password { name: name.clone() });
    let password = link.ask_secret("Password: ", deadline).await?;
    link.at_step(Step::Account);
    Ok(check_credentials(link, &name, password).await)
}

/// One line at `Account: ` and what it leads to.
async fn account_line(link: &mut Link, deadline: Instant) -> Result<Attempt, Hangup> {
    {
        let line = link.ask("Account: ", deadline).await?;
        let attempt = match read_account_line(&line) {
            AccountLine::Empty => Attempt::Again,
            AccountLine::Help => {
                link.paragraphs(HOW_TO_LOG_IN);
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
                link.paragraphs(HOW_TO_LOG_IN);
                Attempt::Again
            }
            AccountLine::Name(name) => ask_password(link, name.to_string(), deadline).await?,
        };
        Ok(attempt)
    }
}

/// Checks a name and password as one decision on the account (see
/// `Accounts::check_login`).
async fn check_credentials(link: &mut Link, name: &str, password: String) -> Attempt {
    // Refused before any bcrypt work: a password no account can have, and any
    // attempt from an address that failed too often lately. The check holds a
    // place under the address's limit while it runs, waiting while other
    // checks from there hold every place (see `AddressGuard::admit`).
    if password.contains('\0') {
        link.line(NUL_IN_PASSWORD);
        return Attempt::Again;
    }
    let guard = AddressGuard::new(link);
    if !guard.admit().await {
        link.game().metrics().login(LoginOutcome::Throttled);
        let refusal = guard.refusal(name).await;
        link.line(refusal);
        return Attempt::Failed;
    }
    let from = link.peer().addr.ip();
    let checked = link
        .game()
        .check_login(name, password, from, &|| guard.begin_check())
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
        Ok(LoginCheck::Locked { until }) => {
            link.game().metrics().login(LoginOutcome::Locked);
            guard.failed();
            tracing::info!(account = name, %until, "login refused: account locked");
            link.line(locked_out_until(until, Utc::now()));
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

/// [`replies::LOCKED_OUT`], and on the next line when the lock that applies
/// ends: `The account is locked until <HH:MM> UTC.`, with the date
/// (`YYYY-MM-DD HH:MM`) when that is not today (UTC). The time is rounded up
/// to the minute, so a player who waits until then is let in.
pub fn locked_out_until(until: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let shown = crate::store::lockout::shown_minute(until);
    let when = if shown.date_naive() == now.date_naive() {
        shown.format("%H:%M")
    } else {
        shown.format("%Y-%m-%d %H:%M")
    };
    format!(
        "{}\nThe account is locked until {when} UTC.",
        replies::LOCKED_OUT
    )
}

/// What a login after failed password checks tells the owner, if any failed.
fn failures_since_last_visit(failures: i64) -> Option<String> {
    match failures {
        n if n <= 0 => None,
        1 => Some("1 failed login since your last visit.".into()),
        n => Some(format!("{n} failed logins since your last visit.")),
    }
}

/// `new`: the name (checked at once: valid, not taken), the password (checked
/// against the policy at once), and its repetition (a mismatch asks for both
/// again). `quit` or an empty line at any step goes back to `Account: `.
async fn register_interactively(link: &mut Link, deadline: Instant) -> Result<Attempt, Hangup> {
    if !link.game().config().registration_open {
        link.line(REGISTRATION_CLOSED);
        return Ok(Attempt::Again);
    }
    link.at_step(Step::SignUp);
    // Said before the questions, so nobody answers them for nothing; the
    // sign-up itself takes its place when it is made.
    if !AddressGuard::new(link).signup_allowed() {
        link.line(TOO_MANY_SIGNUPS);
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
        match link.game().account_name_taken(&name).await {
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

/// Creates an account with its first character in the default world: named
/// after the account when that is a valid character name, made up in a world
/// that gives names. The account name and the password are checked by the
/// store's one path that makes accounts.
async fn register(link: &mut Link, name: &str, password: String) -> Attempt {
    if !link.game().config().registration_open {
        link.line(REGISTRATION_CLOSED);
        return Attempt::Again;
    }
    let guard = AddressGuard::new(link);
    if !guard.take_signup() {
        link.line(TOO_MANY_SIGNUPS);
        return Attempt::Again;
    }
    let world = link.game().default_world();
    let first = FirstCharacter::usual(&world, is_command_word);
    let from = link.peer().addr.ip();
    let made = link.game().sign_up(name, &password, first, from).await;
    // A refusal before any work (a bad or taken name, a weak password) gives
    // its place back; one by the records does not, since the password was
    // hashed (a full disk must not let an address hash for ever).
    if matches!(
        made,
        Err(AccountRefused::BadName(_)
            | AccountRefused::WeakPassword(_)
            | AccountRefused::NameTaken)
    ) {
        guard.give_back_signup();
    }
    match created(link, made) {
        Some((logged_in, _)) => Attempt::In(logged_in),
        None => Attempt::Again,
    }
}

/// `guest`: one question — the character's name (an empty line leaves it to
/// the game; a world that gives names asks nothing) — then a guest account
/// with a made-up password, told to the player, and straight into the game.
async fn guest(link: &mut Link, deadline: Instant) -> Result<Attempt, Hangup> {
    if !link.game().config().guests {
        link.line("Guest accounts are not available here.");
        return Ok(Attempt::Again);
    }
    link.at_step(Step::SignUp);
    let world = link.game().default_world();
    let name = match world.naming {
        Naming::Generated => CharacterName::Generated,
        Naming::Chosen => match ask_guest_character(link, &world, deadline).await? {
            Some(name) => name,
            None => return Ok(Attempt::Again),
        },
    };
    if !AddressGuard::new(link).take_guest() {
        link.line(TOO_MANY_GUESTS);
        return Ok(Attempt::Again);
    }
    let password = generate::password(&mut Entropy);
    let first = FirstCharacter::named(&world, FirstName::Given(name), is_command_word);
    let from = link.peer().addr.ip();
    let made = link.game().open_guest(&password, first, from).await;
    let Some((mut logged_in, character)) = created(link, made) else {
        return Ok(Attempt::Again);
    };
    // The line to type on a line of its own, so that no wrapping breaks it.
    link.line(format!(
        "Your password is: {password}\nTo come back within that time, type:\n  connect {} {password}",
        logged_in.username
    ));
    if let Some(character) = &character {
        link.line(format!("You play {}.", character.name));
    }
    logged_in.play_at_once = character.map(Box::new);
    Ok(Attempt::In(logged_in))
}

/// Asks a guest for a character name until it is valid and free in `world`;
/// an empty line leaves the name to the game. `None` when the guest types
/// `quit`. (The store decides again when it makes the character.)
async fn ask_guest_character(
    link: &mut Link,
    world: &World,
    deadline: Instant,
) -> Result<Option<CharacterName>, Hangup> {
    loop {
        let answer = link.ask("Character name: ", deadline).await?;
        let answer = answer.trim();
        if answer.eq_ignore_ascii_case("quit") {
            return Ok(None);
        }
        if answer.is_empty() {
            return Ok(Some(CharacterName::Generated));
        }
        if let Err(bad) = check_character_name(answer, is_command_word) {
            link.line(bad.0);
            continue;
        }
        let name = display_character_name(answer);
        match link.game().character_name_taken(&world.id, &name).await {
            Ok(false) => return Ok(Some(CharacterName::Typed(name))),
            Ok(true) => link.line(format!("The name {name} is already taken in this world.")),
            Err(err) => link.line(replies::store_error(&err)),
        }
    }
}

/// Tells the player of an account made by the one path that makes accounts
/// (name and password checked, account, first character and audit row in one
/// transaction), or why it was not made (then `None`).
fn created(
    link: &Link,
    made: Result<Created, AccountRefused>,
) -> Option<(LoggedIn, Option<CharacterSummary>)> {
    let created = match made {
        Ok(created) => created,
        Err(refused) => {
            account_refused(link, &refused);
            return None;
        }
    };
    tracing::info!(account = %created.username, guest = created.is_guest, "account created");
    announce_creation(link, &created);
    let logged_in = LoggedIn {
        user_id: created.user_id,
        username: created.username,
        role: created.role,
        is_guest: created.is_guest,
        play_at_once: None,
        failed_since_last_visit: 0,
    };
    Some((logged_in, created.character.ok()))
}

/// Tells the player why no account was made.
fn account_refused(link: &Link, refused: &AccountRefused) {
    match refused {
        AccountRefused::BadName(rule) => link.line(rule.as_str()),
        AccountRefused::WeakPassword(problems) => link.line(problems.join("\n")),
        AccountRefused::NameTaken => link.line("That account name is taken."),
        AccountRefused::Store(err) => link.line(replies::store_error(err)),
        // Only the environment's superuser is refused for this.
        AccountRefused::NotFirst => link.line(replies::STORE_FAILED),
    }
}

fn announce_creation(link: &Link, created: &Created) {
    if created.is_guest {
        let hours = link.game().config().guest_ttl.as_secs().div_ceil(3600);
        let unit = if hours == 1 { "hour" } else { "hours" };
        link.line(format!(
            "Guest account {} created; it expires in {hours} {unit}.",
            created.username
        ));
    } else {
        link.line(format!("Account {} created.", created.username));
    }
    // An account name that is no character name gets no character, and
    // nothing is said: the menu says how to make one.
    if let Err(CharacterRefused::NameTaken { name }) = &created.character {
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
    fn a_lock_is_told_to_the_minute_with_the_date_when_not_today() {
        let at = |text: &str| {
            DateTime::parse_from_rfc3339(text)
                .expect("time")
                .with_timezone(&Utc)
        };
        let now = at("2026-05-01T12:00:00Z");
        let told = |until: &str| locked_out_until(at(until), now);
        let lines = |when: &str| {
            format!(
                "Too many failed logins; try again later.\nThe account is locked until {when} UTC."
            )
        };
        assert_eq!(told("2026-05-01T12:34:56Z"), lines("12:35"));
        assert_eq!(told("2026-05-01T12:34:00Z"), lines("12:34"));
        assert_eq!(told("2026-05-01T23:59:30Z"), lines("2026-05-02 00:00"));
        assert_eq!(told("2026-05-03T01:02:03Z"), lines("2026-05-03 01:03"));
    }

    #[test]
    fn the_failures_since_the_last_visit_are_counted_in_words() {
        assert_eq!(failures_since_last_visit(0), None);
        assert_eq!(
            failures_since_last_visit(1).as_deref(),
            Some("1 failed login since your last visit.")
        );
        assert_eq!(
            failures_since_last_visit(7).as_deref(),
            Some("7 failed logins since your last visit.")
        );
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
