//! The `chatai` binary.

fn main() -> std::process::ExitCode {
    chatai_server::cli::run()
}
