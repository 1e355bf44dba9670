//! The web listener's decisions about a request, as pure functions tested in
//! tables: whether a request's `Host` names this listener (against DNS
//! rebinding), whether a page's `Origin` may open the WebSocket, which
//! subprotocol a client gets, and which address a client has.

use std::net::{IpAddr, SocketAddr};

/// The one WebSocket subprotocol gaslamp speaks: the telnet byte stream in
/// binary frames (mudstandards.org).
pub const TELNET_PROTOCOL: &str = "telnet.mudstandards.org";

/// Whether a request may be served, judged by the host name in its `Host`
/// header (against DNS rebinding: a page whose own name the attacker points
/// at 127.0.0.1 reaches a loopback listener with its own name as both `Host`
/// and `Origin`, which the Origin check alone lets in).
///
/// On a listener bound to a loopback address only the loopback's names may
/// be served — `localhost`, a loopback address (`127.0.0.1`, `[::1]`) — or
/// one of `names` (`--web-host`, lowercased, as `cli` stores them), with any
/// port or none: the port is not what a rebinding changes, and a tunnel to
/// the listener may arrive on another. A request without `Host` comes from
/// no browser and may. On any other bind every name may: the listener is
/// reachable by any name there, and the Origin check guards the WebSocket.
pub fn host_allowed(host: Option<&str>, loopback_bind: bool, names: &[String]) -> bool {
    if !loopback_bind {
        return true;
    }
    let Some(host) = host else {
        return true;
    };
    let Some(name) = host_name(host) else {
        return false;
    };
    if name == "localhost" || names.contains(&name) {
        return true;
    }
    let literal = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(&name);
    match literal.parse::<IpAddr>() {
        // IPv6 only in brackets, IPv4 never in them (RFC 3986's host).
        Ok(IpAddr::V6(ip)) if literal.len() < name.len() => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Ok(IpAddr::V4(ip)) if literal.len() == name.len() => ip.is_loopback(),
        _ => false,
    }
}

/// The host name of a `Host` header (`Name.example:8080`, `[::1]:4080`),
/// lowercased and without a port or the root's trailing dot; `None` when the
/// header is no `host[:port]`.
fn host_name(host: &str) -> Option<String> {
    let host = host.trim();
    let (name, port) = match host.rfind(':') {
        // A colon inside brackets belongs to an IPv6 address.
        Some(at) if !host[at..].contains(']') => (&host[..at], Some(&host[at + 1..])),
        _ => (host, None),
    };
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    let name = name.strip_suffix('.').unwrap_or(name);
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._[]:".contains(&b));
    (port_ok && name_ok).then(|| name.to_ascii_lowercase())
}

/// A `--web-host` name as [`host_allowed`] compares it: lowercased, without
/// the root's trailing dot; `None` for anything but a bare host name or
/// address (no port, no scheme, no path).
pub fn web_host_name(text: &str) -> Option<String> {
    let text = text.trim();
    let name = host_name(text)?;
    // host_name drops a port; a flag's name has none to drop.
    let bare = text.strip_suffix('.').unwrap_or(text);
    (name.len() == bare.len()).then_some(name)
}

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
    fn hosts_in_a_table() {
        let none: &[String] = &[];
        let named = &["mud.example.org".to_string()];
        // Host, whether the listener is bound to loopback, --web-host, and
        // whether the request may be served.
        type Case<'a> = (Option<&'a str>, bool, &'a [String], bool);
        let cases: &[Case] = &[
            // The loopback's own names, with a port or none, in any case.
            (Some("localhost:4080"), true, none, true),
            (Some("LocalHost"), true, none, true),
            (Some("localhost.:4080"), true, none, true),
            (Some("127.0.0.1:4080"), true, none, true),
            (Some("127.0.0.2"), true, none, true),
            (Some("[::1]:4080"), true, none, true),
            (Some("[::1]"), true, none, true),
            (Some("[::ffff:127.0.0.1]:80"), true, none, true),
            // No Host: no browser page.
            (None, true, none, true),
            // A rebound name, another address, and what is no Host at all.
            (Some("attacker.example:4080"), true, none, false),
            (Some("attacker.example"), true, none, false),
            (Some("localhost.attacker.example"), true, none, false),
            (Some("127.0.0.1.attacker.example"), true, none, false),
            (Some("0.0.0.0:4080"), true, none, false),
            (Some("192.168.1.5:4080"), true, none, false),
            (Some("[::2]:4080"), true, none, false),
            (Some("::1"), true, none, false),
            (Some("[127.0.0.1]"), true, none, false),
            (Some("localhost:http"), true, none, false),
            (Some("localhost:"), true, none, false),
            (Some("local host"), true, none, false),
            (Some(""), true, none, false),
            // A reverse proxy's name, given with --web-host.
            (Some("mud.example.org"), true, named, true),
            (Some("MUD.example.org:443"), true, named, true),
            (Some("mud.example.org."), true, named, true),
            (Some("play.example.org"), true, named, false),
            (Some("localhost:4080"), true, named, true),
            // Any other bind: the Origin check is the guard.
            (Some("attacker.example:4080"), false, none, true),
            (Some(""), false, none, true),
        ];
        for (host, loopback, names, want) in cases {
            assert_eq!(
                host_allowed(*host, *loopback, names),
                *want,
                "{host:?} on loopback={loopback} with {names:?}"
            );
        }
    }

    #[test]
    fn web_host_names_in_a_table() {
        let cases = [
            ("mud.example.org", Some("mud.example.org")),
            (" Mud.Example.ORG. ", Some("mud.example.org")),
            ("10.0.0.7", Some("10.0.0.7")),
            ("[2001:db8::7]", Some("[2001:db8::7]")),
            ("mud.example.org:443", None),
            ("https://mud.example.org", None),
            ("mud.example.org/play", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(web_host_name(text).as_deref(), want, "{text:?}");
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
