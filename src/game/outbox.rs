//! A connection's outbound queue, as everyone else sees it.
//!
//! Each connection has one bounded queue drained by its own socket-writer task.
//! Anyone may put text in it with [`Outbox::send`], which never waits: if the queue
//! is full the client has stopped reading, so the connection is marked dead (its
//! tasks end and the socket closes) and the sender moves on. One slow client can
//! therefore never hold up a room.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio_util::sync::CancellationToken;

use crate::telnet::Output;

/// What travels through the queue to the socket writer.
#[derive(Debug)]
pub enum Outbound {
    Frame(Output),
    /// The client sent a line: its cursor is at the start of a fresh line, so
    /// text arriving now needs no line break in front of it.
    InputSeen,
    /// Write everything queued before this, then close the socket.
    Close,
}

/// The sending side of a connection's queue.
#[derive(Clone, Debug)]
pub struct Outbox {
    tx: mpsc::Sender<Outbound>,
    dead: CancellationToken,
}

impl Outbox {
    /// Makes a queue of `capacity` messages; `dead` is cancelled when the queue
    /// overflows (and by whoever else ends the connection).
    pub fn new(capacity: usize, dead: CancellationToken) -> (Outbox, mpsc::Receiver<Outbound>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (Outbox { tx, dead }, rx)
    }

    /// Queues one frame. Returns false when the connection is gone or was just
    /// found too slow (and is now being dropped).
    pub fn send(&self, output: Output) -> bool {
        match self.tx.try_send(Outbound::Frame(output)) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                if !self.dead.is_cancelled() {
                    tracing::warn!("outbound queue full: dropping a client that stopped reading");
                    self.dead.cancel();
                }
                false
            }
            Err(TrySendError::Closed(_)) => false,
        }
    }

    /// Queues a line of text (CRLF is added by the encoder).
    pub fn line(&self, text: impl Into<Arc<str>>) -> bool {
        self.send(Output::Line(text.into()))
    }

    /// Queues a prompt (followed by IAC GA/EOR, no newline).
    pub fn prompt(&self, text: impl Into<Arc<str>>) -> bool {
        self.send(Output::Prompt(text.into()))
    }

    /// Tells the writer the client has just ended a line of input.
    pub fn input_seen(&self) {
        // Losing this marker only costs a blank line, never correctness.
        let _ = self.tx.try_send(Outbound::InputSeen);
    }

    /// Asks the writer to send what is queued and then close the socket.
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

    #[test]
    fn a_closed_queue_is_reported() {
        let (outbox, rx) = Outbox::new(2, CancellationToken::new());
        drop(rx);
        assert!(!outbox.line("x"));
        assert!(outbox.is_dead());
    }
}
