//! Who a character is to others while it plays (issue 17, item 5): its
//! description (`describe`, kept in the database, shown by `look <name>`),
//! whether it is away and why (`afk`, until its next command), and who last
//! told it something (for `reply`).
//!
//! A [`Persona`] lives while its character is in the game, made when it
//! enters and dropped when it leaves (the `community` observer of moves); a
//! connection taking the character over keeps it, so the newcomer is still
//! away, can still reply, and is described as before. Away and the last
//! teller are the play's, not the database's; the description is read with
//! the character's other records on arrival.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;

use super::Game;
use super::registry::{ConnId, Player};
use crate::store::StoreResult;

/// The characters in the game, by character id.
#[derive(Default)]
pub struct Personas {
    by_character: Mutex<HashMap<i64, Arc<Persona>>>,
}

/// One playing character, as others meet it.
#[derive(Default)]
pub struct Persona {
    /// The connection playing it now.
    conn_id: AtomicU64,
    /// The last entry into the game was a takeover: the character never
    /// left, so there is nothing for it to catch up on.
    taken_over: AtomicBool,
    away: Mutex<Option<Arc<str>>>,
    last_teller: Mutex<Option<Arc<str>>>,
    description: Mutex<Arc<str>>,
}

impl Personas {
    /// A character entered the game on `conn_id`; a takeover keeps what the
    /// character was.
    pub(super) fn entered(&self, character_id: i64, conn_id: ConnId, took_over: bool) {
        let mut all = self.by_character.lock();
        let persona = if took_over {
            all.entry(character_id).or_default().clone()
        } else {
            let fresh = Arc::new(Persona::default());
            all.insert(character_id, fresh.clone());
            fresh
        };
        persona.conn_id.store(conn_id, Ordering::Relaxed);
        persona.taken_over.store(took_over, Ordering::Relaxed);
    }

    /// A character left the game on `conn_id` (a takeover's old connection
    /// leaves nothing: the newcomer plays on).
    pub(super) fn left(&self, character_id: i64, conn_id: ConnId) {
        let mut all = self.by_character.lock();
        if all
            .get(&character_id)
            .is_some_and(|p| p.conn_id.load(Ordering::Relaxed) == conn_id)
        {
            all.remove(&character_id);
        }
    }

    fn get(&self, character_id: i64) -> Option<Arc<Persona>> {
        self.by_character.lock().get(&character_id).cloned()
    }
}

impl Persona {
    pub(super) fn was_taken_over(&self) -> bool {
        self.taken_over.load(Ordering::Relaxed)
    }

    pub(super) fn set_description(&self, description: &str) {
        *self.description.lock() = Arc::from(description);
    }
}

impl Game {
    /// The persona of a playing character.
    pub(super) fn persona(&self, character_id: i64) -> Option<Arc<Persona>> {
        self.personas.get(character_id)
    }

    /// Why a playing character is away, if it is.
    pub fn away_message(&self, character_id: i64) -> Option<Arc<str>> {
        self.persona(character_id)?.away.lock().clone()
    }

    /// Marks the player away, with why, until its next command.
    pub fn set_away(&self, player: &Player, message: &str) {
        if let Some(persona) = self.persona(player.character_id) {
            *persona.away.lock() = Some(Arc::from(message));
        }
    }

    /// The player is back (it typed a command); whether it had been away.
    pub fn come_back(&self, player: &Player) -> bool {
        self.persona(player.character_id)
            .is_some_and(|persona| persona.away.lock().take().is_some())
    }

    /// `from` told `to` (a playing character) something: `reply` answers them.
    pub fn note_tell(&self, to: &Player, from: &Player) {
        if let Some(persona) = self.persona(to.character_id) {
            *persona.last_teller.lock() = Some(from.name.clone());
        }
    }

    /// The name of whoever last told the player something, if anyone did.
    pub fn last_teller(&self, player: &Player) -> Option<Arc<str>> {
        self.persona(player.character_id)?
            .last_teller
            .lock()
            .clone()
    }

    /// What `look <name>` shows of a playing character; `None` when it has
    /// not described itself.
    pub fn description_of(&self, character_id: i64) -> Option<Arc<str>> {
        let description = self.persona(character_id)?.description.lock().clone();
        (!description.is_empty()).then_some(description)
    }

    /// `describe <text>`: kept for the character (the text already cleaned),
    /// then shown at once.
    pub async fn describe(&self, player: &Player, description: &str) -> StoreResult<()> {
        self.store()
            .profiles()
            .describe(player.character_id, description)
            .await?;
        if let Some(persona) = self.persona(player.character_id) {
            persona.set_description(description);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_takeover_keeps_the_persona_and_its_old_connection_leaves_nothing() {
        let personas = Personas::default();
        personas.entered(10, 1, false);
        let first = personas.get(10).expect("entered");
        *first.away.lock() = Some(Arc::from("fishing"));
        personas.entered(10, 2, true);
        let after = personas.get(10).expect("still there");
        assert!(Arc::ptr_eq(&first, &after));
        assert!(after.was_taken_over());
        personas.left(10, 1);
        assert!(personas.get(10).is_some(), "the old connection's leaving");
        personas.left(10, 2);
        assert!(personas.get(10).is_none());
        personas.entered(10, 3, false);
        assert!(personas.get(10).expect("fresh").away.lock().is_none());
    }
}
