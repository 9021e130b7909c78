//! The `Host` check against DNS rebinding: a web page on `evil.example` whose name is made to
//! resolve to 127.0.0.1 reaches a server bound there, but its requests still say
//! `Host: evil.example`. Only the server's own names are answered.
//!
//! Allowed: `localhost`, `127.0.0.1`, `[::1]`, `server.host`, the host of `server.public_url`,
//! and `server.allowed_hosts` (`"*"` turns the check off). When `server.host` is a wildcard
//! (`0.0.0.0`, `::`) any IP literal is allowed too: an IP cannot be rebound, and the server
//! listens on every address. Ports are not compared.

use crate::config::ServerConfig;

/// Whether a request with this `Host` (or absolute-form authority) is for us.
pub fn is_allowed(host: &str, server: &ServerConfig) -> bool {
    let Some(name) = hostname(host) else {
        return false;
    };
    let same = |other: &str| hostname(other).is_some_and(|o| o.eq_ignore_ascii_case(name));
    if ["localhost", "127.0.0.1", "[::1]"].iter().any(|n| same(n)) {
        return true;
    }
    let bind = server.host.trim();
    if matches!(bind, "0.0.0.0" | "::" | "[::]") && is_ip_literal(name) {
        return true;
    }
    if same(bind) || (bind.contains(':') && same(&format!("[{bind}]"))) {
        return true;
    }
    if let Some(url) = &server.public_url
        && let Some(authority) = url.split_once("://").map(|(_, rest)| rest)
    {
        let end = authority.find(['/', '?', '#']).unwrap_or(authority.len());
        if same(&authority[..end]) {
            return true;
        }
    }
    server
        .allowed_hosts
        .iter()
        .any(|allowed| allowed == "*" || same(allowed))
}

/// The host name of a `Host` value: port and a trailing dot removed; IPv6 keeps its brackets.
fn hostname(host: &str) -> Option<&str> {
    let host = host.trim();
    let name = if host.starts_with('[') {
        &host[..=host.find(']')?]
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            Some(_) => return None,
            None => host,
        }
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    (!name.is_empty()).then_some(name)
}

fn is_ip_literal(name: &str) -> bool {
    let bare = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    bare.parse::<std::net::IpAddr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(host: &str, public_url: Option<&str>, allowed: &[&str]) -> ServerConfig {
        ServerConfig {
            host: host.into(),
            public_url: public_url.map(str::to_owned),
            allowed_hosts: allowed.iter().map(|s| (*s).to_owned()).collect(),
            ..ServerConfig::default()
        }
    }

    #[test]
    fn own_names_pass() {
        let s = server(
            "127.0.0.1",
            Some("https://bot.example.com/base"),
            &["chat.lan"],
        );
        for host in [
            "127.0.0.1:3000",
            "localhost:3000",
            "LOCALHOST",
            "[::1]:3000",
            "bot.example.com",
            "bot.example.com.:443",
            "chat.lan:3000",
        ] {
            assert!(is_allowed(host, &s), "{host}");
        }
    }

    #[test]
    fn other_names_are_refused() {
        let s = server("127.0.0.1", None, &[]);
        for host in [
            "evil.example",
            "evil.example:3000",
            "127.0.0.1.evil.example",
            "",
            "localhost:x",
            "10.0.0.5:3000",
        ] {
            assert!(!is_allowed(host, &s), "{host}");
        }
    }

    #[test]
    fn wildcard_binds_allow_ip_literals_and_star_allows_all() {
        let s = server("0.0.0.0", None, &[]);
        assert!(is_allowed("10.0.0.5:3000", &s));
        assert!(is_allowed("[fe80::1]:3000", &s));
        assert!(!is_allowed("evil.example", &s));
        assert!(is_allowed(
            "anything.example",
            &server("127.0.0.1", None, &["*"])
        ));
    }
}
