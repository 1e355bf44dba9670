//! The character menu (SPEC §3): pick, create or switch worlds, change the
//! password, or leave.

use std::fmt::Write;
use std::sync::Arc;
use std::time::Instant;

use super::conn::{Conn, Hangup};
use super::login::LoggedIn;
use crate::auth::Role;
use crate::auth::names::{check_character_name, display_character_name};
use crate::auth::password::policy_problems;
use crate::command::{is_command_word, store_error_reply};
use crate::store::accounts::{self, FirstCharacter};
use crate::store::characters::{self, CharacterSummary};
use crate::store::{StoreError, worlds};
use crate::world::{Access, World};

/// A character chosen to play, with its world.
pub struct Chosen {
    pub character: CharacterSummary,
    pub world: Arc<World>,
}

/// Shows the menu and handles it until a character is chosen.
pub async fn character_menu(
    conn: &mut Conn,
    account: &LoggedIn,
    world: &mut Arc<World>,
) -> Result<Chosen, Hangup> {
    let mut characters = show_menu(conn, account, world).await;
    loop {
        let deadline = Instant::now() + conn.game.config.idle_timeout;
        let line = conn.ask("Character: ", deadline).await?;
        let line = line.trim();
        let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim();
        match word.to_lowercase().as_str() {
            "" => {}
            "quit" if rest.is_empty() => {
                conn.last_words("Goodbye.");
                return Err(Hangup::Quit);
            }
            "new" if !rest.is_empty() => {
                if let Some(made) =
                    new_character(conn, account, world, rest, characters.len()).await
                {
                    return Ok(Chosen {
                        character: made,
                        world: world.clone(),
                    });
                }
            }
            "worlds" if rest.is_empty() => list_worlds(conn, world),
            "world" if !rest.is_empty() => {
                if switch_world(conn, account, world, rest).await {
                    characters = show_menu(conn, account, world).await;
                }
            }
            "password" if rest.is_empty() => change_password(conn, account, deadline).await?,
            _ => match pick(&characters, line) {
                Some(character) => {
                    return Ok(Chosen {
                        character: character.clone(),
                        world: world.clone(),
                    });
                }
                None => conn.line(format!("You have no character called \"{line}\" here.")),
            },
        }
    }
}

/// Lists the account's characters in `world` and the menu's instructions.
async fn show_menu(conn: &Conn, account: &LoggedIn, world: &World) -> Vec<CharacterSummary> {
    let (user_id, world_id) = (account.user_id, world.id.clone());
    let characters = match conn
        .game
        .store
        .call(move |db| characters::list_characters(db, user_id, &world_id))
        .await
    {
        Ok(list) => list,
        Err(err) => {
            conn.line(store_error_reply(&err));
            Vec::new()
        }
    };
    let mut text = format!("Characters of {} in {}:", account.username, world.name);
    for (n, character) in characters.iter().enumerate() {
        let seen = character
            .room
            .as_deref()
            .and_then(crate::world::RoomId::parse_full)
            .and_then(|room| world.room(&room))
            .map_or("nowhere yet", |room| room.name.as_str());
        let _ = write!(
            text,
            "\n  {}) {:<20} (last seen {seen})",
            n + 1,
            character.name
        );
    }
    if characters.is_empty() {
        text.push_str("\n  (none yet: create one with \"new <name>\")");
    }
    text.push_str(
        "\nType a number or a name to play, \"new <name>\" for a new character,\n\
         \"worlds\" to list worlds, \"world <id>\" to switch, \"password\" to change it, \"quit\" to leave.",
    );
    conn.line(text);
    characters
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

/// `new <name>`: checks the name and the slot limit, then creates it at spawn.
async fn new_character(
    conn: &Conn,
    account: &LoggedIn,
    world: &World,
    name: &str,
    existing: usize,
) -> Option<CharacterSummary> {
    if let Err(bad) = check_character_name(name, is_command_word) {
        conn.line(bad.0);
        return None;
    }
    if existing >= conn.game.config.character_slots {
        conn.line(format!(
            "You already have {existing} characters in {}, the most allowed.",
            world.name
        ));
        return None;
    }
    let first = FirstCharacter {
        world_id: world.id.clone(),
        name: display_character_name(name),
        spawn_room: world.default_spawn.as_str().to_string(),
    };
    let user_id = account.user_id;
    let to_write = first.clone();
    match conn
        .game
        .store
        .call(move |db| characters::create_character(db, user_id, &to_write))
        .await
    {
        Ok(id) => Some(CharacterSummary {
            id,
            name: first.name,
            world_id: first.world_id,
            room: Some(first.spawn_room),
        }),
        Err(StoreError::NameTaken) => {
            conn.line(format!(
                "The name {} is already taken in this world.",
                first.name
            ));
            None
        }
        Err(err) => {
            conn.line(store_error_reply(&err));
            None
        }
    }
}

/// `worlds`: every world, with how it may be entered.
fn list_worlds(conn: &Conn, current: &World) {
    let worlds = conn.game.worlds();
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
    conn.line(text);
}

/// `world <id>`: switches the menu to another world if the account may enter it.
async fn switch_world(conn: &Conn, account: &LoggedIn, current: &mut Arc<World>, id: &str) -> bool {
    let Some(world) = conn.game.world(id) else {
        conn.line(format!(
            "There is no world \"{id}\". Type \"worlds\" to list them."
        ));
        return false;
    };
    if !world.active && account.role < Role::Admin {
        let reason = world
            .inactive_reason
            .as_deref()
            .unwrap_or("it is closed for now");
        conn.line(format!("{} is closed: {reason}", world.name));
        return false;
    }
    if matches!(world.access, Access::Invite) && account.role < Role::Admin {
        let (user_id, world_id) = (account.user_id, world.id.clone());
        let allowed = conn
            .game
            .store
            .call(move |db| worlds::has_world_access(db, user_id, &world_id))
            .await
            .unwrap_or(false);
        if !allowed {
            conn.line(format!("{} is open by invitation only.", world.name));
            return false;
        }
    }
    *current = world;
    true
}

/// `password`: old, new, repeat; the new one must pass the policy.
pub async fn change_password(
    conn: &mut Conn,
    account: &LoggedIn,
    deadline: Instant,
) -> Result<(), Hangup> {
    let old = conn.ask_secret("Old password: ", deadline).await?;
    let Some(new) = conn.ask_new_password("New password: ", deadline).await? else {
        return Ok(());
    };
    let lookup = account.username.clone();
    let hash = conn
        .game
        .store
        .call(move |db| accounts::find_account(db, &lookup))
        .await
        .ok()
        .flatten()
        .map(|a| a.password_hash);
    if !conn.game.store.verify_password(old, hash).await {
        conn.line("That is not your current password.");
        return Ok(());
    }
    let problems = policy_problems(&new);
    if !problems.is_empty() {
        conn.line(problems.join("\n"));
        return Ok(());
    }
    let store = conn.game.store.clone();
    let user_id = account.user_id;
    let saved = match store.hash_password(new).await {
        Ok(hash) => {
            store
                .call(move |db| accounts::set_password_hash(db, user_id, &hash))
                .await
        }
        Err(err) => Err(err),
    };
    match saved {
        Ok(()) => conn.line("Password changed."),
        Err(err) => {
            conn.line(store_error_reply(&err));
        }
    }
    Ok(())
}

/// `/setpassword <account>` after its checks: asks the admin for the new password
/// twice with echo off, then sets it.
pub async fn set_password_for(
    conn: &mut Conn,
    ctx: &crate::command::Ctx<'_>,
    account: &str,
    deadline: Instant,
) -> Result<(), Hangup> {
    let prompt = format!("New password for {account}: ");
    let Some(new) = conn.ask_new_password(&prompt, deadline).await? else {
        return Ok(());
    };
    crate::command::admin::apply_password(ctx, account, new).await;
    Ok(())
}
