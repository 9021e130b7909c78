//! Cross-site request forgery guard for cookie-authenticated, state-changing requests.
//!
//! Such a request must prove it comes from our own origin: an `Origin` (or, failing that,
//! `Referer`) whose host matches the request's `Host` or `server.public_url`, or, from
//! non-browser clients, an `X-Requested-With` header (which a cross-site form cannot send and
//! a cross-site script cannot add without a CORS preflight we never grant).

use salvo::http::Method;
use salvo::http::header::{HOST, ORIGIN, REFERER};
use salvo::prelude::*;

pub fn needs_check(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

pub fn is_same_origin(req: &Request, public_url: Option<&str>) -> bool {
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    let claimed = header(ORIGIN)
        .filter(|origin| *origin != "null")
        .or_else(|| header(REFERER));
    let Some(claimed) = claimed else {
        return req.headers().contains_key("x-requested-with");
    };
    let Some(claimed_host) = authority(claimed) else {
        return false;
    };
    let host_matches = header(HOST).is_some_and(|host| host.eq_ignore_ascii_case(claimed_host));
    let public_matches = public_url
        .and_then(authority)
        .is_some_and(|host| host.eq_ignore_ascii_case(claimed_host));
    host_matches || public_matches
}

/// `host[:port]` of an absolute URL.
fn authority(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&rest[..end]).filter(|a| !a.is_empty())
}

#[cfg(test)]
mod tests {
    use super::authority;

    #[test]
    fn authority_of_urls() {
        assert_eq!(authority("http://127.0.0.1:3000"), Some("127.0.0.1:3000"));
        assert_eq!(authority("https://a.example/x?y"), Some("a.example"));
        assert_eq!(authority("nonsense"), None);
    }
}
