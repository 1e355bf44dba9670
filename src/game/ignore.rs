//! Ignore (SPEC §12 "Ignore"): an account ignores the account behind a
//! character, in every world, on every path that delivers another player's
//! words; nobody is told. Staff (admin+) cannot be ignored, and what the
//! server itself says (`/wall`, moves, the records' sentences) is nobody's
//! words.
//!
//! Every ignore there is stays in memory, both ways round ([`IgnoreIndex`]):
//! read from the store at start, then changed right after each change is
//! committed, one change of an account at a time. A speaker's line takes
//! one snapshot of the accounts that ignore it ([`Deaf`]) and checks each
//! listener against it: no store call and no lock per listener, and nothing
//! at all for a speaker nobody ignores (nearly everyone).
//!
//! For the paths that do not hear live (mail, read later; a room's history
//! and a channel's, filtered by the store in SQL), [`Game::ignores`] answers
//! for one pair of accounts.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use parking_lot::RwLock;

use super::Game;
use super::data::Talk;
use super::registry::{ConnId, Player, RoomKey};
use crate::auth::Role;
use crate::store::StoreResult;
use crate::store::ignores::{IgnoreEntry, IgnoreRefused, Ignored};

/// Who ignores whom, both ways round, each set an immutable snapshot
/// replaced whole on change.
#[derive(Default)]
pub struct IgnoreIndex {
    state: RwLock<IndexState>,
}

#[derive(Default)]
struct IndexState {
    /// An account → the accounts it ignores.
    ignoring: HashMap<i64, Arc<HashSet<i64>>>,
    /// An account → the accounts that ignore it.
    ignored_by: HashMap<i64, Arc<HashSet<i64>>>,
}

impl IndexState {
    fn add(&mut self, who: i64, whom: i64) {
        with(&mut self.ignoring, who, |set| set.insert(whom));
        with(&mut self.ignored_by, whom, |set| set.insert(who));
    }

    fn remove(&mut self, who: i64, whom: i64) {
        with(&mut self.ignoring, who, |set| set.remove(&whom));
        with(&mut self.ignored_by, whom, |set| set.remove(&who));
    }
}

/// Changes a copy of the set under `key` (readers keep the snapshot they
/// hold) and puts it in its place; an empty set is dropped.
fn with(
    map: &mut HashMap<i64, Arc<HashSet<i64>>>,
    key: i64,
    change: impl FnOnce(&mut HashSet<i64>) -> bool,
) {
    let mut set: HashSet<i64> = map.get(&key).map(|s| (**s).clone()).unwrap_or_default();
    change(&mut set);
    if set.is_empty() {
        map.remove(&key);
    } else {
        map.insert(key, Arc::new(set));
    }
}

/// The accounts that must not hear one speaker: a snapshot taken once for
/// a line, checked for each listener.
pub struct Deaf(Option<Arc<HashSet<i64>>>);

impl Deaf {
    /// Whether `listener` hears the speaker.
    pub fn hears(&self, listener: &Player) -> bool {
        self.0
            .as_ref()
            .is_none_or(|deaf| !deaf.contains(&listener.user_id()))
    }
}

impl Game {
    /// Reads every ignore from the store (at start, before anyone plays).
    pub async fn load_ignores(&self) -> StoreResult<usize> {
        let all = self.store().ignores().all().await?;
        let mut state = IndexState::default();
        for (who, whom) in &all {
            state.add(*who, *whom);
        }
        *self.ignores.state.write() = state;
        Ok(all.len())
    }

    /// Whether the account `listener` ignores the account `speaker`, whose
    /// role is `speaker_role` (staff are never ignored): for a path that
    /// delivers one person's words to one other, such as mail.
    pub fn ignores(&self, listener: i64, speaker: i64, speaker_role: Role) -> bool {
        if speaker_role >= Role::Admin {
            return false;
        }
        let state = self.ignores.state.read();
        state
            .ignoring
            .get(&listener)
            .is_some_and(|set| set.contains(&speaker))
    }

    /// The accounts that do not hear `speaker` now (none for staff).
    pub fn deaf_to(&self, speaker: &Player) -> Deaf {
        if speaker.role() >= Role::Admin {
            return Deaf(None);
        }
        let state = self.ignores.state.read();
        Deaf(state.ignored_by.get(&speaker.user_id()).cloned())
    }

    /// Sends `speaker`'s line of talk to everyone in a room but the
    /// connections in `except` and those who ignore the speaker. Never waits.
    pub fn talk_to_room_from(
        &self,
        speaker: &Player,
        room: &RoomKey,
        talk: &Arc<Talk>,
        except: &[ConnId],
    ) {
        let deaf = self.deaf_to(speaker);
        for player in self.occupants(room).iter() {
            if !except.contains(&player.conn_id) && deaf.hears(player) {
                player.hear(talk);
            }
        }
    }

    /// Sends a line about what `speaker` does (a whisper seen from aside) to
    /// everyone in a room but `except` and those who ignore the speaker.
    pub fn tell_room_from(&self, speaker: &Player, room: &RoomKey, line: &str, except: &[ConnId]) {
        let deaf = self.deaf_to(speaker);
        let line: Arc<str> = Arc::from(line);
        for player in self.occupants(room).iter() {
            if !except.contains(&player.conn_id) && deaf.hears(player) {
                player.tell(line.clone());
            }
        }
    }

    /// `ignore <name>[@<world>]`: `me`'s account ignores the account behind
    /// the character `name` of `world` (decided in the store), from now on
    /// in every world.
    pub async fn ignore(
        &self,
        me: &Player,
        world: &str,
        name: &str,
    ) -> Result<Ignored, IgnoreRefused> {
        let user_id = me.user_id();
        let _one_at_a_time = self.channels.locks.lock(user_id).await;
        let ignored = self.store().ignores().ignore(user_id, world, name).await?;
        self.ignores.state.write().add(user_id, ignored.user_id);
        Ok(ignored)
    }

    /// `unignore <name>[@<world>]`.
    pub async fn unignore(
        &self,
        me: &Player,
        world: &str,
        name: &str,
    ) -> Result<Ignored, IgnoreRefused> {
        let user_id = me.user_id();
        let _one_at_a_time = self.channels.locks.lock(user_id).await;
        let ignored = self
            .store()
            .ignores()
            .unignore(user_id, world, name)
            .await?;
        self.ignores.state.write().remove(user_id, ignored.user_id);
        Ok(ignored)
    }

    /// Whom `me`'s account ignores, for `ignore` alone.
    pub async fn ignore_list(&self, me: &Player) -> StoreResult<Vec<IgnoreEntry>> {
        self.store().ignores().list(me.user_id()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_keeps_both_directions_and_drops_empty_sets() {
        let mut state = IndexState::default();
        state.add(1, 2);
        state.add(3, 2);
        state.add(1, 4);
        let held = state.ignored_by.get(&2).cloned().expect("2 is ignored");
        assert_eq!(held.len(), 2);
        state.remove(1, 2);
        assert_eq!(held.len(), 2, "a snapshot taken before is untouched");
        assert_eq!(state.ignored_by[&2].len(), 1);
        assert!(state.ignoring[&1].contains(&4));
        state.remove(3, 2);
        assert!(!state.ignored_by.contains_key(&2));
    }
}
