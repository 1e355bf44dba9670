//! The web listener (SPEC §8a): the bundled browser client at `/`, telnet over
//! WebSocket at `/ws`, `/health` and `/metrics`, on one HTTP/1.1 port.
//!
//! It is a transport beside `transport`'s TCP and TLS listeners and runs the
//! same accept loop (`transport::accept_loop`), with an admission of its own
//! because HTTP is not one connection per player: a page load, a health check
//! or a scrape is a short HTTP exchange that takes no player's place. A
//! WebSocket is a player's connection and goes through the same door as the
//! others: `/ws` takes a connection slot under the shared per-IP and total
//! limits (keyed on the client's address, from `X-Forwarded-For` with
//! `--trust-proxy`) and hands the upgraded socket, as a byte stream, to the
//! one `session::serve` on the server's tracker (see [`ws`]).
//!
//! Plain HTTP connections are bounded too: each holds an HTTP slot from the
//! moment it is accepted (see [`slots`]: per client address, in all, and a
//! reserve only `/health` and `/metrics` may use), and a header deadline, so
//! a flood of idle connections from one address cannot shut others out, and
//! a full listener still answers its monitoring. While the server shuts down
//! the listener keeps answering — `/health` with 503, `/ws` refused — until
//! the game has stopped; then it waits for its exchanges to end.
//!
//! This module knows nothing about telnet, accounts or commands: it deals in
//! HTTP, the game's counters, and byte streams.

mod assets;
mod policy;
mod slots;
mod status;
mod ws;

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_service::Service;

pub use policy::web_host_name;
pub use ws::{KeptStream, MAX_FRAME, Watched, WsStream, inheritable_stream, server_stream};

use self::slots::{HttpSlot, HttpSlots, Refusal};
use crate::config::WebSettings;
use crate::game::Game;
use crate::metrics::HttpRefusal;

/// Time a client has to send a request's headers (also the longest an idle
/// kept-alive connection is kept: hyper starts the same deadline for the
/// next request's headers).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Time open HTTP exchanges get to finish when the listener stops.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// The answer to a client whose address holds its share of connections.
const TOO_MANY: &str = "Too many connections from your address; try again later.";

/// The answer when every slot a request could use is taken.
const BUSY: &str = "The server is busy; try again later.";

/// The answer (421) to a request for a host name a loopback listener does
/// not serve (see [`policy::host_allowed`]).
const NOT_OUR_HOST: &str = "This server does not answer to that host name \
     (its operator may add the name with --web-host).";

/// What every handler needs.
#[derive(Clone)]
struct Web {
    game: Arc<Game>,
    tracker: TaskTracker,
    settings: Arc<WebSettings>,
    slots: Arc<HttpSlots>,
}

/// A bound web listener.
pub struct WebListener {
    tcp: TcpListener,
}

impl WebListener {
    /// Binds the web listener's address.
    pub async fn bind(addr: SocketAddr) -> io::Result<WebListener> {
        Ok(WebListener {
            tcp: TcpListener::bind(addr).await?,
        })
    }

    /// A listener an upgrade's old image bound and left open for this one.
    pub fn inherited(tcp: std::net::TcpListener) -> io::Result<WebListener> {
        tcp.set_nonblocking(true)?;
        Ok(WebListener {
            tcp: TcpListener::from_std(tcp)?,
        })
    }

    /// The address actually bound (port 0 becomes a real port).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    /// The listening socket's descriptor (an upgrade hands it on).
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsRawFd::as_raw_fd(&self.tcp)
    }

    /// Serves until `stop` is cancelled (the server cancels it once the game
    /// has shut down), then waits for its HTTP connections to end. WebSocket
    /// sessions run on `tracker`, like every other connection's; the HTTP
    /// exchanges on a tracker of the listener's own, since they go on
    /// answering while the game's tasks are awaited.
    pub async fn run(self, game: Arc<Game>, tracker: TaskTracker, stop: CancellationToken) {
        let Some(front) = HttpFront::new(game, tracker, stop.clone()) else {
            return;
        };
        if !front.web.settings.hosts.is_empty() && !front.web.settings.bind.ip().is_loopback() {
            tracing::warn!(
                bind = %front.web.settings.bind,
                "--web-host has no effect: the web listener is not bound to a loopback \
                 address, so it answers any host name and --web-origin guards /ws"
            );
        }
        let exchanges = TaskTracker::new();
        let paused = front.web.game.handoffs().paused();
        let accepting = crate::transport::accept_loop(&self.tcp, "web", paused, |tcp, peer| {
            front.admit(&exchanges, tcp, peer);
        });
        tokio::select! {
            _ = accepting => {},
            _ = stop.cancelled() => {},
        }
        drop(self);
        exchanges.close();
        exchanges.wait().await;
    }
}

/// The web listener without its socket: the routes, the HTTP slots and what
/// every request is checked against, serving one connection at a time
/// whatever carries it. The listener serves each TCP connection it accepts
/// through it; the fuzz targets serve byte streams in memory through it.
pub struct HttpFront {
    web: Web,
    router: Router,
    stop: CancellationToken,
}

impl HttpFront {
    /// The front of `game`'s web listener (`None` with `--web-bind off`):
    /// its WebSocket sessions go on `tracker`; `stop` ends its exchanges.
    pub fn new(
        game: Arc<Game>,
        tracker: TaskTracker,
        stop: CancellationToken,
    ) -> Option<HttpFront> {
        let settings = game.config().web.clone()?;
        let slots = HttpSlots::new(settings.max_connections, settings.max_per_ip);
        let web = Web {
            game,
            tracker,
            settings: Arc::new(settings),
            slots,
        };
        let router = router(web.clone());
        Some(HttpFront { web, router, stop })
    }

    /// Takes an HTTP slot for a connection from `peer` and returns what
    /// serves it to its end, or `None` when the limits refuse it (and
    /// nothing was said to it).
    pub fn connection<S>(
        &self,
        stream: S,
        peer: SocketAddr,
    ) -> Option<impl Future<Output = ()> + Send + use<S>>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let exchange = self.exchange(peer).ok()?;
        Some(serve_http(
            stream,
            exchange,
            self.router.clone(),
            self.stop.clone(),
        ))
    }

    /// Takes an HTTP slot for a new connection and starts its task, or turns
    /// it away over the limits with a word, if the socket takes it at once.
    /// Never waits.
    fn admit(&self, exchanges: &TaskTracker, tcp: TcpStream, peer: SocketAddr) {
        match self.exchange(peer) {
            Ok(exchange) => {
                exchanges.spawn(serve_http(
                    tcp,
                    exchange,
                    self.router.clone(),
                    self.stop.clone(),
                ));
            }
            Err(refusal) => {
                let (reason, text) = match refusal {
                    Refusal::Address => (HttpRefusal::Address, TOO_MANY),
                    Refusal::Full => (HttpRefusal::Full, BUSY),
                };
                self.web.game.metrics().http_refused(reason);
                tracing::debug!(%peer, reason = reason.as_str(), "HTTP connection refused");
                let _ = tcp.try_write(refusal_bytes(text).as_bytes());
            }
        }
    }

    /// A connection's hold on the listener: its HTTP slot, taken now.
    fn exchange(&self, peer: SocketAddr) -> Result<Exchange, Refusal> {
        // Behind a proxy the peer is the proxy: the client is known once a
        // request names it.
        let trust_proxy = self.web.settings.trust_proxy;
        let key = (!trust_proxy).then_some(peer.ip());
        let slot = self.web.slots.admit(key)?;
        Ok(Exchange {
            peer,
            slot: Arc::new(slot),
            trust_proxy,
            web: self.web.clone(),
        })
    }
}

/// The routes.
fn router(web: Web) -> Router {
    Router::new()
        .route("/", get(assets::index))
        .route("/index.html", get(assets::index))
        .route("/app.js", get(assets::script))
        .route("/style.css", get(assets::style))
        .route("/ws", get(ws::upgrade))
        .route("/health", get(status::health))
        .route("/metrics", get(status::metrics))
        .fallback(|| async { (StatusCode::NOT_FOUND, "Not found.") })
        .with_state(web)
}

/// A whole 503 response, for a connection refused before hyper has it.
fn refusal_bytes(text: &str) -> String {
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n\
         content-length: {}\r\nconnection: close\r\ncache-control: no-store\r\n\r\n{text}\n",
        text.len() + 1
    )
}

/// One HTTP connection's hold on the listener: its slot, and what each of
/// its requests is checked against.
#[derive(Clone)]
struct Exchange {
    peer: SocketAddr,
    slot: Arc<HttpSlot>,
    trust_proxy: bool,
    web: Web,
}

impl Exchange {
    /// Why a request may not be served on this connection, if it may not:
    /// behind a proxy, its client already holds its share of connections;
    /// in a reserved slot, it asks for something else than `/health` or
    /// `/metrics`; on a loopback listener, it names a host the listener does
    /// not serve (monitoring aside, which probes by any name).
    fn refusal<B>(&self, request: &hyper::Request<B>) -> Option<Response> {
        if self.trust_proxy {
            let client = client_addr(self.peer, request.headers(), true);
            if !self.slot.attribute(client.ip()) {
                return Some(self.refuse(HttpRefusal::Address, TOO_MANY));
            }
        }
        let monitoring = matches!(request.uri().path(), "/health" | "/metrics");
        if self.slot.is_reserved() && !monitoring {
            return Some(self.refuse(HttpRefusal::Reserved, BUSY));
        }
        (!monitoring && !self.serves_host(request.headers())).then(misdirected)
    }

    /// Whether the request's `Host` names this listener (DNS rebinding).
    fn serves_host(&self, headers: &HeaderMap) -> bool {
        let settings = &self.web.settings;
        let host = headers.get(header::HOST).map(|v| v.to_str().unwrap_or(""));
        let loopback = settings.bind.ip().is_loopback();
        let served = policy::host_allowed(host, loopback, &settings.hosts);
        if !served {
            tracing::info!(peer = %self.peer, host, "HTTP request refused: a host name this listener does not serve (see --web-host)");
        }
        served
    }

    fn refuse(&self, reason: HttpRefusal, text: &'static str) -> Response {
        self.web.game.metrics().http_refused(reason);
        tracing::debug!(peer = %self.peer, reason = reason.as_str(), "HTTP request refused");
        let headers = [
            (header::CONNECTION, "close"),
            (header::CACHE_CONTROL, "no-store"),
        ];
        (StatusCode::SERVICE_UNAVAILABLE, headers, text).into_response()
    }
}

/// The 421 answer to a request for a host name this listener does not serve.
fn misdirected() -> Response {
    let headers = [(header::CACHE_CONTROL, "no-store")];
    (StatusCode::MISDIRECTED_REQUEST, headers, NOT_OUR_HOST).into_response()
}

/// One HTTP/1.1 connection: requests until the client leaves, its headers
/// are late, it upgrades to a WebSocket, or the listener stops. A connection
/// in a reserved slot serves one request and closes, giving the slot back.
async fn serve_http<S>(stream: S, exchange: Exchange, router: Router, stop: CancellationToken)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let peer = exchange.peer;
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        let refusal = exchange.refusal(&request);
        let reserved = exchange.slot.is_reserved();
        request.extensions_mut().insert(ConnectInfo(peer));
        let mut router = router.clone();
        async move {
            if let Some(refusal) = refusal {
                return Ok::<_, Infallible>(refusal);
            }
            let mut response = router.call(request).await?;
            if reserved {
                let close = HeaderValue::from_static("close");
                response.headers_mut().insert(header::CONNECTION, close);
            }
            Ok(response)
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(connection);
    let outcome = tokio::select! {
        outcome = connection.as_mut() => outcome,
        _ = stop.cancelled() => {
            connection.as_mut().graceful_shutdown();
            match tokio::time::timeout(CLOSE_GRACE, connection.as_mut()).await {
                Ok(outcome) => outcome,
                Err(_) => Ok(()),
            }
        }
    };
    if let Err(err) = outcome {
        tracing::debug!(%peer, %err, "HTTP connection ended");
    }
}

/// The client's address: the TCP peer, or behind a trusted proxy the one
/// its `X-Forwarded-For` names (see [`policy::client_addr`]).
fn client_addr(peer: SocketAddr, headers: &HeaderMap, trust_proxy: bool) -> SocketAddr {
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    policy::client_addr(peer, &forwarded, trust_proxy)
}
