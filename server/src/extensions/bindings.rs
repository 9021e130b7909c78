//! Host side of the `tool-extension` world (WIT `chatai:extension@0.1.0`).

wasmtime::component::bindgen!({
    world: "tool-extension",
    path: "../wit/v0.1.0",
    imports: { default: async },
    exports: { default: async },
});

pub use chatai::extension::types::{
    CallContext, CallResult, Content, LogLevel, ToolError, ToolSpec,
};
