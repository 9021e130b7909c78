//! Secret values in answers: named maps (headers, environments) show the values of secret
//! names masked, and a masked value sent back keeps the stored one.

use std::collections::BTreeMap;

use crate::channels::{is_masked, mask};

/// A name whose value is a secret (a header, an environment variable).
pub fn secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "authorization",
        "key",
        "token",
        "secret",
        "cookie",
        "password",
        "credential",
    ]
    .iter()
    .any(|part| name.contains(part))
}

/// `values` as answers show them: the values of secret names masked.
pub fn masked(values: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    values
        .iter()
        .map(|(name, value)| {
            let shown = if secret_name(name) {
                mask(value)
            } else {
                value.clone()
            };
            (name.clone(), shown)
        })
        .collect()
}

/// `sent` with each masked value that masks the stored value of its name replaced by it.
pub fn merge_masked(
    sent: BTreeMap<String, String>,
    stored: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    sent.into_iter()
        .map(|(name, value)| {
            let value = match stored.get(&name) {
                Some(old) if is_masked(&value) && mask(old) == value => old.clone(),
                _ => value,
            };
            (name, value)
        })
        .collect()
}
