fn main() -> std::process::ExitCode {
    appc::cli::main()
}
