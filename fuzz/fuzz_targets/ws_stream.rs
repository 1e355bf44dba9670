//! The WebSocket adapter (`web::ws`, through `web::server_stream`, the
//! function `/ws` serves every WebSocket with): a client's frames, cut at
//! points the input chooses, must give the session exactly the bytes the
//! model (`gaslamp_fuzz::ws_model`) reads from them, and the server must
//! close as the model says; what the session writes must reach the client
//! as well-formed binary frames of at most 16 KiB holding exactly those
//! bytes, and the pongs the client gets answer its pings, in order.
//!
//! Input: a byte of flags (bit 0: no subprotocol, so text frames are bytes;
//! bit 1: the rest is raw bytes, not frames; bits 2-4: the largest piece;
//! bits 5-7: the session's read size), two bytes of seed for the cuts, then
//! frames: a header byte (bits 0-3 the opcode, bit 4 not final, bit 5 RSV1,
//! bit 6 unmasked, bit 7 declared over 64 KiB), a length byte (250 and up:
//! two more bytes of length follow), and the payload.

#![no_main]

use gaslamp_fuzz::ws_model::{self, Close, Frame, MAX};
use gaslamp_fuzz::{seed_and_rest, split};
use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the server writes is cut into frames of at most this.
const MAX_FRAME_OUT: usize = 16 * 1024;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let text_frames = flags & 1 == 1;
    let raw = flags & 2 == 2;
    let max_piece = 1 << ((flags >> 2) & 7);
    let read_size = 1 << (2 * ((flags >> 5) & 7));
    let (seed, body) = seed_and_rest(rest, 2);
    let mask = [0x37, 0xfa, (seed & 0xff) as u8, 0x3d];
    let (wire, expected) = if raw {
        (body.to_vec(), None)
    } else {
        let frames = frames(body);
        let wire = frames.iter().flat_map(|f| f.wire(mask)).collect();
        (wire, Some(ws_model::outcome(&frames, text_frames)))
    };
    let pieces = split(&wire, seed, max_piece);
    let (read, sent) =
        gaslamp_fuzz::runtime().block_on(exchange(&pieces, text_frames, body, read_size));
    let frames =
        ws_model::server_frames(&sent).unwrap_or_else(|err| panic!("the server's frames: {err}"));
    let mut written = Vec::new();
    let mut pongs = Vec::new();
    let mut closes = Vec::new();
    for frame in frames {
        assert!(frame.fin && !frame.masked, "{frame:?}");
        match frame.opcode {
            0x2 => {
                assert!(frame.payload.len() <= MAX_FRAME_OUT && !frame.payload.is_empty());
                written.extend_from_slice(&frame.payload);
            }
            0xA => pongs.push(frame.payload),
            0x8 => closes.push(frame.payload),
            other => panic!("the server sent opcode {other:#x}"),
        }
    }
    assert_eq!(written, body, "what the session wrote");
    assert!(closes.len() <= 1, "{} close frames", closes.len());
    let Some(expected) = expected else {
        return;
    };
    assert_eq!(read, expected.read, "what the session read");
    let code = closes
        .first()
        .map(|payload| payload.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]])));
    match expected.close {
        Close::Code(want) => assert_eq!(code, Some(Some(want)), "the close"),
        Close::Echo => assert!(code.is_some(), "the client's close was not answered"),
        Close::Nothing => assert_eq!(code, None, "a close after the stream stopped"),
    }
    let mut pings = expected.pings.iter();
    for pong in &pongs {
        assert!(
            pings.any(|ping| ping == pong),
            "a pong answering no ping, or out of order"
        );
    }
});

/// The frames an input describes (see the module).
fn frames(mut body: &[u8]) -> Vec<Frame> {
    let mut frames = Vec::new();
    while let Some((&head, rest)) = body.split_first() {
        let (&len_byte, rest) = rest.split_first().unwrap_or((&0, &[]));
        let mut frame = Frame {
            fin: head & 0x10 == 0,
            rsv1: head & 0x20 != 0,
            opcode: head & 0x0F,
            masked: head & 0x40 == 0,
            declared: None,
            payload: Vec::new(),
            complete: true,
        };
        if head & 0x80 != 0 {
            // The header alone refuses it; nothing after it is read.
            frame.declared = Some(MAX as u64 + 1 + u64::from(len_byte));
            frames.push(frame);
            break;
        }
        let (len, rest) = match (len_byte, rest) {
            (250.., [a, b, rest @ ..]) => (usize::from(u16::from_be_bytes([*a, *b])), rest),
            (250.., _) => (0, &[][..]),
            (n, rest) => (usize::from(n), rest),
        };
        let taken = len.min(rest.len());
        frame.payload = rest[..taken].to_vec();
        if taken < len {
            frame.declared = Some(len as u64);
            frame.complete = false;
        }
        frames.push(frame);
        body = &rest[taken..];
    }
    frames
}

/// The client sends `pieces` and then stops sending; the server's session
/// side writes `payload`, reads until its input ends (`read_size` bytes at a
/// time) and shuts down. What the session read, and every byte the server
/// sent.
async fn exchange(
    pieces: &[&[u8]],
    text_frames: bool,
    payload: &[u8],
    read_size: usize,
) -> (Vec<u8>, Vec<u8>) {
    let (client, server) = tokio::io::duplex(1 << 20);
    let (mut from_server, mut to_server) = tokio::io::split(client);
    let send = async move {
        for piece in pieces {
            if to_server.write_all(piece).await.is_err() {
                return;
            }
        }
        let _ = to_server.shutdown().await;
    };
    let session = async move {
        let mut ws = gaslamp::web::server_stream(server, text_frames).await;
        ws.write_all(payload).await.expect("the session writes");
        ws.flush().await.expect("the session flushes");
        let mut read = Vec::new();
        let mut buf = vec![0u8; read_size];
        loop {
            match ws.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => read.extend_from_slice(&buf[..n]),
                Err(err) => panic!("a read failed: {err}"),
            }
        }
        // A stream that has gone has nobody to send a close to.
        let _ = ws.shutdown().await;
        read
    };
    let receive = async move {
        let mut sent = Vec::new();
        let _ = from_server.read_to_end(&mut sent).await;
        sent
    };
    let ((), read, sent) = tokio::join!(send, session, receive);
    (read, sent)
}
