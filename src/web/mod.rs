//! The web listener (SPEC §8a): the bundled browser client at `/`, telnet over
//! WebSocket at `/ws`, `/health` and `/metrics`, on one HTTP/1.1 port.
//!
//! It is a transport beside `transport`'s TCP and TLS listeners, with an
//! accept loop of its own because HTTP is not one connection per player: a
//! page load, a health check or a scrape is a short HTTP exchange that takes
//! no player's place. A WebSocket is a player's connection and goes through
//! the same door as the others: `/ws` takes a connection slot under the
//! shared per-IP and total limits (keyed on the client's address, from
//! `X-Forwarded-For` with `--trust-proxy`) and hands the upgraded socket, as a
//! byte stream, to the one `session::serve` on the server's tracker (see
//! [`ws`]).
//!
//! Plain HTTP connections are bounded too (a header deadline and a cap on how
//! many are open), so a flood of idle HTTP connections cannot exhaust the
//! process. While the server shuts down the listener keeps answering —
//! `/health` with 503, `/ws` refused — until the game has stopped.
//!
//! This module knows nothing about telnet, accounts or commands: it deals in
//! HTTP, the game's counters, and byte streams.

mod assets;
mod policy;
mod status;
mod ws;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use axum::routing::get;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_service::Service;

pub use ws::MAX_FRAME;

use crate::config::WebSettings;
use crate::game::Game;

/// Time a client has to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Time open HTTP exchanges get to finish when the listener stops.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// What every handler needs.
#[derive(Clone)]
struct Web {
    game: Arc<Game>,
    tracker: TaskTracker,
    settings: Arc<WebSettings>,
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

    /// The address actually bound (port 0 becomes a real port).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    /// Serves until `stop` is cancelled (the server cancels it once the game
    /// has shut down). WebSocket sessions run on `tracker`, like every other
    /// connection's.
    pub async fn run(self, game: Arc<Game>, tracker: TaskTracker, stop: CancellationToken) {
        let Some(settings) = game.config().web.clone() else {
            return;
        };
        if let Ok(addr) = self.tcp.local_addr() {
            tracing::info!(%addr, transport = %"web", "listening");
        }
        // Plain HTTP connections open at once (WebSockets count under the
        // game's connection limits instead, once upgraded).
        let open = Arc::new(Semaphore::new(settings.max_connections));
        let router = router(Web {
            game,
            tracker,
            settings: Arc::new(settings),
        });
        loop {
            let accepted = tokio::select! {
                accepted = self.tcp.accept() => accepted,
                _ = stop.cancelled() => break,
            };
            let (tcp, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!(%err, transport = %"web", "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(permit) = open.clone().try_acquire_owned() else {
                tracing::warn!(%peer, "HTTP connection refused: too many open");
                continue;
            };
            let (router, stop) = (router.clone(), stop.clone());
            tokio::spawn(async move {
                serve_http(tcp, peer, router, stop).await;
                drop(permit);
            });
        }
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

/// One HTTP/1.1 connection: requests until the client leaves, its headers
/// are late, it upgrades to a WebSocket, or the listener stops.
async fn serve_http(tcp: TcpStream, peer: SocketAddr, router: Router, stop: CancellationToken) {
    let _ = tcp.set_nodelay(true);
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        router.clone().call(request)
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(tcp), service)
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
