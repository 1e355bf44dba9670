//! The web listener (SPEC §8a): telnet over WebSocket into the same session as
//! TCP, driven by a tokio-tungstenite client; subprotocol selection, the
//! `Origin` check, the 64 KiB frame limit, the connection limits shared with
//! telnet, `X-Forwarded-For` only behind a trusted proxy; `/health` and
//! `/metrics` whose figures follow what players do, and `/health` answering
//! 503 while the server shuts down.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::support::*;

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub(crate) const TELNET: &str = "telnet.mudstandards.org";

/// Client addresses (loopback: all of 127.0.0.0/8 reaches the server).
const HERE: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const OTHER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
const THIRD: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));

/// What the server answered to an upgrade request: a socket and the
/// subprotocol it chose, or the HTTP status and body of a refusal.
pub(crate) enum Upgrade {
    Open(Box<Socket>, Option<String>),
    Refused(u16, String),
}

/// Opens `/ws` offering `protocols`, with `headers` (an `Origin`, a
/// forwarded address) added.
pub(crate) async fn upgrade(
    addr: SocketAddr,
    protocols: &[&str],
    headers: &[(&str, &str)],
) -> Upgrade {
    upgrade_from(HERE, addr, protocols, headers).await
}

/// [`upgrade`] from the client address `source`.
async fn upgrade_from(
    source: IpAddr,
    addr: SocketAddr,
    protocols: &[&str],
    headers: &[(&str, &str)],
) -> Upgrade {
    let mut request = format!("ws://{addr}/ws")
        .into_client_request()
        .expect("request");
    if !protocols.is_empty() {
        let offered = protocols.join(", ").parse().expect("header value");
        request
            .headers_mut()
            .insert("sec-websocket-protocol", offered);
    }
    for (name, value) in headers {
        let name: tungstenite::http::HeaderName = name.parse().expect("header name");
        let value = value.parse().expect("header value");
        // A test's Host replaces the one the URI gave; other headers add up.
        if name == tungstenite::http::header::HOST {
            request.headers_mut().insert(name, value);
        } else {
            request.headers_mut().append(name, value);
        }
    }
    let tcp = MaybeTlsStream::Plain(tcp_from(source, addr).await);
    let connected = tokio::time::timeout(PATIENCE, tokio_tungstenite::client_async(request, tcp))
        .await
        .expect("the upgrade is answered in time");
    match connected {
        Ok((socket, response)) => {
            let chosen = response
                .headers()
                .get("sec-websocket-protocol")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            Upgrade::Open(Box::new(socket), chosen)
        }
        Err(tungstenite::Error::Http(response)) => {
            let body = response
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            Upgrade::Refused(response.status().as_u16(), body)
        }
        Err(err) => panic!("the upgrade failed: {err}"),
    }
}

/// A socket the server accepted with the telnet subprotocol.
async fn telnet_socket(server: &TestServer) -> Box<Socket> {
    match upgrade(web(server), &[TELNET], &[]).await {
        Upgrade::Open(socket, chosen) => {
            assert_eq!(chosen.as_deref(), Some(TELNET));
            socket
        }
        Upgrade::Refused(status, body) => panic!("refused: {status} {body}"),
    }
}

fn web(server: &TestServer) -> SocketAddr {
    server.web_addr.expect("the test server has a web listener")
}

/// The test's end of a WebSocket as a telnet [`Client`]: binary frames in are
/// bytes read, bytes written go out as binary frames. The receiver gets the
/// server's close frame when the server closes.
pub(crate) fn over_websocket(
    socket: Box<Socket>,
) -> (Client, oneshot::Receiver<Option<CloseFrame>>) {
    let (ours, pipe) = tokio::io::duplex(64 * 1024);
    let (mut from_client, mut to_client) = tokio::io::split(pipe);
    let (mut sink, mut stream) = socket.split();
    let (closed_tx, closed) = oneshot::channel();
    tokio::spawn(async move {
        let mut close = None;
        while let Some(message) = stream.next().await {
            match message {
                Ok(Message::Binary(bytes)) => {
                    if to_client.write_all(&bytes).await.is_err() {
                        break;
                    }
                }
                Ok(Message::Close(frame)) => {
                    close = frame;
                    break;
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        let _ = to_client.shutdown().await;
        let _ = closed_tx.send(close);
    });
    tokio::spawn(async move {
        let mut buf = vec![0u8; 8192];
        loop {
            match from_client.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let frame = Message::Binary(buf[..n].to_vec().into());
                    if sink.send(frame).await.is_err() {
                        break;
                    }
                }
            }
        }
    });
    (Client::over(ours), closed)
}

/// Waits for the server's close frame; returns its code.
async fn close_code(closed: oneshot::Receiver<Option<CloseFrame>>) -> Option<u16> {
    let frame = tokio::time::timeout(PATIENCE, closed)
        .await
        .expect("the server closes in time")
        .expect("the reader reports");
    frame.map(|f| u16::from(f.code))
}

/// Reads frames until the server's close frame; returns its code (None when
/// the connection ended without one).
async fn until_close(socket: &mut Socket) -> Option<u16> {
    tokio::time::timeout(PATIENCE, async {
        while let Some(message) = socket.next().await {
            match message {
                Ok(Message::Close(frame)) => return frame.map(|f| u16::from(f.code)),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
        None
    })
    .await
    .expect("the server closes in time")
}

/// A TCP connection to `addr` from the loopback address `source`.
async fn tcp_from(source: IpAddr, addr: SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(source, 0))
        .expect("bind the source address");
    socket.connect(addr).await.expect("connect")
}

/// A plain HTTP/1.1 GET: the status and the body.
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    get_from(HERE, addr, path).await
}

/// [`get`] from the client address `source`.
async fn get_from(source: IpAddr, addr: SocketAddr, path: &str) -> (u16, String) {
    let mut tcp = tcp_from(source, addr).await;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.expect("send");
    let mut response = Vec::new();
    tokio::time::timeout(PATIENCE, tcp.read_to_end(&mut response))
        .await
        .expect("answered in time")
        .expect("read");
    status_and_body(&response)
}

/// One keep-alive request on an open connection, `headers` added: the status
/// and the body (read by its `Content-Length`); the connection stays open
/// unless the server closes it.
async fn exchange(tcp: &mut TcpStream, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: gaslamp\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    tcp.write_all(request.as_bytes()).await.expect("send");
    let mut response = Vec::new();
    let read = async {
        let mut buf = [0u8; 4096];
        loop {
            let text = String::from_utf8_lossy(&response).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().to_string())
                    })
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0);
                if body.len() >= length {
                    break;
                }
            }
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => response.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(PATIENCE, read)
        .await
        .expect("answered in time");
    status_and_body(&response)
}

/// The status and body of an HTTP response.
fn status_and_body(response: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    (status, body)
}

async fn health(server: &TestServer) -> (u16, serde_json::Value) {
    let (status, body) = get(web(server), "/health").await;
    let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    (status, json)
}

/// The value of one series (`name{labels}`) in `/metrics`' text.
fn series(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no series {name} in:\n{text}"))
}

async fn metrics(server: &TestServer) -> String {
    let (status, text) = get(web(server), "/metrics").await;
    assert_eq!(status, 200, "{text}");
    text
}

/// A player created and in the game at the default spawn, over `c`.
async fn play(c: &mut Client, name: &str) {
    c.create(name, PASSWORD).await;
    c.enter("1").await;
}

#[tokio::test]
async fn a_websocket_player_logs_in_and_talks_with_a_telnet_player() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let (mut webby, _closed) = over_websocket(telnet_socket(&server).await);
    // The same session as TCP: the same greeting, prompts, ECHO for passwords.
    webby.expect("Account: ").await;
    webby.send("new").await;
    webby.expect("New account name: ").await;
    webby.send("Webby").await;
    webby.expect("Password: ").await;
    assert!(
        webby
            .negotiations
            .iter()
            .any(|n| n.verb == WILL && n.option == ECHO),
        "the password prompt hides typing over WebSocket too"
    );
    webby.send(PASSWORD).await;
    webby.expect("Repeat password: ").await;
    webby.send(PASSWORD).await;
    webby.expect("Account Webby created.").await;
    webby.expect("Character: ").await;
    webby.enter("1").await;

    let mut tessa = server.connect().await;
    play(&mut tessa, "Tessa").await;
    webby.expect("Tessa arrives.").await;
    tessa.command("say hello, browser").await;
    webby.expect("Tessa says, \"hello, browser\"").await;
    webby.command("say hello, terminal").await;
    tessa.expect("Webby says, \"hello, terminal\"").await;

    let rows = server
        .db()
        .query_row(
            "SELECT transport, peer_address FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE u.username = 'Webby'",
            [],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
        )
        .expect("Webby's session row");
    assert_eq!(rows.0, "websocket");
    assert!(rows.1.starts_with("127.0.0.1:"), "{}", rows.1);

    webby.send("quit").await;
    webby.expect("Goodbye.").await;
    webby.expect_closed().await;
    tessa.expect("Webby leaves the game.").await;
    server.stop().await;
}

#[tokio::test]
async fn the_telnet_subprotocol_is_chosen_none_is_accepted_and_others_are_refused() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let addr = web(&server);

    // Offered beside another: ours is chosen.
    match upgrade(addr, &["gmcp.mudstandards.org", TELNET], &[]).await {
        Upgrade::Open(_, chosen) => assert_eq!(chosen.as_deref(), Some(TELNET)),
        Upgrade::Refused(status, body) => panic!("refused: {status} {body}"),
    }
    // Only others: refused, naming ours.
    match upgrade(addr, &["gmcp.mudstandards.org"], &[]).await {
        Upgrade::Refused(status, body) => {
            assert_eq!(status, 400);
            assert!(body.contains(TELNET), "{body}");
        }
        Upgrade::Open(..) => panic!("an unsupported subprotocol was accepted"),
    }
    // None: the same stream, and text frames are read as bytes.
    let Upgrade::Open(mut socket, chosen) = upgrade(addr, &[], &[]).await else {
        panic!("refused without a subprotocol");
    };
    assert_eq!(chosen, None);
    socket
        .send(Message::Text("quit\r\n".into()))
        .await
        .expect("send");
    let (mut plain, closed) = over_websocket(socket);
    plain.expect("Goodbye.").await;
    assert_eq!(close_code(closed).await, Some(1000));

    // With the telnet subprotocol a text frame is a protocol breach: 1003.
    let mut socket = telnet_socket(&server).await;
    socket
        .send(Message::Text("quit\r\n".into()))
        .await
        .expect("send");
    assert_eq!(until_close(&mut socket).await, Some(1003));
    server.stop().await;
}

#[tokio::test]
async fn a_page_from_another_origin_is_refused() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let addr = web(&server);
    let own = format!("http://{addr}");
    assert!(matches!(
        upgrade(addr, &[TELNET], &[("origin", &own)]).await,
        Upgrade::Open(..)
    ));
    // (The scheme is not compared: behind a TLS proxy the page is https and
    // this listener plain http, on the same host name.)
    for origin in ["https://evil.example", "http://localhost:1", "null"] {
        match upgrade(addr, &[TELNET], &[("origin", origin)]).await {
            Upgrade::Refused(status, body) => {
                assert_eq!(status, 403, "{origin}");
                assert!(body.contains("origin"), "{body}");
            }
            Upgrade::Open(..) => panic!("origin {origin} was let in"),
        }
    }
    server.stop().await;

    // With --web-origin, the list decides and the page's own origin is not
    // enough.
    let dir = temp_dir();
    let mut config = config(dir.path());
    if let Some(web) = config.web.as_mut() {
        web.origins = vec!["https://mud.example.org".into()];
    }
    let server = TestServer::start_with(config).await;
    let addr = web(&server);
    let listed = upgrade(addr, &[TELNET], &[("origin", "https://mud.example.org")]).await;
    assert!(matches!(listed, Upgrade::Open(..)));
    let own = format!("http://{addr}");
    let refused = upgrade(addr, &[TELNET], &[("origin", &own)]).await;
    assert!(matches!(refused, Upgrade::Refused(403, _)));
    server.stop().await;
}

/// A plain HTTP/1.1 GET naming `host` in its `Host` header: the status and
/// the body.
async fn get_as(addr: SocketAddr, host: &str, path: &str) -> (u16, String) {
    let mut tcp = tcp_from(HERE, addr).await;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.expect("send");
    let mut response = Vec::new();
    tokio::time::timeout(PATIENCE, tcp.read_to_end(&mut response))
        .await
        .expect("answered in time")
        .expect("read");
    status_and_body(&response)
}

/// Issue 16: DNS rebinding. A page at `attacker.example`, whose name the
/// attacker then pointed at 127.0.0.1, sends `Origin` and `Host` both
/// `attacker.example`: the Origin check, which compares the two, let it into a
/// game that listens on loopback only. A loopback listener now answers only
/// the loopback's names and the `--web-host` names, with 421; `/health` and
/// `/metrics` answer any name, as monitors probe by address.
#[tokio::test]
async fn a_rebound_host_name_is_refused_on_a_loopback_listener() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let addr = web(&server);
    let port = addr.port();
    let rebound = format!("attacker.example:{port}");
    let headers = [
        ("host", rebound.as_str()),
        ("origin", &format!("http://{rebound}")),
    ];
    match upgrade(addr, &[TELNET], &headers).await {
        Upgrade::Refused(status, body) => {
            assert_eq!(status, 421, "{body}");
            assert!(body.contains("--web-host"), "{body}");
        }
        Upgrade::Open(..) => panic!("a page at {rebound} was let into the game"),
    }
    for own in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
        "LocalHost".to_string(),
    ] {
        let headers = [("host", own.as_str()), ("origin", &format!("http://{own}"))];
        match upgrade(addr, &[TELNET], &headers).await {
            Upgrade::Open(..) => {}
            Upgrade::Refused(status, body) => panic!("{own} was refused: {status} {body}"),
        }
    }
    let (status, body) = get_as(addr, &rebound, "/").await;
    assert_eq!(status, 421, "the page too: {body}");
    for path in ["/health", "/metrics"] {
        let (status, body) = get_as(addr, &rebound, path).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    server.stop().await;

    // A reverse proxy on the machine passes its own name on: --web-host.
    let dir = temp_dir();
    let mut config = config(dir.path());
    if let Some(web) = config.web.as_mut() {
        web.hosts = vec!["mud.example.org".into()];
    }
    let server = TestServer::start_with(config).await;
    let addr = web(&server);
    let proxied = [
        ("host", "mud.example.org"),
        ("origin", "https://mud.example.org"),
    ];
    assert!(matches!(
        upgrade(addr, &[TELNET], &proxied).await,
        Upgrade::Open(..)
    ));
    let (status, _) = get_as(addr, "Mud.Example.Org:443", "/").await;
    assert_eq!(status, 200);
    let rebound = format!("attacker.example:{}", addr.port());
    let (status, _) = get_as(addr, &rebound, "/").await;
    assert_eq!(status, 421);
    server.stop().await;
}

#[tokio::test]
async fn frames_over_64_kib_close_the_connection_and_64_kib_pass() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    // 64 KiB exactly: telnet no-ops, which the session reads and ignores.
    let socket = telnet_socket(&server).await;
    let (mut client, closed) = over_websocket(socket);
    client.expect("Account: ").await;
    let nops: Vec<u8> = [IAC, 241].repeat(32 * 1024);
    assert_eq!(nops.len(), gaslamp::web::MAX_FRAME);
    client.send_raw(&nops).await;
    client.send("quit").await;
    client.expect("Goodbye.").await;
    assert_eq!(close_code(closed).await, Some(1000));

    // One byte more: refused with 1009, and the connection's slot is free.
    let mut socket = telnet_socket(&server).await;
    let mut big = nops.clone();
    big.push(b'\n');
    socket
        .send(Message::Binary(big.into()))
        .await
        .expect("send");
    assert_eq!(until_close(&mut socket).await, Some(1009));
    let (_, json) = health(&server).await;
    assert_eq!(json["connections"]["websocket"], 0, "{json}");
    server.stop().await;
}

#[tokio::test]
async fn websockets_and_telnet_share_the_connection_limits() {
    let dir = temp_dir();
    let server = TestServer::start_with(gaslamp::ServerConfig {
        max_connections_per_ip: 2,
        ..config(dir.path())
    })
    .await;
    let mut tcp = server.connect().await;
    tcp.expect("Account: ").await;
    let (mut ws, _closed) = over_websocket(telnet_socket(&server).await);
    ws.expect("Account: ").await;
    // Both places taken: a third WebSocket and a third telnet are turned away.
    match upgrade(web(&server), &[TELNET], &[]).await {
        Upgrade::Refused(status, body) => {
            assert_eq!(status, 503);
            assert!(body.contains("Too many connections."), "{body}");
        }
        Upgrade::Open(..) => panic!("a third connection from one address was let in"),
    }
    let mut third = server.connect().await;
    third.expect("Too many connections.").await;
    let (_, json) = health(&server).await;
    assert_eq!(json["connections"]["plain"], 1, "{json}");
    assert_eq!(json["connections"]["websocket"], 1, "{json}");
    // A WebSocket leaving frees its place for telnet.
    ws.send("quit").await;
    ws.expect_closed().await;
    let mut again = server.connect().await;
    again.expect("Account: ").await;
    server.stop().await;
}

#[tokio::test]
async fn the_forwarded_address_is_recorded_only_behind_a_trusted_proxy() {
    for trust in [false, true] {
        let dir = temp_dir();
        let mut config = config(dir.path());
        if let Some(web) = config.web.as_mut() {
            web.trust_proxy = trust;
        }
        let server = TestServer::start_with(config).await;
        let forwarded = [("x-forwarded-for", "198.51.100.4, 203.0.113.9")];
        let Upgrade::Open(socket, _) = upgrade(web(&server), &[TELNET], &forwarded).await else {
            panic!("refused");
        };
        let (mut c, _closed) = over_websocket(socket);
        play(&mut c, "Proxied").await;
        let peer: String = server
            .db()
            .query_row("SELECT peer_address FROM sessions", [], |r| r.get(0))
            .expect("the session row");
        if trust {
            assert_eq!(peer, "203.0.113.9:0");
        } else {
            assert!(peer.starts_with("127.0.0.1:"), "{peer}");
        }
        server.stop().await;
    }
}

#[tokio::test]
async fn health_and_metrics_follow_the_players() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let (status, json) = health(&server).await;
    assert_eq!(status, 200);
    assert_eq!(json["ok"], true);
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(json["players"], 0);
    assert!(json["uptime_secs"].is_u64(), "{json}");
    assert!(json["writer_queue"].is_u64(), "{json}");
    let before = metrics(&server).await;
    assert_eq!(series(&before, "gaslamp_lines_in_total"), 0.0);
    assert!(before.contains("# TYPE gaslamp_writer_commit_seconds histogram"));

    let mut tessa = server.connect().await;
    play(&mut tessa, "Tessa").await;
    let (mut webby, _closed) = over_websocket(telnet_socket(&server).await);
    play(&mut webby, "Webby").await;
    tessa.expect("Webby arrives.").await;
    for n in 0..5 {
        webby.command(&format!("say line {n}")).await;
        tessa.expect(&format!("Webby says, \"line {n}\"")).await;
    }
    let mut wrong = server.connect().await;
    wrong.expect("Account: ").await;
    wrong.send("connect Tessa not-her-password-at-all").await;
    wrong.expect("Wrong account name or password.").await;
    // The chat rows are committed before the writer's figures are read.
    server.game.writer().flush().await.expect("flush");

    let (_, json) = health(&server).await;
    assert_eq!(json["players"], 2, "{json}");
    assert_eq!(json["connections"]["plain"], 2, "{json}");
    assert_eq!(json["connections"]["websocket"], 1, "{json}");
    let after = metrics(&server).await;
    let world = server.game.default_world().id.clone();
    let grew = |name: &str| series(&after, name) - series(&before, name);
    assert!(grew("gaslamp_lines_in_total") >= 5.0 + 4.0, "{after}");
    // Each line reached its speaker and Tessa.
    assert!(grew("gaslamp_deliveries_total") >= 10.0, "{after}");
    assert_eq!(series(&after, "gaslamp_logins_total{outcome=\"ok\"}"), 2.0);
    assert_eq!(
        series(&after, "gaslamp_logins_total{outcome=\"wrong\"}"),
        1.0
    );
    assert_eq!(
        series(&after, &format!("gaslamp_players{{world=\"{world}\"}}")),
        2.0
    );
    assert_eq!(
        series(&after, "gaslamp_connections{transport=\"websocket\"}"),
        1.0
    );
    assert_eq!(
        series(&after, "gaslamp_connections{transport=\"plain\"}"),
        2.0
    );
    assert!(grew("gaslamp_writer_batch_size_sum") >= 5.0, "{after}");
    assert!(
        grew("gaslamp_writer_commit_seconds_count") >= 1.0,
        "{after}"
    );
    assert!(grew("gaslamp_store_call_seconds_count") >= 1.0, "{after}");
    assert!(
        grew("gaslamp_bcrypt_queue_wait_seconds_count") >= 3.0,
        "{after}"
    );
    assert_eq!(series(&after, "gaslamp_outbox_overflows_total"), 0.0);
    server.stop().await;
}

#[tokio::test]
async fn health_answers_503_while_the_server_shuts_down() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut tessa = server.connect().await;
    play(&mut tessa, "Tessa").await;
    // A write lock held on the database keeps the shutdown from finishing
    // (the session row cannot be removed yet), so the web listener is seen
    // answering in the middle of it.
    let lock = server.db();
    lock.execute_batch("BEGIN IMMEDIATE").expect("lock");
    server.game.begin_shutdown();
    tessa.expect("The server is shutting down.").await;
    let (status, json) = health(&server).await;
    assert_eq!(status, 503, "{json}");
    assert_eq!(json["ok"], false);
    assert_eq!(json["status"], "shutting down");
    match upgrade(web(&server), &[TELNET], &[]).await {
        Upgrade::Refused(status, _) => assert_eq!(status, 503),
        Upgrade::Open(..) => panic!("a WebSocket was opened during the shutdown"),
    }
    lock.execute_batch("COMMIT").expect("unlock");
    let addr = web(&server);
    server.wait_stopped().await;
    // Once the server has stopped, so has its web listener.
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn the_page_and_its_files_are_served_from_the_binary() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let addr = web(&server);
    let (status, page) = get(addr, "/").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("<script type=\"module\" src=\"app.js\">"),
        "{page}"
    );
    let (status, script) = get(addr, "/app.js").await;
    assert_eq!(status, 200);
    assert!(script.contains(TELNET));
    assert!(
        !script.contains("innerHTML"),
        "the client never parses server text as HTML"
    );
    let (status, _) = get(addr, "/style.css").await;
    assert_eq!(status, 200);
    let (status, body) = get(addr, "/nothing-here").await;
    assert_eq!((status, body.as_str()), (404, "Not found."));
    // A plain GET of /ws is no upgrade.
    let (status, _) = get(addr, "/ws").await;
    assert!((400..500).contains(&status), "{status}");
    server.stop().await;
}

#[tokio::test]
async fn a_websocket_client_that_stops_reading_is_dropped_and_counted() {
    let dir = temp_dir();
    let server = TestServer::start_with(gaslamp::ServerConfig {
        outbound_queue: 64,
        commands_per_second: 1_000_000,
        command_burst: 1_000_000,
        ..config(dir.path())
    })
    .await;
    let (mut sleeper, _closed) = over_websocket(telnet_socket(&server).await);
    play(&mut sleeper, "Sleepy").await;
    let mut talker = server.connect().await;
    play(&mut talker, "Talker").await;
    // The sleeper never reads again: its frames back up into the server's
    // writes, then its queue, and it is dropped while the talker goes on.
    let long = "y".repeat(900);
    let mut dropped = false;
    for round in 0..20_000 {
        talker.command(&format!("say {round} {long}")).await;
        if server.game.player_count() == 1 {
            dropped = true;
            break;
        }
    }
    assert!(dropped, "the sleeping WebSocket client was never dropped");
    talker.command("say after").await;
    let text = metrics(&server).await;
    assert_eq!(series(&text, "gaslamp_outbox_overflows_total"), 1.0);
    server.stop().await;
}

/// A test configuration whose web listener holds `total` HTTP connections,
/// `per_ip` of them from one address.
fn web_limits(dir: &std::path::Path, total: usize, per_ip: usize) -> gaslamp::ServerConfig {
    let mut config = config(dir);
    if let Some(web) = config.web.as_mut() {
        web.max_connections = total;
        web.max_per_ip = per_ip;
    }
    config
}

/// `n` connections from `source` that never send a byte.
async fn idle_sockets(source: IpAddr, addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut sockets = Vec::with_capacity(n);
    for _ in 0..n {
        sockets.push(tcp_from(source, addr).await);
    }
    sockets
}

/// Everything the server sends on `tcp` until it closes it.
async fn read_until_closed(tcp: &mut TcpStream) -> String {
    let mut bytes = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, tcp.read_to_end(&mut bytes))
        .await
        .expect("the server closes the connection in time");
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The attack of issue 15: about 530 idle sockets from one address, reopened
/// every 9 seconds, held all 512 HTTP slots, so `/health` and `/ws` were
/// unreachable for everyone else. Here 70 idle sockets meet a listener of 64.
#[tokio::test]
async fn idle_sockets_from_one_address_cannot_keep_others_from_health_and_ws() {
    let dir = temp_dir();
    let server = TestServer::start_with(web_limits(dir.path(), 64, 32)).await;
    let addr = web(&server);
    let mut idle = idle_sockets(HERE, addr, 70).await;
    // Past its 32, each is turned away at once, though it never sent a byte.
    for tcp in &mut idle[32..] {
        let answer = read_until_closed(tcp).await;
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
        assert!(answer.contains("Too many connections"), "{answer:?}");
    }
    let (status, body) = get_from(OTHER, addr, "/health").await;
    assert_eq!(status, 200, "{body}");
    match upgrade_from(OTHER, addr, &[TELNET], &[]).await {
        Upgrade::Open(..) => {}
        Upgrade::Refused(status, body) => panic!("another address was refused: {status} {body}"),
    }
    server.stop().await;
}

/// When every ordinary HTTP slot is taken (here by idle sockets from two
/// addresses), a few slots are still kept for `/health` and `/metrics`.
#[tokio::test]
async fn a_full_web_listener_still_answers_health_and_metrics() {
    let dir = temp_dir();
    let server = TestServer::start_with(web_limits(dir.path(), 64, 32)).await;
    let addr = web(&server);
    let _here = idle_sockets(HERE, addr, 32).await;
    let _third = idle_sockets(THIRD, addr, 32).await;
    // A player cannot get in now ...
    match upgrade_from(OTHER, addr, &[TELNET], &[]).await {
        Upgrade::Refused(status, body) => {
            assert_eq!(status, 503);
            assert!(body.contains("busy"), "{body}");
        }
        Upgrade::Open(..) => panic!("a WebSocket took a slot kept for /health"),
    }
    // ... but monitoring can.
    let (status, body) = get_from(IpAddr::from([127, 0, 0, 4]), addr, "/health").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = get_from(IpAddr::from([127, 0, 0, 5]), addr, "/metrics").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("gaslamp_uptime_seconds"), "{body}");
    server.stop().await;
}

/// Behind a reverse proxy every connection comes from the proxy: the cap
/// counts the forwarded address, so the proxy throttles nobody, and one
/// client behind it is still held to its share.
#[tokio::test]
async fn behind_a_trusted_proxy_the_cap_counts_the_forwarded_address() {
    let dir = temp_dir();
    let mut config = web_limits(dir.path(), 64, 4);
    if let Some(web) = config.web.as_mut() {
        web.trust_proxy = true;
    }
    let server = TestServer::start_with(config).await;
    let addr = web(&server);
    // The proxy holds ten keep-alive connections for ten clients.
    let mut pool = Vec::new();
    for n in 0..10 {
        let mut tcp = tcp_from(HERE, addr).await;
        let client = format!("203.0.113.{n}");
        let (status, body) = exchange(&mut tcp, "/health", &[("x-forwarded-for", &client)]).await;
        assert_eq!(status, 200, "{body}");
        pool.push(tcp);
    }
    // One client's four connections through it are its share; a fifth is not.
    let one = [("x-forwarded-for", "10.1.1.1, 198.51.100.7")];
    for _ in 0..4 {
        let mut tcp = tcp_from(HERE, addr).await;
        let (status, body) = exchange(&mut tcp, "/health", &one).await;
        assert_eq!(status, 200, "{body}");
        pool.push(tcp);
    }
    let mut fifth = tcp_from(HERE, addr).await;
    let (status, body) = exchange(&mut fifth, "/health", &one).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("Too many connections"), "{body}");
    server.stop().await;
}

/// A raw TCP connection upgraded to a WebSocket with the telnet subprotocol,
/// its receive buffer as small as the system allows (so a client that never
/// reads backs up into the server's buffers at once). The server's first
/// frames are left unread.
pub(crate) async fn raw_websocket(addr: SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("receive buffer");
    socket.set_send_buffer_size(4096).expect("send buffer");
    let mut tcp = socket.connect(addr).await.expect("connect");
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: {TELNET}\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.expect("send");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(PATIENCE, tcp.read(&mut byte))
            .await
            .expect("the upgrade is answered in time")
            .expect("read");
        assert_eq!(n, 1, "closed during the upgrade: {head:?}");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    tcp
}

/// A client frame: FIN and `opcode` in the first byte (plus `flags`), masked
/// with a zero key (which leaves the payload as it is).
pub(crate) fn client_frame(flags: u8, opcode: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mut frame = vec![flags | opcode, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    frame.extend_from_slice(payload);
    frame
}

/// Reads server frames until the close frame; its code (None when the
/// connection ended without one).
async fn raw_close_code(tcp: &mut TcpStream) -> Option<u16> {
    let mut bytes = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, tcp.read_to_end(&mut bytes))
        .await
        .expect("the server closes in time");
    let mut at = 0;
    while at + 2 <= bytes.len() {
        let opcode = bytes[at] & 0x0f;
        let (len, header) = match bytes[at + 1] & 0x7f {
            126 => (
                u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]) as usize,
                4,
            ),
            127 => return None,
            n => (n as usize, 2),
        };
        let payload = bytes.get(at + header..at + header + len)?;
        if opcode == 0x8 {
            return payload
                .get(..2)
                .map(|code| u16::from_be_bytes([code[0], code[1]]));
        }
        at += header + len;
    }
    None
}

/// Issue 15: a client that sent pings and never read made the server queue
/// every pong (150 MB of pings took the server from 11 to 150 MiB). Now what
/// the server keeps for a connection is bounded and a client that will not
/// read is dropped, within a bounded number of bytes sent.
#[tokio::test]
async fn a_client_that_pings_and_never_reads_is_dropped_before_its_pongs_pile_up() {
    const GIVE_UP_AT: usize = 64 << 20;
    const DROPPED_WITHIN: usize = 16 << 20;
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut tcp = raw_websocket(web(&server)).await;
    let pings: Vec<u8> = client_frame(0x80, 0x9, &[b'p'; 125]).repeat(512);
    let mut sent = 0;
    let flood = async {
        while sent < GIVE_UP_AT {
            if tcp.write_all(&pings).await.is_err() {
                return true;
            }
            sent += pings.len();
        }
        false
    };
    let dropped = tokio::time::timeout(PATIENCE, flood)
        .await
        .expect("the flood ends in time");
    assert!(dropped, "{sent} bytes of pings sent and never dropped");
    assert!(sent < DROPPED_WITHIN, "dropped only after {sent} bytes");
    let (_, json) = health(&server).await;
    assert_eq!(json["connections"]["websocket"], 0, "{json}");
    server.stop().await;
}

/// A client that pings as much as it likes but reads its pongs is no
/// trouble: the bound is on what it leaves unread, not on pings.
#[tokio::test]
async fn a_client_that_pings_and_reads_its_pongs_stays_connected() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut socket = telnet_socket(&server).await;
    // Twenty rounds of a hundred pings, each round's pongs read before the
    // next: four times the bound on pongs owed to a client that does not read.
    let payload = vec![b'p'; 125];
    for round in 0..20 {
        for _ in 0..100 {
            socket
                .feed(Message::Ping(payload.clone().into()))
                .await
                .expect("send");
        }
        socket.flush().await.expect("flush");
        let mut pongs = 0;
        tokio::time::timeout(PATIENCE, async {
            while pongs < 100 {
                match socket.next().await {
                    Some(Ok(Message::Pong(_))) => pongs += 1,
                    Some(Ok(_)) => {}
                    other => panic!("round {round} ended after {pongs} pongs: {other:?}"),
                }
            }
        })
        .await
        .expect("the round's pongs arrive in time");
    }
    socket
        .send(Message::Binary(b"quit\r\n".to_vec().into()))
        .await
        .expect("send");
    assert_eq!(until_close(&mut socket).await, Some(1000));
    server.stop().await;
}

/// Frames that break RFC 6455 close the connection with 1002 (protocol
/// error); they used to get 1000, as if all had gone well.
#[tokio::test]
async fn a_malformed_frame_closes_the_websocket_with_1002() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let malformed = [
        ("a reserved bit set", client_frame(0x80 | 0x40, 0x2, b"x")),
        ("an unmasked frame", vec![0x82, 0x01, b'x']),
        ("a reserved opcode", client_frame(0x80, 0x3, b"x")),
        ("a fragmented ping", client_frame(0x00, 0x9, b"x")),
        ("a continuation of nothing", client_frame(0x80, 0x0, b"x")),
    ];
    for (what, frame) in malformed {
        let mut tcp = raw_websocket(web(&server)).await;
        tcp.write_all(&frame).await.expect("send");
        assert_eq!(raw_close_code(&mut tcp).await, Some(1002), "{what}");
    }
    server.stop().await;
}

/// The database's size in pages now: given to the writer as its page limit,
/// a full disk (as `faults.rs` stages it).
fn page_count(server: &TestServer) -> u64 {
    server
        .db()
        .query_row("PRAGMA page_count", [], |r| r.get::<_, i64>(0))
        .expect("page count")
        .unsigned_abs()
}

/// Issue 15: a disk outage showed nowhere an operator looks. While the
/// batching writer's commits are refused, `/health` stays 200 (players play
/// on, and nothing heard is lost) but says `degraded` and why, and `/metrics`
/// counts the refusals; both recover with the disk.
#[tokio::test]
async fn a_failing_database_writer_shows_on_health_and_metrics() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut ann = server.connect().await;
    play(&mut ann, "Ann").await;
    let (_, json) = health(&server).await;
    assert_eq!(json["status"], "running", "{json}");
    assert_eq!(json["reasons"], serde_json::json!([]), "{json}");
    let writer = server.game.writer().clone();
    writer.flush().await.expect("flush");
    writer.limit_pages(Some(page_count(&server)));
    for n in 0..10 {
        let line = format!("say line {n:02} {}", "x".repeat(900));
        ann.command(&line).await;
    }
    let mut refusals = writer.health();
    tokio::time::timeout(PATIENCE, refusals.wait_for(|h| h.refused_commits >= 3))
        .await
        .expect("the disk refuses three commits in time")
        .expect("the writer runs");

    let (status, json) = health(&server).await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(
        (&json["ok"], &json["status"]),
        (&true.into(), &"degraded".into())
    );
    let reasons: Vec<&str> = json["reasons"]
        .as_array()
        .map(|r| r.iter().filter_map(|r| r.as_str()).collect())
        .unwrap_or_default();
    let failing = reasons
        .iter()
        .find(|r| r.starts_with("the database writer has failed "));
    let failing = failing.unwrap_or_else(|| panic!("no writer reason: {json}"));
    assert!(failing.contains(" batches in a row: "), "{failing}");
    assert!(failing.contains("full"), "the cause is named: {failing}");
    let text = metrics(&server).await;
    assert_eq!(series(&text, "gaslamp_writer_failing"), 1.0, "{text}");
    assert!(
        series(&text, "gaslamp_writer_failed_commits_total") >= 3.0,
        "{text}"
    );

    writer.limit_pages(None);
    writer.flush().await.expect("flush");
    let (status, json) = health(&server).await;
    assert_eq!(
        (status, &json["status"]),
        (200, &"running".into()),
        "{json}"
    );
    assert_eq!(json["reasons"], serde_json::json!([]), "{json}");
    let text = metrics(&server).await;
    assert_eq!(series(&text, "gaslamp_writer_failing"), 0.0, "{text}");
    assert_eq!(
        series(&text, "gaslamp_writer_dropped_rows_total"),
        0.0,
        "{text}"
    );
    server.stop().await;
}
