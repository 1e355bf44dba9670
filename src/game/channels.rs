//! The server-wide channels (SPEC §12 "Channels"): what they are (the
//! server's configuration, fixed while it runs), who listens to them now,
//! each account's switches and mutes as its live connections see them, and
//! the fan-out of one line to every listener of every world.
//!
//! The [`Hub`] keeps one [`Listener`] per playing character: the player and
//! its account's [`Member`] (the channels it turned off, as bits, and its
//! mutes), shared by all of that account's connections. Listeners come in
//! when a player's arrival has read its account's records
//! (`Game::arrive`, in `community`) and leave with the player (the
//! `community` observer of moves). Who listens is an immutable snapshot
//! (`Arc<[..]>`) replaced whole on every change, so a line takes one read
//! lock for the snapshot and then, per listener, only atomic loads and a
//! look into the speaker's ignore snapshot: no lock and no store call per
//! listener.
//!
//! The game decides and tells; the sentences (`[ooc] Ann: hi`, the
//! refusals) are the command layer's. Switches and mutes are changed in the
//! store first and then here, one change of an account at a time (the
//! account's lock in [`AccountLocks`]), so what live connections see is
//! what the database holds.
//!
//! **Invariant:** a listener is in the hub only while its player is in the
//! registry: joining checks it under the hub's lock, and leaving (which the
//! registry does first) removes it under the same lock.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use parking_lot::{Mutex, RwLock};

use super::Game;
use super::data::{ChannelEntry, Data, Talk};
use super::registry::Player;
use crate::auth::Role;
use crate::config::ChannelConfig;
use crate::store::StoreResult;
use crate::store::accounts::{AccountChange, Actor, ChangeRefused, Changed};
use crate::store::channels::{Arrival, ChannelLine, MuteRow};

/// One channel as the game knows it.
#[derive(Debug)]
pub struct ChannelDef {
    /// Its place in the configuration (and its bit in a member's switches).
    pub index: usize,
    pub name: Arc<str>,
    pub description: Arc<str>,
    pub read: Role,
    pub write: Role,
    /// Whether guests may speak on it.
    pub guests: bool,
}

impl ChannelDef {
    /// Whether someone of `role` hears it (and may name it at all).
    pub fn readable_by(&self, role: Role) -> bool {
        role >= self.read
    }
}

/// Why a player may not speak on a channel now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpeakRefused {
    /// The player's role may read the channel but not speak on it.
    CannotWrite,
    /// The player is a guest and the channel is closed to guests; `open` is
    /// a channel that is not (`newbie`, by default), if there is one.
    Guest { open: Option<Arc<str>> },
    /// The player's account turned the channel off.
    TurnedOff,
    /// The account is muted on it, for good or until a time.
    Muted { until: Option<DateTime<Utc>> },
    /// The player is not (or no longer) in the game, or its arrival has not
    /// read its records yet.
    Away,
}

/// A line as its listeners get it: one `Talk` for those in the speaker's
/// world, one for everyone else (who see where the speaker is).
pub struct Broadcast {
    pub here: Arc<Talk>,
    pub elsewhere: Arc<Talk>,
}

/// Who listens, and each account's switches and mutes.
pub struct Hub {
    defs: Vec<Arc<ChannelDef>>,
    state: RwLock<HubState>,
    /// One change of an account's channel records at a time.
    pub(super) locks: AccountLocks,
}

#[derive(Default)]
struct HubState {
    /// Playing characters that listen, by character id.
    by_character: HashMap<i64, Arc<Listener>>,
    /// The accounts of those characters, with how many of their characters
    /// listen.
    members: HashMap<i64, (Arc<Member>, usize)>,
    /// Every listener, as the fan-out reads them: replaced whole on change.
    listeners: Arc<[Arc<Listener>]>,
}

/// A playing character that hears channels.
pub struct Listener {
    player: Arc<Player>,
    member: Arc<Member>,
}

/// An account in the game, as the channels see it.
pub struct Member {
    is_guest: bool,
    /// Bit `i` set: channel `i` is turned off.
    off: AtomicU64,
    mutes: Mutex<Vec<Mute>>,
}

/// A mute in force.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mute {
    /// `None`: every channel.
    channel: Option<usize>,
    /// `None`: for good.
    until: Option<DateTime<Utc>>,
}

impl Member {
    fn listens(&self, channel: usize) -> bool {
        self.off.load(Ordering::Relaxed) & (1 << channel) == 0
    }

    fn switch(&self, channel: usize, on: bool) {
        if on {
            self.off.fetch_and(!(1 << channel), Ordering::Relaxed);
        } else {
            self.off.fetch_or(1 << channel, Ordering::Relaxed);
        }
    }

    /// The mute that keeps the account off `channel` now, if any: the one
    /// that lasts longest (for good beats any time).
    fn muted(&self, channel: usize, now: DateTime<Utc>) -> Option<Mute> {
        let mutes = self.mutes.lock();
        let mut in_force = mutes.iter().filter(|m| {
            m.channel.is_none_or(|c| c == channel) && m.until.is_none_or(|until| until > now)
        });
        let first = in_force.next()?.clone();
        Some(
            in_force.fold(first, |longest, m| match (&longest.until, &m.until) {
                (None, _) => longest,
                (_, None) => m.clone(),
                (Some(a), Some(b)) if b > a => m.clone(),
                _ => longest,
            }),
        )
    }
}

impl Hub {
    /// The channels of `config`, nobody listening yet.
    pub fn new(config: &[ChannelConfig]) -> Hub {
        let defs = config
            .iter()
            .enumerate()
            .map(|(index, c)| {
                Arc::new(ChannelDef {
                    index,
                    name: Arc::from(c.name.as_str()),
                    description: Arc::from(c.description.as_str()),
                    read: c.read,
                    write: c.write,
                    guests: c.guests,
                })
            })
            .collect();
        Hub {
            defs,
            state: RwLock::new(HubState::default()),
            locks: AccountLocks::default(),
        }
    }

    fn named(&self, name: &str) -> Option<&Arc<ChannelDef>> {
        self.defs.iter().find(|def| &*def.name == name)
    }

    fn listeners(&self) -> Arc<[Arc<Listener>]> {
        self.state.read().listeners.clone()
    }

    fn member_of(&self, character_id: i64) -> Option<Arc<Member>> {
        let state = self.state.read();
        Some(state.by_character.get(&character_id)?.member.clone())
    }

    /// Puts a player among the listeners with its account's records (or the
    /// account's member already there, which live changes kept current),
    /// if `still_playing` says it is in the game. Whether another character
    /// of the account was listening already.
    pub(super) fn join(
        &self,
        player: &Arc<Player>,
        records: &Arrival,
        still_playing: impl FnOnce() -> bool,
    ) -> Option<bool> {
        let mut state = self.state.write();
        if !still_playing() {
            return None;
        }
        let user_id = player.user_id();
        let (member, count) = state
            .members
            .entry(user_id)
            .or_insert_with(|| (Arc::new(self.member(records)), 0));
        *count += 1;
        let company = *count > 1;
        let listener = Arc::new(Listener {
            player: player.clone(),
            member: member.clone(),
        });
        if let Some(old) = state.by_character.insert(player.character_id, listener) {
            release(&mut state.members, old.player.user_id());
        }
        state.rebuild();
        Some(company)
    }

    /// Takes a character's listener out, if it is `conn_id`'s (a takeover's
    /// newcomer may have replaced it).
    pub(super) fn leave(&self, character_id: i64, conn_id: Option<u64>) {
        let mut state = self.state.write();
        let Some(listener) = state.by_character.get(&character_id) else {
            return;
        };
        if conn_id.is_some_and(|conn| conn != listener.player.conn_id) {
            return;
        }
        if let Some(gone) = state.by_character.remove(&character_id) {
            release(&mut state.members, gone.player.user_id());
        }
        state.rebuild();
    }

    /// An account's records as a member.
    fn member(&self, records: &Arrival) -> Member {
        let mut off = 0u64;
        for name in &records.off {
            if let Some(def) = self.named(name) {
                off |= 1 << def.index;
            }
        }
        let mutes = records
            .mutes
            .iter()
            .filter_map(|row| self.mute_of(row))
            .collect();
        Member {
            is_guest: records.is_guest,
            off: AtomicU64::new(off),
            mutes: Mutex::new(mutes),
        }
    }

    /// A stored mute as the game keeps it; `None` for a channel no longer
    /// configured (or a time that does not read).
    fn mute_of(&self, row: &MuteRow) -> Option<Mute> {
        let channel = match &row.channel {
            None => None,
            Some(name) => Some(self.named(name)?.index),
        };
        let until = match &row.until {
            None => None,
            Some(text) => Some(DateTime::parse_from_rfc3339(text).ok()?.with_timezone(&Utc)),
        };
        Some(Mute { channel, until })
    }
}

impl HubState {
    fn rebuild(&mut self) {
        self.listeners = self.by_character.values().cloned().collect();
    }
}

/// One character of an account fewer listening; the member goes with the last.
fn release(members: &mut HashMap<i64, (Arc<Member>, usize)>, user_id: i64) {
    if let Some((_, count)) = members.get_mut(&user_id) {
        *count = count.saturating_sub(1);
        if *count == 0 {
            members.remove(&user_id);
        }
    }
}

/// Locks that make the changes to one account's channel records (switches,
/// mutes, ignores) and its arrival's read of them go one at a time, so live
/// connections never keep a state older than the database's. Accounts share
/// a lock by their id's stripe: such changes are rare and short.
pub struct AccountLocks([tokio::sync::Mutex<()>; 64]);

impl Default for AccountLocks {
    fn default() -> Self {
        AccountLocks(std::array::from_fn(|_| tokio::sync::Mutex::new(())))
    }
}

impl AccountLocks {
    pub(super) async fn lock(&self, user_id: i64) -> tokio::sync::MutexGuard<'_, ()> {
        let stripe = user_id.unsigned_abs() as usize % self.0.len();
        self.0[stripe].lock().await
    }
}

impl Game {
    /// Every channel, in the configuration's order.
    pub fn channels(&self) -> &[Arc<ChannelDef>] {
        &self.channels.defs
    }

    /// The channel a word names for someone of `role`: only the channels it
    /// may read exist for it.
    pub fn channel_for(&self, word: &str, role: Role) -> Option<&Arc<ChannelDef>> {
        let word = word.to_lowercase();
        self.channels
            .named(&word)
            .filter(|def| def.readable_by(role))
    }

    /// Any channel by its name, whoever asks (`/mute`).
    pub fn channel_named(&self, name: &str) -> Option<&Arc<ChannelDef>> {
        self.channels.named(&name.to_lowercase())
    }

    /// Whether `player` may speak on `channel` now, decided on its live role
    /// and its account's live switches and mutes.
    pub fn may_speak(&self, player: &Player, channel: &ChannelDef) -> Result<(), SpeakRefused> {
        let role = player.role();
        if role < channel.write {
            return Err(SpeakRefused::CannotWrite);
        }
        let member = self
            .channels
            .member_of(player.character_id)
            .ok_or(SpeakRefused::Away)?;
        if member.is_guest && !channel.guests {
            let open = self
                .channels
                .defs
                .iter()
                .find(|def| def.guests && def.readable_by(role) && role >= def.write)
                .map(|def| def.name.clone());
            return Err(SpeakRefused::Guest { open });
        }
        if !member.listens(channel.index) {
            return Err(SpeakRefused::TurnedOff);
        }
        match member.muted(channel.index, Utc::now()) {
            Some(mute) => Err(SpeakRefused::Muted { until: mute.until }),
            None => Ok(()),
        }
    }

    /// Sends a line to everyone listening to `channel` in every world, the
    /// speaker too, but to nobody whose account ignores the speaker's, nor to
    /// anyone whose role no longer reads it. Never waits.
    pub fn broadcast(&self, speaker: &Player, channel: &ChannelDef, line: &Broadcast) {
        let deaf = self.deaf_to(speaker);
        for listener in self.channels.listeners().iter() {
            let player = &listener.player;
            if !listener.member.listens(channel.index)
                || !channel.readable_by(player.role())
                || !deaf.hears(player)
            {
                continue;
            }
            let talk = if player.world == speaker.world {
                &line.here
            } else {
                &line.elsewhere
            };
            player.hear(talk);
        }
    }

    /// A line from the server itself to everyone listening to the channel
    /// `name` whose role reads it, in every world (nobody's ignore applies:
    /// it has no speaker). Not stored: it is no player's talk. False when no
    /// channel has that name (an operator may have configured it away).
    pub fn announce_on(&self, name: &str, text: &str) -> bool {
        let Some(channel) = self.channel_named(name) else {
            return false;
        };
        let talk = Talk::on_channel(
            &channel.name,
            "gaslamp".to_string(),
            format!("[{}] {text}", channel.name),
        );
        for listener in self.channels.listeners().iter() {
            if listener.member.listens(channel.index) && channel.readable_by(listener.player.role())
            {
                listener.player.hear(&talk);
            }
        }
        true
    }

    /// How many players listen to `channel` now.
    pub fn listening_to(&self, channel: &ChannelDef) -> usize {
        self.channels
            .listeners()
            .iter()
            .filter(|l| l.member.listens(channel.index) && channel.readable_by(l.player.role()))
            .count()
    }

    /// Whether the player's account listens to `channel` (on, as far as its
    /// switch goes; `false` before its arrival read its records).
    pub fn listens(&self, player: &Player, channel: &ChannelDef) -> bool {
        self.channels
            .member_of(player.character_id)
            .is_some_and(|member| member.listens(channel.index))
    }

    /// `<channel> on` or `off`: kept for the account, then live on all of its
    /// connections.
    pub async fn switch_channel(
        &self,
        player: &Player,
        channel: &ChannelDef,
        on: bool,
    ) -> StoreResult<()> {
        let user_id = player.user_id();
        let _one_at_a_time = self.channels.locks.lock(user_id).await;
        self.store()
            .channels()
            .set_listening(user_id, &channel.name, on)
            .await?;
        if let Some(member) = self.channels.member_of(player.character_id) {
            member.switch(channel.index, on);
        }
        Ok(())
    }

    /// The channels the player hears, for its client (`Comm.Channel.List`).
    pub fn channel_list(&self, player: &Player) -> Data {
        let role = player.role();
        let member = self.channels.member_of(player.character_id);
        let entries = self
            .channels
            .defs
            .iter()
            .filter(|def| def.readable_by(role))
            .filter(|def| member.as_ref().is_none_or(|m| m.listens(def.index)))
            .map(|def| ChannelEntry {
                name: def.name.clone(),
                caption: def.description.clone(),
                command: def.name.clone(),
            })
            .collect();
        Data::ChannelList(entries)
    }

    /// The last `limit` lines of `channel` from the database (the writer
    /// flushed first, unless it is failing), without those of accounts `viewer` ignores.
    pub async fn channel_history(
        &self,
        channel: &ChannelDef,
        viewer: i64,
        limit: usize,
    ) -> StoreResult<Vec<ChannelLine>> {
        self.flush_before_reading("a channel's history").await;
        self.store()
            .channels()
            .history(&channel.name, viewer, limit)
            .await
    }

    /// `/mute` and `/unmute`: the change made by the one account-change path
    /// (the hierarchy, the row and its audit in one transaction), with the
    /// target's records locked so its live connections follow in order.
    pub async fn change_mutes(
        &self,
        actor: Actor,
        target: &str,
        change: AccountChange,
        action: &str,
    ) -> Result<Changed, ChangeRefused> {
        let found = self.store().accounts().find(target).await?;
        let _one_at_a_time = match &found {
            Some(account) => Some(self.channels.locks.lock(account.id).await),
            // The change refuses an unknown account itself.
            None => None,
        };
        self.change_account(actor, target, change, action).await
    }

    /// Brings a committed mute or unmute to the account's live connections.
    pub(super) fn mutes_changed(&self, user_id: i64, change: &AccountChange) {
        let member = {
            let state = self.channels.state.read();
            state
                .members
                .get(&user_id)
                .map(|(member, _)| member.clone())
        };
        let Some(member) = member else {
            return;
        };
        match change {
            AccountChange::Mute { channel, until, .. } => {
                let row = MuteRow {
                    channel: channel.clone(),
                    until: until.clone(),
                };
                if let Some(mute) = self.channels.mute_of(&row) {
                    let mut mutes = member.mutes.lock();
                    mutes.retain(|m| m.channel != mute.channel);
                    mutes.push(mute);
                }
            }
            AccountChange::Unmute { channel: None } => member.mutes.lock().clear(),
            AccountChange::Unmute {
                channel: Some(name),
            } => {
                if let Some(def) = self.channels.named(name) {
                    let lifted = Some(def.index);
                    member.mutes.lock().retain(|m| m.channel != lifted);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn member() -> Member {
        Member {
            is_guest: false,
            off: AtomicU64::new(0),
            mutes: Mutex::new(Vec::new()),
        }
    }

    #[test]
    fn switches_are_bits_of_the_channels() {
        let m = member();
        assert!(m.listens(0) && m.listens(3));
        m.switch(3, false);
        assert!(m.listens(0) && !m.listens(3));
        m.switch(3, true);
        assert!(m.listens(3));
    }

    #[test]
    fn the_mute_that_lasts_longest_is_the_one_told() {
        let now = Utc::now();
        let m = member();
        let soon = now + Duration::minutes(5);
        let later = now + Duration::hours(2);
        m.mutes.lock().extend([
            Mute {
                channel: Some(0),
                until: Some(soon),
            },
            Mute {
                channel: None,
                until: Some(later),
            },
            Mute {
                channel: Some(1),
                until: Some(now - Duration::minutes(1)),
            },
        ]);
        assert_eq!(m.muted(0, now).map(|x| x.until), Some(Some(later)));
        assert_eq!(m.muted(1, now).map(|x| x.until), Some(Some(later)));
        assert_eq!(m.muted(0, later + Duration::seconds(1)), None);
        m.mutes.lock().push(Mute {
            channel: Some(0),
            until: None,
        });
        assert_eq!(m.muted(0, now).map(|x| x.until), Some(None));
    }
}
