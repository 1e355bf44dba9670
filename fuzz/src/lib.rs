//! What gaslamp's fuzz targets share: cutting a byte stream where an input
//! says (so every target sees its bytes arrive in any split), a runtime for
//! the targets that drive async code, and the reference models a target
//! checks gaslamp's answer against. A model is written from what the docs
//! and the module comments promise, in a shape unlike the code it checks (the
//! telnet model reads in two passes where the decoder reads in one), so the
//! two agreeing means something.

pub mod telnet_model;
pub mod ws_model;

use std::sync::{Arc, OnceLock};

/// The shipped world (`worlds/` of the repository), loaded once for the
/// targets that work on a real world.
pub fn shipped_world() -> &'static Arc<gaslamp::world::World> {
    static WORLD: OnceLock<Arc<gaslamp::world::World>> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../worlds");
        match gaslamp::world::load(&dir, None) {
            Ok(loaded) => loaded.default,
            Err(err) => panic!("the shipped world does not load: {err}"),
        }
    })
}

/// A small, fast generator (xorshift64*) for the choices an input's seed
/// makes: where a stream is cut, which order messages go in.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // Zero is xorshift's one fixed point.
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number below `n` (0 when `n` is 0); the slight bias of a modulo
    /// does not matter for cutting streams.
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
}

/// Cuts `data` into pieces of 1 to `max_piece` bytes, chosen by `seed`.
pub fn split(data: &[u8], seed: u64, max_piece: usize) -> Vec<&[u8]> {
    let mut rng = Rng::new(seed);
    let mut pieces = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let n = 1 + rng.below(max_piece.max(1).min(rest.len()));
        let (head, tail) = rest.split_at(n);
        pieces.push(head);
        rest = tail;
    }
    pieces
}

/// The first `n` bytes of an input as a little-endian seed, and the rest.
pub fn seed_and_rest(data: &[u8], n: usize) -> (u64, &[u8]) {
    let n = n.min(8).min(data.len());
    let (head, rest) = data.split_at(n);
    let seed = head
        .iter()
        .rev()
        .fold(0u64, |seed, &byte| (seed << 8) | u64::from(byte));
    (seed, rest)
}

/// A current-thread runtime with time, made once per process: a target
/// that drives async code runs each input to completion on it, so nothing
/// of one input is left running into the next.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(err) => panic!("no tokio runtime for the fuzz target: {err}"),
        }
    })
}
