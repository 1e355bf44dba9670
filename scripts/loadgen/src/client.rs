//! A small telnet client for many connections at once.
//!
//! It understands just enough telnet to follow gaslamp: option negotiation and
//! subnegotiations are skipped, a line ends at LF (a trailing CR is dropped), and
//! IAC GA or IAC EOR marks a prompt (the text since the last line). Parsing works
//! straight out of a small fixed read buffer and hands out borrowed events, so a
//! listener receiving tens of thousands of lines a second allocates nothing per
//! line. The reader and the writer are separate halves so one task can wait for
//! input and for its next send at the same time.
//!
//! A [`Target`] says where to connect and whether over TLS; the halves are boxed
//! streams, so the plain and the TLS client are the same code above the socket.
//! A client may ask for MCCP2 ([`Target::with_mccp`]): after the server's
//! `IAC SB 86 IAC SE` every byte read is inflated first (flate2), as a MUD
//! client does, until the zlib stream ends. A client over WebSocket
//! ([`Client::connect_websocket`]) is the same code too: [`WsIo`] reads the
//! socket's binary frames as bytes and writes bytes as binary frames.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Poll, ready};
use std::time::Duration;

use anyhow::{Context, bail};
use futures::{SinkExt, StreamExt};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// A password that passes the server's policy.
pub const PASSWORD: &str = "correct horse battery";

/// How long one setup step (a prompt to appear) may take before it is an error.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(120);

/// Read buffer per connection: lines are short, and 10,000 idle connections
/// should not cost the load generator much memory.
const READ_BUFFER: usize = 2048;

const IAC: u8 = 255;
const SB: u8 = 250;
const SE: u8 = 240;
const GA: u8 = 249;
const EOR: u8 = 239;
const WILL: u8 = 251;
const DO: u8 = 253;
const DONT: u8 = 254;
const WONT: u8 = 252;
const MCCP2: u8 = 86;
const NAWS: u8 = 31;

/// What the client says first, as any telnet client answers the server's
/// `DO NAWS`: it will not tell its window size (the server's greeting waits
/// for that answer, briefly, so it can wrap at the right width).
const REFUSE_NAWS: [u8; 3] = [IAC, WONT, NAWS];

/// Something the server said: a whole line, or a prompt (text then IAC GA/EOR).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    Line(&'a [u8]),
    Prompt(&'a [u8]),
}

#[derive(Debug, Clone, Copy)]
enum State {
    Data,
    Iac,
    Verb,
    SbOption,
    Sb,
    SbIac,
}

/// Where a client connects: an address, and TLS settings for the TLS port.
#[derive(Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub tls: Option<TlsConnector>,
    /// Whether the client asks for MCCP2 compression at once.
    pub mccp: bool,
    /// The web listener, for members that come over WebSocket.
    pub web: Option<SocketAddr>,
}

impl From<SocketAddr> for Target {
    fn from(addr: SocketAddr) -> Target {
        Target {
            addr,
            tls: None,
            mccp: false,
            web: None,
        }
    }
}

impl Target {
    /// The same target, asking (or not) for MCCP2 compression.
    pub fn with_mccp(self, mccp: bool) -> Target {
        Target { mccp, ..self }
    }

    /// The TLS port at `addr`, trusting only the certificate in `cert_pem`.
    /// Session resumption is off, so every connection makes a full handshake.
    pub fn tls(addr: SocketAddr, cert_pem: &Path) -> anyhow::Result<Target> {
        let cert = CertificateDer::from_pem_file(cert_pem)
            .with_context(|| format!("reading {}", cert_pem.display()))?;
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.resumption = rustls::client::Resumption::disabled();
        Ok(Target {
            addr,
            tls: Some(TlsConnector::from(Arc::new(config))),
            mccp: false,
            web: None,
        })
    }
}

/// The reading half: a fixed buffer and a resumable telnet parser.
pub struct Reader {
    half: Box<dyn AsyncRead + Unpin + Send>,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    state: State,
    line: Vec<u8>,
    /// The last event borrowed `line`; clear it before parsing on.
    emitted: bool,
    sb_option: u8,
    /// The MCCP2 stream being read, once the server started it.
    inflater: Option<flate2::Decompress>,
    /// Bytes read but not yet inflated (or left over after the stream ended).
    zin: Vec<u8>,
    /// Where compressed bytes are read to (allocated when compression starts).
    raw: Vec<u8>,
    /// The last inflate filled the parse buffer: zlib may hold more output
    /// even with no input left.
    more_out: bool,
}

impl Reader {
    /// The next complete event in what has been read so far, if any.
    pub fn next_event(&mut self) -> Option<Event<'_>> {
        if self.emitted {
            self.line.clear();
            self.emitted = false;
        }
        while self.start < self.end {
            let byte = self.buf[self.start];
            self.start += 1;
            match (self.state, byte) {
                (State::Data, IAC) => self.state = State::Iac,
                (State::Data, b'\n') => {
                    if self.line.last() == Some(&b'\r') {
                        self.line.pop();
                    }
                    self.emitted = true;
                    return Some(Event::Line(&self.line));
                }
                (State::Data, b) => self.line.push(b),
                (State::Iac, GA | EOR) => {
                    self.state = State::Data;
                    self.emitted = true;
                    return Some(Event::Prompt(&self.line));
                }
                (State::Iac, IAC) => {
                    self.line.push(IAC);
                    self.state = State::Data;
                }
                (State::Iac, WILL..=DONT) => self.state = State::Verb,
                (State::Iac, SB) => self.state = State::SbOption,
                (State::Iac, _) | (State::Verb, _) => self.state = State::Data,
                (State::SbOption, option) => {
                    self.sb_option = option;
                    self.state = State::Sb;
                }
                (State::Sb, IAC) => self.state = State::SbIac,
                (State::Sb, _) => {}
                (State::SbIac, SE) => {
                    self.state = State::Data;
                    if self.sb_option == MCCP2 {
                        // Everything after the marker is compressed.
                        self.inflater = Some(flate2::Decompress::new(true));
                        self.raw = vec![0; READ_BUFFER];
                        self.zin.extend_from_slice(&self.buf[self.start..self.end]);
                        self.start = self.end;
                    }
                }
                (State::SbIac, _) => self.state = State::Sb,
            }
        }
        None
    }

    /// Reads more bytes once everything buffered has been parsed. Returns false
    /// at end of stream. Cancel-safe: nothing is consumed unless it completes.
    pub async fn fill(&mut self) -> std::io::Result<bool> {
        debug_assert!(self.start == self.end, "parse what is buffered first");
        loop {
            if self.inflater.is_some() {
                if (!self.zin.is_empty() || self.more_out) && self.inflate()? > 0 {
                    return Ok(true);
                }
                if self.inflater.is_none() {
                    continue;
                }
                // The only wait: nothing is consumed unless the read completes.
                let n = self.half.read(&mut self.raw).await?;
                if n == 0 {
                    return Ok(false);
                }
                self.zin.extend_from_slice(&self.raw[..n]);
            } else if !self.zin.is_empty() {
                // Plain bytes that followed the end of the zlib stream.
                let n = self.zin.len().min(self.buf.len());
                self.buf[..n].copy_from_slice(&self.zin[..n]);
                self.zin.drain(..n);
                self.start = 0;
                self.end = n;
                return Ok(true);
            } else {
                let n = self.half.read(&mut self.buf).await?;
                self.start = 0;
                self.end = n;
                return Ok(n > 0);
            }
        }
    }

    /// Inflates what is waiting into the parse buffer; the bytes produced.
    fn inflate(&mut self) -> std::io::Result<usize> {
        let Some(inflater) = &mut self.inflater else {
            return Ok(0);
        };
        let (before_in, before_out) = (inflater.total_in(), inflater.total_out());
        let status = inflater
            .decompress(&self.zin, &mut self.buf, flate2::FlushDecompress::Sync)
            .map_err(std::io::Error::other)?;
        let consumed = (inflater.total_in() - before_in) as usize;
        let produced = (inflater.total_out() - before_out) as usize;
        self.zin.drain(..consumed);
        self.start = 0;
        self.end = produced;
        self.more_out = produced == self.buf.len();
        if status == flate2::Status::StreamEnd {
            self.inflater = None;
        }
        Ok(produced)
    }

    /// Bytes the MCCP2 stream has taken in and given out so far, while it
    /// runs.
    pub fn inflated(&self) -> Option<(u64, u64)> {
        self.inflater
            .as_ref()
            .map(|inflater| (inflater.total_in(), inflater.total_out()))
    }

    /// Whether the server's output arrives compressed now.
    pub fn compressed(&self) -> bool {
        self.inflater.is_some()
    }
}

/// One connection to the server.
pub struct Client {
    pub reader: Reader,
    pub writer: Box<dyn AsyncWrite + Unpin + Send>,
    /// The last few lines seen while waiting, for error messages.
    recent: VecDeque<String>,
}

impl Client {
    /// Connects (and for a TLS target, makes the handshake; for an MCCP2 one,
    /// accepts compression at once).
    pub async fn connect(target: impl Into<Target>) -> anyhow::Result<Client> {
        let target = target.into();
        let addr = target.addr;
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        Client::over(stream, &target).await
    }

    /// Connects from the loopback address `source` (any of 127.0.0.0/8), so a
    /// scenario can play several client addresses.
    pub async fn connect_from(
        addr: SocketAddr,
        source: std::net::IpAddr,
    ) -> anyhow::Result<Client> {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(source, 0))?;
        let stream = socket
            .connect(addr)
            .await
            .with_context(|| format!("connecting to {addr} from {source}"))?;
        Client::over(stream, &Target::from(addr)).await
    }

    /// A client over a connected stream: the TLS handshake and the MCCP2
    /// request when `target` asks for them.
    async fn over(stream: TcpStream, target: &Target) -> anyhow::Result<Client> {
        let addr = target.addr;
        stream.set_nodelay(true)?;
        let (half, mut writer): (
            Box<dyn AsyncRead + Unpin + Send>,
            Box<dyn AsyncWrite + Unpin + Send>,
        ) = match &target.tls {
            None => {
                let (read, write) = stream.into_split();
                (Box::new(read), Box::new(write))
            }
            Some(connector) => {
                let name = ServerName::try_from("localhost")?;
                let tls = connector
                    .connect(name, stream)
                    .await
                    .with_context(|| format!("TLS handshake with {addr}"))?;
                let (read, write) = tokio::io::split(tls);
                (Box::new(read), Box::new(write))
            }
        };
        writer.write_all(&REFUSE_NAWS).await?;
        if target.mccp {
            writer.write_all(&[IAC, DO, MCCP2]).await?;
        }
        Ok(Client::from_halves(half, writer))
    }

    /// Connects to the web listener's `/ws` with the telnet subprotocol.
    pub async fn connect_websocket(addr: SocketAddr) -> anyhow::Result<Client> {
        let mut request = format!("ws://{addr}/ws").into_client_request()?;
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("telnet.mudstandards.org"),
        );
        let (socket, _) = tokio_tungstenite::connect_async_with_config(request, None, true)
            .await
            .with_context(|| format!("WebSocket upgrade at {addr}"))?;
        let (read, mut write) = tokio::io::split(WsIo {
            socket,
            unread: bytes::Bytes::new(),
        });
        write.write_all(&REFUSE_NAWS).await?;
        write.flush().await?;
        Ok(Client::from_halves(Box::new(read), Box::new(write)))
    }

    fn from_halves(
        half: Box<dyn AsyncRead + Unpin + Send>,
        writer: Box<dyn AsyncWrite + Unpin + Send>,
    ) -> Client {
        Client {
            reader: Reader {
                half,
                buf: vec![0; READ_BUFFER].into_boxed_slice(),
                start: 0,
                end: 0,
                state: State::Data,
                line: Vec::new(),
                emitted: false,
                sb_option: 0,
                inflater: None,
                zin: Vec::new(),
                raw: Vec::new(),
                more_out: false,
            },
            writer,
            recent: VecDeque::new(),
        }
    }

    /// Sends one line, CRLF added.
    pub async fn send(&mut self, line: &str) -> std::io::Result<()> {
        let mut bytes = Vec::with_capacity(line.len() + 2);
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        self.writer.write_all(&bytes).await?;
        // A no-op for TCP; a WebSocket's frame waits in its buffer until then.
        self.writer.flush().await
    }

    /// Waits for one of `prompts` and returns its index; lines in between are
    /// skipped. A closed connection or a timeout is an error naming what came last.
    pub async fn wait_prompt(&mut self, prompts: &[&str]) -> anyhow::Result<usize> {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            while let Some(event) = self.reader.next_event() {
                match event {
                    Event::Prompt(text) => {
                        if let Some(i) = prompts.iter().position(|p| p.as_bytes() == text) {
                            return Ok(i);
                        }
                    }
                    Event::Line(text) if !text.is_empty() => {
                        if self.recent.len() == 4 {
                            self.recent.pop_front();
                        }
                        self.recent
                            .push_back(String::from_utf8_lossy(text).into_owned());
                    }
                    Event::Line(_) => {}
                }
            }
            match tokio::time::timeout_at(deadline, self.reader.fill()).await {
                Ok(Ok(true)) => {}
                Ok(Ok(false)) => bail!(
                    "server closed the connection; last lines: {:?}",
                    self.recent
                ),
                Ok(Err(err)) => bail!("read failed ({err}); last lines: {:?}", self.recent),
                Err(_) => bail!(
                    "no {prompts:?} prompt in time; last lines: {:?}",
                    self.recent
                ),
            }
        }
    }

    /// Sends a line and waits for one of `prompts`.
    pub async fn command(&mut self, line: &str, prompts: &[&str]) -> anyhow::Result<usize> {
        self.send(line).await?;
        self.wait_prompt(prompts).await
    }

    /// Waits for a line that is exactly `wanted`; whatever comes before it is
    /// skipped (however many lines: a prompt need not follow it).
    pub async fn wait_line(&mut self, wanted: &str) -> anyhow::Result<()> {
        loop {
            while let Some(event) = self.reader.next_event() {
                if matches!(event, Event::Line(text) if text == wanted.as_bytes()) {
                    return Ok(());
                }
            }
            if !self.reader.fill().await? {
                bail!("server closed the connection before {wanted:?}");
            }
        }
    }

    /// Reads (and forgets) whatever the server sends until `stop` resolves:
    /// true then, false if the server closed the connection first.
    pub async fn read_until(&mut self, stop: impl Future<Output = ()>) -> std::io::Result<bool> {
        tokio::pin!(stop);
        loop {
            while self.reader.next_event().is_some() {}
            tokio::select! {
                _ = &mut stop => return Ok(true),
                more = self.reader.fill() => {
                    if !more? {
                        return Ok(false);
                    }
                }
            }
        }
    }

    /// The last lines seen, for error messages.
    pub fn recent(&self) -> Vec<String> {
        self.recent.iter().cloned().collect()
    }

    /// `create <account> <password>` at the `Account: ` prompt; waits for the
    /// character menu.
    pub async fn create_account(&mut self, account: &str) -> anyhow::Result<()> {
        self.wait_prompt(&["Account: "]).await?;
        let line = format!("create {account} {PASSWORD}");
        if self.command(&line, &["Character: ", "Account: "]).await? != 0 {
            bail!("creating {account} was refused: {:?}", self.recent());
        }
        Ok(())
    }

    /// `connect <account> <password>` at the `Account: ` prompt; waits for the
    /// character menu.
    pub async fn log_in(&mut self, account: &str) -> anyhow::Result<()> {
        self.wait_prompt(&["Account: "]).await?;
        let line = format!("connect {account} {PASSWORD}");
        if self.command(&line, &["Character: ", "Account: "]).await? != 0 {
            bail!("logging in as {account} was refused: {:?}", self.recent());
        }
        Ok(())
    }

    /// Picks the first character and waits for the game prompt.
    pub async fn enter_game(&mut self) -> anyhow::Result<()> {
        if self.command("1", &["> ", "Character: "]).await? != 0 {
            bail!("could not enter the game: {:?}", self.recent());
        }
        Ok(())
    }

    /// From the character menu: switches to `world` and plays a new character
    /// called `name` there (it enters the game at once).
    pub async fn play_new_in(&mut self, world: &str, name: &str) -> anyhow::Result<()> {
        self.command(&format!("world {world}"), &["Character: "])
            .await?;
        if self
            .command(&format!("new {name}"), &["> ", "Character: "])
            .await?
            != 0
        {
            bail!(
                "could not play a new character in {world}: {:?}",
                self.recent()
            );
        }
        Ok(())
    }

    /// Walks through a named exit and waits for the prompt.
    pub async fn go(&mut self, exit: &str) -> anyhow::Result<()> {
        self.command(&format!("go {exit}"), &["> "]).await?;
        if self
            .recent
            .back()
            .is_some_and(|l| l.contains("can't go that way"))
        {
            bail!("no exit {exit:?} here: {:?}", self.recent());
        }
        Ok(())
    }
}

type Socket = tokio_tungstenite::WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A WebSocket as a byte stream: binary frames read as bytes, each write one
/// binary frame. Reading polls the socket only as a stream and writing only as
/// a sink (tokio-tungstenite keeps a waker for each), so the two halves of
/// `tokio::io::split` may wait in different tasks.
struct WsIo {
    socket: Socket,
    unread: bytes::Bytes,
}

impl AsyncRead for WsIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        loop {
            if !this.unread.is_empty() {
                let n = this.unread.len().min(buf.remaining());
                buf.put_slice(&this.unread.split_to(n));
                return Poll::Ready(Ok(()));
            }
            match ready!(this.socket.poll_next_unpin(cx)) {
                Some(Ok(Message::Binary(bytes))) => this.unread = bytes,
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Poll::Ready(Ok(())),
                Some(Ok(_)) => {}
            }
        }
    }
}

impl AsyncWrite for WsIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.socket.poll_ready_unpin(cx)).map_err(std::io::Error::other)?;
        let frame = Message::Binary(bytes::Bytes::copy_from_slice(buf));
        this.socket
            .start_send_unpin(frame)
            .map_err(std::io::Error::other)?;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.get_mut()
            .socket
            .poll_flush_unpin(cx)
            .map_err(std::io::Error::other)
    }

    fn poll_shutdown(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.get_mut()
            .socket
            .poll_close_unpin(cx)
            .map_err(std::io::Error::other)
    }
}

/// An account (and character) name for client `n`: letters only, because a
/// character is named after its account and character names are letters.
pub fn name(prefix: &str, n: usize) -> String {
    let mut letters = [b'a'; 4];
    let mut rest = n;
    for slot in letters.iter_mut().rev() {
        *slot = b'a' + (rest % 26) as u8;
        rest /= 26;
    }
    format!(
        "{prefix}{}",
        std::str::from_utf8(&letters).unwrap_or("aaaa")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_letters_and_distinct() {
        assert_eq!(name("zq", 0), "zqaaaa");
        assert_eq!(name("zq", 27), "zqaabb");
        assert_ne!(name("zq", 9_999), name("zq", 9_998));
    }
}
