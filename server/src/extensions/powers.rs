//! What an extension may do beyond computing: the capabilities in force (requested ∩
//! granted) and the admin-set config values, swapped at once when an admin changes them.

use std::collections::BTreeMap;

use crate::store::Store;

/// The capabilities in force for one extension.
#[derive(Debug, Clone, Default)]
pub struct Powers {
    /// Config values readable through `config-get`, by key (only granted keys).
    pub config: BTreeMap<String, String>,
    /// A private key-value bucket.
    pub kv: bool,
    /// Origins allowed for outgoing HTTP (shared with every call's gate).
    pub http: std::sync::Arc<Vec<String>>,
}

/// Quotas of a kv bucket.
#[derive(Debug, Clone, Copy)]
pub struct KvQuota {
    pub max_keys: u64,
    pub max_bytes: u64,
    pub max_value_bytes: u64,
}

impl KvQuota {
    /// The quotas the config sets (`extensions.kv_max_*`).
    pub fn of(config: &crate::config::ExtensionsConfig) -> Self {
        Self {
            max_keys: config.kv_max_keys,
            max_bytes: config.kv_max_bytes,
            max_value_bytes: config.kv_max_value_bytes,
        }
    }
}

/// The database behind kv buckets, with their quotas.
#[derive(Clone)]
pub struct KvBackend {
    pub store: Store,
    pub quota: KvQuota,
}
