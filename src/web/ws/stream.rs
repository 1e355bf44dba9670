//! [`WsStream`]: a WebSocket as the byte stream the session reads and writes,
//! and [`Watched`], the upgraded connection beneath it, which notes whether
//! the client takes what the server writes.
//!
//! Binary frames in are bytes read, bytes written are binary frames out, and
//! this adapter alone knows about frames and close codes. Its reading side
//! only ever polls the socket as a `Stream` and its writing side only as a
//! `Sink`: tokio-tungstenite keeps a waker for each, so the session's reader
//! and writer tasks can share the socket (through `tokio::io::split`) without
//! waking the wrong one.
//!
//! What the server keeps for one connection is bounded: tungstenite queues
//! the pong for every ping in its write buffer, which the socket's
//! configuration caps (see `ws`); and a client that sends pings while the
//! socket takes nothing more from the server — it does not read — is owed
//! more pongs than that buffer holds after [`MAX_PONGS_OWED`] bytes of pings,
//! and is dropped, as a telnet client that stops reading is dropped when its
//! queue fills.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures::{Sink, SinkExt, Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error, Message, Utf8Bytes};

use crate::metrics::Metrics;

/// The most bytes sent in one binary frame.
pub const MAX_FRAME_OUT: usize = 16 * 1024;

/// Bytes of pings a client may send while the socket takes nothing from the
/// server before it counts as not reading: more pongs than the socket's
/// write buffer holds (see `ws::MAX_WRITE_BUFFER`).
pub const MAX_PONGS_OWED: usize = 64 * 1024;

/// Close codes (RFC 6455 §7.4.1).
const NORMAL: u16 = 1000;
const PROTOCOL_ERROR: u16 = 1002;
const UNSUPPORTED_DATA: u16 = 1003;
const INVALID_DATA: u16 = 1007;
const TOO_BIG: u16 = 1009;

/// Whether the client takes what the server writes: shared between the
/// upgraded connection ([`Watched`]), which sees every write to the socket
/// (tungstenite's pongs included), and the [`WsStream`] above it.
#[derive(Debug, Default)]
pub struct Backlog {
    /// The last write found the socket full, and none went through since.
    blocked: AtomicBool,
}

impl Backlog {
    fn is_blocked(&self) -> bool {
        self.blocked.load(Ordering::Relaxed)
    }

    fn note<T>(&self, outcome: &Poll<io::Result<T>>, wrote: impl Fn(&T) -> bool) {
        match outcome {
            Poll::Pending => self.blocked.store(true, Ordering::Relaxed),
            Poll::Ready(Ok(done)) if wrote(done) => self.blocked.store(false, Ordering::Relaxed),
            Poll::Ready(_) => {}
        }
    }
}

/// The upgraded connection, noting in its [`Backlog`] whether writes go
/// through, and, for a socket an upgrade can hand on, what it read past the
/// last whole message ([`Unparsed`]).
pub struct Watched<T> {
    io: T,
    backlog: Arc<Backlog>,
    unparsed: Option<Arc<Unparsed>>,
}

impl<T> Watched<T> {
    pub fn new(io: T, backlog: Arc<Backlog>) -> Watched<T> {
        Watched {
            io,
            backlog,
            unparsed: None,
        }
    }

    /// Also keeps, in `unparsed`, the bytes read past the last whole message.
    pub fn keeping(self, unparsed: Arc<Unparsed>) -> Watched<T> {
        Watched {
            unparsed: Some(unparsed),
            ..self
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let outcome = Pin::new(&mut this.io).poll_read(cx, buf);
        if let (Poll::Ready(Ok(())), Some(unparsed)) = (&outcome, &this.unparsed) {
            unparsed.read(&buf.filled()[before..]);
        }
        outcome
    }
}

/// The bytes a WebSocket's reader took from the socket past the end of the
/// last whole message: an unfinished frame, or the frames of a message
/// whose last fragment has not come. tungstenite holds exactly these in its
/// buffers when the session waits for input, so an upgrade hands them to
/// the new image (`WebSocketStream::from_partially_read`) and nothing the
/// client sent is lost or read twice.
#[derive(Debug, Default)]
pub struct Unparsed {
    bytes: parking_lot::Mutex<Vec<u8>>,
}

/// A buffer kept no larger than this once it is empty again.
const UNPARSED_KEPT: usize = 1024;

impl Unparsed {
    /// Starts from bytes read before (the handshake's leftover, or what an
    /// old image handed over).
    pub fn starting_with(bytes: &[u8]) -> Unparsed {
        let unparsed = Unparsed::default();
        unparsed.read(bytes);
        unparsed
    }

    /// Notes bytes just read from the socket.
    fn read(&self, new: &[u8]) {
        if new.is_empty() {
            return;
        }
        let mut bytes = self.bytes.lock();
        if bytes.is_empty() {
            let done = whole_messages(new);
            bytes.extend_from_slice(&new[done..]);
        } else {
            bytes.extend_from_slice(new);
            let done = whole_messages(&bytes);
            bytes.drain(..done);
        }
        if bytes.is_empty() && bytes.capacity() > UNPARSED_KEPT {
            *bytes = Vec::new();
        }
    }

    /// The bytes read past the last whole message, now.
    pub fn now(&self) -> Vec<u8> {
        self.bytes.lock().clone()
    }
}

/// How many leading bytes of `bytes` are whole messages: whole frames, the
/// last of them ending a message (a control frame, or a data frame with its
/// FIN bit, outside a fragmented message).
fn whole_messages(bytes: &[u8]) -> usize {
    let (mut at, mut done, mut fragmented) = (0usize, 0usize, false);
    while let Some(len) = frame_len(&bytes[at..]) {
        let (fin, opcode) = (bytes[at] & 0x80 != 0, bytes[at] & 0x0f);
        if opcode < 8 {
            fragmented = !fin;
        }
        at += len;
        if !fragmented {
            done = at;
        }
    }
    done
}

/// The length of the whole frame `bytes` begins with, if all of it is there
/// (RFC 6455 §5.2).
fn frame_len(bytes: &[u8]) -> Option<usize> {
    let second = *bytes.get(1)?;
    let mask = if second & 0x80 != 0 { 4 } else { 0 };
    let (extended, payload) = match second & 0x7f {
        126 => (
            2,
            u64::from(u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?])),
        ),
        127 => {
            let ext: [u8; 8] = bytes.get(2..10)?.try_into().ok()?;
            (8, u64::from_be_bytes(ext))
        }
        len => (0, u64::from(len)),
    };
    let total = usize::try_from(payload)
        .ok()?
        .checked_add(2 + extended + mask)?;
    (total <= bytes.len()).then_some(total)
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let outcome = Pin::new(&mut this.io).poll_write(cx, buf);
        this.backlog.note(&outcome, |n| *n > 0);
        outcome
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let outcome = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.backlog.note(&outcome, |n| *n > 0);
        outcome
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// How the input ended, when the server ended it.
enum Refusal {
    /// Input the session cannot take: the close frame says why.
    Close(CloseFrame),
    /// The client does not read: nothing more is sent, not even a close
    /// frame, which it would not read either.
    Abandon,
}

/// A WebSocket as the byte stream the session reads and writes.
///
/// Reading yields the bytes of binary frames (and of text frames, when the
/// client asked for no subprotocol); the client's close, a failure, or input
/// that is refused end the input. Each write goes out as one binary frame (at
/// most [`MAX_FRAME_OUT`] bytes), and shutting down sends the close frame:
/// 1000, or for refused input 1002 (a frame that breaks RFC 6455), 1003 (a
/// text frame under the telnet subprotocol), 1007 (text that is not UTF-8)
/// or 1009 (too big); after the client's own close, the answer to it. A client that stops reading leaves writes pending, like
/// a full TCP socket, until its session drops it; one that also sends pings
/// is dropped by the reading side (see the module).
pub struct WsStream<S> {
    socket: S,
    /// Whether the client takes what is written (from the connection below).
    backlog: Arc<Backlog>,
    /// The part of the last frame not read yet.
    unread: Bytes,
    /// No subprotocol: text frames carry bytes too.
    text_frames: bool,
    /// Bytes of pings received while the socket was blocked, in a row.
    pongs_owed: usize,
    refusal: Option<Refusal>,
    input_ended: bool,
    /// The client's close came in: tungstenite has queued the answer and
    /// refuses a close of ours.
    peer_closed: bool,
    close_sent: bool,
    /// Where a client dropped for not reading is counted.
    metrics: Option<Metrics>,
}

impl<S> WsStream<S> {
    pub fn new(socket: S, text_frames: bool, backlog: Arc<Backlog>) -> WsStream<S> {
        WsStream {
            socket,
            backlog,
            unread: Bytes::new(),
            text_frames,
            pongs_owed: 0,
            refusal: None,
            input_ended: false,
            peer_closed: false,
            close_sent: false,
            metrics: None,
        }
    }

    /// Counts a client dropped for not reading into `metrics`, with the
    /// telnet clients whose queue filled.
    pub fn counted(self, metrics: Metrics) -> WsStream<S> {
        WsStream {
            metrics: Some(metrics),
            ..self
        }
    }

    fn refuse(&mut self, code: u16, reason: &'static str) {
        tracing::debug!(code, reason, "WebSocket input refused");
        self.refusal = Some(Refusal::Close(CloseFrame {
            code: code.into(),
            reason: Utf8Bytes::from_static(reason),
        }));
        self.input_ended = true;
    }

    /// A ping came in: tungstenite answers it, but a client that does not
    /// read is owed the answers, and past [`MAX_PONGS_OWED`] it is dropped.
    fn pinged(&mut self, payload: usize) {
        if !self.backlog.is_blocked() {
            self.pongs_owed = 0;
            return;
        }
        // The client's frame: two header bytes, the mask, the payload.
        self.pongs_owed += payload + 6;
        if self.pongs_owed > MAX_PONGS_OWED {
            tracing::warn!("WebSocket client sends pings but does not read: dropped");
            self.metrics.iter().for_each(Metrics::outbox_overflow);
            self.refusal = Some(Refusal::Abandon);
            self.input_ended = true;
        }
    }

    /// What a read's frame means for the input.
    fn take(&mut self, message: Message) {
        match message {
            Message::Binary(data) => self.unread = data,
            Message::Text(text) if self.text_frames => self.unread = Bytes::from(text),
            Message::Text(_) => self.refuse(
                UNSUPPORTED_DATA,
                "telnet.mudstandards.org takes binary frames only",
            ),
            Message::Ping(data) => self.pinged(data.len()),
            Message::Pong(_) | Message::Frame(_) => {}
            Message::Close(_) => {
                self.input_ended = true;
                self.peer_closed = true;
            }
        }
    }

    /// What a failed read means: the reason to close with, or a plain end.
    fn failed(&mut self, err: Error) {
        match err {
            Error::Capacity(_) => self.refuse(TOO_BIG, "frames over 64 KiB are refused"),
            Error::Utf8(_) => self.refuse(INVALID_DATA, "text frames must be UTF-8"),
            // The client went without a close frame: nobody to tell.
            Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
                self.input_ended = true;
            }
            Error::Protocol(problem) => {
                tracing::debug!(%problem, "WebSocket protocol error");
                self.refuse(PROTOCOL_ERROR, "protocol error");
            }
            err => {
                tracing::debug!(%err, "WebSocket read failed");
                self.input_ended = true;
            }
        }
    }
}

impl<S> AsyncRead for WsStream<S>
where
    S: Stream<Item = Result<Message, Error>> + Unpin,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if !this.unread.is_empty() {
                let n = this.unread.len().min(buf.remaining());
                buf.put_slice(&this.unread.split_to(n));
                return Poll::Ready(Ok(()));
            }
            if this.input_ended {
                return Poll::Ready(Ok(()));
            }
            match ready!(this.socket.poll_next_unpin(cx)) {
                Some(Ok(message)) => this.take(message),
                Some(Err(err)) => this.failed(err),
                None => this.input_ended = true,
            }
        }
    }
}

impl<S> AsyncWrite for WsStream<S>
where
    S: Sink<Message, Error = Error> + Unpin,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if matches!(this.refusal, Some(Refusal::Abandon)) {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        ready!(this.socket.poll_ready_unpin(cx)).map_err(io::Error::other)?;
        let n = buf.len().min(MAX_FRAME_OUT);
        let frame = Message::Binary(Bytes::copy_from_slice(&buf[..n]));
        this.socket
            .start_send_unpin(frame)
            .map_err(io::Error::other)?;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if matches!(this.refusal, Some(Refusal::Abandon)) {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        this.socket.poll_flush_unpin(cx).map_err(io::Error::other)
    }

    /// Sends the close frame and flushes (nothing, for a client that does not
    /// read; the answer tungstenite queued, for a client that closed first);
    /// the connection itself closes when the stream is dropped.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if matches!(this.refusal, Some(Refusal::Abandon)) {
            return Poll::Ready(Ok(()));
        }
        if !this.close_sent && !this.peer_closed {
            ready!(this.socket.poll_ready_unpin(cx)).map_err(io::Error::other)?;
            let frame = match this.refusal.take() {
                Some(Refusal::Close(frame)) => frame,
                _ => CloseFrame {
                    code: NORMAL.into(),
                    reason: Utf8Bytes::default(),
                },
            };
            this.socket
                .start_send_unpin(Message::Close(Some(frame)))
                .map_err(io::Error::other)?;
            this.close_sent = true;
        }
        this.socket.poll_flush_unpin(cx).map_err(io::Error::other)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_tungstenite::tungstenite::error::CapacityError;

    use super::*;

    /// A socket that hands out `incoming` (then reports the client gone) and
    /// keeps what is sent.
    #[derive(Default)]
    struct Fake {
        incoming: VecDeque<Result<Message, Error>>,
        sent: Vec<Message>,
    }

    impl Stream for Fake {
        type Item = Result<Message, Error>;
        fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            Poll::Ready(self.get_mut().incoming.pop_front())
        }
    }

    impl Sink<Message> for Fake {
        type Error = Error;
        fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
            Poll::Ready(Ok(()))
        }
        fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
            self.get_mut().sent.push(item);
            Ok(())
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
            Poll::Ready(Ok(()))
        }
    }

    fn stream(incoming: Vec<Result<Message, Error>>, text_frames: bool) -> WsStream<Fake> {
        let fake = Fake {
            incoming: incoming.into(),
            sent: Vec::new(),
        };
        WsStream::new(fake, text_frames, Arc::default())
    }

    fn binary(bytes: &[u8]) -> Result<Message, Error> {
        Ok(Message::Binary(Bytes::copy_from_slice(bytes)))
    }

    fn ping(len: usize) -> Result<Message, Error> {
        Ok(Message::Ping(Bytes::from(vec![b'p'; len])))
    }

    /// Everything readable, a few bytes at a time, until the input ends.
    async fn read_all(ws: &mut WsStream<Fake>) -> Vec<u8> {
        let mut all = Vec::new();
        let mut small = [0u8; 3];
        loop {
            let n = ws.read(&mut small).await.expect("read");
            if n == 0 {
                return all;
            }
            all.extend_from_slice(&small[..n]);
        }
    }

    /// The code of the close frame a shutdown sends, if it sends one.
    async fn close_code(ws: &mut WsStream<Fake>) -> Option<u16> {
        ws.shutdown().await.expect("shutdown");
        match ws.socket.sent.last() {
            Some(Message::Close(frame)) => frame.as_ref().map(|f| u16::from(f.code)),
            _ => None,
        }
    }

    /// A masked client frame: `head` is FIN and opcode.
    fn client_frame(head: u8, payload: &[u8]) -> Vec<u8> {
        let mut frame = vec![head];
        match payload.len() {
            n @ 0..126 => frame.push(0x80 | n as u8),
            n => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
        }
        frame.extend_from_slice(&[1, 2, 3, 4]);
        frame.extend(
            payload
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ (i % 4 + 1) as u8),
        );
        frame
    }

    /// What an upgrade hands on is exactly what follows the last whole
    /// message, however the bytes arrived.
    #[test]
    fn unparsed_keeps_what_follows_the_last_whole_message() {
        let line = client_frame(0x82, b"look\r\n");
        let long = client_frame(0x82, &[b'x'; 300]);
        let ping = client_frame(0x89, b"hi");
        let first_part = client_frame(0x02, b"say ");
        let last_part = client_frame(0x80, b"hello\r\n");
        let stream = [
            line.clone(),
            long.clone(),
            first_part.clone(),
            ping.clone(),
            last_part.clone(),
            line.clone(),
        ]
        .concat();
        // Where each whole message ends: after `line`, `long`, then only
        // after the fragmented message's last part (the ping inside it does
        // not end it), and after the last `line`.
        let mut ends = vec![line.len(), line.len() + long.len()];
        let fragmented = first_part.len() + ping.len() + last_part.len();
        ends.push(ends[1] + fragmented);
        ends.push(stream.len());
        for step in [1, 3, 7, 64, stream.len()] {
            let unparsed = Unparsed::default();
            let mut read = 0;
            for chunk in stream.chunks(step) {
                unparsed.read(chunk);
                read += chunk.len();
                let done = ends
                    .iter()
                    .copied()
                    .filter(|&e| e <= read)
                    .max()
                    .unwrap_or(0);
                assert_eq!(
                    unparsed.now(),
                    &stream[done..read],
                    "step {step}, read {read}"
                );
            }
        }
        let handed = Unparsed::starting_with(&line[..3]);
        handed.read(&line[3..]);
        assert!(handed.now().is_empty());
    }

    #[tokio::test]
    async fn frames_become_one_byte_stream_and_pings_are_skipped() {
        let mut ws = stream(
            vec![
                binary(b"conn"),
                ping(0),
                binary(b"ect ann\r"),
                binary(b"\n"),
            ],
            false,
        );
        assert_eq!(read_all(&mut ws).await, b"connect ann\r\n");
        assert_eq!(close_code(&mut ws).await, Some(NORMAL));
    }

    #[tokio::test]
    async fn text_frames_are_bytes_without_a_subprotocol_and_refused_with_it() {
        let mut plain = stream(vec![Ok(Message::Text("look\r\n".into()))], true);
        assert_eq!(read_all(&mut plain).await, b"look\r\n");
        let mut telnet = stream(
            vec![
                binary(b"ok\n"),
                Ok(Message::Text("look\r\n".into())),
                binary(b"never"),
            ],
            false,
        );
        assert_eq!(read_all(&mut telnet).await, b"ok\n");
        assert_eq!(close_code(&mut telnet).await, Some(UNSUPPORTED_DATA));
    }

    #[tokio::test]
    async fn failed_reads_close_with_the_code_that_says_why() {
        let too_long = Error::Capacity(CapacityError::MessageTooLong {
            size: 64 * 1024 + 1,
            max_size: 64 * 1024,
        });
        let cases = [
            (too_long, Some(TOO_BIG)),
            (
                Error::Protocol(ProtocolError::NonZeroReservedBits),
                Some(PROTOCOL_ERROR),
            ),
            (
                Error::Protocol(ProtocolError::UnmaskedFrameFromClient),
                Some(PROTOCOL_ERROR),
            ),
            (Error::Utf8("bad".into()), Some(INVALID_DATA)),
            (
                Error::Protocol(ProtocolError::ResetWithoutClosingHandshake),
                Some(NORMAL),
            ),
            (Error::ConnectionClosed, Some(NORMAL)),
        ];
        for (err, want) in cases {
            let what = err.to_string();
            let mut ws = stream(vec![binary(b"a\n"), Err(err), binary(b"never")], false);
            assert_eq!(read_all(&mut ws).await, b"a\n", "{what}");
            assert_eq!(close_code(&mut ws).await, want, "{what}");
        }
    }

    #[tokio::test]
    async fn pings_while_the_socket_is_blocked_drop_the_client_past_the_bound() {
        // 125-byte pings are 131 bytes on the wire.
        let within = MAX_PONGS_OWED / 131;
        let pings: Vec<_> = (0..within).map(|_| ping(125)).collect();

        // While writes go through, any number of pings is fine.
        let mut reading = stream((0..4 * within).map(|_| ping(125)).collect(), false);
        assert_eq!(read_all(&mut reading).await, b"");
        assert_eq!(close_code(&mut reading).await, Some(NORMAL));

        // While they do not, the pings up to the bound are owed ...
        let mut blocked = stream(pings, false);
        blocked.backlog.blocked.store(true, Ordering::Relaxed);
        blocked.socket.incoming.push_back(binary(b"still here\n"));
        assert_eq!(read_all(&mut blocked).await, b"still here\n");
        // ... and one more drops the client, with nothing more sent.
        let mut blocked = stream((0..=within).map(|_| ping(125)).collect(), false);
        blocked.backlog.blocked.store(true, Ordering::Relaxed);
        blocked.socket.incoming.push_back(binary(b"never read\n"));
        assert_eq!(read_all(&mut blocked).await, b"");
        assert_eq!(close_code(&mut blocked).await, None);
        assert!(blocked.write_all(b"x").await.is_err());
    }

    #[tokio::test]
    async fn writes_go_out_as_binary_frames_and_one_close() {
        let mut ws = stream(Vec::new(), false);
        let text: Vec<u8> = (0..40_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        ws.write_all(&text).await.expect("write");
        ws.flush().await.expect("flush");
        ws.shutdown().await.expect("shutdown");
        ws.shutdown()
            .await
            .expect("a second shutdown sends nothing more");
        let (frames, closes): (Vec<_>, Vec<_>) = ws
            .socket
            .sent
            .iter()
            .partition(|m| matches!(m, Message::Binary(_)));
        let mut joined = Vec::new();
        for frame in &frames {
            let Message::Binary(bytes) = frame else {
                unreachable!("partitioned");
            };
            assert!(bytes.len() <= MAX_FRAME_OUT);
            joined.extend_from_slice(bytes);
        }
        assert_eq!(joined, text);
        assert_eq!(closes.len(), 1);
    }
}
