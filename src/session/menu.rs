//! The character menu (SPEC §3): pick, create or switch worlds, change the
//! password, or leave.

use std::fmt::Write;
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;

use super::Link;
use super::conn::Hangup;
use super::guard::AddressGuard;
use super::login::{LoggedIn, locked_out_until};
use crate::auth::Role;
use crate::auth::password::NUL_IN_PASSWORD;
use crate::command::is_command_word;
use crate::game::{Game, WorldRefused};
use crate::replies;
use crate::store::accounts::{LoginCheck, PasswordRefused};
use crate::store::characters::{CharacterName, CharacterSummary, NewCharacter};
use crate::store::refusal::CharacterRefused;
use crate::world::{Access, Naming, World};

/// A character chosen to play, with its world.
pub struct Chosen {
    /// Boxed: a chosen character is carried through the whole session's
    /// task, and every idle connection would hold it inline, several times.
    pub character: Box<CharacterSummary>,
    pub world: Arc<World>,
}

/// Shows the menu and handles it until a character is chosen.
pub async fn character_menu(
    link: &mut Link,
    account: &LoggedIn,
    world: &mut Arc<World>,
) -> Result<Chosen, Hangup> {
    let mut characters = show_menu(link, account, world).await;
    loop {
        let deadline = Instant::now() + link.game().config().idle_timeout;
        let line = link.ask("Character: ", deadline).await?;
        match read_menu_line(&line) {
            MenuLine::Empty => {}
            MenuLine::Quit => {
                link.last_words(replies::GOODBYE);
                return Err(Hangup::Quit);
            }
            MenuLine::New(name) => {
                if let Some(made) = new_character(link, account, world, name).await {
                    return Ok(Chosen {
                        character: Box::new(made),
                        world: world.clone(),
                    });
                }
            }
            MenuLine::Worlds => list_worlds(link, world),
            MenuLine::World(id) => {
                if switch_world(link, account, world, id).await {
                    characters = show_menu(link, account, world).await;
                }
            }
            MenuLine::Password => Box::pin(change_password(link, account, deadline)).await?,
            MenuLine::Pick(wanted) => match pick(&characters, wanted) {
                // A number means the list shown; a name may be a character made
                // since (by an admin, or on another connection): look again.
                None if wanted.parse::<usize>().is_err() => {
                    let fresh = link
                        .game()
                        .characters_of(account.user_id, &world.id)
                        .await
                        .unwrap_or_default();
                    match pick(&fresh, wanted) {
                        Some(character) => {
                            return Ok(Chosen {
                                character: Box::new(character.clone()),
                                world: world.clone(),
                            });
                        }
                        None => {
                            link.line(format!("You have no character called \"{wanted}\" here."))
                        }
                    }
                }
                Some(character) => {
                    return Ok(Chosen {
                        character: Box::new(character.clone()),
                        world: world.clone(),
                    });
                }
                None => link.line(format!("You have no character called \"{wanted}\" here.")),
            },
        }
    }
}

/// What a line typed at `Character: ` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum MenuLine<'a> {
    Empty,
    Quit,
    New(&'a str),
    Worlds,
    World(&'a str),
    Password,
    /// A number or a name from the list (or anything else, answered as such).
    Pick(&'a str),
}

/// Reads a line typed at `Character: ` (a pure decision, tested in a table).
fn read_menu_line(line: &str) -> MenuLine<'_> {
    let line = line.trim();
    let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    match (word.to_lowercase().as_str(), rest.is_empty()) {
        ("", _) => MenuLine::Empty,
        ("quit", true) => MenuLine::Quit,
        ("new", _) => MenuLine::New(rest),
        ("worlds", true) => MenuLine::Worlds,
        ("world", false) => MenuLine::World(rest),
        ("password", true) => MenuLine::Password,
        _ => MenuLine::Pick(line),
    }
}

/// Lists the account's characters in `world` and the menu's instructions.
async fn show_menu(link: &mut Link, account: &LoggedIn, world: &World) -> Vec<CharacterSummary> {
    let listed = link.game().characters_of(account.user_id, &world.id).await;
    let characters = match listed {
        Ok(list) => list,
        Err(err) => {
            link.line(replies::store_error(&err));
            Vec::new()
        }
    };
    let mut text = format!("Characters of {} in {}:", account.username, world.name);
    for (n, character) in characters.iter().enumerate() {
        let _ = write!(
            text,
            "\n  {}) {:<20} ({})",
            n + 1,
            character.name,
            standing(character, world)
        );
    }
    if characters.is_empty() {
        text.push_str("\n  (none yet: create one with \"new <name>\")");
    }
    text.push('\n');
    text.push_str(MENU_HELP);
    link.line(text);
    characters
}

/// What the menu says to type, in SPEC §3's words (client triggers read them).
const MENU_HELP: &str = "Type a number or a name to play, \"new <name>\" for a new character,\n\
     \"worlds\" to list worlds, \"world <id>\" to switch, \"password\" to change your password, \
     \"quit\" to leave.";

/// Where a character of the menu's list stands: `new` if it was never played,
/// else `last seen <room>`.
fn standing(character: &CharacterSummary, world: &World) -> String {
    if !character.played {
        return "new".to_string();
    }
    let seen = character
        .room
        .as_deref()
        .and_then(crate::world::RoomId::parse_full)
        .and_then(|room| world.room(&room))
        .map_or("nowhere yet", |room| room.name.as_str());
    format!("last seen {seen}")
}

/// Finds a character by its number in the list or its name.
fn pick<'a>(characters: &'a [CharacterSummary], wanted: &str) -> Option<&'a CharacterSummary> {
    if let Ok(n) = wanted.parse::<usize>() {
        return n.checked_sub(1).and_then(|i| characters.get(i));
    }
    characters
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(wanted))
}

/// `new <name>` (or `new` in a world that gives names): the store's one path
/// that makes characters checks the name, counts the account's characters in
/// this world against the slot limit, and makes it at spawn, all in the
/// transaction that inserts it. Where players do not make characters
/// (`--player-characters off`), only admins may.
async fn new_character(
    link: &mut Link,
    account: &LoggedIn,
    world: &World,
    name: &str,
) -> Option<CharacterSummary> {
    let role = link.session().map_or(account.role, |s| s.role());
    if !link.game().config().player_characters && role < Role::Admin {
        link.line("Characters here are made by the admins; ask one for a new character.");
        return None;
    }
    let name = match (world.naming, name.is_empty()) {
        (Naming::Generated, true) => CharacterName::Generated,
        (Naming::Generated, false) if role < Role::Admin => {
            link.line(format!(
                "Names in {} are given, not chosen: type \"new\" alone for a new character.",
                world.name
            ));
            return None;
        }
        (Naming::Chosen, true) => {
            link.line("Usage: new <name>");
            return None;
        }
        (_, false) => CharacterName::Typed(name.to_string()),
    };
    let character = NewCharacter::in_world(world, name, is_command_word);
    let made = link
        .game()
        .create_character(account.user_id, character)
        .await;
    match made {
        Ok(made) => {
            link.line(format!("Character {} created.", made.name));
            Some(made)
        }
        Err(refused) => {
            link.line(character_refused(&refused, world, link.game()));
            None
        }
    }
}

/// Why `new` made no character, in the player's words.
fn character_refused(refused: &CharacterRefused, world: &World, game: &Game) -> String {
    match refused {
        CharacterRefused::BadName(rule) => rule.clone(),
        CharacterRefused::SlotsFull { limit } => format!(
            "You already have {limit} characters in {}, the most allowed.",
            world.name
        ),
        CharacterRefused::NameTaken { name } => {
            format!("The name {name} is already taken in this world.")
        }
        CharacterRefused::OtherWorld { world_id } => {
            let name = game
                .world(world_id)
                .map_or_else(|| world_id.clone(), |w| w.name.clone());
            format!("Your characters live in {name}; this server keeps each account to one world.")
        }
        CharacterRefused::Store(err) => replies::store_error(err).to_string(),
    }
}

/// `worlds`: every world, with how it may be entered.
fn list_worlds(link: &Link, current: &World) {
    let worlds = link.game().worlds();
    let mut text = String::from("Worlds:");
    for world in worlds.iter() {
        let marker = if world.id == current.id { "*" } else { " " };
        let state = if !world.active {
            "closed"
        } else if matches!(world.access, Access::Invite) {
            "invitation only"
        } else {
            "open"
        };
        let _ = write!(
            text,
            "\n {marker} {:<20} {} ({state})",
            world.id, world.name
        );
    }
    link.line(text);
}

/// `world <id>`: switches the menu to another world if the account may enter it.
async fn switch_world(
    link: &mut Link,
    account: &LoggedIn,
    current: &mut Arc<World>,
    id: &str,
) -> bool {
    let Some(world) = link.game().world(id) else {
        link.line(format!(
            "There is no world \"{id}\". Type \"worlds\" to list them."
        ));
        return false;
    };
    let role = link.session().map_or(account.role, |s| s.role());
    let allowed = link
        .game()
        .may_enter_world(account.user_id, role, &world)
        .await;
    match allowed {
        Ok(()) => {
            *current = world;
            true
        }
        Err(refused) => {
            link.line(world_refused(&refused, &world));
            false
        }
    }
}

/// Why `world <id>` did not switch, in the player's words.
fn world_refused(refused: &WorldRefused, world: &World) -> String {
    match refused {
        WorldRefused::Closed { reason } => {
            let reason = reason.as_deref().unwrap_or("it is closed for now");
            format!("{} is closed: {reason}", world.name)
        }
        WorldRefused::InviteOnly => format!("{} is open by invitation only.", world.name),
        WorldRefused::Store(err) => replies::store_error(err).to_string(),
    }
}

/// `password`: the old password is checked first, then the new one is asked
/// twice and must pass the policy.
pub async fn change_password(
    link: &mut Link,
    account: &LoggedIn,
    deadline: Instant,
) -> Result<(), Hangup> {
    let old = link.ask_secret("Old password: ", deadline).await?;
    if !old_password_right(link, account, old).await {
        return Ok(());
    }
    let Some(new) = super::login::ask_good_password(link, "New password: ", deadline).await? else {
        return Ok(());
    };
    match link.game().change_own_password(account.user_id, &new).await {
        Ok(()) => link.line("Password changed."),
        Err(PasswordRefused::Weak(problems)) => link.line(problems.join("\n")),
        Err(PasswordRefused::Store(err)) => link.line(replies::store_error(&err)),
    }
    Ok(())
}

/// Checks the answer to `Old password: ` as a login is checked (SPEC §6): a
/// wrong one counts towards the account's lock and the address's limit, a
/// locked account's and a shut-out address's are refused unchecked. Says why
/// when it is not right.
async fn old_password_right(link: &mut Link, account: &LoggedIn, old: String) -> bool {
    if old.contains('\0') {
        link.line(NUL_IN_PASSWORD);
        return false;
    }
    let guard = AddressGuard::new(link);
    if !guard.admit().await {
        let refusal = guard.refusal(&account.username).await;
        link.line(refusal);
        return false;
    }
    let from = link.peer().addr.ip();
    let checked = link
        .game()
        .check_own_password(account.user_id, old, from, &|| guard.begin_check())
        .await;
    match checked {
        Ok(LoginCheck::Verified(_)) => {
            guard.succeeded();
            return true;
        }
        Ok(LoginCheck::Wrong) => {
            guard.failed();
            tracing::info!("wrong answer to the old password");
            link.line("That is not your current password.");
        }
        Ok(LoginCheck::Withdrawn) => {
            let refusal = guard.refusal(&account.username).await;
            link.line(refusal);
        }
        Ok(LoginCheck::Locked { until }) => {
            guard.failed();
            link.line(locked_out_until(until, Utc::now()));
        }
        Err(err) => {
            guard.succeeded();
            link.line(replies::store_error(&err));
        }
    }
    false
}

/// `/setpassword <account>` after its checks: asks the admin for the new password
/// twice with echo off, then sets it (the hierarchy is checked again there).
pub async fn set_password_for(
    link: &mut Link,
    ctx: &crate::command::Ctx<'_>,
    account: &str,
    deadline: Instant,
) -> Result<(), Hangup> {
    let prompt = format!("New password for {account}: ");
    let Some(new) = super::login::ask_good_password(link, &prompt, deadline).await? else {
        return Ok(());
    };
    crate::command::admin::apply_password(ctx, account, new).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_menu_help_is_the_spec_s_text() {
        assert_eq!(
            MENU_HELP,
            "Type a number or a name to play, \"new <name>\" for a new character,\n\"worlds\" to \
             list worlds, \"world <id>\" to switch, \"password\" to change your password, \"quit\" \
             to leave."
        );
    }

    #[test]
    fn menu_lines_in_a_table() {
        use MenuLine::*;
        let cases = [
            ("", Empty),
            ("quit", Quit),
            ("new Bram", New("Bram")),
            ("NEW  Mary Ann ", New("Mary Ann")),
            ("new", New("")),
            ("worlds", Worlds),
            ("world pipeworks", World("pipeworks")),
            ("password", Password),
            ("2", Pick("2")),
            ("Mary Ann", Pick("Mary Ann")),
            ("quit now", Pick("quit now")),
        ];
        for (line, want) in cases {
            assert_eq!(read_menu_line(line), want, "{line:?}");
        }
    }
}
