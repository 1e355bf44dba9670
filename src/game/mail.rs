//! Mail (SPEC §12 "Mail"): the game's side of a letter. The store decides
//! whether it may be sent, in the transaction that keeps it; then the game
//! finds the recipient if it plays now and hears the sender, for the live
//! notice. Whether a reader sees a letter is the store's to filter (an
//! ignored account's letters are kept, never shown). This file writes no
//! sentence: the command layer words what it returns.

use std::sync::Arc;

use super::Game;
use super::registry::Player;
use crate::store::StoreResult;
use crate::store::mail::{Header, Letter, MailRefused, Outgoing, Reader, Recipient};

/// A letter sent: to whom, and the recipient's player if it is in the
/// game now and does not ignore the sender (to be told at once).
pub struct Sent {
    pub to: Recipient,
    pub notify: Option<Arc<Player>>,
}

/// What a letter says, before it is sent.
pub struct Writing<'a> {
    pub to: i64,
    pub subject: &'a str,
    pub body: &'a str,
}

impl Game {
    /// Whom `me` may mail by `name` in its world now (asked before a letter
    /// is written; sending decides again).
    pub async fn mail_recipient(&self, me: &Player, name: &str) -> Result<Recipient, MailRefused> {
        self.store()
            .mail()
            .may_send(me.user_id(), &me.world, name)
            .await
    }

    /// The character `character_id` as a recipient of `me`'s mail (a
    /// reply's), checked as [`Game::mail_recipient`] checks a name.
    pub async fn mail_recipient_by_id(
        &self,
        me: &Player,
        character_id: i64,
    ) -> Result<Recipient, MailRefused> {
        match self.store().mail().recipient(character_id).await? {
            Some(found) => self.mail_recipient(me, &found.name).await,
            None => Err(MailRefused::NoSuchCharacter),
        }
    }

    /// Sends `me`'s letter, decided in the store on fresh state.
    pub async fn send_mail(&self, me: &Player, letter: Writing<'_>) -> Result<Sent, MailRefused> {
        let to = self
            .store()
            .mail()
            .send(Outgoing {
                world_id: me.world.to_string(),
                sender_id: me.character_id,
                sender_user_id: me.user_id(),
                sender_name: me.name.to_string(),
                recipient_id: letter.to,
                subject: letter.subject.to_string(),
                body: letter.body.to_string(),
            })
            .await?;
        let notify = self
            .registry()
            .by_character(to.character_id)
            .filter(|p| !self.ignores(p.user_id(), me.user_id(), me.role()));
        Ok(Sent { to, notify })
    }

    /// `me`'s mailbox as shown, oldest first.
    pub async fn mailbox(&self, me: &Player) -> StoreResult<Vec<Header>> {
        self.store().mail().list(reader(me)).await
    }

    /// How many of the letters shown to `me` are unread.
    pub async fn unread_mail(&self, me: &Player) -> StoreResult<i64> {
        self.store().mail().unread(reader(me)).await
    }

    /// `me`'s `n`th letter (from 1), marked read when `mark` says so.
    pub async fn open_mail(
        &self,
        me: &Player,
        n: usize,
        mark: bool,
    ) -> StoreResult<Option<Letter>> {
        self.store().mail().open(reader(me), n, mark).await
    }

    /// Deletes `me`'s `n`th letter; whether there was one.
    pub async fn delete_mail(&self, me: &Player, n: usize) -> StoreResult<bool> {
        self.store().mail().delete(reader(me), n).await
    }
}

fn reader(me: &Player) -> Reader {
    Reader {
        character_id: me.character_id,
        user_id: me.user_id(),
    }
}
