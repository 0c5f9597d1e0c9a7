//! `petition-server`: see [`petition_server::cli`].

fn main() -> std::process::ExitCode {
    petition_server::cli::main()
}
