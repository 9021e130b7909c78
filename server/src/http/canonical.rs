//! Request paths must be canonical: one spelling per resource, so that what a log, a proxy
//! rule or a person reads is what the router matched.
//!
//! Refused: empty segments (`//`), `.` and `..` segments, percent-encodings of unreserved
//! characters (RFC 3986: `A-Z a-z 0-9 - . _ ~`) or of `/`, malformed percent-encodings.
//! A trailing `/` is refused by the route guard unless the route is a directory.

/// Why a path is not canonical.
pub fn check(path: &str) -> Result<(), &'static str> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err("the path must start with `/`");
    };
    if rest.is_empty() {
        return Ok(());
    }
    let segments: Vec<&str> = rest.split('/').collect();
    let last = segments.len() - 1;
    for (index, segment) in segments.iter().enumerate() {
        match *segment {
            // A trailing slash is the route's business (directories allow it).
            "" if index == last => {}
            "" => return Err("the path has an empty segment (`//`)"),
            "." | ".." => return Err("the path has a `.` or `..` segment"),
            _ => check_escapes(segment)?,
        }
    }
    Ok(())
}

/// Whether the path ends with a `/` after at least one segment.
pub fn has_trailing_slash(path: &str) -> bool {
    path.len() > 1 && path.ends_with('/')
}

fn check_escapes(segment: &str) -> Result<(), &'static str> {
    let bytes = segment.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .ok_or("malformed percent-encoding")?;
            let text = std::str::from_utf8(hex).map_err(|_| "malformed percent-encoding")?;
            let byte = u8::from_str_radix(text, 16).map_err(|_| "malformed percent-encoding")?;
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
                return Err("the path percent-encodes a character that needs no encoding, or `/`");
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_paths_pass() {
        for path in [
            "/",
            "/api/config",
            "/api/tools/calc/execute",
            "/api/docs/",
            "/api/tools/a%20b",
            "/api/tools/%E4%BD%A0",
        ] {
            assert_eq!(check(path), Ok(()), "{path}");
        }
    }

    #[test]
    fn tricks_are_refused() {
        for path in [
            "//api/auth/api-keys",
            "/api//auth/tokens",
            "/%61pi/config",
            "/api/%63onfig",
            "/api%2Fconfig",
            "/api%2fconfig",
            "/./api/config",
            "/api/x/../config",
            "/api/%2e%2e/config",
            "/api/config/.",
            "/api/bad%zz",
            "/api/bad%4",
            "api/config",
        ] {
            assert!(check(path).is_err(), "{path} must be refused");
        }
    }

    #[test]
    fn trailing_slash() {
        assert!(has_trailing_slash("/api/auth/login/"));
        assert!(!has_trailing_slash("/"));
        assert!(!has_trailing_slash("/api"));
    }
}
