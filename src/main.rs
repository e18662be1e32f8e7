//! The `roster` binary: everything lives in the library; see `roster --help`.

fn main() -> std::process::ExitCode {
    roster::cli::main()
}
