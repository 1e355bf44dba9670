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
//! **Invariant:** one player's moves are made and told one at a time (its
//! `moving` lock around the registry step and the telling), so observers
//! hear them in the order they happened, even when the player walks while an
//! admin teleports it.

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
    /// Their room vanished (a reload, a build), so the world put them at its
    /// spawn.
    Rescued,
    /// Into the game from the character menu.
    Entered,
    /// Into the game from the menu, taking the character over from another
    /// connection: it stands where it stood, so nobody else notices.
    TookOver,
    /// Out of the game (quit, back to the menu, a hang-up, a kick).
    LeftGame,
}

/// Who moved: a player, or an NPC (`game::npcs`), which moves through the
/// same observers.
#[derive(Debug, Clone)]
pub enum Mover {
    Player(Arc<Player>),
    Npc(Arc<super::npcs::LiveNpc>),
}

impl Mover {
    /// The name rooms know the mover by.
    pub fn name(&self) -> &Arc<str> {
        match self {
            Mover::Player(player) => &player.name,
            Mover::Npc(npc) => &npc.name,
        }
    }

    /// The world the mover is in.
    pub fn world(&self) -> &Arc<str> {
        match self {
            Mover::Player(player) => &player.world,
            Mover::Npc(npc) => &npc.world,
        }
    }

    /// The player who moved, if a player did (someone to show the new room).
    pub fn player(&self) -> Option<&Arc<Player>> {
        match self {
            Mover::Player(player) => Some(player),
            Mover::Npc(_) => None,
        }
    }

    /// The connections that should not hear of the move as bystanders: the
    /// mover's own.
    pub fn except(&self) -> &[ConnId] {
        match self {
            Mover::Player(player) => std::slice::from_ref(&player.conn_id),
            Mover::Npc(_) => &[],
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
/// reload's), right after the registry step, with the mover's `moving` lock
/// held: an observer must not move anyone itself (a script reacting with a
/// move queues it).
pub trait RoomObserver: Send + Sync {
    /// Someone moved; never waits.
    fn moved(&self, game: &Game, moved: &Move);

    /// A door was opened, closed, locked or unlocked (`game::doors`), after
    /// the change committed; never waits. Most observers need not know.
    fn door_changed(&self, _game: &Game, _changed: &super::doors::DoorChanged) {}
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
        self.move_player_if(player, to, how, |_| true).map(drop)?;
        self.save_location(player).await;
        Ok(())
    }

    /// Sends a player whose room is gone from its world (a build or a
    /// reload took it away) to the world's spawn; false when its room is
    /// still there. Decided under the player's moving lock, so a walk into
    /// the room that began before the room went is finished, and seen.
    pub async fn rescue_if_stranded(&self, player: &Arc<Player>) -> bool {
        let Some(world) = self.world(&player.world) else {
            return false;
        };
        let spawn = world.default_spawn.clone();
        let stranded = |room: &RoomId| world.room(room).is_none();
        let moved = self.move_player_if(player, &spawn, How::Rescued, stranded);
        if moved == Ok(true) {
            self.save_location(player).await;
        }
        moved == Ok(true)
    }

    /// The registry step of a move, made only when `wanted` says so of the
    /// room the player stands in; both decided, with the room's existence,
    /// under the player's moving lock (a change to the world is swapped in
    /// before it rescues anyone, so a room checked here is still there).
    pub(super) fn move_player_if(
        &self,
        player: &Arc<Player>,
        to: &RoomId,
        how: How,
        wanted: impl Fn(&RoomId) -> bool,
    ) -> Result<bool, MoveRefused> {
        let _one_at_a_time = player.moving();
        let exists = self
            .world(&player.world)
            .is_some_and(|world| world.room(to).is_some());
        if !exists {
            return Err(MoveRefused::NoSuchRoom);
        }
        if !wanted(&player.room()) {
            return Ok(false);
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
        Ok(true)
    }

    /// Puts a player into the game in its room. A connection that was playing
    /// the same character is ordered closed, and the newcomer stands where it
    /// stood. The session row records the character.
    pub async fn enter_game(&self, player: &Arc<Player>) {
        {
            let _one_at_a_time = player.moving();
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
        }
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

    /// Puts back a player an upgrade's old image had in the game, where it
    /// stood, telling nobody: to everyone else it never left. The session
    /// row already records the character.
    pub fn resume_play(&self, player: &Arc<Player>) {
        let _one_at_a_time = player.moving();
        if let Some(old) = self.registry().enter(player.clone()) {
            // Only one connection played a character in the old image.
            tracing::warn!(character = %player.name, "a resumed character was already in play");
            old.session.order(Control::TakenOver);
        }
    }

    /// Takes a player out of the game; false if it was no longer there (taken
    /// over, whose newcomer keeps the character, or already gone). Nobody is
    /// told while the server shuts down: everyone hears that instead.
    pub fn leave_game(&self, player: &Player) -> bool {
        let _one_at_a_time = player.moving();
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
        self.note_left_game(player.user_id()).await;
    }

    /// Tells every observer of a move, in the order they were registered.
    pub(super) fn emit(&self, moved: &Move) {
        for observer in self.observers() {
            observer.moved(self, moved);
        }
        // Scripts hear of it last, so whatever they answer comes after
        // every line of the move itself in each outbox.
        super::life::ScriptFeed.moved(self, moved);
    }

    /// Queues a player's current room for the batching writer.
    pub(super) async fn save_location(&self, player: &Player) {
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use parking_lot::Mutex;

    use super::*;
    use crate::config::ServerConfig;
    use crate::game::registry::test_player_in;
    use crate::store::writer::Writer;
    use crate::store::{Store, StoreOptions};

    /// Writes down every move it hears of, after a while: a slow observer,
    /// which gives a second mover every chance to slip in between a move and
    /// its telling.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<(Option<RoomId>, Option<RoomId>)>>);

    impl RoomObserver for Recorder {
        fn moved(&self, _: &Game, moved: &Move) {
            for _ in 0..50 {
                std::thread::yield_now();
            }
            self.0.lock().push((moved.from.clone(), moved.to.clone()));
        }
    }

    /// A game over the shipped worlds and a fresh database, observed by
    /// `observer`.
    async fn game(dir: &Path, observer: Arc<dyn RoomObserver>) -> Arc<Game> {
        let worlds_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("worlds");
        let config = ServerConfig::for_tests(dir.join("g.db"), worlds_dir.clone());
        let loaded = crate::world::load(&worlds_dir, None).expect("the shipped worlds load");
        let (worlds, default) = (loaded.worlds, loaded.default);
        let store = Store::open(&config.db_path, StoreOptions::default()).expect("a store");
        let (writer, _thread) = Writer::start(&config.db_path, 10_000)
            .await
            .expect("a writer");
        let game = Game::new(config, worlds, default, store, writer).observed_by(observer);
        Arc::new(game)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn observers_hear_one_players_moves_in_the_order_they_were_made() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let recorder = Arc::new(Recorder::default());
        let game = game(dir.path(), recorder.clone()).await;
        let world = game.default_world();
        let square = world.default_spawn.clone();
        let player = test_player_in(&world.id, 1, 1, "Ann", square.clone());
        game.enter_game(&player).await;
        // The player walks while an admin sends it about: two movers at once.
        let rooms: Vec<RoomId> = world.zones.iter().map(|zone| zone.spawn.clone()).collect();
        let start = Arc::new(tokio::sync::Barrier::new(2));
        let movers: Vec<_> = (0..2)
            .map(|mover| {
                let (game, player, rooms, start) =
                    (game.clone(), player.clone(), rooms.clone(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    for i in 0..500 {
                        let to = &rooms[(i + mover) % rooms.len()];
                        let how = How::Sent { by: None };
                        game.move_player(&player, to, how).await.expect("moved");
                    }
                })
            })
            .collect();
        for mover in movers {
            mover.await.expect("mover");
        }
        let heard = recorder.0.lock().clone();
        assert_eq!(heard.first(), Some(&(None, Some(square))));
        for (n, pair) in heard.windows(2).enumerate() {
            assert_eq!(
                pair[0].1, pair[1].0,
                "move {n} and the next are heard out of order"
            );
        }
        assert_eq!(
            heard.last().and_then(|(_, to)| to.clone()),
            Some(player.room())
        );
        assert_eq!(heard.len(), 1001);
    }
}
