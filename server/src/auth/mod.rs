//! Authentication: login tokens, panel sessions (JWT), API keys with scopes, revocation.

mod jwt;
pub mod policy;
mod principal;
mod secrets;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

pub use jwt::Claims;
use jwt::JwtKeys;
pub use principal::{Credential, Principal, Scope};
pub use secrets::{API_KEY_PREFIX, random_hex_secret};

use crate::config::AuthConfig;
use crate::store::{ApiKeyRecord, LoginTokenRecord, Store, StoreError, now_ms};

/// Why a request is not authenticated or not allowed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("authentication required")]
    Required,
    #[error("session token expired")]
    Expired,
    #[error("{0}")]
    Invalid(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("internal: {0}")]
    Internal(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A freshly created login token. The token itself is shown once and never stored.
pub struct IssuedLoginToken {
    pub id: String,
    pub token: String,
    pub expires_at: Option<i64>,
}

/// A freshly created API key. The key is shown once and never stored.
pub struct IssuedApiKey {
    pub id: String,
    pub key: String,
}

struct CachedApiKey {
    record: ApiKeyRecord,
    scopes: Vec<Scope>,
    /// Last `last_used_at` written to the DB, to write it at most once a minute.
    last_touch: AtomicI64,
}

/// Issues and checks every credential.
///
/// API keys and revoked session ids are cached in memory (loaded at start, updated on every
/// change through this instance), so authenticating a request costs no database round trip.
/// With several instances on one database, a key created or deleted or a session revoked on
/// another instance reaches this cache through [`AuthService::reload`], which the database
/// follower (`crate::sync`) calls when those tables change.
pub struct AuthService {
    store: Store,
    keys: JwtKeys,
    revoked: RwLock<HashMap<String, i64>>,
    api_keys: RwLock<HashMap<String, Arc<CachedApiKey>>>,
    /// Held by API key creation and deletion and by [`AuthService::reload`].
    key_writes: tokio::sync::Mutex<()>,
}

/// The admin's fixed subject and name.
pub const ADMIN_SUBJECT: &str = "admin";

impl AuthService {
    /// Loads the JWT secret (configured, or generated once and kept in the DB), API keys and
    /// revocations.
    pub async fn load(store: Store, config: &AuthConfig) -> Result<Self, AuthError> {
        let secret = match &config.jwt_secret {
            Some(secret) => secret.expose().to_owned(),
            None => {
                store
                    .server_secret_or_insert("jwt", &secrets::random_hex_secret())
                    .await?
            }
        };
        store.prune_expired().await?;
        let revoked = store.revoked_jtis().await?.into_iter().collect();
        let service = Self {
            keys: JwtKeys::new(secret.as_bytes()),
            revoked: RwLock::new(revoked),
            api_keys: RwLock::new(HashMap::new()),
            key_writes: tokio::sync::Mutex::new(()),
            store,
        };
        for record in service.store.api_keys().await? {
            service.cache_api_key(record);
        }
        Ok(service)
    }

    /// Re-reads API keys and revoked sessions from the database: a key created elsewhere
    /// works here, one deleted elsewhere stops working, a session revoked elsewhere is refused.
    /// Revocations are only ever added (they leave at their expiry), and key changes here wait
    /// for a re-read in progress, so a re-read never undoes a change made here meanwhile.
    pub async fn reload(&self) -> Result<(), AuthError> {
        let _writes = self.key_writes.lock().await;
        let revoked = self.store.revoked_jtis().await?;
        let records = self.store.api_keys().await?;
        if let Ok(mut cached) = self.revoked.write() {
            let now = now_ms();
            cached.retain(|_, exp| *exp > now);
            cached.extend(revoked);
        }
        let keep: std::collections::HashSet<&str> =
            records.iter().map(|r| r.key_hash.as_str()).collect();
        let known: std::collections::HashSet<String> = match self.api_keys.write() {
            Ok(mut keys) => {
                keys.retain(|hash, _| keep.contains(hash.as_str()));
                keys.keys().cloned().collect()
            }
            Err(_) => return Err(AuthError::Internal("API key cache poisoned".into())),
        };
        for record in records {
            if !known.contains(&record.key_hash) {
                self.cache_api_key(record);
            }
        }
        Ok(())
    }

    fn cache_api_key(&self, record: ApiKeyRecord) {
        let scopes = record
            .scopes
            .iter()
            .filter_map(|s| Scope::parse(s))
            .collect();
        let entry = Arc::new(CachedApiKey {
            last_touch: AtomicI64::new(record.last_used_at.unwrap_or(0)),
            scopes,
            record,
        });
        if let Ok(mut keys) = self.api_keys.write() {
            keys.insert(entry.record.key_hash.clone(), entry);
        }
    }

    /// Creates a login token; temporary ones expire after `auth.login_token_ttl`.
    pub async fn create_login_token(
        &self,
        permanent: bool,
        label: Option<&str>,
        config: &AuthConfig,
    ) -> Result<IssuedLoginToken, AuthError> {
        let token = secrets::random_token();
        let id = uuid::Uuid::new_v4().to_string();
        let ttl_ms = i64::try_from(config.login_token_ttl.saturating_mul(1000)).unwrap_or(i64::MAX);
        let expires_at = (!permanent).then(|| now_ms().saturating_add(ttl_ms));
        self.store
            .insert_login_token(&id, &secrets::hash(&token), permanent, label, expires_at)
            .await?;
        Ok(IssuedLoginToken {
            id,
            token,
            expires_at,
        })
    }

    /// Exchanges a login token for a session.
    pub async fn login(
        &self,
        login_token: &str,
        config: &AuthConfig,
    ) -> Result<(String, Claims), AuthError> {
        let record: Option<LoginTokenRecord> = self
            .store
            .redeem_login_token(&secrets::hash(login_token))
            .await?;
        if record.is_none() {
            return Err(AuthError::Invalid("invalid or expired login token"));
        }
        self.keys.issue(ADMIN_SUBJECT, config)
    }

    /// Authenticates a session token.
    pub fn session(
        &self,
        token: &str,
        via_cookie: bool,
        config: &AuthConfig,
    ) -> Result<Principal, AuthError> {
        let claims = self.keys.verify(token, config)?;
        let revoked = self
            .revoked
            .read()
            .map(|set| set.contains_key(&claims.jti))
            .unwrap_or(true);
        if revoked {
            return Err(AuthError::Invalid("session token revoked"));
        }
        if claims.sub != ADMIN_SUBJECT {
            return Err(AuthError::Invalid("unknown session subject"));
        }
        Ok(Principal {
            id: claims.sub.clone(),
            username: ADMIN_SUBJECT.to_owned(),
            scopes: Scope::ALL.to_vec(),
            credential: Credential::Session {
                jti: claims.jti,
                exp: claims.exp,
                via_cookie,
            },
            rate_limit_per_minute: None,
        })
    }

    /// Authenticates an API key; records its use at most once a minute, off the request path.
    pub fn api_key(&self, key: &str) -> Result<Principal, AuthError> {
        let hash = secrets::hash(key);
        let entry = self
            .api_keys
            .read()
            .ok()
            .and_then(|keys| keys.get(&hash).cloned())
            .ok_or(AuthError::Invalid("invalid API key"))?;
        let now = now_ms();
        let last = entry.last_touch.load(Ordering::Relaxed);
        if now - last > 60_000
            && entry
                .last_touch
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let store = self.store.clone();
            let id = entry.record.id.clone();
            tokio::spawn(async move {
                if let Err(err) = store.touch_api_key(&id, now).await {
                    tracing::warn!(key_id = %id, error = %err, "recording API key use failed");
                }
            });
        }
        Ok(Principal {
            id: format!("key:{}", entry.record.id),
            username: entry.record.label.clone(),
            scopes: entry.scopes.clone(),
            credential: Credential::ApiKey {
                id: entry.record.id.clone(),
            },
            rate_limit_per_minute: entry.record.rate_limit_per_minute,
        })
    }

    /// Revokes a session id until its natural expiry.
    pub async fn revoke(&self, jti: &str, exp_secs: i64) -> Result<(), AuthError> {
        let expires_at = exp_secs.saturating_mul(1000);
        self.store.revoke_jti(jti, expires_at).await?;
        if let Ok(mut revoked) = self.revoked.write() {
            revoked.retain(|_, exp| *exp > now_ms());
            revoked.insert(jti.to_owned(), expires_at);
        }
        Ok(())
    }

    /// Issues a new session and revokes the old one.
    pub async fn refresh(
        &self,
        principal: &Principal,
        config: &AuthConfig,
    ) -> Result<(String, Claims), AuthError> {
        let Credential::Session { jti, exp, .. } = &principal.credential else {
            return Err(AuthError::Forbidden("only panel sessions can be refreshed"));
        };
        let issued = self.keys.issue(ADMIN_SUBJECT, config)?;
        self.revoke(jti, *exp).await?;
        Ok(issued)
    }

    pub async fn create_api_key(
        &self,
        label: &str,
        scopes: &[Scope],
        rate_limit_per_minute: Option<u32>,
    ) -> Result<IssuedApiKey, AuthError> {
        let key = format!("{API_KEY_PREFIX}{}", secrets::random_token());
        let record = ApiKeyRecord {
            id: uuid::Uuid::new_v4().to_string(),
            key_hash: secrets::hash(&key),
            label: label.to_owned(),
            scopes: scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            rate_limit_per_minute,
            created_at: now_ms(),
            last_used_at: None,
        };
        let _writes = self.key_writes.lock().await;
        self.store.insert_api_key(&record).await?;
        let id = record.id.clone();
        self.cache_api_key(record);
        Ok(IssuedApiKey { id, key })
    }

    pub async fn api_keys(&self) -> Result<Vec<ApiKeyRecord>, AuthError> {
        Ok(self.store.api_keys().await?)
    }

    pub async fn permanent_login_tokens(&self) -> Result<Vec<LoginTokenRecord>, AuthError> {
        Ok(self.store.permanent_login_tokens().await?)
    }

    /// Deletes a permanent login token or an API key; false when none has this id.
    pub async fn delete_credential(&self, id: &str) -> Result<bool, AuthError> {
        let _writes = self.key_writes.lock().await;
        let deleted = self.store.delete_credential(id).await?;
        if let Ok(mut keys) = self.api_keys.write() {
            keys.retain(|_, entry| entry.record.id != id);
        }
        Ok(deleted)
    }
}
