//! What the character menu asks about an account's characters and the worlds
//! it may play them in: the characters it has in a world, a new one made
//! within the server's slot limit (through the one path that makes
//! characters), whether a name is free, and whether the account may enter a
//! world.
//!
//! **Invariant:** a new character's name and slot are decided in the
//! transaction that inserts it; these methods return values and refusals,
//! which the session words.

use super::Game;
use crate::auth::Role;
use crate::store::StoreError;
use crate::store::StoreResult;
use crate::store::characters::{CharacterLimits, CharacterSummary, NewCharacter};
use crate::store::refusal::CharacterRefused;
use crate::world::{Access, World};

/// Why an account may not enter a world now.
#[derive(Debug, thiserror::Error)]
pub enum WorldRefused {
    /// The world is closed, for the reason its file gives, if any.
    #[error("the world is closed")]
    Closed { reason: Option<String> },
    /// The world takes only the accounts invited to it, and this is none.
    #[error("the world is open by invitation only")]
    InviteOnly,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Game {
    /// The characters an account has in a world, oldest first.
    pub async fn characters_of(
        &self,
        user_id: i64,
        world_id: &str,
    ) -> StoreResult<Vec<CharacterSummary>> {
        self.store().characters().list(user_id, world_id).await
    }

    /// Makes a character for an account within the server's limits: no more
    /// than `--character-slots` in that world, and with
    /// `--multi-world-characters off` none in a second world (admins exempt).
    pub async fn create_character(
        &self,
        user_id: i64,
        character: NewCharacter,
    ) -> Result<CharacterSummary, CharacterRefused> {
        let limits = self.character_limits();
        self.store()
            .characters()
            .create(user_id, character, limits)
            .await
    }

    /// The server's limits on an account's characters.
    pub fn character_limits(&self) -> CharacterLimits {
        CharacterLimits {
            slots: self.config().character_slots,
            one_world: !self.config().multi_world_characters,
        }
    }

    /// Whether a character of that world already has the name, or a
    /// look-alike of it (what making it would refuse).
    pub async fn character_name_taken(&self, world_id: &str, name: &str) -> StoreResult<bool> {
        self.store().characters().name_taken(world_id, name).await
    }

    /// Whether an account whose live role is `role` may enter `world` now:
    /// a closed world only for admins, and a world by invitation only for
    /// admins and the accounts invited (read fresh).
    pub async fn may_enter_world(
        &self,
        user_id: i64,
        role: Role,
        world: &World,
    ) -> Result<(), WorldRefused> {
        if role >= Role::Admin {
            return Ok(());
        }
        if !world.active {
            let reason = world.inactive_reason.clone();
            return Err(WorldRefused::Closed { reason });
        }
        if matches!(world.access, Access::Invite)
            && !self.store().worlds().has_access(user_id, &world.id).await?
        {
            return Err(WorldRefused::InviteOnly);
        }
        Ok(())
    }
}
