//! `/api/auth` and `/login/token`: login, sessions, login links, API keys.

use salvo::http::cookie::time::Duration as CookieDuration;
use salvo::http::cookie::{Cookie, SameSite};
use salvo::oapi::extract::{JsonBody, PathParam, QueryParam};
use salvo::oapi::{ToSchema, endpoint};
use salvo::prelude::*;
use serde::{Deserialize, Serialize};

use super::AppDepot;
use super::error::ApiError;
use super::reply::{ApiResult, Empty, Reply};
use super::timestamp;
use crate::auth::policy::{Access, RateClass, RouteRule};
use crate::auth::{Claims, Credential, Principal, Scope};
use crate::config::Config;
use crate::http::{AUTH_COOKIE, DepotExt, RouterAccess};

pub fn router() -> Router {
    Router::with_path("auth")
        .access(Access::ADMIN)
        .push(
            Router::with_path("login")
                .access(RouteRule::new(Access::Public).rate(RateClass::Login))
                .post(login),
        )
        .push(
            Router::new()
                .access(Access::Authenticated)
                .push(Router::with_path("verify").get(verify).post(verify))
                .push(Router::with_path("me").get(me))
                .push(Router::with_path("refresh").post(refresh))
                .push(Router::with_path("logout").post(logout)),
        )
        .push(Router::with_path("login-links").post(create_login_link))
        .push(Router::with_path("tokens").get(list_tokens))
        .push(Router::with_path("tokens/{id}").delete(delete_token))
        .push(Router::with_path("api-keys").post(create_api_key))
}

/// `/login/token` lives outside `/api`: it is the link a person opens.
pub fn link_router() -> Router {
    Router::with_path("login/token")
        .access(RouteRule::new(Access::Public).rate(RateClass::Login))
        .get(login_with_link)
}

#[derive(Deserialize, ToSchema)]
struct LoginRequest {
    /// A login token from a login link.
    token: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct UserView {
    user_id: String,
    username: String,
    avatar: Option<String>,
    is_admin: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SessionView {
    /// The session JWT (also set as the `auth_token` cookie).
    token: String,
    expires_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<UserView>,
}

fn admin_user() -> UserView {
    UserView {
        user_id: crate::auth::ADMIN_SUBJECT.to_owned(),
        username: crate::auth::ADMIN_SUBJECT.to_owned(),
        avatar: None,
        is_admin: true,
    }
}

fn session_cookie(token: String, config: &Config) -> Cookie<'static> {
    let secure = config.auth.cookie_secure.unwrap_or_else(|| {
        config
            .server
            .public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"))
    });
    Cookie::build((AUTH_COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(secure)
        .max_age(CookieDuration::seconds(
            i64::try_from(config.auth.session_ttl).unwrap_or(i64::MAX / 2),
        ))
        .build()
}

fn session_view(token: String, claims: &Claims, user: bool) -> SessionView {
    SessionView {
        token,
        expires_at: timestamp(claims.exp.saturating_mul(1000)),
        user: user.then(admin_user),
    }
}

/// Exchange a login token for a session
///
/// Temporary login tokens work once; permanent ones until revoked. Sets the `auth_token` cookie.
#[endpoint(tags("auth"))]
async fn login(
    body: JsonBody<LoginRequest>,
    depot: &mut Depot,
    res: &mut Response,
) -> ApiResult<SessionView> {
    let state = depot.app().clone();
    let config = state.config.current();
    let (token, claims) = state.auth.login(&body.token, &config.auth).await?;
    res.add_cookie(session_cookie(token.clone(), &config));
    Ok(Reply::ok(session_view(token, &claims, true)))
}

/// Open a login link
///
/// Sets the session cookie and redirects to the panel (`/`); an invalid or used token redirects
/// to `/login?error=invalid_token`.
#[endpoint(tags("auth"), responses((status_code = 302, description = "Redirect to `/` with the session cookie set, or to `/login?error=invalid_token`")))]
async fn login_with_link(token: QueryParam<String, false>, depot: &mut Depot, res: &mut Response) {
    let state = depot.app().clone();
    let config = state.config.current();
    let outcome = match token.into_inner() {
        Some(token) => state.auth.login(&token, &config.auth).await,
        None => Err(crate::auth::AuthError::Required),
    };
    match outcome {
        Ok((token, _)) => {
            res.add_cookie(session_cookie(token, &config));
            res.render(Redirect::found("/"));
        }
        Err(err) => {
            tracing::info!(error = %err, "login link refused");
            res.render(Redirect::found("/login?error=invalid_token"));
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct VerifyView {
    user_id: String,
    username: String,
    is_admin: bool,
    scopes: Vec<Scope>,
    /// Session expiry (Unix seconds); `null` for API keys.
    exp: Option<i64>,
}

fn caller(depot: &Depot) -> Result<Principal, ApiError> {
    depot
        .principal()
        .cloned()
        .ok_or_else(|| crate::auth::AuthError::Required.into())
}

/// Check the credential and describe it
#[endpoint(tags("auth"))]
async fn verify(depot: &mut Depot) -> ApiResult<VerifyView> {
    let principal = caller(depot)?;
    let exp = match &principal.credential {
        Credential::Session { exp, .. } => Some(*exp),
        Credential::ApiKey { .. } => None,
    };
    Ok(Reply::ok(VerifyView {
        is_admin: principal.is_admin(),
        user_id: principal.id,
        username: principal.username,
        scopes: principal.scopes,
        exp,
    }))
}

/// The current user
#[endpoint(tags("auth"))]
async fn me(depot: &mut Depot) -> ApiResult<UserView> {
    let principal = caller(depot)?;
    Ok(Reply::ok(UserView {
        is_admin: principal.is_admin(),
        user_id: principal.id,
        username: principal.username,
        avatar: None,
    }))
}

/// Renew the session
///
/// Issues a new session token and revokes the old one.
#[endpoint(tags("auth"))]
async fn refresh(depot: &mut Depot, res: &mut Response) -> ApiResult<SessionView> {
    let principal = caller(depot)?;
    let state = depot.app().clone();
    let config = state.config.current();
    let (token, claims) = state.auth.refresh(&principal, &config.auth).await?;
    res.add_cookie(session_cookie(token.clone(), &config));
    Ok(Reply::ok(session_view(token, &claims, false)))
}

/// End the session
///
/// Revokes the session token and clears the cookie.
#[endpoint(tags("auth"))]
async fn logout(depot: &mut Depot, res: &mut Response) -> ApiResult<Option<Empty>> {
    let principal = caller(depot)?;
    let Credential::Session { jti, exp, .. } = &principal.credential else {
        return Err(ApiError::forbidden("only panel sessions can log out"));
    };
    depot.app().auth.revoke(jti, *exp).await?;
    res.add_cookie(
        Cookie::build((AUTH_COOKIE, ""))
            .path("/")
            .http_only(true)
            .max_age(CookieDuration::ZERO)
            .build(),
    );
    Empty::reply()
}

#[derive(Deserialize, ToSchema, Default)]
struct LoginLinkRequest {
    /// A permanent link works until revoked; otherwise it expires after 5 minutes and works once.
    #[serde(default)]
    permanent: bool,
    label: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct LoginLinkView {
    url: String,
    /// Shown once; only its hash is stored.
    token: String,
    expires_at: Option<String>,
    id: String,
}

/// Create a login link
#[endpoint(tags("auth"))]
async fn create_login_link(
    body: JsonBody<LoginLinkRequest>,
    depot: &mut Depot,
) -> ApiResult<LoginLinkView> {
    let state = depot.app().clone();
    let config = state.config.current();
    let body = body.into_inner();
    let label = body
        .label
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty());
    let issued = state
        .auth
        .create_login_token(body.permanent, label, &config.auth)
        .await?;
    Ok(Reply::ok(LoginLinkView {
        url: login_url_with_base(
            state
                .base_url
                .get()
                .map_or(&config.public_base_url(), |base| base),
            &issued.token,
        ),
        token: issued.token,
        expires_at: issued.expires_at.map(timestamp),
        id: issued.id,
    }))
}

/// The login link under a given base URL (`http://host:port` or `server.public_url`).
pub fn login_url_with_base(base: &str, token: &str) -> String {
    format!("{base}/login/token?token={token}")
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CredentialView {
    id: String,
    /// `login-token` (permanent) or `api-key`.
    kind: String,
    label: Option<String>,
    scopes: Vec<String>,
    rate_limit_per_minute: Option<u32>,
    created_at: String,
    last_used_at: Option<String>,
}

/// Permanent login tokens and API keys (never their secrets)
#[endpoint(tags("auth"))]
async fn list_tokens(depot: &mut Depot) -> ApiResult<Vec<CredentialView>> {
    let auth = &depot.app().auth;
    let mut views: Vec<CredentialView> = auth
        .permanent_login_tokens()
        .await?
        .into_iter()
        .map(|token| CredentialView {
            id: token.id,
            kind: "login-token".into(),
            label: token.label,
            scopes: vec![Scope::Admin.as_str().to_owned()],
            rate_limit_per_minute: None,
            created_at: timestamp(token.created_at),
            last_used_at: token.last_used_at.map(timestamp),
        })
        .collect();
    views.extend(
        auth.api_keys()
            .await?
            .into_iter()
            .map(|key| CredentialView {
                id: key.id,
                kind: "api-key".into(),
                label: Some(key.label),
                scopes: key.scopes,
                rate_limit_per_minute: key.rate_limit_per_minute,
                created_at: timestamp(key.created_at),
                last_used_at: key.last_used_at.map(timestamp),
            }),
    );
    Ok(Reply::ok(views))
}

/// Revoke a permanent login token or an API key
#[endpoint(tags("auth"))]
async fn delete_token(id: PathParam<String>, depot: &mut Depot) -> ApiResult<Option<Empty>> {
    if depot.app().auth.delete_credential(&id).await? {
        Empty::reply()
    } else {
        Err(ApiError::not_found(format!(
            "no login token or API key with id {}",
            id.into_inner()
        )))
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ApiKeyRequest {
    label: String,
    /// Any of `read`, `chat`, `tools:call`, `admin`.
    scopes: Vec<Scope>,
    /// Overrides `rate_limit.per_minute` for this key (0 = unlimited).
    rate_limit_per_minute: Option<u32>,
}

#[derive(Serialize, ToSchema)]
struct ApiKeyView {
    id: String,
    /// Shown once; only its hash is stored.
    key: String,
}

/// Create an API key
#[endpoint(tags("auth"))]
async fn create_api_key(body: JsonBody<ApiKeyRequest>, depot: &mut Depot) -> ApiResult<ApiKeyView> {
    let body = body.into_inner();
    let label = body.label.trim();
    if label.is_empty() || label.len() > 100 {
        return Err(ApiError::validation("label must be 1 to 100 characters")
            .with_details(serde_json::json!({ "field": "label" })));
    }
    if body.scopes.is_empty() {
        return Err(ApiError::validation("scopes must name at least one scope")
            .with_details(serde_json::json!({ "field": "scopes" })));
    }
    let issued = depot
        .app()
        .auth
        .create_api_key(label, &body.scopes, body.rate_limit_per_minute)
        .await?;
    Ok(Reply::created(ApiKeyView {
        id: issued.id,
        key: issued.key,
    }))
}
