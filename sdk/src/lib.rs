//! `chatai-sdk`: write ChatAI Edge tools and skills as WebAssembly components.
//!
//! A tool is a function with [`#[tool]`](tool): its doc comment is the description, its
//! parameters are the arguments (their JSON Schema, derived with `schemars`, is what the server
//! checks every call against), and it returns an [`Output`] or a [`ToolError`]. One
//! [`export_tools!`] line turns a crate of tools into a component implementing
//! `chatai:extension/tool` (WIT package `chatai:extension@0.1.0`, [`WIT_VERSION`]).
//!
//! ```no_run
//! use chatai_sdk::{Output, ToolError, export_tools, tool};
//!
//! /// Says hello to someone.
//! #[tool]
//! fn greet(
//!     /// Who to greet.
//!     #[schemars(length(min = 1, max = 64))]
//!     name: String,
//! ) -> Result<Output, ToolError> {
//!     Ok(Output::text(format!("Hello, {name}!")))
//! }
//!
//! export_tools!(Greet);
//! ```
//!
//! The same tool by hand, with the [`Tool`] trait (what `#[tool]` writes for you):
//!
//! ```no_run
//! use chatai_sdk::schemars::{self, JsonSchema};
//! use chatai_sdk::{Context, Output, Tool, ToolError, export_tools};
//! use serde::Deserialize;
//!
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
//!     const DESCRIPTION: &'static str = "Says hello to someone";
//!     type Args = GreetArgs;
//!
//!     fn call(args: GreetArgs, _ctx: &Context) -> Result<Output, ToolError> {
//!         Ok(Output::text(format!("Hello, {}!", args.name)))
//!     }
//! }
//!
//! export_tools!(Greet);
//! ```
//!
//! Build with `chatai ext build` (or `cargo build --release --target wasm32-wasip2`; the
//! `.wasm` in `target/wasm32-wasip2/release/` is the component), try with `chatai ext test`,
//! deploy with `chatai ext deploy`. The host's services are in [`host`] (log, progress, config,
//! kv) and [`http`]; skills (tools and the model in several steps) in [`skill`]. The tutorial:
//! `docs/extensions/rust.md` in the ChatAI Edge repository.

#![warn(missing_docs)]

// The generated bindings name this crate by its public path, also from inside it.
extern crate self as chatai_sdk;

pub mod host;
pub mod http;
mod output;
pub mod skill;
mod tool;

/// Makes a tool of a function: the unit struct named in CamelCase (`count_words` →
/// `CountWords`, to list in [`export_tools!`]), an arguments struct (`CountWordsArgs`) with a
/// field per parameter, and the [`Tool`] impl.
///
/// - The function's doc comment is the tool's description; the tool's name is the function's.
/// - Each parameter is an argument: its doc comment is its description, and its `#[serde]`
///   and `#[schemars]` attributes shape its schema (bounds, length, examples, defaults).
///   Unknown arguments are refused.
/// - A `&Context` parameter receives the call's [`Context`] instead.
/// - Options: `#[tool(name = "…", category = "…", dangerous)]`.
///
/// ```no_run
/// use chatai_sdk::{Context, Output, ToolError, export_tools, tool};
///
/// fn one() -> u32 {
///     1
/// }
///
/// /// Repeats a word.
/// #[tool(category = "text")]
/// fn repeat_word(
///     /// The word.
///     #[schemars(length(min = 1, max = 32), example = &"hey")]
///     word: String,
///     /// How often (1 to 10).
///     #[serde(default = "one")]
///     #[schemars(range(min = 1, max = 10))]
///     times: u32,
///     ctx: &Context,
/// ) -> Result<Output, ToolError> {
///     if ctx.deadline_ms < 10 {
///         return Err(ToolError::Failed("no time left".into()));
///     }
///     Ok(Output::text(vec![word; times as usize].join(" ")))
/// }
///
/// export_tools!(RepeatWord);
/// ```
pub use chatai_sdk_macros::tool;
pub use output::{Image, Output};
pub use skill::Skill;
pub use tool::{Context, Tool, ToolError};
pub use {schemars, serde, serde_json};

/// The WIT package version this SDK binds (`wit/v0.1.0/` in the repository).
///
/// ```
/// assert_eq!(chatai_sdk::WIT_VERSION, "0.1.0");
/// ```
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

/// Generated bindings of the `skill-extension` world (its `types` and `host` are the tool
/// world's). Used by [`export_skill!`]; not a stable API.
#[doc(hidden)]
pub mod bindings_skill {
    wit_bindgen::generate!({
        world: "skill-extension",
        path: "../wit/v0.1.0",
        pub_export_macro: true,
        export_macro_name: "__export_skill_extension",
        default_bindings_module: "chatai_sdk::bindings_skill",
        runtime_path: "chatai_sdk::__wit_bindgen::rt",
        with: {
            "chatai:extension/types@0.1.0": crate::bindings::chatai::extension::types,
            "chatai:extension/host@0.1.0": crate::bindings::chatai::extension::host,
        },
    });
}

#[doc(hidden)]
pub use wit_bindgen as __wit_bindgen;

/// Makes this crate a skill component offering the [`Skill`] type given (one per component).
///
/// ```no_run
/// use chatai_sdk::schemars::{self, JsonSchema};
/// use chatai_sdk::{Context, Output, Skill, ToolError, export_skill};
/// use serde::Deserialize;
///
/// pub struct Echo;
///
/// #[derive(Deserialize, JsonSchema)]
/// pub struct Input {
///     /// What to echo.
///     text: String,
/// }
///
/// impl Skill for Echo {
///     const NAME: &'static str = "echo";
///     const DESCRIPTION: &'static str = "Echoes its input";
///     type Input = Input;
///
///     fn run(input: Input, _ctx: &Context) -> Result<Output, ToolError> {
///         Ok(Output::text(input.text))
///     }
/// }
///
/// export_skill!(Echo);
/// ```
#[macro_export]
macro_rules! export_skill {
    ($skill:ty) => {
        #[doc(hidden)]
        pub struct __ChataiSkillExtension;

        impl $crate::bindings_skill::exports::chatai::extension::skill::Guest
            for __ChataiSkillExtension
        {
            fn info() -> $crate::bindings_skill::exports::chatai::extension::skill::SkillInfo {
                $crate::__private::skill_info::<$skill>()
            }

            fn run(
                input: ::std::string::String,
                ctx: $crate::bindings::chatai::extension::types::CallContext,
            ) -> ::std::result::Result<
                $crate::bindings::chatai::extension::types::CallResult,
                $crate::bindings::chatai::extension::types::ToolError,
            > {
                $crate::__private::run_skill::<$skill>(&input, ctx)
            }
        }

        $crate::bindings_skill::__export_skill_extension!(__ChataiSkillExtension);
    };
}

/// Makes this crate a tool component offering the listed [`Tool`] types (from
/// [`#[tool]`](tool) or your own impls). A call names one of them; any other name is answered
/// with `not-found`.
///
/// ```no_run
/// use chatai_sdk::{Output, ToolError, export_tools, tool};
///
/// /// Upper-cases a text.
/// #[tool]
/// fn upper(text: String) -> Result<Output, ToolError> {
///     Ok(Output::text(text.to_uppercase()))
/// }
///
/// /// Lower-cases a text.
/// #[tool]
/// fn lower(text: String) -> Result<Output, ToolError> {
///     Ok(Output::text(text.to_lowercase()))
/// }
///
/// export_tools!(Upper, Lower);
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
    use crate::{Context, Skill, Tool};

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
        T::call(args, &context(ctx))
            .map(crate::output::into_wit)
            .map_err(crate::tool::error_into_wit)
    }

    fn context(ctx: wit::CallContext) -> Context {
        Context {
            call_id: ctx.call_id,
            user_id: ctx.user_id,
            group_id: ctx.group_id,
            conversation_id: ctx.conversation_id,
            deadline_ms: ctx.deadline_ms,
        }
    }

    /// The WIT info of a skill, with its derived input schema.
    pub fn skill_info<S: Skill>()
    -> crate::bindings_skill::exports::chatai::extension::skill::SkillInfo {
        let mut generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
        crate::bindings_skill::exports::chatai::extension::skill::SkillInfo {
            name: S::NAME.to_owned(),
            description: S::DESCRIPTION.to_owned(),
            input_schema: generator
                .root_schema_for::<S::Input>()
                .to_value()
                .to_string(),
        }
    }

    /// Decodes the input, runs the skill, encodes the result.
    pub fn run_skill<S: Skill>(
        input: &str,
        ctx: wit::CallContext,
    ) -> Result<wit::CallResult, wit::ToolError> {
        let input: S::Input = serde_json::from_str(input)
            .map_err(|err| wit::ToolError::InvalidArgs(err.to_string()))?;
        S::run(input, &context(ctx))
            .map(crate::output::into_wit)
            .map_err(crate::tool::error_into_wit)
    }
}
