//! `mail` (SPEC §12 "Mail"): letters between characters of one world, kept
//! until deleted. `mail` lists the mailbox; `mail <name> <subject>` writes a
//! letter in the session's editor (lines until `.`, `~q` throws it away),
//! `mail <name> <subject> = <text>` sends one line; `mail read <n>`,
//! `mail delete <n>` and `mail reply <n>` act on the `n`th letter listed.
//!
//! The recipient is checked before the letter is written, so nobody writes
//! a letter for nothing, and again by the store when it is sent. The
//! recipient, if playing and not ignoring the sender, is told at once;
//! `on_entry` tells a player entering the game of unread letters. This file
//! holds the sentences; the game decides.

use std::fmt::Write;

use super::common::utc_minute;
use super::spec::{Group, Spec};
use super::{Ctx, Draft, Flow, Purpose};
use crate::game::mail::Writing;
use crate::store::mail::{MailRefused, Recipient};
use crate::text::sanitize;

/// Most characters of a letter's text, the newlines counted.
pub const MAX_CHARS: usize = 4000;
/// Most lines of a letter's text.
pub const MAX_LINES: usize = 100;
/// Most characters of a subject; a longer one is cut.
pub const MAX_SUBJECT: usize = 80;

/// The editor's first words (SPEC §12).
pub const WRITE: &str =
    "Write your message; end it with a line holding only \".\", or \"~q\" to throw it away.";

pub static MAIL: Spec = Spec {
    name: "mail",
    usage: "mail [<name> <subject> [= <text>] | read|delete|reply <n>]",
    summary: "Send a letter to someone of this world, even offline; alone, list yours.",
    details: "Alone, lists your letters, newest last, * marking the unread.\n\
              \"mail <name> <subject>\" writes a letter: type its lines, then a line\n\
              holding only \".\" sends it, \"~q\" throws it away.\n\
              \"mail <name> <subject> = <text>\" sends one line at once.\n\
              \"mail read <n>\" shows a letter, \"mail delete <n>\" deletes it,\n\
              \"mail reply <n>\" answers it (\"Re: \" before its subject).\n\
              A letter holds up to 4,000 characters and 100 lines.\n\
              A mailbox holds 500 letters.\n\
              An account sends at most 10 letters in 10 minutes.\n\
              Guests cannot send mail.\n\
              Letters from players you ignore are kept but never shown.",
    example: "mail Ann Lanterns = Meet me at the quay at dusk.",
    run: |ctx, _, argument| mail(ctx, argument),
    ..Spec::player(Group::Talking)
};

/// A letter being written in the editor: to whom, about what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    pub to: i64,
    pub to_name: String,
    pub subject: String,
}

/// What a `mail` line asks.
#[derive(Debug, PartialEq, Eq)]
enum Asked<'a> {
    List,
    Read(usize),
    Delete(usize),
    Reply {
        n: usize,
        text: Option<&'a str>,
    },
    /// `read`, `delete` or `reply` without a number.
    Usage(&'static str),
    Write {
        to: &'a str,
        subject: &'a str,
        text: Option<&'a str>,
    },
}

/// Reads a `mail` line's argument. `read`, `delete` and `reply` are the
/// subcommands when a number or nothing follows them; otherwise the first
/// word is a recipient (a character may be called Read).
fn asked(argument: &str) -> Asked<'_> {
    let (word, rest) = super::parse::split_word(argument);
    if word.is_empty() {
        return Asked::List;
    }
    let (number, after) = super::parse::split_word(rest);
    let n = (!number.is_empty() && number.chars().all(|c| c.is_ascii_digit()))
        .then(|| number.parse::<usize>().unwrap_or(usize::MAX));
    match (word.to_lowercase().as_str(), n) {
        ("read", Some(n)) => return Asked::Read(n),
        ("delete", Some(n)) => return Asked::Delete(n),
        ("reply", Some(n)) => {
            let text = after.strip_prefix('=').map(str::trim);
            return Asked::Reply { n, text };
        }
        ("read", None) if rest.is_empty() => return Asked::Usage("mail read <n>"),
        ("delete", None) if rest.is_empty() => return Asked::Usage("mail delete <n>"),
        ("reply", None) if rest.is_empty() => return Asked::Usage("mail reply <n>"),
        _ => {}
    }
    let (subject, text) = match rest.split_once('=') {
        Some((subject, text)) => (subject.trim(), Some(text.trim())),
        None => (rest, None),
    };
    Asked::Write {
        to: word,
        subject,
        text: text.filter(|t| !t.is_empty()),
    }
}

fn mail<'a>(ctx: &'a Ctx<'a>, argument: &'a str) -> futures::future::BoxFuture<'a, Flow> {
    Box::pin(async move {
        match asked(argument) {
            Asked::List => list(ctx).await,
            Asked::Read(n) => read(ctx, n).await,
            Asked::Delete(n) => delete(ctx, n).await,
            Asked::Usage(usage) => ctx.reply(format!("Usage: {usage}")),
            Asked::Reply { n, text } => return reply(ctx, n, text).await,
            Asked::Write { to, subject, text } => {
                let to = sanitize(to);
                let recipient = match ctx.game.mail_recipient(ctx.me, &to).await {
                    Ok(recipient) => recipient,
                    Err(refused) => {
                        refuse(ctx, &to, refused);
                        return Flow::Continue;
                    }
                };
                return write(ctx, recipient, subject_of(subject), text).await;
            }
        }
        Flow::Continue
    })
}

/// A subject as kept: cleaned, cut, `(no subject)` when there is none.
fn subject_of(typed: &str) -> String {
    let subject: String = sanitize(typed).chars().take(MAX_SUBJECT).collect();
    let subject = subject.trim();
    if subject.is_empty() {
        "(no subject)".to_string()
    } else {
        subject.to_string()
    }
}

/// The subject of a reply: `Re: ` once.
fn re(subject: &str) -> String {
    let already = subject
        .get(..4)
        .is_some_and(|start| start.eq_ignore_ascii_case("re: "));
    if already {
        subject.to_string()
    } else {
        subject_of(&format!("Re: {subject}"))
    }
}

/// Sends `text` at once (the one-line form), or opens the editor.
async fn write(ctx: &Ctx<'_>, to: Recipient, subject: String, text: Option<&str>) -> Flow {
    let letter = Letter {
        to: to.character_id,
        to_name: to.name,
        subject,
    };
    match text {
        Some(text) => {
            send(ctx, &letter, &sanitize(text)).await;
            Flow::Continue
        }
        None => Flow::Write(Draft {
            intro: WRITE.to_string(),
            max_chars: MAX_CHARS,
            max_lines: MAX_LINES,
            purpose: Purpose::Mail(letter),
        }),
    }
}

/// What the editor gave back for a letter.
pub async fn finish_draft(ctx: &Ctx<'_>, letter: Letter, text: Option<String>) {
    match text {
        None => ctx.reply("Mail thrown away."),
        Some(text) if text.trim().is_empty() => ctx.reply("Nothing written; mail thrown away."),
        Some(text) => send(ctx, &letter, &text).await,
    }
}

async fn send(ctx: &Ctx<'_>, letter: &Letter, text: &str) {
    let writing = Writing {
        to: letter.to,
        subject: &letter.subject,
        body: text,
    };
    match ctx.game.send_mail(ctx.me, writing).await {
        Ok(sent) => {
            ctx.reply(format!("Mail sent to {}.", sent.to.name));
            if let Some(recipient) = sent.notify {
                recipient.tell(format!("You have new mail from {}.", ctx.me.name));
            }
        }
        Err(refused) => refuse(ctx, &letter.to_name, refused),
    }
}

fn refuse(ctx: &Ctx<'_>, name: &str, refused: MailRefused) {
    ctx.reply(match refused {
        MailRefused::Guest => "Guests cannot send mail.".to_string(),
        MailRefused::NoSuchCharacter => {
            let world = ctx
                .world()
                .map_or(ctx.me.world.to_string(), |w| w.name.clone());
            format!("There is nobody called {name} in {world}.")
        }
        MailRefused::Full(name) => format!("{name}'s mailbox is full."),
        MailRefused::TooMuch => "You have sent too much mail; try again later.".to_string(),
        MailRefused::Store(err) => crate::replies::store_error(&err).to_string(),
    });
}

/// `mail` alone: the mailbox, newest last.
async fn list(ctx: &Ctx<'_>) {
    let headers = match ctx.game.mailbox(ctx.me).await {
        Ok(headers) => headers,
        Err(err) => return ctx.store_trouble(&err),
    };
    if headers.is_empty() {
        return ctx.reply("You have no mail.");
    }
    let mut text = format!("Mail for {}:", ctx.me.name);
    for (n, header) in headers.iter().enumerate() {
        let star = if header.unread { "*" } else { "" };
        let _ = write!(
            text,
            "\n  {}) {star}{} {} {}",
            n + 1,
            header.from,
            header.subject,
            utc_minute(&header.sent_at)
        );
    }
    ctx.reply(text);
}

/// `mail read <n>`.
async fn read(ctx: &Ctx<'_>, n: usize) {
    match ctx.game.open_mail(ctx.me, n, true).await {
        Ok(Some(letter)) => ctx.reply(format!(
            "From: {}\nDate: {} UTC\nSubject: {}\n\n{}",
            letter.from,
            utc_minute(&letter.sent_at),
            letter.subject,
            letter.body
        )),
        Ok(None) => no_message(ctx, n),
        Err(err) => ctx.store_trouble(&err),
    }
}

/// `mail delete <n>`.
async fn delete(ctx: &Ctx<'_>, n: usize) {
    match ctx.game.delete_mail(ctx.me, n).await {
        Ok(true) => ctx.reply(format!("Message {n} deleted.")),
        Ok(false) => no_message(ctx, n),
        Err(err) => ctx.store_trouble(&err),
    }
}

/// `mail reply <n> [= <text>]`: a letter to the `n`th letter's sender.
async fn reply(ctx: &Ctx<'_>, n: usize, text: Option<&str>) -> Flow {
    let letter = match ctx.game.open_mail(ctx.me, n, false).await {
        Ok(Some(letter)) => letter,
        Ok(None) => {
            no_message(ctx, n);
            return Flow::Continue;
        }
        Err(err) => {
            ctx.store_trouble(&err);
            return Flow::Continue;
        }
    };
    let found = match letter.sender_id {
        Some(sender) => ctx.game.mail_recipient_by_id(ctx.me, sender).await,
        None => Err(MailRefused::NoSuchCharacter),
    };
    match found {
        Ok(to) => write(ctx, to, re(&letter.subject), text.filter(|t| !t.is_empty())).await,
        Err(refused) => {
            refuse(ctx, &letter.from, refused);
            Flow::Continue
        }
    }
}

fn no_message(ctx: &Ctx<'_>, n: usize) {
    ctx.reply(format!("You have no message {n}; \"mail\" lists yours."));
}

/// On entering the game: how many letters wait unread, if any.
pub async fn on_entry(ctx: &Ctx<'_>) {
    match ctx.game.unread_mail(ctx.me).await {
        Ok(0) => {}
        Ok(n) => ctx.reply(format!("Unread mail: {n}; type \"mail\" to read it.")),
        Err(err) => tracing::debug!(%err, "could not count the unread mail"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mail_line_is_a_subcommand_or_a_letter() {
        assert_eq!(asked(""), Asked::List);
        assert_eq!(asked("read 2"), Asked::Read(2));
        assert_eq!(asked("DELETE 10"), Asked::Delete(10));
        assert_eq!(asked("reply 1"), Asked::Reply { n: 1, text: None });
        assert_eq!(
            asked("reply 1 = on my way"),
            Asked::Reply {
                n: 1,
                text: Some("on my way")
            }
        );
        assert_eq!(asked("read"), Asked::Usage("mail read <n>"));
        assert_eq!(
            asked("read The lanterns"),
            Asked::Write {
                to: "read",
                subject: "The lanterns",
                text: None
            },
            "a character called Read"
        );
        assert_eq!(
            asked("Ann Lanterns = Meet me = now"),
            Asked::Write {
                to: "Ann",
                subject: "Lanterns",
                text: Some("Meet me = now")
            }
        );
        assert_eq!(
            asked("Ann"),
            Asked::Write {
                to: "Ann",
                subject: "",
                text: None
            }
        );
    }

    #[test]
    fn a_reply_gains_re_once() {
        assert_eq!(re("Lanterns"), "Re: Lanterns");
        assert_eq!(re("Re: Lanterns"), "Re: Lanterns");
        assert_eq!(re("RE: Lanterns"), "RE: Lanterns");
        assert_eq!(subject_of("  "), "(no subject)");
        assert_eq!(subject_of(&"x".repeat(200)).len(), MAX_SUBJECT);
    }
}
