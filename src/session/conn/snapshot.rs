//! A connection's telnet-level state as plain values ([`TelnetState`]), so an
//! upgrade's new image takes the connection over exactly where it stood: the
//! options on both sides (RFC 1143 states), what was learned about the
//! client, the GMCP packages, the TTYPE cycle, the half-read input (the
//! codec's state and the bytes read but not yet decoded), the rate limiter
//! and the negotiation budget. Nothing here is renegotiated: a client does
//! not know an upgrade happened.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use tokio_util::codec::FramedRead;

use super::rate::{BudgetState, LimiterState, NegotiationBudget};
use super::{Conn, Input, Offers, READ_BUFFER, mud, negotiation};
use crate::game::ClientProfile;
use crate::game::client::ProfileState;
use crate::session::render::{Protocol, ProtocolState};
use crate::telnet::{OptionStates, OptionTable, TelnetCodec, opt};
use parking_lot::Mutex;

/// One connection's telnet-level state, as an upgrade carries it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TelnetState {
    options: OptionStates,
    profile: ProfileState,
    protocol: ProtocolState,
    ttype: mud::TtypeCycle,
    named_by_hello: bool,
    mtts_utf8: bool,
    codec: TelnetCodec,
    /// Bytes read from the socket but not yet decoded.
    unread: Vec<u8>,
    /// Lines typed while the greeting waited, not yet handed out.
    early: Vec<String>,
    limiter: LimiterState,
    budget: BudgetState,
    prompt: String,
}

impl TelnetState {
    /// Whether the connection compressed its output (MCCP2) when it froze.
    pub fn compressed(&self) -> bool {
        OptionTable::restored(Default::default(), self.options.clone()).local_enabled(opt::MCCP2)
    }
}

impl Conn {
    /// Where the connection stands, to carry across an upgrade. Taken while
    /// the connection is frozen at a wait for input, so nothing is half done.
    pub fn snapshot(&mut self) -> TelnetState {
        let now = Instant::now();
        let reader = self.reader.get_mut();
        let early = self
            .early
            .iter()
            .filter_map(|input| match input {
                Input::Line(line) => Some(line.clone()),
                _ => None,
            })
            .collect();
        TelnetState {
            options: self.options.snapshot(),
            profile: self.profile.snapshot(),
            protocol: self.protocol.snapshot(),
            ttype: self.ttype.clone(),
            named_by_hello: self.named_by_hello,
            mtts_utf8: self.mtts_utf8,
            codec: reader.decoder().clone(),
            unread: reader.read_buffer().to_vec(),
            early,
            limiter: self.limiter.snapshot(now),
            budget: self.budget.snapshot(now),
            prompt: self.prompt.to_string(),
        }
    }

    /// This new connection, standing where `state` (taken by the old image
    /// of an upgrade) says, under the operator's current limits and offers.
    pub fn taken_over(mut self, state: TelnetState, offers: Offers) -> Conn {
        let now = Instant::now();
        let reader = self.reader.into_inner().into_inner();
        let mut framed =
            FramedRead::with_capacity(reader, state.codec, READ_BUFFER.max(state.unread.len()));
        framed.read_buffer_mut().extend_from_slice(&state.unread);
        self.reader = Mutex::new(framed);
        let mut conn = self;
        conn.options = OptionTable::restored(negotiation::policy(offers), state.options);
        conn.profile = Arc::new(ClientProfile::restored(&state.profile));
        conn.protocol = Arc::new(Protocol::restored(&state.protocol));
        conn.ttype = state.ttype;
        conn.named_by_hello = state.named_by_hello;
        conn.mtts_utf8 = state.mtts_utf8;
        conn.early = state
            .early
            .into_iter()
            .map(Input::Line)
            .collect::<VecDeque<_>>();
        conn.limiter.restore(state.limiter, now);
        conn.budget = NegotiationBudget::restored(state.budget, now);
        conn.prompt = Arc::from(state.prompt);
        conn
    }
}
