//! The configuration: circus-compatible INI files, a string, or code.
//!
//! See the crate README for every key. Loading validates the whole configuration and reports
//! every problem at once, each with its file and line ([`Error::Config`]).

mod ini;
mod load;
mod subst;
mod values;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::error::{ConfigError, Error, Result};
use crate::signal::Signal;

pub(crate) use load::process_env as process_env_map;
pub(crate) use subst::substitute_wid;
pub use values::{parse_duration, parse_size};

/// A whole configuration: the `[circle]` section and the watchers.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[non_exhaustive]
pub struct Config {
    /// The `[circle]` (or `[circus]`) section.
    pub circle: CircleSection,
    /// The watchers, in the order they were defined.
    pub watchers: Vec<Watcher>,
    /// The file the configuration was loaded from, if any: [`crate::Supervisor::reload`] re-reads it.
    pub source: Option<PathBuf>,
    /// Every file read: the main file and its includes.
    pub files: Vec<PathBuf>,
}

/// The `[circle]` section: settings of the supervisor itself.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[non_exhaustive]
pub struct CircleSection {
    /// Control channel endpoint (Unix socket path or named pipe); `None` for the default.
    pub endpoint: Option<String>,
    /// Optional loopback TCP control endpoint (`127.0.0.1:PORT`), which requires `token`.
    pub tcp_endpoint: Option<String>,
    /// Token required on the TCP endpoint.
    pub token: Option<String>,
    /// Pidfile of `circled --daemon`.
    pub pidfile: Option<PathBuf>,
    /// Where `circled` logs: `-` (standard output) or a file.
    pub logoutput: Option<String>,
    /// Log level: `debug`, `info`, `warning`, `error`, `critical`.
    pub loglevel: Option<String>,
    /// Delay between starting two watchers.
    pub warmup_delay: Duration,
    /// Include patterns, as written (relative to the including file).
    pub include: Vec<String>,
    /// Include directories, as written.
    pub include_dir: Vec<String>,
}

/// Where a watcher's standard output or error goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[non_exhaustive]
pub enum StreamClass {
    /// Discarded (still kept in the small in-memory buffer `circlectl tail` shows).
    #[default]
    Null,
    /// Into `circled`'s log, each line prefixed with the watcher name and pid: a `tracing`
    /// event at INFO level with the target [`crate::OUTPUT_LOG_TARGET`] (`circle::output`),
    /// which a subscriber filtering by level should keep enabled.
    Stdout,
    /// Into a file, with size rotation.
    File,
}

/// `stdout_stream.*` / `stderr_stream.*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[non_exhaustive]
pub struct StreamConfig {
    /// `class`: `FileStream`, `StdoutStream` or `Null`.
    pub class: StreamClass,
    /// `filename`, for `FileStream`.
    pub filename: Option<PathBuf>,
    /// `max_bytes`: rotate when the file would exceed this size; 0 never rotates.
    pub max_bytes: u64,
    /// `backup_count`: how many rotated files (`file.1` ... `file.N`) to keep.
    pub backup_count: u32,
}

impl StreamConfig {
    /// Discard the output.
    pub fn null() -> Self {
        StreamConfig::default()
    }

    /// Into `circled`'s log.
    pub fn stdout() -> Self {
        StreamConfig {
            class: StreamClass::Stdout,
            ..StreamConfig::default()
        }
    }

    /// Into `path`, without rotation (see [`StreamConfig::rotate`]).
    pub fn file(path: impl Into<PathBuf>) -> Self {
        StreamConfig {
            class: StreamClass::File,
            filename: Some(path.into()),
            ..StreamConfig::default()
        }
    }

    /// Rotate at `max_bytes`, keeping `backup_count` old files.
    #[must_use]
    pub fn rotate(mut self, max_bytes: u64, backup_count: u32) -> Self {
        self.max_bytes = max_bytes;
        self.backup_count = backup_count;
        self
    }
}

/// A resource limit value: a number or unlimited.
pub type RlimitValue = Option<u64>;

/// The resource limits `rlimit_NAME` accepts.
pub const RLIMIT_NAMES: &[&str] = &[
    "as",
    "core",
    "cpu",
    "data",
    "fsize",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "sigpending",
    "stack",
];

/// A watcher: a command run as `numprocesses` supervised processes.
///
/// Build one in code with chained setters:
/// ```
/// let w = circle::Watcher::new("web").cmd("python -m http.server").numprocesses(2);
/// assert_eq!(w.numprocesses, 2);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Watcher {
    /// The name (`[watcher:NAME]`).
    pub name: String,
    /// `cmd`: the program and, optionally, arguments.
    pub cmd: String,
    /// `args`: more arguments, appended to `cmd`.
    pub args: String,
    /// `numprocesses` (or `numprocess`): how many copies run.
    pub numprocesses: usize,
    /// `working_dir`.
    pub working_dir: Option<PathBuf>,
    /// `shell`: run `cmd args` through `/bin/sh -c` (`cmd.exe /C` on Windows).
    pub shell: bool,
    /// `uid`: user name or number to run as (Unix).
    pub uid: Option<String>,
    /// `gid`: group name or number to run as (Unix).
    pub gid: Option<String>,
    /// `umask` (octal), Unix.
    pub umask: Option<u32>,
    /// `rlimit_NAME`: resource limits (Unix), `None` meaning unlimited.
    pub rlimits: BTreeMap<String, RlimitValue>,
    /// `copy_env`: the process inherits `circled`'s environment (then `env` on top).
    pub copy_env: bool,
    /// `copy_path`: the process inherits `circled`'s `PATH` even without `copy_env`.
    pub copy_path: bool,
    /// The environment from the `[env]` sections that match this watcher, substituted.
    pub env: BTreeMap<String, String>,
    /// `stop_signal`: sent first to stop a process.
    pub stop_signal: Signal,
    /// `graceful_timeout`: how long to wait after `stop_signal` before `KILL`.
    pub graceful_timeout: Duration,
    /// `stop_children`: stop the whole process tree, not only the direct child.
    pub stop_children: bool,
    /// `respawn`: restart a process that exits.
    pub respawn: bool,
    /// `max_retry`: quick deaths in a row before the watcher is marked failed; `None` (-1) retries forever.
    pub max_retry: Option<u32>,
    /// `warmup_delay`: delay between spawning two processes of this watcher.
    pub warmup_delay: Duration,
    /// `autostart`: start with `circled`.
    pub autostart: bool,
    /// `priority`: higher starts first and stops last.
    pub priority: i32,
    /// `singleton`: never more than one process.
    pub singleton: bool,
    /// `min_uptime`: a process that dies before this counts as a quick death.
    pub min_uptime: Duration,
    /// `backoff_delay`: the delay before the second respawn after quick deaths; doubles each time.
    pub backoff_delay: Duration,
    /// `max_backoff`: the cap of the respawn delay.
    pub max_backoff: Duration,
    /// `stdout_stream.*`.
    pub stdout_stream: StreamConfig,
    /// `stderr_stream.*`.
    pub stderr_stream: StreamConfig,
    /// Where the watcher was defined (file, line), if it came from a file.
    #[serde(skip)]
    pub location: Option<(PathBuf, usize)>,
}

macro_rules! setter {
    ($(#[$m:meta])* $name:ident: $ty:ty) => {
        $(#[$m])*
        #[must_use]
        pub fn $name(mut self, value: $ty) -> Self {
            self.$name = value;
            self
        }
    };
}

impl Watcher {
    /// A watcher with circus's defaults: one process, `TERM` then `KILL` after 30 s,
    /// respawn, `max_retry` 5, autostart.
    pub fn new(name: impl Into<String>) -> Self {
        Watcher {
            name: name.into(),
            cmd: String::new(),
            args: String::new(),
            numprocesses: 1,
            working_dir: None,
            shell: false,
            uid: None,
            gid: None,
            umask: None,
            rlimits: BTreeMap::new(),
            copy_env: false,
            copy_path: false,
            env: BTreeMap::new(),
            stop_signal: Signal::Term,
            graceful_timeout: Duration::from_secs(30),
            stop_children: false,
            respawn: true,
            max_retry: Some(5),
            warmup_delay: Duration::ZERO,
            autostart: true,
            priority: 0,
            singleton: false,
            min_uptime: Duration::from_secs(1),
            backoff_delay: Duration::from_millis(100),
            max_backoff: Duration::from_secs(30),
            stdout_stream: StreamConfig::default(),
            stderr_stream: StreamConfig::default(),
            location: None,
        }
    }

    /// `cmd`: the program and arguments.
    #[must_use]
    pub fn cmd(mut self, cmd: impl Into<String>) -> Self {
        self.cmd = cmd.into();
        self
    }

    /// `args`: appended to `cmd`.
    #[must_use]
    pub fn args(mut self, args: impl Into<String>) -> Self {
        self.args = args.into();
        self
    }

    /// `working_dir`.
    #[must_use]
    pub fn working_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.working_dir = Some(dir.into());
        self
    }

    /// `uid`.
    #[must_use]
    pub fn uid(mut self, uid: impl Into<String>) -> Self {
        self.uid = Some(uid.into());
        self
    }

    /// `gid`.
    #[must_use]
    pub fn gid(mut self, gid: impl Into<String>) -> Self {
        self.gid = Some(gid.into());
        self
    }

    /// `umask`.
    #[must_use]
    pub fn umask(mut self, umask: u32) -> Self {
        self.umask = Some(umask);
        self
    }

    /// `rlimit_NAME = value` (`None`: unlimited).
    #[must_use]
    pub fn rlimit(mut self, name: impl Into<String>, value: RlimitValue) -> Self {
        self.rlimits.insert(name.into(), value);
        self
    }

    /// One environment variable.
    #[must_use]
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// `max_retry`: `None` retries forever.
    #[must_use]
    pub fn max_retry(mut self, n: Option<u32>) -> Self {
        self.max_retry = n;
        self
    }

    setter!(/// `numprocesses`.
        numprocesses: usize);
    setter!(/// `shell`.
        shell: bool);
    setter!(/// `copy_env`.
        copy_env: bool);
    setter!(/// `copy_path`.
        copy_path: bool);
    setter!(/// `stop_signal`.
        stop_signal: Signal);
    setter!(/// `graceful_timeout`.
        graceful_timeout: Duration);
    setter!(/// `stop_children`.
        stop_children: bool);
    setter!(/// `respawn`.
        respawn: bool);
    setter!(/// `warmup_delay`.
        warmup_delay: Duration);
    setter!(/// `autostart`.
        autostart: bool);
    setter!(/// `priority`.
        priority: i32);
    setter!(/// `singleton`.
        singleton: bool);
    setter!(/// `min_uptime`.
        min_uptime: Duration);
    setter!(/// `backoff_delay`.
        backoff_delay: Duration);
    setter!(/// `max_backoff`.
        max_backoff: Duration);
    setter!(/// `stdout_stream`.
        stdout_stream: StreamConfig);
    setter!(/// `stderr_stream`.
        stderr_stream: StreamConfig);

    /// Checks this watcher alone (a name, a command, a singleton with one process...).
    /// `file`/`line` locate the errors.
    pub(crate) fn problems(&self) -> Vec<ConfigError> {
        let (file, line) = self
            .location
            .clone()
            .unwrap_or_else(|| (PathBuf::from("<code>"), 0));
        let section = format!("watcher:{}", self.name);
        let err = |key: &str, msg: String| {
            ConfigError::new(file.clone(), line, msg)
                .section(section.clone())
                .key(key.to_string())
        };
        let mut out = Vec::new();
        if let Some(msg) = name_problem(&self.name) {
            out.push(ConfigError::new(file.clone(), line, msg).section(section.clone()));
        }
        if self.cmd.trim().is_empty() {
            out.push(err("cmd", "missing: every watcher needs a cmd".into()));
        }
        if self.singleton && self.numprocesses > 1 {
            out.push(err(
                "numprocesses",
                format!("a singleton runs one process, not {}", self.numprocesses),
            ));
        }
        for (stream, cfg) in [
            ("stdout_stream", &self.stdout_stream),
            ("stderr_stream", &self.stderr_stream),
        ] {
            if cfg.class == StreamClass::File && cfg.filename.is_none() {
                out.push(err(
                    &format!("{stream}.filename"),
                    "missing: a FileStream needs a filename".into(),
                ));
            }
        }
        for name in self.rlimits.keys() {
            if !RLIMIT_NAMES.contains(&name.as_str()) {
                out.push(err(
                    &format!("rlimit_{name}"),
                    "unknown resource limit".into(),
                ));
            }
        }
        out
    }

    /// The full command line, `cmd` then `args`.
    pub fn command_line(&self) -> String {
        if self.args.trim().is_empty() {
            self.cmd.trim().to_string()
        } else {
            format!("{} {}", self.cmd.trim(), self.args.trim())
        }
    }
}

/// Why a watcher name is not acceptable.
pub(crate) fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("empty watcher name".into());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'))
    {
        return Some(format!(
            "invalid watcher name {name:?}: use letters, digits, '_', '-', '.', '@'"
        ));
    }
    None
}

impl Config {
    /// An empty configuration, to fill in code.
    pub fn new() -> Self {
        Config::default()
    }

    /// Adds a watcher.
    #[must_use]
    pub fn watcher(mut self, watcher: Watcher) -> Self {
        self.watchers.push(watcher);
        self
    }

    /// Sets the `[circle]` section.
    #[must_use]
    pub fn circle(mut self, circle: CircleSection) -> Self {
        self.circle = circle;
        self
    }

    /// Loads a configuration file and its includes, substituting variables from this process's
    /// environment, and validates it whole.
    ///
    /// # Errors
    /// [`Error::Config`] with every problem found (file:line each), or [`Error::Io`] when the
    /// file itself cannot be read.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Config> {
        let env = load::process_env();
        load::load_file(path.as_ref(), &env)
    }

    /// Like [`Config::from_file`], with the variables taken from `env` instead of this process's
    /// environment.
    ///
    /// # Errors
    /// As [`Config::from_file`].
    pub fn from_file_with_env(
        path: impl AsRef<Path>,
        env: &BTreeMap<String, String>,
    ) -> Result<Config> {
        load::load_file(path.as_ref(), env)
    }

    /// Loads a configuration from INI text; includes are relative to the current directory.
    ///
    /// # Errors
    /// [`Error::Config`] with every problem found; the file is named `<string>`.
    pub fn from_ini(text: &str) -> Result<Config> {
        let env = load::process_env();
        load::load_str(text, Path::new("."), &env)
    }

    /// Loads a configuration from INI text, with includes relative to `base_dir` and variables
    /// from `env`. Pure apart from reading included files.
    ///
    /// # Errors
    /// [`Error::Config`] with every problem found.
    pub fn from_ini_with(
        text: &str,
        base_dir: &Path,
        env: &BTreeMap<String, String>,
    ) -> Result<Config> {
        load::load_str(text, base_dir, env)
    }

    /// Validates a configuration built in code: names, commands, duplicates, singletons.
    ///
    /// # Errors
    /// [`Error::Config`] with every problem found.
    pub fn validate(&self) -> Result<()> {
        let mut errors = Vec::new();
        let mut seen: BTreeMap<&str, &Watcher> = BTreeMap::new();
        for w in &self.watchers {
            errors.extend(w.problems());
            if let Some(first) = seen.get(w.name.as_str()) {
                let (file, line) = w
                    .location
                    .clone()
                    .unwrap_or_else(|| (PathBuf::from("<code>"), 0));
                let at = first
                    .location
                    .as_ref()
                    .map(|(f, l)| format!(" (first defined at {}:{l})", f.display()))
                    .unwrap_or_default();
                errors.push(
                    ConfigError::new(file, line, format!("duplicate watcher{at}"))
                        .section(format!("watcher:{}", w.name)),
                );
            } else {
                seen.insert(&w.name, w);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Config(errors))
        }
    }

    /// The watcher with this name.
    pub fn get(&self, name: &str) -> Option<&Watcher> {
        self.watchers.iter().find(|w| w.name == name)
    }
}

impl std::str::FromStr for Config {
    type Err = Error;
    fn from_str(s: &str) -> Result<Config> {
        Config::from_ini(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_and_validate() {
        let c = Config::new()
            .watcher(Watcher::new("web").cmd("sleep 1").numprocesses(2))
            .watcher(Watcher::new("web").cmd("sleep 2"))
            .watcher(Watcher::new("bad name").cmd(""))
            .watcher(Watcher::new("one").cmd("x").singleton(true).numprocesses(3));
        let Err(Error::Config(errs)) = c.validate() else {
            panic!("expected errors");
        };
        let msgs: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(errs.len(), 4, "{msgs:#?}");
        assert!(msgs.iter().any(|m| m.contains("duplicate watcher")));
        assert!(msgs.iter().any(|m| m.contains("invalid watcher name")));
        assert!(msgs.iter().any(|m| m.contains("cmd: missing")));
        assert!(msgs.iter().any(|m| m.contains("singleton")));
        assert!(msgs.iter().all(|m| m.starts_with("<code>:0: ")));
    }

    #[test]
    fn command_line_joins_args() {
        let w = Watcher::new("a").cmd(" sleep ").args(" 10 ");
        assert_eq!(w.command_line(), "sleep 10");
        assert_eq!(Watcher::new("a").cmd("x").command_line(), "x");
    }
}
