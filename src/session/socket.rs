//! The task that drains a connection's outbound queue into its stream (a TCP or
//! TLS socket, or a WebSocket adapter: anything `AsyncWrite`), encoding the
//! game's messages as telnet.
//!
//! It writes whatever is queued in one go and flushes, so a burst of lines costs
//! one system call. When text arrives for a player sitting at a prompt (someone
//! else spoke), a line break goes first so the text does not run on after `> `,
//! and the prompt is shown again after it, in the same write, so the player's
//! next typing starts at a prompt (as tbaMUD does). Every write races the
//! connection's `dead` token: a client
//! that stopped reading cannot hold this task (or anyone) forever.

use std::sync::Arc;
use std::time::Duration;

use futures::SinkExt;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::codec::FramedWrite;
use tokio_util::sync::CancellationToken;

use crate::game::{Message, Outbound};
use crate::telnet::{Output, TelnetCodec};

/// Initial size of a connection's write buffer.
const WRITE_BUFFER: usize = 1024;
/// Buffered bytes at which a batch is written out before the next frame.
const FLUSH_AT: usize = 8 * 1024;

/// How long a closing socket may take to send what is left.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Runs until the queue closes, a `Close` is written, the socket fails, or the
/// connection is declared dead. Always cancels `dead` on the way out, so the
/// reading side ends too.
pub async fn write_loop<W: AsyncWrite + Unpin>(
    write: W,
    mut queue: mpsc::Receiver<Outbound>,
    dead: CancellationToken,
) {
    // A small initial buffer keeps idle connections cheap; it grows for bursts,
    // and writes are still flushed in batches of up to 8 KiB.
    let mut sink = FramedWrite::with_capacity(write, TelnetCodec::new(), WRITE_BUFFER);
    sink.set_backpressure_boundary(FLUSH_AT);
    let mut screen = Screen::default();
    loop {
        let first = tokio::select! {
            biased;
            _ = dead.cancelled() => break,
            next = queue.recv() => match next {
                Some(first) => first,
                None => break,
            },
        };
        let outcome = tokio::select! {
            _ = dead.cancelled() => break,
            outcome = write_batch(&mut sink, first, &mut queue, &mut screen) => outcome,
        };
        match outcome {
            Ok(Batch::More) => {}
            Ok(Batch::Closing) | Err(_) => {
                let _ = tokio::time::timeout(CLOSE_GRACE, sink.get_mut().shutdown()).await;
                break;
            }
        }
    }
    dead.cancel();
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Batch {
    More,
    Closing,
}

/// Writes `first` and everything else already queued, then flushes.
async fn write_batch<W: AsyncWrite + Unpin>(
    sink: &mut FramedWrite<W, TelnetCodec>,
    first: Outbound,
    queue: &mut mpsc::Receiver<Outbound>,
    screen: &mut Screen,
) -> std::io::Result<Batch> {
    let mut frames = Vec::new();
    let mut next = Some(first);
    let mut batch = Batch::More;
    while let Some(item) = next.take() {
        batch = screen.show(item, &mut frames);
        for frame in frames.drain(..) {
            sink.feed(frame).await?;
        }
        if batch == Batch::Closing {
            break;
        }
        next = queue.try_recv().ok();
    }
    if batch == Batch::More {
        screen.end_batch(&mut frames);
        for frame in frames.drain(..) {
            sink.feed(frame).await?;
        }
    }
    sink.flush().await?;
    Ok(batch)
}

/// What the player's screen shows, as far as the writer can tell: whether the
/// cursor sits after a prompt, which prompt, and whether text has just pushed
/// that prompt up (so it must be shown again). A pure state machine.
#[derive(Debug, Default)]
struct Screen {
    at_prompt: bool,
    prompt: Option<Arc<str>>,
    interrupted: bool,
}

impl Screen {
    /// The frames that show `item`; `Closing` once the connection is to close.
    fn show(&mut self, item: Outbound, frames: &mut Vec<Output>) -> Batch {
        match item {
            Outbound::Message(Message::Line(text)) => {
                if self.at_prompt {
                    frames.push(Output::Line(Arc::from("")));
                    self.at_prompt = false;
                    self.interrupted = true;
                }
                frames.push(Output::Line(text));
            }
            Outbound::Message(Message::Prompt(text)) => {
                self.at_prompt = true;
                self.interrupted = false;
                self.prompt = Some(text.clone());
                frames.push(Output::Prompt(text));
            }
            Outbound::Wire(bytes) => frames.push(Output::Raw(bytes)),
            Outbound::InputSeen => {
                // The player ended a line: the session answers and prompts anew.
                self.at_prompt = false;
                self.interrupted = false;
            }
            Outbound::Close => return Batch::Closing,
        }
        Batch::More
    }

    /// At the end of a batch: the prompt again if text pushed it up.
    fn end_batch(&mut self, frames: &mut Vec<Output>) {
        if self.interrupted
            && let Some(prompt) = &self.prompt
        {
            frames.push(Output::Prompt(prompt.clone()));
            self.at_prompt = true;
            self.interrupted = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> Outbound {
        Outbound::Message(Message::Line(Arc::from(text)))
    }

    fn prompt(text: &str) -> Outbound {
        Outbound::Message(Message::Prompt(Arc::from(text)))
    }

    /// The frames of one batch, as (kind, text) pairs.
    fn batch(screen: &mut Screen, items: Vec<Outbound>) -> Vec<(char, String)> {
        let mut frames = Vec::new();
        let mut closing = false;
        for item in items {
            if screen.show(item, &mut frames) == Batch::Closing {
                closing = true;
                break;
            }
        }
        if !closing {
            screen.end_batch(&mut frames);
        }
        frames
            .into_iter()
            .map(|frame| match frame {
                Output::Line(text) => ('L', text.to_string()),
                Output::Prompt(text) => ('P', text.to_string()),
                _ => ('?', String::new()),
            })
            .collect()
    }

    fn l(text: &str) -> (char, String) {
        ('L', text.to_string())
    }

    fn p(text: &str) -> (char, String) {
        ('P', text.to_string())
    }

    #[test]
    fn others_lines_at_a_prompt_come_on_a_new_line_and_the_prompt_again() {
        let mut screen = Screen::default();
        assert_eq!(
            batch(&mut screen, vec![line("Room"), prompt("> ")]),
            [l("Room"), p("> ")]
        );
        let shown = batch(
            &mut screen,
            vec![line("Ann says, \"hi\""), line("Ann waves.")],
        );
        assert_eq!(
            shown,
            [l(""), l("Ann says, \"hi\""), l("Ann waves."), p("> ")]
        );
        // Again later: the screen is back at the prompt.
        assert_eq!(
            batch(&mut screen, vec![line("Bo arrives.")]),
            [l(""), l("Bo arrives."), p("> ")]
        );
    }

    #[test]
    fn the_players_own_answer_is_not_prompted_twice() {
        let mut screen = Screen::default();
        batch(&mut screen, vec![prompt("> ")]);
        let answer = batch(
            &mut screen,
            vec![Outbound::InputSeen, line("You say, \"hi\""), prompt("> ")],
        );
        assert_eq!(answer, [l("You say, \"hi\""), p("> ")]);
    }

    #[test]
    fn last_words_are_not_followed_by_a_prompt() {
        let mut screen = Screen::default();
        batch(&mut screen, vec![prompt("Character: ")]);
        let kicked = batch(
            &mut screen,
            vec![line("This account is banned."), Outbound::Close],
        );
        assert_eq!(kicked, [l(""), l("This account is banned.")]);
    }

    #[test]
    fn a_line_before_any_prompt_needs_no_prompt_after_it() {
        let mut screen = Screen::default();
        assert_eq!(batch(&mut screen, vec![line("Welcome")]), [l("Welcome")]);
    }
}
