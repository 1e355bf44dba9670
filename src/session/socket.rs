//! The task that drains a connection's outbound queue into its stream (a TCP or
//! TLS socket, or a WebSocket adapter: anything `AsyncWrite`), shaping the game's
//! messages for its client ([`Renderer`]) and encoding them as telnet.
//!
//! It writes whatever is queued in one go, so a burst of lines costs one system
//! call. When text arrives for a player sitting at a prompt (someone else
//! spoke), a line break goes first so the text does not run on after `> `, and
//! the prompt is shown again after it, in the same write, so the player's next
//! typing starts at a prompt (as tbaMUD does). Every write races the
//! connection's `dead` token: a client that stopped reading cannot hold this
//! task (or anyone) forever.
//!
//! Every byte goes through one write path ([`Wire`]), which compresses it once
//! MCCP2 is on: [`Outbound::Compress`] writes out what came before it as it
//! was, then switches, so nothing is ever written uncompressed after the
//! marker. Each batch ends in a zlib sync flush, so compression never holds a
//! line back; turning it off, closing and shutting down end the zlib stream.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio_util::codec::Encoder;
use tokio_util::sync::CancellationToken;

use super::render::Renderer;
use crate::game::{Message, Outbound, queue};
use crate::telnet::mccp::Compressor;
use crate::telnet::{Output, TelnetCodec};

/// Size of a connection's write buffer when a batch begins.
const WRITE_BUFFER: usize = 1024;
/// Buffered bytes at which a batch is written out before the next frame.
const FLUSH_AT: usize = 8 * 1024;
/// A buffer grown past this by a burst is given back once written.
const KEEP_AT_MOST: usize = 64 * 1024;

/// Idle buffers a worker thread keeps for the next batch, at most.
const SPARE_AT_MOST: usize = 64;

thread_local! {
    /// Write buffers given back by connections that went idle on this worker
    /// thread, for the next batch to take: an idle connection holds no
    /// buffer, and a busy room does not pay an allocation a batch.
    static SPARE: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
}

/// A write buffer for a batch: a spare one if this thread has one.
fn take_buffer() -> BytesMut {
    SPARE
        .with_borrow_mut(Vec::pop)
        .unwrap_or_else(|| BytesMut::with_capacity(WRITE_BUFFER))
}

/// Keeps an emptied write buffer for another batch on this thread (one
/// a burst grew large is dropped instead).
fn give_back(mut buffer: BytesMut) {
    if buffer.capacity() < WRITE_BUFFER || buffer.capacity() > 4 * WRITE_BUFFER {
        return;
    }
    buffer.clear();
    SPARE.with_borrow_mut(|spare| {
        if spare.len() < SPARE_AT_MOST {
            spare.push(buffer);
        }
    });
}

/// How long a closing socket may take to send what is left.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Runs until the queue closes, a `Close` is written, the socket fails, or the
/// connection is declared dead. Always cancels `dead` on the way out, so the
/// reading side ends too.
pub async fn write_loop<W: AsyncWrite + Unpin>(
    write: W,
    mut queue: queue::Receiver<Outbound>,
    dead: CancellationToken,
    renderer: Renderer,
) {
    let mut wire = Wire::new(write);
    let mut screen = Screen::new(renderer);
    // One wait on the token for the task's life: made afresh in each select,
    // it registered and unregistered with the token for every batch (about
    // 4 % of the instructions a delivered line costs). And it is looked at
    // only when the work is not ready: a woken writer finds its queue full
    // and its socket writable nearly always, so the token's lock is not
    // taken once a batch. A dead connection's writer still ends within a
    // queue's worth: once the socket blocks or the queue is empty.
    let ended = dead.cancelled();
    tokio::pin!(ended);
    loop {
        let first = tokio::select! {
            biased;
            next = queue.recv() => match next {
                Some(first) => first,
                None => break,
            },
            _ = &mut ended => break,
        };
        let outcome = tokio::select! {
            biased;
            outcome = write_batch(&mut wire, first, &mut queue, &mut screen) => outcome,
            _ = &mut ended => break,
        };
        match outcome {
            Ok(Batch::More) => {}
            Ok(Batch::Closing) | Err(_) => {
                let _ = tokio::time::timeout(CLOSE_GRACE, wire.close()).await;
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

/// What one queued item asks of the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Frames to write; go on.
    More,
    /// Write what is buffered, then compress (or stop compressing) the rest.
    Compress(bool),
    /// Write what is buffered, then close.
    Closing,
}

/// Writes `first` and everything else already queued, then flushes.
async fn write_batch<W: AsyncWrite + Unpin>(
    wire: &mut Wire<W>,
    first: Outbound,
    queue: &mut queue::Receiver<Outbound>,
    screen: &mut Screen,
) -> std::io::Result<Batch> {
    let mut frames = Vec::new();
    let mut next = Some(first);
    while let Some(item) = next.take() {
        if let Outbound::Drained(done) = item {
            // Everything before it on the wire, the prompt shown again
            // included: nothing is left for this writer to write after it.
            screen.end_batch(&mut frames);
            for frame in frames.drain(..) {
                wire.encode(frame);
            }
            wire.flush().await?;
            let _ = done.send(());
            next = queue.try_recv();
            continue;
        }
        let step = screen.show(item, &mut frames);
        for frame in frames.drain(..) {
            wire.encode(frame);
        }
        match step {
            Step::More if wire.buffered() >= FLUSH_AT => wire.flush().await?,
            Step::More => {}
            Step::Compress(on) => wire.compress(on).await?,
            Step::Closing => return Ok(Batch::Closing),
        }
        next = queue.try_recv();
    }
    screen.end_batch(&mut frames);
    for frame in frames.drain(..) {
        wire.encode(frame);
    }
    wire.flush().await?;
    wire.rest();
    Ok(Batch::More)
}

/// The one write path of a connection: telnet encoding into a buffer, then
/// the socket, through zlib while MCCP2 is on.
struct Wire<W> {
    write: W,
    codec: TelnetCodec,
    /// Encoded bytes not yet written.
    plain: BytesMut,
    /// Compressed bytes on their way out (empty while not compressing).
    zipped: Vec<u8>,
    compressor: Option<Compressor>,
}

impl<W: AsyncWrite + Unpin> Wire<W> {
    fn new(write: W) -> Wire<W> {
        Wire {
            write,
            codec: TelnetCodec::new(),
            // None until there is something to write (see `rest`).
            plain: BytesMut::new(),
            zipped: Vec::new(),
            compressor: None,
        }
    }

    fn encode(&mut self, frame: Output) {
        if self.plain.capacity() == 0 {
            self.plain = take_buffer();
        }
        // Encoding into memory cannot fail.
        let _ = self.codec.encode(frame, &mut self.plain);
    }

    fn buffered(&self) -> usize {
        self.plain.len()
    }

    /// Writes what is buffered (compressed and sync-flushed when on).
    async fn flush(&mut self) -> std::io::Result<()> {
        if self.plain.is_empty() {
            return Ok(());
        }
        match &mut self.compressor {
            Some(compressor) => {
                compressor.sync(&self.plain, &mut self.zipped)?;
                self.write.write_all(&self.zipped).await?;
                self.zipped.clear();
            }
            None => self.write.write_all(&self.plain).await?,
        }
        self.plain.clear();
        self.write.flush().await?;
        self.trim();
        Ok(())
    }

    /// Writes what came before the switch as it was, then switches.
    async fn compress(&mut self, on: bool) -> std::io::Result<()> {
        match (on, self.compressor.is_some()) {
            (true, false) => {
                self.flush().await?;
                self.compressor = Some(Compressor::new()?);
            }
            (false, true) => self.end_compression().await?,
            _ => {}
        }
        Ok(())
    }

    /// Ends the zlib stream with what is buffered; later bytes go plain.
    async fn end_compression(&mut self) -> std::io::Result<()> {
        if let Some(mut compressor) = self.compressor.take() {
            compressor.finish(&self.plain, &mut self.zipped)?;
            self.plain.clear();
            self.write.write_all(&self.zipped).await?;
            self.zipped.clear();
            self.write.flush().await?;
            self.trim();
        }
        Ok(())
    }

    /// Writes what is left, ends the zlib stream, and shuts the stream down.
    async fn close(&mut self) -> std::io::Result<()> {
        self.end_compression().await?;
        self.flush().await?;
        self.write.shutdown().await
    }

    /// Nothing is queued after what was just written: the write buffer goes
    /// back, so that an idle connection holds none (10,000 idle players would
    /// hold 10 MiB of empty buffers). The next batch takes one back from
    /// the thread's spares.
    fn rest(&mut self) {
        if self.plain.is_empty() && self.plain.capacity() > 0 {
            give_back(std::mem::take(&mut self.plain));
        }
    }

    /// Gives back memory a burst took, so idle connections stay small.
    fn trim(&mut self) {
        if self.plain.capacity() > KEEP_AT_MOST {
            self.plain = BytesMut::new();
        }
        if self.zipped.capacity() > KEEP_AT_MOST {
            self.zipped = Vec::new();
        }
    }
}

/// What the player's screen shows, as far as the writer can tell: whether the
/// cursor sits after a prompt, which prompt, and whether text has just pushed
/// that prompt up (so it must be shown again). A pure state machine over the
/// shaped messages.
#[derive(Debug, Default)]
struct Screen {
    render: Renderer,
    at_prompt: bool,
    prompt: Option<Arc<str>>,
    interrupted: bool,
}

impl Screen {
    fn new(render: Renderer) -> Screen {
        Screen {
            render,
            ..Screen::default()
        }
    }

    /// The frames that show `item`, and what the writer must do after them.
    fn show(&mut self, item: Outbound, frames: &mut Vec<Output>) -> Step {
        match item {
            Outbound::Message(Message::Prompt(text)) => {
                self.at_prompt = true;
                self.interrupted = false;
                self.prompt = Some(text.clone());
                self.render.prompt(&text, frames);
            }
            Outbound::Message(message) => {
                // Structured data travels out of band: it moves no cursor.
                if let Some(data) = self.render.data(&message) {
                    frames.push(data);
                }
                if let Some(text) = self.render.text(&message) {
                    if self.at_prompt {
                        frames.push(Output::Line(Arc::from("")));
                        self.at_prompt = false;
                        self.interrupted = true;
                    }
                    frames.push(Output::Line(text));
                }
            }
            Outbound::Wire(bytes) => frames.push(Output::Raw(bytes)),
            Outbound::Compress(on) => return Step::Compress(on),
            Outbound::InputSeen => {
                // The player ended a line: the session answers and prompts anew.
                self.at_prompt = false;
                self.interrupted = false;
            }
            Outbound::Close => return Step::Closing,
            // The writer answers it before the screen sees it.
            Outbound::Drained(_) => {}
        }
        Step::More
    }

    /// At the end of a batch: the prompt again if text pushed it up.
    fn end_batch(&mut self, frames: &mut Vec<Output>) {
        if self.interrupted
            && let Some(prompt) = self.prompt.clone()
        {
            self.render.prompt(&prompt, frames);
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
            if screen.show(item, &mut frames) == Step::Closing {
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
