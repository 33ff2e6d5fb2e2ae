//! The crate's single error type.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One problem found in a configuration, with where it was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ConfigError {
    /// The file the problem is in (`<string>` for a configuration loaded from a string,
    /// `<code>` for one built in code).
    pub file: PathBuf,
    /// 1-based line number (0 when the problem concerns no particular line).
    pub line: usize,
    /// The section, e.g. `watcher:web`, when known.
    pub section: Option<String>,
    /// The key, when the problem concerns one.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    /// A problem at `file:line`.
    pub fn new(file: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.into(),
            line,
            section: None,
            key: None,
            message: message.into(),
        }
    }

    /// The same problem, naming its section.
    #[must_use]
    pub fn section(mut self, section: impl Into<String>) -> Self {
        self.section = Some(section.into());
        self
    }

    /// The same problem, naming its key.
    #[must_use]
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file.display(), self.line)?;
        match (&self.section, &self.key) {
            (Some(s), Some(k)) => write!(f, "[{s}] {k}: ")?,
            (Some(s), None) => write!(f, "[{s}]: ")?,
            (None, Some(k)) => write!(f, "{k}: ")?,
            (None, None) => {}
        }
        f.write_str(&self.message)
    }
}

fn join_config_errors(errors: &[ConfigError]) -> String {
    let mut out = String::from("invalid configuration");
    for e in errors {
        out.push_str("\n  ");
        out.push_str(&e.to_string());
    }
    out
}

/// Everything that can go wrong in `circle`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No watcher has this name.
    #[error("unknown watcher {name:?}")]
    UnknownWatcher {
        /// The name asked for.
        name: String,
    },
    /// A watcher with this name already exists.
    #[error("watcher {name:?} already exists")]
    DuplicateWatcher {
        /// The name.
        name: String,
    },
    /// The configuration is invalid; every problem is listed, each with its file and line.
    #[error("{}", join_config_errors(.0))]
    Config(Vec<ConfigError>),
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A process of a watcher could not be started.
    #[error("watcher {watcher:?}: cannot start {cmd:?}: {source}")]
    Spawn {
        /// The watcher.
        watcher: String,
        /// The command line that failed.
        cmd: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Sending a signal failed.
    #[error("watcher {watcher:?}: cannot send {signal} to pid {pid}: {source}")]
    Signal {
        /// The watcher.
        watcher: String,
        /// The process.
        pid: u32,
        /// The signal.
        signal: crate::Signal,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A signal name or number that is not known.
    #[error("unknown signal {value:?}")]
    BadSignal {
        /// The text that was parsed.
        value: String,
    },
    /// The watcher gave up restarting its processes (see `max_retry`).
    #[error("watcher {watcher:?} failed: {reason}")]
    Failed {
        /// The watcher.
        watcher: String,
        /// Why it gave up.
        reason: String,
    },
    /// The operation is not valid for this watcher (e.g. more than one process of a singleton).
    #[error("watcher {watcher:?}: {message}")]
    Invalid {
        /// The watcher.
        watcher: String,
        /// What is wrong.
        message: String,
    },
    /// `reload` was called on a configuration that was not loaded from a file.
    #[error("the configuration was not loaded from a file; nothing to reload")]
    NotReloadable,
    /// The supervisor has shut down.
    #[error("the supervisor has shut down")]
    ShutDown,
    /// Setting up the supervisor's own runtime (thread, signal handler, event loop) failed.
    #[error("{what}: {source}")]
    Runtime {
        /// What was being set up.
        what: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    // --- control channel and daemon (circle-ctl) ---
    /// The control endpoint (socket, pipe, TCP port) cannot be created, secured or used.
    #[error("control endpoint {endpoint}: {source}")]
    Endpoint {
        /// The endpoint.
        endpoint: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Another `circled` holds this pidfile, endpoint or service.
    #[error("{what}: circled already running{}", pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    AlreadyRunning {
        /// The other instance's pid, when known.
        pid: Option<u32>,
        /// The pidfile, endpoint or service concerned.
        what: String,
    },
    /// No `circled` answers at this endpoint.
    #[error("cannot reach circled at {endpoint}: {source}")]
    Unreachable {
        /// The endpoint.
        endpoint: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// `circled` answered something that is not a valid response.
    #[error("circled at {endpoint}: {message}")]
    Protocol {
        /// The endpoint.
        endpoint: String,
        /// What was wrong.
        message: String,
    },
    /// `circled` refused a control request.
    #[error("{}", reply.message)]
    Remote {
        /// The endpoint.
        endpoint: String,
        /// The error it sent, with its kind and details.
        reply: crate::control::ErrorReply,
    },
    /// A Windows service operation failed.
    #[error("service {name}: {message}")]
    Service {
        /// The service name.
        name: String,
        /// What failed.
        message: String,
    },
    /// The operation does not exist on this operating system.
    #[error("{what} is not supported on this operating system")]
    Unsupported {
        /// What was asked for.
        what: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn runtime(what: impl Into<String>, source: std::io::Error) -> Self {
        Error::Runtime {
            what: what.into(),
            source,
        }
    }
}
