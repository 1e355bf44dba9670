//! What the MUD options' subnegotiations tell about the client (SPEC §8): the
//! TTYPE/MTTS cycle (its name, colour, UTF-8, a screen reader, TLS), the
//! CHARSET answer or request (UTF-8, or ASCII out and Latin-1 in), and the
//! NAWS window size. What is learned goes into the connection's
//! [`ClientProfile`](crate::game::ClientProfile), which its writer reads.
//!
//! NAWS is coalesced: a window dragged about sends a size per step, and only
//! the last of those read together matters, so a size is kept as pending and
//! applied once, when the read is done. The TTYPE cycle asks at most
//! [`TTYPE_ASKS`] times in the connection's life, however often the client
//! switches TTYPE off and on.

use bytes::Bytes;

use std::time::{Duration, Instant};

use super::{Conn, Hangup, Input};
use crate::telnet::mud::{self, Charset, Mtts};
use crate::telnet::opt;

/// TTYPE SEND is asked at most this often (name, terminal, MTTS), in all.
const TTYPE_ASKS: u8 = 3;

/// Where a connection's TTYPE cycle stands: asked so often, last answer.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct TtypeCycle {
    asked: u8,
    last: Option<String>,
    done: bool,
}

/// The most lines and client news kept while the greeting waits for the
/// window's size (a paste can be no longer than the command burst anyway).
const EARLY_AT_MOST: usize = 64;

impl Conn {
    /// `TTYPE SEND`: "tell us your (next) terminal type", unless the cycle is
    /// over or has been asked as often as it ever will be.
    pub(super) fn ask_terminal_type(&mut self) {
        if self.ttype.done || self.ttype.asked >= TTYPE_ASKS {
            return;
        }
        self.ttype.asked += 1;
        self.subnegotiate(opt::TTYPE, Bytes::from_static(mud::TTYPE_SEND));
    }

    /// One answer of the TTYPE cycle (MTTS): the client's name first, then its
    /// terminal type, then `MTTS <bits>`. Asked again until an answer repeats,
    /// at most three times.
    pub(super) fn terminal_type(&mut self, data: &[u8]) -> Option<Input> {
        let answer = mud::ttype_is(data)?;
        if self.ttype.done {
            return None;
        }
        tracing::debug!(answer = %answer, "terminal type");
        let mtts = Mtts::parse(&answer);
        if let Some(bits) = mtts {
            self.apply_mtts(bits);
        } else if mud::terminal_does_colour(&answer) {
            self.profile.set_colour_capable(true);
        }
        let first = self.ttype.last.is_none();
        let repeated = self.ttype.last.as_deref() == Some(answer.as_str());
        if repeated || mtts.is_some() || self.ttype.asked >= TTYPE_ASKS {
            self.ttype.done = true;
        } else {
            self.ask_terminal_type();
        }
        // The first answer names the client, unless GMCP `Core.Hello` did.
        let named = if first && !self.named_by_hello {
            self.name_client(&answer)
        } else {
            None
        };
        self.ttype.last = Some(answer);
        named
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

    /// The client's answer to our UTF-8 request, or its own request.
    pub(super) fn charset(&mut self, data: &[u8]) {
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
        self.reader.get_mut().decoder_mut().set_latin1(ascii);
    }

    /// A NAWS size, kept until the read is done (see [`Conn::apply_window`]).
    pub(super) fn window_size(&mut self, data: &[u8]) {
        if let Some(size) = mud::naws(data) {
            self.window = Some(size);
        }
    }

    /// The client stopped sending sizes: its width is unknown again (a size
    /// read before in this read is dropped with it).
    pub(super) fn window_closed(&mut self) {
        self.window = None;
        self.profile.forget_size();
    }

    /// Applies the last window size of this read, if one came.
    /// Waits, at most `wait`, until the client has told its window's width
    /// or answered that it will not (NAWS refused), so that what is sent next
    /// is wrapped once, at the right width. Lines and news of the client that
    /// arrive meanwhile are kept, in order, for [`Conn::next`] (at most
    /// [`EARLY_AT_MOST`]; the command rate has already bounded them). A
    /// client that says nothing at all waits the whole time.
    pub async fn await_window(&mut self, wait: Duration) -> Result<(), Hangup> {
        if wait.is_zero() {
            return Ok(());
        }
        self.timer
            .as_mut()
            .reset(tokio::time::Instant::from_std(Instant::now() + wait));
        loop {
            // What the last read gathered (a window size) is applied first.
            self.settle();
            if self.window_settled() {
                return Ok(());
            }
            let input = match self.read().await {
                Ok(Some(input)) => input,
                Ok(None) => return Err(Hangup::Closed),
                Err(Hangup::Timeout) => return Ok(()),
                Err(Hangup::Frozen) => {
                    self.freeze_asked = true;
                    return Ok(());
                }
                Err(hangup) => return Err(hangup),
            };
            if let Some(input) = self.handle_input(input, true)?
                && self.early.len() < EARLY_AT_MOST
            {
                self.early.push_back(input);
            }
        }
    }

    /// Whether the window's width is known, or will not be told.
    fn window_settled(&self) -> bool {
        let naws_open =
            self.options.remote_pending(opt::NAWS) || self.options.remote_enabled(opt::NAWS);
        self.profile.width().is_some() || !naws_open
    }

    pub(super) fn apply_window(&mut self) {
        if let Some((width, height)) = self.window.take() {
            tracing::debug!(width, height, "client window size");
            self.profile.set_size(width, height);
        }
    }
}
