//! The `chatai` binary, built inside this package so that tests find it through
//! `CARGO_BIN_EXE_chatai-under-test` (Cargo only exposes binaries of the package under test).

fn main() -> std::process::ExitCode {
    chatai_server::cli::run()
}
