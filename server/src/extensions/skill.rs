//! Skills: components of the `skill-extension` world. A skill runs like a tool (a fresh
//! sandboxed instance, the same limits) but may call tools and the LLM through `skill-host`.
//! What those imports do is not decided here: the caller of [`ExtensionHost::run_skill`]
//! supplies [`SkillImports`] (the skills module, which goes through the one tool executor and
//! channel selection), so this module stays the only one that knows wasmtime.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::bindings;
use super::bindings::skill::chatai::extension::skill_host;
use super::sandbox::HostState;
use super::{
    CallLimits, Entry, Extension, ExtensionHost, GuestCall, LoadError, call_context,
    convert_result, guest_error, guest_logs, trap, validate_spec,
};
use crate::config::ExtensionsConfig;
use crate::tools::{Ran, ToolBackend, ToolError, ToolSpec};

/// The category every skill is listed under.
pub const SKILL_CATEGORY: &str = "skills";

/// An import's answer: the guest sees `Ok` or `Err(message)`.
pub type ImportFuture<'a> = Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>>;

/// One message a skill sends to the LLM.
#[derive(Debug, Clone)]
pub struct SkillMessage {
    pub role: String,
    pub content: String,
}

/// What a running skill's host imports do.
pub trait SkillImports: Send + Sync {
    /// `skill-host.call-tool`: the tool's text result, or why it failed.
    fn call_tool(&self, name: String, args: String) -> ImportFuture<'_>;
    /// `skill-host.complete`: the model's answer, or why there is none.
    fn complete(&self, messages: Vec<SkillMessage>, model: Option<String>) -> ImportFuture<'_>;
    /// A `host.log` line of the skill (it is also kept in the call's log).
    fn log(&self, level: &'static str, message: &str);
    /// A `host.progress` report of the skill.
    fn progress(&self, done: u32, total: Option<u32>, message: &str);
    /// Why the run must end now (a cap was hit), once it must. The host then stops the guest
    /// at its next import instead of handing it an error it could ignore.
    fn stopped(&self) -> Option<ToolError>;
}

/// Makes the tool backend of a loaded skill (the skills module implements it; extension
/// loading calls it for every skill component, builtin or custom).
pub trait SkillBinder: Send + Sync {
    fn backend(
        &self,
        host: &Arc<ExtensionHost>,
        extension: &Arc<Extension>,
    ) -> Arc<dyn ToolBackend>;
}

impl ExtensionHost {
    /// Runs a skill in a fresh instance until it returns or `guest.deadline` passes (a skill's
    /// time is its run's, spent mostly waiting on tools and the LLM, not a tool call's 5 s).
    pub async fn run_skill(
        &self,
        extension: &Extension,
        input: String,
        guest: GuestCall,
        imports: Arc<dyn SkillImports>,
        config: &ExtensionsConfig,
    ) -> Ran {
        let refused = |err| Ran {
            result: Err(err),
            logs: Vec::new(),
        };
        let Entry::Skill(pre) = &extension.entry else {
            return refused(ToolError::Failed(format!(
                "`{}` is a tool component, not a skill",
                extension.name
            )));
        };
        let Some(_running) = self.enter(extension, config) else {
            return refused(ToolError::Busy(super::max_concurrency(extension, config)));
        };
        let limits = CallLimits::derive(config, &extension.requested);
        let timeout = guest.deadline.unwrap_or(limits.timeout);
        let mut store = self.store(extension, &limits, config, None, Some(imports.clone()));
        let ctx = call_context(guest, timeout);
        let run = async {
            let instance = pre.instantiate_async(&mut store).await?;
            instance
                .chatai_extension_skill()
                .call_run(&mut store, &input, &ctx)
                .await
        };
        let result = match tokio::time::timeout(timeout, run).await {
            Err(_) => Err(ToolError::Timeout(timeout)),
            Ok(Err(err)) => Err(imports.stopped().unwrap_or_else(|| trap(err, store.data()))),
            Ok(Ok(Err(err))) => Err(guest_error(err)),
            Ok(Ok(Ok(result))) => convert_result(result, &limits),
        };
        Ran {
            result,
            logs: guest_logs(store.data()),
        }
    }

    /// Asks a skill for its `info` (once, at load, in a sandbox) and makes it a tool spec.
    pub(super) async fn skill_spec(
        &self,
        extension: &Extension,
        config: &ExtensionsConfig,
    ) -> Result<ToolSpec, LoadError> {
        let Entry::Skill(pre) = &extension.entry else {
            return Err(LoadError::WrongWorld("not a skill".into()));
        };
        let limits = CallLimits::derive(config, &extension.requested);
        let mut store = self.store(extension, &limits, config, None, None);
        let run = async {
            let instance = pre.instantiate_async(&mut store).await?;
            instance
                .chatai_extension_skill()
                .call_info(&mut store)
                .await
        };
        let info = match tokio::time::timeout(limits.timeout, run).await {
            Err(_) => return Err(LoadError::ListTools("info() timed out".into())),
            Ok(Err(err)) => {
                return Err(LoadError::ListTools(format!(
                    "info() failed: {}",
                    trap(err, store.data())
                )));
            }
            Ok(Ok(info)) => info,
        };
        validate_spec(bindings::ToolSpec {
            name: info.name,
            description: info.description,
            input_schema: info.input_schema,
            output_schema: None,
            category: Some(SKILL_CATEGORY.to_owned()),
            dangerous: false,
        })
    }
}

impl HostState {
    /// The imports of the running skill; none while a skill answers `info` (or in a tool).
    fn skill_imports(&self) -> wasmtime::Result<Arc<dyn SkillImports>> {
        self.skill
            .clone()
            .ok_or_else(|| wasmtime::format_err!("skill-host is available only while a skill runs"))
    }
}

/// Ends the run when the imports say it must.
fn stop_if_stopped(imports: &dyn SkillImports) -> wasmtime::Result<()> {
    match imports.stopped() {
        Some(reason) => Err(wasmtime::format_err!("the skill was stopped: {reason}")),
        None => Ok(()),
    }
}

impl skill_host::Host for HostState {
    #[tracing::instrument(
        level = "debug",
        name = "host_import",
        skip_all,
        fields(import = "call_tool")
    )]
    async fn call_tool(
        &mut self,
        name: String,
        args: String,
    ) -> wasmtime::Result<Result<String, String>> {
        let imports = self.skill_imports()?;
        stop_if_stopped(&*imports)?;
        let answer = imports.call_tool(name, args).await;
        stop_if_stopped(&*imports)?;
        Ok(answer)
    }

    #[tracing::instrument(
        level = "debug",
        name = "host_import",
        skip_all,
        fields(import = "complete")
    )]
    async fn complete(
        &mut self,
        messages: Vec<skill_host::ChatMessage>,
        model: Option<String>,
    ) -> wasmtime::Result<Result<String, String>> {
        let imports = self.skill_imports()?;
        stop_if_stopped(&*imports)?;
        let messages = messages
            .into_iter()
            .map(|m| SkillMessage {
                role: m.role,
                content: m.content,
            })
            .collect();
        let answer = imports.complete(messages, model).await;
        stop_if_stopped(&*imports)?;
        Ok(answer)
    }
}
