//! Presets made by the admin (`preset` rows by id) and which preset is the default.

use serde_json::{Value, json};

use super::{Store, StoreError, present_fields};

impl Store {
    /// Every stored preset (as the API shapes them), by id.
    pub async fn presets(&self) -> Result<Vec<Value>, StoreError> {
        // The preset's `id` is the record's key (SurrealDB takes an `id` field of the content
        // as the record id), read back as text.
        let rows: Vec<Value> = self
            .rows(
                "SELECT record::id(id) AS preset_id, * OMIT id FROM preset ORDER BY preset_id",
                json!({}),
                0,
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|mut row| {
                if let Value::Object(map) = &mut row
                    && let Some(id) = map.remove("preset_id")
                {
                    map.insert("id".into(), id);
                }
                row
            })
            .collect())
    }

    /// Creates a preset; `false` when the id is taken.
    pub async fn create_preset(&self, id: &str, preset: &Value) -> Result<bool, StoreError> {
        let taken: Vec<Value> = self
            .rows(
                "LET $taken = record::exists(type::record('preset', $id));
                 IF $taken = false { CREATE type::record('preset', $id) CONTENT $row };
                 RETURN [$taken];",
                json!({ "id": id, "row": row(preset) }),
                2,
            )
            .await?;
        Ok(taken.first() == Some(&Value::Bool(false)))
    }

    /// `false`: there is none of that id.
    pub async fn replace_preset(&self, id: &str, preset: &Value) -> Result<bool, StoreError> {
        let rows: Vec<Value> = self
            .rows(
                "UPDATE type::record('preset', $id) CONTENT $row RETURN name",
                json!({ "id": id, "row": row(preset) }),
                0,
            )
            .await?;
        Ok(!rows.is_empty())
    }

    pub async fn delete_preset(&self, id: &str) -> Result<bool, StoreError> {
        let rows: Vec<Value> = self
            .rows(
                "DELETE type::record('preset', $id) RETURN BEFORE",
                json!({ "id": id }),
                0,
            )
            .await?;
        Ok(!rows.is_empty())
    }

    pub async fn default_preset(&self) -> Result<Option<String>, StoreError> {
        let rows: Vec<Value> = self
            .rows(
                "SELECT VALUE preset FROM preset_default:current",
                json!({}),
                0,
            )
            .await?;
        Ok(rows
            .into_iter()
            .next()
            .and_then(|v| v.as_str().map(str::to_owned)))
    }

    pub async fn set_default_preset(&self, id: &str) -> Result<(), StoreError> {
        self.execute(
            "UPSERT preset_default:current SET preset = $id",
            json!({ "id": id }),
        )
        .await
    }
}

/// The stored row: the preset without its id (the record's key).
fn row(preset: &Value) -> Value {
    let mut row = present_fields(preset.clone());
    if let Value::Object(map) = &mut row {
        map.remove("id");
    }
    row
}
