use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = redline::cli::Cli::parse();
    redline::commands::run(cli)
}
