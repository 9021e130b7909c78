//! `chatai-sdk`: write ChatAI Edge tools as WebAssembly components.
//!
//! The SDK binds the newest `chatai:extension` WIT package (see `wit/README.md`). Its tool
//! trait, export macro and host wrappers arrive with the tool runtime; until then this crate
//! only fixes the name and the version it will bind.

/// The WIT package version this SDK binds.
pub const WIT_VERSION: &str = "0.1.0";

#[cfg(test)]
mod tests {
    #[test]
    fn binds_the_first_contract() {
        assert_eq!(super::WIT_VERSION, "0.1.0");
    }
}
