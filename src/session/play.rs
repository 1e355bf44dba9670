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
use crate::game::{Control, Game, Player, PlayerInit, Session};
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
        leave_game(&self.game, &self.player);
    }
}

/// Plays a character until the connection ends (`Err`) or the player goes back
/// to the character menu (`Ok`).
pub async fn play(
    conn: &mut Conn,
    account: &LoggedIn,
    session: &Arc<Session>,
    chosen: Chosen,
) -> Result<(), Hangup> {
    let game = conn.game.clone();
    let player = enter(conn, session, &chosen).await;
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
                let command = command::parse_as(&line, player.role());
                match command::execute(&ctx, command).await {
                    Flow::Continue => {}
                    Flow::Quit => {
                        leave_game(&game, &player);
                        conn.last_words("Goodbye.");
                        return Err(Hangup::Quit);
                    }
                    Flow::Characters => {
                        leave_game(&game, &player);
                        forget_character(&game, &player).await;
                        return Ok(());
                    }
                    Flow::ChangePassword => {
                        super::menu::change_password(conn, account, deadline).await?;
                    }
                    Flow::SetPassword { account: target } => {
                        super::menu::set_password_for(conn, &ctx, &target, deadline).await?;
                    }
                }
            }
            Event::Control(Control::TakenOver) => {
                conn.last_words(TAKEN_OVER);
                return Err(Hangup::TakenOver);
            }
            Event::Control(Control::Kick { message }) => {
                // Conn handles kicks itself; this arm only keeps the match whole.
                conn.last_words(&message);
                return Err(Hangup::Kicked);
            }
            Event::Control(Control::Teleport { room, by }) => {
                command::movement::teleport(&ctx, &room, &by).await;
            }
        }
    }
}

/// Clears the session row's character when the player goes back to the menu.
async fn forget_character(game: &Arc<Game>, player: &Arc<Player>) {
    let session_id = player.session.session_id.clone();
    if let Err(err) = game
        .store
        .call(move |db| sessions::attach_character(db, &session_id, None))
        .await
    {
        tracing::warn!(%err, "could not clear the session's character");
    }
}

/// Registers the player (taking the character over from another connection if
/// needed), records the session's character, and tells the room.
async fn enter(conn: &Conn, session: &Arc<Session>, chosen: &Chosen) -> Arc<Player> {
    let game = &conn.game;
    let world = &chosen.world;
    let room = game.arrival_room(world, chosen.character.room.as_deref());
    let player = Player::new(PlayerInit {
        character_id: chosen.character.id,
        name: Arc::from(chosen.character.name.as_str()),
        world: Arc::from(world.id.as_str()),
        session: session.clone(),
        room,
    });
    match game.registry.enter(player.clone()) {
        Some(old) => {
            tracing::info!(character = %player.name, "character taken over by a new connection");
            if old.session.control.try_send(Control::TakenOver).is_err() {
                old.session.outbox.dead().cancel();
            }
        }
        None => {
            let line: Arc<str> = Arc::from(format!("{} arrives.", player.name));
            game.registry
                .say_to_room(&player.room_key(), &line, &[player.conn_id]);
        }
    }
    record_entry(game, &player).await;
    player
}

/// Notes in the database which character the session plays and where it stands.
async fn record_entry(game: &Arc<Game>, player: &Arc<Player>) {
    let (session_id, character_id) = (player.session.session_id.clone(), player.character_id);
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

/// Takes the player out of the registry and tells the room, unless it was taken
/// over (the newcomer stands there now) or everyone is being told the server
/// stops. Doing it twice is harmless: the second time finds nobody to remove.
fn leave_game(game: &Game, player: &Player) {
    if game.registry.leave(player.conn_id).is_some() && !game.shutdown.is_cancelled() {
        let line: Arc<str> = Arc::from(format!("{} leaves the game.", player.name));
        game.registry.say_to_room(&player.room_key(), &line, &[]);
    }
}
