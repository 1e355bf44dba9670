//! One connection as the session sees it underneath: bytes in, turned into lines
//! by the telnet codec, with the telnet details, the caps, the rate limit, the
//! timeouts and the control orders handled here.
//!
//! [`Conn::next`] answers option negotiation itself, reports an over-long line and
//! shows the prompt again, applies the command rate limit, obeys control orders
//! (a takeover or a kick ends the connection whatever it was waiting for), and
//! turns every way a connection can end into a [`Hangup`] value. It knows nothing
//! of accounts or rows: what it learns that the session records (the client's
//! name) or must answer from the game (an MSSP request) it reports as an
//! [`Input`].
//!
//! The MUD options (SPEC §8) are read here: NAWS sizes, the TTYPE/MTTS cycle,
//! the CHARSET answer, GMCP from the client, and the switches of EOR, GMCP and
//! MCCP2. What they tell about the client goes into the connection's
//! [`ClientProfile`] and [`Protocol`], which its writer reads. Replies to
//! negotiation are gathered and queued as one frame per read, so a client that
//! sends a thousand requests at once gets its thousand replies in one piece of
//! the outbound queue rather than a thousand.
//!
//! **Invariant:** `Conn` touches no store and no registry entry; it reads bytes
//! and queues output on its own connection only.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt};
use tokio::io::AsyncRead;
use tokio::sync::mpsc;
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;

use bytes::{Bytes, BytesMut};

use super::render::{Protocol, SupportsChange};
use crate::game::{ClientProfile, ConnId, Control, Outbox, Peer};
use crate::replies;
use crate::telnet::mud::{self, Charset, Mtts};
use crate::telnet::{self, OptionChange, OptionTable, Output, Policy, TelnetCodec, Verb, opt};

/// Why the session must end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hangup {
    /// The client closed the connection (or the socket failed).
    Closed,
    /// 8 KiB arrived without a newline.
    Overflow,
    /// No login, or no command, within the allowed time.
    Timeout,
    /// The server is shutting down.
    Shutdown,
    /// The connection was ended from elsewhere (a full queue).
    Dead,
    /// Another connection took the character over.
    TakenOver,
    /// An admin or the server's upkeep closed it (kick, ban, expiry); the
    /// reason has been shown.
    Kicked,
    /// The player asked to leave.
    Quit,
}

/// What the session receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A line the player typed (within the rate limit).
    Line(String),
    /// The client named itself (telnet TTYPE, or GMCP `Core.Hello` with its
    /// version, which wins).
    ClientNamed(String),
    /// The client asked for the server's MSSP table (DO MSSP).
    MsspWanted,
}

/// The limits a connection reads under.
#[derive(Debug, Clone, Copy)]
pub struct ReadLimits {
    /// Sustained commands per second.
    pub per_second: u32,
    /// Commands allowed in a burst above the sustained rate.
    pub burst: u32,
}

/// A connection's reading half, whatever carries it.
pub type Reader = Box<dyn AsyncRead + Send + Unpin>;

/// The live connection a session drives.
pub struct Conn {
    id: ConnId,
    peer: Peer,
    outbox: Outbox,
    control_tx: mpsc::Sender<Control>,
    control_rx: mpsc::Receiver<Control>,
    /// The decoded input. Only ever used through `&mut self` (`Mutex::get_mut`
    /// takes no lock); the mutex is there so that `Conn` is `Sync` whatever
    /// stream it reads, and a session may hold `&Link` across an await.
    reader: std::sync::Mutex<FramedRead<Reader, TelnetCodec>>,
    options: OptionTable,
    limiter: RateLimiter,
    /// The last prompt shown, shown again after an input error.
    prompt: Arc<str>,
    /// What the client is and can show, shared with the writer and the game.
    profile: Arc<ClientProfile>,
    /// EOR and GMCP state, shared with the writer.
    protocol: Arc<Protocol>,
    /// Negotiation replies and subnegotiations gathered from one read.
    replies: BytesMut,
    /// Where the TTYPE/MTTS cycle stands.
    ttype: TtypeCycle,
    /// The client named itself in GMCP `Core.Hello`; TTYPE names no longer count.
    named_by_hello: bool,
    /// MCCP2 may be offered and accepted (not with `--no-mccp`).
    mccp: bool,
    /// The client's MTTS answer set the UTF-8 bit.
    mtts_utf8: bool,
    /// Resolves when the connection is declared dead or the server shuts down.
    /// Made once per connection: re-creating the waits on every input would
    /// register and unregister with both tokens each time.
    ended: Pin<Box<dyn Future<Output = Hangup> + Send + Sync>>,
    /// How `ended` resolved, once it has (a finished future is not polled again).
    ended_with: Option<Hangup>,
    /// The input deadline, reset for each wait.
    timer: Pin<Box<tokio::time::Sleep>>,
}

/// Initial size of a connection's read buffer.
const READ_BUFFER: usize = 512;
/// Gathered replies are queued once they reach this size, even mid-read.
const REPLIES_AT_MOST: usize = 4 * 1024;
/// TTYPE SEND is asked at most this often (name, terminal, MTTS).
const TTYPE_ASKS: u8 = 3;

/// Where a connection's TTYPE cycle stands: asked so often, last answer.
#[derive(Debug, Default)]
struct TtypeCycle {
    asked: u8,
    answers: u8,
    last: Option<String>,
    done: bool,
}

/// The protocols a connection offers beside the basics.
#[derive(Debug, Clone, Copy)]
pub struct Offers {
    /// MCCP2 compression (off with `--no-mccp`).
    pub mccp: bool,
}

impl Conn {
    pub fn new(
        id: ConnId,
        peer: Peer,
        reader: Reader,
        outbox: Outbox,
        shutdown: CancellationToken,
        limits: ReadLimits,
        offers: Offers,
    ) -> Conn {
        let (control_tx, control_rx) = mpsc::channel(8);
        let dead = outbox.dead().clone();
        Conn {
            id,
            peer,
            outbox,
            control_tx,
            control_rx,
            // Most lines are short: start small (the buffer grows up to the
            // codec's caps when needed), which matters at 10,000 connections.
            reader: std::sync::Mutex::new(FramedRead::with_capacity(
                reader,
                TelnetCodec::new(),
                READ_BUFFER,
            )),
            options: OptionTable::new(policy(offers)),
            limiter: RateLimiter::new(limits.per_second, limits.burst),
            prompt: Arc::from(""),
            profile: Arc::default(),
            protocol: Arc::default(),
            replies: BytesMut::new(),
            ttype: TtypeCycle::default(),
            named_by_hello: false,
            mccp: offers.mccp,
            mtts_utf8: false,
            ended: Box::pin(ended(dead, shutdown)),
            ended_with: None,
            timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
        }
    }

    pub fn id(&self) -> ConnId {
        self.id
    }

    /// The decoded input (`Mutex::get_mut` takes no lock).
    fn reader(&mut self) -> &mut FramedRead<Reader, TelnetCodec> {
        self.reader
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn peer(&self) -> Peer {
        self.peer
    }

    /// The connection's outbound queue (the registry keeps a clone).
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Where others send this connection orders (the registry keeps a clone).
    pub fn control_sender(&self) -> mpsc::Sender<Control> {
        self.control_tx.clone()
    }

    /// What the client is and can show (shared with the writer and the game).
    pub fn profile(&self) -> &Arc<ClientProfile> {
        &self.profile
    }

    /// The telnet-level state the writer needs.
    pub fn protocol(&self) -> &Arc<Protocol> {
        &self.protocol
    }

    /// Sends the opening option offers (SPEC §8): WILL EOR, GMCP, MSSP and
    /// MCCP2, DO NAWS, TTYPE and CHARSET, every one of them declinable.
    /// Suppress-go-ahead is never offered (only accepted when the client
    /// asks): an unasked WILL SGA puts plain `telnet` into character mode, and
    /// its user then sees `^M` and `^?` instead of a line editor. ECHO is
    /// offered only around password prompts.
    pub fn offer_options(&mut self) {
        let mut offers = vec![
            self.options.enable_local(opt::EOR),
            self.options.enable_local(opt::GMCP),
            self.options.enable_local(opt::MSSP),
        ];
        if self.mccp {
            offers.push(self.options.enable_local(opt::MCCP2));
        }
        offers.extend([
            self.options.enable_remote(opt::NAWS),
            self.options.enable_remote(opt::TTYPE),
            self.options.enable_remote(opt::CHARSET),
        ]);
        for (verb, option) in offers.into_iter().flatten() {
            self.negotiate(verb, option);
        }
        self.send_replies();
    }

    /// Gathers a negotiation to send with the others of this read.
    fn negotiate(&mut self, verb: Verb, option: u8) {
        self.replies
            .extend_from_slice(&[telnet::IAC, verb.byte(), option]);
        self.replies_filled();
    }

    /// Gathers a subnegotiation to send with the others of this read.
    fn subnegotiate(&mut self, option: u8, data: Bytes) {
        let bytes = telnet::command_bytes(Output::Subnegotiate(option, data));
        self.replies.extend_from_slice(&bytes);
        self.replies_filled();
    }

    fn replies_filled(&mut self) {
        if self.replies.len() >= REPLIES_AT_MOST {
            self.send_replies();
        }
    }

    /// Queues the gathered replies as one frame.
    fn send_replies(&mut self) {
        if !self.replies.is_empty() {
            self.outbox.wire(self.replies.split().freeze());
        }
    }

    /// Sends the MSSP table (the answer to [`Input::MsspWanted`]).
    pub fn send_mssp(&mut self, table: &[(&str, Vec<String>)]) {
        self.subnegotiate(opt::MSSP, mud::mssp(table));
        self.send_replies();
    }

    /// Sends a line of text.
    pub fn line(&self, text: impl Into<Arc<str>>) {
        self.outbox.line(text);
    }

    /// Shows a prompt (remembered, to be shown again after an input error).
    pub fn prompt(&mut self, text: &str) {
        if self.prompt.as_ref() != text {
            self.prompt = Arc::from(text);
        }
        self.outbox.prompt(self.prompt.clone());
    }

    /// Asks the client to stop echoing what is typed (a password follows).
    pub fn hide_typing(&mut self) {
        if let Some((verb, option)) = self.options.enable_local(opt::ECHO) {
            self.negotiate(verb, option);
        }
        self.send_replies();
    }

    /// Lets the client echo again.
    pub fn show_typing(&mut self) {
        if let Some((verb, option)) = self.options.disable_local(opt::ECHO) {
            self.negotiate(verb, option);
        }
        self.send_replies();
    }

    /// Queues the connection's last words. The connection itself is closed by
    /// [`crate::session::serve`] once the session's records are cleaned up, so a
    /// client that sees the connection close can rely on that clean-up being done.
    pub fn last_words(&self, text: &str) {
        self.outbox.line(text);
    }

    /// Waits for the next line (or news of the client), until `deadline`. A
    /// control order ends the wait whatever the session was asking: a takeover
    /// or a kick is a [`Hangup`], with its last words already queued.
    pub async fn next(&mut self, deadline: Instant) -> Result<Input, Hangup> {
        if let Some(hangup) = self.ended_with {
            return Err(hangup);
        }
        self.timer
            .as_mut()
            .reset(tokio::time::Instant::from_std(deadline));
        loop {
            // While negotiation replies are gathered, input that has already
            // arrived is read on before they are sent, so a burst of requests
            // gets its replies as one frame; once nothing more is waiting,
            // they go out.
            let ready = if self.replies.is_empty() {
                None
            } else {
                self.reader().next().now_or_never()
            };
            let input = match ready {
                Some(input) => input,
                None => {
                    self.send_replies();
                    let reader = self
                        .reader
                        .get_mut()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    tokio::select! {
                        biased;
                        hangup = &mut self.ended => {
                            self.ended_with = Some(hangup);
                            return Err(hangup);
                        }
                        Some(order) = self.control_rx.recv() => return Err(self.obey(order)),
                        _ = &mut self.timer => return Err(Hangup::Timeout),
                        input = reader.next() => input,
                    }
                }
            };
            let Some(Ok(input)) = input else {
                self.send_replies();
                return Err(Hangup::Closed);
            };
            let handled = self.handle_input(input);
            if !matches!(handled, Ok(None)) {
                // Replies go before anything the session says next.
                self.send_replies();
            }
            if let Some(input) = handled? {
                return Ok(input);
            }
        }
    }

    /// Carries out a control order; every order ends the connection.
    fn obey(&mut self, order: Control) -> Hangup {
        let hangup = match order {
            Control::TakenOver => {
                self.last_words(replies::TAKEN_OVER);
                Hangup::TakenOver
            }
            Control::Kick { message } => {
                self.last_words(&message);
                Hangup::Kicked
            }
        };
        self.ended_with = Some(hangup);
        hangup
    }

    /// Deals with one decoded input; what the session should see is returned.
    fn handle_input(&mut self, input: telnet::Input) -> Result<Option<Input>, Hangup> {
        match input {
            telnet::Input::Line(line) => {
                self.outbox.input_seen();
                Ok(self.admit_line(line).map(Input::Line))
            }
            telnet::Input::LineTooLong => {
                self.send_replies();
                self.outbox.input_seen();
                self.outbox.line(replies::LINE_TOO_LONG);
                self.outbox.prompt(self.prompt.clone());
                Ok(None)
            }
            telnet::Input::Overflow => {
                self.outbox.line(replies::INPUT_OVERFLOW);
                Err(Hangup::Overflow)
            }
            telnet::Input::Negotiation { verb, option } => Ok(self.negotiation(verb, option)),
            telnet::Input::Subnegotiation { option, data } => {
                Ok(self.subnegotiation(option, &data))
            }
            telnet::Input::SubnegotiationTooLong { option } => {
                tracing::debug!(option, "oversized subnegotiation ignored");
                Ok(None)
            }
            telnet::Input::Command(_) => Ok(None),
        }
    }

    /// Answers a WILL/WONT/DO/DONT (RFC 1143: only a change of state is
    /// answered) and acts on the change.
    fn negotiation(&mut self, verb: Verb, option: u8) -> Option<Input> {
        let negotiated = self.options.receive(verb, option);
        let change = negotiated.change;
        // Compression ends before the acknowledgement, which then travels
        // plain, after the end of the zlib stream.
        if change == Some(OptionChange::LocalDisabled(opt::MCCP2)) {
            self.send_replies();
            self.outbox.compress(false);
        }
        if let Some((verb, option)) = negotiated.reply {
            self.negotiate(verb, option);
        }
        self.option_changed(change?)
    }

    /// What a new option state means for the connection.
    fn option_changed(&mut self, change: OptionChange) -> Option<Input> {
        match change {
            OptionChange::LocalEnabled(opt::EOR) => self.protocol.set_eor(true),
            OptionChange::LocalDisabled(opt::EOR) => self.protocol.set_eor(false),
            OptionChange::LocalEnabled(opt::GMCP) => {
                self.protocol.set_gmcp(true);
                self.profile.set_structured(true);
            }
            OptionChange::LocalDisabled(opt::GMCP) => {
                self.protocol.set_gmcp(false);
                self.profile.set_structured(false);
            }
            OptionChange::LocalEnabled(opt::MSSP) => return Some(Input::MsspWanted),
            OptionChange::LocalEnabled(opt::MCCP2) => {
                tracing::debug!("MCCP2 compression starts");
                // The marker, then everything after it compressed.
                self.subnegotiate(opt::MCCP2, Bytes::new());
                self.send_replies();
                self.outbox.compress(true);
            }
            OptionChange::RemoteEnabled(opt::TTYPE) => self.ask_terminal_type(),
            OptionChange::RemoteEnabled(opt::CHARSET) => {
                self.subnegotiate(opt::CHARSET, mud::charset_request_utf8());
            }
            OptionChange::RemoteDisabled(opt::NAWS) => self.profile.set_size(0, 0),
            _ => {}
        }
        None
    }

    fn subnegotiation(&mut self, option: u8, data: &[u8]) -> Option<Input> {
        match option {
            opt::TTYPE if self.options.remote_enabled(opt::TTYPE) => self.terminal_type(data),
            opt::NAWS if self.options.remote_enabled(opt::NAWS) => {
                if let Some((width, height)) = mud::naws(data) {
                    tracing::debug!(width, height, "client window size");
                    self.profile.set_size(width, height);
                }
                None
            }
            opt::CHARSET => {
                self.charset(data);
                None
            }
            opt::GMCP if self.protocol.gmcp_on() => self.gmcp(data),
            _ => None,
        }
    }

    /// `TTYPE SEND`: "tell us your (next) terminal type".
    fn ask_terminal_type(&mut self) {
        self.ttype.asked += 1;
        self.subnegotiate(opt::TTYPE, Bytes::from_static(mud::TTYPE_SEND));
    }

    /// One answer of the TTYPE cycle (MTTS): the client's name first, then its
    /// terminal type, then `MTTS <bits>`. Asked again until an answer repeats,
    /// at most three times.
    fn terminal_type(&mut self, data: &[u8]) -> Option<Input> {
        let answer = mud::ttype_is(data)?;
        if self.ttype.done {
            return None;
        }
        self.ttype.answers += 1;
        tracing::debug!(answer = %answer, "terminal type");
        if let Some(bits) = Mtts::parse(&answer) {
            self.apply_mtts(bits);
        } else if mud::terminal_does_colour(&answer) {
            self.profile.set_colour_capable(true);
        }
        let repeated = self.ttype.last.as_deref() == Some(answer.as_str());
        if repeated || Mtts::parse(&answer).is_some() || self.ttype.asked >= TTYPE_ASKS {
            self.ttype.done = true;
        } else {
            self.ask_terminal_type();
        }
        let first = self.ttype.answers == 1;
        self.ttype.last = Some(answer.clone());
        if first && !self.named_by_hello {
            return self.name_client(&answer);
        }
        None
    }

    fn apply_mtts(&mut self, bits: Mtts) {
        tracing::debug!(bits = ?bits.names(), "client sent MTTS");
        self.profile.set_colour_capable(bits.has(Mtts::ANSI));
        self.profile
            .set_screen_reader(bits.has(Mtts::SCREEN_READER));
        // Noted for /sessions: a client on the plain port that could use the
        // TLS one.
        self.profile.set_tls_capable(bits.has(Mtts::SSL));
        if bits.has(Mtts::UTF8) {
            self.mtts_utf8 = true;
            self.use_ascii(false);
        }
    }

    /// Cleans and records the client's name; the session stores it.
    fn name_client(&mut self, name: &str) -> Option<Input> {
        let name: String = crate::text::sanitize(name).chars().take(40).collect();
        if name.is_empty() {
            return None;
        }
        tracing::debug!(client = %name, "client named itself");
        self.profile.set_name(&name);
        Some(Input::ClientNamed(name))
    }

    /// The client's answer to our UTF-8 request, or its own request.
    fn charset(&mut self, data: &[u8]) {
        match mud::charset(data) {
            Some(Charset::Accepted(name)) if name.eq_ignore_ascii_case("UTF-8") => {
                self.use_ascii(false)
            }
            Some(Charset::Accepted(_) | Charset::Rejected) if !self.mtts_utf8 => {
                self.use_ascii(true)
            }
            Some(Charset::Requested(names)) => {
                let utf8 = names.iter().find(|n| n.eq_ignore_ascii_case("UTF-8"));
                let narrow = names.iter().find(|n| {
                    ["US-ASCII", "ASCII", "ISO-8859-1", "LATIN1"]
                        .iter()
                        .any(|known| n.eq_ignore_ascii_case(known))
                });
                let chosen = utf8.or(narrow).cloned();
                self.subnegotiate(opt::CHARSET, mud::charset_reply(chosen.as_deref()));
                if let Some(name) = chosen {
                    self.use_ascii(!name.eq_ignore_ascii_case("UTF-8"));
                }
            }
            _ => {}
        }
    }

    /// ASCII out and Latin-1 in (a client without UTF-8), or UTF-8 both ways.
    fn use_ascii(&mut self, ascii: bool) {
        tracing::debug!(
            charset = if ascii { "ASCII" } else { "UTF-8" },
            "character set agreed"
        );
        self.profile.set_ascii(ascii);
        self.profile.set_utf8(!ascii);
        self.reader().decoder_mut().set_latin1(ascii);
    }

    /// A GMCP message from the client. Whatever is malformed, unknown or too
    /// long is ignored (and logged at debug level).
    fn gmcp(&mut self, data: &[u8]) -> Option<Input> {
        let Some(message) = mud::gmcp(data) else {
            tracing::debug!("malformed GMCP ignored");
            return None;
        };
        let name = message.name.to_ascii_lowercase();
        let json = || serde_json::from_str::<serde_json::Value>(message.json);
        let supports = |change| (change, json());
        let (change, parsed) = match name.as_str() {
            "core.hello" => return self.hello(json()),
            "core.ping" => {
                self.subnegotiate(opt::GMCP, mud::gmcp_message("Core.Ping", ""));
                return None;
            }
            "core.supports.set" => supports(SupportsChange::Set),
            "core.supports.add" => supports(SupportsChange::Add),
            "core.supports.remove" => supports(SupportsChange::Remove),
            _ => {
                tracing::debug!(message = %message.name, "unknown GMCP ignored");
                return None;
            }
        };
        match parsed {
            Ok(serde_json::Value::Array(entries)) => {
                let entries: Vec<String> = entries
                    .iter()
                    .filter_map(|e| e.as_str().map(str::to_string))
                    .collect();
                self.protocol.change_supports(change, &entries);
            }
            _ => tracing::debug!(message = %message.name, "malformed GMCP ignored"),
        }
        None
    }

    /// `Core.Hello {"client": ..., "version": ...}`: the client's own name.
    fn hello(&mut self, json: serde_json::Result<serde_json::Value>) -> Option<Input> {
        let Ok(hello) = json else {
            tracing::debug!("malformed GMCP Core.Hello ignored");
            return None;
        };
        let client = hello.get("client").and_then(|c| c.as_str())?;
        let name = match hello.get("version").and_then(|v| v.as_str()) {
            Some(version) => format!("{client} {version}"),
            None => client.to_string(),
        };
        self.named_by_hello = true;
        self.name_client(&name)
    }

    /// Applies the rate limit: excess lines are dropped with `Slow down.`, said
    /// at most once a second.
    fn admit_line(&mut self, line: String) -> Option<String> {
        match self.limiter.take(Instant::now()) {
            Admit::Yes => Some(line),
            Admit::NoAndWarn => {
                self.outbox.line(replies::SLOW_DOWN);
                None
            }
            Admit::No => None,
        }
    }
}

/// The options a connection agrees to when the client asks for them (or
/// agrees to our offer). ECHO is switched on by us, for password prompts,
/// never on request.
fn policy(offers: Offers) -> Policy {
    let policy = Policy::new()
        .allow_local(opt::SGA)
        .allow_local(opt::EOR)
        .allow_local(opt::GMCP)
        .allow_local(opt::MSSP)
        .allow_remote(opt::TTYPE)
        .allow_remote(opt::NAWS)
        .allow_remote(opt::CHARSET);
    if offers.mccp {
        policy.allow_local(opt::MCCP2)
    } else {
        policy
    }
}

/// Waits for the connection's end: declared dead, or the server shutting down.
async fn ended(dead: CancellationToken, shutdown: CancellationToken) -> Hangup {
    tokio::select! {
        biased;
        _ = dead.cancelled() => Hangup::Dead,
        _ = shutdown.cancelled() => Hangup::Shutdown,
    }
}

/// The outcome of asking the rate limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admit {
    Yes,
    NoAndWarn,
    No,
}

/// A token bucket: `rate` tokens a second, holding at most `burst`.
struct RateLimiter {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
    last_warning: Option<Instant>,
}

impl RateLimiter {
    fn new(rate: u32, burst: u32) -> RateLimiter {
        let burst = f64::from(burst.max(1));
        RateLimiter {
            rate: f64::from(rate.max(1)),
            burst,
            tokens: burst,
            last: Instant::now(),
            last_warning: None,
        }
    }

    fn take(&mut self, now: Instant) -> Admit {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Admit::Yes;
        }
        let warned_recently = self
            .last_warning
            .is_some_and(|at| now.saturating_duration_since(at) < Duration::from_secs(1));
        if warned_recently {
            Admit::No
        } else {
            self.last_warning = Some(now);
            Admit::NoAndWarn
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_excess_is_dropped_with_one_warning() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(20, 40);
        limiter.last = start;
        for _ in 0..40 {
            assert_eq!(limiter.take(start), Admit::Yes);
        }
        assert_eq!(limiter.take(start), Admit::NoAndWarn);
        assert_eq!(limiter.take(start), Admit::No);
        // A tenth of a second refills two tokens at 20 a second.
        let later = start + Duration::from_millis(100);
        assert_eq!(limiter.take(later), Admit::Yes);
        assert_eq!(limiter.take(later), Admit::Yes);
        assert_eq!(limiter.take(later), Admit::No);
    }

    #[test]
    fn a_steady_twenty_a_second_is_never_limited() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(20, 40);
        limiter.last = start;
        for i in 0..1000 {
            let at = start + Duration::from_millis(50 * i);
            assert_eq!(limiter.take(at), Admit::Yes, "command {i}");
        }
    }
}
