//! Things made up for players: guest passwords of four words, guest account
//! numbers, and pronounceable character names for worlds that give names
//! rather than let players choose. Every choice is uniform: drawn from the
//! operating system's generator by rejection sampling, never by a modulo.
//!
//! **Invariant:** every password made here passes the password policy, and every
//! name passes the character name rules; uniqueness is the caller's (the store's)
//! to check.

use ring::rand::{SecureRandom, SystemRandom};

use super::names::check_character_name;
use super::password::policy_problems;

/// Short, common, easily typed words for guest passwords.
const WORDS: &[&str] = &[
    "amber", "anchor", "anvil", "apple", "arrow", "ash", "attic", "badger", "banner", "barley",
    "basket", "beacon", "bell", "bench", "birch", "bishop", "blanket", "bottle", "bramble",
    "brass", "bread", "brick", "bridge", "brook", "bucket", "butter", "button", "cabin", "candle",
    "canvas", "carpet", "castle", "cellar", "chalk", "chapel", "cherry", "chimney", "cinder",
    "clock", "cloud", "clover", "coal", "cobble", "copper", "cotton", "crane", "crow", "crown",
    "daisy", "dawn", "dune", "eagle", "ember", "falcon", "feather", "fennel", "ferry", "fiddle",
    "field", "flint", "fog", "forest", "fox", "garden", "garnet", "ginger", "glove", "granite",
    "grape", "gravel", "hammer", "harbour", "harvest", "hazel", "heather", "hedge", "heron",
    "hollow", "honey", "horizon", "island", "ivory", "ivy", "jasper", "juniper", "kettle",
    "lantern", "larch", "ledger", "lemon", "lily", "linen", "locket", "maple", "marble", "meadow",
    "mill", "mirror", "moss", "needle", "nutmeg", "oak", "oar", "orchard", "otter", "owl", "paper",
    "pebble", "pepper", "pigeon", "pine", "plum", "pocket", "pond", "poppy", "quarry", "quill",
    "rain", "raven", "reed", "ribbon", "river", "robin", "rope", "rowan", "saddle", "sail",
    "salmon", "sand", "scarf", "shadow", "shell", "shore", "silver", "slate", "smoke", "sparrow",
    "spindle", "spoon", "spring", "spruce", "star", "stone", "storm", "straw", "summer", "swallow",
    "teapot", "thimble", "thistle", "thunder", "timber", "tinder", "tower", "trellis", "tulip",
    "valley", "velvet", "violet", "wagon", "walnut", "water", "wheat", "whistle", "willow",
    "window", "winter", "wren", "yarrow",
];

const ONSETS: &[&str] = &[
    "b", "br", "c", "d", "dr", "f", "g", "gr", "h", "j", "k", "l", "m", "n", "p", "r", "s", "st",
    "t", "th", "v", "w",
];
const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "ae", "ia", "ou", "ei"];
const CODAS: &[&str] = &["", "", "", "n", "r", "l", "s", "th", "m", "nd", "rn", "ck"];

/// A source of random choices: draws uniform over all of `u64`, from the
/// operating system unless a test seeds it.
pub trait Pick {
    fn next(&mut self) -> u64;

    /// One of `from`, each as likely as any other.
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }

    /// A number in `0..n` (`0` for `n = 0`), each as likely as any other.
    fn below(&mut self, n: usize) -> usize {
        let n = u64::try_from(n).unwrap_or(u64::MAX);
        let picked = uniform_below(n, u64::BITS, &mut || self.next());
        usize::try_from(picked).unwrap_or(0)
    }
}

/// A number in `0..n`, each equally likely, from draws uniform in
/// `0..2^bits`. Taking a draw modulo `n` would favour the low results
/// whenever `n` does not divide `2^bits`, so a draw from the incomplete top
/// stretch (the last `2^bits mod n` values) is thrown back and another taken:
/// rejection sampling. Fewer than half the draws are ever thrown back.
fn uniform_below(n: u64, bits: u32, draw: &mut dyn FnMut() -> u64) -> u64 {
    let n = u128::from(n.max(1));
    let span = 1u128 << bits.min(u64::BITS);
    let accepted = span - span % n;
    loop {
        let x = u128::from(draw());
        if x < accepted {
            // Below n, so it fits.
            return u64::try_from(x % n).unwrap_or(0);
        }
    }
}

/// Random choices from the operating system's generator.
pub struct Entropy;

impl Pick for Entropy {
    fn next(&mut self) -> u64 {
        let mut bytes = [0u8; 8];
        if SystemRandom::new().fill(&mut bytes).is_ok() {
            return u64::from_le_bytes(bytes);
        }
        // The generator answered nothing (never seen on a working system).
        // uuid reads the same generator, but another way; its version and
        // variant bits are fixed, so only random bits are taken: the top 48
        // of the first half and the low 16 of the second.
        let (high, low) = uuid::Uuid::new_v4().as_u64_pair();
        (high & !0xFFFF) | (low & 0xFFFF)
    }
}

/// A guest account's name: `guest_` and five digits, each number as likely
/// as any other. Two guests may draw the same; the store draws again.
pub fn guest_name(pick: &mut impl Pick) -> String {
    format!("guest_{:05}", pick.below(100_000))
}

/// Four words joined by spaces, passing the password policy.
pub fn password(pick: &mut impl Pick) -> String {
    loop {
        let words: Vec<&str> = (0..4).map(|_| pick.pick(WORDS)).collect();
        let candidate = words.join(" ");
        if policy_problems(&candidate).is_empty() {
            return candidate;
        }
    }
}

/// A pronounceable name of two or three syllables that passes the character
/// name rules (`is_command_word` as for any character name).
pub fn character_name(pick: &mut impl Pick, is_command_word: impl Fn(&str) -> bool) -> String {
    loop {
        let syllables = 2 + pick.below(2);
        let mut name = String::new();
        for _ in 0..syllables {
            name.push_str(pick.pick(ONSETS));
            name.push_str(pick.pick(VOWELS));
        }
        name.push_str(pick.pick(CODAS));
        let mut chars = name.chars();
        let name: String = match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => continue,
        };
        if (4..=12).contains(&name.len()) && check_character_name(&name, &is_command_word).is_ok() {
            return name;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::Rng;

    struct Seeded(Rng);

    impl Pick for Seeded {
        fn next(&mut self) -> u64 {
            self.0.next()
        }
    }

    /// Feeds every 8-bit draw once, for every range up to 256: each result
    /// comes from exactly as many draws as any other, and what is thrown back
    /// is the top stretch only.
    #[test]
    fn choices_have_no_modulo_bias_exhaustively_over_eight_bit_draws() {
        for n in 1..=256u64 {
            let mut tally = vec![0u32; n as usize];
            let mut thrown_back = 0;
            for x in 0..256u64 {
                let mut draws = 0;
                let picked = uniform_below(n, 8, &mut || {
                    draws += 1;
                    if draws == 1 { x } else { 0 }
                });
                if draws == 1 {
                    tally[picked as usize] += 1;
                } else {
                    thrown_back += 1;
                    assert!(x >= 256 - 256 % n, "n {n}: {x} thrown back");
                }
            }
            let each = (256 / n) as u32;
            assert!(tally.iter().all(|&t| t == each), "n {n}: {tally:?}");
            assert_eq!(thrown_back, 256 % n, "n {n}");
        }
        // The check above catches a modulo: 256 draws over the words taken
        // modulo their number would give some words two chances, others one.
        let mut modulo = vec![0u32; WORDS.len()];
        for x in 0..256usize {
            modulo[x % WORDS.len()] += 1;
        }
        assert!(modulo.iter().any(|&t| t != modulo[0]));
    }

    #[test]
    fn choices_stay_in_range_and_reach_every_value() {
        let mut pick = Seeded(Rng(3));
        let mut seen = [false; 7];
        for _ in 0..1000 {
            let n = pick.below(7);
            seen[n] = true;
        }
        assert!(seen.iter().all(|s| *s));
        assert_eq!(pick.below(0), 0);
        assert_eq!(pick.below(1), 0);
        let name = guest_name(&mut pick);
        assert!(name.starts_with("guest_") && name.len() == 11, "{name}");
    }

    #[test]
    fn passwords_are_four_words_that_pass_the_policy() {
        let mut pick = Seeded(Rng(7));
        for _ in 0..500 {
            let made = password(&mut pick);
            assert_eq!(made.split(' ').count(), 4, "{made}");
            assert!(policy_problems(&made).is_empty(), "{made}");
        }
    }

    #[test]
    fn names_are_pronounceable_and_pass_the_rules() {
        let mut pick = Seeded(Rng(11));
        let never = |word: &str| word.eq_ignore_ascii_case("look");
        let mut seen = std::collections::HashSet::new();
        for _ in 0..500 {
            let name = character_name(&mut pick, never);
            assert!(check_character_name(&name, never).is_ok(), "{name}");
            assert!(
                name.chars().next().is_some_and(char::is_uppercase),
                "{name}"
            );
            // Syllables alternate: never three consonants or three vowels in a row.
            let vowel: Vec<bool> = name
                .to_lowercase()
                .chars()
                .map(|c| "aeiou".contains(c))
                .collect();
            assert!(
                !vowel.windows(3).any(|w| w[0] == w[1] && w[1] == w[2]),
                "{name}"
            );
            seen.insert(name);
        }
        assert!(seen.len() > 300, "names vary: {}", seen.len());
    }
}
