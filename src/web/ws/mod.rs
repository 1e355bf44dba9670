//! `GET /ws`: telnet over a WebSocket, into the one session.
//!
//! The request reaches the handler only if the listener serves its `Host`
//! (the front's check against DNS rebinding, `web::policy::host_allowed`).
//! The handler decides whether the upgrade may happen (the request is a
//! WebSocket handshake, the server is not shutting down, the page's origin is
//! allowed, the subprotocol is ours or none, and a connection slot is free
//! under the limits every transport shares), then puts the connection's task
//! on the server's tracker, where the upgraded connection, wrapped in a
//! [`WsStream`], is served by the one `session::serve`.
//!
//! The handshake's answer is made here rather than by axum's extractor so
//! that the socket beneath tungstenite is ours ([`Watched`]): that is how the
//! adapter knows whether a client that pings takes anything the server
//! writes. The socket's buffers are bounded: a 4 KiB read buffer (a larger
//! frame still arrives, in more steps), frames and messages up to
//! [`MAX_FRAME`], and a write buffer of at most [`MAX_WRITE_BUFFER`], pongs
//! included.

mod stream;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

pub use self::stream::{Backlog, MAX_FRAME_OUT, MAX_PONGS_OWED, Unparsed, Watched, WsStream};
use super::Web;
use super::policy::{self, Subprotocol, TELNET_PROTOCOL};
use crate::game::handoff::Carrier;
use crate::game::{ConnectionSlot, Peer, Transport};

/// The largest frame (and message) a client may send; larger ones close the
/// connection with 1009 (message too big).
pub const MAX_FRAME: usize = 64 * 1024;

/// The socket's read buffer: players type short lines, and tungstenite's
/// default (128 KiB, allocated up front) would make an idle WebSocket player
/// cost ten times a telnet one.
const READ_BUFFER: usize = 4 * 1024;

/// Bytes of frames gathered before they are written to the socket (a flush
/// writes them sooner); one outgoing frame's worth.
const WRITE_BUFFER: usize = MAX_FRAME_OUT;

/// The most the socket's write buffer holds (tungstenite's default has no
/// bound): frames not yet taken by the client, and the pongs it is owed.
/// When it is full a newer pong replaces the one waiting.
pub const MAX_WRITE_BUFFER: usize = 64 * 1024;

// tungstenite requires room for at least one frame above the write buffer.
const _: () = assert!(MAX_WRITE_BUFFER > WRITE_BUFFER + MAX_FRAME_OUT + 16);
// A client owed more pongs than the write buffer holds is dropped.
const _: () = assert!(MAX_PONGS_OWED >= MAX_WRITE_BUFFER);

/// The `/ws` handler: the checks in order, a connection slot, then the
/// session.
pub async fn upgrade(
    State(web): State<Web>,
    ConnectInfo(tcp_peer): ConnectInfo<SocketAddr>,
    mut request: Request,
) -> Response {
    let headers = request.headers();
    let Some(accept) = handshake_accept(headers) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "This is the game's WebSocket (telnet.mudstandards.org); open it with a WebSocket client.",
        );
    };
    let offered = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok());
    let subprotocol = policy::choose_subprotocol(offered);
    if let Some(refusal) = refusal(&web, tcp_peer, headers, subprotocol) {
        return refusal;
    }
    let addr = super::client_addr(tcp_peer, headers, web.settings.trust_proxy);
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
    let Some(upgrading) = request
        .extensions_mut()
        .remove::<hyper::upgrade::OnUpgrade>()
    else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "This connection cannot be upgraded.",
        );
    };
    let peer = Peer {
        addr,
        transport: Transport::WebSocket,
    };
    serve_upgraded(
        &web,
        upgrading,
        slot,
        peer,
        subprotocol == Subprotocol::Unnamed,
    );
    switching(accept, subprotocol)
}

/// The `Sec-WebSocket-Accept` answer to a WebSocket handshake (RFC 6455
/// §4.2.1), if the request is one.
fn handshake_accept(headers: &HeaderMap) -> Option<String> {
    let has = |name, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    let ok = has(header::CONNECTION, "upgrade")
        && has(header::UPGRADE, "websocket")
        && has(header::SEC_WEBSOCKET_VERSION, "13");
    let key = headers.get(header::SEC_WEBSOCKET_KEY)?;
    ok.then(|| derive_accept_key(key.as_bytes()))
}

/// The `101 Switching Protocols` answer.
fn switching(accept: String, subprotocol: Subprotocol) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    if subprotocol == Subprotocol::Telnet {
        let telnet = HeaderValue::from_static(TELNET_PROTOCOL);
        headers.insert(header::SEC_WEBSOCKET_PROTOCOL, telnet);
    }
    response
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
    // A WebSocket opened while an upgrade hands over might miss the handoff.
    if web.game.handoffs().accepting_paused() {
        return Some(refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is being upgraded; try again in a moment.",
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

/// Serves the socket, once upgraded, in a task on the server's tracker that
/// holds `slot`: a shutdown waits for it, and it ends at once if the upgrade
/// never completes.
fn serve_upgraded(
    web: &Web,
    upgrading: hyper::upgrade::OnUpgrade,
    slot: ConnectionSlot,
    peer: Peer,
    text_frames: bool,
) {
    let (game, tracker) = (web.game.clone(), web.tracker.clone());
    web.tracker.spawn(async move {
        let _slot = slot;
        let upgraded = match upgrading.await {
            Ok(upgraded) => upgraded,
            Err(err) => {
                tracing::debug!(peer = %peer.addr, %err, "WebSocket upgrade failed");
                return;
            }
        };
        if game.is_shutting_down() {
            return;
        }
        // On the listener's own TCP socket (always, but for the fuzz
        // targets' in-memory streams), an upgrade can hand the socket on.
        match upgraded.downcast::<TokioIo<tokio::net::TcpStream>>() {
            Ok(parts) => {
                let tcp = parts.io.into_inner();
                let (stream, carrier) =
                    inheritable_stream(tcp, text_frames, parts.read_buf.to_vec()).await;
                let stream = stream.counted(game.metrics().clone());
                crate::session::serve_inheritable(game, stream, peer, tracker, Some(carrier)).await;
            }
            Err(upgraded) => {
                let stream = server_stream(TokioIo::new(upgraded), text_frames)
                    .await
                    .counted(game.metrics().clone());
                crate::session::serve(game, stream, peer, tracker).await;
            }
        }
    });
}

/// A kept WebSocket: the stream the session reads and writes.
pub type KeptStream = WsStream<WebSocketStream<Watched<tokio::net::TcpStream>>>;

/// The server's end of a WebSocket on a TCP socket an upgrade can hand on,
/// and what the upgrade must know of it (its [`Carrier`]). `read` is what was
/// read from the socket and not yet taken as frames: the handshake's
/// leftover, or in a new image what the old one read past the last whole
/// message. `/ws` serves its WebSockets through it, and an upgrade's new
/// image those it took over.
pub async fn inheritable_stream(
    tcp: tokio::net::TcpStream,
    text_frames: bool,
    read: Vec<u8>,
) -> (KeptStream, Carrier) {
    let fd = std::os::fd::AsRawFd::as_raw_fd(&tcp);
    let backlog = Arc::new(Backlog::default());
    let unparsed = Arc::new(Unparsed::starting_with(&read));
    let io = Watched::new(tcp, backlog.clone()).keeping(unparsed.clone());
    let config = Some(socket_config());
    let socket = WebSocketStream::from_partially_read(io, read, Role::Server, config).await;
    let carrier = Carrier::WebSocket {
        fd,
        text_frames,
        unparsed: Arc::new(move || unparsed.now()),
    };
    (WsStream::new(socket, text_frames, backlog), carrier)
}

/// The server's end of a WebSocket whose handshake is done, over `io`, as a
/// byte stream ([`WsStream`]), with this module's bounds; `text_frames` when
/// the client asked for no subprotocol. `/ws` serves every WebSocket
/// through it, and the fuzz targets drive the adapter through it too.
pub async fn server_stream<T>(io: T, text_frames: bool) -> WsStream<WebSocketStream<Watched<T>>>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let backlog = Arc::new(Backlog::default());
    let io = Watched::new(io, backlog.clone());
    let socket = WebSocketStream::from_raw_socket(io, Role::Server, Some(socket_config())).await;
    WsStream::new(socket, text_frames, backlog)
}

/// The bounds of one WebSocket (see the module).
fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .max_frame_size(Some(MAX_FRAME))
        .max_message_size(Some(MAX_FRAME))
}

/// A refusal the browser's console shows.
fn refuse(status: StatusCode, text: &'static str) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], text).into_response()
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A frame as a client sends it: masked, its payload under 126 bytes.
    fn masked(head: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let mut frame = vec![head, 0x80 | payload.len() as u8];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        frame
    }

    /// Found by the `ws_stream` fuzz target (its seed `telnet`, replayed
    /// here): a client that closed first was never answered. The adapter
    /// sent a close of its own, which tungstenite refuses once the client's
    /// close is in, and the answer tungstenite had queued was never written:
    /// the client saw the connection drop without the close RFC 6455 §5.5.1
    /// says it must get (a browser reports 1006, not a clean close).
    #[tokio::test]
    async fn a_client_that_closes_first_gets_its_close_answered() {
        let (client, server) = tokio::io::duplex(1 << 16);
        let (mut from_server, mut to_server) = tokio::io::split(client);
        let frames = [
            masked(0x82, b"connect ann secret\r\n"),
            masked(0x89, b"ping"),
            masked(0x02, b"lo"),
            masked(0x80, b"ok\r\n"),
            masked(0x88, &1000u16.to_be_bytes()),
        ];
        to_server.write_all(&frames.concat()).await.expect("send");
        to_server.shutdown().await.expect("stop sending");
        let mut ws = server_stream(server, false).await;
        let mut read = Vec::new();
        ws.read_to_end(&mut read).await.expect("read");
        assert_eq!(read, b"connect ann secret\r\nlook\r\n");
        ws.shutdown().await.expect("the close is answered");
        drop(ws);
        let mut sent = Vec::new();
        from_server.read_to_end(&mut sent).await.expect("receive");
        let pong = [0x8a, 4, b'p', b'i', b'n', b'g'];
        let close = [0x88, 2, 0x03, 0xe8];
        assert_eq!(sent, [&pong[..], &close[..]].concat());
    }
}
