//! The `onair` binary: parses the command line, sets up logging, and runs the server.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use onair_server::{Cli, Command};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_ansi(std::io::stdout().is_terminal())
        .init();
    onair_server::log_panics();
    let cli = Cli::parse();
    match &cli.command {
        Some(Command::Check) => return check(&cli.config_source()),
        Some(Command::Token {
            station,
            valid_for,
            address,
        }) => {
            let mut out = std::io::stdout().lock();
            let made = onair_server::cli::print_token(
                &cli.config_source(),
                station,
                (*valid_for).into(),
                *address,
                &mut out,
            );
            return match made {
                Ok(()) => ExitCode::SUCCESS,
                Err(why) => {
                    eprintln!("onair: {why}");
                    ExitCode::from(2)
                }
            };
        }
        None => {}
    }
    match serve(cli.config_source()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("onair: {error:#}");
            // A bad config is the operator's to fix: exit code 2, as for bad flags.
            match error.downcast_ref::<onair_server::ServerError>() {
                Some(onair_server::ServerError::Config(_) | onair_server::ServerError::Tls(_)) => {
                    ExitCode::from(2)
                }
                _ => ExitCode::FAILURE,
            }
        }
    }
}

fn serve(source: onair_server::ConfigSource) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(onair_server::run(source))?;
    Ok(())
}

/// `onair check`: exit 0 when everything is clean, 1 when a station has a problem, 2 when the
/// config is invalid.
fn check(source: &onair_server::ConfigSource) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match onair_server::check(source, &mut out) {
        Ok(Ok(summary)) if summary.clean() => ExitCode::SUCCESS,
        Ok(Ok(_)) => ExitCode::FAILURE,
        Ok(Err(error)) => {
            eprintln!("onair: cannot write the report: {error}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("onair: invalid config: {error}");
            ExitCode::from(2)
        }
    }
}
