//! Aliases (SPEC §12 "Aliases"): each account's own words for commands,
//! kept in the store and, while one of the account's characters plays, in
//! memory, so expanding a typed line costs no store call.
//!
//! A playing connection holds its account's set ([`Game::hold_aliases`],
//! an [`AliasHold`] dropped when its play ends, however it ends); the set
//! is read from the store as the player enters and dropped when the
//! account's last hold goes. A change is written first and then applied,
//! one change of an account at a time under its lock (the channels'
//! `AccountLocks`), which the read on entering takes too, so two
//! connections of one account always agree with the store.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::Mutex;

use super::Game;
use super::registry::Player;
use crate::store::StoreResult;
use crate::store::aliases::AliasRefused;

/// An account's aliases: word (in lower case) → expansion.
pub type AliasSet = BTreeMap<String, Arc<str>>;

/// The alias sets of the accounts that play now.
#[derive(Default)]
pub struct AliasBook {
    accounts: Mutex<HashMap<i64, Held>>,
}

struct Held {
    /// Connections of the account playing now.
    holds: usize,
    set: Arc<AliasSet>,
}

impl AliasBook {
    fn change(&self, user_id: i64, change: impl FnOnce(&mut AliasSet)) {
        let mut accounts = self.accounts.lock();
        if let Some(held) = accounts.get_mut(&user_id) {
            let mut set = (*held.set).clone();
            change(&mut set);
            held.set = Arc::new(set);
        }
    }
}

/// A playing connection's hold on its account's aliases.
pub struct AliasHold {
    game: Arc<Game>,
    user_id: i64,
}

impl Drop for AliasHold {
    fn drop(&mut self) {
        let mut accounts = self.game.aliases.accounts.lock();
        if let Some(held) = accounts.get_mut(&self.user_id) {
            held.holds = held.holds.saturating_sub(1);
            if held.holds == 0 {
                accounts.remove(&self.user_id);
            }
        }
    }
}

impl Game {
    /// Holds `user_id`'s aliases in memory while the returned hold lives
    /// (read them with [`Game::load_aliases`]).
    pub fn hold_aliases(self: &Arc<Game>, user_id: i64) -> AliasHold {
        let mut accounts = self.aliases.accounts.lock();
        let held = accounts.entry(user_id).or_insert_with(|| Held {
            holds: 0,
            set: Arc::default(),
        });
        held.holds += 1;
        AliasHold {
            game: self.clone(),
            user_id,
        }
    }

    /// Reads `player`'s account's aliases from the store into its hold.
    pub async fn load_aliases(&self, player: &Player) -> StoreResult<()> {
        let user_id = player.user_id();
        let _one_at_a_time = self.channels.locks.lock(user_id).await;
        let rows = self.store().aliases().list(user_id).await?;
        let set: AliasSet = rows
            .into_iter()
            .map(|(word, expansion)| (word, Arc::from(expansion)))
            .collect();
        self.aliases.change(user_id, |held| *held = set);
        Ok(())
    }

    /// `player`'s account's aliases now (none when not held).
    pub fn aliases_of(&self, player: &Player) -> Arc<AliasSet> {
        let accounts = self.aliases.accounts.lock();
        accounts
            .get(&player.user_id())
            .map(|held| held.set.clone())
            .unwrap_or_default()
    }

    /// Sets `word` (in lower case, checked by the caller) for `player`'s
    /// account; whether it replaced one.
    pub async fn set_alias(
        &self,
        player: &Player,
        word: &str,
        expansion: &str,
    ) -> Result<bool, AliasRefused> {
        let user_id = player.user_id();
        let _one_at_a_time = self.channels.locks.lock(user_id).await;
        let replaced = self.store().aliases().set(user_id, word, expansion).await?;
        self.aliases.change(user_id, |set| {
            set.insert(word.to_string(), Arc::from(expansion));
        });
        Ok(replaced)
    }

    /// Removes `word` from `player`'s account's aliases; the expansion it
    /// had, if any.
    pub async fn unalias(&self, player: &Player, word: &str) -> StoreResult<Option<String>> {
        let user_id = player.user_id();
        let _one_at_a_time = self.channels.locks.lock(user_id).await;
        let removed = self.store().aliases().remove(user_id, word).await?;
        self.aliases.change(user_id, |set| {
            set.remove(word);
        });
        Ok(removed)
    }
}
