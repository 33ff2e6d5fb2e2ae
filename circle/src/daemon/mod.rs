//! Running `circled` in the background: detaching on Unix, a Windows service on Windows, and
//! the pidfile.
//!
//! # Platform behavior
//! - **Unix** ([`daemonize`]): fork and `setsid`, as `daemon(3)` does: the daemon leads a new
//!   session (sid == pid) and has no controlling terminal; it opens files with `O_NOCTTY`, so
//!   it never acquires one. Standard input from `/dev/null`, standard output and error to the
//!   log file or `/dev/null`. The launching process waits on a pipe
//!   and exits 0 only once the daemon reports [`Readiness::ready`] (supervisor started,
//!   control socket listening, pidfile written), or non-zero with the daemon's error. The
//!   working directory is kept, so relative commands and paths mean what they meant in the
//!   foreground.
//! - **Windows** ([`install_and_start`]): a service named after the configuration
//!   ([`service_name`]) is installed if needed (auto start, LocalSystem) and started; the
//!   service runs `circled --service -c CONFIG`, reports Running once ready, and a Stop (or
//!   system shutdown) control stops the watchers gracefully. [`uninstall`] stops and removes it.
//! - Elsewhere [`daemonize`] answers [`Error::Unsupported`].

mod pidfile;
mod run;
#[cfg(unix)]
mod unix;
#[cfg(windows)]
mod windows;

use std::ffi::OsString;
use std::path::Path;

pub use pidfile::{Pidfile, parse_pid, read_pid};
pub use run::{LogFile, RunOptions, level_filter, run};

use crate::error::{Error, Result};

/// What [`daemonize`] returns in each process.
#[derive(Debug)]
#[non_exhaustive]
pub enum Detached {
    /// In the process that was started: the daemon's outcome. Exit with
    /// [`LaunchOutcome::exit_code`].
    Launcher(LaunchOutcome),
    /// In the daemon: tell the launcher when ready (or why not).
    Daemon(Readiness),
}

/// How the daemon's start went, as the launcher learns it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LaunchOutcome {
    /// The daemon's pid, when it reported ready.
    pub pid: Option<u32>,
    /// The daemon's error, when it did not.
    pub error: Option<String>,
}

impl LaunchOutcome {
    /// 0 when the daemon is ready, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        if self.pid.is_some() { 0 } else { 1 }
    }
}

/// Parses what the daemon wrote on the readiness pipe: `R<pid>` when ready, `E<message>` on
/// failure, nothing when it died first.
#[cfg_attr(not(unix), allow(dead_code))]
pub(crate) fn launcher_outcome(msg: &[u8]) -> LaunchOutcome {
    let text = String::from_utf8_lossy(msg);
    match text.split_at_checked(1) {
        Some(("R", pid)) => match parse_pid(pid) {
            Some(pid) => LaunchOutcome {
                pid: Some(pid),
                error: None,
            },
            None => LaunchOutcome {
                pid: None,
                error: Some(format!("bad readiness message {text:?}")),
            },
        },
        Some(("E", message)) => LaunchOutcome {
            pid: None,
            error: Some(message.trim_end().to_string()),
        },
        _ => LaunchOutcome {
            pid: None,
            error: Some("circled exited before it was ready (see its log)".into()),
        },
    }
}

/// The daemon's end of the readiness pipe. Dropping it without [`Readiness::ready`] tells the
/// launcher that the start failed.
#[derive(Debug)]
pub struct Readiness {
    #[cfg(unix)]
    fd: Option<std::os::unix::io::RawFd>,
}

impl Readiness {
    /// Tells the launcher the daemon is ready; it exits 0.
    pub fn ready(mut self) {
        self.send(format!("R{}", std::process::id()).as_bytes());
    }

    /// Tells the launcher why the daemon cannot start; it prints `message` and exits 1.
    pub fn fail(mut self, message: &str) {
        self.send(format!("E{message}").as_bytes());
    }

    #[cfg(unix)]
    fn send(&mut self, bytes: &[u8]) {
        self.write(bytes);
    }

    #[cfg(not(unix))]
    fn send(&mut self, _bytes: &[u8]) {}
}

impl Drop for Readiness {
    fn drop(&mut self) {
        #[cfg(unix)]
        self.write(b"");
    }
}

/// Detaches from the terminal. Returns twice, in two processes: [`Detached::Launcher`] in the
/// original one (after the daemon reported), [`Detached::Daemon`] in the daemon.
///
/// Call it while the process has a single thread (before starting any runtime): `fork`
/// copies only the calling thread.
///
/// # Errors
/// [`Error::Runtime`] when fork or the pipe fail, [`Error::Io`] when `log` cannot be opened,
/// [`Error::Unsupported`] on Windows (use [`install_and_start`]) and other non-Unix systems.
///
/// # Platform behavior
/// See the module documentation.
pub fn daemonize(log: Option<&Path>) -> Result<Detached> {
    #[cfg(unix)]
    {
        unix::daemonize(log)
    }
    #[cfg(not(unix))]
    {
        let _ = log;
        Err(Error::Unsupported {
            what: "detaching (on Windows, --daemon runs circled as a service)".into(),
        })
    }
}

/// The Windows service name for a configuration file: `circle-STEM`, with characters services
/// do not accept replaced by `_`.
pub fn service_name(config_file: &Path) -> String {
    let stem = crate::control::config_stem(Some(config_file));
    let clean: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("circle-{clean}")
}

/// What a service's body gets: a stop request and a way to report it is running.
#[non_exhaustive]
pub struct ServiceContext {
    /// Becomes `true` when the service is asked to stop (Stop control, system shutdown).
    pub stop: tokio::sync::watch::Receiver<bool>,
    /// Reports the service as running to the service manager.
    pub ready: Box<dyn FnOnce() + Send>,
}

impl std::fmt::Debug for ServiceContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceContext").finish_non_exhaustive()
    }
}

/// The body of a service: runs until `ctx.stop` turns `true`.
pub type ServiceBody = Box<dyn FnOnce(ServiceContext) -> Result<()> + Send>;

/// Installs (if needed) and starts the Windows service for `config_file`, whose command line
/// is `circled --service -c CONFIG ARGS...`, and waits until it reports Running. Returns
/// whether it was newly installed.
///
/// # Errors
/// [`Error::Service`] when the service manager refuses (not an administrator, say) or the
/// service stops while starting; [`Error::AlreadyRunning`] when it already runs;
/// [`Error::Unsupported`] off Windows.
///
/// # Platform behavior
/// Windows only.
pub fn install_and_start(config_file: &Path, args: &[OsString]) -> Result<bool> {
    #[cfg(windows)]
    {
        windows::install_and_start(&service_name(config_file), config_file, args)
    }
    #[cfg(not(windows))]
    {
        let _ = (config_file, args);
        Err(Error::Unsupported {
            what: "Windows services".into(),
        })
    }
}

/// Stops and removes the Windows service for `config_file`. Returns whether there was one.
///
/// # Errors
/// [`Error::Service`] when the service manager refuses; [`Error::Unsupported`] off Windows.
///
/// # Platform behavior
/// Windows only.
pub fn uninstall(config_file: &Path) -> Result<bool> {
    #[cfg(windows)]
    {
        windows::uninstall(&service_name(config_file))
    }
    #[cfg(not(windows))]
    {
        let _ = config_file;
        Err(Error::Unsupported {
            what: "Windows services".into(),
        })
    }
}

/// Runs `body` as the Windows service `name` (called by `circled --service`): connects to the
/// service control manager and returns when the service has stopped.
///
/// # Errors
/// [`Error::Service`] when the process was not started by the service manager;
/// [`Error::Unsupported`] off Windows.
///
/// # Platform behavior
/// Windows only.
pub fn run_service(name: &str, body: ServiceBody) -> Result<()> {
    #[cfg(windows)]
    {
        windows::run_service(name, body)
    }
    #[cfg(not(windows))]
    {
        let _ = (name, body);
        Err(Error::Unsupported {
            what: "Windows services".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_messages() {
        assert_eq!(
            launcher_outcome(b"R1234"),
            LaunchOutcome {
                pid: Some(1234),
                error: None
            }
        );
        assert_eq!(launcher_outcome(b"R1234").exit_code(), 0);
        let e = launcher_outcome(b"Ealready running (pid 7)\n");
        assert_eq!(e.error.as_deref(), Some("already running (pid 7)"));
        assert_eq!(e.exit_code(), 1);
        assert!(
            launcher_outcome(b"")
                .error
                .unwrap()
                .contains("before it was ready")
        );
        assert!(launcher_outcome(b"Rx").error.is_some());
    }

    #[test]
    fn service_names() {
        assert_eq!(service_name(Path::new("C:/agent/tour.ini")), "circle-tour");
        assert_eq!(
            service_name(Path::new("/etc/my conf.ini")),
            "circle-my_conf"
        );
    }
}
