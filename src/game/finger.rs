//! `finger` (SPEC §12): a character's record (the store's) and whether it
//! plays now (the registry's), in one value for the command layer to word.

use std::time::Duration;

use super::Game;
use crate::store::StoreResult;
use crate::store::whois::Found;

/// A character as `finger` shows it.
pub struct Fingered {
    pub found: Found,
    /// How long it has been idle, when it plays now.
    pub idle: Option<Duration>,
}

impl Game {
    /// The character called `name` in `world_id`, if there is one with an
    /// account.
    pub async fn finger(&self, world_id: &str, name: &str) -> StoreResult<Option<Fingered>> {
        let Some(found) = self.store().whois().find(world_id, name).await? else {
            return Ok(None);
        };
        let idle = self
            .registry()
            .by_character(found.character_id)
            .map(|player| player.idle());
        Ok(Some(Fingered { found, idle }))
    }
}
