//! Who is here, counted, for those who only count: MUD listings (MSSP),
//! `/health`, `/metrics` and the shutdown's log line. Every count is read
//! from the live state when asked, and none of them waits.

use super::Game;

impl Game {
    /// How many connections are playing a character now.
    pub fn player_count(&self) -> usize {
        self.registry().len()
    }

    /// How many connections are open now, on every transport, whatever they
    /// are doing (logging in, at the menu, playing).
    pub fn connection_count(&self) -> usize {
        self.connections().total()
    }

    /// How many connections play in each world now, every world listed
    /// (zeros included), in the order of the worlds.
    pub fn players_per_world(&self) -> Vec<(String, u64)> {
        let players = self.registry().players(None);
        self.worlds()
            .iter()
            .map(|world| {
                let here = players
                    .iter()
                    .filter(|p| p.world.as_ref() == world.id.as_str())
                    .count();
                (world.id.to_string(), here as u64)
            })
            .collect()
    }

    /// How many bcrypt runs (password hashes and checks) the store has
    /// started since the server started: what a refusal before any password
    /// work can be seen not to have cost.
    pub fn bcrypt_runs(&self) -> u64 {
        self.store().bcrypt_runs()
    }
}
