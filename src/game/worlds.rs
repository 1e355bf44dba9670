//! The game's side of loading worlds while it runs (`/reload`; a build is
//! `build.rs`'s, under the same lock): one change to the worlds at a time, read through `world::load` (the
//! one way worlds are loaded), a set refused that would leave a player in a
//! world that is gone, registered with its audit row in one transaction,
//! swapped in, the item caches filled again, and every player whose room
//! vanished sent to the world's spawn through the one move path, which the
//! caller hands in (a move's sentences belong to the command layer). Every
//! reload leaves one `audit_log` row: action as given, detail `ok: ...` or
//! `failed: ...`. The action decides and reports what happened; the caller
//! words the reply.

use std::sync::Arc;

use super::Game;
use crate::store::accounts::{Actor, ChangeRefused};
use crate::store::audit::AuditEntry;
use crate::world::{self, LoadError, Loaded, WorldError, WorldWarning, Worlds};

/// Who asks for a reload, for the audit row and the log.
#[derive(Debug, Clone)]
pub struct Reloader {
    /// The acting account, whose role is read again when the row is written.
    pub actor: Actor,
    /// The account's name, for the log.
    pub account: String,
    /// The audit row's action (the command's name, `reload`).
    pub action: String,
}

/// What a reload did.
#[derive(Debug)]
pub struct Reloaded {
    pub worlds: usize,
    pub rooms: usize,
    /// Item instances placed for placements new in the files.
    pub placed: usize,
    /// Players whose room vanished, sent to their world's spawn.
    pub sent_to_spawn: usize,
    pub warnings: Vec<WorldWarning>,
}

/// Why the worlds were not reloaded; the worlds in play are unchanged.
#[derive(Debug, thiserror::Error)]
pub enum ReloadFailed {
    #[error("{} error(s) in the world files", .0.len())]
    Invalid(Vec<WorldError>),
    #[error("the default world {0:?} is gone")]
    NoDefaultWorld(String),
    #[error("world {world} is gone but {player} is playing in it")]
    WorldInUse { world: String, player: String },
    /// The store refused (the actor lost the role) or failed.
    #[error("{0}")]
    Refused(ChangeRefused),
    #[error("the reload task failed: {0}")]
    Task(String),
}

impl Game {
    /// Reads the world files again and puts them in play; players whose room
    /// vanished go to their world's spawn by the one move path
    /// ([`Game::rescue_if_stranded`]).
    pub async fn reload_worlds(self: &Arc<Self>, by: &Reloader) -> Result<Reloaded, ReloadFailed> {
        // Two reloads at once could swap in the older of two loads last.
        let _one_at_a_time = self.world_changes.lock().await;
        let (loaded, placed) = match self.load_and_register(by).await {
            Ok(registered) => registered,
            Err(failed) => {
                let detail = failure_detail(&failed);
                tracing::info!(by = %by.account, "worlds not reloaded: {detail}");
                self.audit_failure(by, &failed, detail).await;
                return Err(failed);
            }
        };
        let (worlds, rooms) = counts(&loaded.worlds);
        let warnings = self.put_in_play(loaded).await;
        // The NPCs keep their places where their rooms are still there; the
        // scripts start afresh from their files.
        self.start_life().await;
        let sent_to_spawn = self.rescue_stranded().await;
        tracing::info!(
            by = %by.account,
            worlds,
            rooms,
            new_items_placed = placed,
            sent_to_spawn,
            warnings = warnings.len(),
            "worlds reloaded"
        );
        Ok(Reloaded {
            worlds,
            rooms,
            placed,
            sent_to_spawn,
            warnings,
        })
    }

    /// Swaps the loaded worlds in and fills the item caches again from the
    /// database; logs and returns the load's warnings.
    async fn put_in_play(&self, loaded: Loaded) -> Vec<WorldWarning> {
        let Loaded {
            worlds,
            default,
            warnings,
        } = loaded;
        let before = self.worlds();
        self.replace_worlds(worlds, default);
        for world in self.worlds().iter() {
            if let Some(old) = before.get(&world.id) {
                self.forget_changed_doors(old, world).await;
            }
            if let Err(err) = self.load_items(&world.id).await {
                tracing::error!(%err, world = %world.id, "could not load items after a reload");
            }
        }
        for warning in &warnings {
            tracing::warn!(file = %warning.file.display(), field = %warning.field, "world file warning: {}", warning.message);
        }
        warnings
    }

    /// Loads the files (on the blocking pool: they are read from disk), checks
    /// them against the players in the game, and registers them with the
    /// success's audit row in one transaction. Returns the load and how many
    /// items were placed.
    async fn load_and_register(&self, by: &Reloader) -> Result<(Loaded, usize), ReloadFailed> {
        let dir = self.config.worlds_dir.clone();
        let default = self.config.default_world.clone();
        let loaded = tokio::task::spawn_blocking(move || world::load(&dir, default.as_deref()))
            .await
            .map_err(|err| ReloadFailed::Task(err.to_string()))?
            .map_err(|err| match err {
                LoadError::Invalid(errors) => ReloadFailed::Invalid(errors),
                LoadError::NoDefaultWorld { wanted, .. } => ReloadFailed::NoDefaultWorld(wanted),
            })?;
        let broken_scripts = crate::script::check_all(&loaded.worlds);
        if !broken_scripts.is_empty() {
            return Err(ReloadFailed::Invalid(broken_scripts));
        }
        self.check_no_world_in_use(&loaded.worlds)?;
        let (worlds, rooms) = counts(&loaded.worlds);
        let detail = format!(
            "ok: {worlds} world(s), {rooms} room(s), {} warning(s)",
            loaded.warnings.len()
        );
        let audit = (by.actor, audit_entry(by, detail));
        let placed = self
            .store
            .worlds()
            .register_all(loaded.worlds.iter().cloned().collect(), Some(audit))
            .await
            .map_err(ReloadFailed::Refused)?;
        Ok((loaded, placed.iter().map(|(_, n)| n).sum()))
    }

    /// Refuses a set of worlds that lacks a world someone is playing in. (A
    /// player entering such a world while the registration runs is not seen
    /// here: entering takes no lock this could share.)
    fn check_no_world_in_use(&self, new: &Worlds) -> Result<(), ReloadFailed> {
        let players = self.registry.players(None);
        match players.iter().find(|p| new.get(&p.world).is_none()) {
            Some(p) => Err(ReloadFailed::WorldInUse {
                world: p.world.to_string(),
                player: p.name.to_string(),
            }),
            None => Ok(()),
        }
    }

    /// Writes the failure's audit row (the actor's role read fresh, as for a
    /// success). A refusal of the actor, or a store that failed the reload
    /// itself, leaves no row: nothing was done that needs one, or the store
    /// cannot take one.
    async fn audit_failure(&self, by: &Reloader, failed: &ReloadFailed, detail: String) {
        if let ReloadFailed::Refused(_) = failed {
            return;
        }
        let gate = self
            .store
            .admin()
            .authorize(by.actor, audit_entry(by, detail))
            .await;
        if let Err(err) = gate {
            tracing::warn!(%err, by = %by.account, "the failed reload's audit row was not written");
        }
    }

    /// Sends every player whose room no longer exists to the world's spawn;
    /// returns how many were moved.
    async fn rescue_stranded(&self) -> usize {
        let mut moved = 0;
        for player in self.registry.players(None) {
            if self.rescue_if_stranded(&player).await {
                moved += 1;
            }
        }
        moved
    }
}

/// What went wrong, for the audit row and the log: `failed: ...`, with the
/// first error of invalid files.
fn failure_detail(failed: &ReloadFailed) -> String {
    match failed {
        ReloadFailed::Invalid(errors) => match errors.first() {
            Some(first) => format!("failed: {failed}; the first: {first}"),
            None => format!("failed: {failed}"),
        },
        other => format!("failed: {other}"),
    }
}

/// How many worlds and rooms a set holds.
fn counts(worlds: &Worlds) -> (usize, usize) {
    (worlds.len(), worlds.iter().map(|w| w.room_count()).sum())
}

fn audit_entry(by: &Reloader, detail: String) -> AuditEntry {
    AuditEntry {
        actor_user_id: None,
        action: by.action.clone(),
        target: None,
        detail: Some(detail),
    }
}
