//! The telnet layer: it turns the raw bytes of a client connection into
//! [`Input`] events (lines, option negotiations, subnegotiations, commands)
//! and turns [`Output`] items back into correctly escaped bytes, and it keeps
//! the per-option negotiation state of RFC 1143 in an [`OptionTable`]. It owns
//! the wire format and nothing else: the telnet module knows nothing about
//! accounts, sessions or the game, never decides what an option is used for,
//! and never cleans up the text it passes on (that is the caller's job).

pub mod codec;
pub mod mccp;
pub mod mud;
pub mod options;

pub use codec::{Input, Output, PromptMark, TelnetCodec};
pub use options::{Negotiated, OptionChange, OptionStates, OptionTable, Policy, Verb};

/// "Interpret as command": introduces every telnet command; doubled in data.
pub const IAC: u8 = 255;
/// Demands that the peer stop performing an option (or refuses a WILL).
pub const DONT: u8 = 254;
/// Asks the peer to perform an option (or accepts a WILL).
pub const DO: u8 = 253;
/// Refuses to perform an option, or announces that we stop.
pub const WONT: u8 = 252;
/// Offers to perform an option (or accepts a DO).
pub const WILL: u8 = 251;
/// Starts a subnegotiation: `IAC SB option ... IAC SE`.
pub const SB: u8 = 250;
/// Go ahead: marks the end of a prompt for clients that want it.
pub const GA: u8 = 249;
/// Erase line: the client asks to discard the line typed so far.
pub const EL: u8 = 248;
/// Erase character: the client asks to discard the last character typed.
pub const EC: u8 = 247;
/// Are you there: the client asks for a sign of life.
pub const AYT: u8 = 246;
/// Abort output.
pub const AO: u8 = 245;
/// Interrupt process.
pub const IP: u8 = 244;
/// Break.
pub const BRK: u8 = 243;
/// Data mark, the end of a telnet "synch".
pub const DM: u8 = 242;
/// No operation; clients use it as a keep-alive.
pub const NOP: u8 = 241;
/// Ends a subnegotiation.
pub const SE: u8 = 240;
/// End of record: the prompt marker used once the EOR option is agreed.
pub const EOR_CMD: u8 = 239;

/// Option codes that a MUD server commonly negotiates.
pub mod opt {
    /// Echo (RFC 857): the server echoing hides the password as it is typed.
    pub const ECHO: u8 = 1;
    /// Suppress go-ahead (RFC 858).
    pub const SGA: u8 = 3;
    /// Terminal type (RFC 1091).
    pub const TTYPE: u8 = 24;
    /// End of record (RFC 885), used to mark prompts.
    pub const EOR: u8 = 25;
    /// Negotiate about window size (RFC 1073).
    pub const NAWS: u8 = 31;
    /// Linemode (RFC 1184).
    pub const LINEMODE: u8 = 34;
    /// Character set (RFC 2066).
    pub const CHARSET: u8 = 42;
    /// MUD server status protocol.
    pub const MSSP: u8 = 70;
    /// MUD client compression protocol, version 2.
    pub const MCCP2: u8 = 86;
    /// Generic MUD communication protocol.
    pub const GMCP: u8 = 201;
}

/// The bytes of one telnet command (a negotiation or a subnegotiation), for a
/// caller that queues them beside other output. Prompts and lines are encoded by
/// the connection's own encoder, which keeps the prompt mark.
pub fn command_bytes(output: Output) -> bytes::Bytes {
    let mut buf = bytes::BytesMut::new();
    encode_command(output, &mut buf);
    buf.freeze()
}

/// Appends the bytes of one telnet command (a negotiation or a
/// subnegotiation) to `dst`, for a caller that gathers several into one
/// frame. Like [`command_bytes`], it is no place for prompts and lines.
pub fn encode_command(output: Output, dst: &mut bytes::BytesMut) {
    use tokio_util::codec::Encoder;
    // Encoding into memory cannot fail.
    let _ = TelnetCodec::new().encode(output, dst);
}

/// The most bytes one input line may hold; longer lines are dropped whole.
pub const MAX_LINE: usize = 1024;
/// How many data bytes may arrive without a line terminator before the
/// decoder reports [`Input::Overflow`] and the caller hangs up.
pub const MAX_PENDING: usize = 8 * 1024;
/// The most data bytes one subnegotiation may carry; longer ones are dropped.
pub const MAX_SUBNEG: usize = 4 * 1024;
