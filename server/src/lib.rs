//! ChatAI Edge: the AI brain behind chat bots and admin panels.
//!
//! [`start`] builds the whole server from a [`config::ConfigLoader`] and listens; tests call
//! it directly, `main.rs` wraps it in the `chatai` command line.

/// mimalloc instead of glibc's malloc for every binary that links the server: the request path
/// allocates many small, short-lived objects across threads, where glibc spent ~9% of the CPU
/// of a tools/call load run (`bench/run.sh`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod api;
pub mod auth;
pub mod channels;
pub mod chat;
pub mod cli;
pub mod config;
pub mod control;
mod data_dir;
pub mod events;
pub mod ext;
pub mod extensions;
pub mod footprint;
pub mod groups;
pub mod http;
pub mod llm;
pub mod manifest;
pub mod mcp;
mod server;
pub mod skills;
pub mod state;
pub mod store;
mod sync;
pub mod telemetry;
pub mod tools;

pub use server::{Running, open_store, start};
