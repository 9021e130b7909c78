//! Checks of request input that several modules share, each failing with a 400
//! `VALIDATION_ERROR` that names the field.

use serde_json::json;

use super::error::ApiError;

/// A value that must be present and not blank.
pub fn required(value: Option<String>, field: &str) -> Result<String, ApiError> {
    value.filter(|v| !v.trim().is_empty()).ok_or_else(|| {
        ApiError::validation(format!("{field} is required")).with_details(json!({ "field": field }))
    })
}

/// A name that is also a key (channel name, preset id): 1-64 letters, digits, `.`, `_`, `-`.
pub fn valid_id(value: &str, field: &str) -> Result<(), ApiError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::validation(format!(
            "{field} must be 1-64 letters, digits, `.`, `_` or `-`"
        ))
        .with_details(json!({ "field": field })))
    }
}

/// A list's `limit`: 1-500, `default` when absent.
pub fn limit(value: Option<u32>, default: u32) -> Result<u32, ApiError> {
    match value {
        None => Ok(default),
        Some(limit @ 1..=500) => Ok(limit),
        Some(_) => {
            Err(ApiError::validation("limit must be 1-500")
                .with_details(json!({ "field": "limit" })))
        }
    }
}
