//! `GET /ws`: telnet over a WebSocket, into the one session.
//!
//! The handler decides whether the upgrade may happen (the server is not
//! shutting down, the page's origin is allowed, the subprotocol is ours or
//! none, and a connection slot is free under the limits every transport
//! shares), then hands the upgraded socket to two tasks on the server's
//! tracker: `session::serve`, which reads and writes an in-memory byte pipe,
//! and the [`pump`] between that pipe and the WebSocket. The pump is the whole
//! adapter: binary frames in become bytes in, bytes out become binary frames,
//! and it alone knows about frames, pings and close codes.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite;

use super::Web;
use super::policy::{self, Subprotocol, TELNET_PROTOCOL};
use crate::game::{Peer, Transport};

/// The largest frame (and message) a client may send; larger ones close the
/// connection with 1009 (message too big).
pub const MAX_FRAME: usize = 64 * 1024;

/// Bytes the pipe between the pump and the session holds each way: as much
/// as a TCP socket's buffer would, so a client that stops reading fills its
/// outbound queue the same way.
const PIPE_BUFFER: usize = 64 * 1024;

/// The bytes read from the session at a time (a binary frame's most): an
/// idle connection holds this much while it waits.
const FRAME_OUT: usize = 4 * 1024;

/// How often an idle connection is pinged, so that proxies in front (which
/// close connections silent for a minute) keep it open.
const PING_EVERY: Duration = Duration::from_secs(30);

/// How long one frame may take to go out before the client counts as gone.
const SEND_DEADLINE: Duration = Duration::from_secs(30);

/// How long the closing frame may take.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Close codes (RFC 6455 §7.4.1).
const NORMAL: u16 = 1000;
const UNSUPPORTED_DATA: u16 = 1003;
const TOO_BIG: u16 = 1009;

/// The `/ws` handler.
pub async fn upgrade(
    State(web): State<Web>,
    ConnectInfo(tcp_peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let game = &web.game;
    if game.is_shutting_down() {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is shutting down.",
        );
    }
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if !policy::origin_allowed(
        text(header::ORIGIN),
        text(header::HOST),
        &web.settings.origins,
    ) {
        tracing::info!(peer = %tcp_peer, origin = text(header::ORIGIN), "WebSocket refused: origin not allowed");
        return refuse(
            StatusCode::FORBIDDEN,
            "This page's origin may not open the game's WebSocket (see --web-origin).",
        );
    }
    let offered = ws.requested_protocols().filter_map(|v| v.to_str().ok());
    let subprotocol = policy::choose_subprotocol(offered);
    let ws = match subprotocol {
        Subprotocol::Telnet => ws.protocols([TELNET_PROTOCOL]),
        Subprotocol::Unnamed => ws,
        Subprotocol::Unsupported => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "Unsupported WebSocket subprotocol: this server speaks telnet.mudstandards.org.",
            );
        }
    };
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let addr = policy::client_addr(tcp_peer, &forwarded, web.settings.trust_proxy);
    let config = game.config();
    let Some(slot) = game.connections().admit(
        addr.ip(),
        Transport::WebSocket,
        config.max_connections,
        config.max_connections_per_ip,
    ) else {
        tracing::warn!(peer = %addr, transport = %"websocket", "connection refused: too many connections");
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "Too many connections.");
    };
    // The session's task is on the tracker from now on, so a shutdown waits
    // for it; it ends at once if the upgrade never completes.
    let (socket_tx, socket_rx) = oneshot::channel::<WebSocket>();
    let (game, tracker) = (game.clone(), web.tracker.clone());
    let peer = Peer {
        addr,
        transport: Transport::WebSocket,
    };
    let text_frames = subprotocol == Subprotocol::Unnamed;
    web.tracker.spawn(async move {
        let _slot = slot;
        let Ok(socket) = socket_rx.await else {
            return;
        };
        if game.is_shutting_down() {
            return;
        }
        let (session_side, pump_side) = tokio::io::duplex(PIPE_BUFFER);
        tracker.spawn(pump(socket, pump_side, text_frames));
        crate::session::serve(game, session_side, peer, tracker).await;
    });
    ws.max_frame_size(MAX_FRAME)
        .max_message_size(MAX_FRAME)
        .on_upgrade(move |socket| async move {
            let _ = socket_tx.send(socket);
        })
}

/// A refusal the browser's console shows.
fn refuse(status: StatusCode, text: &'static str) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], text).into_response()
}

/// Carries bytes between a WebSocket and the session's end of a pipe until
/// either side ends: frames in to bytes for the session, the session's bytes
/// out as binary frames, a ping now and then. When the client leaves (or sends
/// what is refused), the session reads the end of its input; when the session
/// closes its end, the client gets a close frame (1000, or why its input was
/// refused). A client that stops reading is given up after [`SEND_DEADLINE`]
/// per frame, as its session gives it up when its queue fills.
async fn pump(socket: WebSocket, pipe: DuplexStream, text_frames: bool) {
    let (mut sink, stream) = socket.split();
    let (from_session, to_session) = tokio::io::split(pipe);
    let refusal = tokio::select! {
        refusal = inbound(stream, to_session, text_frames) => refusal,
        () = outbound(&mut sink, from_session) => None,
    };
    let frame = refusal.unwrap_or_else(|| close_frame(NORMAL, ""));
    let _ = tokio::time::timeout(CLOSE_GRACE, sink.send(Message::Close(Some(frame)))).await;
}

fn close_frame(code: u16, reason: &'static str) -> CloseFrame {
    CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }
}

/// Frames from the client into the session's input, until the client closes
/// or fails (`None`) or sends what is refused (the close frame that says
/// why). The session's input ends with it.
async fn inbound(
    mut stream: futures::stream::SplitStream<WebSocket>,
    mut to_session: tokio::io::WriteHalf<DuplexStream>,
    text_frames: bool,
) -> Option<CloseFrame> {
    let refused = loop {
        let bytes = match stream.next().await {
            Some(Ok(Message::Binary(data))) => data,
            Some(Ok(Message::Text(text))) if text_frames => bytes::Bytes::from(text),
            Some(Ok(Message::Text(_))) => {
                break Some(close_frame(
                    UNSUPPORTED_DATA,
                    "telnet.mudstandards.org takes binary frames only",
                ));
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) | None => break None,
            Some(Err(err)) => {
                break too_big(&err)
                    .then(|| close_frame(TOO_BIG, "frames over 64 KiB are refused"));
            }
        };
        if to_session.write_all(&bytes).await.is_err() {
            break None;
        }
    };
    if let Some(frame) = &refused {
        tracing::debug!(code = frame.code, reason = %frame.reason.as_str(), "WebSocket input refused");
    }
    let _ = to_session.shutdown().await;
    refused
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

/// The session's output to the client, and pings while it is quiet, until
/// the session closes its end or the client is gone or stops reading.
async fn outbound(
    sink: &mut futures::stream::SplitSink<WebSocket, Message>,
    mut from_session: tokio::io::ReadHalf<DuplexStream>,
) {
    let mut chunk = BytesMut::new();
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.reset();
    loop {
        chunk.reserve(FRAME_OUT);
        let message = tokio::select! {
            read = from_session.read_buf(&mut chunk) => match read {
                Ok(0) | Err(_) => return,
                Ok(_) => Message::Binary(chunk.split().freeze()),
            },
            _ = ping.tick() => Message::Ping(bytes::Bytes::new()),
        };
        match tokio::time::timeout(SEND_DEADLINE, sink.send(message)).await {
            Ok(Ok(())) => ping.reset(),
            Ok(Err(_)) | Err(_) => return,
        }
    }
}
