//! The talk's agent, with the three crates together: identify the platform (`pf`), report the
//! machine's facts (`sysutil`), supervise workers from a config folder (`circle`), and pack their
//! logs on request (`nfs`).
//!
//! ```text
//! cargo run --example agent                       # interactive: type status, pack, reload, facts, quit
//! cargo run --example agent -- --once             # start, wait for some logs, pack them, stop
//! cargo run --example agent -- --config-dir DIR --logs DIR --packages DIR
//! ```
//!
//! The config folder (default `examples/agent.d`) holds one `*.ini` per worker, in circus's
//! format; `reload` applies what changed in it without touching the other workers. The workers
//! write their output under `--logs` (the variable `$(circle.env.AGENT_LOGS)` in the `.ini`
//! files); `pack` (or `SIGUSR1` on Unix) compresses those logs into a `.tar.gz` under
//! `--packages`. The report the agent would send to its server is written to
//! `<packages>/report.json`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use circle::{Event, Supervisor};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, BufReader};

#[derive(Debug)]
struct Args {
    config_dir: PathBuf,
    logs: PathBuf,
    packages: PathBuf,
    once: bool,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        config_dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/agent.d")),
        logs: PathBuf::from("target/agent/logs"),
        packages: PathBuf::from("target/agent/packages"),
        once: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().with_context(|| format!("{name} needs a value"));
        match a.as_str() {
            "--config-dir" => args.config_dir = value("--config-dir")?.into(),
            "--logs" => args.logs = value("--logs")?.into(),
            "--packages" => args.packages = value("--packages")?.into(),
            "--once" => args.once = true,
            "-h" | "--help" => {
                println!("usage: agent [--config-dir DIR] [--logs DIR] [--packages DIR] [--once]");
                std::process::exit(0);
            }
            other => anyhow::bail!("unknown argument {other:?} (try --help)"),
        }
    }
    args.config_dir = std::path::absolute(&args.config_dir)?;
    args.logs = std::path::absolute(&args.logs)?;
    args.packages = std::path::absolute(&args.packages)?;
    Ok(args)
}

#[derive(Serialize)]
struct Report<'a> {
    platform: &'a pf::Platform,
    facts: &'a sysutil::Facts,
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    nfs::makedirs(&args.logs, 0o750)?;
    nfs::makedirs(&args.packages, 0o750)?;
    // The worker configs name their log folder as $(circle.env.AGENT_LOGS). Set before any
    // thread exists (the runtime is built below).
    // SAFETY: single-threaded at this point; nothing reads the environment concurrently.
    unsafe { std::env::set_var("AGENT_LOGS", &args.logs) };

    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    // 1. Where am I?
    let platform = pf::get_platform();
    println!(
        "agent: running on {platform} (package label {})",
        platform.label()
    );

    // 2. What is this machine? Written as the report an agent sends to its server.
    let t0 = Instant::now();
    let facts = sysutil::facts();
    let report_path = args.packages.join("report.json");
    let report = serde_json::to_string_pretty(&Report {
        platform,
        facts: &facts,
    })?;
    std::fs::write(&report_path, report)
        .with_context(|| format!("cannot write {}", report_path.display()))?;
    println!(
        "agent: facts read in {:.1} ms ({} vm, {} container), report in {}",
        t0.elapsed().as_secs_f64() * 1e3,
        facts.virtualization.vm.as_deref().unwrap_or("no"),
        facts.virtualization.container.as_deref().unwrap_or("no"),
        report_path.display()
    );

    // 3. Supervise the workers of the config folder. The main config is a file, so that
    //    `reload` re-reads it and the folder.
    let main_config = args
        .packages
        .parent()
        .unwrap_or(&args.packages)
        .join("agent.ini");
    std::fs::write(
        &main_config,
        format!(
            "# written by the agent example\n[circle]\ninclude_dir = {}\n",
            args.config_dir.display()
        ),
    )
    .with_context(|| format!("cannot write {}", main_config.display()))?;
    let config = circle::Config::from_file(&main_config)?;
    let names: Vec<String> = config.watchers.iter().map(|w| w.name.clone()).collect();
    println!(
        "agent: supervising {} from {}",
        names.join(", "),
        args.config_dir.display()
    );
    let supervisor = Supervisor::spawn(config)?;
    let mut events = supervisor.subscribe_events();

    if args.once {
        // Wait until every worker runs and has had a moment to log, then pack and stop.
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let status = supervisor.status().await;
            let running = status
                .iter()
                .all(|w| w.processes.iter().all(|p| p.pid.is_some()));
            if running && any_log_written(&args.logs) {
                break;
            }
            let _ = tokio::time::timeout(Duration::from_millis(200), events.recv()).await;
        }
        print_status(&supervisor).await;
        pack_logs(&args.logs, &args.packages).await?;
        supervisor.shutdown().await?;
        println!("agent: stopped");
        return Ok(());
    }

    println!("agent: commands: status, facts, pack, reload, quit (or Ctrl-C)");
    let mut usr1 = PackSignal::new()?;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    loop {
        tokio::select! {
            line = lines.next_line(), if stdin_open => match line?.as_deref().map(str::trim) {
                None => stdin_open = false,
                Some("status") => print_status(&supervisor).await,
                Some("facts") => println!("{}", serde_json::to_string_pretty(&sysutil::facts())?),
                Some("pack") => {
                    if let Err(e) = pack_logs(&args.logs, &args.packages).await {
                        println!("agent: pack failed: {e:#}");
                    }
                }
                Some("reload") => match supervisor.reload().await {
                    Ok(report) => println!("agent: reloaded: {report:?}"),
                    Err(e) => println!("agent: reload refused, nothing changed:\n{e}"),
                },
                Some("quit" | "exit") => break,
                Some("") => {}
                Some(other) => println!("agent: unknown command {other:?}"),
            },
            _ = usr1.recv() => {
                if let Err(e) = pack_logs(&args.logs, &args.packages).await {
                    println!("agent: pack failed: {e:#}");
                }
            }
            ev = events.recv() => {
                if let Ok(Event::State { watcher, state }) = ev {
                    println!("agent: {watcher} is now {state:?}");
                }
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    println!("agent: stopping workers");
    supervisor.shutdown().await?;
    println!("agent: stopped");
    Ok(())
}

/// `SIGUSR1` asks for a pack on Unix; elsewhere only the `pack` command does.
struct PackSignal {
    #[cfg(unix)]
    signal: tokio::signal::unix::Signal,
}

impl PackSignal {
    fn new() -> std::io::Result<Self> {
        Ok(PackSignal {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1())?,
        })
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        {
            if self.signal.recv().await.is_some() {
                return;
            }
        }
        std::future::pending::<()>().await
    }
}

fn any_log_written(logs: &Path) -> bool {
    std::fs::read_dir(logs).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.metadata().is_ok_and(|m| m.is_file() && m.len() > 0))
    })
}

async fn print_status(supervisor: &Supervisor) {
    for w in supervisor.status().await {
        let pids: Vec<String> = w
            .processes
            .iter()
            .map(|p| p.pid.map_or("-".to_string(), |pid| pid.to_string()))
            .collect();
        println!(
            "agent: {:<12} {:<10} pids {}",
            w.name,
            format!("{:?}", w.state),
            pids.join(",")
        );
    }
}

/// Pack the workers' logs (`*.log` and rotated `*.log.N`) into a tar.gz; nfs does blocking I/O,
/// so it runs off the runtime's thread.
async fn pack_logs(logs: &Path, packages: &Path) -> anyhow::Result<PathBuf> {
    let host = sysutil::hostname().unwrap_or_else(|_| "unknown-host".into());
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let name = format!("logs-{host}-{stamp}");
    let (logs, packages) = (logs.to_path_buf(), packages.to_path_buf());
    let t0 = Instant::now();
    let archive = tokio::task::spawn_blocking(move || {
        let opts = nfs::CompressOptions::new()
            .name(name)
            .root("logs")
            .filter_files(["*.log", "*.log.*"]);
        nfs::compress(&logs, &packages, &opts)
    })
    .await??;
    let size = std::fs::metadata(&archive).map(|m| m.len()).unwrap_or(0);
    println!(
        "agent: packed logs into {} ({size} bytes, {:.1} ms)",
        archive.display(),
        t0.elapsed().as_secs_f64() * 1e3
    );
    Ok(archive)
}
