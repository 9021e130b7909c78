//! The gate every request passes: body limit, credentials, rate limit, access rule, CSRF.

use salvo::http::header::AUTHORIZATION;
use salvo::hyper::body::Body as _;
use salvo::prelude::*;

use super::{DepotExt, RequestId, csrf};
use crate::api::error::ApiError;
use crate::auth::policy::{self, Access};
use crate::auth::{API_KEY_PREFIX, AuthError, Principal};
use crate::config::Config;
use crate::state::AppState;

/// Name of the session cookie.
pub const AUTH_COOKIE: &str = "auth_token";

/// Paths the rate limiter never counts: load balancers and scrapers poll them.
const UNLIMITED: &[&str] = &["/api/system/health", "/metrics"];
/// Paths limited per client IP with `rate_limit.login_per_minute`.
const LOGIN: &[&str] = &["/api/auth/login", "/login/token"];

#[handler]
pub async fn guard_request(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    ctrl: &mut FlowCtrl,
) {
    let state = depot.app().clone();
    let config = state.config.current();
    if let Err(err) = pass(req, depot, res, &state, &config).await {
        let request_id = depot.get_typed::<RequestId>().ok().map(|id| id.0.clone());
        err.render(request_id.as_deref(), res);
        ctrl.skip_rest();
    }
}

async fn pass(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    state: &AppState,
    config: &Config,
) -> Result<(), ApiError> {
    limit_body(req, config)?;
    let path = req.uri().path().to_owned();
    let identified = identify(req, &path, state, config);

    // Rate limit first, so that guessing credentials is limited too.
    if !UNLIMITED.contains(&path.as_str()) {
        let login = LOGIN.contains(&path.as_str());
        let principal = identified.as_ref().ok().and_then(Option::as_ref);
        let per_minute = match principal {
            _ if login => config.rate_limit.login_per_minute,
            Some(principal) => principal
                .rate_limit_per_minute
                .unwrap_or(config.rate_limit.per_minute),
            None => config.rate_limit.per_minute,
        };
        if per_minute > 0 {
            let key = match principal {
                _ if login => format!("login:{}", client_ip(req)),
                Some(principal) => principal.rate_key(),
                None => format!("ip:{}", client_ip(req)),
            };
            let decision = state.rate_limiter.check(key, per_minute).await?;
            if let Some(refused) = decision.apply(res) {
                return Err(refused);
            }
        }
    }

    let mut access = policy::required_access(req.method(), &path);
    if path == "/metrics" && config.metrics.public {
        access = Access::Public;
    }
    let principal = match (access, identified) {
        (Access::Public, Ok(principal)) => principal,
        (Access::Public, Err(_)) => None,
        (_, Err(err)) => return Err(err.into()),
        (_, Ok(None)) => return Err(AuthError::Required.into()),
        (access, Ok(Some(principal))) => {
            if !policy::allows(access, &principal) {
                return Err(ApiError::forbidden(
                    "this credential lacks the scope required here",
                ));
            }
            Some(principal)
        }
    };
    if let Some(principal) = principal {
        if let crate::auth::Credential::Session {
            via_cookie: true, ..
        } = principal.credential
            && csrf::needs_check(req.method())
            && !csrf::is_same_origin(req, config.server.public_url.as_deref())
        {
            return Err(ApiError::forbidden(
                "cross-site request refused: send Origin of this server or X-Requested-With",
            ));
        }
        depot.insert_typed(principal);
    }
    Ok(())
}

/// Refuses bodies over the configured size and caps what a handler may read.
fn limit_body(req: &mut Request, config: &Config) -> Result<(), ApiError> {
    let limit = if req
        .content_type()
        .is_some_and(|m| m.subtype() == "form-data")
    {
        config.server.upload_body_limit
    } else {
        config.server.json_body_limit
    };
    let declared = req.body().size_hint().upper();
    if declared.is_some_and(|size| size > limit) {
        return Err(
            crate::api::error::from_status(StatusCode::PAYLOAD_TOO_LARGE, "", None)
                .with_details(serde_json::json!({ "limitBytes": limit })),
        );
    }
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    req.limit_body(limit);
    req.set_secure_max_size(limit);
    Ok(())
}

/// Finds the credential (first match wins: Bearer, cookie, `X-API-Key`, `?token=` on SSE
/// routes) and checks it. `Ok(None)`: no credential at all.
fn identify(
    req: &Request,
    path: &str,
    state: &AppState,
    config: &Config,
) -> Result<Option<Principal>, AuthError> {
    let bearer = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
                .ok_or(AuthError::Invalid("Authorization must be `Bearer <token>`"))
        });
    if let Some(token) = bearer {
        let token = token?.trim();
        return if token.starts_with(API_KEY_PREFIX) {
            state.auth.api_key(token).map(Some)
        } else {
            state.auth.session(token, false, &config.auth).map(Some)
        };
    }
    if let Some(cookie) = req.cookie(AUTH_COOKIE) {
        return state
            .auth
            .session(cookie.value(), true, &config.auth)
            .map(Some);
    }
    if let Some(key) = req.headers().get("x-api-key") {
        let key = key
            .to_str()
            .map_err(|_| AuthError::Invalid("invalid API key"))?;
        return state.auth.api_key(key.trim()).map(Some);
    }
    if policy::is_sse_route(path)
        && let Some(token) = req.query::<String>("token")
    {
        return state.auth.session(&token, false, &config.auth).map(Some);
    }
    Ok(None)
}

fn client_ip(req: &Request) -> String {
    req.remote_addr()
        .ip()
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}
