//! The web listener's HTTP front (`web::HttpFront`: the HTTP slot, hyper's
//! HTTP/1.1, the checks every request passes — the proxy's client address,
//! the reserved slots, the `Host` against DNS rebinding — and the routes,
//! `/ws`'s handshake included, into a session when it upgrades), serving
//! one connection of a real game whose listener is bound to loopback, with
//! or without `--trust-proxy`. Whatever arrives, cut at points the input
//! chooses, the server answers with well-formed HTTP/1.1 responses of
//! statuses it means to give, then (after a 101) well-formed WebSocket
//! frames; and the first request, when it is a plain `GET` the model can
//! judge, gets the status the model says: `/health` and `/metrics` 200 for
//! any `Host`, any other path 421 for a `Host` that does not name the
//! loopback, else 200 for the page and its files, 400 for `/ws` without a
//! handshake, 404 for the rest.
//!
//! Input: a byte of flags (bit 0: behind a trusted proxy; bits 1-3: the
//! largest piece), two bytes of seed for the cuts, then the bytes of the
//! connection.

#![no_main]

use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, OnceLock};

use gaslamp::ServerConfig;
use gaslamp::web::HttpFront;
use gaslamp_fuzz::{runtime, seed_and_rest, split, ws_model};
use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The statuses the front means to give: its own (101, 200, 400, 403, 404,
/// 405, 421, 503) and hyper's for what is no HTTP (400, 431, 505).
const STATUSES: [u16; 10] = [101, 200, 400, 403, 404, 405, 421, 431, 503, 505];

/// A started server's game and the front of its web listener; the server
/// itself is kept for the whole process (its writer thread, its database).
struct Front {
    http: HttpFront,
    sessions: TaskTracker,
}

fn front(trust_proxy: bool) -> &'static Front {
    static PLAIN: OnceLock<Front> = OnceLock::new();
    static PROXIED: OnceLock<Front> = OnceLock::new();
    let cell = if trust_proxy { &PROXIED } else { &PLAIN };
    cell.get_or_init(|| start(trust_proxy))
}

fn start(trust_proxy: bool) -> Front {
    let dir = scratch_dir(trust_proxy);
    let worlds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../worlds");
    let mut config = ServerConfig::for_tests(dir.join("gaslamp.db"), worlds);
    if let Some(web) = config.web.as_mut() {
        web.trust_proxy = trust_proxy;
    }
    let server = runtime()
        .block_on(gaslamp::Server::start(config))
        .unwrap_or_else(|err| panic!("the server does not start: {err}"));
    let sessions = TaskTracker::new();
    let http = HttpFront::new(server.game(), sessions.clone(), CancellationToken::new())
        .expect("the test configuration has a web listener");
    // The server lives as long as the process, where the leak checker sees it.
    static SERVERS: Mutex<Vec<gaslamp::Server>> = Mutex::new(Vec::new());
    SERVERS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(server);
    Front { http, sessions }
}

/// A folder for this process's database, after removing those of fuzz
/// processes that have ended.
fn scratch_dir(trust_proxy: bool) -> std::path::PathBuf {
    let base = std::env::temp_dir();
    if let Ok(entries) = std::fs::read_dir(&base) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let pid = name
                .strip_prefix("gaslamp-fuzz-http-")
                .and_then(|rest| rest.split('-').next());
            if pid.is_some_and(|pid| !std::path::Path::new("/proc").join(pid).exists()) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let dir = base.join(format!(
        "gaslamp-fuzz-http-{}-{}",
        std::process::id(),
        u8::from(trust_proxy)
    ));
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    dir
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let trust_proxy = flags & 1 == 1;
    let (seed, bytes) = seed_and_rest(rest, 2);
    let pieces = split(bytes, seed, 1 << ((flags >> 1) & 7));
    let front = front(trust_proxy);
    let answer = runtime().block_on(exchange(front, &pieces));
    let statuses = check_responses(&answer);
    if let (Some(want), Some(&got)) = (model(bytes), statuses.first()) {
        assert_eq!(got, want, "the first request's status");
    }
});

/// One connection: the client sends `pieces` and stops sending; everything
/// the server answers until it closes, sessions it upgraded to included.
async fn exchange(front: &Front, pieces: &[&[u8]]) -> Vec<u8> {
    let (client, server) = tokio::io::duplex(1 << 16);
    let peer = SocketAddr::from(([127, 0, 0, 1], 50_000));
    let Some(serving) = front.http.connection(server, peer) else {
        panic!("a lone connection was refused a slot");
    };
    let (mut from_server, mut to_server) = tokio::io::split(client);
    let send = async move {
        for piece in pieces {
            if to_server.write_all(piece).await.is_err() {
                return;
            }
        }
        let _ = to_server.shutdown().await;
    };
    let receive = async move {
        let mut answer = Vec::new();
        let _ = from_server.read_to_end(&mut answer).await;
        answer
    };
    let ((), (), answer) = tokio::join!(send, serving, receive);
    front.sessions.close();
    front.sessions.wait().await;
    front.sessions.reopen();
    answer
}

/// Reads the server's answer as HTTP/1.1 responses, each with its body, up
/// to a 101 (after which come WebSocket frames); their statuses.
fn check_responses(mut answer: &[u8]) -> Vec<u16> {
    let mut statuses = Vec::new();
    while !answer.is_empty() {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        let head = match response.parse(answer) {
            Ok(httparse::Status::Complete(head)) => head,
            other => panic!(
                "no HTTP response ({other:?}): {:?}",
                String::from_utf8_lossy(answer)
            ),
        };
        let status = response.code.unwrap_or(0);
        assert!(
            STATUSES.contains(&status),
            "status {status}: {:?}",
            String::from_utf8_lossy(answer)
        );
        // HTTP/1.0 requests are answered in HTTP/1.0.
        assert!(
            matches!(response.version, Some(0 | 1)),
            "{:?}",
            response.version
        );
        statuses.push(status);
        if status == 101 {
            let frames = ws_model::server_frames(&answer[head..]);
            frames.unwrap_or_else(|err| panic!("the server's WebSocket frames: {err}"));
            break;
        }
        let length = response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("content-length"))
            .and_then(|h| {
                std::str::from_utf8(h.value)
                    .ok()?
                    .trim()
                    .parse::<usize>()
                    .ok()
            });
        let chunked = response
            .headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case("transfer-encoding"));
        assert!(!chunked, "the front's bodies have a length");
        let length = length.unwrap_or(0);
        assert!(answer.len() >= head + length, "a body cut short");
        answer = &answer[head + length..];
    }
    statuses
}

/// The status of the first request, when it is a plain `GET` with no body
/// whose target and headers HTTP reads without question; `None` otherwise.
fn model(bytes: &[u8]) -> Option<u16> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut request = httparse::Request::new(&mut headers);
    let Ok(httparse::Status::Complete(_)) = request.parse(bytes) else {
        return None;
    };
    if request.method != Some("GET") || request.version != Some(1) {
        return None;
    }
    let mut hosts = Vec::new();
    for header in request.headers.iter() {
        let name = header.name.to_ascii_lowercase();
        let plain = header
            .value
            .iter()
            .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b));
        if !plain
            || matches!(
                name.as_str(),
                "content-length" | "transfer-encoding" | "expect"
            )
        {
            return None;
        }
        if name == "host" {
            hosts.push(
                std::str::from_utf8(header.value)
                    .ok()?
                    .trim_matches([' ', '\t'])
                    .to_string(),
            );
        }
    }
    let target = request.path?;
    let uri: http::Uri = target.parse().ok()?;
    if uri.scheme().is_some() || !target.starts_with('/') || hosts.len() > 1 {
        return None;
    }
    let path = uri.path();
    if matches!(path, "/health" | "/metrics") {
        return Some(200);
    }
    if hosts.first().is_some_and(|host| !names_loopback(host)) {
        return Some(421);
    }
    match path {
        "/" | "/index.html" | "/app.js" | "/style.css" => Some(200),
        "/ws"
            if !request
                .headers
                .iter()
                .any(|h| h.name.eq_ignore_ascii_case("upgrade")) =>
        {
            Some(400)
        }
        "/ws" => None,
        _ => Some(404),
    }
}

/// Whether a `Host` names the loopback, as the docs say a loopback listener
/// serves: `localhost` or a loopback address (IPv6 in brackets), in any
/// case, with a trailing dot or not, with a port or none.
fn names_loopback(host: &str) -> bool {
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) if !port.contains(']') => (name, Some(port)),
        _ => (host, None),
    };
    if port.is_some_and(|p| p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    if name == "localhost" {
        return true;
    }
    match name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok_and(|ip| {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }),
        None => name
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_ipv4() && ip.is_loopback()),
    }
}
