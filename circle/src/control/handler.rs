//! Answers control requests with a [`Supervisor`].

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use tokio::sync::mpsc;

use super::protocol::{
    DaemonInfo, ErrorKind, ErrorReply, PROTOCOL_VERSION, ProcessInfo, ReloadSummary, Request,
    Response, ScaleInfo, WatcherInfo,
};
use super::server::{Handler, Reply};
use crate::config::Watcher;
use crate::error::Error;
use crate::procstat::{self, CpuMeter};
use crate::signal::Signal;
use crate::supervisor::Supervisor;

/// Tail snapshots are sent in pieces of at most this many bytes, far below the line limit
/// even after JSON escaping.
const CHUNK: usize = 64 * 1024;

/// A hook run on `reopen`, after the watchers' log files: `circled` reopens its own log there.
pub type ReopenHook = Arc<dyn Fn() -> std::io::Result<()> + Send + Sync>;

/// The [`Handler`] behind `circled`'s control channel: every request maps to a [`Supervisor`]
/// call.
pub struct SupervisorHandler {
    supervisor: Supervisor,
    cpu: Mutex<CpuMeter>,
    reopen: Option<ReopenHook>,
}

impl std::fmt::Debug for SupervisorHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupervisorHandler").finish_non_exhaustive()
    }
}

impl SupervisorHandler {
    /// A handler for `supervisor`.
    pub fn new(supervisor: Supervisor) -> Self {
        SupervisorHandler {
            supervisor,
            cpu: Mutex::new(CpuMeter::new()),
            reopen: None,
        }
    }

    /// Also runs `hook` on `reopen` (after the watchers' files are reopened).
    #[must_use]
    pub fn on_reopen(mut self, hook: ReopenHook) -> Self {
        self.reopen = Some(hook);
        self
    }

    async fn answer(&self, request: Request) -> Result<Reply, Error> {
        let sup = &self.supervisor;
        Ok(match request {
            Request::Auth { .. } => Response::Done.into(),
            Request::Info => Response::Info(DaemonInfo {
                pid: std::process::id(),
                version: env!("CARGO_PKG_VERSION").to_string(),
                protocol: PROTOCOL_VERSION,
                config: sup.config().source.map(|p| p.display().to_string()),
            })
            .into(),
            Request::Status { name } => {
                let statuses = match name {
                    Some(n) => vec![sup.watcher_status(&n).await?],
                    None => sup.status().await,
                };
                Response::Status {
                    watchers: self.describe(statuses),
                }
                .into()
            }
            Request::List => Response::List {
                names: sup.status().await.into_iter().map(|w| w.name).collect(),
            }
            .into(),
            Request::Start { name } => {
                for n in self.targets(name).await? {
                    sup.start_watcher(&n).await?;
                }
                Response::Done.into()
            }
            Request::Stop { name } => {
                for n in self.targets(name).await? {
                    sup.stop_watcher(&n).await?;
                }
                Response::Done.into()
            }
            Request::Restart { name } => {
                for n in self.targets(name).await? {
                    sup.restart_watcher(&n).await?;
                }
                Response::Done.into()
            }
            Request::Signal { name, signal } => {
                let sig = Signal::parse(&signal)?;
                sup.signal_watcher(&name, sig).await?;
                Response::Done.into()
            }
            Request::Incr { name, n } | Request::Decr { name, n } if n == 0 => {
                let numprocesses = sup.watcher_status(&name).await?.numprocesses;
                Response::Numprocesses { name, numprocesses }.into()
            }
            Request::Incr { name, n } => {
                let now = sup.watcher_status(&name).await?.numprocesses;
                let numprocesses = sup.set_numprocesses(&name, now.saturating_add(n)).await?;
                Response::Numprocesses { name, numprocesses }.into()
            }
            Request::Decr { name, n } => {
                let now = sup.watcher_status(&name).await?.numprocesses;
                let numprocesses = sup.set_numprocesses(&name, now.saturating_sub(n)).await?;
                Response::Numprocesses { name, numprocesses }.into()
            }
            Request::Add {
                name,
                cmd,
                args,
                numprocesses,
                start,
            } => {
                let w = Watcher::new(name)
                    .cmd(cmd)
                    .args(args)
                    .numprocesses(numprocesses);
                sup.add_watcher(w, start).await?;
                Response::Done.into()
            }
            Request::Remove { name } => {
                sup.remove_watcher(&name).await?;
                Response::Done.into()
            }
            Request::Reload => Response::Reloaded(summary(sup.reload().await?)).into(),
            Request::Reopen => {
                sup.reopen_logs().await?;
                if let Some(hook) = &self.reopen {
                    hook().map_err(|source| Error::Io {
                        path: "circled log".into(),
                        source,
                    })?;
                }
                Response::Done.into()
            }
            Request::Tail { name, follow } => {
                let (snapshot, mut rx) = sup.subscribe_output(&name)?;
                let first: Vec<Response> = snapshot
                    .chunks(CHUNK)
                    .map(|c| Response::Output {
                        data: String::from_utf8_lossy(c).into_owned(),
                    })
                    .collect();
                let (tx, out) = mpsc::channel(64);
                if follow {
                    tokio::spawn(async move {
                        use tokio::sync::broadcast::error::RecvError;
                        loop {
                            let r = match rx.recv().await {
                                Ok(chunk) => Response::Output {
                                    data: String::from_utf8_lossy(&chunk.data).into_owned(),
                                },
                                Err(RecvError::Lagged(n)) => Response::Output {
                                    data: format!(
                                        "[circle: {n} output chunks dropped: reader too slow]\n"
                                    ),
                                },
                                Err(RecvError::Closed) => return,
                            };
                            if tx.send(r).await.is_err() {
                                return;
                            }
                        }
                    });
                } else {
                    let _ = tx.try_send(Response::Done);
                    drop(tx);
                }
                Reply::Stream(first, out)
            }
            Request::Quit => {
                let sup = sup.clone();
                Reply::Then(
                    Response::Done,
                    Box::pin(async move {
                        if let Err(e) = sup.shutdown().await {
                            tracing::warn!("quit: {e}");
                        }
                        sup.wait().await;
                    }),
                )
            }
            #[allow(unreachable_patterns)]
            other => Response::error(
                ErrorKind::UnknownCommand,
                format!("request not supported: {other:?}"),
            )
            .into(),
        })
    }

    /// The watcher named, or every watcher.
    async fn targets(&self, name: Option<String>) -> Result<Vec<String>, Error> {
        Ok(match name {
            Some(n) => vec![n],
            None => self
                .supervisor
                .status()
                .await
                .into_iter()
                .map(|w| w.name)
                .collect(),
        })
    }

    fn describe(&self, statuses: Vec<crate::supervisor::WatcherStatus>) -> Vec<WatcherInfo> {
        let now = Instant::now();
        let wall = SystemTime::now();
        let mut cpu = self
            .cpu
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut alive = Vec::new();
        let out = statuses
            .into_iter()
            .map(|w| WatcherInfo {
                state: state_name(&w.state),
                reason: failed_reason(&w.state),
                name: w.name,
                numprocesses: w.numprocesses,
                processes: w
                    .processes
                    .into_iter()
                    .map(|p| {
                        let uptime = p
                            .started_at
                            .and_then(|t| wall.duration_since(t).ok())
                            .filter(|_| p.pid.is_some());
                        let stat = p.pid.and_then(procstat::sample);
                        let cpu_percent = match (p.pid, stat) {
                            (Some(pid), Some(s)) => {
                                alive.push(pid);
                                cpu.observe(pid, s, uptime, now)
                            }
                            _ => None,
                        };
                        ProcessInfo {
                            wid: p.wid,
                            pid: p.pid,
                            state: lower_name(&p.state),
                            uptime_secs: uptime.map(|u| u.as_secs_f64()),
                            restarts: u64::from(p.restarts),
                            last_exit_code: p.last_exit.and_then(|e| e.code),
                            last_exit_signal: p.last_exit.and_then(|e| e.signal),
                            cpu_percent,
                            rss_bytes: stat.map(|s| s.rss_bytes),
                        }
                    })
                    .collect(),
            })
            .collect();
        cpu.retain(&alive);
        out
    }
}

impl Handler for SupervisorHandler {
    fn handle(&self, request: Request) -> Pin<Box<dyn Future<Output = Reply> + Send + '_>> {
        Box::pin(async move {
            match self.answer(request).await {
                Ok(r) => r,
                Err(e) => Reply::One(Response::Error(error_reply(&e))),
            }
        })
    }
}

/// The wire form of a library error.
pub(crate) fn error_reply(e: &Error) -> ErrorReply {
    match e {
        Error::UnknownWatcher { .. } => ErrorReply::new(ErrorKind::UnknownWatcher, e.to_string()),
        Error::DuplicateWatcher { .. } => {
            ErrorReply::new(ErrorKind::DuplicateWatcher, e.to_string())
        }
        Error::Config(errors) => ErrorReply::new(ErrorKind::Config, "invalid configuration")
            .errors(errors.iter().map(ToString::to_string).collect()),
        Error::BadSignal { .. } | Error::Invalid { .. } => {
            ErrorReply::new(ErrorKind::Invalid, e.to_string())
        }
        _ => ErrorReply::new(ErrorKind::Other, e.to_string()),
    }
}

/// A serde-serialized enum's name, lower case (`Running` -> `running`).
fn lower_name<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s.to_lowercase(),
        Ok(serde_json::Value::Object(m)) => m
            .get("state")
            .and_then(|s| s.as_str())
            .map(str::to_lowercase)
            .or_else(|| m.keys().next().map(|k| k.to_lowercase()))
            .unwrap_or_else(|| "unknown".into()),
        _ => "unknown".into(),
    }
}

fn state_name(s: &crate::machine::WatcherState) -> String {
    lower_name(s)
}

fn failed_reason(s: &crate::machine::WatcherState) -> Option<String> {
    match s {
        crate::machine::WatcherState::Failed { reason } => Some(reason.clone()),
        _ => None,
    }
}

fn summary(r: crate::diff::ReloadReport) -> ReloadSummary {
    ReloadSummary {
        added: r.added,
        removed: r.removed,
        restarted: r.restarted,
        scaled: r
            .scaled
            .into_iter()
            .map(|s| ScaleInfo {
                name: s.name,
                from: s.from,
                to: s.to,
            })
            .collect(),
        updated: r.updated,
        unchanged: r.unchanged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ConfigError;

    #[test]
    fn library_errors_map_to_wire_kinds() {
        let cases = [
            (
                Error::UnknownWatcher { name: "x".into() },
                ErrorKind::UnknownWatcher,
            ),
            (
                Error::DuplicateWatcher { name: "x".into() },
                ErrorKind::DuplicateWatcher,
            ),
            (
                Error::BadSignal {
                    value: "NOPE".into(),
                },
                ErrorKind::Invalid,
            ),
            (Error::NotReloadable, ErrorKind::Other),
            (Error::ShutDown, ErrorKind::Other),
        ];
        for (e, kind) in cases {
            let r = error_reply(&e);
            assert_eq!(r.kind, kind, "{e}");
            assert_eq!(r.message, e.to_string());
        }
        let e = Error::Config(vec![
            ConfigError::new("/etc/c.ini", 3, "bad").key("numprocesses"),
            ConfigError::new("/etc/d.ini", 9, "worse"),
        ]);
        let r = error_reply(&e);
        assert_eq!(r.kind, ErrorKind::Config);
        assert_eq!(
            r.errors,
            ["/etc/c.ini:3: numprocesses: bad", "/etc/d.ini:9: worse"]
        );
    }

    #[test]
    fn state_names_are_lower_case_words() {
        use crate::machine::{ProcessState, WatcherState};
        assert_eq!(state_name(&WatcherState::Running), "running");
        let failed = WatcherState::Failed {
            reason: "too many".into(),
        };
        assert_eq!(state_name(&failed), "failed");
        assert_eq!(failed_reason(&failed).as_deref(), Some("too many"));
        assert_eq!(failed_reason(&WatcherState::Stopped), None);
        assert_eq!(lower_name(&ProcessState::Waiting), "waiting");
    }
}
