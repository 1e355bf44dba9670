//! One connection as the session sees it: a stream of lines and control orders in,
//! text and prompts out, with the telnet details handled underneath.
//!
//! [`Conn::next_event`] answers option negotiation itself, reports an over-long
//! line and shows the prompt again, applies the command rate limit, and turns
//! every way a connection can end (hang-up, overflow, timeout, shutdown, a full
//! queue) into a [`Hangup`] value.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::mpsc;
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;

use crate::game::{ConnId, Control, Game, Outbox, Session};
use crate::store::sessions;
use crate::store::writer::SessionTouch;
use crate::telnet::{Input, OptionChange, OptionTable, Output, Policy, TelnetCodec, opt};

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
    /// The connection was ended from elsewhere (a full queue, a kick).
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
#[derive(Debug)]
pub enum Event {
    Line(String),
    Control(Control),
}

/// Text sent when a line is over the cap (SPEC §8).
pub const LINE_TOO_LONG: &str = "Line too long (max 1024 bytes).";
/// Text sent before disconnecting a client that sent 8 KiB without a newline.
pub const INPUT_OVERFLOW: &str = "Input overflow.";

/// The live connection a session drives.
pub struct Conn {
    pub id: ConnId,
    pub peer: SocketAddr,
    pub game: Arc<Game>,
    pub outbox: Outbox,
    pub control_tx: mpsc::Sender<Control>,
    control_rx: mpsc::Receiver<Control>,
    reader: FramedRead<OwnedReadHalf, TelnetCodec>,
    options: OptionTable,
    limiter: RateLimiter,
    /// The last prompt shown, shown again after an input error.
    prompt: Arc<str>,
    /// The logged-in session, once there is one.
    pub session: Option<Arc<Session>>,
    /// When the session row's expiry was last pushed forward.
    last_renewal: Instant,
    /// The client's name, once it said it (telnet TTYPE).
    pub client: Option<String>,
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

/// How often activity renews a session row (sliding expiry) at most.
const RENEWAL_INTERVAL: Duration = Duration::from_secs(30);

impl Conn {
    pub fn new(
        game: Arc<Game>,
        id: ConnId,
        peer: SocketAddr,
        read: OwnedReadHalf,
        outbox: Outbox,
    ) -> Conn {
        let (control_tx, control_rx) = mpsc::channel(8);
        let (dead, shutdown) = (outbox.dead().clone(), game.shutdown.clone());
        let limiter = RateLimiter::new(game.config.commands_per_second, game.config.command_burst);
        Conn {
            id,
            peer,
            game,
            outbox,
            control_tx,
            control_rx,
            // Most lines are short: start small (the buffer grows up to the
            // codec's caps when needed), which matters at 10,000 connections.
            reader: FramedRead::with_capacity(read, TelnetCodec::new(), READ_BUFFER),
            // Options we agree to when the client asks: suppress-go-ahead, and
            // the client telling us its name. ECHO is switched on by us, for
            // password prompts, never on request.
            options: OptionTable::new(Policy::new().allow_local(opt::SGA).allow_remote(opt::TTYPE)),
            limiter,
            prompt: Arc::from(""),
            session: None,
            last_renewal: Instant::now(),
            client: None,
            ended: Box::pin(ended(dead, shutdown)),
            ended_with: None,
            timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
        }
    }

    /// Sends the opening option offers: we will suppress go-ahead, and we would
    /// like the client to tell us its name.
    pub fn offer_options(&mut self) {
        let offers = [
            self.options.enable_local(opt::SGA),
            self.options.enable_remote(opt::TTYPE),
        ];
        for (verb, option) in offers.into_iter().flatten() {
            self.outbox.send(Output::Negotiate(verb, option));
        }
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
        self.outbox.send(Output::Prompt(self.prompt.clone()));
    }

    /// Shows a prompt and waits for the answer line.
    pub async fn ask(&mut self, prompt: &str, deadline: Instant) -> Result<String, Hangup> {
        self.prompt(prompt);
        loop {
            match self.next_event(deadline).await? {
                Event::Line(line) => return Ok(line),
                // Orders for players in the game mean nothing before it.
                Event::Control(_) => continue,
            }
        }
    }

    /// Asks for a password: the client is asked to stop echoing (IAC WILL ECHO)
    /// before the prompt and to resume (IAC WONT ECHO) after the answer.
    pub async fn ask_secret(&mut self, prompt: &str, deadline: Instant) -> Result<String, Hangup> {
        if let Some((verb, option)) = self.options.enable_local(opt::ECHO) {
            self.outbox.send(Output::Negotiate(verb, option));
        }
        let answer = self.ask(prompt, deadline).await;
        if let Some((verb, option)) = self.options.disable_local(opt::ECHO) {
            self.outbox.send(Output::Negotiate(verb, option));
        }
        // The client did not echo the newline either, so end the prompt's line.
        if answer.is_ok() {
            self.outbox.line("");
        }
        answer
    }

    /// Asks for a new password and its repetition, both hidden. `None` (after
    /// telling the player) when the two differ.
    pub async fn ask_new_password(
        &mut self,
        prompt: &str,
        deadline: Instant,
    ) -> Result<Option<String>, Hangup> {
        let first = self.ask_secret(prompt, deadline).await?;
        let repeat = self.ask_secret("Repeat password: ", deadline).await?;
        if first != repeat {
            self.line("The passwords do not match.");
            return Ok(None);
        }
        Ok(Some(first))
    }

    /// Waits for the next line or control order, until `deadline`.
    pub async fn next_event(&mut self, deadline: Instant) -> Result<Event, Hangup> {
        if let Some(hangup) = self.ended_with {
            return Err(hangup);
        }
        self.timer
            .as_mut()
            .reset(tokio::time::Instant::from_std(deadline));
        loop {
            let input = tokio::select! {
                biased;
                hangup = &mut self.ended => {
                    self.ended_with = Some(hangup);
                    return Err(hangup);
                }
                Some(order) = self.control_rx.recv() => match order {
                    Control::Kick { message } => {
                        self.last_words(&message);
                        return Err(Hangup::Kicked);
                    }
                    order => return Ok(Event::Control(order)),
                },
                _ = &mut self.timer => return Err(Hangup::Timeout),
                input = self.reader.next() => input,
            };
            match input {
                None | Some(Err(_)) => return Err(Hangup::Closed),
                Some(Ok(input)) => {
                    if let Some(line) = self.handle_input(input)? {
                        return Ok(Event::Line(line));
                    }
                }
            }
        }
    }

    /// Deals with one decoded input; a line that may be acted on is returned.
    fn handle_input(&mut self, input: Input) -> Result<Option<String>, Hangup> {
        match input {
            Input::Line(line) => {
                self.outbox.input_seen();
                self.note_activity();
                Ok(self.admit_line(line))
            }
            Input::LineTooLong => {
                self.outbox.input_seen();
                self.outbox.line(LINE_TOO_LONG);
                self.outbox.send(Output::Prompt(self.prompt.clone()));
                Ok(None)
            }
            Input::Overflow => {
                self.outbox.line(INPUT_OVERFLOW);
                Err(Hangup::Overflow)
            }
            Input::Negotiation { verb, option } => {
                let negotiated = self.options.receive(verb, option);
                if let Some((verb, option)) = negotiated.reply {
                    self.outbox.send(Output::Negotiate(verb, option));
                }
                if negotiated.change == Some(OptionChange::RemoteEnabled(opt::TTYPE)) {
                    // TTYPE SEND: "tell us your terminal type".
                    let send = bytes::Bytes::from_static(&[1]);
                    self.outbox.send(Output::Subnegotiate(opt::TTYPE, send));
                }
                Ok(None)
            }
            Input::Subnegotiation { option, data } if option == opt::TTYPE => {
                self.note_client(&data);
                Ok(None)
            }
            Input::Subnegotiation { .. }
            | Input::SubnegotiationTooLong { .. }
            | Input::Command(_) => Ok(None),
        }
    }

    /// Records the first name a client gives in `TTYPE IS <name>` (later answers
    /// are terminal types and MTTS bits, which nothing here uses yet).
    fn note_client(&mut self, data: &[u8]) {
        let Some((&0, name)) = data.split_first() else {
            return;
        };
        if self.client.is_some() {
            return;
        }
        let name: String = crate::text::sanitize(&String::from_utf8_lossy(name))
            .chars()
            .take(40)
            .collect();
        if name.is_empty() {
            return;
        }
        tracing::debug!(client = %name, "client named itself");
        self.client = Some(name.clone());
        if let Some(session) = &self.session {
            session.set_client(&name);
            let session_id = session.session_id.clone();
            let store = self.game.store.clone();
            // Best effort and off this task: the name is a courtesy for /sessions.
            tokio::spawn(async move {
                let _ = store
                    .call(move |db| sessions::set_client_type(db, &session_id, &name))
                    .await;
            });
        }
    }

    /// Marks the session active, and now and then slides its row's expiry.
    fn note_activity(&mut self) {
        let Some(session) = &self.session else {
            return;
        };
        session.touch();
        // Renew often enough that a short TTL still slides.
        let every = RENEWAL_INTERVAL.min(self.game.config.session_ttl / 4);
        if self.last_renewal.elapsed() >= every {
            self.last_renewal = Instant::now();
            let touch = SessionTouch::now(&session.session_id, self.game.config.session_ttl);
            // Renewal is best effort: a full writer queue only delays the slide.
            self.game.writer.try_touch_session(touch);
        }
    }

    /// Applies the rate limit: excess lines are dropped with `Slow down.`, said
    /// at most once a second.
    fn admit_line(&mut self, line: String) -> Option<String> {
        match self.limiter.take(Instant::now()) {
            Admit::Yes => Some(line),
            Admit::NoAndWarn => {
                self.outbox.line("Slow down.");
                None
            }
            Admit::No => None,
        }
    }

    /// Queues the connection's last words. The socket itself is closed by
    /// [`crate::session::serve`] once the session's records are cleaned up, so a
    /// client that sees the connection close can rely on that clean-up being done.
    pub fn last_words(&self, text: &str) {
        self.outbox.line(text);
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
