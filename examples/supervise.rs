//! An agent that embeds the `circle` supervisor: watchers built in code, every state change
//! printed as it happens, a clean shutdown on Ctrl-C.
//!
//! ```text
//! cargo run --example supervise                  # until Ctrl-C
//! cargo run --example supervise -- --for 5       # stop by itself after 5 seconds
//! ```
//!
//! Two watchers: `ticker` (two processes printing a line a second, their output shown here with
//! the watcher name and pid) and `flaky` (exits after a second; respawned at once, then backed off
//! while it keeps dying too soon, and given up after `max_retry`).

use std::time::Duration;

use circle::{Event, Supervisor, Watcher};

#[cfg(unix)]
const TICKER: &str = "sh -c 'while true; do echo tick from $$; sleep 1; done'";
#[cfg(windows)]
const TICKER: &str = "cmd /C \"for /L %i in (1,0,2) do (echo tick & ping -n 2 127.0.0.1 >NUL)\"";
#[cfg(unix)]
const FLAKY: &str = "sh -c 'echo flaky starting; sleep 1; echo flaky crashing >&2; exit 3'";
#[cfg(windows)]
const FLAKY: &str = "cmd /C \"echo flaky starting & ping -n 2 127.0.0.1 >NUL & exit 3\"";

fn describe(event: &Event) -> Option<String> {
    Some(match event {
        Event::Spawned { watcher, wid, pid } => format!("{watcher}[{wid}] started, pid {pid}"),
        Event::SpawnFailed {
            watcher,
            wid,
            error,
        } => format!("{watcher}[{wid}] could not start: {error}"),
        Event::Exited {
            watcher,
            wid,
            pid,
            exit,
        } => format!("{watcher}[{wid}] pid {pid} exited: {exit:?}"),
        Event::State { watcher, state } => format!("{watcher} is now {state:?}"),
        Event::Added { watcher } => format!("{watcher} added"),
        Event::Removed { watcher } => format!("{watcher} removed"),
        Event::Reloaded { report } => format!("configuration reloaded: {report:?}"),
        Event::ShutDown => "supervisor shut down".to_string(),
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let run_for = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => None,
        [flag, secs] if flag == "--for" => Some(Duration::from_secs_f64(secs.parse()?)),
        _ => anyhow::bail!("usage: supervise [--for SECONDS]"),
    };

    let config = circle::Config::new()
        .watcher(
            Watcher::new("ticker")
                .cmd(TICKER)
                .numprocesses(2)
                .graceful_timeout(Duration::from_secs(3))
                .stop_children(true),
        )
        .watcher(
            Watcher::new("flaky")
                .cmd(FLAKY)
                .max_retry(Some(3))
                .graceful_timeout(Duration::from_secs(3)),
        );
    let supervisor = Supervisor::spawn(config)?;
    let mut events = supervisor.subscribe_events();
    let (mut ticker_seen, mut ticker_output) = supervisor.subscribe_output("ticker")?;
    print!(
        "{}",
        String::from_utf8_lossy(&std::mem::take(&mut ticker_seen))
    );

    let deadline = async {
        match run_for {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    println!("supervising; Ctrl-C to stop");
    loop {
        tokio::select! {
            ev = events.recv() => match ev {
                Ok(ev) => {
                    if let Some(line) = describe(&ev) {
                        println!("event: {line}");
                    }
                    if matches!(ev, Event::ShutDown) {
                        break;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    println!("event: ({n} events skipped)");
                }
                Err(_) => break,
            },
            chunk = ticker_output.recv() => {
                if let Ok(chunk) = chunk {
                    for line in String::from_utf8_lossy(&chunk.data).lines() {
                        println!("output: {}[{}] {line}", chunk.watcher, chunk.pid);
                    }
                }
            }
            _ = tokio::signal::ctrl_c() => {
                println!("Ctrl-C: stopping every watcher gracefully");
                break;
            }
            _ = &mut deadline => {
                println!("time is up: stopping every watcher gracefully");
                break;
            }
        }
    }
    supervisor.shutdown().await?;
    // What happened during the shutdown: every process stopped and reaped.
    while let Ok(ev) = events.try_recv() {
        if let Some(line) = describe(&ev) {
            println!("event: {line}");
        }
    }
    println!("stopped cleanly");
    Ok(())
}
