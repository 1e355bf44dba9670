//! Playing a character: entering the world, the command loop, and leaving it.
//!
//! While a character is in play it is registered in the game's [`Registry`];
//! an [`InGame`] guard takes it out again however the loop ends (quit, hang-up,
//! takeover, shutdown, or a bug), so nobody is ever left standing in a room
//! without a connection behind them.
//!
//! [`Registry`]: crate::game::Registry

use std::sync::Arc;
use std::time::Instant;

use super::Link;
use super::conn::Hangup;
use super::login::LoggedIn;
use super::menu::Chosen;
use crate::command::{self, Ctx, Flow};
use crate::game::{Control, Data, Game, ItemInstance, Player, PlayerInit, Session};
use crate::replies;

/// Removes the player from the game when dropped; tells the room unless the
/// character was taken over (the newcomer stands there now) or the server stops.
struct InGame {
    game: Arc<Game>,
    player: Arc<Player>,
}

impl Drop for InGame {
    fn drop(&mut self) {
        leave_game(&self.game, &self.player);
    }
}

/// Plays a character until the connection ends (`Err`) or the player goes back
/// to the character menu (`Ok`).
pub async fn play(link: &mut Link, account: &LoggedIn, chosen: Chosen) -> Result<(), Hangup> {
    let game = link.game().clone();
    let Some(session) = link.session().cloned() else {
        // The menu is only reached with a session; nothing to play without one.
        return Err(Hangup::Closed);
    };
    let player = enter(&game, &session, &chosen).await;
    let _in_game = InGame {
        game: game.clone(),
        player: player.clone(),
    };
    let ctx = Ctx::new(&game, &player);
    command::look::look_room(&ctx);
    send_character_data(&game, &player).await;
    loop {
        link.prompt("> ");
        let deadline = Instant::now() + game.config().idle_timeout;
        let line = link.next_line(deadline).await?;
        let command = command::parse_as(&line, player.role());
        match command::execute(&ctx, command).await {
            Flow::Continue => {}
            Flow::Quit => {
                leave_game(&game, &player);
                link.last_words(replies::GOODBYE);
                return Err(Hangup::Quit);
            }
            Flow::Characters => {
                leave_game(&game, &player);
                if let Err(err) = game
                    .store()
                    .sessions()
                    .attach(&session.session_id, None)
                    .await
                {
                    tracing::warn!(%err, "could not clear the session's character");
                }
                return Ok(());
            }
            Flow::ChangePassword => {
                super::menu::change_password(link, account, deadline).await?;
            }
            Flow::SetPassword { account: target } => {
                super::menu::set_password_for(link, &ctx, &target, deadline).await?;
            }
        }
    }
}

/// Registers the player (taking the character over from another connection if
/// needed), records the session's character, and tells the room.
async fn enter(game: &Arc<Game>, session: &Arc<Session>, chosen: &Chosen) -> Arc<Player> {
    let world = &chosen.world;
    let room = game.arrival_room(world, chosen.character.room.as_deref());
    let player = Player::new(PlayerInit {
        character_id: chosen.character.id,
        name: Arc::from(chosen.character.name.as_str()),
        world: Arc::from(world.id.as_str()),
        session: session.clone(),
        room,
    });
    match game.registry().enter(player.clone()) {
        Some(old) => {
            tracing::info!(character = %player.name, "character taken over by a new connection");
            old.session.order(Control::TakenOver);
        }
        None => {
            let line: Arc<str> = Arc::from(format!("{} arrives.", player.name));
            game.registry()
                .say_to_room(&player.room_key(), &line, &[player.conn_id]);
            game.registry().data_to_room(
                &player.room_key(),
                Data::RoomAddPlayer(player.name.clone()),
                &[player.conn_id],
            );
        }
    }
    let entered = game
        .store()
        .characters()
        .enter_play(&session.session_id, player.character_id, &player.world)
        .await;
    if let Err(err) = entered {
        tracing::warn!(%err, "could not record the character entering play");
    }
    command::common::save_location(game, &player).await;
    player
}

/// Tells the client who the character is, where it stands and what it carries
/// (for clients that take structured data).
async fn send_character_data(game: &Arc<Game>, player: &Arc<Player>) {
    if !player.session.profile().structured() {
        return;
    }
    player.give(Data::CharName {
        name: player.name.clone(),
    });
    player.give(Data::CharStatus {
        account: player.session.account.clone(),
        world: player.world.clone(),
        role: player.role(),
    });
    game.send_room_data(player);
    match game.store().items().carried(player.character_id).await {
        Ok(rows) => {
            let carried: Vec<ItemInstance> = rows
                .into_iter()
                .map(|row| ItemInstance {
                    id: row.id,
                    key: Arc::from(row.item_key),
                })
                .collect();
            game.send_inventory_data(player, &carried);
        }
        Err(err) => tracing::debug!(%err, "could not list the inventory for the client"),
    }
}

/// Takes the player out of the registry and tells the room, unless it was taken
/// over (the newcomer stands there now) or everyone is being told the server
/// stops. Doing it twice is harmless: the second time finds nobody to remove.
fn leave_game(game: &Game, player: &Player) {
    if game.registry().leave(player.conn_id).is_some() && !game.is_shutting_down() {
        let line: Arc<str> = Arc::from(format!("{} leaves the game.", player.name));
        game.registry().say_to_room(&player.room_key(), &line, &[]);
        game.left_room(&player.room_key(), &player.name);
    }
}
