//! A reference model of the WebSocket adapter (`web::ws`) as a client sees
//! it: the frames a client sends (RFC 6455 §5), what the session must read
//! from them, and how the server must close. It reads frame by frame what
//! the adapter's docs promise: binary frames (and text frames without a
//! subprotocol) are the byte stream, whole messages at a time, fragments
//! joined; control frames are skipped; a frame that breaks RFC 6455 closes
//! with 1002, a text frame under the telnet subprotocol with 1003, text that
//! is not UTF-8 with 1007, a frame or message over 64 KiB with 1009; the
//! client's close ends the input (the server echoes it); a stream that stops
//! inside a frame ends the input with no close frame at all.

/// The largest frame or message the server takes (`web::MAX_FRAME`).
pub const MAX: usize = 64 * 1024;

/// One frame as a client sends it.
#[derive(Debug, Clone)]
pub struct Frame {
    pub fin: bool,
    pub rsv1: bool,
    pub opcode: u8,
    pub masked: bool,
    /// The length the header declares, when it is not the payload's own.
    pub declared: Option<u64>,
    /// The payload bytes sent (fewer than declared when the stream stops
    /// inside the frame).
    pub payload: Vec<u8>,
    /// The whole frame was sent.
    pub complete: bool,
}

impl Frame {
    /// The frame's bytes on the wire, masked with `mask` when masked.
    pub fn wire(&self, mask: [u8; 4]) -> Vec<u8> {
        let mut out =
            vec![(u8::from(self.fin) << 7) | (u8::from(self.rsv1) << 6) | (self.opcode & 0x0F)];
        let len = self.declared.unwrap_or(self.payload.len() as u64);
        let mask_bit = u8::from(self.masked) << 7;
        if len < 126 {
            out.push(mask_bit | len as u8);
        } else if len <= 0xFFFF {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            out.push(mask_bit | 127);
            out.extend_from_slice(&len.to_be_bytes());
        }
        if self.masked {
            out.extend_from_slice(&mask);
            out.extend(
                self.payload
                    .iter()
                    .enumerate()
                    .map(|(i, b)| b ^ mask[i % 4]),
            );
        } else {
            out.extend_from_slice(&self.payload);
        }
        out
    }
}

/// How the server must close, as the client sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Close {
    /// With this code.
    Code(u16),
    /// Echoing the client's own close (its code, or 1002 for a code no
    /// endpoint may send): any one close frame.
    Echo,
    /// The stream stopped inside a frame, or before any close: nobody to
    /// tell, no close frame.
    Nothing,
}

/// What the session reads, and the close, for `frames`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub read: Vec<u8>,
    pub close: Close,
    /// Payloads of the pings read before the end, in order.
    pub pings: Vec<Vec<u8>>,
}

/// A message being gathered from fragments.
struct Gathering {
    text: bool,
    bytes: Vec<u8>,
}

/// The server's reading so far.
struct Reader {
    read: Vec<u8>,
    pings: Vec<Vec<u8>>,
    gathering: Option<Gathering>,
    text_frames: bool,
}

/// Reads `frames` as the server must; `text_frames` when the client named no
/// subprotocol. A stream that ends between frames without a close ends the
/// input with no close frame either.
pub fn outcome(frames: &[Frame], text_frames: bool) -> Outcome {
    let mut reader = Reader {
        read: Vec::new(),
        pings: Vec::new(),
        gathering: None,
        text_frames,
    };
    let close = frames
        .iter()
        .find_map(|frame| reader.frame(frame).err())
        .unwrap_or(Close::Nothing);
    Outcome {
        read: reader.read,
        close,
        pings: reader.pings,
    }
}

impl Reader {
    /// One frame; `Err` with the close when the input ends at it.
    fn frame(&mut self, frame: &Frame) -> Result<(), Close> {
        let declared = frame.declared.unwrap_or(frame.payload.len() as u64);
        // The header alone says an opcode is unknown, or a frame too big.
        if matches!(frame.opcode, 0x3..=0x7 | 0xB..=0xF) {
            return Err(Close::Code(1002));
        }
        if declared > MAX as u64 {
            return Err(Close::Code(1009));
        }
        if !frame.complete {
            return Err(Close::Nothing);
        }
        if !frame.masked || frame.rsv1 {
            return Err(Close::Code(1002));
        }
        let payload = &frame.payload;
        match frame.opcode {
            0x8..=0xF if !frame.fin || payload.len() > 125 => Err(Close::Code(1002)),
            0x8 if payload.len() == 1 => Err(Close::Code(1002)),
            0x8 if payload.len() > 2 && std::str::from_utf8(&payload[2..]).is_err() => {
                Err(Close::Code(1007))
            }
            0x8 => Err(Close::Echo),
            0x9 => {
                self.pings.push(payload.clone());
                Ok(())
            }
            0xA => Ok(()),
            0x0 => self.continuation(payload, frame.fin),
            // 0x1 text, 0x2 binary.
            opcode => self.start(opcode == 0x1, payload, frame.fin),
        }
    }

    fn start(&mut self, text: bool, payload: &[u8], fin: bool) -> Result<(), Close> {
        if self.gathering.is_some() {
            return Err(Close::Code(1002));
        }
        if text && !utf8_so_far(payload, fin) {
            return Err(Close::Code(1007));
        }
        if fin {
            return self.deliver(text, payload);
        }
        self.gathering = Some(Gathering {
            text,
            bytes: payload.to_vec(),
        });
        Ok(())
    }

    fn continuation(&mut self, payload: &[u8], fin: bool) -> Result<(), Close> {
        let Some(message) = self.gathering.as_mut() else {
            return Err(Close::Code(1002));
        };
        if message.bytes.len() + payload.len() > MAX {
            return Err(Close::Code(1009));
        }
        message.bytes.extend_from_slice(payload);
        if message.text && !utf8_so_far(&message.bytes, fin) {
            return Err(Close::Code(1007));
        }
        match self.gathering.take() {
            Some(message) if fin => self.deliver(message.text, &message.bytes),
            still => {
                self.gathering = still;
                Ok(())
            }
        }
    }

    /// A whole message for the session: its bytes, or for a text message
    /// under the telnet subprotocol the 1003 close.
    fn deliver(&mut self, text: bool, bytes: &[u8]) -> Result<(), Close> {
        if text && !self.text_frames {
            return Err(Close::Code(1003));
        }
        self.read.extend_from_slice(bytes);
        Ok(())
    }
}

/// Whether text gathered so far may still be UTF-8: all of it when the
/// message is whole, else all but a sequence cut at its end.
fn utf8_so_far(bytes: &[u8], whole: bool) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(_) => true,
        Err(err) => !whole && err.error_len().is_none(),
    }
}

/// A frame the server sent, as the client reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFrame {
    pub fin: bool,
    pub opcode: u8,
    pub masked: bool,
    pub payload: Vec<u8>,
}

/// The server's frames in `wire`; `Err` with what is wrong when they are
/// not well-formed, unfinished ones at the end aside.
pub fn server_frames(mut wire: &[u8]) -> Result<Vec<ServerFrame>, String> {
    let mut frames = Vec::new();
    while wire.len() >= 2 {
        let (fin, rsv, opcode) = (wire[0] & 0x80 != 0, wire[0] & 0x70, wire[0] & 0x0F);
        let masked = wire[1] & 0x80 != 0;
        let (len, head) = match wire[1] & 0x7F {
            126 if wire.len() >= 4 => (u64::from(u16::from_be_bytes([wire[2], wire[3]])), 4),
            127 if wire.len() >= 10 => {
                let mut n = [0u8; 8];
                n.copy_from_slice(&wire[2..10]);
                (u64::from_be_bytes(n), 10)
            }
            126 | 127 => return Err("a header cut short".into()),
            n => (u64::from(n), 2),
        };
        if rsv != 0 {
            return Err(format!("reserved bits {rsv:#x}"));
        }
        let Some(end) = usize::try_from(len)
            .ok()
            .and_then(|len| len.checked_add(head))
        else {
            return Err(format!("a frame of {len} bytes"));
        };
        if wire.len() < end {
            return Err(format!("a frame of {len} bytes cut short"));
        }
        frames.push(ServerFrame {
            fin,
            opcode,
            masked,
            payload: wire[head..end].to_vec(),
        });
        wire = &wire[end..];
    }
    if wire.is_empty() {
        Ok(frames)
    } else {
        Err("a header cut short".into())
    }
}
