//! `circled`: runs a circle (or circus) configuration, in the foreground or as a daemon.
//!
//! `circled -c FILE`: SIGTERM or SIGINT (Ctrl-C, Ctrl-Break on Windows) stop every watcher
//! gracefully and exit 0; SIGHUP (or `circlectl reload`) reloads the configuration (only the
//! differences are applied). `--daemon` detaches (Unix) or runs as a Windows service.
//! Argument parsing only: the work is in `circle::daemon::run`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Process supervisor: runs the watchers of a circle/circus configuration.
#[derive(Debug, Parser)]
#[command(name = "circled", version)]
struct Args {
    /// The configuration file.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    config: Option<PathBuf>,
    /// The configuration file, as circusd takes it.
    #[arg(value_name = "FILE", conflicts_with = "config")]
    config_positional: Option<PathBuf>,
    /// Run in the background: detach (Unix; exits 0 once the daemon is ready) or install and
    /// start a Windows service named after the configuration.
    #[arg(long)]
    daemon: bool,
    /// Pidfile (default: [circle] pidfile; with --daemon, beside the control socket).
    #[arg(long, value_name = "P")]
    pidfile: Option<PathBuf>,
    /// Log to this file, or - for standard output (default: [circle] logoutput).
    #[arg(long = "log-output", value_name = "F")]
    log_output: Option<String>,
    /// debug, info, warning, error or critical (default: [circle] loglevel, else info).
    #[arg(long = "log-level", value_name = "L")]
    log_level: Option<String>,
    /// Windows: stop and remove the service of this configuration.
    #[arg(long)]
    uninstall: bool,
    /// Windows: run as the service (used by the service manager).
    #[arg(long, hide = true)]
    service: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let Some(path) = args.config.or(args.config_positional) else {
        eprintln!("circled: no configuration file (use -c FILE)");
        return ExitCode::from(2);
    };
    let opts = circle::daemon::RunOptions::new(path)
        .daemon(args.daemon)
        .pidfile(args.pidfile)
        .log_output(args.log_output)
        .log_level(args.log_level)
        .uninstall(args.uninstall)
        .service(args.service);
    ExitCode::from(u8::try_from(circle::daemon::run(opts)).unwrap_or(1))
}
