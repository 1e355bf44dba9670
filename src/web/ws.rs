//! `GET /ws`: telnet over a WebSocket, into the one session.
//!
//! The handler decides whether the upgrade may happen (the server is not
//! shutting down, the page's origin is allowed, the subprotocol is ours or
//! none, and a connection slot is free under the limits every transport
//! shares), then puts the connection's task on the server's tracker, where
//! the upgraded socket, wrapped in a [`WsStream`], is served by the one
//! `session::serve`. The `WsStream` is the whole adapter: binary frames in are
//! bytes read, bytes written are binary frames out, and it alone knows about
//! frames and close codes.
//!
//! Its reading side only ever polls the socket as a `Stream` and its writing
//! side only as a `Sink`: tokio-tungstenite keeps a waker for each, so the
//! session's reader and writer tasks can share the socket (through
//! `tokio::io::split`) without waking the wrong one.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{Sink, SinkExt, Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite;

use super::Web;
use super::policy::{self, Subprotocol, TELNET_PROTOCOL};
use crate::game::{ConnectionSlot, Peer, Transport};

/// The largest frame (and message) a client may send; larger ones close the
/// connection with 1009 (message too big).
pub const MAX_FRAME: usize = 64 * 1024;

/// The socket's read buffer: players type short lines, and tungstenite's
/// default (128 KiB, allocated up front) would make an idle WebSocket player
/// cost ten times a telnet one. A larger frame still arrives; it is read in
/// more steps.
const READ_BUFFER: usize = 4 * 1024;

/// The most bytes sent in one binary frame.
const MAX_FRAME_OUT: usize = 16 * 1024;

/// Close codes (RFC 6455 §7.4.1).
const NORMAL: u16 = 1000;
const UNSUPPORTED_DATA: u16 = 1003;
const TOO_BIG: u16 = 1009;

/// The `/ws` handler: the checks in order, a connection slot, then the
/// session.
pub async fn upgrade(
    State(web): State<Web>,
    ConnectInfo(tcp_peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let offered = ws.requested_protocols().filter_map(|v| v.to_str().ok());
    let subprotocol = policy::choose_subprotocol(offered);
    if let Some(refusal) = refusal(&web, tcp_peer, &headers, subprotocol) {
        return refusal;
    }
    let addr = super::client_addr(tcp_peer, &headers, web.settings.trust_proxy);
    let config = web.game.config();
    let Some(slot) = web.game.connections().admit(
        addr.ip(),
        Transport::WebSocket,
        config.max_connections,
        config.max_connections_per_ip,
    ) else {
        tracing::warn!(peer = %addr, transport = %"websocket", "connection refused: too many connections");
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "Too many connections.");
    };
    let ws = match subprotocol {
        Subprotocol::Telnet => ws.protocols([TELNET_PROTOCOL]),
        _ => ws,
    };
    let peer = Peer {
        addr,
        transport: Transport::WebSocket,
    };
    serve_upgraded(&web, ws, slot, peer, subprotocol == Subprotocol::Unnamed)
}

/// Why the upgrade may not happen, if it may not: the server is shutting
/// down, the page's origin is not allowed, or the client offered only
/// subprotocols gaslamp does not speak.
fn refusal(
    web: &Web,
    tcp_peer: SocketAddr,
    headers: &HeaderMap,
    subprotocol: Subprotocol,
) -> Option<Response> {
    if web.game.is_shutting_down() {
        return Some(refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is shutting down.",
        ));
    }
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let (origin, host) = (text(header::ORIGIN), text(header::HOST));
    if !policy::origin_allowed(origin, host, &web.settings.origins) {
        tracing::info!(peer = %tcp_peer, origin, "WebSocket refused: origin not allowed");
        return Some(refuse(
            StatusCode::FORBIDDEN,
            "This page's origin may not open the game's WebSocket (see --web-origin).",
        ));
    }
    (subprotocol == Subprotocol::Unsupported).then(|| {
        refuse(
            StatusCode::BAD_REQUEST,
            "Unsupported WebSocket subprotocol: this server speaks telnet.mudstandards.org.",
        )
    })
}

/// Answers the upgrade and serves the socket, once upgraded, in a task on the
/// server's tracker that holds `slot`: a shutdown waits for it, and it ends at
/// once if the upgrade never completes.
fn serve_upgraded(
    web: &Web,
    ws: WebSocketUpgrade,
    slot: ConnectionSlot,
    peer: Peer,
    text_frames: bool,
) -> Response {
    let (socket_tx, socket_rx) = oneshot::channel::<WebSocket>();
    let (game, tracker) = (web.game.clone(), web.tracker.clone());
    web.tracker.spawn(async move {
        let _slot = slot;
        let Ok(socket) = socket_rx.await else {
            return;
        };
        if game.is_shutting_down() {
            return;
        }
        let stream = WsStream::new(socket, text_frames);
        crate::session::serve(game, stream, peer, tracker).await;
    });
    ws.max_frame_size(MAX_FRAME)
        .max_message_size(MAX_FRAME)
        .read_buffer_size(READ_BUFFER)
        .on_upgrade(move |socket| async move {
            let _ = socket_tx.send(socket);
        })
}

/// A refusal the browser's console shows.
fn refuse(status: StatusCode, text: &'static str) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], text).into_response()
}

fn close_frame(code: u16, reason: &'static str) -> CloseFrame {
    CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }
}

/// A WebSocket as the byte stream the session reads and writes.
///
/// Reading yields the bytes of binary frames (and of text frames, when the
/// client asked for no subprotocol); the client's close, a failure, or input
/// that is refused end the input. Each write goes out as one binary frame (at
/// most [`MAX_FRAME_OUT`] bytes), and shutting down sends the close frame:
/// 1000, or 1003 or 1009 for input that was refused. A client that stops
/// reading leaves writes pending, like a full TCP socket, until its session
/// drops it.
pub struct WsStream<S> {
    socket: S,
    /// The part of the last frame not read yet.
    unread: Bytes,
    /// No subprotocol: text frames carry bytes too.
    text_frames: bool,
    /// The close frame that says why the input was refused.
    refusal: Option<CloseFrame>,
    input_ended: bool,
    close_sent: bool,
}

impl<S> WsStream<S> {
    pub fn new(socket: S, text_frames: bool) -> WsStream<S> {
        WsStream {
            socket,
            unread: Bytes::new(),
            text_frames,
            refusal: None,
            input_ended: false,
            close_sent: false,
        }
    }

    fn refuse(&mut self, frame: CloseFrame) {
        tracing::debug!(code = frame.code, reason = %frame.reason.as_str(), "WebSocket input refused");
        self.refusal = Some(frame);
        self.input_ended = true;
    }
}

impl<S> AsyncRead for WsStream<S>
where
    S: Stream<Item = Result<Message, axum::Error>> + Unpin,
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
                Some(Ok(Message::Binary(data))) => this.unread = data,
                Some(Ok(Message::Text(text))) if this.text_frames => {
                    this.unread = Bytes::from(text);
                }
                Some(Ok(Message::Text(_))) => this.refuse(close_frame(
                    UNSUPPORTED_DATA,
                    "telnet.mudstandards.org takes binary frames only",
                )),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | None => this.input_ended = true,
                Some(Err(err)) if too_big(&err) => {
                    this.refuse(close_frame(TOO_BIG, "frames over 64 KiB are refused"));
                }
                Some(Err(err)) => {
                    tracing::debug!(%err, "WebSocket read failed");
                    this.input_ended = true;
                }
            }
        }
    }
}

impl<S> AsyncWrite for WsStream<S>
where
    S: Sink<Message, Error = axum::Error> + Unpin,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
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
        self.get_mut()
            .socket
            .poll_flush_unpin(cx)
            .map_err(io::Error::other)
    }

    /// Sends the close frame and flushes; the connection itself closes when
    /// the stream is dropped.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.close_sent {
            ready!(this.socket.poll_ready_unpin(cx)).map_err(io::Error::other)?;
            let frame = this
                .refusal
                .take()
                .unwrap_or_else(|| close_frame(NORMAL, ""));
            this.socket
                .start_send_unpin(Message::Close(Some(frame)))
                .map_err(io::Error::other)?;
            this.close_sent = true;
        }
        this.socket.poll_flush_unpin(cx).map_err(io::Error::other)
    }
}

/// Whether a read failed because a frame or message was over the limit.
fn too_big(err: &axum::Error) -> bool {
    use std::error::Error as _;
    let mut cause = err.source();
    while let Some(inner) = cause {
        if matches!(
            inner.downcast_ref::<tungstenite::Error>(),
            Some(tungstenite::Error::Capacity(_))
        ) {
            return true;
        }
        cause = inner.source();
    }
    false
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
        incoming: VecDeque<Result<Message, axum::Error>>,
        sent: Vec<Message>,
    }

    impl Stream for Fake {
        type Item = Result<Message, axum::Error>;
        fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            Poll::Ready(self.get_mut().incoming.pop_front())
        }
    }

    impl Sink<Message> for Fake {
        type Error = axum::Error;
        fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), axum::Error>> {
            Poll::Ready(Ok(()))
        }
        fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), axum::Error> {
            self.get_mut().sent.push(item);
            Ok(())
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), axum::Error>> {
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), axum::Error>> {
            Poll::Ready(Ok(()))
        }
    }

    fn stream(incoming: Vec<Result<Message, axum::Error>>, text_frames: bool) -> WsStream<Fake> {
        let fake = Fake {
            incoming: incoming.into(),
            sent: Vec::new(),
        };
        WsStream::new(fake, text_frames)
    }

    fn binary(bytes: &[u8]) -> Result<Message, axum::Error> {
        Ok(Message::Binary(Bytes::copy_from_slice(bytes)))
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

    async fn close_code(ws: &mut WsStream<Fake>) -> Option<u16> {
        ws.shutdown().await.expect("shutdown");
        match ws.socket.sent.last() {
            Some(Message::Close(frame)) => frame.as_ref().map(|f| f.code),
            _ => None,
        }
    }

    #[tokio::test]
    async fn frames_become_one_byte_stream_and_pings_are_skipped() {
        let mut ws = stream(
            vec![
                binary(b"conn"),
                Ok(Message::Ping(Bytes::new())),
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
    async fn a_frame_over_the_limit_ends_the_input_with_1009() {
        let too_long = tungstenite::Error::Capacity(CapacityError::MessageTooLong {
            size: MAX_FRAME + 1,
            max_size: MAX_FRAME,
        });
        let mut ws = stream(vec![binary(b"a\n"), Err(axum::Error::new(too_long))], false);
        assert_eq!(read_all(&mut ws).await, b"a\n");
        assert_eq!(close_code(&mut ws).await, Some(TOO_BIG));
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
