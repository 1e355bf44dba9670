//! MCCP2 (option 86): the zlib stream that carries everything the server sends
//! after `IAC SB COMPRESS2 IAC SE`.
//!
//! [`Compressor`] is one connection's deflate stream. The connection's writer
//! passes each batch of encoded bytes through [`Compressor::sync`], which
//! sync-flushes so the client can show every byte of the batch at once
//! (compression never delays a line), and ends the stream with
//! [`Compressor::finish`] when compression stops or the connection closes.
//!
//! It is zlib itself, through `libz-sys` (the binding flate2 builds on), rather
//! than flate2's `Compress`: flate2 always asks zlib for memory level 8, whose
//! hash table and symbol buffer alone take 128 KiB per stream. Here the window
//! is 4 KiB ([`WINDOW_BITS`]) and the memory level 5 ([`MEM_LEVEL`]), about
//! 40 KiB a stream in all, which keeps a compressed connection within 64 KiB of
//! a plain one; MUD text loses little by the smaller window. Every allocation
//! zlib makes goes through this file, so its size is known and tested.
//!
//! This file owns the only `unsafe` code of the telnet layer (the crate denies
//! `unsafe_code` everywhere else): zlib is C, and its allocator hooks and
//! stream calls cannot be made safely. Every block says why it is sound in a
//! SAFETY note. It knows nothing about what is compressed.

#![allow(unsafe_code)]

use std::alloc::{Layout, alloc, dealloc};
use std::ffi::{c_int, c_uint, c_void};
use std::io;

use libz_sys as z;

/// log2 of the deflate window: 4 KiB of history.
pub const WINDOW_BITS: c_int = 12;
/// zlib's memory level: a 4,096-entry hash table and 2,048-symbol blocks.
pub const MEM_LEVEL: c_int = 5;
/// zlib's fastest level: each batch is small and sync-flushed, so a deeper
/// search gains little, and the server compresses the same line once for
/// every listener in a room.
const LEVEL: c_int = 1;

/// zlib's state and the byte count of what it allocated, boxed together so
/// neither moves: zlib keeps a pointer to its stream, and the allocator is
/// handed a pointer to the count.
struct Inner {
    stream: z::z_stream,
    allocated: usize,
}

/// One connection's outgoing zlib stream.
pub struct Compressor {
    inner: Box<Inner>,
    finished: bool,
}

// SAFETY: the zlib stream is owned by this value alone and zlib keeps no
// thread-local state, so it may move to another thread between calls.
unsafe impl Send for Compressor {}

/// Every block handed to zlib carries its size just before it, so that
/// `zfree` can rebuild the layout; 16 bytes keep the block aligned for any type.
const HEADER: usize = 16;

unsafe extern "C" fn zalloc(opaque: z::voidpf, items: z::uInt, size: z::uInt) -> z::voidpf {
    let Some(bytes) = (items as usize)
        .checked_mul(size as usize)
        .and_then(|n| n.checked_add(HEADER))
    else {
        return std::ptr::null_mut();
    };
    let Ok(layout) = Layout::from_size_align(bytes, HEADER) else {
        return std::ptr::null_mut();
    };
    // SAFETY: the layout has a non-zero size (at least HEADER).
    let block = unsafe { alloc(layout) };
    if block.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: the block is at least HEADER bytes, aligned for a usize, and
    // `opaque` is the `allocated` field of the boxed `Inner` (see `new`).
    unsafe {
        block.cast::<usize>().write(bytes);
        *opaque.cast::<usize>() += bytes;
        block.add(HEADER).cast()
    }
}

unsafe extern "C" fn zfree(opaque: z::voidpf, address: z::voidpf) {
    if address.is_null() {
        return;
    }
    // SAFETY: `address` came from `zalloc`, which put the block's size HEADER
    // bytes before it; the layout is rebuilt exactly as it was allocated.
    unsafe {
        let block = address.cast::<u8>().sub(HEADER);
        let bytes = block.cast::<usize>().read();
        *opaque.cast::<usize>() -= bytes;
        dealloc(block, Layout::from_size_align_unchecked(bytes, HEADER));
    }
}

impl Compressor {
    /// Starts a zlib stream (with its header, as MCCP2 wants).
    pub fn new() -> io::Result<Compressor> {
        let mut inner = Box::new(Inner {
            stream: z::z_stream {
                next_in: std::ptr::null_mut(),
                avail_in: 0,
                total_in: 0,
                next_out: std::ptr::null_mut(),
                avail_out: 0,
                total_out: 0,
                msg: std::ptr::null_mut(),
                state: std::ptr::null_mut(),
                zalloc,
                zfree,
                opaque: std::ptr::null_mut(),
                data_type: 0,
                adler: 0,
                reserved: 0,
            },
            allocated: 0,
        });
        inner.stream.opaque = (&raw mut inner.allocated).cast::<c_void>();
        // SAFETY: the stream lives in a box that is never moved out of, and
        // the version and size tell zlib which struct layout it was given.
        let rc = unsafe {
            z::deflateInit2_(
                &mut inner.stream,
                LEVEL,
                z::Z_DEFLATED,
                WINDOW_BITS,
                MEM_LEVEL,
                z::Z_DEFAULT_STRATEGY,
                z::zlibVersion(),
                std::mem::size_of::<z::z_stream>() as c_int,
            )
        };
        if rc != z::Z_OK {
            return Err(io::Error::other(format!("deflateInit2 failed: {rc}")));
        }
        Ok(Compressor {
            inner,
            finished: false,
        })
    }

    /// Compresses `input` onto the end of `out` and sync-flushes, so the
    /// client can decompress everything given so far.
    pub fn sync(&mut self, input: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        self.deflate(input, out, z::Z_SYNC_FLUSH)
    }

    /// Compresses `input` and ends the stream; later calls do nothing. The
    /// client reads on uncompressed after the end.
    pub fn finish(&mut self, input: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        self.deflate(input, out, z::Z_FINISH)?;
        self.finished = true;
        Ok(())
    }

    /// Bytes zlib holds for this stream now.
    pub fn allocated(&self) -> usize {
        self.inner.allocated
    }

    fn deflate(&mut self, input: &[u8], out: &mut Vec<u8>, flush: c_int) -> io::Result<()> {
        if self.finished {
            return Ok(());
        }
        // zlib counts in c_uint; feed very large input in pieces.
        let mut chunks = input.chunks(c_uint::MAX as usize).peekable();
        if chunks.peek().is_none() {
            return self.deflate_chunk(&[], out, flush);
        }
        while let Some(chunk) = chunks.next() {
            let last = chunks.peek().is_none();
            self.deflate_chunk(chunk, out, if last { flush } else { z::Z_NO_FLUSH })?;
        }
        Ok(())
    }

    fn deflate_chunk(&mut self, input: &[u8], out: &mut Vec<u8>, flush: c_int) -> io::Result<()> {
        let stream = &mut self.inner.stream;
        stream.next_in = input.as_ptr().cast_mut();
        stream.avail_in = input.len() as c_uint;
        let result = loop {
            out.reserve(input.len() / 2 + 64);
            let spare = (out.capacity() - out.len()).min(c_uint::MAX as usize);
            // SAFETY: `next_out` points at `spare` writable bytes of `out`;
            // `next_in` at the unread rest of `input`, which zlib only reads.
            let rc = unsafe {
                stream.next_out = out.as_mut_ptr().add(out.len());
                stream.avail_out = spare as c_uint;
                z::deflate(stream, flush)
            };
            let written = spare - stream.avail_out as usize;
            // SAFETY: zlib wrote exactly `written` bytes after the old end.
            unsafe { out.set_len(out.len() + written) };
            match rc {
                z::Z_STREAM_END => break Ok(()),
                z::Z_OK | z::Z_BUF_ERROR => {}
                other => break Err(io::Error::other(format!("deflate failed: {other}"))),
            }
            let drained = stream.avail_in == 0 && stream.avail_out > 0;
            if flush != z::Z_FINISH && drained {
                break Ok(());
            }
        };
        // Leave no pointer into memory zlib does not own.
        stream.next_in = std::ptr::null_mut();
        stream.avail_in = 0;
        stream.next_out = std::ptr::null_mut();
        stream.avail_out = 0;
        result
    }
}

impl Drop for Compressor {
    fn drop(&mut self) {
        // SAFETY: the stream was initialised by deflateInit2 in `new`.
        unsafe {
            z::deflateEnd(&mut self.inner.stream);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Decompress, FlushDecompress, Status};

    /// Inflates everything available, as a client does after each read.
    fn inflate(inflater: &mut Decompress, input: &[u8]) -> (Vec<u8>, Status) {
        let mut out = Vec::with_capacity(input.len() * 8 + 1024);
        let mut status = Status::Ok;
        let mut at = 0;
        while at < input.len() {
            let before = inflater.total_in();
            status = inflater
                .decompress_vec(&input[at..], &mut out, FlushDecompress::Sync)
                .expect("valid zlib data");
            at += (inflater.total_in() - before) as usize;
            if status == Status::StreamEnd {
                break;
            }
            if out.len() == out.capacity() {
                out.reserve(4096);
            }
        }
        (out, status)
    }

    #[test]
    fn each_batch_is_readable_at_once_and_the_end_is_clean() {
        let mut compressor = Compressor::new().expect("deflate");
        let mut inflater = Decompress::new(true);
        for i in 0..50 {
            let line = format!("Ann says, \"line number {i}\"\r\n");
            let mut wire = Vec::new();
            compressor.sync(line.as_bytes(), &mut wire).expect("sync");
            let (text, status) = inflate(&mut inflater, &wire);
            assert_eq!(status, Status::Ok);
            assert_eq!(text, line.as_bytes(), "batch {i} readable right away");
        }
        let mut wire = Vec::new();
        compressor
            .finish(b"Goodbye.\r\n", &mut wire)
            .expect("finish");
        let (text, status) = inflate(&mut inflater, &wire);
        assert_eq!(text, b"Goodbye.\r\n");
        assert_eq!(status, Status::StreamEnd, "the stream ends cleanly");
        let mut after = Vec::new();
        compressor
            .sync(b"ignored", &mut after)
            .expect("after the end");
        assert!(after.is_empty(), "nothing is compressed after the end");
    }

    #[test]
    fn a_stream_costs_well_under_64_kib() {
        let mut compressor = Compressor::new().expect("deflate");
        let mut wire = Vec::new();
        let text: String = (0..2000)
            .map(|i| format!("line {i} of some text in a busy room\r\n"))
            .collect();
        compressor.sync(text.as_bytes(), &mut wire).expect("sync");
        assert!(wire.len() < text.len() / 3, "it compresses");
        let held = compressor.allocated();
        assert!(held > 0 && held <= 48 * 1024, "zlib holds {held} bytes");
        drop(compressor);
    }

    #[test]
    fn big_input_compresses_and_round_trips() {
        let mut compressor = Compressor::new().expect("deflate");
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut wire = Vec::new();
        compressor.finish(&data, &mut wire).expect("finish");
        let mut inflater = Decompress::new(true);
        let (text, status) = inflate(&mut inflater, &wire);
        assert_eq!(status, Status::StreamEnd);
        assert_eq!(text, data);
    }
}
