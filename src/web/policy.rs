//! The web listener's decisions about a request, as pure functions tested in
//! tables: whether a page's `Origin` may open the WebSocket, which
//! subprotocol a client gets, and which address a client has.

use std::net::{IpAddr, SocketAddr};

/// The one WebSocket subprotocol gaslamp speaks: the telnet byte stream in
/// binary frames (mudstandards.org).
pub const TELNET_PROTOCOL: &str = "telnet.mudstandards.org";

/// Whether a WebSocket request may proceed, judged by its `Origin` header
/// (against cross-site WebSocket hijacking: a page elsewhere opening the game
/// in a player's browser).
///
/// A request without `Origin` comes from no browser page (a MUD client, a
/// script) and may. With `allowed` empty, only the page's own origin may: its
/// host and port must be the `Host` the request came to. Otherwise the origin
/// must be one of `allowed` (lowercased, as `cli` stores them), or `allowed`
/// holds `*`.
pub fn origin_allowed(origin: Option<&str>, host: Option<&str>, allowed: &[String]) -> bool {
    let Some(origin) = origin else {
        return true;
    };
    let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    if !allowed.is_empty() {
        return allowed.iter().any(|a| a == "*" || *a == origin);
    }
    let (Some((scheme, authority)), Some(host)) = (origin.split_once("://"), host) else {
        return false;
    };
    if !matches!(scheme, "http" | "https") {
        return false;
    }
    let host = host.trim().to_ascii_lowercase();
    without_default_port(scheme, authority) == without_default_port(scheme, &host)
}

/// `host:port` without the scheme's own port (browsers leave it out of
/// `Origin`, and usually out of `Host`).
fn without_default_port<'a>(scheme: &str, authority: &'a str) -> &'a str {
    let default = if scheme == "https" { ":443" } else { ":80" };
    authority.strip_suffix(default).unwrap_or(authority)
}

/// What to do with the subprotocols a client offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subprotocol {
    /// It offered ours: binary frames only.
    Telnet,
    /// It offered none: the same byte stream, and text frames are read as
    /// their UTF-8 bytes too (simple tools send text).
    Unnamed,
    /// It offered only others: refuse the upgrade, naming ours.
    Unsupported,
}

/// Picks the subprotocol from the `Sec-WebSocket-Protocol` values offered
/// (each a comma-separated list).
pub fn choose_subprotocol<'a>(offered: impl IntoIterator<Item = &'a str>) -> Subprotocol {
    let mut any = false;
    for name in offered.into_iter().flat_map(|v| v.split(',')) {
        let name = name.trim();
        if name.eq_ignore_ascii_case(TELNET_PROTOCOL) {
            return Subprotocol::Telnet;
        }
        any |= !name.is_empty();
    }
    if any {
        Subprotocol::Unsupported
    } else {
        Subprotocol::Unnamed
    }
}

/// The client's address: the TCP peer, or with `trust_proxy` the last address
/// in `X-Forwarded-For` (the one the proxy in front saw; those before it are
/// the client's own say). The forwarded address has port 0: the proxy does not
/// say the client's port.
pub fn client_addr(peer: SocketAddr, forwarded_for: &[&str], trust_proxy: bool) -> SocketAddr {
    if !trust_proxy {
        return peer;
    }
    forwarded_for
        .iter()
        .flat_map(|value| value.split(','))
        .next_back()
        .and_then(|last| parse_forwarded(last.trim()))
        .map_or(peer, |ip| SocketAddr::new(ip, 0))
}

/// An address as proxies write it: `203.0.113.7`, `2001:db8::1`, or with a
/// port (`203.0.113.7:5100`, `[2001:db8::1]:5100`).
fn parse_forwarded(text: &str) -> Option<IpAddr> {
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_in_a_table() {
        let none: &[String] = &[];
        let listed = &["https://mud.example.org".to_string()];
        let any = &["*".to_string()];
        // Origin, Host, the operator's list, and whether the request may go on.
        type Case<'a> = (Option<&'a str>, Option<&'a str>, &'a [String], bool);
        let cases: &[Case] = &[
            // No Origin: no browser page, nothing to hijack.
            (None, Some("localhost:4080"), none, true),
            // The page's own origin, as served.
            (
                Some("http://localhost:4080"),
                Some("localhost:4080"),
                none,
                true,
            ),
            (
                Some("http://LocalHost:4080"),
                Some("localhost:4080"),
                none,
                true,
            ),
            // Behind a TLS proxy that passes Host on.
            (
                Some("https://mud.example.org"),
                Some("mud.example.org"),
                none,
                true,
            ),
            (
                Some("https://mud.example.org"),
                Some("mud.example.org:443"),
                none,
                true,
            ),
            // Another site, another port, another scheme's default port.
            (
                Some("https://evil.example"),
                Some("localhost:4080"),
                none,
                false,
            ),
            (
                Some("http://localhost:9999"),
                Some("localhost:4080"),
                none,
                false,
            ),
            (
                Some("http://mud.example.org"),
                Some("mud.example.org:443"),
                none,
                false,
            ),
            (Some("null"), Some("localhost:4080"), none, false),
            (Some("http://localhost:4080"), None, none, false),
            // An operator's list replaces the page's own origin.
            (
                Some("https://mud.example.org"),
                Some("127.0.0.1:4080"),
                listed,
                true,
            ),
            (
                Some("http://127.0.0.1:4080"),
                Some("127.0.0.1:4080"),
                listed,
                false,
            ),
            (Some("https://anywhere.example"), None, any, true),
        ];
        for (origin, host, allowed, want) in cases {
            assert_eq!(
                origin_allowed(*origin, *host, allowed),
                *want,
                "{origin:?} at {host:?} with {allowed:?}"
            );
        }
    }

    #[test]
    fn subprotocols_in_a_table() {
        let cases: &[(&[&str], Subprotocol)] = &[
            (&[], Subprotocol::Unnamed),
            (&[""], Subprotocol::Unnamed),
            (&["telnet.mudstandards.org"], Subprotocol::Telnet),
            (
                &["gmcp.mudstandards.org, telnet.mudstandards.org"],
                Subprotocol::Telnet,
            ),
            (&["json", "Telnet.MudStandards.org"], Subprotocol::Telnet),
            (&["gmcp.mudstandards.org"], Subprotocol::Unsupported),
            (&["chat, json"], Subprotocol::Unsupported),
        ];
        for (offered, want) in cases {
            assert_eq!(
                choose_subprotocol(offered.iter().copied()),
                *want,
                "{offered:?}"
            );
        }
    }

    #[test]
    fn client_addresses_in_a_table() {
        let peer: SocketAddr = "127.0.0.1:50000".parse().expect("addr");
        let at = |ip: &str| SocketAddr::new(ip.parse().expect("ip"), 0);
        let cases: &[(&[&str], bool, SocketAddr)] = &[
            (&["203.0.113.7"], false, peer),
            (&[], true, peer),
            (&["203.0.113.7"], true, at("203.0.113.7")),
            // The proxy appends what it saw; the client may have written the rest.
            (&["10.9.9.9, 203.0.113.7"], true, at("203.0.113.7")),
            (&["10.9.9.9", "198.51.100.2"], true, at("198.51.100.2")),
            (&["[2001:db8::1]:5100"], true, at("2001:db8::1")),
            (&["2001:db8::1"], true, at("2001:db8::1")),
            (&["203.0.113.7:5100"], true, at("203.0.113.7")),
            (&["unknown"], true, peer),
        ];
        for (forwarded, trust, want) in cases {
            assert_eq!(
                client_addr(peer, forwarded, *trust),
                *want,
                "{forwarded:?} trusted={trust}"
            );
        }
    }
}
