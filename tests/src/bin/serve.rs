//! The server command (`petition-server`), built here so that the e2e tests
//! can run the server as a process of its own and kill it.

fn main() -> std::process::ExitCode {
    petition_server::cli::main()
}
