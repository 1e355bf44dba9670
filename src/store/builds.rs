//! What the database keeps of building: who may build where (the build grant
//! in `world_permissions`), each builder's last changes for `/undo` and
//! `/redo` (`build_history`), and the one transaction a build commits in.
//!
//! [`Builds::record`] decides and records a build on fresh state: in one
//! `BEGIN IMMEDIATE` transaction it reads the builder's account (still a
//! worldbuilder with the grant, or an admin), keeps the change in the history
//! (or marks one undone or redone), writes the `build.<verb>` audit row,
//! takes away the instances of item kinds the change removed, places the
//! items the changed files newly place, and then runs the caller's write of
//! the world files, committing only when the files were written. A refusal or
//! a failed write leaves no row; a commit that fails after the files were
//! written is reported with what was written, so the caller can put the
//! files back. The store knows nothing of what a world file says: the edits
//! are text it keeps.

use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::accounts::account_by_id;
use super::audit::{self, AuditEntry};
use super::worlds::{PlacedItem, register_world};
use super::{Store, StoreError, StoreResult, now_iso};
use crate::auth::Role;
use crate::world::World;

/// How many of a builder's changes to one world are kept for `/undo`.
pub const HISTORY_DEPTH: i64 = 20;

/// The typed front for building (see [`Store::builds`]).
pub struct Builds<'s> {
    store: &'s Store,
}

/// Why the store refused a build; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum BuildRefused {
    /// The account is no longer a worldbuilder (or was banned or deleted).
    #[error("the account may not build")]
    NotAllowed,
    /// A worldbuilder without the build grant for the world.
    #[error("the account may not build in this world")]
    NoGrant,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One change kept in a builder's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub id: i64,
    pub verb: String,
    /// The room or item changed, as the audit row names it.
    pub target: String,
    pub summary: String,
    /// The edits that make the change, as text.
    pub forward: String,
    /// The edits that take it back, as text.
    pub inverse: String,
    pub created_at: String,
}

/// What a build does to the builder's history.
#[derive(Debug, Clone)]
pub enum Step {
    /// A new change, kept on top (the builder's undone changes in the world
    /// are dropped, and only the last [`HISTORY_DEPTH`] kept).
    New {
        verb: String,
        target: String,
        summary: String,
        forward: String,
        inverse: String,
    },
    /// The kept change `id` was taken back.
    Undo { id: i64 },
    /// The undone change `id` was made again.
    Redo { id: i64 },
}

/// A build to record, checked and ready to write.
#[derive(Debug, Clone)]
pub struct BuildRecord {
    pub user_id: i64,
    /// The world as it will be: registered, its new placements placed.
    pub world: Arc<World>,
    pub audit: AuditEntry,
    pub step: Step,
    /// Item kinds the change removed: their instances go, wherever they are.
    pub gone_items: Vec<String>,
}

/// An item instance a build took away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vanished {
    pub id: i64,
    pub item_key: String,
    pub from: VanishedFrom,
}

/// Where a vanished instance was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VanishedFrom {
    /// Lying in a room (`zone:room`).
    Room(String),
    /// Carried by a character.
    Character(i64),
}

/// A build recorded and written.
#[derive(Debug)]
pub struct Recorded<W> {
    /// What the caller's write returned.
    pub written: W,
    pub placed: Vec<PlacedItem>,
    pub vanished: Vec<Vanished>,
}

/// Why a build was not recorded.
#[derive(Debug)]
pub enum NotRecorded<W, E> {
    /// Refused before anything was written.
    Refused(BuildRefused),
    /// The write failed; nothing was recorded.
    NotWritten(E),
    /// The files were written, but the transaction did not commit: nothing
    /// was recorded, and the caller puts the files back.
    Unrecorded { written: W, err: StoreError },
}

/// A line of `/builds`: one change to a world, from the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildLine {
    pub account: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
    pub created_at: String,
}

impl<'s> Builds<'s> {
    pub(super) fn new(store: &'s Store) -> Self {
        Builds { store }
    }

    /// Whether the account may build in `world_id` now (read fresh): an
    /// active worldbuilder with the grant, or an admin.
    pub async fn may_build(&self, user_id: i64, world_id: &str) -> Result<Role, BuildRefused> {
        let world_id = world_id.to_string();
        self.store
            .call(move |db| Ok(builder_in(db, user_id, &world_id)))
            .await?
    }

    /// The builder's last change to the world that is not undone.
    pub async fn last_change(
        &self,
        user_id: i64,
        world_id: &str,
    ) -> StoreResult<Option<HistoryEntry>> {
        let world_id = world_id.to_string();
        self.store
            .call(move |db| {
                history_entry(
                    db,
                    "WHERE user_id = ?1 AND world_id = ?2 AND undone = 0 ORDER BY id DESC",
                    user_id,
                    &world_id,
                )
            })
            .await
    }

    /// The builder's first undone change to the world (the next to redo).
    pub async fn next_redo(
        &self,
        user_id: i64,
        world_id: &str,
    ) -> StoreResult<Option<HistoryEntry>> {
        let world_id = world_id.to_string();
        self.store
            .call(move |db| {
                history_entry(
                    db,
                    "WHERE user_id = ?1 AND world_id = ?2 AND undone = 1 ORDER BY id ASC",
                    user_id,
                    &world_id,
                )
            })
            .await
    }

    /// Records a build and runs `write` (the world files written) inside its
    /// transaction, which commits only after `write` succeeded; see the
    /// module's opening.
    pub async fn record<W, E>(
        &self,
        record: BuildRecord,
        write: impl FnOnce() -> Result<W, E> + Send + 'static,
    ) -> Result<Recorded<W>, NotRecorded<W, E>>
    where
        W: Send + 'static,
        E: Send + 'static,
    {
        let outcome = self
            .store
            .call(move |db| Ok(record_in(db, &record, write)))
            .await;
        match outcome {
            Ok(outcome) => outcome,
            Err(err) => Err(NotRecorded::Refused(BuildRefused::Store(err))),
        }
    }

    /// The latest `limit` changes to a world, newest first, from the audit
    /// log (`build.*` rows whose target is in the world).
    pub async fn recent(&self, world_id: &str, limit: i64) -> StoreResult<Vec<BuildLine>> {
        let prefix = format!("{world_id}/");
        self.store
            .call(move |db| {
                let mut stmt = db.prepare(
                    "SELECT u.username, a.action, a.target, a.detail, a.created_at \
                     FROM audit_log a LEFT JOIN users u ON u.id = a.actor_user_id \
                     WHERE a.action LIKE 'build.%' \
                     AND substr(a.target, 1, length(?1)) = ?1 \
                     ORDER BY a.id DESC LIMIT ?2",
                )?;
                let rows = stmt.query_map(params![prefix, limit], |r| {
                    Ok(BuildLine {
                        account: r.get(0)?,
                        action: r.get(1)?,
                        target: r.get(2)?,
                        detail: r.get(3)?,
                        created_at: r.get(4)?,
                    })
                })?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await
    }
}

/// The body of [`Builds::record`] on its connection.
fn record_in<W, E>(
    db: &mut Connection,
    record: &BuildRecord,
    write: impl FnOnce() -> Result<W, E>,
) -> Result<Recorded<W>, NotRecorded<W, E>> {
    let refused = |err: BuildRefused| NotRecorded::Refused(err);
    let tx = db
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| refused(StoreError::from(e).into()))?;
    let (placed, vanished) = records_in(&tx, record).map_err(refused)?;
    let written = write().map_err(NotRecorded::NotWritten)?;
    match tx.commit() {
        Ok(()) => Ok(Recorded {
            written,
            placed,
            vanished,
        }),
        Err(err) => Err(NotRecorded::Unrecorded {
            written,
            err: err.into(),
        }),
    }
}

/// Every row a build writes, in the caller's transaction: the decision on the
/// builder's fresh account first.
fn records_in(
    tx: &Connection,
    record: &BuildRecord,
) -> Result<(Vec<PlacedItem>, Vec<Vanished>), BuildRefused> {
    let world_id = record.world.id.as_str();
    let builder = builder_in(tx, record.user_id, world_id)?;
    keep_step(tx, record.user_id, world_id, &record.step)?;
    audit::record(
        tx,
        &AuditEntry {
            actor_user_id: Some(record.user_id),
            ..record.audit.clone()
        },
    )?;
    let vanished = take_away(tx, world_id, &record.gone_items)?;
    let placed = register_world(tx, &record.world)?;
    tracing::debug!(role = %builder, world = world_id, "build recorded");
    Ok((placed, vanished))
}

/// The builder's account read fresh: an active worldbuilder granted the
/// world, or an admin (who builds everywhere).
fn builder_in(tx: &Connection, user_id: i64, world_id: &str) -> Result<Role, BuildRefused> {
    let account = account_by_id(tx, user_id)?.ok_or(BuildRefused::NotAllowed)?;
    if !account.is_active || account.tombstoned_at.is_some() || account.role < Role::Worldbuilder {
        return Err(BuildRefused::NotAllowed);
    }
    if account.role >= Role::Admin {
        return Ok(account.role);
    }
    let granted: Option<bool> = tx
        .query_row(
            "SELECT can_build FROM world_permissions WHERE user_id = ?1 AND world_id = ?2",
            params![user_id, world_id],
            |r| r.get(0),
        )
        .optional()
        .map_err(StoreError::from)?;
    match granted {
        Some(true) => Ok(account.role),
        _ => Err(BuildRefused::NoGrant),
    }
}

/// Keeps a build's step in the builder's history.
fn keep_step(tx: &Connection, user_id: i64, world_id: &str, step: &Step) -> StoreResult<()> {
    match step {
        Step::New {
            verb,
            target,
            summary,
            forward,
            inverse,
        } => {
            tx.execute(
                "DELETE FROM build_history WHERE user_id = ?1 AND world_id = ?2 AND undone = 1",
                params![user_id, world_id],
            )?;
            tx.execute(
                "INSERT INTO build_history (world_id, user_id, verb, target, summary, \
                 forward, inverse, undone, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8)",
                params![
                    world_id,
                    user_id,
                    verb,
                    target,
                    summary,
                    forward,
                    inverse,
                    now_iso()
                ],
            )?;
            tx.execute(
                "DELETE FROM build_history WHERE user_id = ?1 AND world_id = ?2 AND id NOT IN \
                 (SELECT id FROM build_history WHERE user_id = ?1 AND world_id = ?2 \
                  ORDER BY id DESC LIMIT ?3)",
                params![user_id, world_id, HISTORY_DEPTH],
            )?;
        }
        Step::Undo { id } | Step::Redo { id } => {
            let undone = matches!(step, Step::Undo { .. });
            let n = tx.execute(
                "UPDATE build_history SET undone = ?3 WHERE id = ?1 AND user_id = ?2 \
                 AND undone <> ?3",
                params![id, user_id, undone],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound("change"));
            }
        }
    }
    Ok(())
}

/// Takes away every instance of the item kinds `keys` in the world (lying
/// in rooms or carried) and forgets their placements, so that a kind made
/// again is placed again.
fn take_away(tx: &Connection, world_id: &str, keys: &[String]) -> StoreResult<Vec<Vanished>> {
    let mut vanished = Vec::new();
    for key in keys {
        let mut rooms = tx.prepare(
            "SELECT id, room FROM room_items WHERE world_id = ?1 AND item_key = ?2 ORDER BY id",
        )?;
        for row in rooms.query_map(params![world_id, key], |r| Ok((r.get(0)?, r.get(1)?)))? {
            let (id, room) = row?;
            vanished.push(Vanished {
                id,
                item_key: key.clone(),
                from: VanishedFrom::Room(room),
            });
        }
        let mut carried = tx.prepare(
            "SELECT id, character_id FROM character_items \
             WHERE world_id = ?1 AND item_key = ?2 ORDER BY id",
        )?;
        for row in carried.query_map(params![world_id, key], |r| Ok((r.get(0)?, r.get(1)?)))? {
            let (id, character) = row?;
            vanished.push(Vanished {
                id,
                item_key: key.clone(),
                from: VanishedFrom::Character(character),
            });
        }
        for table in [
            "room_items",
            "character_items",
            "container_items",
            "item_placements",
        ] {
            // The table names are constants of this function, never input.
            tx.execute(
                &format!("DELETE FROM {table} WHERE world_id = ?1 AND item_key = ?2"),
                params![world_id, key],
            )?;
        }
    }
    super::items::drop_orphaned_contents(tx)?;
    Ok(vanished)
}

/// The first history entry `filter` (a `WHERE ... ORDER BY` on `?1` user and
/// `?2` world) finds.
fn history_entry(
    db: &Connection,
    filter: &str,
    user_id: i64,
    world_id: &str,
) -> StoreResult<Option<HistoryEntry>> {
    let sql = format!(
        "SELECT id, verb, target, summary, forward, inverse, created_at \
         FROM build_history {filter} LIMIT 1"
    );
    Ok(db
        .query_row(&sql, params![user_id, world_id], |r| {
            Ok(HistoryEntry {
                id: r.get(0)?,
                verb: r.get(1)?,
                target: r.get(2)?,
                summary: r.get(3)?,
                forward: r.get(4)?,
                inverse: r.get(5)?,
                created_at: r.get(6)?,
            })
        })
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::accounts::{AccountChange, Actor, add_account};
    use crate::store::test_store;

    /// World `w` with one room `z:a`, whose files place `items`, loaded
    /// from a temporary folder under `root`.
    fn world(root: &std::path::Path, items: &[&str]) -> Arc<World> {
        let dir = root.join("w");
        std::fs::create_dir_all(dir.join("zones")).expect("mkdir");
        let world = r#"{"name": "W", "description": "", "default_spawn": {"zone": "z", "room": "a"}, "zones": ["z"]}"#;
        std::fs::write(dir.join("world.json"), world).expect("world.json");
        let zone = serde_json::json!({
            "id": "z", "name": "Z", "description": "", "spawn_room": "a",
            "rooms": {"a": {"name": "A", "description": "", "items": items}},
            "items": {"lamp": {"name": "a lamp", "description": ""}}
        });
        std::fs::write(dir.join("zones/z.json"), zone.to_string()).expect("zone");
        crate::world::load(root, None).expect("loads").default
    }

    fn new_step(n: usize) -> Step {
        Step::New {
            verb: "dig".into(),
            target: "z:a".into(),
            summary: format!("change {n}"),
            forward: "[]\n".into(),
            inverse: "[]\n".into(),
        }
    }

    fn record(user_id: i64, world: &Arc<World>, step: Step) -> BuildRecord {
        BuildRecord {
            user_id,
            world: world.clone(),
            audit: AuditEntry {
                actor_user_id: None,
                action: "build.dig".into(),
                target: Some("w/z:a".into()),
                detail: Some("dug".into()),
            },
            step,
            gone_items: Vec::new(),
        }
    }

    async fn ok(store: &Store, record: BuildRecord) -> Recorded<()> {
        match store.builds().record(record, || Ok::<(), ()>(())).await {
            Ok(done) => done,
            Err(NotRecorded::Refused(why)) => panic!("refused: {why}"),
            Err(_) => panic!("not recorded"),
        }
    }

    async fn count(store: &Store, sql: &'static str) -> i64 {
        store
            .call(move |db| Ok(db.query_row(sql, [], |r| r.get(0))?))
            .await
            .expect("count")
    }

    #[tokio::test]
    async fn only_granted_worldbuilders_and_admins_build_decided_on_fresh_state() {
        let (_dir, store, player) = test_store("pat").await;
        let wes = add_account(&store, "wes", Role::Worldbuilder, "x").await;
        let ada = add_account(&store, "ada", Role::Admin, "x").await;
        let builds = store.builds();
        assert!(matches!(
            builds.may_build(player, "w").await,
            Err(BuildRefused::NotAllowed)
        ));
        assert!(matches!(
            builds.may_build(wes, "w").await,
            Err(BuildRefused::NoGrant)
        ));
        assert_eq!(
            builds.may_build(ada, "w").await.expect("admin"),
            Role::Admin
        );
        let as_ada = Actor::Account {
            user_id: ada,
            needs: Role::Admin,
        };
        let grant = |allow| AccountChange::Build {
            world_id: "w".into(),
            allow,
        };
        let accounts = store.accounts();
        accounts
            .change(as_ada, "wes", grant(true), "grant")
            .await
            .expect("grant");
        assert_eq!(
            builds.may_build(wes, "w").await.expect("granted"),
            Role::Worldbuilder
        );
        accounts
            .change(as_ada, "wes", grant(false), "revoke")
            .await
            .expect("revoke");
        assert!(matches!(
            builds.may_build(wes, "w").await,
            Err(BuildRefused::NoGrant)
        ));
        // A revoke of one who had no row makes none (it would let them in).
        accounts
            .change(as_ada, "pat", grant(false), "revoke")
            .await
            .expect("revoke");
        let rows = count(
            &store,
            "SELECT count(*) FROM world_permissions WHERE user_id = 1",
        )
        .await;
        assert_eq!(rows, 0);
        let unknown = AccountChange::Build {
            world_id: "moon".into(),
            allow: true,
        };
        let refused = accounts.change(as_ada, "wes", unknown, "grant").await;
        assert!(matches!(
            refused,
            Err(crate::store::accounts::ChangeRefused::NoWorld(_))
        ));
    }

    #[tokio::test]
    async fn a_build_is_refused_in_its_own_transaction_and_leaves_nothing() {
        let root = tempfile::tempdir().expect("dir");
        let (_dir, store, _) = test_store("pat").await;
        let wes = add_account(&store, "wes", Role::Worldbuilder, "x").await;
        let w = world(root.path(), &[]);
        let wrote = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = wrote.clone();
        let refused = store
            .builds()
            .record(record(wes, &w, new_step(1)), move || {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
                Ok::<(), ()>(())
            })
            .await;
        assert!(matches!(
            refused,
            Err(NotRecorded::Refused(BuildRefused::NoGrant))
        ));
        assert!(
            !wrote.load(std::sync::atomic::Ordering::SeqCst),
            "nothing written"
        );
        let ada = add_account(&store, "ada", Role::Admin, "x").await;
        let failed = store
            .builds()
            .record(record(ada, &w, new_step(1)), || Err::<(), _>("disk full"))
            .await;
        assert!(matches!(failed, Err(NotRecorded::NotWritten("disk full"))));
        assert_eq!(count(&store, "SELECT count(*) FROM audit_log").await, 0);
        assert_eq!(count(&store, "SELECT count(*) FROM build_history").await, 0);
        ok(&store, record(ada, &w, new_step(1))).await;
        assert_eq!(count(&store, "SELECT count(*) FROM audit_log").await, 1);
    }

    #[tokio::test]
    async fn a_builder_keeps_twenty_changes_and_a_new_one_drops_the_undone() {
        let root = tempfile::tempdir().expect("dir");
        let (_dir, store, _) = test_store("pat").await;
        let ada = add_account(&store, "ada", Role::Admin, "x").await;
        let w = world(root.path(), &[]);
        for n in 0..25 {
            ok(&store, record(ada, &w, new_step(n))).await;
        }
        let builds = store.builds();
        assert_eq!(
            count(&store, "SELECT count(*) FROM build_history").await,
            20
        );
        let last = builds
            .last_change(ada, "w")
            .await
            .expect("read")
            .expect("one");
        assert_eq!(last.summary, "change 24");
        ok(&store, record(ada, &w, Step::Undo { id: last.id })).await;
        let before = builds
            .last_change(ada, "w")
            .await
            .expect("read")
            .expect("one");
        assert_eq!(before.summary, "change 23");
        ok(&store, record(ada, &w, Step::Undo { id: before.id })).await;
        let redo = builds
            .next_redo(ada, "w")
            .await
            .expect("read")
            .expect("one");
        assert_eq!(
            redo.summary, "change 23",
            "the first undone is redone first"
        );
        ok(&store, record(ada, &w, new_step(99))).await;
        assert_eq!(builds.next_redo(ada, "w").await.expect("read"), None);
        assert_eq!(
            count(&store, "SELECT count(*) FROM build_history").await,
            19
        );
        // Undoing a change twice is refused by the store itself.
        let twice = store
            .builds()
            .record(record(ada, &w, Step::Redo { id: last.id }), || {
                Ok::<(), ()>(())
            })
            .await;
        assert!(matches!(
            twice,
            Err(NotRecorded::Refused(BuildRefused::Store(_)))
        ));
    }

    #[tokio::test]
    async fn item_kinds_a_build_removes_vanish_everywhere_and_new_ones_are_placed() {
        let root = tempfile::tempdir().expect("dir");
        let (_dir, store, pat) = test_store("pat").await;
        let ada = add_account(&store, "ada", Role::Admin, "x").await;
        let with_lamp = world(root.path(), &["lamp"]);
        let placed = ok(&store, record(ada, &with_lamp, new_step(1)))
            .await
            .placed;
        assert_eq!(placed.len(), 1, "{placed:?}");
        store
            .call(move |db| {
                db.execute(
                    "INSERT INTO characters (id, user_id, world_id, name, created_at) \
                     VALUES (7, ?1, 'w', 'Pat', '')",
                    [pat],
                )?;
                db.execute(
                    "INSERT INTO character_items (character_id, world_id, item_key, acquired_at) \
                     VALUES (7, 'w', 'z:lamp', '')",
                    [],
                )?;
                Ok(())
            })
            .await
            .expect("a carried lamp");
        let without = world(root.path(), &[]);
        let mut gone = record(ada, &without, new_step(2));
        gone.gone_items = vec!["z:lamp".into()];
        let vanished = ok(&store, gone).await.vanished;
        let places: Vec<&VanishedFrom> = vanished.iter().map(|v| &v.from).collect();
        assert_eq!(
            places,
            [
                &VanishedFrom::Room("z:a".into()),
                &VanishedFrom::Character(7)
            ]
        );
        assert_eq!(
            count(&store, "SELECT count(*) FROM item_placements").await,
            0
        );
        // Listed again (an undo), the lamp is placed again.
        let again = ok(&store, record(ada, &with_lamp, new_step(3)))
            .await
            .placed;
        assert_eq!(again.len(), 1);
    }

    #[tokio::test]
    async fn builds_of_a_world_are_read_back_from_the_audit_log() {
        let root = tempfile::tempdir().expect("dir");
        let (_dir, store, _) = test_store("pat").await;
        let ada = add_account(&store, "ada", Role::Admin, "x").await;
        let w = world(root.path(), &[]);
        ok(&store, record(ada, &w, new_step(1))).await;
        let mut elsewhere = record(ada, &w, new_step(2));
        elsewhere.audit.target = Some("w_2/z:a".into());
        ok(&store, elsewhere).await;
        let lines = store.builds().recent("w", 10).await.expect("read");
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0].account.as_deref(), Some("ada"));
        assert_eq!(lines[0].action, "build.dig");
    }
}
