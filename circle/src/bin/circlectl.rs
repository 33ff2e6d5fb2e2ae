//! `circlectl`: drive a running `circled` over its control channel.
//!
//! Argument parsing only; the work is in `circle::control::cli`.

use std::path::PathBuf;

use circle::control::cli::{self, Command, Target};
use clap::{Parser, Subcommand};

/// Drive a running circled: status, start/stop, scale, reload, tail, quit.
#[derive(Parser, Debug)]
#[command(name = "circlectl", version)]
struct Args {
    /// circled's control endpoint (socket path, \\.\pipe\NAME); default: $CIRCLE_ENDPOINT,
    /// else from -c, else the only socket in $XDG_RUNTIME_DIR/circle (or /tmp/circle-UID).
    #[arg(long, global = true)]
    endpoint: Option<String>,
    /// The configuration circled runs, to find its endpoint.
    #[arg(short = 'c', long = "config", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Per process: pid, state, uptime, restarts, last exit, CPU %, RSS.
    Status {
        /// Only this watcher.
        name: Option<String>,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The watcher names.
    List,
    /// Start a watcher (or --all).
    Start(Which),
    /// Stop a watcher gracefully (or --all); circled keeps running.
    Stop(Which),
    /// Restart a watcher (or --all).
    Restart(Which),
    /// Send a signal to every process of a watcher.
    Signal {
        /// The watcher.
        name: String,
        /// TERM, SIGHUP, 15...
        signal: String,
    },
    /// Run N more processes (default 1); prints the new count.
    Incr {
        /// The watcher.
        name: String,
        /// How many.
        #[arg(default_value_t = 1)]
        n: usize,
    },
    /// Run N fewer processes (default 1); prints the new count.
    Decr {
        /// The watcher.
        name: String,
        /// How many.
        #[arg(default_value_t = 1)]
        n: usize,
    },
    /// Add a watcher (not written to the configuration: a reload drops it).
    Add {
        /// The new watcher's name.
        name: String,
        /// Its command line.
        #[arg(long)]
        cmd: String,
        /// More arguments.
        #[arg(long, default_value = "")]
        args: String,
        /// How many processes.
        #[arg(long, default_value_t = 1)]
        numprocesses: usize,
        /// Start it now.
        #[arg(long)]
        start: bool,
    },
    /// Stop and remove a watcher.
    #[command(alias = "remove")]
    Rm {
        /// The watcher.
        name: String,
    },
    /// Re-read the configuration and apply only what changed (like SIGHUP).
    Reload,
    /// Reopen log files (after logrotate moved them).
    Reopen,
    /// A watcher's captured output.
    Tail {
        /// Keep following.
        #[arg(short = 'f', long)]
        follow: bool,
        /// The watcher.
        name: String,
    },
    /// Stop every watcher and exit circled.
    Quit,
}

#[derive(clap::Args, Debug)]
struct Which {
    /// The watcher.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    name: Option<String>,
    /// Every watcher.
    #[arg(long)]
    all: bool,
}

fn main() {
    let args = Args::parse();
    let command = match args.command {
        Cmd::Status { name, json } => Command::Status { name, json },
        Cmd::List => Command::List,
        Cmd::Start(w) => Command::Start(w.name),
        Cmd::Stop(w) => Command::Stop(w.name),
        Cmd::Restart(w) => Command::Restart(w.name),
        Cmd::Signal { name, signal } => Command::Signal { name, signal },
        Cmd::Incr { name, n } => Command::Incr(name, n),
        Cmd::Decr { name, n } => Command::Decr(name, n),
        Cmd::Add {
            name,
            cmd,
            args,
            numprocesses,
            start,
        } => Command::Add {
            name,
            cmd,
            args,
            numprocesses,
            start,
        },
        Cmd::Rm { name } => Command::Remove(name),
        Cmd::Reload => Command::Reload,
        Cmd::Reopen => Command::Reopen,
        Cmd::Tail { follow, name } => Command::Tail { name, follow },
        Cmd::Quit => Command::Quit,
    };
    let endpoint = args.endpoint.or_else(|| {
        std::env::var("CIRCLE_ENDPOINT")
            .ok()
            .filter(|e| !e.is_empty())
    });
    let target = Target::new().endpoint(endpoint).config(args.config);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("circlectl: cannot start: {e}");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(cli::run(
        &target,
        command,
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    ));
    std::process::exit(code);
}
