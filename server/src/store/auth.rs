//! Login tokens, API keys, revoked session ids and the generated JWT secret.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Store, StoreError, now_ms, present_fields};

/// A stored login token (only its SHA-256 is kept).
#[derive(Debug, Clone, Deserialize)]
pub struct LoginTokenRecord {
    pub id: String,
    pub kind: String,
    pub label: Option<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

/// A stored API key (only its SHA-256 is kept).
#[derive(Debug, Clone, Deserialize)]
pub struct ApiKeyRecord {
    pub id: String,
    pub key_hash: String,
    pub label: String,
    pub scopes: Vec<String>,
    pub rate_limit_per_minute: Option<u32>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

const LOGIN_TOKEN_FIELDS: &str =
    "record::id(id) AS id, kind, label, created_at, expires_at, last_used_at";
const API_KEY_FIELDS: &str = "record::id(id) AS id, key_hash, label, scopes, rate_limit_per_minute, created_at, last_used_at";

impl Store {
    /// A generated server secret (`jwt`, `cache`): created from `candidate` on first call, then
    /// always the same, for every instance on this database. Instances starting at the same
    /// moment race on the `CREATE`: one wins, the others' fails (the record exists) and all
    /// read back the winner's secret, so no two ever sign with different secrets.
    pub async fn server_secret_or_insert(
        &self,
        name: &str,
        candidate: &str,
    ) -> Result<String, StoreError> {
        #[derive(Deserialize)]
        struct Row {
            secret: String,
        }
        // Names are the server's own constants, never input: safe to put in the statement.
        debug_assert!(name.bytes().all(|b| b.is_ascii_lowercase()));
        let id = format!("server_secret:{name}");
        let mut results = self
            .statements(
                &format!("CREATE {id} SET secret = $candidate; SELECT secret FROM {id};"),
                json!({ "candidate": candidate }),
            )
            .await?;
        // The create fails when another instance (or an earlier start) made the secret.
        let _created = results.next::<Value>();
        let rows: Vec<Row> = results.next()?;
        rows.into_iter()
            .next()
            .map(|row| row.secret)
            .ok_or(StoreError::Missing("the server secret just created"))
    }

    pub async fn insert_login_token(
        &self,
        id: &str,
        token_hash: &str,
        permanent: bool,
        label: Option<&str>,
        expires_at: Option<i64>,
    ) -> Result<(), StoreError> {
        let content = present_fields(json!({
            "token_hash": token_hash,
            "kind": if permanent { "permanent" } else { "temporary" },
            "label": label, "created_at": now_ms(), "expires_at": expires_at,
        }));
        self.execute(
            "CREATE type::record('login_token', $id) CONTENT $content",
            json!({ "id": id, "content": content }),
        )
        .await
    }

    /// Exchanges a login token: a temporary one is deleted (so it works once), a permanent one is
    /// stamped with its use. `None` when no valid token has this hash.
    pub async fn redeem_login_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<LoginTokenRecord>, StoreError> {
        let vars = json!({ "hash": token_hash, "now": now_ms() });
        let deleted: Vec<LoginTokenRecord> = self
            .rows(
                &format!(
                    "SELECT {LOGIN_TOKEN_FIELDS} FROM (
                        DELETE login_token WHERE token_hash = $hash AND kind = 'temporary'
                        AND expires_at > $now RETURN BEFORE)"
                ),
                vars.clone(),
                0,
            )
            .await?;
        if let Some(token) = deleted.into_iter().next() {
            return Ok(Some(token));
        }
        let updated: Vec<LoginTokenRecord> = self
            .rows(
                &format!(
                    "SELECT {LOGIN_TOKEN_FIELDS} FROM (
                        UPDATE login_token SET last_used_at = $now
                        WHERE token_hash = $hash AND kind = 'permanent' RETURN AFTER)"
                ),
                vars,
                0,
            )
            .await?;
        Ok(updated.into_iter().next())
    }

    pub async fn permanent_login_tokens(&self) -> Result<Vec<LoginTokenRecord>, StoreError> {
        self.rows(
            &format!(
                "SELECT {LOGIN_TOKEN_FIELDS} FROM login_token WHERE kind = 'permanent' ORDER BY created_at"
            ),
            json!({}),
            0,
        )
        .await
    }

    /// Removes expired temporary tokens and expired revocations.
    pub async fn prune_expired(&self) -> Result<(), StoreError> {
        self.execute(
            "DELETE login_token WHERE kind = 'temporary' AND expires_at <= $now;
             DELETE revoked_jti WHERE expires_at <= $now;",
            json!({ "now": now_ms() }),
        )
        .await
    }

    /// Deletes a permanent login token or an API key; true when one existed.
    pub async fn delete_credential(&self, id: &str) -> Result<bool, StoreError> {
        #[derive(Deserialize)]
        struct Row {}
        let tokens: Vec<Row> = self
            .rows(
                "DELETE type::record('login_token', $id) WHERE kind = 'permanent' RETURN BEFORE",
                json!({ "id": id }),
                0,
            )
            .await?;
        let keys: Vec<Row> = self
            .rows(
                "DELETE type::record('api_key', $id) RETURN BEFORE",
                json!({ "id": id }),
                0,
            )
            .await?;
        Ok(!tokens.is_empty() || !keys.is_empty())
    }

    pub async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let content = present_fields(json!({
            "key_hash": key.key_hash, "label": key.label, "scopes": key.scopes,
            "rate_limit_per_minute": key.rate_limit_per_minute, "created_at": key.created_at,
        }));
        self.execute(
            "CREATE type::record('api_key', $id) CONTENT $content",
            json!({ "id": key.id, "content": content }),
        )
        .await
    }

    pub async fn api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.rows(
            &format!("SELECT {API_KEY_FIELDS} FROM api_key ORDER BY created_at"),
            json!({}),
            0,
        )
        .await
    }

    pub async fn touch_api_key(&self, id: &str, at: i64) -> Result<(), StoreError> {
        self.execute(
            "UPDATE type::record('api_key', $id) SET last_used_at = $at",
            json!({ "id": id, "at": at }),
        )
        .await
    }

    pub async fn revoke_jti(&self, jti: &str, expires_at: i64) -> Result<(), StoreError> {
        self.execute(
            "UPSERT type::record('revoked_jti', $jti) SET expires_at = $expires_at",
            json!({ "jti": jti, "expires_at": expires_at }),
        )
        .await
    }

    /// Revoked session ids that have not expired yet.
    pub async fn revoked_jtis(&self) -> Result<Vec<(String, i64)>, StoreError> {
        #[derive(Deserialize)]
        struct Row {
            id: String,
            expires_at: i64,
        }
        let rows: Vec<Row> = self
            .rows(
                "SELECT record::id(id) AS id, expires_at FROM revoked_jti WHERE expires_at > $now",
                json!({ "now": now_ms() }),
                0,
            )
            .await?;
        Ok(rows.into_iter().map(|r| (r.id, r.expires_at)).collect())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::Store;

    #[tokio::test]
    async fn instances_generating_a_secret_at_once_all_read_back_the_same_one() {
        let store = Store::memory().await.expect("in-memory store");
        let calls = ["a", "b", "c", "d"].map(|candidate| {
            let store = store.clone();
            tokio::spawn(async move { store.server_secret_or_insert("jwt", candidate).await })
        });
        let mut secrets = Vec::new();
        for call in calls {
            secrets.push(call.await.expect("task").expect("secret"));
        }
        assert!(secrets.iter().all(|s| s == &secrets[0]), "{secrets:?}");
        let later = store
            .server_secret_or_insert("jwt", "e")
            .await
            .expect("again");
        assert_eq!(later, secrets[0]);
    }
}
