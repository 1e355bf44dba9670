//! What a character shows of itself: its description (`describe`, shown by
//! `look <name>`), kept per character. It is read with the rest of what a
//! player entering the game needs (`channels().arrival`).

use rusqlite::params;

use super::{Store, StoreError, StoreResult, write_tx};

/// The typed front for characters' profiles (see [`Store::profiles`]).
pub struct Profiles<'s> {
    store: &'s Store,
}

impl<'s> Profiles<'s> {
    pub(super) fn new(store: &'s Store) -> Self {
        Profiles { store }
    }

    /// Keeps a character's description (already cleaned by the caller).
    pub async fn describe(&self, character_id: i64, description: &str) -> StoreResult<()> {
        let description = description.to_string();
        self.store
            .call(move |db| {
                write_tx(db, |tx| {
                    let n = tx.execute(
                        "UPDATE characters SET description = ?2 WHERE id = ?1",
                        params![character_id, description],
                    )?;
                    if n == 0 {
                        return Err(StoreError::NotFound("character"));
                    }
                    Ok(())
                })
            })
            .await
    }
}
