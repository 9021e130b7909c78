//! Opens an embedded datastore with memory bounds we choose.
//!
//! `surrealdb::engine::any::connect("surrealkv://…")` sizes SurrealKV from the machine's RAM and
//! offers no way to change it (its URL parameters are read under a `datastore_` prefix that the
//! SurrealKV settings do not carry). So we build the datastore the way the SDK's local engine
//! does — version check, bootstrap, then the maintenance tasks — with a configuration map of our
//! own, and hand it to the SDK.

use std::sync::Arc;

use surrealdb::Surreal;
use surrealdb::engine::local::Db;
use surrealdb_cnf::ConfigMap;
use surrealdb_core::kvs::Datastore;

use super::{EmbeddedOptions, StoreError};

/// Opens `url` (`surrealkv://<path>` or `mem://`) with `limits` (memory bounds, sync) and connects the SDK to it.
pub(super) async fn open(url: &str, limits: EmbeddedOptions) -> Result<Surreal<Db>, StoreError> {
    let config = ConfigMap::empty()
        .with_key_value(
            "surrealkv_max_memtable_size",
            limits.memtable_bytes.to_string(),
        )
        .with_key_value(
            "surrealkv_block_cache_capacity",
            limits.block_cache_bytes.to_string(),
        )
        .with_key_value("datastore_sync", sync_mode(limits.sync_ms));
    let (send, notifications) =
        surrealdb::channel::bounded(surrealdb_cnf::NOTIFICATIONS_CHANNEL_SIZE);
    let datastore: Arc<Datastore> = Datastore::builder()
        .with_config(config)
        .with_notify(send)
        .without_maintenance_tasks()
        .build_with_path(url)
        .await
        .map_err(open_error)?;
    // A write before the version key would make a new datastore look like an old one, so the
    // maintenance tasks (which write) start only after the check and the bootstrap.
    datastore.check_version().await.map_err(open_error)?;
    datastore.bootstrap().await.map_err(open_error)?;
    datastore.start_maintenance_tasks();
    Ok(Surreal::<Db>::unstable_from_datastore(datastore, Some(notifications)).await?)
}

/// SurrealKV's `sync` setting: `every` commit, or a background sync on an interval.
fn sync_mode(sync_ms: u64) -> String {
    match sync_ms {
        0 => "every".into(),
        ms => format!("{ms}ms"),
    }
}

fn open_error(error: impl std::fmt::Display) -> StoreError {
    StoreError::Open(error.to_string())
}
