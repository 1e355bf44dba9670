//! Option negotiation on one connection: the opening offers, the answers to
//! the client's WILL/WONT/DO/DONT (RFC 1143, through [`OptionTable`]: only a
//! change of state is answered, and every change is acted on), ECHO around
//! password prompts, and what each option's switch means here (EOR, GMCP,
//! MSSP, MCCP2, TTYPE, CHARSET, NAWS).
//!
//! Replies and the subnegotiations the session starts are gathered in
//! [`Replies`] and queued as one frame per read, so a client that sends a
//! thousand requests at once gets its thousand replies in one piece of the
//! outbound queue rather than a thousand. Every byte of them is encoded by the
//! telnet module ([`telnet::encode_command`]); this file names verbs and
//! options, never IAC bytes.

use bytes::{Bytes, BytesMut};

use super::{Conn, Input, Offers};
use crate::telnet::mud;
use crate::telnet::{self, OptionChange, Output, Policy, Verb, opt};

/// Gathered replies are queued once they reach this size, even mid-read.
const REPLIES_AT_MOST: usize = 4 * 1024;

/// Negotiation bytes gathered from one read, to be queued as one frame.
#[derive(Debug, Default)]
pub(super) struct Replies(BytesMut);

impl Replies {
    fn push(&mut self, output: Output) {
        telnet::encode_command(output, &mut self.0);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn is_full(&self) -> bool {
        self.0.len() >= REPLIES_AT_MOST
    }

    /// The gathered bytes, if any, leaving the buffer empty.
    fn take(&mut self) -> Option<Bytes> {
        (!self.0.is_empty()).then(|| self.0.split().freeze())
    }
}

/// The options a connection agrees to when the client asks for them (or
/// agrees to our offer). ECHO is switched on by us, for password prompts,
/// never on request.
pub(super) fn policy(offers: Offers) -> Policy {
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

impl Conn {
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

    /// Sends the MSSP table (the answer to [`Input::MsspWanted`]).
    pub fn send_mssp(&mut self, table: &[(&str, Vec<String>)]) {
        self.subnegotiate(opt::MSSP, mud::mssp(table));
        self.send_replies();
    }

    /// Gathers a negotiation to send with the others of this read.
    fn negotiate(&mut self, verb: Verb, option: u8) {
        self.replies.push(Output::Negotiate(verb, option));
        self.replies_filled();
    }

    /// Gathers a subnegotiation to send with the others of this read.
    pub(super) fn subnegotiate(&mut self, option: u8, data: Bytes) {
        self.replies.push(Output::Subnegotiate(option, data));
        self.replies_filled();
    }

    fn replies_filled(&mut self) {
        if self.replies.is_full() {
            self.send_replies();
        }
    }

    /// Queues the gathered replies as one frame.
    pub(super) fn send_replies(&mut self) {
        if let Some(frame) = self.replies.take() {
            self.outbox.wire(frame);
        }
    }

    /// Answers a WILL/WONT/DO/DONT (RFC 1143: only a change of state is
    /// answered) and acts on the change.
    pub(super) fn negotiation(&mut self, verb: Verb, option: u8) -> Option<Input> {
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
            OptionChange::RemoteDisabled(opt::NAWS) => self.window_closed(),
            _ => {}
        }
        None
    }
}
