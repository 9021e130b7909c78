//! What the host offers a tool during a call. `log` and `progress` always work; `config` and
//! `kv` work within the capabilities the admin granted the extension and answer an error (or
//! `None`) otherwise — the error names the `PUT /api/tools/custom/<name>` that grants it.
//!
//! ```no_run
//! use chatai_sdk::host::{self, Level, kv};
//!
//! host::log(Level::Info, "starting");
//! let units = host::config("units").unwrap_or_else(|| "metric".into());
//! let seen = kv::get("seen").unwrap_or_default().is_some();
//! kv::set("seen", b"yes").ok();
//! ```

use crate::bindings::chatai::extension::host;
use crate::bindings::chatai::extension::types::LogLevel;

/// Severity of a [`log`] line.
///
/// ```no_run
/// use chatai_sdk::host::{Level, log};
/// log(Level::Warn, "the cache is cold; this call is slower");
/// ```
#[derive(Debug, Clone, Copy)]
pub enum Level {
    /// Step by step detail.
    Trace,
    /// For the extension's author.
    Debug,
    /// What the call did.
    Info,
    /// Something to look at.
    Warn,
    /// A failure.
    Error,
}

/// Writes a line into this call's log (capped per call by the host).
///
/// ```no_run
/// chatai_sdk::host::log(chatai_sdk::host::Level::Info, "looking up the weather");
/// ```
pub fn log(level: Level, message: &str) {
    let level = match level {
        Level::Trace => LogLevel::Trace,
        Level::Debug => LogLevel::Debug,
        Level::Info => LogLevel::Info,
        Level::Warn => LogLevel::Warn,
        Level::Error => LogLevel::Error,
    };
    host::log(level, message);
}

/// Reports progress of a long call to whoever listens (SSE).
///
/// ```no_run
/// chatai_sdk::host::progress(3, Some(10), "fetched 3 of 10 pages");
/// ```
pub fn progress(done: u32, total: Option<u32>, message: &str) {
    host::progress(done, total, message);
}

/// A configuration value the admin set for this extension (granted keys only).
///
/// ```no_run
/// let units = chatai_sdk::host::config("units").unwrap_or_else(|| "metric".into());
/// ```
pub fn config(key: &str) -> Option<String> {
    host::config_get(key)
}

/// The extension's private key-value bucket (needs the `kv` grant), kept in the server's
/// database and shared by all its calls. Quotas: keys of at most 256 bytes, and the server's
/// `extensions.kv_max_keys`, `kv_max_bytes` and `kv_max_value_bytes`.
///
/// ```no_run
/// use chatai_sdk::host::kv;
///
/// let count = kv::get("count")?
///     .and_then(|bytes| String::from_utf8(bytes).ok()?.parse::<u64>().ok())
///     .unwrap_or(0);
/// kv::set("count", (count + 1).to_string().as_bytes())?;
/// # Ok::<(), String>(())
/// ```
pub mod kv {
    use super::host;

    /// Reads a value.
    ///
    /// ```no_run
    /// let visits = chatai_sdk::host::kv::get("visits").ok().flatten();
    /// ```
    pub fn get(key: &str) -> Result<Option<Vec<u8>>, String> {
        host::kv_get(key)
    }

    /// Writes a value (quota-limited by the host).
    ///
    /// ```no_run
    /// chatai_sdk::host::kv::set("visits", b"1").ok();
    /// ```
    pub fn set(key: &str, value: &[u8]) -> Result<(), String> {
        host::kv_set(key, value)
    }

    /// Deletes a value.
    ///
    /// ```no_run
    /// chatai_sdk::host::kv::delete("visits").ok();
    /// ```
    pub fn delete(key: &str) -> Result<(), String> {
        host::kv_delete(key)
    }
}
