//! A connection's outbound queue, as everyone else sees it.
//!
//! Each connection has one bounded queue drained by its own writer task. Anyone
//! may put a [`Message`] in it with [`Outbox::send`], which never waits: if the
//! queue is full the client has stopped reading, so the connection is marked dead
//! (its tasks end and the socket closes) and the sender moves on. One slow client
//! can therefore never hold up a room.
//!
//! The queue carries game-level messages (a line of text, styled text, a line
//! of talk, structured data for the client, a prompt). The writer shapes each
//! for its client (width, colour, character set, what structured data the
//! client asked for). The session that owns the connection also queues the
//! bytes of its own protocol (telnet negotiation) in the same queue, so they
//! stay in order with the text; to the game those bytes are opaque
//! ([`Outbound::Wire`]), and so is the point where the rest of the stream is
//! compressed ([`Outbound::Compress`]).
//!
//! Whoever finds a queue full is usually another connection (a speaker whose
//! line the slow client cannot take), so the warning is logged under the span
//! of the connection being dropped, which the outbox keeps from where it was
//! made, not under the span of whoever sent.

use std::sync::Arc;

use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use super::data::{Data, Talk};
use super::queue;
use crate::metrics::Metrics;
use crate::text::Styled;

/// What the game says to one player.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A line (or several, separated by `\n`) of text.
    Line(Arc<str>),
    /// Paragraphs (separated by `\n`) that a client may wrap itself: wrapped
    /// only at a width the client reported, sent whole before it says (the
    /// greeting, which goes out before the client could tell its width).
    Paragraphs(Arc<str>),
    /// Text whose parts are styled by meaning (coloured for clients that show
    /// colour).
    Styled(Arc<Styled>),
    /// A line of talk: shown as a line, and given as channel data to clients
    /// that take it.
    Talk(Arc<Talk>),
    /// Structured data, for clients that take it (nothing is shown).
    Data(Arc<Data>),
    /// A prompt: text the player answers on the same line.
    Prompt(Arc<str>),
}

/// What travels through the queue to the connection's writer.
#[derive(Debug)]
pub enum Outbound {
    Message(Message),
    /// Bytes of the connection's own protocol, written as they are.
    Wire(Bytes),
    /// Everything written after this point is compressed (`true`), or no
    /// longer (`false`): the stream's encoding, agreed by the session.
    Compress(bool),
    /// The client sent a line: its cursor is at the start of a fresh line, so
    /// text arriving now needs no line break in front of it.
    InputSeen,
    /// Write everything queued before this, then close the connection.
    Close,
    /// Write everything queued before this, then say so (an upgrade waits
    /// for it: nothing acknowledged may be left in memory).
    Drained(tokio::sync::oneshot::Sender<()>),
}

/// The sending side of a connection's queue.
#[derive(Clone, Debug)]
pub struct Outbox {
    tx: queue::Sender<Outbound>,
    dead: CancellationToken,
    /// The connection's own span, for the warning when it is dropped.
    span: tracing::Span,
    /// Where deliveries and overflows are counted, if anywhere.
    metrics: Option<Metrics>,
}

impl Outbox {
    /// Makes a queue of `capacity` entries; `dead` is cancelled when the queue
    /// overflows (and by whoever else ends the connection). Made inside the
    /// connection's span, which its warnings are logged under.
    pub fn new(capacity: usize, dead: CancellationToken) -> (Outbox, queue::Receiver<Outbound>) {
        let (tx, rx) = queue::bounded(capacity);
        let span = tracing::Span::current();
        let metrics = None;
        (
            Outbox {
                tx,
                dead,
                span,
                metrics,
            },
            rx,
        )
    }

    /// The same queue, counting its lines and an overflow into `metrics`.
    pub fn counted(self, metrics: Metrics) -> Outbox {
        Outbox {
            metrics: Some(metrics),
            ..self
        }
    }

    /// Queues one message. Returns false when the connection is gone or was just
    /// found too slow (and is now being dropped).
    pub fn send(&self, message: Message) -> bool {
        // Text the player reads (not prompts, not structured data).
        let text = matches!(
            message,
            Message::Line(_) | Message::Paragraphs(_) | Message::Styled(_) | Message::Talk(_)
        );
        let sent = self.queue(Outbound::Message(message));
        if let Some(metrics) = self.metrics.as_ref().filter(|_| sent && text) {
            metrics.delivered();
        }
        sent
    }

    /// Queues a line of text.
    pub fn line(&self, text: impl Into<Arc<str>>) -> bool {
        self.send(Message::Line(text.into()))
    }

    /// Queues paragraphs the client may wrap itself (see [`Message::Paragraphs`]).
    pub fn paragraphs(&self, text: impl Into<Arc<str>>) -> bool {
        self.send(Message::Paragraphs(text.into()))
    }

    /// Queues styled text.
    pub fn styled(&self, text: Styled) -> bool {
        self.send(Message::Styled(Arc::new(text)))
    }

    /// Queues structured data.
    pub fn data(&self, data: Data) -> bool {
        self.send(Message::Data(Arc::new(data)))
    }

    /// Queues a prompt.
    pub fn prompt(&self, text: impl Into<Arc<str>>) -> bool {
        self.send(Message::Prompt(text.into()))
    }

    /// Queues bytes of the connection's own protocol.
    pub fn wire(&self, bytes: Bytes) -> bool {
        self.queue(Outbound::Wire(bytes))
    }

    fn queue(&self, item: Outbound) -> bool {
        match self.tx.try_send(item) {
            Ok(()) => true,
            Err(queue::Full(_)) => {
                if !self.dead.is_cancelled() {
                    self.metrics.iter().for_each(Metrics::outbox_overflow);
                    tracing::warn!(
                        parent: &self.span,
                        "outbound queue full: dropping a client that stopped reading"
                    );
                    self.dead.cancel();
                }
                false
            }
            Err(queue::Closed(_)) => false,
        }
    }

    /// Queues a change of the stream's compression, in order with the rest.
    pub fn compress(&self, on: bool) -> bool {
        self.queue(Outbound::Compress(on))
    }

    /// Resolves once the writer has written everything queued before this
    /// call (or the connection is gone: nothing more can be written).
    pub async fn drained(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.queue(Outbound::Drained(tx)) {
            let _ = rx.await;
        }
    }

    /// Tells the writer the client has just ended a line of input.
    pub fn input_seen(&self) {
        // Losing this marker only costs a blank line, never correctness.
        let _ = self.tx.try_send(Outbound::InputSeen);
    }

    /// Asks the writer to send what is queued and then close the connection.
    pub fn close(&self) {
        if self.tx.try_send(Outbound::Close).is_err() {
            self.dead.cancel();
        }
    }

    /// The token that ends this connection's tasks.
    pub fn dead(&self) -> &CancellationToken {
        &self.dead
    }

    pub fn is_dead(&self) -> bool {
        self.dead.is_cancelled() || self.tx.is_closed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_marks_the_connection_dead_without_waiting() {
        let dead = CancellationToken::new();
        let (outbox, _rx) = Outbox::new(2, dead.clone());
        assert!(outbox.line("one"));
        assert!(outbox.line("two"));
        assert!(!dead.is_cancelled());
        assert!(!outbox.line("three"));
        assert!(dead.is_cancelled());
    }

    /// Every log line of this test process, as the binary formats them. The
    /// subscriber is the global one, installed once: a thread-local one races
    /// with tracing's per-callsite cache when another test thread reaches the
    /// same `warn!` first with no subscriber.
    fn logged() -> String {
        use std::sync::{Arc, Mutex, OnceLock};
        #[derive(Clone, Default)]
        struct Lines(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Lines {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                if let Ok(mut lines) = self.0.lock() {
                    lines.extend_from_slice(bytes);
                }
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        static LINES: OnceLock<Lines> = OnceLock::new();
        let lines = LINES.get_or_init(|| {
            let lines = Lines::default();
            let writer = lines.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .finish();
            // Refused only if another test set one first; then nothing is kept.
            let _ = tracing::subscriber::set_global_default(subscriber);
            lines
        });
        let bytes = lines.0.lock().map(|l| l.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[test]
    fn a_full_queue_is_logged_on_the_dropped_connection_not_the_sender() {
        logged();
        let slow = tracing::info_span!("conn", id = 7, addr = "192.0.2.7:5000");
        let (outbox, _rx) = slow.in_scope(|| Outbox::new(1, CancellationToken::new()));
        let speaker = tracing::info_span!("conn", id = 9, addr = "192.0.2.9:6000");
        speaker.in_scope(|| {
            outbox.line("one");
            outbox.line("two");
        });
        let text = logged();
        let warning = text
            .lines()
            .find(|l| l.contains("outbound queue full") && l.contains("192.0.2."))
            .unwrap_or_else(|| panic!("no warning in {text:?}"));
        assert!(warning.contains("id=7"), "{warning}");
        assert!(warning.contains("192.0.2.7:5000"), "{warning}");
        assert!(!warning.contains("id=9"), "{warning}");
    }

    #[test]
    fn a_closed_queue_is_reported() {
        let (outbox, rx) = Outbox::new(2, CancellationToken::new());
        drop(rx);
        assert!(!outbox.line("x"));
        assert!(outbox.is_dead());
    }
}
