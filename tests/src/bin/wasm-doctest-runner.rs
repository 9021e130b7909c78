//! The runner of wasm32-wasip2 test binaries (`CARGO_TARGET_WASM32_WASIP2_RUNNER`), for the
//! SDK's doc tests compiled for the component target: `.ci/run` runs
//! `cargo test -p chatai-sdk --doc --target wasm32-wasip2` with it. WASI as the server links it
//! (asynchronous), with this process's stdio, arguments and environment; the imports only the
//! server provides (`chatai:extension/host`) trap when called and `wasi:http` refuses
//! every request, which is why the
//! examples that call the host are `no_run` (compiled, not run).

use std::process::ExitCode;

use anyhow::{Context as _, anyhow};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::p2::bindings::Command;
use wasmtime_wasi::{I32Exit, WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{
    Error as HttpError, RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks,
    WasiHttpView,
};

struct State {
    ctx: WasiCtx,
    http: WasiHttpCtx,
    no_network: NoNetwork,
    table: ResourceTable,
}

/// `wasi:http` linked as on the server, every request refused (a doc test reaches nothing).
struct NoNetwork;

type SendResult = wasmtime_wasi_http::Result<(
    http::Response<WasiBody>,
    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
)>;

impl WasiHttpHooks for NoNetwork {
    fn send_request(
        &mut self,
        _request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        Box::new(async { Err(HttpError::HttpRequestDenied) })
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.no_network,
        }
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

/// Every function of the `chatai:` interfaces the component imports, as a trap. (Not
/// `define_unknown_imports_as_traps`: it would stub `wasi:io/error@0.2.12` anew beside the
/// linked 0.2.x, and the `wasi:io/streams` that uses it would no longer type-check.)
fn stub_server_imports(
    engine: &Engine,
    component: &Component,
    linker: &mut Linker<State>,
) -> wasmtime::Result<()> {
    for (name, item) in component.component_type().imports(engine) {
        let ComponentItem::ComponentInstance(instance) = item.ty else {
            continue;
        };
        if !name.starts_with("chatai:") {
            continue;
        }
        let mut stubs = linker.instance(name)?;
        for (function, item) in instance.exports(engine) {
            if let ComponentItem::ComponentFunc(_) = item.ty {
                let what = format!("{name}#{function}");
                stubs.func_new(function, move |_, _, _, _| {
                    Err(wasmtime::format_err!(
                        "{what} is the server's: a doc test that calls it must be `no_run`"
                    ))
                })?;
            }
        }
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .first()
        .context("usage: wasm-doctest-runner <test.wasm> [args…]")?;
    let mut config = Config::new();
    config.wasm_component_model(true);
    let engine = Engine::new(&config).map_err(|err| anyhow!("the engine: {err:#}"))?;
    let component =
        Component::from_file(&engine, path).map_err(|err| anyhow!("loading {path}: {err:#}"))?;
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)
        .map_err(|err| anyhow!("linking WASI: {err:#}"))?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
        .map_err(|err| anyhow!("linking wasi:http: {err:#}"))?;
    stub_server_imports(&engine, &component, &mut linker)
        .map_err(|err| anyhow!("stubbing the server's imports: {err:#}"))?;
    let ctx = WasiCtx::builder()
        .inherit_stdio()
        .inherit_env()
        .args(&args)
        .build();
    let mut store = Store::new(
        &engine,
        State {
            ctx,
            http: WasiHttpCtx::new(),
            no_network: NoNetwork,
            table: ResourceTable::new(),
        },
    );
    let command = Command::instantiate_async(&mut store, &component, &linker)
        .await
        .map_err(|err| anyhow!("instantiating {path}: {err:#}"))?;
    match command.wasi_cli_run().call_run(&mut store).await {
        Ok(Ok(())) => Ok(ExitCode::SUCCESS),
        Ok(Err(())) => Ok(ExitCode::FAILURE),
        Err(err) => match err.downcast_ref::<I32Exit>() {
            Some(exit) => Ok(ExitCode::from(u8::try_from(exit.0).unwrap_or(1))),
            None => Err(anyhow!("{path} trapped: {err:?}")),
        },
    }
}
