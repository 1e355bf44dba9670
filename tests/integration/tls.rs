//! Telnet over TLS (SPEC §8a): the same session behind a rustls listener, with
//! certificates made at test time with rcgen and a tokio-rustls client. Login,
//! talk with a plain player, the transport on the session row and in
//! `/sessions`, shutdown; certificate reload by `/reload tls` and by SIGHUP to
//! the real binary; bad certificates stopping the real binary with exit code 2;
//! the handshake deadline; stalled handshakes that never keep a player out.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use gaslamp::ServerConfig;
use gaslamp::config::TlsSettings;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsConnector;

use crate::support::*;

/// A certificate and key for `localhost`, made for one test.
struct TestCert {
    cert: PathBuf,
    key: PathBuf,
    der: CertificateDer<'static>,
}

impl TestCert {
    fn write(dir: &Path, name: &str) -> TestCert {
        let made =
            rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
        let cert = dir.join(format!("{name}.crt"));
        let key = dir.join(format!("{name}.key"));
        std::fs::write(&cert, made.cert.pem()).expect("write certificate");
        std::fs::write(&key, made.signing_key.serialize_pem()).expect("write key");
        TestCert {
            cert,
            key,
            der: made.cert.der().clone(),
        }
    }

    /// Copies this certificate's files over `other`'s: a renewal in place.
    fn install_over(&self, other: &TestCert) {
        std::fs::copy(&self.cert, &other.cert).expect("copy certificate");
        std::fs::copy(&self.key, &other.key).expect("copy key");
    }
}

/// The test configuration with a TLS listener on a free port beside the plain
/// one.
fn tls_config(dir: &Path, cert: &TestCert) -> ServerConfig {
    ServerConfig {
        tls: Some(TlsSettings {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            cert: cert.cert.clone(),
            key: cert.key.clone(),
            handshake_timeout: Duration::from_secs(10),
        }),
        ..config(dir)
    }
}

/// A TLS client trusting exactly `trusted`, offering the protocol `versions`.
fn connector(
    trusted: &[&CertificateDer<'static>],
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in trusted {
        roots
            .add((*cert).clone())
            .expect("trust the test certificate");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// What a TLS client saw of the handshake.
struct Handshake {
    certificate: CertificateDer<'static>,
    version: Option<rustls::ProtocolVersion>,
}

/// Connects over TLS (as `localhost`) and returns the telnet client and what
/// the handshake showed.
async fn tls_connect_with(addr: SocketAddr, connector: &TlsConnector) -> (Client, Handshake) {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let name = ServerName::try_from("localhost").expect("server name");
    let stream = tokio::time::timeout(PATIENCE, connector.connect(name, tcp))
        .await
        .expect("handshake in time")
        .expect("TLS handshake");
    let (_, connection) = stream.get_ref();
    let handshake = Handshake {
        certificate: connection
            .peer_certificates()
            .and_then(|chain| chain.first())
            .expect("the server presents a certificate")
            .clone()
            .into_owned(),
        version: connection.protocol_version(),
    };
    (Client::over(stream), handshake)
}

async fn tls_connect(
    addr: SocketAddr,
    trusted: &[&CertificateDer<'static>],
) -> (Client, Handshake) {
    tls_connect_with(addr, &connector(trusted, rustls::ALL_VERSIONS)).await
}

/// A TCP connection from a chosen loopback address (each has its own per-IP
/// limit).
async fn connect_from(source: IpAddr, addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(source, 0))
        .expect("bind a loopback source address");
    socket.connect(addr).await.expect("connect")
}

#[tokio::test]
async fn a_tls_player_logs_in_talks_with_a_plain_player_and_is_told_of_the_shutdown() {
    let dir = temp_dir();
    let cert = TestCert::write(dir.path(), "server");
    let server = TestServer::start_with(tls_config(dir.path(), &cert)).await;
    let tls_addr = server.tls_addr.expect("a TLS listener");
    assert_eq!(server.game.config().tls_port(), Some(tls_addr.port()));
    assert_eq!(server.game.config().plain_port(), Some(server.addr.port()));

    let (mut tamsin, seen) = tls_connect(tls_addr, &[&cert.der]).await;
    assert_eq!(seen.certificate, cert.der);
    tamsin.create("Tamsin", PASSWORD).await;
    tamsin.enter("1").await;
    let mut piers = server.player_with_role("Piers", "admin").await;
    tamsin.expect("Piers arrives.").await;

    assert_eq!(
        tamsin.command("say lamps are lit").await,
        "You say, \"lamps are lit\""
    );
    piers.expect("Tamsin says, \"lamps are lit\"").await;
    piers.command("say so they are").await;
    tamsin.expect("Piers says, \"so they are\"").await;

    let sessions = piers.command("/sessions").await;
    let row = |account: &str| {
        sessions
            .lines()
            .find(|line| line.starts_with(account))
            .unwrap_or_else(|| panic!("no row for {account}:\n{sessions}"))
            .to_string()
    };
    assert!(row("Tamsin").contains(" tls "), "{sessions}");
    assert!(row("Piers").contains(" plain "), "{sessions}");
    let stored: Vec<(String, String)> = {
        let db = server.db();
        let mut stmt = db
            .prepare(
                "SELECT u.username, s.transport FROM sessions s \
                 JOIN users u ON u.id = s.user_id ORDER BY u.username",
            )
            .expect("prepare");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    };
    assert_eq!(
        stored,
        [
            ("Piers".to_string(), "plain".to_string()),
            ("Tamsin".to_string(), "tls".to_string())
        ]
    );

    // TLS 1.2 is spoken too.
    let tls12 = connector(&[&cert.der], &[&rustls::version::TLS12]);
    let (mut old_client, seen) = tls_connect_with(tls_addr, &tls12).await;
    assert_eq!(seen.version, Some(rustls::ProtocolVersion::TLSv1_2));
    old_client.expect("Account: ").await;

    server.stop().await;
    for client in [&mut tamsin, &mut piers, &mut old_client] {
        let rest = client.expect_closed().await;
        assert!(rest.contains("The server is shutting down."), "{rest}");
    }
}

#[tokio::test]
async fn reload_tls_gives_new_handshakes_the_renewed_certificate_and_keeps_players() {
    let dir = temp_dir();
    let live = TestCert::write(dir.path(), "live");
    let renewed = TestCert::write(dir.path(), "renewed");
    let trusted = [&live.der, &renewed.der];
    let server = TestServer::start_with(tls_config(dir.path(), &live)).await;
    let tls_addr = server.tls_addr.expect("a TLS listener");

    let (mut tamsin, seen) = tls_connect(tls_addr, &trusted).await;
    assert_eq!(seen.certificate, live.der);
    tamsin.create("Tamsin", PASSWORD).await;
    tamsin.enter("1").await;
    let mut ada = server.player_with_role("Ada", "admin").await;
    let mut bram = server.player_with_role("Bram", "worldbuilder").await;

    // The worlds are a worldbuilder's; the certificate is not.
    assert_eq!(
        bram.command("/reload tls").await,
        "You don't have permission to use /reload tls."
    );

    // Bad files: the admin is told why, and the old certificate stays.
    std::fs::write(&live.key, "not a key at all\n").expect("break the key");
    let answer = ada.command("/reload tls").await;
    assert!(
        answer.contains("was not reloaded; the old one stays in use")
            && answer.contains(&live.key.display().to_string()),
        "{answer}"
    );
    let (_, seen) = tls_connect(tls_addr, &trusted).await;
    assert_eq!(seen.certificate, live.der);

    // The renewed files: new handshakes get them.
    renewed.install_over(&live);
    let answer = ada.command("/reload tls").await;
    assert!(answer.starts_with("TLS certificate reloaded:"), "{answer}");
    let (mut newcomer, seen) = tls_connect(tls_addr, &trusted).await;
    assert_eq!(seen.certificate, renewed.der);
    newcomer.expect("Account: ").await;

    // The player who came in under the old certificate never left.
    assert_eq!(
        tamsin.command("say still here").await,
        "You say, \"still here\""
    );
    let reloads: i64 =
        server.count("SELECT count(*) FROM audit_log WHERE action = 'reload' AND detail = 'tls'");
    assert_eq!(reloads, 2);
    server.stop().await;
}

#[tokio::test]
async fn the_handshake_deadline_closes_plain_text_half_handshakes_garbage_and_silence() {
    let dir = temp_dir();
    let cert = TestCert::write(dir.path(), "server");
    let mut config = tls_config(dir.path(), &cert);
    // Short, but long enough for a real handshake in a debug build on a busy
    // machine: the real client below must never be the one cut off.
    if let Some(tls) = config.tls.as_mut() {
        tls.handshake_timeout = Duration::from_secs(2);
    }
    config.login_timeout = Duration::from_secs(1);
    let server = TestServer::start_with(config).await;
    let tls_addr = server.tls_addr.expect("a TLS listener");

    let mut plain_text = Client::over(TcpStream::connect(tls_addr).await.expect("connect"));
    plain_text
        .send("connect Tamsin correct horse battery")
        .await;
    // A handshake record header announcing 512 bytes, and then only two of them.
    let mut half = Client::over(TcpStream::connect(tls_addr).await.expect("connect"));
    half.send_raw(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00])
        .await;
    let mut garbage = Client::over(TcpStream::connect(tls_addr).await.expect("connect"));
    let mut seed: u32 = 7;
    let noise: Vec<u8> = (0..3000)
        .map(|_| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (seed >> 16) as u8
        })
        .collect();
    garbage.send_raw(&noise).await;
    let mut silent = Client::over(TcpStream::connect(tls_addr).await.expect("connect"));

    // Plain text is told where it went wrong, in words.
    let told = plain_text.expect_closed().await;
    assert!(
        told.contains("This port speaks telnet over TLS")
            && told.contains(&format!("plain telnet on port {}", server.addr.port())),
        "{told}"
    );
    // None of them is ever served a session, and each is closed: the silent and
    // the half one only by the deadline, as nothing else would close them.
    for client in [&mut plain_text, &mut half, &mut garbage, &mut silent] {
        client.expect_closed().await;
        assert!(
            !client.all_text().contains("Account:"),
            "{}",
            client.all_text()
        );
    }

    // A real TLS client still gets in, and the login deadline applies after
    // the handshake as over plain telnet.
    let (mut late, _) = tls_connect(tls_addr, &[&cert.der]).await;
    late.expect("Account: ").await;
    let rest = late.expect_closed().await;
    assert!(rest.contains("Login timed out."), "{rest}");
    server.stop().await;
}

#[tokio::test]
async fn two_hundred_stalled_handshakes_do_not_keep_a_tls_player_out() {
    let dir = temp_dir();
    let cert = TestCert::write(dir.path(), "server");
    let mut config = tls_config(dir.path(), &cert);
    // Longer than the test: the stalled handshakes are still waiting when the
    // player logs in, and it is the shutdown that ends them.
    if let Some(tls) = config.tls.as_mut() {
        tls.handshake_timeout = Duration::from_secs(600);
    }
    config.max_connections_per_ip = 50;
    let server = TestServer::start_with(config).await;
    let tls_addr = server.tls_addr.expect("a TLS listener");

    let sources: Vec<IpAddr> = (2..=5).map(|n| IpAddr::from([127, 0, 0, n])).collect();
    let mut stalled = Vec::new();
    for &source in &sources {
        for _ in 0..50 {
            let mut tcp = connect_from(source, tls_addr).await;
            // The start of a TLS record header, and then nothing.
            tcp.write_all(&[0x16, 0x03, 0x01]).await.expect("send");
            stalled.push(tcp);
        }
    }
    // One more from each address is over its limit and closed without a
    // handshake: so the 50 before it were accepted and hold their slots.
    for &source in &sources {
        let mut extra = Client::over(connect_from(source, tls_addr).await);
        extra.expect_closed().await;
    }

    let (mut tamsin, _) = tls_connect(tls_addr, &[&cert.der]).await;
    tamsin.create("Tamsin", PASSWORD).await;
    tamsin.enter("1").await;
    assert_eq!(tamsin.command("say made it").await, "You say, \"made it\"");
    assert!(
        server.game.connections().total() > 200,
        "the stalled handshakes were let go early: {} connections",
        server.game.connections().total()
    );

    server.stop().await;
    let rest = tamsin.expect_closed().await;
    assert!(rest.contains("The server is shutting down."), "{rest}");
    for tcp in stalled {
        Client::over(tcp).expect_closed().await;
    }
}

/// Runs the real binary (`args` after the common flags) to its end.
fn run_binary(dir: &Path, args: &[&str]) -> (i32, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gaslamp"))
        .args(["--bcrypt-cost", "4", "--db"])
        .arg(dir.join("gaslamp.db"))
        .arg("--worlds")
        .arg(shipped_worlds())
        .args(args)
        .env_clear()
        .env("RUST_LOG", "warn")
        .output()
        .expect("the gaslamp binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), text)
}

#[test]
fn gen_cert_writes_a_pair_and_a_bad_certificate_stops_the_binary_with_exit_code_2() {
    let dir = temp_dir();
    let out = dir.path().join("tls");
    let out_arg = out.to_string_lossy().into_owned();
    let (code, text) = run_binary(
        dir.path(),
        &["gen-cert", "--host", "localhost", "--out", &out_arg],
    );
    assert_eq!(code, 0, "{text}");
    let (cert, key) = (out.join("cert.pem"), out.join("key.pem"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).expect("key").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the key is readable by others");
    }
    // Once is enough: an existing certificate is not overwritten.
    let (code, text) = run_binary(dir.path(), &["gen-cert", "--out", &out_arg]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("already exists"), "{text}");

    let other = TestCert::write(dir.path(), "other");
    let junk = dir.path().join("junk.pem");
    std::fs::write(
        &junk,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .expect("write junk");
    let missing = dir.path().join("missing.pem");
    let cases: [(&Path, &Path, &[&Path]); 4] = [
        (&missing, &key, &[&missing]),
        (&cert, &missing, &[&missing]),
        (&cert, &junk, &[&junk]),
        (&cert, &other.key, &[&cert, &other.key]),
    ];
    for (cert_path, key_path, named) in cases {
        let (cert_arg, key_arg) = (cert_path.to_string_lossy(), key_path.to_string_lossy());
        let (code, text) = run_binary(
            dir.path(),
            &[
                "run",
                "--tls-bind",
                "127.0.0.1:0",
                "--tls-cert",
                &cert_arg,
                "--tls-key",
                &key_arg,
            ],
        );
        assert_eq!(code, 2, "{cert_path:?} + {key_path:?}: {text}");
        for path in named {
            assert!(text.contains(&path.display().to_string()), "{text}");
        }
        // The start stopped before the database was touched.
        assert!(!dir.path().join("gaslamp.db").exists(), "{text}");
    }
}

/// The real binary running with `--tls-only`, and its log lines.
struct Running {
    child: tokio::process::Child,
    log: mpsc::UnboundedReceiver<String>,
}

impl Running {
    async fn start(dir: &Path, cert: &Path, key: &Path) -> (Running, SocketAddr) {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_gaslamp"))
            .args(["--bcrypt-cost", "4", "--log-level", "info", "--db"])
            .arg(dir.join("gaslamp.db"))
            .arg("--worlds")
            .arg(shipped_worlds())
            .args([
                "run",
                "--web-bind",
                "off",
                "--tls-only",
                "--tls-bind",
                "127.0.0.1:0",
                "--tls-cert",
            ])
            .arg(cert)
            .arg("--tls-key")
            .arg(key)
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("gaslamp starts");
        let stderr = child.stderr.take().expect("stderr");
        let (lines, log) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let mut running = Running { child, log };
        let line = running.wait_for_log("listening").await;
        assert!(
            line.contains("transport=tls"),
            "not the TLS listener: {line}"
        );
        let start = line.find("addr=").expect("address") + "addr=".len();
        let addr = line[start..]
            .split_whitespace()
            .next()
            .and_then(|text| text.parse().ok())
            .expect("a socket address");
        (running, addr)
    }

    /// Waits for a log line containing `needle` and returns it.
    async fn wait_for_log(&mut self, needle: &str) -> String {
        tokio::time::timeout(PATIENCE, async {
            while let Some(line) = self.log.recv().await {
                if line.contains(needle) {
                    return line;
                }
            }
            panic!("the server exited before logging {needle:?}");
        })
        .await
        .unwrap_or_else(|_| panic!("no log line with {needle:?} in time"))
    }

    fn signal(&self, name: &str) {
        let pid = self.child.id().expect("pid").to_string();
        let status = std::process::Command::new("kill")
            .args([name, &pid])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }
}

#[tokio::test]
async fn sighup_reloads_the_certificate_of_the_running_binary() {
    let dir = temp_dir();
    let live = TestCert::write(dir.path(), "live");
    let renewed = TestCert::write(dir.path(), "renewed");
    let trusted = [&live.der, &renewed.der];
    // With --tls-only the first (and only) listener to start is the TLS one.
    let (mut server, addr) = Running::start(dir.path(), &live.cert, &live.key).await;

    let (mut tamsin, seen) = tls_connect(addr, &trusted).await;
    assert_eq!(seen.certificate, live.der);
    tamsin.create("Tamsin", PASSWORD).await;
    tamsin.enter("1").await;

    // A bad renewal is refused in the log, and the server carries on with the old one.
    std::fs::write(&live.cert, "not a certificate\n").expect("break the certificate");
    server.signal("-HUP");
    let line = server.wait_for_log("not reloaded").await;
    assert!(line.contains(&live.cert.display().to_string()), "{line}");
    let (_, seen) = tls_connect(addr, &trusted).await;
    assert_eq!(seen.certificate, live.der);

    renewed.install_over(&live);
    server.signal("-HUP");
    server.wait_for_log("TLS certificate reloaded").await;
    let (mut newcomer, seen) = tls_connect(addr, &trusted).await;
    assert_eq!(seen.certificate, renewed.der);
    newcomer.expect("Account: ").await;
    assert_eq!(
        tamsin.command("say still here").await,
        "You say, \"still here\""
    );

    server.signal("-TERM");
    let rest = tamsin.expect_closed().await;
    assert!(rest.contains("The server is shutting down."), "{rest}");
    let exit = tokio::time::timeout(PATIENCE, server.child.wait())
        .await
        .expect("exits in time")
        .expect("exit status");
    assert_eq!(exit.code(), Some(0));
}

/// MUD listings learn the TLS port (MSSP `SSL`), and a plain client that says
/// it can speak TLS (MTTS bit 2048) is noted for the admins in `/sessions`.
#[tokio::test]
async fn mssp_names_the_tls_port_and_a_tls_capable_plain_client_is_noted() {
    let dir = temp_dir();
    let cert = TestCert::write(dir.path(), "one");
    let server = TestServer::start_with(tls_config(dir.path(), &cert)).await;
    let tls_port = server.tls_addr.expect("a TLS listener").port();
    let mut crawler = server.connect().await;
    crawler.expect("Account: ").await;
    crawler.send("MSSP-REQUEST").await;
    let table = crawler.expect("MSSP-REPLY-END").await;
    assert!(table.contains(&format!("SSL\t{tls_port}")), "{table}");
    assert!(
        table.contains(&format!("PORT\t{}", server.addr.port())),
        "{table}"
    );
    let mut c = server.connect().await;
    c.expect("Account: ").await;
    c.send_raw(&[IAC, WILL, 24]).await;
    // IAC SB TTYPE IS "MTTS 2061" (ANSI, VT100, UTF-8, 256 colours, SSL) IAC SE
    let mut mtts = vec![IAC, SB, 24, 0];
    mtts.extend_from_slice(b"MTTS 2061");
    mtts.extend_from_slice(&[IAC, SE]);
    c.send_raw(&mtts).await;
    c.send(&format!("create Wary {PASSWORD}")).await;
    c.expect("Character: ").await;
    let mut admin = server.player_with_role("Ada", "admin").await;
    let sessions = admin.command("/sessions").await;
    // (Long table lines wrap at the admin's 80 columns.)
    let wary = sessions.split("\r\nAda").next().unwrap_or_default();
    assert!(
        wary.contains("Wary") && wary.contains("tls-capable"),
        "{sessions}"
    );
    drop(c);
    server.stop().await;
}
