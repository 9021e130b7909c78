//! `surreal`: SurrealDB's own command line (`surreal start …`), built from its library crate.
#![recursion_limit = "256"]

fn main() -> std::process::ExitCode {
    surrealdb_server::init(surrealdb_server::core::CommunityComposer())
}
