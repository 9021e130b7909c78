//! `chatai-sdk`: write ChatAI Edge tools as WebAssembly components.
//!
//! A tool is a type implementing [`Tool`]: its arguments are a `serde` type whose JSON Schema is
//! derived with `schemars`, its body returns an [`Output`] or a [`ToolError`]. One
//! [`export_tools!`] line turns a crate of tools into a component that implements the
//! `chatai:extension/tool` interface (WIT package `chatai:extension@0.1.0`, the newest one).
//!
//! ```no_run
//! use chatai_sdk::{Context, Output, Tool, ToolError, export_tools};
//! use chatai_sdk::schemars::JsonSchema;
//! use serde::Deserialize;
//!
//! /// Greets someone.
//! pub struct Greet;
//!
//! #[derive(Deserialize, JsonSchema)]
//! pub struct GreetArgs {
//!     /// Who to greet.
//!     name: String,
//! }
//!
//! impl Tool for Greet {
//!     const NAME: &'static str = "greet";
//!     const DESCRIPTION: &'static str = "Says hello";
//!     type Args = GreetArgs;
//!
//!     fn call(args: GreetArgs, _ctx: &Context) -> Result<Output, ToolError> {
//!         if args.name.is_empty() {
//!             return Err(ToolError::InvalidArgs("name is empty".into()));
//!         }
//!         Ok(Output::text(format!("Hello, {}!", args.name)))
//!     }
//! }
//!
//! export_tools!(Greet);
//! ```
//!
//! Build with `cargo build --release --target wasm32-wasip2`; the `.wasm` in
//! `target/wasm32-wasip2/release/` is the component to upload.

// The generated bindings name this crate by its public path, also from inside it.
extern crate self as chatai_sdk;

pub mod host;
pub mod http;
mod output;
mod tool;

pub use output::{Image, Output};
pub use tool::{Context, Tool, ToolError};
pub use {schemars, serde, serde_json};

/// The WIT package version this SDK binds.
pub const WIT_VERSION: &str = "0.1.0";

/// Generated bindings of the `tool-extension` world. Used by [`export_tools!`]; not a stable API.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "tool-extension",
        path: "../wit/v0.1.0",
        pub_export_macro: true,
        export_macro_name: "__export_tool_extension",
        default_bindings_module: "chatai_sdk::bindings",
        runtime_path: "chatai_sdk::__wit_bindgen::rt",
    });
}

#[doc(hidden)]
pub use wit_bindgen as __wit_bindgen;

/// Makes this crate a tool component offering the listed [`Tool`] types.
///
/// ```ignore
/// chatai_sdk::export_tools!(Count, Upper, Lower);
/// ```
#[macro_export]
macro_rules! export_tools {
    ($($tool:ty),+ $(,)?) => {
        #[doc(hidden)]
        pub struct __ChataiToolExtension;

        impl $crate::bindings::exports::chatai::extension::tool::Guest for __ChataiToolExtension {
            fn list_tools() -> ::std::vec::Vec<$crate::bindings::chatai::extension::types::ToolSpec> {
                ::std::vec![$($crate::__private::spec::<$tool>()),+]
            }

            fn call(
                name: ::std::string::String,
                args: ::std::string::String,
                ctx: $crate::bindings::chatai::extension::types::CallContext,
            ) -> ::std::result::Result<
                $crate::bindings::chatai::extension::types::CallResult,
                $crate::bindings::chatai::extension::types::ToolError,
            > {
                $(
                    if name == <$tool as $crate::Tool>::NAME {
                        return $crate::__private::dispatch::<$tool>(&args, ctx);
                    }
                )+
                ::std::result::Result::Err(
                    $crate::bindings::chatai::extension::types::ToolError::NotFound(name),
                )
            }
        }

        $crate::bindings::__export_tool_extension!(__ChataiToolExtension);
    };
}

/// Glue used by [`export_tools!`]; not a stable API.
#[doc(hidden)]
pub mod __private {
    use crate::bindings::chatai::extension::types as wit;
    use crate::{Context, Tool};

    /// The WIT spec of a tool, with its derived argument schema.
    pub fn spec<T: Tool>() -> wit::ToolSpec {
        wit::ToolSpec {
            name: T::NAME.to_owned(),
            description: T::DESCRIPTION.to_owned(),
            input_schema: crate::tool::input_schema::<T>().to_string(),
            output_schema: None,
            category: T::CATEGORY.map(str::to_owned),
            dangerous: T::DANGEROUS,
        }
    }

    /// Decodes the arguments, runs the tool, encodes the result.
    pub fn dispatch<T: Tool>(
        args: &str,
        ctx: wit::CallContext,
    ) -> Result<wit::CallResult, wit::ToolError> {
        let args: T::Args = serde_json::from_str(args)
            .map_err(|err| wit::ToolError::InvalidArgs(err.to_string()))?;
        let ctx = Context {
            call_id: ctx.call_id,
            user_id: ctx.user_id,
            group_id: ctx.group_id,
            conversation_id: ctx.conversation_id,
            deadline_ms: ctx.deadline_ms,
        };
        T::call(args, &ctx)
            .map(crate::output::into_wit)
            .map_err(crate::tool::error_into_wit)
    }
}
