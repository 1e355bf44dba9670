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

use super::conn::{Conn, Event, Hangup};
use super::login::LoggedIn;
use super::menu::Chosen;
use crate::command::{self, Ctx, Flow};
use crate::game::{Control, Game, Player, PlayerInit};
use crate::store::{characters, sessions};

/// Text the old connection sees when its character is taken over.
pub const TAKEN_OVER: &str = "Your character was taken over by a new connection.";

/// Removes the player from the game when dropped; tells the room unless the
/// character was taken over (the newcomer stands there now) or the server stops.
struct InGame {
    game: Arc<Game>,
    player: Arc<Player>,
}

impl Drop for InGame {
    fn drop(&mut self) {
        if let Some(player) = self.game.registry.leave(self.player.conn_id)
            && !self.game.shutdown.is_cancelled()
        {
            let line: Arc<str> = Arc::from(format!("{} leaves the game.", player.name));
            self.game
                .registry
                .say_to_room(&player.room_key(), &line, None);
        }
    }
}

/// Plays a character until the connection ends.
pub async fn play(
    conn: &mut Conn,
    account: &LoggedIn,
    session_id: &str,
    chosen: Chosen,
) -> Result<(), Hangup> {
    let game = conn.game.clone();
    let player = enter(conn, account, session_id, &chosen).await;
    let _in_game = InGame {
        game: game.clone(),
        player: player.clone(),
    };
    let ctx = Ctx {
        game: &game,
        me: &player,
    };
    command::look::look_room(&ctx);
    loop {
        conn.prompt("> ");
        let deadline = Instant::now() + game.config.idle_timeout;
        match conn.next_event(deadline).await? {
            Event::Line(line) => {
                player.touch();
                if command::execute(&ctx, command::parse(&line)).await == Flow::Quit {
                    leave_game(&game, &player);
                    conn.last_words("Goodbye.");
                    return Err(Hangup::Quit);
                }
            }
            Event::Control(Control::TakenOver) => {
                conn.last_words(TAKEN_OVER);
                return Err(Hangup::TakenOver);
            }
            Event::Control(Control::Kick { reason }) => {
                conn.last_words(&format!("You have been removed from the game: {reason}"));
                return Err(Hangup::Dead);
            }
            Event::Control(Control::Teleport(room)) => {
                if game.registry.move_to(&player, &room) {
                    command::movement::save_location(&ctx).await;
                    command::look::look_room(&ctx);
                }
            }
        }
    }
}

/// Registers the player (taking the character over from another connection if
/// needed), records the session's character, and tells the room.
async fn enter(conn: &Conn, account: &LoggedIn, session_id: &str, chosen: &Chosen) -> Arc<Player> {
    let game = &conn.game;
    let world = &chosen.world;
    let room = game.arrival_room(world, chosen.character.room.as_deref());
    let player = Player::new(PlayerInit {
        conn_id: conn.id,
        character_id: chosen.character.id,
        user_id: account.user_id,
        account: account.username.clone(),
        name: Arc::from(chosen.character.name.as_str()),
        role: account.role,
        world: Arc::from(world.id.as_str()),
        peer: conn.peer,
        session_id: session_id.to_string(),
        outbox: conn.outbox.clone(),
        control: conn.control_tx.clone(),
        room,
    });
    match game.registry.enter(player.clone()) {
        Some(old) => {
            tracing::info!(character = %player.name, "character taken over by a new connection");
            if old.control.try_send(Control::TakenOver).is_err() {
                old.outbox.dead().cancel();
            }
        }
        None => {
            let line: Arc<str> = Arc::from(format!("{} arrives.", player.name));
            game.registry
                .say_to_room(&player.room_key(), &line, Some(player.conn_id));
        }
    }
    record_entry(game, &player).await;
    player
}

/// Notes in the database which character the session plays and where it stands.
async fn record_entry(game: &Arc<Game>, player: &Arc<Player>) {
    let (session_id, character_id) = (player.session_id.clone(), player.character_id);
    let world = player.world.clone();
    let result = game
        .store
        .call(move |db| {
            sessions::attach_character(db, &session_id, Some((character_id, &world)))?;
            characters::mark_played(db, character_id)
        })
        .await;
    if let Err(err) = result {
        tracing::warn!(%err, "could not record the character entering play");
    }
    let ctx = Ctx { game, me: player };
    command::movement::save_location(&ctx).await;
}

/// `quit`: the room hears it, and the player is out of the registry.
fn leave_game(game: &Game, player: &Player) {
    if game.registry.leave(player.conn_id).is_some() {
        let line: Arc<str> = Arc::from(format!("{} leaves the game.", player.name));
        game.registry.say_to_room(&player.room_key(), &line, None);
    }
}
