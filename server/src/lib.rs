//! ChatAI Edge: the AI brain behind chat bots and admin panels.
//!
//! [`start`] builds the whole server from a [`config::ConfigLoader`] and listens; tests call
//! it directly, `main.rs` wraps it in the `chatai` command line.

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod control;
pub mod extensions;
pub mod http;
mod server;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod tools;

pub use server::{Running, open_store, start};
