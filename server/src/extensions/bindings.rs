//! Host side of the worlds of WIT `chatai:extension@0.1.0`: `tool-extension` and
//! `skill-extension`. Both share `types` and `host`; one linker serves both.

wasmtime::component::bindgen!({
    world: "tool-extension",
    path: "../wit/v0.1.0",
    imports: { default: async },
    exports: { default: async },
});

pub use chatai::extension::types::{
    CallContext, CallResult, Content, LogLevel, ToolError, ToolSpec,
};

/// The `skill-extension` world: `types` and `host` are the tool world's; `skill-host` may trap
/// (a skill past one of its caps is stopped there, whatever it does with an error).
pub mod skill {
    wasmtime::component::bindgen!({
        world: "skill-extension",
        path: "../wit/v0.1.0",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "chatai:extension/types": super::chatai::extension::types,
            "chatai:extension/host": super::chatai::extension::host,
        },
    });
}
