//! Building while the game runs: a builder's order (`/dig`, `/link`, ...),
//! `/undo` and `/redo`, each one game action that decides, checks, writes,
//! records and puts the change in play, one at a time (under the same lock as
//! `/reload`, held from the first read of the world to the swap, so builders
//! working at once all keep their changes).
//!
//! A build reads the builder's right to build fresh, plans the order against
//! the world in play (`world::plan`), applies the edits to a copy of the
//! world's documents and checks the whole world as the loader does (plus
//! the builder's rules: lengths, no last way out of the spawn). Then one
//! store transaction decides the right again, keeps the change in the
//! builder's history, writes the `build.<verb>` audit row, takes away item
//! instances of removed kinds and places new ones, and — inside it — the
//! world files are written (new or gaining files first, the referring one
//! last); it commits only when they were. A write that fails part-way, or a
//! commit that fails after the files were written, puts the files back, so
//! the files, the live world and the audit log agree. Only then is the
//! world swapped in: item caches and clients follow, players in rooms whose
//! map facts changed get `Room.Info` again, and anyone whose room is gone is
//! rescued to the spawn by the one move path. The action returns what was
//! done; the command layer words it.

use std::path::PathBuf;
use std::sync::Arc;

use super::Game;
use super::data::{Data, ItemRef, Place, RoomInfo};
use super::items::ItemInstance;
use super::registry::{Player, RoomKey};
use crate::store::StoreError;
use crate::store::audit::AuditEntry;
use crate::store::builds::{
    BuildRecord, BuildRefused, HistoryEntry, NotRecorded, Recorded, Step, Vanished, VanishedFrom,
};
use crate::world::plan::{self, Done, Order, Refused};
use crate::world::{
    Checked, CommitError, Committed, Edit, EditError, NotWritten, RoomId, World, WorldError,
    WorldSource, WriteError, Written, edits_from_text, edits_to_text,
};

/// Who builds, and where they stand.
#[derive(Debug, Clone)]
pub struct Builder {
    pub user_id: i64,
    /// The account's name, for the log.
    pub account: Arc<str>,
    pub world: Arc<str>,
    pub here: RoomId,
}

/// What a builder asks for.
#[derive(Debug, Clone)]
pub enum Ask {
    Order(Order),
    /// The builder's last change in this world, taken back.
    Undo,
    /// The builder's last undone change in this world, made again.
    Redo,
}

/// What a build did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Did {
    Change(Done),
    /// Took back the change the summary describes.
    Undone(String),
    Redone(String),
}

/// A build that was made.
#[derive(Debug)]
pub struct Built {
    pub did: Did,
    /// The files written (or removed), in order, named relative to the
    /// worlds folder.
    pub written: Vec<Written>,
    /// Item instances taken away with their kind, for whoever saw them.
    pub vanished: Vec<VanishedItem>,
    /// Players sent to the spawn because their room is gone.
    pub rescued: usize,
}

/// An item instance a build took away.
#[derive(Debug, Clone)]
pub struct VanishedItem {
    /// Its name, as it was.
    pub name: String,
    /// The room it lay in, or the player carrying it (when in the game).
    pub room: Option<RoomKey>,
    pub carrier: Option<Arc<Player>>,
}

/// Why nothing was built; the files, the world in play and the records are
/// as they were.
#[derive(Debug, thiserror::Error)]
pub enum BuildFailed {
    /// No longer a worldbuilder (the role sentence).
    #[error("the account may not build")]
    NotAllowed,
    /// A worldbuilder without the grant for this world.
    #[error("no build grant for this world")]
    NoGrant,
    #[error("the builder's world is gone")]
    NoWorld,
    #[error("{0}")]
    Refused(Refused),
    /// An undo or redo whose edits no longer fit the world.
    #[error("{0}")]
    NoLongerFits(EditError),
    /// The changed world does not pass the loader's checks.
    #[error("{} error(s) in the changed world", .0.len())]
    Invalid(Vec<WorldError>),
    /// A file was edited on disk since it was loaded: `<path> was changed
    /// on disk; /reload first.` (the path relative to the worlds folder).
    #[error("{0} was changed on disk")]
    ChangedOnDisk(PathBuf),
    /// The files could not be written (a full disk, a read-only folder).
    #[error("{0}")]
    NotWritten(String),
    #[error("nothing to undo")]
    NothingToUndo,
    #[error("nothing to redo")]
    NothingToRedo,
    /// The kept history cannot be read back.
    #[error("the kept change cannot be read")]
    Unreadable,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<BuildRefused> for BuildFailed {
    fn from(refused: BuildRefused) -> BuildFailed {
        match refused {
            BuildRefused::NotAllowed => BuildFailed::NotAllowed,
            BuildRefused::NoGrant => BuildFailed::NoGrant,
            BuildRefused::Store(err) => BuildFailed::Store(err),
        }
    }
}

/// A change ready to record: its edits, how they go into the history, what
/// it does.
struct Prepared {
    edits: Vec<Edit>,
    did: Did,
    /// The audit row's verb and target.
    verb: String,
    target: String,
    /// `Some(id)` for an undo or redo of kept change `id`.
    kept: Option<i64>,
}

impl Game {
    /// Makes one build (see the module's opening). It runs as a task of the
    /// game's own, so that once begun it is finished whatever becomes of the
    /// builder's connection (the files, the records and the world in play
    /// must agree), and a shutdown waits for it.
    pub async fn build(self: &Arc<Self>, by: &Builder, ask: Ask) -> Result<Built, BuildFailed> {
        let (game, by) = (self.clone(), by.clone());
        let task = self
            .tasks
            .spawn(async move { game.build_now(&by, ask).await });
        match task.await {
            Ok(built) => built,
            Err(err) => Err(BuildFailed::Store(StoreError::Task(err.to_string()))),
        }
    }

    async fn build_now(&self, by: &Builder, ask: Ask) -> Result<Built, BuildFailed> {
        let _one_at_a_time = self.world_changes.lock().await;
        self.store()
            .builds()
            .may_build(by.user_id, &by.world)
            .await?;
        let world = self.world(&by.world).ok_or(BuildFailed::NoWorld)?;
        let prepared = self.prepare(&world, by, ask).await?;
        let (checked, inverse) = checked_change(&world, &prepared.edits)?;
        let record = self.record_of(by, &prepared, &inverse, checked.world());
        let before = world.source().clone();
        let recorded = self
            .store()
            .builds()
            .record(record, move || checked.write())
            .await;
        let recorded = settle(recorded, &before)?;
        tracing::info!(
            by = %by.account,
            world = %by.world,
            verb = %prepared.verb,
            target = %prepared.target,
            files = recorded.written.written.len(),
            "built"
        );
        let (written, vanished, rescued) = self.put_build_in_play(&world, recorded).await;
        Ok(Built {
            did: prepared.did,
            written,
            vanished,
            rescued,
        })
    }

    /// Swaps a recorded build's world in and brings everyone along: item
    /// caches and clients, `Room.Info`, rescues. Returns the files written,
    /// the vanished items and how many players were rescued.
    async fn put_build_in_play(
        &self,
        old: &World,
        recorded: Recorded<Committed>,
    ) -> (Vec<Written>, Vec<VanishedItem>, usize) {
        let Recorded {
            written: Committed { world, written },
            placed,
            vanished,
        } = recorded;
        let new = Arc::new(world);
        self.put_world(new.clone());
        // An NPC placed or taken away by the build comes or goes now.
        self.place_npcs(&new).await;
        let vanished = self.follow_items(old, &new, placed, vanished);
        self.refresh_room_info(old, &new);
        self.forget_changed_doors(old, &new).await;
        let rescued = self.rescue_from_gone_rooms(&new.id).await;
        (written, vanished, rescued)
    }

    /// The builder's changes to a world as kept for undo, read fresh (for
    /// `/builds` the audit log tells the whole story; this is one builder's).
    async fn kept_change(&self, by: &Builder, undo: bool) -> Result<HistoryEntry, BuildFailed> {
        let builds = self.store().builds();
        let kept = if undo {
            builds.last_change(by.user_id, &by.world).await?
        } else {
            builds.next_redo(by.user_id, &by.world).await?
        };
        kept.ok_or(if undo {
            BuildFailed::NothingToUndo
        } else {
            BuildFailed::NothingToRedo
        })
    }

    /// Turns what the builder asked into edits (an order planned against the
    /// world in play, or a kept change's edits read back).
    async fn prepare(
        &self,
        world: &World,
        by: &Builder,
        ask: Ask,
    ) -> Result<Prepared, BuildFailed> {
        let undo = matches!(ask, Ask::Undo);
        match ask {
            Ask::Order(order) => {
                let planned = plan::plan(world, &by.here, &order).map_err(BuildFailed::Refused)?;
                Ok(Prepared {
                    edits: planned.edits,
                    verb: order.verb().to_string(),
                    target: planned.done.target(),
                    did: Did::Change(planned.done),
                    kept: None,
                })
            }
            Ask::Undo | Ask::Redo => {
                let kept = self.kept_change(by, undo).await?;
                let text = if undo { &kept.inverse } else { &kept.forward };
                let edits = edits_from_text(text).ok_or(BuildFailed::Unreadable)?;
                let did = if undo {
                    Did::Undone(kept.summary.clone())
                } else {
                    Did::Redone(kept.summary.clone())
                };
                Ok(Prepared {
                    edits,
                    verb: if undo { "undo" } else { "redo" }.to_string(),
                    target: kept.target.clone(),
                    did,
                    kept: Some(kept.id),
                })
            }
        }
    }

    /// The store's record of a checked change.
    fn record_of(
        &self,
        by: &Builder,
        prepared: &Prepared,
        inverse: &[Edit],
        after: &World,
    ) -> BuildRecord {
        let summary = match &prepared.did {
            Did::Change(done) => done.summary(),
            Did::Undone(summary) => format!("undid: {summary}"),
            Did::Redone(summary) => format!("redid: {summary}"),
        };
        let step = match (prepared.kept, &prepared.did) {
            (Some(id), Did::Undone(_)) => Step::Undo { id },
            (Some(id), _) => Step::Redo { id },
            (None, _) => Step::New {
                verb: prepared.verb.clone(),
                target: prepared.target.clone(),
                summary: summary.clone(),
                forward: edits_to_text(&prepared.edits),
                inverse: edits_to_text(inverse),
            },
        };
        BuildRecord {
            user_id: by.user_id,
            world: Arc::new(after.clone()),
            audit: AuditEntry {
                actor_user_id: None,
                action: format!("build.{}", prepared.verb),
                target: Some(format!("{}/{}", by.world, prepared.target)),
                detail: Some(summary),
            },
            step,
            gone_items: prepared
                .edits
                .iter()
                .filter_map(Edit::removes_item)
                .collect(),
        }
    }

    /// Puts a changed world in play in place of the one of its id.
    fn put_world(&self, world: Arc<World>) {
        let mut loaded = self.worlds.write();
        if loaded.default.id == world.id {
            loaded.default = world.clone();
        }
        loaded.worlds = Arc::new(loaded.worlds.with(world));
    }

    /// Brings the item caches and clients up to the build: instances taken
    /// away leave their rooms (and their carriers' lists), new ones appear.
    /// Returns the vanished ones with their names, for the reply.
    fn follow_items(
        &self,
        old: &World,
        new: &World,
        placed: Vec<crate::store::worlds::PlacedItem>,
        vanished: Vec<Vanished>,
    ) -> Vec<VanishedItem> {
        let world_id: Arc<str> = Arc::from(new.id.as_str());
        let mut told = Vec::new();
        for gone in vanished {
            let name = old
                .item(&gone.item_key)
                .map_or_else(|| "something".to_string(), |item| item.name.clone());
            let thing = ItemRef {
                id: gone.id,
                name: name.clone(),
            };
            let (room, carrier) = match gone.from {
                VanishedFrom::Room(room) => {
                    let room = RoomId::parse_full(&room).map(|r| RoomKey::new(&world_id, &r));
                    if let Some(key) = &room {
                        self.items().remove(key, gone.id);
                        self.room_item_changed(key, thing, false, &[]);
                    }
                    (room, None)
                }
                VanishedFrom::Character(character) => {
                    let carrier = self.registry().by_character(character);
                    if let Some(player) = &carrier {
                        player.give(Data::ItemRemove {
                            place: Place::Inventory,
                            item: thing,
                        });
                    }
                    (None, carrier)
                }
            };
            told.push(VanishedItem {
                name,
                room,
                carrier,
            });
        }
        for item in placed {
            let Some(room) = RoomId::parse_full(&item.room) else {
                continue;
            };
            let key = RoomKey::new(&world_id, &room);
            let instance = ItemInstance {
                id: item.id,
                key: Arc::from(item.item_key),
            };
            let thing = super::feed::item_ref(new, &instance);
            self.items().put(&key, instance);
            self.room_item_changed(&key, thing, true, &[]);
        }
        told
    }

    /// Sends `Room.Info` again to every player of the world whose room's
    /// map facts (name, exits) the build changed.
    fn refresh_room_info(&self, old: &World, new: &World) {
        for player in self.registry().players(Some(&new.id)) {
            if !player.session.profile().structured() {
                continue;
            }
            let room = player.room();
            let now = RoomInfo::of(new, &room);
            if let Some(info) = now.filter(|now| Some(now) != RoomInfo::of(old, &room).as_ref()) {
                player.give(Data::RoomInfo(Arc::new(info)));
            }
        }
    }

    /// Rescues every player of the world whose room the build took away.
    async fn rescue_from_gone_rooms(&self, world: &str) -> usize {
        let mut rescued = 0;
        for player in self.registry().players(Some(world)) {
            if self.rescue_if_stranded(&player).await {
                rescued += 1;
            }
        }
        rescued
    }

    /// Whether the account may build in the world now (read fresh), before
    /// a builder is asked for a long text; the build decides again.
    pub async fn may_build(&self, user_id: i64, world: &str) -> Result<(), BuildFailed> {
        self.store().builds().may_build(user_id, world).await?;
        Ok(())
    }

    /// The last `limit` builds in a world, newest first (`/builds`).
    pub async fn recent_builds(
        &self,
        world: &str,
        limit: i64,
    ) -> Result<Vec<crate::store::builds::BuildLine>, StoreError> {
        self.store().builds().recent(world, limit).await
    }
}

/// The edits applied to a copy of the world's documents and the whole world
/// checked, as the loader and the builder's rules check it; with the edits
/// that take the change back.
fn checked_change(world: &World, edits: &[Edit]) -> Result<(Checked, Vec<Edit>), BuildFailed> {
    let mut source = WorldSource::clone(world.source());
    let inverse = source.apply_all(edits).map_err(BuildFailed::NoLongerFits)?;
    let checked = source.check().map_err(|err| match err {
        CommitError::Invalid(errors) => BuildFailed::Invalid(errors),
        CommitError::Write(err) => write_failed(err),
    })?;
    plan::keeps_a_way_out(world, checked.world()).map_err(BuildFailed::Refused)?;
    Ok((checked, inverse))
}

/// What became of the store's record: the recorded build, or the failure
/// once the files are put back as they were.
fn settle(
    recorded: Result<Recorded<Committed>, NotRecorded<Committed, NotWritten>>,
    before: &WorldSource,
) -> Result<Recorded<Committed>, BuildFailed> {
    match recorded {
        Ok(recorded) => Ok(recorded),
        Err(NotRecorded::Refused(refused)) => Err(refused.into()),
        Err(NotRecorded::NotWritten(failed)) => {
            put_back(&failed.written, before);
            Err(write_failed(failed.error))
        }
        Err(NotRecorded::Unrecorded { written, err }) => {
            put_back(written.world.source(), before);
            Err(BuildFailed::Store(err))
        }
    }
}

/// Puts files written by a change that did not go through back as they
/// were; a failure is logged (the files then say more than the records).
fn put_back(written: &WorldSource, before: &WorldSource) {
    if let Err(err) = written.put_back(before) {
        tracing::error!(%err, world = %before.id(), "a failed build's files could not be put back");
    }
}

fn write_failed(err: WriteError) -> BuildFailed {
    match err {
        WriteError::ChangedOnDisk { path } => BuildFailed::ChangedOnDisk(path),
        other => BuildFailed::NotWritten(other.to_string()),
    }
}
