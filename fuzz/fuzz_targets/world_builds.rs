//! The building commands' validator (`world::check_builds`, issue 18): any
//! sequence of builder orders and undos read out of the input, applied to the
//! shipped world in memory, is each refused or leaves a world that passes the
//! loader's checks, prints and reads back as itself, survives a crash between
//! its file writes, and undoes to exactly the files before. Nothing is
//! written to disk.
//!
//! Input: the orders' bytes, read by `check_builds` itself.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = gaslamp::world::check_builds(gaslamp_fuzz::shipped_world(), data) {
        panic!("a build broke the world: {broken}");
    }
});
