//! Telnet option negotiation by the "Q method" of RFC 1143. This file owns the
//! per-option state of both sides of one connection and decides which
//! WILL/WONT/DO/DONT to answer so that negotiation can never loop. It does not
//! read or write bytes (the codec does), and it does not know what any option
//! means or what the session does once an option changes: it only reports the
//! change.

use super::{DO, DONT, WILL, WONT};

/// The four option negotiation verbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Verb {
    Will,
    Wont,
    Do,
    Dont,
}

impl Verb {
    /// The command byte that follows IAC for this verb.
    pub fn byte(self) -> u8 {
        match self {
            Verb::Will => WILL,
            Verb::Wont => WONT,
            Verb::Do => DO,
            Verb::Dont => DONT,
        }
    }

    /// The verb for a command byte, or `None` if the byte is not a verb.
    pub fn from_byte(byte: u8) -> Option<Verb> {
        match byte {
            WILL => Some(Verb::Will),
            WONT => Some(Verb::Wont),
            DO => Some(Verb::Do),
            DONT => Some(Verb::Dont),
            _ => None,
        }
    }
}

/// Which options we agree to when the client asks for them unsolicited.
///
/// The policy matters only for requests the client starts; an option we ask
/// for ourselves is accepted when the client agrees, whatever the policy says.
#[derive(Debug, Clone)]
pub struct Policy {
    /// One bit per option: 256 bits a side, not 256 bytes, since every
    /// connection keeps its own.
    local: [u64; 4],
    remote: [u64; 4],
}

/// Whether `option`'s bit is set in `bits`.
fn bit(bits: &[u64; 4], option: u8) -> bool {
    bits[usize::from(option / 64)] & (1 << (option % 64)) != 0
}

/// Sets `option`'s bit in `bits`.
fn set_bit(bits: &mut [u64; 4], option: u8) {
    bits[usize::from(option / 64)] |= 1 << (option % 64);
}

impl Policy {
    /// A policy that refuses every unsolicited request.
    pub fn new() -> Self {
        Policy {
            local: [0; 4],
            remote: [0; 4],
        }
    }

    /// We will start performing `opt` when the client sends DO `opt`.
    pub fn allow_local(mut self, opt: u8) -> Self {
        set_bit(&mut self.local, opt);
        self
    }

    /// We will let the client perform `opt` when it sends WILL `opt`.
    pub fn allow_remote(mut self, opt: u8) -> Self {
        set_bit(&mut self.remote, opt);
        self
    }

    /// Whether an unsolicited DO `opt` is accepted.
    pub fn allows_local(&self, opt: u8) -> bool {
        bit(&self.local, opt)
    }

    /// Whether an unsolicited WILL `opt` is accepted.
    pub fn allows_remote(&self, opt: u8) -> bool {
        bit(&self.remote, opt)
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::new()
    }
}

/// An option that became enabled or disabled because of a client message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OptionChange {
    /// We now perform the option (the server side is on).
    LocalEnabled(u8),
    /// We no longer perform the option.
    LocalDisabled(u8),
    /// The client now performs the option.
    RemoteEnabled(u8),
    /// The client no longer performs the option.
    RemoteDisabled(u8),
}

/// What to do after a negotiation from the client: an optional reply to send
/// and an optional change of an option's enabled state to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Negotiated {
    pub reply: Option<(Verb, u8)>,
    pub change: Option<OptionChange>,
}

/// The queue bit of RFC 1143: whether the opposite request is waiting until
/// the one in flight is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Queue {
    Empty,
    Opposite,
}

/// The state of one side of one option, as RFC 1143 names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
enum QState {
    #[default]
    No,
    Yes,
    WantNo(Queue),
    WantYes(Queue),
}

/// What one side's state machine wants sent: the enabling verb of that side
/// (DO or WILL) or the disabling one (DONT or WONT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Send {
    Enable,
    Disable,
}

impl QState {
    /// The peer asked for, or agreed to, the option being on (WILL or DO).
    fn on_enable(&mut self, agree: bool) -> Option<Send> {
        match *self {
            QState::No if agree => {
                *self = QState::Yes;
                Some(Send::Enable)
            }
            QState::No => Some(Send::Disable),
            QState::Yes => None,
            // A compliant peer never answers our disable with an enable; the
            // RFC settles the state without sending anything more, so that a
            // confused peer cannot drag us into a loop.
            QState::WantNo(Queue::Empty) => {
                *self = QState::No;
                None
            }
            QState::WantNo(Queue::Opposite) => {
                *self = QState::Yes;
                None
            }
            QState::WantYes(Queue::Empty) => {
                *self = QState::Yes;
                None
            }
            QState::WantYes(Queue::Opposite) => {
                *self = QState::WantNo(Queue::Empty);
                Some(Send::Disable)
            }
        }
    }

    /// The peer refused, or asked for, the option being off (WONT or DONT).
    fn on_disable(&mut self) -> Option<Send> {
        match *self {
            QState::No => None,
            QState::Yes => {
                *self = QState::No;
                Some(Send::Disable)
            }
            QState::WantNo(Queue::Empty) => {
                *self = QState::No;
                None
            }
            QState::WantNo(Queue::Opposite) => {
                *self = QState::WantYes(Queue::Empty);
                Some(Send::Enable)
            }
            QState::WantYes(_) => {
                *self = QState::No;
                None
            }
        }
    }

    /// We want the option on. Requests that are already in flight or queued
    /// are not repeated, which is what keeps a double request to one message.
    fn ask_enable(&mut self) -> Option<Send> {
        match *self {
            QState::No => {
                *self = QState::WantYes(Queue::Empty);
                Some(Send::Enable)
            }
            QState::WantNo(Queue::Empty) => {
                *self = QState::WantNo(Queue::Opposite);
                None
            }
            QState::WantYes(Queue::Opposite) => {
                *self = QState::WantYes(Queue::Empty);
                None
            }
            QState::Yes | QState::WantNo(Queue::Opposite) | QState::WantYes(Queue::Empty) => None,
        }
    }

    /// We want the option off; the mirror image of [`QState::ask_enable`].
    fn ask_disable(&mut self) -> Option<Send> {
        match *self {
            QState::Yes => {
                *self = QState::WantNo(Queue::Empty);
                Some(Send::Disable)
            }
            QState::WantYes(Queue::Empty) => {
                *self = QState::WantYes(Queue::Opposite);
                None
            }
            QState::WantNo(Queue::Opposite) => {
                *self = QState::WantNo(Queue::Empty);
                None
            }
            QState::No | QState::WantYes(Queue::Opposite) | QState::WantNo(Queue::Empty) => None,
        }
    }

    /// RFC 1143: an option is enabled if and only if its state is YES.
    fn enabled(self) -> bool {
        self == QState::Yes
    }
}

/// The two sides of an option: "us" is the option performed by the server
/// (we send WILL/WONT, the client DO/DONT), "him" the option performed by the
/// client (we send DO/DONT, the client WILL/WONT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Us,
    Him,
}

impl Side {
    /// The verb we send for what a side's state machine asked for.
    fn verb(self, send: Send) -> Verb {
        match (self, send) {
            (Side::Us, Send::Enable) => Verb::Will,
            (Side::Us, Send::Disable) => Verb::Wont,
            (Side::Him, Send::Enable) => Verb::Do,
            (Side::Him, Send::Disable) => Verb::Dont,
        }
    }

    /// The change to report when this side's enabled state flips.
    fn change(self, option: u8, enabled: bool) -> OptionChange {
        match (self, enabled) {
            (Side::Us, true) => OptionChange::LocalEnabled(option),
            (Side::Us, false) => OptionChange::LocalDisabled(option),
            (Side::Him, true) => OptionChange::RemoteEnabled(option),
            (Side::Him, false) => OptionChange::RemoteDisabled(option),
        }
    }
}

/// The negotiation state of every option on both sides of one connection.
#[derive(Debug, Clone)]
pub struct OptionTable {
    policy: Policy,
    /// The options whose state on either side is not plain "no": a handful on
    /// any real connection, so a short list beats two tables of 256 entries
    /// each (every connection keeps one). An option only gets an entry when a
    /// side leaves "no", and only options we ask for or allow can.
    states: Vec<OptionState>,
}

/// Both sides of one option.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct OptionState {
    option: u8,
    us: QState,
    him: QState,
}

/// The state of every option of one connection, as a new server image
/// takes it over (an upgrade): the client never hears it renegotiated.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct OptionStates(Vec<OptionState>);

impl OptionTable {
    /// What both sides of every option stand at, to carry across an upgrade.
    pub fn snapshot(&self) -> OptionStates {
        OptionStates(self.states.clone())
    }

    /// A table standing where `states` left it, under `policy`.
    pub fn restored(policy: Policy, states: OptionStates) -> Self {
        OptionTable {
            policy,
            states: states.0,
        }
    }

    /// A table with every option off on both sides, as a connection starts.
    pub fn new(policy: Policy) -> Self {
        OptionTable {
            policy,
            states: Vec::new(),
        }
    }

    /// Applies a WILL/WONT/DO/DONT received from the client. The reply, if
    /// any, must be sent; the change, if any, is for the session to act on.
    pub fn receive(&mut self, verb: Verb, option: u8) -> Negotiated {
        // A request that is refused and changes nothing keeps no entry: a
        // client naming every option cannot grow the list.
        let (side, agree) = match verb {
            Verb::Will | Verb::Wont => (Side::Him, self.policy.allows_remote(option)),
            Verb::Do | Verb::Dont => (Side::Us, self.policy.allows_local(option)),
        };
        let state = self.state_mut(side, option);
        let was_enabled = state.enabled();
        let send = match verb {
            Verb::Will | Verb::Do => state.on_enable(agree),
            Verb::Wont | Verb::Dont => state.on_disable(),
        };
        let now_enabled = state.enabled();
        self.forget_if_idle(option);
        Negotiated {
            reply: send.map(|send| (side.verb(send), option)),
            change: (was_enabled != now_enabled).then(|| side.change(option, now_enabled)),
        }
    }

    /// Drops an option's entry once both sides are back at plain "no".
    fn forget_if_idle(&mut self, option: u8) {
        self.states
            .retain(|s| s.option != option || s.us != QState::No || s.him != QState::No);
    }

    /// We want to start performing `option`: returns the WILL to send, or
    /// `None` when it is already on or already being asked for.
    pub fn enable_local(&mut self, option: u8) -> Option<(Verb, u8)> {
        self.request(Side::Us, option, QState::ask_enable)
    }

    /// We want to stop performing `option`: returns the WONT to send, if any.
    pub fn disable_local(&mut self, option: u8) -> Option<(Verb, u8)> {
        self.request(Side::Us, option, QState::ask_disable)
    }

    /// We want the client to perform `option`: returns the DO to send, if any.
    pub fn enable_remote(&mut self, option: u8) -> Option<(Verb, u8)> {
        self.request(Side::Him, option, QState::ask_enable)
    }

    /// We want the client to stop performing `option`: returns the DONT to
    /// send, if any.
    pub fn disable_remote(&mut self, option: u8) -> Option<(Verb, u8)> {
        self.request(Side::Him, option, QState::ask_disable)
    }

    /// Whether both sides agree that we perform `option`.
    pub fn local_enabled(&self, option: u8) -> bool {
        self.state(option).is_some_and(|s| s.us.enabled())
    }

    /// Whether both sides agree that the client performs `option`.
    pub fn remote_enabled(&self, option: u8) -> bool {
        self.state(option).is_some_and(|s| s.him.enabled())
    }

    /// Whether we asked the client about `option` and its answer has not come.
    pub fn remote_pending(&self, option: u8) -> bool {
        self.state(option)
            .is_some_and(|s| matches!(s.him, QState::WantYes(_) | QState::WantNo(_)))
    }

    fn state(&self, option: u8) -> Option<&OptionState> {
        self.states.iter().find(|s| s.option == option)
    }

    /// Our side's state of `option` (tests look at the machine itself).
    #[cfg(test)]
    fn us(&self, option: u8) -> QState {
        self.state(option).map_or(QState::No, |s| s.us)
    }

    /// The client's side's state of `option`.
    #[cfg(test)]
    fn him(&self, option: u8) -> QState {
        self.state(option).map_or(QState::No, |s| s.him)
    }

    /// The policy this table answers unsolicited requests with.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    fn request(
        &mut self,
        side: Side,
        option: u8,
        ask: fn(&mut QState) -> Option<Send>,
    ) -> Option<(Verb, u8)> {
        let sent = ask(self.state_mut(side, option)).map(|send| (side.verb(send), option));
        self.forget_if_idle(option);
        sent
    }

    fn state_mut(&mut self, side: Side, option: u8) -> &mut QState {
        let at = match self.states.iter().position(|s| s.option == option) {
            Some(at) => at,
            None => {
                self.states.push(OptionState {
                    option,
                    us: QState::No,
                    him: QState::No,
                });
                self.states.len() - 1
            }
        };
        let state = &mut self.states[at];
        match side {
            Side::Us => &mut state.us,
            Side::Him => &mut state.him,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::opt::{ECHO, NAWS, SGA, TTYPE};
    use super::*;
    use crate::test_rng::Rng;

    fn neg(reply: Option<(Verb, u8)>, change: Option<OptionChange>) -> Negotiated {
        Negotiated { reply, change }
    }

    #[test]
    fn refused_requests_for_every_option_keep_no_state() {
        let mut table = OptionTable::new(Policy::new().allow_remote(NAWS));
        for option in 0..=255u8 {
            table.receive(Verb::Will, option);
            table.receive(Verb::Do, option);
        }
        assert_eq!(table.states.len(), 1, "only the allowed option is on");
        assert!(table.remote_enabled(NAWS));
        table.receive(Verb::Wont, NAWS);
        assert!(table.states.is_empty());
    }

    #[test]
    fn verb_bytes_round_trip() {
        for verb in [Verb::Will, Verb::Wont, Verb::Do, Verb::Dont] {
            assert_eq!(Verb::from_byte(verb.byte()), Some(verb));
        }
        assert_eq!(Verb::Will.byte(), 251);
        assert_eq!(Verb::Dont.byte(), 254);
        assert_eq!(Verb::from_byte(250), None);
        assert_eq!(Verb::from_byte(b'a'), None);
    }

    #[test]
    fn echo_requested_by_us_despite_policy() {
        let mut table = OptionTable::new(Policy::new().allow_local(SGA));
        // Unsolicited, ECHO is refused because the policy does not list it.
        assert_eq!(
            table.receive(Verb::Do, ECHO),
            neg(Some((Verb::Wont, ECHO)), None)
        );
        assert!(!table.local_enabled(ECHO));

        // Asked for by us, it is accepted once the client agrees.
        assert_eq!(table.enable_local(ECHO), Some((Verb::Will, ECHO)));
        assert_eq!(
            table.enable_local(ECHO),
            None,
            "second enable sends nothing"
        );
        assert!(!table.local_enabled(ECHO), "not on until the client agrees");
        let got = table.receive(Verb::Do, ECHO);
        assert_eq!(got, neg(None, Some(OptionChange::LocalEnabled(ECHO))));
        assert!(table.local_enabled(ECHO));

        // Turning it off: WONT goes out, the DONT that follows is the ack.
        assert_eq!(table.disable_local(ECHO), Some((Verb::Wont, ECHO)));
        assert!(!table.local_enabled(ECHO));
        assert_eq!(table.receive(Verb::Dont, ECHO), neg(None, None));
        assert!(!table.local_enabled(ECHO));
        assert_eq!(table.disable_local(ECHO), None);
    }

    #[test]
    fn refused_request_leaves_option_off() {
        let mut table = OptionTable::new(Policy::new());
        assert_eq!(table.enable_local(ECHO), Some((Verb::Will, ECHO)));
        assert_eq!(table.receive(Verb::Dont, ECHO), neg(None, None));
        assert!(!table.local_enabled(ECHO));
        assert_eq!(table.disable_local(ECHO), None, "already off: nothing sent");
        // The option can be asked for again later.
        assert_eq!(table.enable_local(ECHO), Some((Verb::Will, ECHO)));
    }

    #[test]
    fn unsolicited_requests_outside_policy_are_refused() {
        let mut table = OptionTable::new(Policy::new());
        assert_eq!(
            table.receive(Verb::Will, TTYPE),
            neg(Some((Verb::Dont, TTYPE)), None)
        );
        assert_eq!(
            table.receive(Verb::Do, TTYPE),
            neg(Some((Verb::Wont, TTYPE)), None)
        );
        // A refusal of something that is already off changes nothing.
        assert_eq!(table.receive(Verb::Wont, TTYPE), neg(None, None));
        assert_eq!(table.receive(Verb::Dont, TTYPE), neg(None, None));
        assert!(!table.remote_enabled(TTYPE));
        assert!(!table.local_enabled(TTYPE));
    }

    #[test]
    fn allowed_remote_option_is_accepted_once() {
        let mut table = OptionTable::new(Policy::new().allow_remote(NAWS));
        let got = table.receive(Verb::Will, NAWS);
        assert_eq!(
            got,
            neg(
                Some((Verb::Do, NAWS)),
                Some(OptionChange::RemoteEnabled(NAWS))
            )
        );
        assert!(table.remote_enabled(NAWS));
        // A repeated WILL for an enabled option gets no reply at all.
        assert_eq!(table.receive(Verb::Will, NAWS), neg(None, None));
        // The client may switch it off; we acknowledge with DONT.
        let got = table.receive(Verb::Wont, NAWS);
        assert_eq!(
            got,
            neg(
                Some((Verb::Dont, NAWS)),
                Some(OptionChange::RemoteDisabled(NAWS))
            )
        );
        assert_eq!(table.receive(Verb::Wont, NAWS), neg(None, None));
        // The policy is per side: DO NAWS (us performing it) is refused.
        assert_eq!(
            table.receive(Verb::Do, NAWS),
            neg(Some((Verb::Wont, NAWS)), None)
        );
    }

    #[test]
    fn allowed_local_option_and_client_disable() {
        let mut table = OptionTable::new(Policy::new().allow_local(SGA));
        let got = table.receive(Verb::Do, SGA);
        assert_eq!(
            got,
            neg(
                Some((Verb::Will, SGA)),
                Some(OptionChange::LocalEnabled(SGA))
            )
        );
        assert_eq!(table.enable_local(SGA), None, "already on");
        let got = table.receive(Verb::Dont, SGA);
        assert_eq!(
            got,
            neg(
                Some((Verb::Wont, SGA)),
                Some(OptionChange::LocalDisabled(SGA))
            )
        );
    }

    #[test]
    fn disable_while_want_yes_is_queued() {
        let mut table = OptionTable::new(Policy::new());
        assert_eq!(table.enable_remote(NAWS), Some((Verb::Do, NAWS)));
        assert_eq!(table.him(NAWS), QState::WantYes(Queue::Empty));
        // The DO is in flight, so the disable waits in the queue bit.
        assert_eq!(table.disable_remote(NAWS), None);
        assert_eq!(table.him(NAWS), QState::WantYes(Queue::Opposite));
        assert_eq!(table.disable_remote(NAWS), None, "already queued");
        // The client agrees; we immediately ask it to stop again.
        assert_eq!(
            table.receive(Verb::Will, NAWS),
            neg(Some((Verb::Dont, NAWS)), None)
        );
        assert!(!table.remote_enabled(NAWS));
        assert_eq!(table.him(NAWS), QState::WantNo(Queue::Empty));
        // Its WONT acknowledges that, and nothing more is sent.
        assert_eq!(table.receive(Verb::Wont, NAWS), neg(None, None));
        assert_eq!(table.him(NAWS), QState::No);
    }

    #[test]
    fn queued_disable_can_be_cancelled() {
        let mut table = OptionTable::new(Policy::new());
        assert_eq!(table.enable_remote(NAWS), Some((Verb::Do, NAWS)));
        assert_eq!(table.disable_remote(NAWS), None);
        assert_eq!(
            table.enable_remote(NAWS),
            None,
            "cancels the queued disable"
        );
        let got = table.receive(Verb::Will, NAWS);
        assert_eq!(got, neg(None, Some(OptionChange::RemoteEnabled(NAWS))));
    }

    #[test]
    fn enable_while_want_no_is_sent_after_the_ack() {
        let mut table = OptionTable::new(Policy::new().allow_remote(NAWS));
        table.receive(Verb::Will, NAWS);
        assert_eq!(table.disable_remote(NAWS), Some((Verb::Dont, NAWS)));
        assert_eq!(table.enable_remote(NAWS), None);
        assert_eq!(table.him(NAWS), QState::WantNo(Queue::Opposite));
        // The WONT acknowledges the disable; the queued DO goes out now.
        assert_eq!(
            table.receive(Verb::Wont, NAWS),
            neg(Some((Verb::Do, NAWS)), None)
        );
        let got = table.receive(Verb::Will, NAWS);
        assert_eq!(got, neg(None, Some(OptionChange::RemoteEnabled(NAWS))));
    }

    #[test]
    fn noncompliant_enable_answer_to_disable_settles_quietly() {
        let mut table = OptionTable::new(Policy::new().allow_local(SGA));
        table.receive(Verb::Do, SGA);
        assert_eq!(table.disable_local(SGA), Some((Verb::Wont, SGA)));
        // DO in answer to WONT breaks the rules; the RFC settles on "off".
        assert_eq!(table.receive(Verb::Do, SGA), neg(None, None));
        assert!(!table.local_enabled(SGA));
        // With an enable queued, the same mistake settles on "on".
        table.receive(Verb::Do, SGA);
        table.disable_local(SGA);
        table.enable_local(SGA);
        let got = table.receive(Verb::Do, SGA);
        assert_eq!(got, neg(None, Some(OptionChange::LocalEnabled(SGA))));
    }

    const SIM_OPTIONS: [u8; 3] = [ECHO, SGA, NAWS];

    fn random_policy(rng: &mut Rng) -> Policy {
        let mut policy = Policy::new();
        for option in SIM_OPTIONS {
            if rng.below(2) == 0 {
                policy = policy.allow_local(option);
            }
            if rng.below(2) == 0 {
                policy = policy.allow_remote(option);
            }
        }
        policy
    }

    /// Makes one side ask for a random change of a random option.
    fn random_request(rng: &mut Rng, table: &mut OptionTable) -> Option<(Verb, u8)> {
        let option = SIM_OPTIONS[rng.below(SIM_OPTIONS.len())];
        match rng.below(4) {
            0 => table.enable_local(option),
            1 => table.disable_local(option),
            2 => table.enable_remote(option),
            _ => table.disable_remote(option),
        }
    }

    /// Two tables joined by two in-order queues, as over one TCP connection.
    struct Link {
        ends: [OptionTable; 2],
        /// `queues[i]` holds the messages on their way to `ends[i]`.
        queues: [std::collections::VecDeque<(Verb, u8)>; 2],
        sent: usize,
    }

    impl Link {
        fn send(&mut self, to: usize, message: Option<(Verb, u8)>) {
            if let Some(message) = message {
                self.queues[to].push_back(message);
                self.sent += 1;
            }
        }

        fn deliver(&mut self, to: usize) {
            if let Some((verb, option)) = self.queues[to].pop_front() {
                let reply = self.ends[to].receive(verb, option).reply;
                self.send(1 - to, reply);
            }
        }

        fn idle(&self) -> bool {
            self.queues.iter().all(|queue| queue.is_empty())
        }
    }

    fn assert_agreement(link: &Link, seed: u64) {
        let [server, client] = &link.ends;
        for option in SIM_OPTIONS {
            assert_eq!(
                server.local_enabled(option),
                client.remote_enabled(option),
                "seed {seed}: server side of option {option} disagrees"
            );
            assert_eq!(
                server.remote_enabled(option),
                client.local_enabled(option),
                "seed {seed}: client side of option {option} disagrees"
            );
            for table in &link.ends {
                for state in [table.us(option), table.him(option)] {
                    assert!(
                        matches!(state, QState::Yes | QState::No),
                        "seed {seed}: option {option} left mid-negotiation: {state:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn two_tables_never_loop_and_always_agree() {
        for seed in 1..=2000u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let ends = [
                OptionTable::new(random_policy(&mut rng)),
                OptionTable::new(random_policy(&mut rng)),
            ];
            let mut link = Link {
                ends,
                queues: Default::default(),
                sent: 0,
            };
            let mut requests = 0;
            for _ in 0..40 {
                let side = rng.below(2);
                if rng.below(3) == 0 {
                    requests += 1;
                    let message = random_request(&mut rng, &mut link.ends[side]);
                    link.send(1 - side, message);
                } else {
                    link.deliver(side);
                }
            }
            // Let the conversation run out, delivering in a random order
            // between the two directions. Every request starts at most one
            // exchange, and Q method exchanges are at most a request, a reply
            // and one queued follow-up with its reply, so this bound holds.
            let mut steps = 0;
            while !link.idle() {
                steps += 1;
                assert!(steps <= 10_000, "seed {seed}: negotiation does not end");
                link.deliver(rng.below(2));
            }
            assert!(
                link.sent <= 2 * requests,
                "seed {seed}: {} messages for {requests} requests",
                link.sent
            );
            assert_agreement(&link, seed);
        }
    }

    #[test]
    fn replies_only_on_state_change_or_refusal() {
        // A hostile client sends verbs at random. Whatever it does, the
        // server answers only when the option's state moved, or to refuse an
        // unsolicited request while the option is off; that is what keeps
        // two such machines from echoing each other forever.
        let mut rng = Rng(0xDEAD_BEEF);
        let mut table = OptionTable::new(random_policy(&mut rng));
        let verbs = [Verb::Will, Verb::Wont, Verb::Do, Verb::Dont];
        for step in 0..20_000 {
            let option = SIM_OPTIONS[rng.below(SIM_OPTIONS.len())];
            if rng.below(4) == 0 {
                random_request(&mut rng, &mut table);
                continue;
            }
            let verb = verbs[rng.below(4)];
            let before = (table.us(option), table.him(option));
            let got = table.receive(verb, option);
            let after = (table.us(option), table.him(option));
            let refusal = matches!(got.reply, Some((Verb::Dont | Verb::Wont, _)))
                && matches!(verb, Verb::Will | Verb::Do)
                && after == before;
            assert!(
                got.reply.is_none() || before != after || refusal,
                "step {step}: {verb:?} {option} in {before:?} answered {got:?}"
            );
            if let Some((_, replied)) = got.reply {
                assert_eq!(replied, option);
            }
        }
    }

    #[test]
    fn unsolicited_requests_between_tables_terminate() {
        // A client that asks for everything and a server that allows only
        // part of it: every exchange must end after one reply.
        let server_policy = Policy::new().allow_local(SGA).allow_remote(NAWS);
        let client_policy = SIM_OPTIONS
            .iter()
            .fold(Policy::new(), |p, &o| p.allow_local(o).allow_remote(o));
        let mut link = Link {
            ends: [
                OptionTable::new(server_policy),
                OptionTable::new(client_policy),
            ],
            queues: Default::default(),
            sent: 0,
        };
        for option in SIM_OPTIONS {
            let will = link.ends[1].enable_local(option);
            link.send(0, will);
            let ask = link.ends[1].enable_remote(option);
            link.send(0, ask);
        }
        while !link.idle() {
            link.deliver(0);
            link.deliver(1);
        }
        assert_eq!(link.sent, 12, "six requests, six replies");
        assert_agreement(&link, 0);
        assert!(link.ends[0].local_enabled(SGA));
        assert!(link.ends[0].remote_enabled(NAWS));
        assert!(!link.ends[0].local_enabled(ECHO));
        assert!(!link.ends[0].remote_enabled(SGA));
    }
}
