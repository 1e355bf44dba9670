//! Moving someone: the one way a character comes into the game, changes rooms
//! and leaves it again — walking, `recall`, `/goto` and `/teleport`, entering
//! from the character menu, a reload sending players out of vanished rooms,
//! and later NPCs and scripts.
//!
//! An action decides on fresh state (is there such a room, is the character
//! still in the game), makes the registry step under the player's room lock,
//! queues the new location for the batching writer, and emits one [`Move`] to
//! the game's [`RoomObserver`]s: the clients' structured view (`feed`), the
//! sentences the rooms hear (the command layer's narrator, registered when the
//! server starts), and later scripts' `on_enter` and `on_leave`. The game
//! decides and tells; the sentences players read are written by an observer.
//!
//! **Invariant:** every change of a character's room, and every entry into the
//! game and exit from it, goes through these functions, so each observer hears
//! of each move exactly once.
//! **Invariant:** observers never wait: they queue to outboxes and return.

use std::sync::Arc;

use super::Game;
use super::registry::{ConnId, Control, Player, RoomKey};
use crate::store::now_iso;
use crate::store::writer::LocationRow;
use crate::world::RoomId;

/// How someone moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum How {
    /// Through an exit of the room left, named as the world file names it.
    Walked { exit: String },
    /// Back to the world's default spawn (`recall`, `home`).
    Recalled,
    /// At once, by an admin's command: `by` sent them, or they went
    /// themselves (`/goto`) when it is `None`.
    Sent { by: Option<Arc<str>> },
    /// Their room vanished in a reload, so the world put them at its spawn.
    Rescued,
    /// Into the game from the character menu.
    Entered,
    /// Into the game from the menu, taking the character over from another
    /// connection: it stands where it stood, so nobody else notices.
    TookOver,
    /// Out of the game (quit, back to the menu, a hang-up, a kick).
    LeftGame,
}

/// Who moved. Players only, for now; NPCs (issue 19) move through the same
/// actions and observers, as another kind of mover.
#[derive(Debug, Clone)]
pub enum Mover {
    Player(Arc<Player>),
}

impl Mover {
    /// The name rooms know the mover by.
    pub fn name(&self) -> &Arc<str> {
        match self {
            Mover::Player(player) => &player.name,
        }
    }

    /// The world the mover is in.
    pub fn world(&self) -> &Arc<str> {
        match self {
            Mover::Player(player) => &player.world,
        }
    }

    /// The player who moved, if a player did (someone to show the new room).
    pub fn player(&self) -> Option<&Arc<Player>> {
        match self {
            Mover::Player(player) => Some(player),
        }
    }

    /// The connections that should not hear of the move as bystanders: the
    /// mover's own.
    pub fn except(&self) -> &[ConnId] {
        match self {
            Mover::Player(player) => std::slice::from_ref(&player.conn_id),
        }
    }
}

/// One move, as observers hear of it. The mover stands in `to` already (or
/// has left the game, when `to` is `None`).
#[derive(Debug, Clone)]
pub struct Move {
    pub who: Mover,
    /// The room left; `None` when coming into the game.
    pub from: Option<RoomId>,
    /// The room reached; `None` when leaving the game.
    pub to: Option<RoomId>,
    pub how: How,
}

impl Move {
    /// The room left, within the mover's world.
    pub fn from_key(&self) -> Option<RoomKey> {
        let room = self.from.as_ref()?;
        Some(RoomKey::new(self.who.world(), room))
    }

    /// The room reached, within the mover's world.
    pub fn to_key(&self) -> Option<RoomKey> {
        let room = self.to.as_ref()?;
        Some(RoomKey::new(self.who.world(), room))
    }
}

/// Something that reacts to moves: what clients are shown, what rooms hear,
/// later scripts. Called on the mover's task (or the admin's, or the
/// reload's), right after the registry step.
pub trait RoomObserver: Send + Sync {
    /// Someone moved; never waits.
    fn moved(&self, game: &Game, moved: &Move);
}

/// Why a move was not made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoveRefused {
    /// The mover's world has no such room (or no longer exists).
    #[error("there is no such room")]
    NoSuchRoom,
    /// The character left the game a moment ago, or was taken over.
    #[error("the character is no longer in the game")]
    NotPlaying,
}

impl Game {
    /// Moves a player to another room of its world, at once, whatever prompt
    /// it sits at (the step is the registry's, under the player's room lock),
    /// and queues the new location for the database.
    pub async fn move_player(
        &self,
        player: &Arc<Player>,
        to: &RoomId,
        how: How,
    ) -> Result<(), MoveRefused> {
        let exists = self
            .world(&player.world)
            .is_some_and(|world| world.room(to).is_some());
        if !exists {
            return Err(MoveRefused::NoSuchRoom);
        }
        let left = self
            .registry()
            .move_to(player, to)
            .ok_or(MoveRefused::NotPlaying)?;
        self.emit(&Move {
            who: Mover::Player(player.clone()),
            from: Some(left),
            to: Some(to.clone()),
            how,
        });
        self.save_location(player).await;
        Ok(())
    }

    /// Puts a player into the game in its room. A connection that was playing
    /// the same character is ordered closed, and the newcomer stands where it
    /// stood. The session row records the character.
    pub async fn enter_game(&self, player: &Arc<Player>) {
        let how = match self.registry().enter(player.clone()) {
            Some(old) => {
                tracing::info!(character = %player.name, "character taken over by a new connection");
                old.session.order(Control::TakenOver);
                How::TookOver
            }
            None => How::Entered,
        };
        self.emit(&Move {
            who: Mover::Player(player.clone()),
            from: None,
            to: Some(player.room()),
            how,
        });
        let entered = self
            .store()
            .characters()
            .enter_play(
                &player.session.session_id,
                player.character_id,
                &player.world,
            )
            .await;
        if let Err(err) = entered {
            tracing::warn!(%err, "could not record the character entering play");
        }
        self.save_location(player).await;
    }

    /// Takes a player out of the game; false if it was no longer there (taken
    /// over, whose newcomer keeps the character, or already gone). Nobody is
    /// told while the server shuts down: everyone hears that instead.
    pub fn leave_game(&self, player: &Player) -> bool {
        let Some(gone) = self.registry().leave(player.conn_id) else {
            return false;
        };
        if !self.is_shutting_down() {
            let from = gone.room();
            self.emit(&Move {
                who: Mover::Player(gone),
                from: Some(from),
                to: None,
                how: How::LeftGame,
            });
        }
        true
    }

    /// Leaves the game for the character menu: the session row no longer
    /// names the character.
    pub async fn leave_for_menu(&self, player: &Player) {
        self.leave_game(player);
        let cleared = self
            .store()
            .sessions()
            .attach(&player.session.session_id, None)
            .await;
        if let Err(err) = cleared {
            tracing::warn!(%err, "could not clear the session's character");
        }
    }

    /// Tells every observer of a move, in the order they were registered.
    fn emit(&self, moved: &Move) {
        for observer in self.observers() {
            observer.moved(self, moved);
        }
    }

    /// Queues a player's current room for the batching writer.
    async fn save_location(&self, player: &Player) {
        let row = LocationRow {
            character_id: player.character_id,
            world_id: player.world.clone(),
            room: Arc::from(player.room().as_str()),
            updated_at: now_iso(),
        };
        if self.writer().location(row).await.is_err() {
            tracing::warn!(character = %player.name, "location not saved: the writer has stopped");
        }
    }
}
