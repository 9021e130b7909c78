//! Cross-cutting HTTP concerns: request id + tracing + metrics, the `Host` and canonical-path
//! checks, access declared per route (credentials, rate limit, scope, CSRF), error envelope.

pub mod access;
mod canonical;
mod catcher;
mod csrf;
mod gate;
mod host;
mod observe;
mod rate_limit;

use std::sync::Arc;

use salvo::Depot;

pub use access::{RouteEntry, RouterAccess, seal};
pub use catcher::envelope_catcher;
pub use gate::{AUTH_COOKIE, guard_request};
pub use observe::observe_request;
pub use rate_limit::RateLimiter;

use crate::auth::Principal;
use crate::state::AppState;

/// The id of the current request (`X-Request-Id`), in the depot.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Typed access to what the hoops put in the depot.
pub trait DepotExt {
    /// The application state. Injected for every request before any handler runs.
    fn app(&self) -> &Arc<AppState>;
    /// The authenticated caller, if any.
    fn principal(&self) -> Option<&Principal>;
}

impl DepotExt for Depot {
    fn app(&self) -> &Arc<AppState> {
        match self.get_typed::<Arc<AppState>>() {
            Ok(state) => state,
            // The state hoop runs first on every route; reaching this is a wiring bug.
            Err(_) => panic!("AppState missing from the depot"),
        }
    }

    fn principal(&self) -> Option<&Principal> {
        self.get_typed::<Principal>().ok()
    }
}
