//! The telnet decoder (`telnet::codec`): any bytes, cut at points the input
//! chooses, must decode to what the reference model reads from the whole
//! stream (`gaslamp_fuzz::telnet_model`), within the caps; and a
//! subnegotiation the encoder writes must decode back to itself.
//!
//! Input: one byte of flags (bit 0: lines in Latin-1), two bytes of seed for
//! the cuts, then the stream.

#![no_main]

use bytes::{Bytes, BytesMut};
use gaslamp::telnet::{Input, MAX_LINE, MAX_SUBNEG, Output, TelnetCodec};
use gaslamp_fuzz::{seed_and_rest, split, telnet_model};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::{Decoder, Encoder};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let latin1 = flags & 1 == 1;
    let (seed, stream) = seed_and_rest(rest, 2);

    let expected = telnet_model::decode(stream, latin1);
    let whole = decode_pieces(&[stream], latin1);
    assert_eq!(whole, expected, "the whole stream against the model");
    let pieces = split(stream, seed, 1 + (flags as usize >> 1));
    let cut = decode_pieces(&pieces, latin1);
    assert_eq!(cut, expected, "cut into {} pieces", pieces.len());
    for item in &whole {
        match item {
            Input::Line(line) => assert!(line.chars().count() <= MAX_LINE),
            Input::Subnegotiation { data, .. } => assert!(data.len() <= MAX_SUBNEG),
            _ => {}
        }
    }
    subnegotiation_round_trip(flags, stream);
});

/// Feeds `pieces` to one decoder as `FramedRead` does: each is appended to
/// the buffer and `decode` called until it has nothing more, then
/// `decode_eof` drains the end.
fn decode_pieces(pieces: &[&[u8]], latin1: bool) -> Vec<Input> {
    let mut codec = TelnetCodec::new();
    codec.set_latin1(latin1);
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        while let Some(item) = codec.decode(&mut buf).expect("the decoder never fails") {
            items.push(item);
        }
        assert!(buf.is_empty(), "decode left bytes it did not read");
    }
    while let Some(item) = codec.decode_eof(&mut buf).expect("the decoder never fails") {
        items.push(item);
    }
    items
}

/// What the encoder escapes, the decoder reads back.
fn subnegotiation_round_trip(option: u8, data: &[u8]) {
    let data = Bytes::copy_from_slice(&data[..data.len().min(MAX_SUBNEG)]);
    let mut wire = BytesMut::new();
    TelnetCodec::new()
        .encode(Output::Subnegotiate(option, data.clone()), &mut wire)
        .expect("encoding into memory");
    let decoded = decode_pieces(&[&wire], false);
    assert_eq!(decoded, [Input::Subnegotiation { option, data }]);
}
