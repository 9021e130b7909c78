//! Fixed-window rate limiting per principal, on salvo-rate-limiter's atomic store.
//!
//! Counters live in memory, per instance: behind a load balancer with N instances a principal
//! may make up to N × the limit. Documented in the README.

use salvo::http::header::HeaderValue;
use salvo::prelude::*;
use salvo::rate_limiter::{BasicQuota, FixedGuard, MokaStore, RateGuard, RateStore};

use super::error::{ApiError, code};

/// What one check decided.
pub struct Decision {
    pub allowed: bool,
    pub limit: usize,
    pub remaining: usize,
    /// Unix seconds at which the window resets.
    pub reset: i64,
}

/// Counts requests per key in 60 s windows.
pub struct RateLimiter {
    store: MokaStore<String, FixedGuard>,
    guard: FixedGuard,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self {
            store: MokaStore::new(),
            guard: FixedGuard::new(),
        }
    }
}

impl RateLimiter {
    /// Counts one request under `key` against `per_minute`.
    pub async fn check(&self, key: String, per_minute: u32) -> Result<Decision, ApiError> {
        let quota = BasicQuota::per_minute(per_minute as usize);
        let state = self
            .store
            .verify_guard(key, &self.guard, &quota)
            .await
            .map_err(ApiError::internal)?;
        Ok(Decision {
            allowed: state.allowed,
            limit: state.guard.limit(&quota).await,
            remaining: state.guard.remaining(&quota).await,
            reset: state.guard.reset(&quota).await,
        })
    }
}

impl Decision {
    /// Adds the `X-RateLimit-*` headers; on refusal, the 429 error to send.
    pub fn apply(&self, res: &mut Response) -> Option<ApiError> {
        let headers = res.headers_mut();
        headers.insert("x-ratelimit-limit", HeaderValue::from(self.limit as u64));
        headers.insert(
            "x-ratelimit-remaining",
            HeaderValue::from(self.remaining as u64),
        );
        headers.insert("x-ratelimit-reset", HeaderValue::from(self.reset));
        if self.allowed {
            return None;
        }
        let wait = (self.reset - chrono::Utc::now().timestamp()).max(1) as u64;
        Some(
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                code::RATE_LIMITED,
                format!("rate limit of {} requests per minute exceeded", self.limit),
            )
            .with_retry_after(wait),
        )
    }
}
