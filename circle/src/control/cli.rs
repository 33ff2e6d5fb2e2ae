//! What `circlectl` does for each command, writing to the streams it is given.

use std::io::Write;
use std::path::PathBuf;

use super::protocol::{ErrorKind, ProcessInfo, ReloadSummary, Request, Response, WatcherInfo};
use super::{Client, find_endpoint};
use crate::error::{Error, Result};

/// A `circlectl` command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// `status [NAME] [--json]`.
    Status {
        /// One watcher.
        name: Option<String>,
        /// Print JSON ([`WatcherInfo`] array) instead of a table.
        json: bool,
    },
    /// `list`.
    List,
    /// `start NAME|--all`.
    Start(Option<String>),
    /// `stop NAME|--all`.
    Stop(Option<String>),
    /// `restart NAME|--all`.
    Restart(Option<String>),
    /// `signal NAME SIG`.
    Signal {
        /// The watcher.
        name: String,
        /// The signal.
        signal: String,
    },
    /// `incr NAME [N]`.
    Incr(String, usize),
    /// `decr NAME [N]`.
    Decr(String, usize),
    /// `add NAME --cmd CMD [--args A] [--numprocesses N] [--start]`.
    Add {
        /// The watcher.
        name: String,
        /// Its command.
        cmd: String,
        /// Extra arguments.
        args: String,
        /// How many processes.
        numprocesses: usize,
        /// Start it now.
        start: bool,
    },
    /// `rm NAME`.
    Remove(String),
    /// `reload`.
    Reload,
    /// `reopen`.
    Reopen,
    /// `tail [-f] NAME`.
    Tail {
        /// The watcher.
        name: String,
        /// Keep following.
        follow: bool,
    },
    /// `quit`.
    Quit,
}

/// Where `circlectl` finds `circled`.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Target {
    /// `--endpoint`.
    pub endpoint: Option<String>,
    /// `-c CONFIG`.
    pub config: Option<PathBuf>,
}

impl Target {
    /// Nothing given: the default endpoint.
    pub fn new() -> Self {
        Target::default()
    }

    /// `--endpoint`.
    #[must_use]
    pub fn endpoint(mut self, endpoint: Option<String>) -> Self {
        self.endpoint = endpoint;
        self
    }

    /// `-c CONFIG`.
    #[must_use]
    pub fn config(mut self, config: Option<PathBuf>) -> Self {
        self.config = config;
        self
    }
}

/// Runs one command against `circled` and returns the process exit code: 0 on success, 1
/// when `circled` refused or could not be reached (with one line on `err`; a refused reload
/// adds its `file:line` errors), 2 for a usage error.
pub async fn run(
    target: &Target,
    command: Command,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    match execute(target, command, out).await {
        Ok(()) => 0,
        Err(e) => {
            let _ = writeln!(err, "circlectl: {}", one_line(&e));
            if let Error::Remote { reply, .. } = &e {
                for detail in &reply.errors {
                    let _ = writeln!(err, "  {detail}");
                }
            }
            1
        }
    }
}

fn one_line(e: &Error) -> String {
    match e {
        Error::Remote { reply, .. } if reply.kind == ErrorKind::Config => {
            format!(
                "reload refused: {} ({} problem(s))",
                reply.message,
                reply.errors.len()
            )
        }
        other => other
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string(),
    }
}

async fn execute(target: &Target, command: Command, out: &mut dyn Write) -> Result<()> {
    let endpoint = find_endpoint(target.endpoint.as_deref(), target.config.as_deref())?;
    let mut c = Client::connect(&endpoint).await?;
    let w = |r: std::io::Result<()>| r.map_err(|e| Error::io("standard output", e));
    match command {
        Command::Status { name, json } => {
            let watchers = c.status(name.as_deref()).await?;
            if json {
                let text = serde_json::to_string_pretty(&watchers)
                    .map_err(|e| Error::io("standard output", std::io::Error::other(e)))?;
                w(writeln!(out, "{text}"))?;
            } else {
                w(out.write_all(format_status(&watchers).as_bytes()))?;
            }
        }
        Command::List => match c.call_ok(&Request::List).await? {
            Response::List { names } => {
                for n in names {
                    w(writeln!(out, "{n}"))?;
                }
            }
            other => return Err(unexpected(&c, &other)),
        },
        Command::Start(name) => c.expect_done(&Request::Start { name }).await?,
        Command::Stop(name) => c.expect_done(&Request::Stop { name }).await?,
        Command::Restart(name) => c.expect_done(&Request::Restart { name }).await?,
        Command::Signal { name, signal } => {
            c.expect_done(&Request::Signal { name, signal }).await?;
        }
        Command::Incr(name, n) => numprocesses(&mut c, Request::Incr { name, n }, out).await?,
        Command::Decr(name, n) => numprocesses(&mut c, Request::Decr { name, n }, out).await?,
        Command::Add {
            name,
            cmd,
            args,
            numprocesses,
            start,
        } => {
            c.expect_done(&Request::Add {
                name,
                cmd,
                args,
                numprocesses,
                start,
            })
            .await?;
        }
        Command::Remove(name) => c.expect_done(&Request::Remove { name }).await?,
        Command::Reload => {
            let s = c.reload().await?;
            w(out.write_all(format_reload(&s).as_bytes()))?;
        }
        Command::Reopen => c.expect_done(&Request::Reopen).await?,
        Command::Tail { name, follow } => {
            c.send(&Request::Tail { name, follow }).await?;
            loop {
                match c.recv().await? {
                    Some(Response::Output { data }) => {
                        w(out.write_all(data.as_bytes()))?;
                        w(out.flush())?;
                    }
                    Some(Response::Done) | None => break,
                    Some(Response::Error(reply)) => {
                        return Err(Error::Remote {
                            endpoint: c.endpoint().to_string(),
                            reply,
                        });
                    }
                    Some(other) => return Err(unexpected(&c, &other)),
                }
            }
        }
        Command::Quit => {
            c.expect_done(&Request::Quit).await?;
            // circled closes the connection once every watcher has stopped and it exits.
            c.wait_closed().await?;
        }
    }
    Ok(())
}

async fn numprocesses(c: &mut Client, request: Request, out: &mut dyn Write) -> Result<()> {
    match c.call_ok(&request).await? {
        Response::Numprocesses { numprocesses, .. } => {
            writeln!(out, "{numprocesses}").map_err(|e| Error::io("standard output", e))
        }
        other => Err(unexpected(c, &other)),
    }
}

fn unexpected(c: &Client, r: &Response) -> Error {
    Error::Protocol {
        endpoint: c.endpoint().to_string(),
        message: format!("unexpected answer {r:?}"),
    }
}

/// `1h02m`, `5m03s`, `12s`, `3d04h`.
pub fn format_uptime(secs: f64) -> String {
    let s = if secs.is_finite() && secs > 0.0 {
        secs as u64
    } else {
        0
    };
    let (d, h, m, s) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("{d}d{h:02}h")
    } else if h > 0 {
        format!("{h}h{m:02}m")
    } else if m > 0 {
        format!("{m}m{s:02}s")
    } else {
        format!("{s}s")
    }
}

/// `512K`, `3.1M`, `1.2G`.
pub fn format_bytes(b: u64) -> String {
    const K: f64 = 1024.0;
    let f = b as f64;
    if f < K * K {
        format!("{:.0}K", f / K)
    } else if f < K * K * K {
        format!("{:.1}M", f / K / K)
    } else {
        format!("{:.1}G", f / K / K / K)
    }
}

fn last_exit(p: &ProcessInfo) -> String {
    match (p.last_exit_code, p.last_exit_signal) {
        (_, Some(sig)) => crate::Signal::from_number(sig)
            .map_or_else(|| format!("signal {sig}"), |s| format!("SIG{s}")),
        (Some(code), None) => format!("code {code}"),
        (None, None) => "-".into(),
    }
}

/// The `circlectl status` table: one line per process, or per watcher without processes.
pub fn format_status(watchers: &[WatcherInfo]) -> String {
    let mut rows = vec![
        [
            "WATCHER",
            "WID",
            "STATE",
            "PID",
            "UPTIME",
            "RESTARTS",
            "LAST EXIT",
            "CPU%",
            "RSS",
        ]
        .map(String::from),
    ];
    let dash = || "-".to_string();
    for w in watchers {
        let active: Vec<&ProcessInfo> = w
            .processes
            .iter()
            .filter(|p| {
                p.pid.is_some()
                    || p.restarts > 0
                    || p.last_exit_code.is_some()
                    || p.last_exit_signal.is_some()
            })
            .collect();
        if active.is_empty() {
            rows.push([
                w.name.clone(),
                dash(),
                w.state.clone(),
                dash(),
                dash(),
                dash(),
                dash(),
                dash(),
                dash(),
            ]);
        }
        for p in active {
            rows.push([
                w.name.clone(),
                p.wid.to_string(),
                if w.state == "failed" {
                    w.state.clone()
                } else {
                    p.state.clone()
                },
                p.pid.map_or_else(dash, |x| x.to_string()),
                p.uptime_secs.map_or_else(dash, format_uptime),
                p.restarts.to_string(),
                last_exit(p),
                p.cpu_percent.map_or_else(dash, |c| format!("{c:.1}")),
                p.rss_bytes.map_or_else(dash, format_bytes),
            ]);
        }
    }
    let widths: Vec<usize> = (0..9)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, &wd)| format!("{c:<wd$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    for w in watchers {
        if let Some(reason) = &w.reason {
            out.push_str(&format!("{}: failed: {reason}\n", w.name));
        }
    }
    out
}

/// What `circlectl reload` prints.
pub fn format_reload(s: &ReloadSummary) -> String {
    let mut out = String::new();
    let mut line = |what: &str, names: &[String]| {
        if !names.is_empty() {
            out.push_str(&format!("{what}: {}\n", names.join(" ")));
        }
    };
    line("added", &s.added);
    line("removed", &s.removed);
    line("restarted", &s.restarted);
    line("updated", &s.updated);
    let scaled: Vec<String> = s
        .scaled
        .iter()
        .map(|x| format!("{} ({} -> {})", x.name, x.from, x.to))
        .collect();
    line("scaled", &scaled);
    line("unchanged", &s.unchanged);
    if out.is_empty() {
        out.push_str("nothing to do\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::protocol::ScaleInfo;

    #[test]
    fn uptimes_and_sizes() {
        for (s, want) in [
            (0.0, "0s"),
            (59.9, "59s"),
            (303.0, "5m03s"),
            (3720.0, "1h02m"),
            (273_600.0, "3d04h"),
            (f64::NAN, "0s"),
        ] {
            assert_eq!(format_uptime(s), want, "{s}");
        }
        assert_eq!(format_bytes(524_288), "512K");
        assert_eq!(format_bytes(3_250_585), "3.1M");
        assert_eq!(format_bytes(1_288_490_189), "1.2G");
    }

    fn proc(wid: usize, pid: Option<u32>) -> ProcessInfo {
        ProcessInfo {
            wid,
            pid,
            state: if pid.is_some() { "running" } else { "stopped" }.into(),
            uptime_secs: pid.map(|_| 65.0),
            restarts: 0,
            last_exit_code: None,
            last_exit_signal: None,
            cpu_percent: pid.map(|_| 0.25),
            rss_bytes: pid.map(|_| 2 * 1024 * 1024),
        }
    }

    #[test]
    fn status_table() {
        let mut killed = proc(2, Some(101));
        killed.restarts = 1;
        killed.last_exit_signal = Some(crate::Signal::Kill.number());
        let ws = vec![
            WatcherInfo {
                name: "web".into(),
                state: "running".into(),
                numprocesses: 2,
                reason: None,
                processes: vec![proc(1, Some(100)), killed],
            },
            WatcherInfo {
                name: "idle".into(),
                state: "stopped".into(),
                numprocesses: 1,
                reason: None,
                processes: vec![proc(1, None)],
            },
            WatcherInfo {
                name: "crashy".into(),
                state: "failed".into(),
                numprocesses: 1,
                reason: Some("5 quick deaths".into()),
                processes: vec![ProcessInfo {
                    last_exit_code: Some(3),
                    restarts: 5,
                    ..proc(1, None)
                }],
            },
        ];
        let t = format_status(&ws);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("WATCHER  WID  STATE"), "{t}");
        assert!(
            lines[1].starts_with("web      1    running  100  1m05s"),
            "{t}"
        );
        assert!(
            lines[1].ends_with("0.2   2.0M") || lines[1].ends_with("0.3   2.0M"),
            "{t}"
        );
        assert!(lines[2].contains("SIGKILL"), "{t}");
        assert!(lines[3].starts_with("idle     -    stopped  -"), "{t}");
        assert!(
            lines[4].contains("failed") && lines[4].contains("code 3"),
            "{t}"
        );
        assert_eq!(lines[5], "crashy: failed: 5 quick deaths");
    }

    #[test]
    fn reload_lines() {
        assert_eq!(format_reload(&ReloadSummary::default()), "nothing to do\n");
        let s = ReloadSummary {
            added: vec!["a".into()],
            scaled: vec![ScaleInfo {
                name: "w".into(),
                from: 1,
                to: 3,
            }],
            unchanged: vec!["x".into(), "y".into()],
            ..ReloadSummary::default()
        };
        assert_eq!(
            format_reload(&s),
            "added: a\nscaled: w (1 -> 3)\nunchanged: x y\n"
        );
    }

    #[tokio::test]
    async fn unreachable_daemon_is_one_line() {
        let tmp = tempfile::tempdir().unwrap();
        let sock = tmp.path().join("none.sock");
        let target = Target::new().endpoint(Some(sock.display().to_string()));
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run(&target, Command::List, &mut out, &mut err).await;
        let err = String::from_utf8(err).unwrap();
        assert_eq!(code, 1);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with(&format!(
                "circlectl: cannot reach circled at {}: ",
                sock.display()
            )),
            "{err}"
        );
    }
}
