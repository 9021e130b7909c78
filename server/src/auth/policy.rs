//! The access rules a route can declare, and whether a principal passes one.
//!
//! Rules are declared next to the routes (`http::access`), never derived from the request path.

use salvo::http::Method;

use super::principal::{Principal, Scope};

/// What a route needs before its handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No credential at all (login, health, OpenAPI document, docs page, the panel page).
    Public,
    /// Any authenticated principal (`/api/auth/verify`, `/me`, `/refresh`, `/logout`).
    Authenticated,
    /// A principal holding one of these scopes (the admin holds all).
    AnyOf(&'static [Scope]),
    /// Reading methods (GET, HEAD) need one of `read`, every other method one of `write`.
    ByMethod {
        read: &'static [Scope],
        write: &'static [Scope],
    },
    /// Public when `metrics.public` is on, else `read`.
    Metrics,
}

impl Access {
    /// The admin only.
    pub const ADMIN: Access = Access::AnyOf(&[Scope::Admin]);
    /// `read` for GET, the admin for changes: the rule of every management resource.
    pub const READ_ADMIN: Access = Access::ByMethod {
        read: &[Scope::Read],
        write: &[Scope::Admin],
    };
    /// Running tools and skills.
    pub const TOOLS_CALL: Access = Access::AnyOf(&[Scope::ToolsCall]);
    /// Chatting; reading chat state is also open to `read`.
    pub const CHAT: Access = Access::ByMethod {
        read: &[Scope::Chat, Scope::Read],
        write: &[Scope::Chat],
    };

    /// The requirement for a request with this method (`metrics_public`: `metrics.public`).
    pub fn requirement(self, method: &Method, metrics_public: bool) -> Requirement {
        match self {
            Access::Public => Requirement::None,
            Access::Authenticated => Requirement::Principal,
            Access::AnyOf(scopes) => Requirement::AnyOf(scopes),
            Access::ByMethod { read, write } => {
                if *method == Method::GET || *method == Method::HEAD {
                    Requirement::AnyOf(read)
                } else {
                    Requirement::AnyOf(write)
                }
            }
            Access::Metrics if metrics_public => Requirement::None,
            Access::Metrics => Requirement::AnyOf(&[Scope::Read]),
        }
    }

    /// How the README and the route table name it.
    pub fn describe(self) -> String {
        let scopes = |scopes: &[Scope]| {
            scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("|")
        };
        match self {
            Access::Public => "public".into(),
            Access::Authenticated => "authenticated".into(),
            Access::AnyOf(s) => scopes(s),
            Access::ByMethod { read, write } => {
                format!("GET: {}; others: {}", scopes(read), scopes(write))
            }
            Access::Metrics => "read (public with metrics.public)".into(),
        }
    }
}

/// What one request needs, once the method and config are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    None,
    Principal,
    AnyOf(&'static [Scope]),
}

impl Requirement {
    /// May this principal pass?
    pub fn allows(self, principal: &Principal) -> bool {
        match self {
            Requirement::None | Requirement::Principal => true,
            Requirement::AnyOf(scopes) => scopes.iter().any(|scope| principal.has(*scope)),
        }
    }
}

/// Which rate-limit counter a route's requests go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateClass {
    /// Per principal (client IP when anonymous), `rate_limit.per_minute`.
    Principal,
    /// Per client IP, `rate_limit.login_per_minute`: login attempts.
    Login,
    /// Never counted: load balancers and scrapers poll these.
    Exempt,
}

/// Everything a route declares about who may call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteRule {
    pub access: Access,
    pub rate: RateClass,
    /// `?token=<jwt>` is accepted (SSE: EventSource cannot send headers).
    pub query_token: bool,
    /// The route is a directory: its path may end with `/` (the docs page).
    pub directory: bool,
}

impl RouteRule {
    pub const fn new(access: Access) -> Self {
        Self {
            access,
            rate: RateClass::Principal,
            query_token: false,
            directory: false,
        }
    }

    pub const fn rate(mut self, rate: RateClass) -> Self {
        self.rate = rate;
        self
    }

    pub const fn query_token(mut self) -> Self {
        self.query_token = true;
        self
    }

    pub const fn directory(mut self) -> Self {
        self.directory = true;
        self
    }
}

impl From<Access> for RouteRule {
    fn from(access: Access) -> Self {
        RouteRule::new(access)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_by_method() {
        assert_eq!(
            Access::READ_ADMIN.requirement(&Method::GET, false),
            Requirement::AnyOf(&[Scope::Read])
        );
        assert_eq!(
            Access::READ_ADMIN.requirement(&Method::PUT, false),
            Requirement::AnyOf(&[Scope::Admin])
        );
        assert_eq!(
            Access::Metrics.requirement(&Method::GET, true),
            Requirement::None
        );
        assert_eq!(
            Access::Metrics.requirement(&Method::GET, false),
            Requirement::AnyOf(&[Scope::Read])
        );
        assert_eq!(
            Access::TOOLS_CALL.requirement(&Method::POST, false),
            Requirement::AnyOf(&[Scope::ToolsCall])
        );
    }
}
