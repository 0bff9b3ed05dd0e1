//! `orderflow`: one binary, one subcommand per service.

mod cli;

fn main() -> std::process::ExitCode {
    let cli = cli::parse();
    let runtime = match cli.runtime() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let _telemetry = orderflow_launcher::process::init_telemetry(cli.name());
        match cli.run().await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(error) => {
                tracing::error!(
                    error = format!("{error:#}"),
                    "orderflow stopped with an error."
                );
                eprintln!("error: {error:#}");
                std::process::ExitCode::FAILURE
            }
        }
    })
}
