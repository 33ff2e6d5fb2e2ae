//! `circled` itself: configuration, log, pidfile, supervisor and control server, in the
//! foreground, detached, or as a Windows service. The binary only parses its arguments.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::config::Config;
use crate::control::{self, SupervisorHandler};
use crate::error::{Error, Result};
use crate::supervisor::{Supervisor, SupervisorOptions};

use super::{Pidfile, Readiness};

/// How `circled` was asked to run.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RunOptions {
    /// `-c FILE`.
    pub config: PathBuf,
    /// `--daemon`.
    pub daemon: bool,
    /// `--pidfile P` (else `[circle] pidfile`; with `--daemon`, else next to the socket).
    pub pidfile: Option<PathBuf>,
    /// `--log-output F` (else `[circle] logoutput`): `-`/`stdout`, `stderr` or a file.
    pub log_output: Option<String>,
    /// `--log-level L` (else `[circle] loglevel`).
    pub log_level: Option<String>,
    /// `--uninstall` (Windows).
    pub uninstall: bool,
    /// `--service`: started by the Windows service manager.
    pub service: bool,
}

impl RunOptions {
    /// Runs `config`, with the rest at their defaults (foreground).
    pub fn new(config: impl Into<PathBuf>) -> Self {
        RunOptions {
            config: config.into(),
            ..RunOptions::default()
        }
    }

    /// `--daemon`.
    #[must_use]
    pub fn daemon(mut self, yes: bool) -> Self {
        self.daemon = yes;
        self
    }

    /// `--pidfile`.
    #[must_use]
    pub fn pidfile(mut self, p: Option<PathBuf>) -> Self {
        self.pidfile = p;
        self
    }

    /// `--log-output`.
    #[must_use]
    pub fn log_output(mut self, o: Option<String>) -> Self {
        self.log_output = o;
        self
    }

    /// `--log-level`.
    #[must_use]
    pub fn log_level(mut self, l: Option<String>) -> Self {
        self.log_level = l;
        self
    }

    /// `--uninstall`.
    #[must_use]
    pub fn uninstall(mut self, yes: bool) -> Self {
        self.uninstall = yes;
        self
    }

    /// `--service`.
    #[must_use]
    pub fn service(mut self, yes: bool) -> Self {
        self.service = yes;
        self
    }
}

/// A log file that can be reopened after an external logrotate moved it.
#[derive(Debug, Clone)]
pub struct LogFile {
    inner: Arc<Mutex<(PathBuf, std::fs::File)>>,
    std_streams: bool,
}

fn open_append(path: &Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut o, libc::O_NOCTTY);
    o.open(path)
}

impl LogFile {
    /// Opens (creates, appends to) `path`.
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be opened.
    pub fn open(path: impl Into<PathBuf>) -> Result<LogFile> {
        let path = path.into();
        let file = open_append(&path).map_err(|e| Error::io(&path, e))?;
        Ok(LogFile {
            inner: Arc::new(Mutex::new((path, file))),
            std_streams: false,
        })
    }

    /// Also points standard output and error at the reopened file (a daemon's are the log).
    #[must_use]
    pub fn with_std_streams(mut self, yes: bool) -> Self {
        self.std_streams = yes;
        self
    }

    /// Opens the path again: later lines go to the new file there.
    ///
    /// # Errors
    /// The I/O error; the old file is kept then.
    pub fn reopen(&self) -> std::io::Result<()> {
        let mut g = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let file = open_append(&g.0)?;
        #[cfg(unix)]
        {
            // A daemon's standard output and error are this file too (panics, watchers'
            // StdoutStream output): move them along.
            use std::os::unix::io::AsRawFd;
            if self.std_streams {
                // SAFETY: duplicating a descriptor we own onto our standard streams.
                unsafe {
                    libc::dup2(file.as_raw_fd(), 1);
                    libc::dup2(file.as_raw_fd(), 2);
                }
            }
        }
        g.1 = file;
        Ok(())
    }

    /// The file's path.
    pub fn path(&self) -> PathBuf {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0
            .clone()
    }
}

impl Write for LogFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut g = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // One write_all per event keeps lines whole when several threads log.
        g.1.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .1
            .flush()
    }
}

/// The tracing filter for a circus log level name.
pub fn level_filter(level: Option<&str>) -> &'static str {
    match level.map(str::to_ascii_lowercase).as_deref() {
        Some("debug") => "debug",
        Some("trace") => "trace",
        Some("warning" | "warn") => "warn",
        Some("error" | "critical") => "error",
        _ => "info",
    }
}

/// A log output that is a file (not `-`, `stdout`, `stderr`), resolved against `base`.
fn log_file(output: Option<&str>, base: &Path) -> Option<PathBuf> {
    match output {
        None | Some("" | "-" | "stdout" | "stderr") => None,
        Some(p) => Some(base.join(p)),
    }
}

/// Installs the global tracing subscriber; returns the log file when logging to one.
fn init_logging(
    output: Option<&str>,
    level: Option<&str>,
    base: &Path,
    daemon: bool,
) -> Result<Option<LogFile>> {
    // Watchers' StdoutStream output is logged at INFO under its own target: it must reach the
    // log whatever `loglevel` circled's own messages use.
    let filter = tracing_subscriber::EnvFilter::try_from_env("CIRCLE_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!(
            "{},{}=info",
            level_filter(level),
            crate::OUTPUT_LOG_TARGET
        ))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let result = match (output, log_file(output, base)) {
        (_, Some(path)) => {
            let log = LogFile::open(path)?.with_std_streams(daemon);
            let w = log.clone();
            let r = builder
                .with_ansi(false)
                .with_writer(move || w.clone())
                .try_init();
            return r.map(|()| Some(log)).map_err(|e| {
                Error::runtime(
                    "installing the logger",
                    std::io::Error::other(e.to_string()),
                )
            });
        }
        (Some("stderr"), None) => builder
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .try_init(),
        _ => builder
            .with_ansi(std::io::stdout().is_terminal())
            .with_writer(std::io::stdout)
            .try_init(),
    };
    result.map(|()| None).map_err(|e| {
        Error::runtime(
            "installing the logger",
            std::io::Error::other(e.to_string()),
        )
    })
}

/// Runs `circled` as asked and returns its exit code: 0 after a clean stop (or, for the
/// launcher of `--daemon`, once the daemon is ready), 1 on failure (a second instance: with
/// `already running (pid N)`), 2 for an invalid configuration. Messages go to standard error
/// (before logging starts) or the log.
///
/// # Platform behavior
/// `--daemon`: see the [module documentation](super). `--uninstall` and `--service` exist on
/// Windows only.
pub fn run(opts: RunOptions) -> i32 {
    let path = std::path::absolute(&opts.config).unwrap_or_else(|_| opts.config.clone());
    if opts.uninstall {
        return match super::uninstall(&path) {
            Ok(true) => {
                println!("service {} removed", super::service_name(&path));
                0
            }
            Ok(false) => {
                println!("service {} is not installed", super::service_name(&path));
                0
            }
            Err(e) => {
                eprintln!("circled: {e}");
                1
            }
        };
    }
    let config = match Config::from_file(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("circled: {e}");
            return 2;
        }
    };
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let output = opts
        .log_output
        .clone()
        .or_else(|| config.circle.logoutput.clone());
    let level = opts
        .log_level
        .clone()
        .or_else(|| config.circle.loglevel.clone());
    let mut pidfile = opts
        .pidfile
        .clone()
        .or_else(|| config.circle.pidfile.clone())
        .map(|p| base.join(p));

    if opts.daemon && cfg!(windows) && !opts.service {
        let mut args = Vec::new();
        for (flag, v) in [
            (
                "--pidfile",
                pidfile.as_ref().map(|p| p.as_os_str().to_owned()),
            ),
            ("--log-output", output.as_ref().map(Into::into)),
            ("--log-level", level.as_ref().map(Into::into)),
        ] {
            if let Some(v) = v {
                args.push(flag.into());
                args.push(v);
            }
        }
        return match super::install_and_start(&path, &args) {
            Ok(installed) => {
                println!(
                    "service {} {}started",
                    super::service_name(&path),
                    if installed { "installed and " } else { "" }
                );
                0
            }
            Err(e) => {
                eprintln!("circled: {e}");
                1
            }
        };
    }

    if opts.service {
        // The service manager gives no console: log to a file, by default beside the config.
        let output = output.or_else(|| {
            Some(
                base.join(format!("{}.log", control::config_stem(Some(&path))))
                    .display()
                    .to_string(),
            )
        });
        let name = super::service_name(&path);
        let body: super::ServiceBody = Box::new(move |ctx: super::ServiceContext| {
            let log = init_logging(output.as_deref(), level.as_deref(), &base, false)?;
            let ready = ctx.ready;
            block_on(serve(
                config,
                pidfile,
                log,
                Some(ctx.stop),
                Box::new(move |r| {
                    if r.is_ok() {
                        ready();
                    }
                }),
            ))
        });
        return match super::run_service(&name, body) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("circled: {e}");
                1
            }
        };
    }

    let mut readiness: Option<Readiness> = None;
    if opts.daemon {
        if pidfile.is_none() {
            if let Ok(control::Endpoint::Unix(sock)) = control::local_endpoint(&config) {
                pidfile = Some(sock.with_extension("pid"));
            }
        }
        let log = log_file(output.as_deref(), &base);
        match super::daemonize(log.as_deref()) {
            Ok(super::Detached::Launcher(outcome)) => {
                if let Some(e) = &outcome.error {
                    eprintln!("circled: {e}");
                }
                return outcome.exit_code();
            }
            Ok(super::Detached::Daemon(r)) => readiness = Some(r),
            Err(e) => {
                eprintln!("circled: {e}");
                return 1;
            }
        }
    }
    // A daemon without a log file writes to /dev/null: its standard output.
    let log = match init_logging(output.as_deref(), level.as_deref(), &base, opts.daemon) {
        Ok(l) => l,
        Err(e) => {
            let msg = e.to_string();
            match readiness {
                Some(r) => r.fail(&msg),
                None => eprintln!("circled: {msg}"),
            }
            return 1;
        }
    };
    let report: Started = Box::new(move |r| {
        if let Some(rd) = readiness {
            match r {
                Ok(()) => rd.ready(),
                Err(e) => rd.fail(&e.to_string()),
            }
        }
    });
    match block_on(serve(config, pidfile, log, None, report)) {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!("{e}");
            if !opts.daemon {
                eprintln!("circled: {e}");
            }
            1
        }
    }
}

fn block_on<F: std::future::Future<Output = Result<()>>>(f: F) -> Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::runtime("starting the runtime", e))?
        .block_on(f)
}

/// Told whether the start succeeded (the daemon's readiness, the service's Running state).
type Started = Box<dyn FnOnce(&Result<()>) + Send>;

/// Pidfile, supervisor, control server; then waits for a stop (signal, `quit`, service stop).
/// `started` learns whether the start succeeded, before the wait.
async fn serve(
    config: Config,
    pidfile: Option<PathBuf>,
    log: Option<LogFile>,
    stop: Option<tokio::sync::watch::Receiver<bool>>,
    started: Started,
) -> Result<()> {
    let start = async {
        // Refuse a second instance before starting any process.
        let pid = pidfile.as_ref().map(Pidfile::acquire).transpose()?;
        // Bad endpoints are reported before any process starts.
        control::local_endpoint(&config)?;
        control::tcp_endpoint(&config)?;
        control::ensure_free(&config).await?;
        let sup = Supervisor::spawn_with(config.clone(), SupervisorOptions::new().subreaper(true))?;
        let mut handler = SupervisorHandler::new(sup.clone());
        if let Some(log) = log {
            handler = handler.on_reopen(Arc::new(move || log.reopen()));
        }
        let server = match control::serve_with(handler, &config).await {
            Ok(s) => s,
            Err(e) => {
                let _ = sup.shutdown().await;
                sup.wait().await;
                return Err(e);
            }
        };
        tracing::info!(
            pid = std::process::id(),
            endpoint = %server.endpoint(),
            tcp = ?server.tcp_addr(),
            "circled started"
        );
        Ok((sup, server, pid))
    };
    let (sup, server, pid) = match start.await {
        Ok(x) => {
            started(&Ok(()));
            x
        }
        Err(e) => {
            let r = Err(e);
            started(&r);
            return r;
        }
    };
    wait_for_stop(&sup, stop).await?;
    tracing::info!("stopping every watcher");
    let _ = sup.shutdown().await;
    sup.wait().await;
    drop(server);
    drop(pid);
    tracing::info!("circled stopped");
    Ok(())
}

async fn wait_for_stop(
    sup: &Supervisor,
    stop: Option<tokio::sync::watch::Receiver<bool>>,
) -> Result<()> {
    let service_stop = async move {
        match stop {
            Some(mut rx) => {
                while !*rx.borrow() {
                    if rx.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::pin!(service_stop);
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let sig = |k| signal(k).map_err(|e| Error::runtime("installing signal handlers", e));
        let mut term = sig(SignalKind::terminate())?;
        let mut int = sig(SignalKind::interrupt())?;
        let mut hup = sig(SignalKind::hangup())?;
        loop {
            tokio::select! {
                _ = term.recv() => return Ok(()),
                _ = int.recv() => return Ok(()),
                () = &mut service_stop => return Ok(()),
                _ = hup.recv() => match sup.reload().await {
                    Ok(r) => tracing::info!("reloaded: {}", serde_json::to_string(&r).unwrap_or_default()),
                    Err(e) => tracing::error!("reload refused, nothing changed: {e}"),
                },
                () = sup.wait() => return Ok(()),
            }
        }
    }
    #[cfg(windows)]
    {
        // A service has no console; there the console handlers may be refused, and the
        // service manager's Stop (service_stop) is what counts.
        let mut brk = tokio::signal::windows::ctrl_break().ok();
        let mut cc = tokio::signal::windows::ctrl_c().ok();
        let console = async {
            match (&mut brk, &mut cc) {
                (Some(b), Some(c)) => {
                    tokio::select! {
                        _ = b.recv() => {},
                        _ = c.recv() => {},
                    }
                }
                (Some(b), None) => {
                    b.recv().await;
                }
                (None, Some(c)) => {
                    c.recv().await;
                }
                (None, None) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = console => {},
            () = &mut service_stop => {},
            () = sup.wait() => {},
        }
        Ok(())
    }
    #[cfg(not(any(unix, windows)))]
    {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            () = &mut service_stop => {},
            () = sup.wait() => {},
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_outputs() {
        assert_eq!(level_filter(Some("WARNING")), "warn");
        assert_eq!(level_filter(Some("critical")), "error");
        assert_eq!(level_filter(None), "info");
        let base = Path::new("/etc/circle");
        assert_eq!(log_file(Some("-"), base), None);
        assert_eq!(log_file(Some("stderr"), base), None);
        assert_eq!(
            log_file(Some("circled.log"), base),
            Some(PathBuf::from("/etc/circle/circled.log"))
        );
    }

    #[test]
    fn log_file_reopens_after_a_move() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("c.log");
        let mut log = LogFile::open(&p).unwrap();
        log.write_all(b"one\n").unwrap();
        std::fs::rename(&p, tmp.path().join("c.log.1")).unwrap();
        log.write_all(b"two\n").unwrap();
        log.reopen().unwrap();
        log.write_all(b"three\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("c.log.1")).unwrap(),
            "one\ntwo\n"
        );
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "three\n");
    }
}
