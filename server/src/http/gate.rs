//! The gate every request passes.
//!
//! Before routing matters ([`guard_request`], a service hoop): the `Host` check, canonical
//! paths, the body limit. Then admission ([`admit`], run by the route guard of
//! `http::access` with the rule the matched route declared): credentials, rate limit,
//! access, CSRF. A request that matched no route is admitted as if its route needed any
//! credential, so probing without one learns nothing (401 before 404).

use std::sync::Arc;

use salvo::http::header::{AUTHORIZATION, HOST};
use salvo::hyper::body::Body as _;
use salvo::prelude::*;

use super::error::{ApiError, code};
use super::rate_limit::RateLimiter;
use super::{RequestId, canonical, csrf, host};
use crate::auth::AuthService;
use crate::auth::policy::{Access, RateClass, Requirement, RouteRule};
use crate::auth::{API_KEY_PREFIX, AuthError, Principal};
use crate::config::{Config, ConfigService};

/// What the gate decides with, put in the depot for every request (before the routes).
pub struct Gatekeeper {
    pub config: Arc<ConfigService>,
    pub auth: Arc<AuthService>,
    pub limiter: RateLimiter,
}

fn gatekeeper(depot: &Depot) -> Arc<Gatekeeper> {
    match depot.get_typed::<Arc<Gatekeeper>>() {
        Ok(gate) => gate.clone(),
        // Injected by a service hoop ahead of the gate; reaching this is a wiring bug.
        Err(_) => panic!("Gatekeeper missing from the depot"),
    }
}

/// Name of the session cookie.
pub const AUTH_COOKIE: &str = "auth_token";

/// The rule of a request that matched no route: 404/405 to authenticated callers only.
const UNMATCHED: RouteRule = RouteRule::new(Access::Authenticated);

#[handler]
pub async fn guard_request(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    ctrl: &mut FlowCtrl,
) {
    let config = gatekeeper(depot).config.current();
    let checked = check_request(req, &config);
    if let Err(err) = checked {
        refuse(err, depot, res, ctrl);
        return;
    }
    // salvo sets 404/405 before the service hoops only when no route matched.
    let unmatched = matches!(
        res.status_code,
        Some(StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED)
    );
    if unmatched && !admit(req, depot, res, Some(UNMATCHED)).await {
        ctrl.skip_rest();
    }
}

/// What is checked before any route is considered.
fn check_request(req: &mut Request, config: &Config) -> Result<(), ApiError> {
    let claimed = req
        .uri()
        .authority()
        .map(|a| a.as_str())
        .or_else(|| req.headers().get(HOST).and_then(|v| v.to_str().ok()));
    if !claimed.is_some_and(|h| host::is_allowed(h, &config.server)) {
        return Err(ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            code::HOST_NOT_ALLOWED,
            "this server does not answer to that Host; add the name to server.allowed_hosts",
        ));
    }
    if let Err(why) = canonical::check(req.uri().path()) {
        return Err(ApiError::validation(format!(
            "non-canonical request path: {why}"
        )));
    }
    limit_body(req, config)
}

fn refuse(err: ApiError, depot: &Depot, res: &mut Response, ctrl: &mut FlowCtrl) {
    let request_id = depot.get_typed::<RequestId>().ok().map(|id| id.0.clone());
    err.render(request_id.as_deref(), res);
    ctrl.skip_rest();
}

/// Admits a request under its route's rule (`None`: the route declared nothing and is
/// refused). On refusal the error is rendered and `false` returned; on admission the
/// principal, if any, is in the depot.
pub async fn admit(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    rule: Option<RouteRule>,
) -> bool {
    let state = gatekeeper(depot);
    let config = state.config.current();
    match decide(req, res, &state, &config, rule).await {
        Ok(principal) => {
            if let Some(principal) = principal {
                depot.insert_typed(principal);
            }
            true
        }
        Err(err) => {
            let request_id = depot.get_typed::<RequestId>().ok().map(|id| id.0.clone());
            err.render(request_id.as_deref(), res);
            false
        }
    }
}

async fn decide(
    req: &mut Request,
    res: &mut Response,
    state: &Gatekeeper,
    config: &Config,
    rule: Option<RouteRule>,
) -> Result<Option<Principal>, ApiError> {
    let query_token = rule.is_some_and(|r| r.query_token);
    let identified = identify(req, query_token, state, config);
    let Some(rule) = rule else {
        tracing::error!(path = %req.uri().path(), "route declares no access: refused");
        return Err(match identified {
            Ok(Some(_)) => ApiError::forbidden("this route declares no access"),
            _ => AuthError::Required.into(),
        });
    };
    if !rule.directory && canonical::has_trailing_slash(req.uri().path()) {
        return Err(ApiError::validation(
            "non-canonical request path: remove the trailing `/`",
        ));
    }

    // Rate limit first, so that guessing credentials is limited too.
    let principal = identified.as_ref().ok().and_then(Option::as_ref);
    let counter = match (rule.rate, principal) {
        (RateClass::Exempt, _) => None,
        (RateClass::Login, _) => Some((
            format!("login:{}", client_ip(req)),
            config.rate_limit.login_per_minute,
        )),
        (RateClass::Principal, Some(principal)) => Some((
            principal.rate_key(),
            principal
                .rate_limit_per_minute
                .unwrap_or(config.rate_limit.per_minute),
        )),
        (RateClass::Principal, None) => Some((
            format!("ip:{}", client_ip(req)),
            config.rate_limit.per_minute,
        )),
    };
    if let Some((key, per_minute)) = counter
        && per_minute > 0
    {
        let decision = state.limiter.check(key, per_minute).await?;
        if let Some(refused) = decision.apply(res) {
            return Err(refused);
        }
    }

    let requirement = rule.access.requirement(req.method(), config.metrics.public);
    let principal = match (requirement, identified) {
        (Requirement::None, Ok(principal)) => principal,
        (Requirement::None, Err(_)) => None,
        (_, Err(err)) => return Err(err.into()),
        (_, Ok(None)) => return Err(AuthError::Required.into()),
        (requirement, Ok(Some(principal))) => {
            if !requirement.allows(&principal) {
                return Err(ApiError::forbidden(
                    "this credential lacks the scope required here",
                ));
            }
            Some(principal)
        }
    };
    if let Some(principal) = &principal
        && let crate::auth::Credential::Session {
            via_cookie: true, ..
        } = principal.credential
        && csrf::needs_check(req.method())
        && !csrf::is_same_origin(req, config.server.public_url.as_deref())
    {
        return Err(ApiError::forbidden(
            "cross-site request refused: send Origin of this server or X-Requested-With",
        ));
    }
    Ok(principal)
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
            super::error::from_status(StatusCode::PAYLOAD_TOO_LARGE, "", None)
                .with_details(serde_json::json!({ "limitBytes": limit })),
        );
    }
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    req.limit_body(limit);
    req.set_secure_max_size(limit);
    Ok(())
}

/// Finds the credential (first match wins: Bearer, cookie, `X-API-Key`, `?token=` where the
/// route accepts it) and checks it. `Ok(None)`: no credential at all.
fn identify(
    req: &Request,
    query_token: bool,
    state: &Gatekeeper,
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
    if query_token && let Some(token) = req.query::<String>("token") {
        return state.auth.session(&token, false, &config.auth).map(Some);
    }
    Ok(None)
}

fn client_ip(req: &Request) -> String {
    req.remote_addr()
        .ip()
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}
