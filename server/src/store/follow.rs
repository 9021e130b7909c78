//! Following the tables other instances change, with SurrealDB LIVE queries: the database
//! tells every instance of each created, updated or deleted row, so nothing of our own carries
//! changes between instances.

use futures_util::StreamExt;
use serde_json::Value;
use surrealdb::method::Stream;

use super::{Engine, Store, StoreError, sdk_error};

/// A LIVE query on one table.
pub struct Follow(Stream<Vec<Value>>);

impl Follow {
    /// Waits for the table's next change. `None`: the live query ended (the connection was
    /// lost, the server restarted or killed it) and must be subscribed again.
    pub async fn changed(&mut self) -> Option<Result<(), StoreError>> {
        self.0
            .next()
            .await
            .map(|item| item.map(drop).map_err(sdk_error))
    }
}

impl Store {
    /// Starts a LIVE query on `table` (a table name of this module's schema).
    pub async fn follow(&self, table: &'static str) -> Result<Follow, StoreError> {
        let live = async {
            match &self.db.engine {
                Engine::Embedded(db) => db.select::<Vec<Value>>(table).live().await,
                Engine::Remote(db) => db.select::<Vec<Value>>(table).live().await,
            }
        };
        match tokio::time::timeout(self.db.deadline, live).await {
            Ok(stream) => stream.map(Follow).map_err(sdk_error),
            Err(_) => Err(StoreError::Unavailable(format!(
                "no live query on {table} within {} ms",
                self.db.deadline.as_millis()
            ))),
        }
    }
}
