//! The wire protocol: one JSON object per line, each way.
//!
//! A client writes a [`Request`] as one line of JSON and reads [`Response`] lines back: exactly
//! one for every request except `tail` with `follow`, which streams [`Response::Output`] lines
//! until the client hangs up. Every line is at most [`MAX_LINE`] bytes.
//!
//! ```
//! use circle::control::{Request, Response};
//! let line = Request::Status { name: Some("web".into()) }.to_line().unwrap();
//! assert_eq!(line, "{\"command\":\"status\",\"name\":\"web\"}\n");
//! let back = Request::from_line(line.as_bytes()).unwrap();
//! assert_eq!(back, Request::Status { name: Some("web".into()) });
//! let err = Response::from_line(br#"{"type":"error","kind":"unknown_watcher","message":"unknown watcher \"x\""}"#).unwrap();
//! assert!(matches!(err, Response::Error(_)));
//! ```

use serde::{Deserialize, Serialize};

/// The longest line either side accepts, newline excluded: 1 MiB.
pub const MAX_LINE: usize = 1024 * 1024;

/// The protocol version [`Response::Info`] reports; bumped on incompatible changes.
pub const PROTOCOL_VERSION: u32 = 1;

/// A request to `circled`.
///
/// Serialized with a `command` field naming the variant in snake case:
/// `{"command":"signal","name":"web","signal":"HUP"}`. Fields that are `None` may be left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Request {
    /// Authenticate a TCP connection: must be the first request there. Accepted (and ignored)
    /// on the local socket or pipe, which the file system already protects.
    Auth {
        /// The `[circle] token`.
        token: String,
    },
    /// Who is answering: [`Response::Info`].
    Info,
    /// The status of every watcher, or of one: [`Response::Status`].
    Status {
        /// Only this watcher.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// The watcher names, in configuration order: [`Response::List`].
    List,
    /// Start a watcher (`None`: every watcher).
    Start {
        /// The watcher, or `None` for all.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// Stop a watcher gracefully (`None`: every watcher); `circled` keeps running.
    Stop {
        /// The watcher, or `None` for all.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// Restart a watcher (`None`: every watcher).
    Restart {
        /// The watcher, or `None` for all.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// Send a signal to every process of a watcher.
    Signal {
        /// The watcher.
        name: String,
        /// `TERM`, `SIGHUP`, `15`...
        signal: String,
    },
    /// Run `n` more processes: [`Response::Numprocesses`].
    Incr {
        /// The watcher.
        name: String,
        /// How many more (default 1).
        #[serde(default = "one")]
        n: usize,
    },
    /// Run `n` fewer processes (never below zero): [`Response::Numprocesses`].
    Decr {
        /// The watcher.
        name: String,
        /// How many fewer (default 1).
        #[serde(default = "one")]
        n: usize,
    },
    /// Add a watcher that is not in the configuration file (lost on `reload`, which applies the
    /// file).
    Add {
        /// The new watcher's name.
        name: String,
        /// Its command line.
        cmd: String,
        /// Extra arguments, appended to `cmd`.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        args: String,
        /// How many processes.
        #[serde(default = "one")]
        numprocesses: usize,
        /// Start it now.
        #[serde(default)]
        start: bool,
    },
    /// Stop and forget a watcher.
    Remove {
        /// The watcher.
        name: String,
    },
    /// Re-read the configuration file and apply the difference: [`Response::Reloaded`].
    Reload,
    /// Reopen every log file (after an external logrotate moved them).
    Reopen,
    /// A watcher's captured output: [`Response::Output`] lines, then [`Response::Done`]; with
    /// `follow`, more [`Response::Output`] lines as they come, until the client hangs up.
    Tail {
        /// The watcher.
        name: String,
        /// Keep streaming.
        #[serde(default)]
        follow: bool,
    },
    /// Stop every watcher and exit `circled`.
    Quit,
}

fn one() -> usize {
    1
}

impl Request {
    /// The request as one line of JSON, newline included.
    ///
    /// # Errors
    /// A [`serde_json::Error`], which cannot happen for these types.
    pub fn to_line(&self) -> serde_json::Result<String> {
        let mut s = serde_json::to_string(self)?;
        s.push('\n');
        Ok(s)
    }

    /// Parses one line (with or without its newline).
    ///
    /// # Errors
    /// The [`ErrorReply`] to send back: `bad_request` for text that is not a JSON request,
    /// `unknown_command` for a well-formed request with an unknown `command`, `too_long` for a line
    /// over [`MAX_LINE`].
    pub fn from_line(line: &[u8]) -> Result<Request, ErrorReply> {
        let line = trim_newline(line);
        if line.len() > MAX_LINE {
            return Err(ErrorReply::new(
                ErrorKind::TooLong,
                format!("request line longer than {MAX_LINE} bytes"),
            ));
        }
        match serde_json::from_slice::<Request>(line) {
            Ok(r) => Ok(r),
            Err(e) => {
                // Tell an unknown command apart from garbage, so a newer circlectl talking to
                // an older circled gets a clear answer.
                if let Ok(serde_json::Value::Object(map)) =
                    serde_json::from_slice::<serde_json::Value>(line)
                {
                    if let Some(serde_json::Value::String(cmd)) = map.get("command") {
                        if !KNOWN_COMMANDS.contains(&cmd.as_str()) {
                            return Err(ErrorReply::new(
                                ErrorKind::UnknownCommand,
                                format!("unknown command {cmd:?}"),
                            ));
                        }
                    }
                }
                Err(ErrorReply::new(
                    ErrorKind::BadRequest,
                    format!("malformed request: {e}"),
                ))
            }
        }
    }
}

/// Every `command` this version understands.
pub const KNOWN_COMMANDS: &[&str] = &[
    "auth", "info", "status", "list", "start", "stop", "restart", "signal", "incr", "decr", "add",
    "remove", "reload", "reopen", "tail", "quit",
];

fn trim_newline(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// A response from `circled`.
///
/// Serialized with a `type` field naming the variant in snake case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Response {
    /// The request was carried out; nothing more to say. Also ends a non-following `tail`.
    Done,
    /// Answer to [`Request::Info`].
    Info(DaemonInfo),
    /// Answer to [`Request::Status`].
    Status {
        /// One entry per watcher, in configuration order.
        watchers: Vec<WatcherInfo>,
    },
    /// Answer to [`Request::List`].
    List {
        /// The watcher names, in configuration order.
        names: Vec<String>,
    },
    /// Answer to [`Request::Incr`] and [`Request::Decr`].
    Numprocesses {
        /// The watcher.
        name: String,
        /// Its process count now.
        numprocesses: usize,
    },
    /// Answer to [`Request::Reload`].
    Reloaded(ReloadSummary),
    /// Captured output of [`Request::Tail`].
    Output {
        /// The bytes, decoded as UTF-8 (invalid sequences replaced by U+FFFD).
        data: String,
    },
    /// The request failed.
    Error(ErrorReply),
}

impl Response {
    /// The response as one line of JSON, newline included.
    ///
    /// # Errors
    /// A [`serde_json::Error`], which cannot happen for these types.
    pub fn to_line(&self) -> serde_json::Result<String> {
        let mut s = serde_json::to_string(self)?;
        s.push('\n');
        Ok(s)
    }

    /// Parses one line (with or without its newline).
    ///
    /// # Errors
    /// A [`serde_json::Error`] when the line is not a response.
    pub fn from_line(line: &[u8]) -> serde_json::Result<Response> {
        serde_json::from_slice(trim_newline(line))
    }

    /// An error response.
    pub fn error(kind: ErrorKind, message: impl Into<String>) -> Response {
        Response::Error(ErrorReply::new(kind, message))
    }
}

/// What kind of error an [`ErrorReply`] is, for programs to branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The line is not a JSON request.
    BadRequest,
    /// The line is longer than [`MAX_LINE`].
    TooLong,
    /// A well-formed request with a `command` this `circled` does not know.
    UnknownCommand,
    /// The TCP connection has not sent the right [`Request::Auth`] token.
    Unauthorized,
    /// No watcher has the name given.
    UnknownWatcher,
    /// A watcher with this name already exists.
    DuplicateWatcher,
    /// The configuration is invalid: [`ErrorReply::errors`] lists every problem.
    Config,
    /// An argument is invalid (a signal name, a count).
    Invalid,
    /// Anything else.
    #[serde(other)]
    Other,
}

/// The body of [`Response::Error`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorReply {
    /// What kind of error.
    pub kind: ErrorKind,
    /// One line for a human.
    pub message: String,
    /// For [`ErrorKind::Config`]: every problem, each as `file:line: message`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

impl ErrorReply {
    /// An error without details.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ErrorReply {
            kind,
            message: message.into(),
            errors: Vec::new(),
        }
    }

    /// The same error, with details.
    #[must_use]
    pub fn errors(mut self, errors: Vec<String>) -> Self {
        self.errors = errors;
        self
    }
}

impl std::fmt::Display for ErrorReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Who is answering: [`Response::Info`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DaemonInfo {
    /// `circled`'s process id.
    pub pid: u32,
    /// The crate version of `circled`.
    pub version: String,
    /// [`PROTOCOL_VERSION`].
    pub protocol: u32,
    /// The configuration file, if the configuration came from one.
    #[serde(default)]
    pub config: Option<String>,
}

/// The status of one watcher, as `circlectl status --json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WatcherInfo {
    /// The watcher's name.
    pub name: String,
    /// Its state: `active`, `stopped`, `failed`...
    pub state: String,
    /// How many processes it should run.
    pub numprocesses: usize,
    /// Why the watcher failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Its process slots.
    pub processes: Vec<ProcessInfo>,
}

/// The status of one process slot of a watcher.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProcessInfo {
    /// The slot number, `$(circle.wid)`.
    pub wid: usize,
    /// The process id, while a process runs in the slot.
    pub pid: Option<u32>,
    /// `running`, `starting`, `stopping`, `backoff`, `stopped`...
    pub state: String,
    /// Seconds since the process started.
    pub uptime_secs: Option<f64>,
    /// How many times the slot's process was restarted.
    pub restarts: u64,
    /// Exit code of the slot's last process death, if it exited.
    pub last_exit_code: Option<i32>,
    /// Signal that killed the slot's last process, if one did.
    pub last_exit_signal: Option<i32>,
    /// CPU use in percent of one core: since the previous `status` request when there was one
    /// within the last minute, else averaged over the process's life.
    pub cpu_percent: Option<f64>,
    /// Resident memory in bytes.
    pub rss_bytes: Option<u64>,
}

/// What a reload did: [`Response::Reloaded`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct ReloadSummary {
    /// New watchers, started if `autostart`.
    pub added: Vec<String>,
    /// Watchers no longer configured, stopped gracefully.
    pub removed: Vec<String>,
    /// Watchers whose processes changed (command, environment...): restarted.
    pub restarted: Vec<String>,
    /// Watchers whose only process change is their number: processes added or removed.
    #[serde(default)]
    pub scaled: Vec<ScaleInfo>,
    /// Watchers whose supervision settings changed, applied without touching their processes.
    #[serde(default)]
    pub updated: Vec<String>,
    /// Watchers left as they were: same processes, same pids.
    pub unchanged: Vec<String>,
}

/// A watcher resized by a reload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ScaleInfo {
    /// The watcher.
    pub name: String,
    /// Processes before.
    pub from: usize,
    /// Processes after.
    pub to: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        let all = [
            Request::Auth { token: "t".into() },
            Request::Info,
            Request::Status { name: None },
            Request::Status {
                name: Some("w".into()),
            },
            Request::List,
            Request::Start { name: None },
            Request::Stop {
                name: Some("w".into()),
            },
            Request::Restart { name: None },
            Request::Signal {
                name: "w".into(),
                signal: "HUP".into(),
            },
            Request::Incr {
                name: "w".into(),
                n: 3,
            },
            Request::Decr {
                name: "w".into(),
                n: 1,
            },
            Request::Add {
                name: "w".into(),
                cmd: "sleep 1".into(),
                args: String::new(),
                numprocesses: 2,
                start: true,
            },
            Request::Remove { name: "w".into() },
            Request::Reload,
            Request::Reopen,
            Request::Tail {
                name: "w".into(),
                follow: true,
            },
            Request::Quit,
        ];
        let mut seen = std::collections::BTreeSet::new();
        for r in all {
            let line = r.to_line().unwrap();
            assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'));
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            let cmd = v["command"].as_str().unwrap().to_string();
            assert!(KNOWN_COMMANDS.contains(&cmd.as_str()), "{cmd}");
            seen.insert(cmd);
            assert_eq!(Request::from_line(line.as_bytes()).unwrap(), r);
        }
        assert_eq!(seen.len(), KNOWN_COMMANDS.len(), "every command is covered");
    }

    #[test]
    fn defaults_and_crlf() {
        assert_eq!(
            Request::from_line(b"{\"command\":\"incr\",\"name\":\"w\"}\r\n").unwrap(),
            Request::Incr {
                name: "w".into(),
                n: 1
            }
        );
        assert_eq!(
            Request::from_line(b"{\"command\":\"status\"}").unwrap(),
            Request::Status { name: None }
        );
    }

    #[test]
    fn bad_lines_are_classified() {
        let cases: &[(&[u8], ErrorKind)] = &[
            (b"", ErrorKind::BadRequest),
            (b"hello", ErrorKind::BadRequest),
            (b"\xff\xfe\x00", ErrorKind::BadRequest),
            (b"[1,2]", ErrorKind::BadRequest),
            (b"{}", ErrorKind::BadRequest),
            (b"{\"command\":\"explode\"}", ErrorKind::UnknownCommand),
            (b"{\"command\":42}", ErrorKind::BadRequest),
            (
                b"{\"command\":\"signal\",\"name\":\"w\"}",
                ErrorKind::BadRequest,
            ),
            (
                b"{\"command\":\"status\",\"bogus\":1}",
                ErrorKind::BadRequest,
            ),
            (
                b"{\"command\":\"incr\",\"name\":\"w\",\"n\":-1}",
                ErrorKind::BadRequest,
            ),
        ];
        for (line, kind) in cases {
            let e = Request::from_line(line).unwrap_err();
            assert_eq!(e.kind, *kind, "{:?}: {}", String::from_utf8_lossy(line), e);
        }
        let long = vec![b' '; MAX_LINE + 1];
        assert_eq!(
            Request::from_line(&long).unwrap_err().kind,
            ErrorKind::TooLong
        );
    }

    #[test]
    fn responses_round_trip() {
        let status = Response::Status {
            watchers: vec![WatcherInfo {
                name: "w".into(),
                state: "active".into(),
                numprocesses: 1,
                reason: None,
                processes: vec![ProcessInfo {
                    wid: 1,
                    pid: Some(42),
                    state: "running".into(),
                    uptime_secs: Some(1.5),
                    restarts: 0,
                    last_exit_code: None,
                    last_exit_signal: Some(9),
                    cpu_percent: Some(0.0),
                    rss_bytes: Some(4096),
                }],
            }],
        };
        let err = Response::Error(
            ErrorReply::new(ErrorKind::Config, "invalid configuration")
                .errors(vec!["a.ini:3: bad".into()]),
        );
        for r in [
            Response::Done,
            status,
            err,
            Response::Reloaded(ReloadSummary::default()),
            Response::Output {
                data: "x\ny".into(),
            },
        ] {
            let line = r.to_line().unwrap();
            assert_eq!(line.matches('\n').count(), 1);
            assert_eq!(Response::from_line(line.as_bytes()).unwrap(), r);
        }
    }

    #[test]
    fn unknown_error_kinds_from_newer_daemons_parse() {
        let r =
            Response::from_line(br#"{"type":"error","kind":"brand_new","message":"m"}"#).unwrap();
        assert!(matches!(
            r,
            Response::Error(ErrorReply {
                kind: ErrorKind::Other,
                ..
            })
        ));
    }

    proptest::proptest! {
        #[test]
        fn from_line_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = Request::from_line(&bytes);
            let _ = Response::from_line(&bytes);
        }
    }
}
