//! The listeners: one accept loop for every transport ([`accept_loop`], which
//! the web listener runs too), which takes a connection slot, runs the
//! transport's handshake in the connection's own task, and hands the resulting
//! byte stream to the one session (`session::serve`).
//!
//! A transport is a [`Handshake`]: what turns an accepted TCP stream into the
//! stream the session reads and writes ([`Plain`] gives the TCP stream itself,
//! [`Tls`] a TLS stream after a handshake under a deadline). The per-IP and total
//! connection limits are applied by the accept loop before any handshake, and
//! the handshake runs in the spawned task, so a client that stalls its handshake
//! holds one connection slot until its deadline and never the accept loop. A
//! shutdown ends handshakes in progress as it ends sessions.
//!
//! This module knows nothing about telnet, accounts or commands: it deals in
//! sockets, slots and streams.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::task::TaskTracker;

use crate::game::{Game, Peer, Transport};
use crate::tls::Certificates;

/// What a transport does with an accepted TCP connection before the session
/// gets it.
pub trait Handshake: Send + Sync + 'static {
    /// The stream the session reads and writes.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// The transport's name on the session row and in `/sessions`.
    fn transport(&self) -> Transport;

    /// Turns the TCP stream into the session's stream. An error ends the
    /// connection quietly (it is logged at debug level); it must come within the
    /// transport's own deadline.
    fn handshake(&self, tcp: TcpStream) -> impl Future<Output = io::Result<Self::Stream>> + Send;

    /// What to tell a client turned away over the connection limits, if it can
    /// be told anything without a handshake.
    fn refusal(&self) -> Option<&'static [u8]> {
        None
    }

    /// Whether an upgrade's new image can inherit the connection's socket
    /// and go on reading and writing it (plain TCP: nothing else is kept).
    fn inheritable(&self) -> bool {
        false
    }
}

/// Telnet over plain TCP: no handshake.
pub struct Plain;

impl Handshake for Plain {
    type Stream = TcpStream;

    fn transport(&self) -> Transport {
        Transport::Plain
    }

    async fn handshake(&self, tcp: TcpStream) -> io::Result<TcpStream> {
        Ok(tcp)
    }

    fn refusal(&self) -> Option<&'static [u8]> {
        Some(b"Too many connections.\r\n")
    }

    fn inheritable(&self) -> bool {
        true
    }
}

/// Telnet over TLS: a rustls handshake with the certificate in use at its start,
/// which must finish within `deadline`.
pub struct Tls {
    pub certificates: Arc<Certificates>,
    pub deadline: Duration,
    /// The plain telnet port, to point a plain-text client at.
    pub plain_port: Option<u16>,
}

/// The first byte of every TLS connection: a handshake record.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

impl Handshake for Tls {
    type Stream = tokio_rustls::server::TlsStream<TcpStream>;

    fn transport(&self) -> Transport {
        Transport::Tls
    }

    async fn handshake(&self, mut tcp: TcpStream) -> io::Result<Self::Stream> {
        let handshake = async {
            // Someone typing at this port with plain telnet is told in words
            // rather than with a binary TLS alert.
            let mut first = [0u8; 1];
            match tcp.peek(&mut first).await? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                _ if first[0] != TLS_HANDSHAKE_RECORD => {
                    tcp.write_all(self.not_tls_message().as_bytes()).await?;
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "a plain-text client on the TLS port",
                    ));
                }
                _ => {}
            }
            self.certificates.acceptor().accept(tcp).await
        };
        match tokio::time::timeout(self.deadline, handshake).await {
            Ok(handshake) => handshake,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no TLS handshake within {:?}", self.deadline),
            )),
        }
    }
}

impl Tls {
    fn not_tls_message(&self) -> String {
        let plain = match self.plain_port {
            Some(port) => format!(", or plain telnet on port {port}"),
            None => String::new(),
        };
        format!(
            "This port speaks telnet over TLS: connect with your client's TLS (SSL) option{plain}.\r\n"
        )
    }
}

/// A bound listener of one transport.
pub struct Listener<H> {
    tcp: TcpListener,
    handshake: Arc<H>,
}

impl<H: Handshake> Listener<H> {
    /// Binds `addr` for the transport `handshake`.
    pub async fn bind(addr: SocketAddr, handshake: H) -> io::Result<Listener<H>> {
        Ok(Listener {
            tcp: TcpListener::bind(addr).await?,
            handshake: Arc::new(handshake),
        })
    }

    /// A listener an upgrade's old image bound and left open for this one.
    pub fn inherited(tcp: std::net::TcpListener, handshake: H) -> io::Result<Listener<H>> {
        tcp.set_nonblocking(true)?;
        Ok(Listener {
            tcp: TcpListener::from_std(tcp)?,
            handshake: Arc::new(handshake),
        })
    }

    /// The address actually bound (port 0 becomes a real port).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    /// The listening socket's descriptor (an upgrade hands it on).
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        self.tcp.as_raw_fd()
    }

    /// Accepts connections until the future is dropped (the server drops it
    /// when it begins to shut down). Each admitted connection is one task on
    /// `tracker`: handshake, then the session.
    pub async fn run(self, game: Arc<Game>, tracker: TaskTracker) {
        let transport = self.handshake.transport().as_str();
        let paused = game.handoffs().paused();
        accept_loop(&self.tcp, transport, paused, |stream, addr| {
            self.admit(&game, &tracker, stream, addr);
        })
        .await
    }

    /// Takes a connection slot and starts the connection's task, or turns the
    /// connection away over the limits. Never waits.
    fn admit(&self, game: &Arc<Game>, tracker: &TaskTracker, tcp: TcpStream, addr: SocketAddr) {
        let config = game.config();
        let slot = game.connections().admit(
            addr.ip(),
            self.handshake.transport(),
            config.max_connections,
            config.max_connections_per_ip,
        );
        let peer = Peer {
            addr,
            transport: self.handshake.transport(),
        };
        let Some(slot) = slot else {
            tracing::warn!(peer = %addr, transport = peer.transport.as_str(),
                "connection refused: too many connections");
            if let Some(refusal) = self.handshake.refusal() {
                tracker.spawn(say_and_close(tcp, refusal));
            }
            return;
        };
        let (game, handshake, inner_tracker) =
            (game.clone(), self.handshake.clone(), tracker.clone());
        let carrier = handshake
            .inheritable()
            .then(|| crate::game::handoff::Carrier::Tcp(tcp.as_raw_fd()));
        tracker.spawn(async move {
            let _slot = slot;
            let shutdown = game.shutdown_token().clone();
            let stream = tokio::select! {
                stream = handshake.handshake(tcp) => stream,
                _ = shutdown.cancelled() => return,
            };
            match stream {
                Ok(stream) => {
                    crate::session::serve_inheritable(game, stream, peer, inner_tracker, carrier)
                        .await
                }
                Err(err) => tracing::debug!(
                    peer = %addr,
                    transport = peer.transport.as_str(),
                    %err,
                    "handshake failed; connection closed"
                ),
            }
        });
    }
}

/// The one accept loop every listener runs (telnet, TLS, web): it accepts
/// until the future is dropped and hands each connection, with its peer's
/// address and `TCP_NODELAY` set, to `admit`, which must not wait — whatever
/// a client can stall runs in a task of its own. When accepting fails
/// (usually: out of file descriptors) it backs off instead of spinning.
///
/// While `paused` is true (an upgrade is handing over) it accepts nothing:
/// new connections wait in the listener's backlog for whichever image
/// accepts next.
pub async fn accept_loop(
    tcp: &TcpListener,
    transport: &str,
    mut paused: watch::Receiver<bool>,
    mut admit: impl FnMut(TcpStream, SocketAddr),
) {
    match tcp.local_addr() {
        Ok(addr) => tracing::info!(%addr, %transport, "listening"),
        Err(err) => {
            tracing::info!(%err, transport, "listening on an address the system cannot name")
        }
    }
    loop {
        if paused.wait_for(|paused| !paused).await.is_err() {
            return;
        }
        let accepted = tokio::select! {
            accepted = tcp.accept() => accepted,
            _ = paused.wait_for(|paused| *paused) => continue,
        };
        match accepted {
            Ok((stream, addr)) => {
                let _ = stream.set_nodelay(true);
                admit(stream, addr);
            }
            Err(err) => {
                tracing::warn!(%err, transport, "accept failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

/// The pause after a failed accept.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Writes a last line to a refused connection (briefly) and closes it.
async fn say_and_close(mut tcp: TcpStream, text: &'static [u8]) {
    let _ = tokio::time::timeout(Duration::from_secs(2), tcp.write_all(text)).await;
}
