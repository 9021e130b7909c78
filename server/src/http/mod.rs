//! Cross-cutting HTTP concerns: request id + tracing + metrics, the `Host` and canonical-path
//! checks, access declared per route (credentials, rate limit, scope, CSRF), error envelope.

pub mod access;
mod canonical;
mod catcher;
mod csrf;
pub mod error;
mod gate;
mod host;
mod observe;
mod rate_limit;
pub mod sse;

use salvo::Depot;

pub use access::{RouteEntry, RouterAccess, seal};
pub use catcher::envelope_catcher;
pub use gate::{AUTH_COOKIE, Gatekeeper, guard_request};
pub use observe::observe_request;
pub use rate_limit::RateLimiter;

use crate::auth::Principal;

/// The id of the current request (`X-Request-Id`), in the depot.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Typed access to what the gate put in the depot.
pub trait DepotExt {
    /// The authenticated caller, if any.
    fn principal(&self) -> Option<&Principal>;
}

impl DepotExt for Depot {
    fn principal(&self) -> Option<&Principal> {
        self.get_typed::<Principal>().ok()
    }
}
