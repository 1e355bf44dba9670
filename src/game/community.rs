//! A player coming into the community and leaving it: the arrival that
//! reads what the channels, the ignore list and the character's profile
//! hold for it ([`Game::arrive`], one call when a player enters the game),
//! the observer of moves that keeps the channels' listeners and the
//! characters' personas in step with who plays ([`Presence`]), and the note
//! of when an account went back to the character menu, from which its next
//! catch-up counts (a session's end notes it with the session row's removal).

use std::sync::Arc;

use super::Game;
use super::channels::ChannelDef;
use super::moves::{How, Move, RoomObserver};
use super::registry::Player;
use crate::store::StoreResult;

/// Keeps the channels' listeners and the personas in step with moves into
/// and out of the game. Never waits.
pub struct Presence;

impl RoomObserver for Presence {
    fn moved(&self, game: &Game, moved: &Move) {
        let Some(player) = moved.who.player() else {
            return;
        };
        let (character, conn) = (player.character_id, player.conn_id);
        match moved.how {
            How::Entered => game.personas.entered(character, conn, false),
            How::TookOver => {
                game.personas.entered(character, conn, true);
                // The old connection's listener goes; the newcomer's arrival
                // puts its own in.
                game.channels.leave(character, None);
            }
            How::LeftGame => {
                game.personas.left(character, conn);
                game.channels.leave(character, Some(conn));
            }
            _ => {}
        }
    }
}

/// How long a read waits for the writer's flush at most.
const FLUSH_BEFORE_READING: std::time::Duration = std::time::Duration::from_secs(5);

/// A channel and the lines said on it while the player's account was away.
pub type Missed = Vec<(Arc<ChannelDef>, i64)>;

impl Game {
    /// Lets the writer commit what it holds before a read that should count
    /// it (a catch-up, a history). A writer that is failing (a full disk) is
    /// not waited for, nor one slower than [`FLUSH_BEFORE_READING`]: the read
    /// then misses the latest lines, where waiting would hang the player for
    /// as long as the disk stays full.
    pub(crate) async fn flush_before_reading(&self, what: &str) {
        if self.writer().health().borrow().failing {
            tracing::debug!(what, "read without a flush: the writer is failing");
            return;
        }
        match tokio::time::timeout(FLUSH_BEFORE_READING, self.writer().flush()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => tracing::warn!(what, "read without a flush: the writer has stopped"),
            Err(_) => tracing::debug!(what, "read without a flush: the writer is slow"),
        }
    }

    /// A player has entered the game: its account's channel switches and
    /// mutes, and its character's description, are read (one store call)
    /// and put to work, and what it missed on the channels it hears is
    /// returned. Nothing was missed by a character taken over (it never
    /// left) or by an account that has another character in the game.
    pub async fn arrive(&self, player: &Arc<Player>) -> StoreResult<Missed> {
        let user_id = player.user_id();
        // The lines said a moment ago are on their way to the disk: count
        // them too.
        self.flush_before_reading("the arrival's catch-up").await;
        let (records, company) = {
            let _one_at_a_time = self.channels.locks.lock(user_id).await;
            let records = self
                .store()
                .channels()
                .arrival(user_id, player.character_id)
                .await?;
            let playing = || self.registry().get(player.conn_id).is_some();
            let Some(company) = self.channels.join(player, &records, playing) else {
                // Gone again before its records came back.
                return Ok(Vec::new());
            };
            (records, company)
        };
        let persona = self.persona(player.character_id);
        if let Some(persona) = &persona {
            persona.set_description(&records.description);
        }
        if company || persona.is_some_and(|p| p.was_taken_over()) {
            return Ok(Vec::new());
        }
        let role = player.role();
        let mut missed: Missed = records
            .missed
            .iter()
            .filter_map(|(name, n)| Some((self.channel_named(name)?.clone(), *n)))
            .filter(|(def, n)| *n > 0 && def.readable_by(role) && self.listens(player, def))
            .collect();
        missed.sort_by_key(|(def, _)| def.index);
        Ok(missed)
    }

    /// Notes that an account left the game now for the character menu: its
    /// next catch-up counts from here.
    pub(super) async fn note_left_game(&self, user_id: i64) {
        if let Err(err) = self.store().channels().left_game(user_id).await {
            tracing::warn!(%err, "could not note when the account left the game");
        }
    }
}
