//! `liaison`: parse the command line and hand over to [`liaison::cli`].

fn main() -> std::process::ExitCode {
    liaison::cli::main()
}
