//! The MSSP table (MUD Server Status Protocol, SPEC §8): what MUD listings
//! learn about the server, counted live from the game and filled in from the
//! operator's settings (`--mssp-*`, `[mssp]`). The same table answers a
//! crawler's DO MSSP (as a subnegotiation, see `telnet::mud::mssp`) and the
//! plain-text `MSSP-REQUEST` line at the `Account: ` prompt.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::game::Game;

/// The table: each variable with its values, in a stable order.
pub fn table(game: &Game) -> Vec<(&'static str, Vec<String>)> {
    let config = game.config();
    let mssp = &config.mssp;
    let worlds = game.worlds();
    let areas: usize = worlds.iter().map(|w| w.zones.len()).sum();
    let rooms: usize = worlds.iter().map(|w| w.room_count()).sum();
    let objects: usize = worlds.iter().map(|w| w.item_count()).sum();
    let started = SystemTime::now()
        .checked_sub(game.started_at().elapsed())
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let name = mssp
        .name
        .clone()
        .unwrap_or_else(|| game.default_world().name.clone());
    let flag = |on: bool| if on { "1" } else { "0" }.to_string();
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let mut table = vec![
        ("NAME", vec![name]),
        ("PLAYERS", vec![game.player_count().to_string()]),
        ("UPTIME", vec![started.to_string()]),
        (
            "CODEBASE",
            vec![format!("gaslamp {}", env!("CARGO_PKG_VERSION"))],
        ),
        // The plain port, or with --tls-only the TLS one: PORT is required.
        (
            "PORT",
            vec![
                config
                    .plain_port()
                    .or(config.tls_port())
                    .unwrap_or_default()
                    .to_string(),
            ],
        ),
    ];
    // Listings read SSL; Mudlet reads TLS. Both name the same port.
    if let Some(port) = config.tls_port() {
        table.push(("SSL", vec![port.to_string()]));
        table.push(("TLS", vec![port.to_string()]));
    }
    table.extend([
        ("HOSTNAME", vec![text(&mssp.hostname)]),
        ("CONTACT", vec![text(&mssp.contact)]),
        ("WEBSITE", vec![text(&mssp.website)]),
        ("DISCORD", vec![text(&mssp.discord)]),
        ("LANGUAGE", vec![mssp.language.clone()]),
        ("LOCATION", vec![text(&mssp.location)]),
        ("GENRE", vec![mssp.genre.clone()]),
        ("GAMEPLAY", vec![text(&mssp.gameplay)]),
        ("STATUS", vec![mssp.status.clone()]),
        ("CRAWL DELAY", vec![mssp.crawl_delay.to_string()]),
        ("CREATED", vec![text(&mssp.created)]),
        ("ICON", vec![text(&mssp.icon)]),
        ("AREAS", vec![areas.to_string()]),
        ("ROOMS", vec![rooms.to_string()]),
        ("OBJECTS", vec![objects.to_string()]),
        ("ANSI", vec![flag(true)]),
        ("UTF-8", vec![flag(true)]),
        ("GMCP", vec![flag(true)]),
        ("MCCP", vec![flag(config.mccp)]),
        ("MSDP", vec![flag(false)]),
        ("VT100", vec![flag(false)]),
        ("XTERM 256 COLORS", vec![flag(false)]),
        ("XTERM TRUE COLORS", vec![flag(false)]),
    ]);
    table
}

/// The plain-text form: `MSSP-REPLY-START`, one `NAME<TAB>value` line per
/// value, `MSSP-REPLY-END`.
pub fn plain_text(table: &[(&str, Vec<String>)]) -> String {
    let mut text = String::from("MSSP-REPLY-START");
    for (name, values) in table {
        for value in values {
            text.push('\n');
            text.push_str(name);
            text.push('\t');
            text.push_str(value);
        }
    }
    text.push_str("\nMSSP-REPLY-END");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_has_one_line_per_value_between_the_markers() {
        let table = [
            ("NAME", vec!["Gaslamp".to_string()]),
            ("PORT", vec!["4000".into(), "4001".into()]),
        ];
        assert_eq!(
            plain_text(&table),
            "MSSP-REPLY-START\nNAME\tGaslamp\nPORT\t4000\nPORT\t4001\nMSSP-REPLY-END"
        );
    }
}
