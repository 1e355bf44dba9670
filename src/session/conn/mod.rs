//! One connection as the session sees it underneath: bytes in, turned into lines
//! by the telnet codec, with the telnet details, the caps, the rate limits, the
//! timeouts and the control orders handled here.
//!
//! [`Conn::next`] reads on until there is a line for the session, admits it
//! under the command rate, reports an over-long line and shows the prompt
//! again, obeys control orders (a takeover or a kick ends the connection
//! whatever it was waiting for), and turns every way a connection can end into
//! a [`Hangup`] value. It knows nothing of accounts or rows: what it learns
//! that the session records (the client's name) or must answer from the game
//! (an MSSP request) it reports as an [`Input`].
//!
//! Beside reading, one job a file: `negotiation` (the offers and answers of
//! option negotiation, gathered into one frame per read), `mud` (the TTYPE/MTTS,
//! CHARSET and NAWS subnegotiations), `gmcp` (GMCP from the client), and
//! `rate` (the command rate for typed lines and, apart from it, the budget of
//! negotiations and subnegotiations; a client over that budget is closed).
//!
//! **Invariant:** `Conn` touches no store and no registry entry; it reads bytes
//! and queues output on its own connection only.
//! **Invariant:** every negotiation read is acted on (RFC 1143 state stays
//! right) and charged to the negotiation budget, never to the command rate.

mod gmcp;
mod mud;
mod negotiation;
mod rate;
mod snapshot;

pub use snapshot::TelnetState;

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt};
use parking_lot::Mutex;
use tokio::io::AsyncRead;
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;

use super::render::Protocol;
use crate::game::{ClientProfile, ConnId, Control, Outbox, Peer, Removal, queue};
use crate::replies;
use crate::telnet::{self, OptionTable, TelnetCodec, opt};
use negotiation::Replies;
use rate::{Admit, NegotiationBudget, RateLimiter};

/// What a client over its negotiation budget is told before it is closed.
pub const NEGOTIATION_FLOOD: &str = "Too much telnet negotiation; goodbye.";

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
    Removed(Removal),
    /// The player asked to leave.
    Quit,
    /// Three wrong passwords on this connection; it has been told.
    WrongPasswords,
    /// The client went over its negotiation budget; it has been told.
    Flooded,
    /// An upgrade asked the connection to stand still (not an end: the
    /// session hands in its state and waits; see `session::handover`).
    Frozen,
}

impl Hangup {
    /// How the connection ended, as the log says it.
    pub fn as_str(self) -> &'static str {
        match self {
            Hangup::Closed => "the client closed the connection",
            Hangup::Overflow => "input overflow (8 KiB without a line break)",
            Hangup::Timeout => "timed out",
            Hangup::Shutdown => "the server shut down",
            Hangup::Dead => "the client stopped reading (its queue filled)",
            Hangup::TakenOver => "its character was taken over by another connection",
            Hangup::Removed(why) => why.as_str(),
            Hangup::Quit => "the player quit",
            Hangup::WrongPasswords => "too many wrong passwords",
            Hangup::Flooded => "too much telnet negotiation",
            Hangup::Frozen => "frozen for an upgrade",
        }
    }
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
    control_tx: queue::Sender<Control>,
    control_rx: queue::Receiver<Control>,
    /// The decoded input. Only ever used through `&mut self` (`Mutex::get_mut`
    /// takes no lock); the mutex is there so that `Conn` is `Sync` whatever
    /// stream it reads, and a session may hold `&Link` across an await.
    reader: Mutex<FramedRead<Reader, TelnetCodec>>,
    options: OptionTable,
    /// The command rate for typed lines.
    limiter: RateLimiter,
    /// The budget of negotiations and subnegotiations, apart from typed lines.
    budget: NegotiationBudget,
    /// The last prompt shown, shown again after an input error.
    prompt: Arc<str>,
    /// What the client is and can show, shared with the writer and the game.
    profile: Arc<ClientProfile>,
    /// EOR and GMCP state, shared with the writer.
    protocol: Arc<Protocol>,
    /// Negotiation replies and subnegotiations gathered from one read.
    replies: Replies,
    /// The last window size of this read, applied once the read is done.
    window: Option<(u16, u16)>,
    /// Where the TTYPE/MTTS cycle stands.
    ttype: mud::TtypeCycle,
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
    /// What the client sent while the greeting waited for its window size
    /// (a MUD client's auto-login line, say), handed out first by `next`.
    early: VecDeque<Input>,
    /// An upgrade asked to freeze while the greeting waited; the next wait
    /// for a line freezes.
    freeze_asked: bool,
}

/// Initial size of a connection's read buffer: typed lines are short, and
/// every idle connection holds one (a long paste grows it).
const READ_BUFFER: usize = 128;

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
        // Most lines are short: start small (the buffer grows up to the
        // codec's caps when needed), which matters at 10,000 connections.
        let framed = FramedRead::with_capacity(reader, TelnetCodec::new(), READ_BUFFER);
        Conn::build(id, peer, framed, outbox, shutdown, limits, offers)
    }

    fn build(
        id: ConnId,
        peer: Peer,
        framed: FramedRead<Reader, TelnetCodec>,
        outbox: Outbox,
        shutdown: CancellationToken,
        limits: ReadLimits,
        offers: Offers,
    ) -> Conn {
        let (control_tx, control_rx) = queue::bounded(8);
        let dead = outbox.dead().clone();
        Conn {
            id,
            peer,
            outbox,
            control_tx,
            control_rx,
            reader: Mutex::new(framed),
            options: OptionTable::new(negotiation::policy(offers)),
            limiter: RateLimiter::new(limits.per_second, limits.burst),
            budget: NegotiationBudget::new(),
            prompt: Arc::from(""),
            profile: Arc::default(),
            protocol: Arc::default(),
            replies: Replies::default(),
            window: None,
            ttype: mud::TtypeCycle::default(),
            named_by_hello: false,
            mccp: offers.mccp,
            mtts_utf8: false,
            ended: Box::pin(ended(dead, shutdown)),
            ended_with: None,
            timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
            early: VecDeque::new(),
            freeze_asked: false,
        }
    }

    pub fn id(&self) -> ConnId {
        self.id
    }

    pub fn peer(&self) -> Peer {
        self.peer
    }

    /// The connection's outbound queue (the registry keeps a clone).
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Where others send this connection orders (the registry keeps a clone).
    pub fn control_sender(&self) -> queue::Sender<Control> {
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

    /// Sends a line of text.
    pub fn line(&self, text: impl Into<Arc<str>>) {
        self.outbox.line(text);
    }

    /// Shows the last prompt again (after something said between prompts).
    pub fn show_prompt_again(&self) {
        self.outbox.prompt(self.prompt.clone());
    }

    /// Whether output is compressed (MCCP2 is on).
    pub fn compressing(&self) -> bool {
        self.options.local_enabled(opt::MCCP2)
    }

    /// Ends the zlib stream (an orderly end, which MCCP2 allows at any time);
    /// the option stays on, for [`Conn::restart_compression`].
    pub fn end_compression(&self) {
        if self.compressing() {
            self.outbox.compress(false);
        }
    }

    /// Starts a fresh zlib stream after [`Conn::end_compression`]: the
    /// marker, then everything compressed again.
    pub fn restart_compression(&mut self) {
        if self.compressing() {
            self.subnegotiate(opt::MCCP2, bytes::Bytes::new());
            self.send_replies();
            self.outbox.compress(true);
        }
    }

    /// Shows a prompt (remembered, to be shown again after an input error).
    pub fn prompt(&mut self, text: &str) {
        if self.prompt.as_ref() != text {
            self.prompt = Arc::from(text);
        }
        self.outbox.prompt(self.prompt.clone());
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
        self.next_charged(deadline, true).await
    }

    /// [`Conn::next`] for a line of text being written (an editor's line,
    /// SPEC §12): not charged to the command rate, whose caps are the
    /// text's own. Everything else is as for a command.
    pub async fn next_text(&mut self, deadline: Instant) -> Result<Input, Hangup> {
        self.next_charged(deadline, false).await
    }

    async fn next_charged(&mut self, deadline: Instant, charged: bool) -> Result<Input, Hangup> {
        if let Some(hangup) = self.ended_with {
            return Err(hangup);
        }
        if std::mem::take(&mut self.freeze_asked) {
            return Err(Hangup::Frozen);
        }
        if let Some(input) = self.early.pop_front() {
            return Ok(input);
        }
        self.timer
            .as_mut()
            .reset(tokio::time::Instant::from_std(deadline));
        loop {
            let Some(input) = self.read().await? else {
                self.settle();
                return Err(Hangup::Closed);
            };
            let handled = self.handle_input(input, charged);
            if !matches!(handled, Ok(None)) {
                // The read's work is done before anything the session says next.
                self.settle();
            }
            if let Some(input) = handled? {
                return Ok(input);
            }
        }
    }

    /// The next decoded input (`None` once the stream ended or failed), or
    /// the hangup that came first. While this read left work gathered
    /// (replies to send, a window size to apply), input that has already
    /// arrived is read on first, so a burst of requests gets its replies as
    /// one frame and a burst of window sizes is applied once; once nothing
    /// more is waiting, the work is done and the wait begins.
    async fn read(&mut self) -> Result<Option<telnet::Input>, Hangup> {
        if !self.settled()
            && let Some(input) = self.reader.get_mut().next().now_or_never()
        {
            return Ok(input.and_then(Result::ok));
        }
        self.settle();
        let reader = self.reader.get_mut();
        let input = tokio::select! {
            biased;
            hangup = &mut self.ended => {
                self.ended_with = Some(hangup);
                return Err(hangup);
            }
            Some(order) = self.control_rx.recv() => return Err(self.obey(order)),
            _ = &mut self.timer => return Err(Hangup::Timeout),
            input = reader.next() => input,
        };
        Ok(input.and_then(Result::ok))
    }

    /// Whether nothing gathered from the read is waiting to be done.
    fn settled(&self) -> bool {
        self.replies.is_empty() && self.window.is_none()
    }

    /// Does what the read gathered: the last window size, then the replies.
    fn settle(&mut self) {
        self.apply_window();
        self.send_replies();
    }

    /// Carries out a control order; every order ends the connection.
    fn obey(&mut self, order: Control) -> Hangup {
        let hangup = match order {
            // Not an end: the wait resumes once the upgrade is decided.
            Control::Freeze => return Hangup::Frozen,
            Control::TakenOver => {
                self.last_words(replies::TAKEN_OVER);
                Hangup::TakenOver
            }
            Control::Kick { why, message } => {
                self.last_words(&message);
                Hangup::Removed(why)
            }
        };
        self.ended_with = Some(hangup);
        hangup
    }

    /// Deals with one decoded input; what the session should see is returned.
    /// A line is charged to the command rate when `charged` says so.
    fn handle_input(
        &mut self,
        input: telnet::Input,
        charged: bool,
    ) -> Result<Option<Input>, Hangup> {
        if let Some(size) = input.negotiation_size() {
            self.charge_negotiation(size)?;
        }
        match input {
            telnet::Input::Line(line) if !charged => {
                self.outbox.input_seen();
                Ok(Some(Input::Line(line)))
            }
            telnet::Input::Line(line) => {
                self.outbox.input_seen();
                Ok(self.admit_line(line).map(Input::Line))
            }
            telnet::Input::LineTooLong => {
                self.settle();
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

    /// Charges one negotiation of `size` bytes to the budget; over it, the
    /// client is told and the connection ends.
    fn charge_negotiation(&mut self, size: usize) -> Result<(), Hangup> {
        let Err(over) = self.budget.charge(size, Instant::now()) else {
            return Ok(());
        };
        tracing::warn!(
            limit = %over.limit(),
            "closing the connection: telnet negotiation over its budget"
        );
        self.settle();
        self.last_words(NEGOTIATION_FLOOD);
        self.ended_with = Some(Hangup::Flooded);
        Err(Hangup::Flooded)
    }

    /// Hands a subnegotiation to the option it belongs to, if that option is on.
    fn subnegotiation(&mut self, option: u8, data: &[u8]) -> Option<Input> {
        match option {
            opt::TTYPE if self.options.remote_enabled(opt::TTYPE) => self.terminal_type(data),
            opt::NAWS if self.options.remote_enabled(opt::NAWS) => {
                self.window_size(data);
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

    /// Cleans the client's name and records it on the profile; the session is
    /// told only of a change, and stores it.
    fn name_client(&mut self, name: &str) -> Option<Input> {
        let name: String = crate::text::sanitize(name).chars().take(40).collect();
        if name.is_empty() || !self.profile.set_name(&name) {
            return None;
        }
        tracing::debug!(client = %name, "client named itself");
        Some(Input::ClientNamed(name))
    }

    /// Charges one more command to the command rate: one that an alias runs
    /// beyond the line typed (SPEC §12), which is dropped, as a typed line
    /// is, when the rate has none left. Whether it may run.
    pub fn admit_command(&mut self) -> bool {
        self.admit_line(String::new()).is_some()
    }

    /// Applies the command rate: excess lines are dropped with `Slow down.`,
    /// said at most once a second.
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

/// Waits for the connection's end: declared dead, or the server shutting down.
async fn ended(dead: CancellationToken, shutdown: CancellationToken) -> Hangup {
    tokio::select! {
        biased;
        _ = dead.cancelled() => Hangup::Dead,
        _ = shutdown.cancelled() => Hangup::Shutdown,
    }
}
