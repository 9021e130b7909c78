//! Session tokens: HS256 JWTs with `sub, jti, iat, exp, iss, aud`. No other algorithm is accepted.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::AuthError;
use crate::config::AuthConfig;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub jti: String,
    /// Seconds since the epoch.
    pub iat: i64,
    /// Seconds since the epoch.
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

/// The signing keys, derived once from the secret.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl JwtKeys {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    /// A new session for `sub`.
    pub fn issue(&self, sub: &str, config: &AuthConfig) -> Result<(String, Claims), AuthError> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: sub.to_owned(),
            jti: uuid::Uuid::new_v4().to_string(),
            iat: now,
            exp: now + i64::try_from(config.session_ttl).unwrap_or(i64::MAX / 2),
            iss: config.issuer.clone(),
            aud: config.audience.clone(),
        };
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
                .map_err(|err| AuthError::Internal(format!("signing a session token: {err}")))?;
        Ok((token, claims))
    }

    /// Checks signature, algorithm, `exp` and `iat` (with the configured skew), `iss` and `aud`.
    /// Revocation is checked by the caller.
    pub fn verify(&self, token: &str, config: &AuthConfig) -> Result<Claims, AuthError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = config.clock_skew;
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub", "jti"]);
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map_err(|err| {
                match err.kind() {
                    ErrorKind::ExpiredSignature => AuthError::Expired,
                    _ => AuthError::Invalid("invalid session token"),
                }
            })?;
        let skew = i64::try_from(config.clock_skew).unwrap_or(0);
        if data.claims.iat > chrono::Utc::now().timestamp() + skew {
            return Err(AuthError::Invalid("session token issued in the future"));
        }
        Ok(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_secret() {
        let config = AuthConfig::default();
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef");
        let (token, claims) = keys.issue("admin", &config).expect("issue");
        let back = keys.verify(&token, &config).expect("verify");
        assert_eq!(back.jti, claims.jti);

        let other = JwtKeys::new(b"another secret of sufficient len!");
        assert!(matches!(
            other.verify(&token, &config),
            Err(AuthError::Invalid(_))
        ));
    }
}
