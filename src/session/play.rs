//! Playing a character: entering the world, the command loop, and leaving it.
//!
//! Entering and leaving are the game's actions (`Game::enter_game`,
//! `Game::leave_game`), which tell the room and the client; an [`InGame`]
//! guard takes the character out again however the loop ends (quit, hang-up,
//! takeover, shutdown, or a bug), so nobody is ever left standing in a room
//! without a connection behind them.

use std::sync::Arc;
use std::time::Instant;

use super::Link;
use super::conn::Hangup;
use super::handover::{DRAFT_LOST, PROMPT_LOST};
use super::login::LoggedIn;
use super::menu::Chosen;
use crate::command::{self, Ctx, Flow};
use crate::game::{Game, Player, PlayerInit, Session};
use crate::replies;

/// Takes the player out of the game when dropped; the room is told unless the
/// character was taken over (the newcomer stands there now) or the server
/// stops.
struct InGame {
    game: Arc<Game>,
    player: Arc<Player>,
}

impl Drop for InGame {
    fn drop(&mut self) {
        self.game.leave_game(&self.player);
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
    let player = player(&game, &session, &chosen);
    // The guard first: however entering ends, the player leaves again.
    let _in_game = InGame {
        game: game.clone(),
        player: player.clone(),
    };
    // The account's aliases stay in memory while this connection plays.
    let _aliases = game.hold_aliases(player.user_id());
    // Entering is boxed, so that the command loop after it (where the player
    // spends the session) does not carry its room.
    Box::pin(enter(&game, &player)).await;
    command_loop(link, account, &player).await
}

/// Into the room, and what a player is told on entering.
async fn enter(game: &Arc<Game>, player: &Arc<Player>) {
    game.enter_game(player).await;
    send_inventory(game, player).await;
    let ctx = Ctx::new(game, player);
    // The channels: what was missed while away, and the client's list.
    command::channels::on_entry(&ctx).await;
    command::mail::on_entry(&ctx).await;
    command::alias::on_entry(&ctx).await;
}

/// A character an upgrade's old image had in the game, and where it stood.
#[derive(Debug, Clone)]
pub struct Resumed {
    pub character_id: i64,
    pub name: String,
    pub world: String,
    pub room: String,
}

/// Plays on a character the old image of an upgrade had in the game: it is
/// put back where it stood, telling nobody, and the command loop goes on.
pub async fn resume(link: &mut Link, account: &LoggedIn, resumed: Resumed) -> Result<(), Hangup> {
    let game = link.game().clone();
    let Some(session) = link.session().cloned() else {
        game.handoffs().back_one();
        return Err(Hangup::Closed);
    };
    let Some(world) = game.worlds().get(&resumed.world).cloned() else {
        // The world went away with the upgrade: back to the menu.
        game.handoffs().back_one();
        return Ok(());
    };
    let player = Player::new(PlayerInit {
        character_id: resumed.character_id,
        name: Arc::from(resumed.name.as_str()),
        world: Arc::from(world.id.as_str()),
        session,
        room: game.arrival_room(&world, Some(&resumed.room)),
    });
    let _in_game = InGame {
        game: game.clone(),
        player: player.clone(),
    };
    game.resume_play(&player);
    // Back among the channels' listeners. Nothing was missed (the player
    // never left), so no catch-up: what `arrive` counts is discarded.
    if let Err(err) = Box::pin(game.arrive(&player)).await {
        tracing::warn!(%err, "a resumed player's channel settings could not be read");
    }
    game.handoffs().back_one();
    // Its aliases, held again by this image (the mail it had was told).
    let _aliases = game.hold_aliases(player.user_id());
    Box::pin(command::alias::on_entry(&Ctx::new(&game, &player))).await;
    command_loop(link, account, &player).await
}

/// The command loop, until the connection ends (`Err`) or the player goes
/// back to the character menu (`Ok`).
async fn command_loop(
    link: &mut Link,
    account: &LoggedIn,
    player: &Arc<Player>,
) -> Result<(), Hangup> {
    let game = link.game().clone();
    link.playing = Some(player.clone());
    let ended = commands(link, account, &game, player).await;
    link.playing = None;
    link.set_aside(None);
    ended
}

async fn commands(
    link: &mut Link,
    account: &LoggedIn,
    game: &Arc<Game>,
    player: &Arc<Player>,
) -> Result<(), Hangup> {
    let ctx = Ctx::new(game, player);
    loop {
        link.set_aside(None);
        link.prompt("> ");
        let deadline = Instant::now() + game.config().idle_timeout;
        let line = link.next_line(deadline).await?;
        // An alias may run several commands; the rate counts each past the
        // first (the line itself was counted when it came in).
        for (n, one) in command::alias::expand_line(&ctx, &line).iter().enumerate() {
            if n > 0 && !link.admit_command() {
                break;
            }
            if run(link, account, &ctx, one, deadline).await? == After::Menu {
                return Ok(());
            }
        }
    }
}

/// What follows a command that did not end the connection.
#[derive(Debug, PartialEq, Eq)]
enum After {
    /// The next command.
    Play,
    /// Back to the character menu.
    Menu,
}

/// Runs one command and does what it hands back.
async fn run(
    link: &mut Link,
    account: &LoggedIn,
    ctx: &Ctx<'_>,
    line: &str,
    deadline: Instant,
) -> Result<After, Hangup> {
    let game = ctx.game;
    // Boxed, like everything this loop awaits but rarely: each connection's
    // task holds only what an idle player waits in.
    match Box::pin(command::execute(ctx, line)).await {
        Flow::Continue => {}
        Flow::Quit => {
            game.leave_game(ctx.me);
            link.last_words(replies::GOODBYE);
            return Err(Hangup::Quit);
        }
        Flow::Characters => {
            Box::pin(game.leave_for_menu(ctx.me)).await;
            return Ok(After::Menu);
        }
        Flow::ChangePassword => {
            link.set_aside(Some(PROMPT_LOST));
            // Rare, and deep (a bcrypt check): boxed, so that the command
            // loop every player sits in does not carry their room.
            Box::pin(super::menu::change_password(link, account, deadline)).await?;
        }
        Flow::SetPassword { account: target } => {
            link.set_aside(Some(PROMPT_LOST));
            Box::pin(super::menu::set_password_for(link, ctx, &target, deadline)).await?;
        }
        Flow::Write(draft) => {
            link.set_aside(Some(DRAFT_LOST));
            let idle = game.config().idle_timeout;
            let text = Box::pin(super::editor::write(link, &draft, idle)).await?;
            Box::pin(command::finish_draft(ctx, draft.purpose, text)).await;
        }
    }
    Ok(After::Play)
}

/// The chosen character as a player of this session, in the room it last
/// stood in (or the world's spawn, if that room is gone).
fn player(game: &Game, session: &Arc<Session>, chosen: &Chosen) -> Arc<Player> {
    let world = &chosen.world;
    Player::new(PlayerInit {
        character_id: chosen.character.id,
        name: Arc::from(chosen.character.name.as_str()),
        world: Arc::from(world.id.as_str()),
        session: session.clone(),
        room: game.arrival_room(world, chosen.character.room.as_deref()),
    })
}

/// Tells the client what the character carries (for clients that take
/// structured data; entering the game told it who and where it is).
async fn send_inventory(game: &Game, player: &Player) {
    if !player.session.profile().structured() {
        return;
    }
    match game.carried(player).await {
        Ok(carried) => game.send_inventory_data(player, &carried),
        Err(err) => tracing::debug!(%err, "could not list the inventory for the client"),
    }
}
