//! The task that drains a connection's outbound queue into its stream (a TCP or
//! TLS socket, or a WebSocket adapter: anything `AsyncWrite`), encoding the
//! game's messages as telnet.
//!
//! It writes whatever is queued in one go and flushes, so a burst of lines costs
//! one system call. When text arrives for a player sitting at a prompt (someone
//! else spoke), a line break goes first so the text does not run on after `> `.
//! Every write races the connection's `dead` token: a client
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
    let mut at_prompt = false;
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
            outcome = write_batch(&mut sink, first, &mut queue, &mut at_prompt) => outcome,
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

enum Batch {
    More,
    Closing,
}

/// Writes `first` and everything else already queued, then flushes.
async fn write_batch<W: AsyncWrite + Unpin>(
    sink: &mut FramedWrite<W, TelnetCodec>,
    first: Outbound,
    queue: &mut mpsc::Receiver<Outbound>,
    at_prompt: &mut bool,
) -> std::io::Result<Batch> {
    let mut next = Some(first);
    let mut batch = Batch::More;
    while let Some(item) = next.take() {
        match item {
            Outbound::Message(Message::Line(text)) => {
                if *at_prompt {
                    sink.feed(Output::Line(Arc::from(""))).await?;
                }
                *at_prompt = false;
                sink.feed(Output::Line(text)).await?;
            }
            Outbound::Message(Message::Prompt(text)) => {
                *at_prompt = true;
                sink.feed(Output::Prompt(text)).await?;
            }
            Outbound::Wire(bytes) => sink.feed(Output::Raw(bytes)).await?,
            Outbound::InputSeen => *at_prompt = false,
            Outbound::Close => {
                batch = Batch::Closing;
                break;
            }
        }
        next = queue.try_recv().ok();
    }
    sink.flush().await?;
    Ok(batch)
}
