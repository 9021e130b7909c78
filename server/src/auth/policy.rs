//! Which credential a route needs. One table for the whole API, so it can be audited at a glance.

use salvo::http::Method;

use super::principal::{Principal, Scope};

/// What a request needs before its handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No credential at all (login, health, OpenAPI document, docs page).
    Public,
    /// Any authenticated principal (`/api/auth/verify`, `/me`, `/refresh`, `/logout`).
    Authenticated,
    /// A principal holding one of these scopes (the admin holds all).
    AnyOf(&'static [Scope]),
}

/// The access rule of a request. Unknown paths still need a credential, so probing the API
/// without one learns nothing (404s are given to authenticated callers only).
pub fn required_access(method: &Method, path: &str) -> Access {
    let path = path.trim_end_matches('/');
    match path {
        "/api/auth/login" | "/login/token" | "/api/system/health" | "/api/openapi.json" => {
            return Access::Public;
        }
        "/api/auth/verify" | "/api/auth/me" | "/api/auth/refresh" | "/api/auth/logout" => {
            return Access::Authenticated;
        }
        _ => {}
    }
    if path == "/api/docs" || path.starts_with("/api/docs/") {
        return Access::Public;
    }
    if !path.starts_with("/api") && path != "/metrics" && path != "/mcp" {
        // The panel's static files.
        return Access::Public;
    }
    if is_tool_call(method, path) {
        return Access::AnyOf(&[Scope::ToolsCall]);
    }
    let is_read = *method == Method::GET || *method == Method::HEAD;
    if path == "/api/chat" || path.starts_with("/api/chat/") {
        return if is_read {
            Access::AnyOf(&[Scope::Chat, Scope::Read])
        } else {
            Access::AnyOf(&[Scope::Chat])
        };
    }
    if is_read && path != "/api/auth/tokens" {
        return Access::AnyOf(&[Scope::Read]);
    }
    Access::AnyOf(&[Scope::Admin])
}

fn is_tool_call(method: &Method, path: &str) -> bool {
    if path == "/mcp" {
        return true;
    }
    if *method != Method::POST {
        return false;
    }
    let segments: Vec<&str> = path.split('/').collect();
    matches!(
        segments.as_slice(),
        ["", "api", "tools", "call"]
            | ["", "api", "tools", _, "execute"]
            | ["", "api", "skills", _, "run"]
    )
}

/// May this principal pass this rule?
pub fn allows(access: Access, principal: &Principal) -> bool {
    match access {
        Access::Public | Access::Authenticated => true,
        Access::AnyOf(scopes) => scopes.iter().any(|scope| principal.has(*scope)),
    }
}

/// Routes where `?token=` is accepted: EventSource cannot send headers.
pub fn is_sse_route(path: &str) -> bool {
    path.ends_with("/sse") || path == "/api/chat/stream"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        assert_eq!(
            required_access(&Method::POST, "/api/auth/login"),
            Access::Public
        );
        assert_eq!(
            required_access(&Method::GET, "/api/config"),
            Access::AnyOf(&[Scope::Read])
        );
        assert_eq!(
            required_access(&Method::PUT, "/api/config"),
            Access::AnyOf(&[Scope::Admin])
        );
        assert_eq!(
            required_access(&Method::GET, "/api/auth/tokens"),
            Access::AnyOf(&[Scope::Admin])
        );
        assert_eq!(
            required_access(&Method::POST, "/api/tools/call"),
            Access::AnyOf(&[Scope::ToolsCall])
        );
        assert_eq!(
            required_access(&Method::POST, "/api/tools/calc/execute"),
            Access::AnyOf(&[Scope::ToolsCall])
        );
        assert_eq!(
            required_access(&Method::POST, "/api/chat"),
            Access::AnyOf(&[Scope::Chat])
        );
        assert_eq!(
            required_access(&Method::GET, "/metrics"),
            Access::AnyOf(&[Scope::Read])
        );
    }
}
