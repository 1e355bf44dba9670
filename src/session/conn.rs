//! One connection as the session sees it underneath: bytes in, turned into lines
//! by the telnet codec, with the telnet details, the caps, the rate limit, the
//! timeouts and the control orders handled here.
//!
//! [`Conn::next`] answers option negotiation itself, reports an over-long line and
//! shows the prompt again, applies the command rate limit, obeys control orders
//! (a takeover or a kick ends the connection whatever it was waiting for), and
//! turns every way a connection can end into a [`Hangup`] value. It knows nothing
//! of accounts or rows: what it learns that the session records (the client's
//! name) it reports as an [`Input`].
//!
//! **Invariant:** `Conn` touches no store and no registry entry; it reads bytes
//! and queues output on its own connection only.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::io::AsyncRead;
use tokio::sync::mpsc;
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;

use crate::game::{ConnId, Control, Outbox, Peer};
use crate::replies;
use crate::telnet::{self, OptionChange, OptionTable, Output, Policy, TelnetCodec, opt};

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
    /// The client named itself (telnet TTYPE), once per connection.
    ClientNamed(String),
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
    /// Whether the client has named itself yet.
    named: bool,
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

impl Conn {
    pub fn new(
        id: ConnId,
        peer: Peer,
        reader: Reader,
        outbox: Outbox,
        shutdown: CancellationToken,
        limits: ReadLimits,
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
            // Options we agree to when the client asks: suppress-go-ahead, and
            // the client telling us its name. ECHO is switched on by us, for
            // password prompts, never on request.
            options: OptionTable::new(Policy::new().allow_local(opt::SGA).allow_remote(opt::TTYPE)),
            limiter: RateLimiter::new(limits.per_second, limits.burst),
            prompt: Arc::from(""),
            named: false,
            ended: Box::pin(ended(dead, shutdown)),
            ended_with: None,
            timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
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
    pub fn control_sender(&self) -> mpsc::Sender<Control> {
        self.control_tx.clone()
    }

    /// Sends the opening option offers: we would like the client to tell us its
    /// name. Suppress-go-ahead is never offered (only accepted when the client
    /// asks): an unasked WILL SGA puts plain `telnet` into character mode, and
    /// its user then sees `^M` and `^?` instead of a line editor.
    pub fn offer_options(&mut self) {
        if let Some((verb, option)) = self.options.enable_remote(opt::TTYPE) {
            self.negotiate(verb, option);
        }
    }

    fn negotiate(&self, verb: telnet::Verb, option: u8) {
        self.outbox
            .wire(telnet::command_bytes(Output::Negotiate(verb, option)));
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
    }

    /// Lets the client echo again.
    pub fn show_typing(&mut self) {
        if let Some((verb, option)) = self.options.disable_local(opt::ECHO) {
            self.negotiate(verb, option);
        }
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
            let reader = self
                .reader
                .get_mut()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
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
            match input {
                None | Some(Err(_)) => return Err(Hangup::Closed),
                Some(Ok(input)) => {
                    if let Some(input) = self.handle_input(input)? {
                        return Ok(input);
                    }
                }
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
                self.outbox.input_seen();
                self.outbox.line(replies::LINE_TOO_LONG);
                self.outbox.prompt(self.prompt.clone());
                Ok(None)
            }
            telnet::Input::Overflow => {
                self.outbox.line(replies::INPUT_OVERFLOW);
                Err(Hangup::Overflow)
            }
            telnet::Input::Negotiation { verb, option } => {
                let negotiated = self.options.receive(verb, option);
                if let Some((verb, option)) = negotiated.reply {
                    self.negotiate(verb, option);
                }
                if negotiated.change == Some(OptionChange::RemoteEnabled(opt::TTYPE)) {
                    // TTYPE SEND: "tell us your terminal type".
                    let send = bytes::Bytes::from_static(&[1]);
                    self.outbox.wire(telnet::command_bytes(Output::Subnegotiate(
                        opt::TTYPE,
                        send,
                    )));
                }
                Ok(None)
            }
            telnet::Input::Subnegotiation { option, data } if option == opt::TTYPE => {
                Ok(self.client_name(&data).map(Input::ClientNamed))
            }
            telnet::Input::Subnegotiation { .. }
            | telnet::Input::SubnegotiationTooLong { .. }
            | telnet::Input::Command(_) => Ok(None),
        }
    }

    /// The first name a client gives in `TTYPE IS <name>` (later answers are
    /// terminal types and MTTS bits, which nothing here uses yet), cleaned.
    fn client_name(&mut self, data: &[u8]) -> Option<String> {
        let (&0, name) = data.split_first()? else {
            return None;
        };
        if self.named {
            return None;
        }
        let name: String = crate::text::sanitize(&String::from_utf8_lossy(name))
            .chars()
            .take(40)
            .collect();
        if name.is_empty() {
            return None;
        }
        tracing::debug!(client = %name, "client named itself");
        self.named = true;
        Some(name)
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
