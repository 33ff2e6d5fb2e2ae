//! The runtime: a single task that owns every watcher's state machine and performs its actions
//! (spawn, signal, kill), reacting to child exits (SIGCHLD / process handles), commands and
//! timers. It does nothing while nothing happens: no periodic tick.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use serde::Serialize;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::config::{Config, StreamClass, Watcher, substitute_wid};
use crate::diff::{ReloadReport, diff};
use crate::error::{Error, Result};
use crate::machine::{Action, ExitInfo, Input, Machine, Policy, ProcessState, WatcherState};
use crate::output::{OutputChunk, OutputHub, RotatingFile, StreamKind};
use crate::signal::Signal;
use crate::sys::{SpawnSpec, imp};

/// The status of one watcher.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct WatcherStatus {
    /// The watcher's name.
    pub name: String,
    /// Its state.
    pub state: WatcherState,
    /// How many processes it should run.
    pub numprocesses: usize,
    /// Its process slots.
    pub processes: Vec<ProcessStatus>,
}

/// The status of one process slot.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ProcessStatus {
    /// The slot number, from 1 (`$(circle.wid)`).
    pub wid: usize,
    /// The pid of the running process.
    pub pid: Option<u32>,
    /// Its state.
    pub state: ProcessState,
    /// When the running process was started.
    pub started_at: Option<SystemTime>,
    /// How many times this slot was respawned.
    pub restarts: u32,
    /// How the previous process of this slot ended.
    pub last_exit: Option<ExitInfo>,
}

/// Something that happened, for embedding programs ([`Supervisor::subscribe_events`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// A process was started.
    Spawned {
        /// The watcher.
        watcher: String,
        /// The slot.
        wid: usize,
        /// The new process.
        pid: u32,
    },
    /// A process could not be started.
    SpawnFailed {
        /// The watcher.
        watcher: String,
        /// The slot.
        wid: usize,
        /// Why.
        error: String,
    },
    /// A process exited and was reaped.
    Exited {
        /// The watcher.
        watcher: String,
        /// The slot.
        wid: usize,
        /// The process.
        pid: u32,
        /// How it ended.
        exit: ExitInfo,
    },
    /// A watcher changed state.
    State {
        /// The watcher.
        watcher: String,
        /// Its new state.
        state: WatcherState,
    },
    /// A watcher was added.
    Added {
        /// The watcher.
        watcher: String,
    },
    /// A watcher was removed.
    Removed {
        /// The watcher.
        watcher: String,
    },
    /// A new configuration was applied.
    Reloaded {
        /// What changed.
        report: ReloadReport,
    },
    /// The supervisor stopped everything and shut down.
    ShutDown,
}

/// Options of the supervisor process itself.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SupervisorOptions {
    /// Become a child subreaper (Linux, FreeBSD): orphaned descendants are re-parented to this
    /// process, so double-forked daemons are found and killed, and every such orphan is reaped.
    /// This also reaps *every* child of the process, so use it only in a dedicated supervisor
    /// like `circled`. With `die_with_parent`, it also starts the guard on Linux: a small `sh`
    /// (`circle-guard`, in its own process group) that waits for this process to die and then
    /// kills every process carrying its marker, grandchildren included.
    pub subreaper: bool,
    /// Children die with the supervisor (Linux `PR_SET_PDEATHSIG`; Windows
    /// `JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`).
    pub die_with_parent: bool,
}

impl Default for SupervisorOptions {
    fn default() -> Self {
        SupervisorOptions {
            subreaper: false,
            die_with_parent: true,
        }
    }
}

impl SupervisorOptions {
    /// Defaults: no subreaper, children die with the supervisor.
    pub fn new() -> Self {
        SupervisorOptions::default()
    }

    /// See [`SupervisorOptions::subreaper`].
    #[must_use]
    pub fn subreaper(mut self, yes: bool) -> Self {
        self.subreaper = yes;
        self
    }

    /// See [`SupervisorOptions::die_with_parent`].
    #[must_use]
    pub fn die_with_parent(mut self, yes: bool) -> Self {
        self.die_with_parent = yes;
        self
    }
}

type Reply<T = ()> = oneshot::Sender<Result<T>>;

enum Cmd {
    Status(Option<String>, Reply<Vec<WatcherStatus>>),
    Start(String, Reply),
    Stop(String, Reply),
    Restart(String, Reply),
    Signal(String, Signal, Reply),
    Scale(String, usize, Reply<usize>),
    Add(Box<Watcher>, bool, Reply),
    Remove(String, Reply),
    Apply(Box<Config>, Reply<ReloadReport>),
    Reopen(Reply),
    Shutdown(Reply),
}

struct Shared {
    tx: mpsc::UnboundedSender<Cmd>,
    config: Mutex<Config>,
    hubs: Mutex<HashMap<String, Arc<OutputHub>>>,
    events: broadcast::Sender<Event>,
    done: watch::Receiver<bool>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// A running supervisor: a cheap, cloneable handle (`Send + Sync`).
///
/// Dropping every handle does not stop the processes: call [`Supervisor::shutdown`].
#[derive(Clone)]
pub struct Supervisor {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor").finish_non_exhaustive()
    }
}

impl Supervisor {
    /// Validates `config` and starts supervising it inside the current tokio runtime (which
    /// needs its IO and time drivers, e.g. `#[tokio::main]`); autostart watchers are started in
    /// priority order.
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid configuration (nothing is started);
    /// [`Error::Runtime`] outside a tokio runtime or when the child signal handler cannot be set.
    pub fn spawn(config: Config) -> Result<Supervisor> {
        Supervisor::spawn_with(config, SupervisorOptions::default())
    }

    /// [`Supervisor::spawn`] with options.
    ///
    /// # Errors
    /// As [`Supervisor::spawn`].
    ///
    /// # Platform behavior
    /// With `die_with_parent` (the default) children get a parent-death signal on Linux and
    /// FreeBSD and live in kill-on-close Job Objects on Windows; macOS has no equivalent.
    /// `subreaper` takes effect on Linux and FreeBSD only.
    pub fn spawn_with(config: Config, opts: SupervisorOptions) -> Result<Supervisor> {
        let handle = tokio::runtime::Handle::try_current().map_err(|e| {
            Error::runtime(
                "Supervisor::spawn needs a tokio runtime",
                std::io::Error::other(e),
            )
        })?;
        let _guard = handle.enter();
        let (actor, sup) = Actor::new(config, opts)?;
        handle.spawn(actor.run());
        Ok(sup)
    }

    /// Validates `config` and supervises it on a background thread with its own single-threaded
    /// runtime; for programs that are not async.
    ///
    /// # Errors
    /// As [`Supervisor::spawn`], and [`Error::Runtime`] when the thread cannot be started.
    pub fn spawn_on_thread(config: Config) -> Result<Supervisor> {
        Supervisor::spawn_on_thread_with(config, SupervisorOptions::default())
    }

    /// [`Supervisor::spawn_on_thread`] with options.
    ///
    /// # Errors
    /// As [`Supervisor::spawn_on_thread`].
    pub fn spawn_on_thread_with(config: Config, opts: SupervisorOptions) -> Result<Supervisor> {
        config.validate()?;
        let (tx, rx) = std::sync::mpsc::channel::<Result<Supervisor>>();
        std::thread::Builder::new()
            .name("circle-supervisor".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = tx.send(Err(Error::runtime("building the runtime", e)));
                        return;
                    }
                };
                rt.block_on(async move {
                    match Actor::new(config, opts) {
                        Ok((actor, sup)) => {
                            let _ = tx.send(Ok(sup));
                            actor.run().await;
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                        }
                    }
                });
            })
            .map_err(|e| Error::runtime("starting the supervisor thread", e))?;
        rx.recv().map_err(|_| Error::ShutDown)?
    }

    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Cmd) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        self.shared.tx.send(make(tx)).map_err(|_| Error::ShutDown)?;
        rx.await.map_err(|_| Error::ShutDown)?
    }

    /// The status of every watcher, in configuration order (empty once shut down).
    pub async fn status(&self) -> Vec<WatcherStatus> {
        self.call(|r| Cmd::Status(None, r))
            .await
            .unwrap_or_default()
    }

    /// The status of one watcher.
    ///
    /// # Errors
    /// [`Error::UnknownWatcher`], [`Error::ShutDown`].
    pub async fn watcher_status(&self, name: &str) -> Result<WatcherStatus> {
        let mut v = self
            .call(|r| Cmd::Status(Some(name.to_string()), r))
            .await?;
        v.pop().ok_or_else(|| Error::UnknownWatcher {
            name: name.to_string(),
        })
    }

    /// Starts a watcher (clearing a failure); returns once every process is spawned.
    ///
    /// # Errors
    /// [`Error::UnknownWatcher`]; [`Error::Failed`] when it gives up while starting.
    pub async fn start_watcher(&self, name: &str) -> Result<()> {
        self.call(|r| Cmd::Start(name.to_string(), r)).await
    }

    /// Stops a watcher gracefully (stop signal, then KILL after its `graceful_timeout`); returns
    /// once every process is gone. It is not restarted until started again.
    ///
    /// # Errors
    /// [`Error::UnknownWatcher`].
    pub async fn stop_watcher(&self, name: &str) -> Result<()> {
        self.call(|r| Cmd::Stop(name.to_string(), r)).await
    }

    /// Stops then starts a watcher; returns once the new processes are spawned.
    ///
    /// # Errors
    /// [`Error::UnknownWatcher`]; [`Error::Failed`].
    pub async fn restart_watcher(&self, name: &str) -> Result<()> {
        self.call(|r| Cmd::Restart(name.to_string(), r)).await
    }

    /// Sends a signal to every process of a watcher.
    ///
    /// # Errors
    /// [`Error::UnknownWatcher`]; [`Error::Signal`] when a process cannot be signalled.
    ///
    /// # Platform behavior
    /// On Windows, `KILL` terminates the process's Job Object and the stop signals are sent as
    /// `CTRL_BREAK_EVENT`; other signals are refused.
    pub async fn signal_watcher(&self, name: &str, sig: Signal) -> Result<()> {
        self.call(|r| Cmd::Signal(name.to_string(), sig, r)).await
    }

    /// Changes how many processes a watcher runs; the others keep running. Returns the new number.
    ///
    /// # Errors
    /// [`Error::UnknownWatcher`]; [`Error::Invalid`] for more than one process of a singleton.
    pub async fn set_numprocesses(&self, name: &str, n: usize) -> Result<usize> {
        self.call(|r| Cmd::Scale(name.to_string(), n, r)).await
    }

    /// Adds a watcher, and starts it when `start` (returning once its processes are spawned).
    ///
    /// # Errors
    /// [`Error::DuplicateWatcher`], [`Error::Config`] for an invalid definition.
    pub async fn add_watcher(&self, watcher: Watcher, start: bool) -> Result<()> {
        self.call(|r| Cmd::Add(Box::new(watcher), start, r)).await
    }

    /// Stops a watcher gracefully and forgets it.
    ///
    /// # Errors
    /// [`Error::UnknownWatcher`].
    pub async fn remove_watcher(&self, name: &str) -> Result<()> {
        self.call(|r| Cmd::Remove(name.to_string(), r)).await
    }

    /// Re-reads the configuration file (and its includes), validates it whole, and applies only
    /// the difference (see [`Supervisor::apply_config`]).
    ///
    /// # Errors
    /// [`Error::NotReloadable`] when the configuration did not come from a file;
    /// [`Error::Config`] / [`Error::Io`] for an invalid or unreadable file: then nothing changes.
    pub async fn reload(&self) -> Result<ReloadReport> {
        let source = self.config().source.ok_or(Error::NotReloadable)?;
        let config = Config::from_file(&source)?;
        self.apply_config(config).await
    }

    /// Applies a new configuration: new watchers start (if `autostart`), removed ones stop
    /// gracefully, changed ones restart, a change of `numprocesses` only adds or removes
    /// processes, and untouched watchers keep their processes. Returns without waiting for the
    /// stops and restarts to complete.
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid configuration: then nothing changes.
    pub async fn apply_config(&self, config: Config) -> Result<ReloadReport> {
        config.validate()?;
        self.call(|r| Cmd::Apply(Box::new(config), r)).await
    }

    /// Closes and reopens every output file (after an external log rotation moved them).
    ///
    /// # Errors
    /// [`Error::Io`] naming a file that cannot be reopened (the others are reopened).
    pub async fn reopen_logs(&self) -> Result<()> {
        self.call(Cmd::Reopen).await
    }

    /// The recent output of a watcher (up to 64 KiB of whole lines) and a receiver of what
    /// follows.
    ///
    /// # Errors
    /// [`Error::UnknownWatcher`].
    pub fn subscribe_output(
        &self,
        name: &str,
    ) -> Result<(Vec<u8>, broadcast::Receiver<OutputChunk>)> {
        let hubs = lock(&self.shared.hubs);
        let hub = hubs.get(name).ok_or_else(|| Error::UnknownWatcher {
            name: name.to_string(),
        })?;
        Ok(hub.subscribe())
    }

    /// A receiver of state changes, spawns and exits.
    pub fn subscribe_events(&self) -> broadcast::Receiver<Event> {
        self.shared.events.subscribe()
    }

    /// Stops every watcher gracefully, lowest priority first, kills any leftover descendant,
    /// and shuts the supervisor down.
    ///
    /// # Errors
    /// None in practice; [`Error::ShutDown`] is not returned for an already stopped supervisor.
    pub async fn shutdown(&self) -> Result<()> {
        match self.call(Cmd::Shutdown).await {
            Err(Error::ShutDown) => Ok(()),
            other => other,
        }
    }

    /// Waits until the supervisor has shut down.
    pub async fn wait(&self) {
        let mut done = self.shared.done.clone();
        let _ = done.wait_for(|d| *d).await;
    }

    /// Whether the supervisor has shut down.
    pub fn is_shut_down(&self) -> bool {
        *self.shared.done.borrow()
    }

    /// The configuration in force (including changes made through this API).
    pub fn config(&self) -> Config {
        lock(&self.shared.config).clone()
    }
}

struct Proc {
    wid: usize,
    handle: imp::ProcHandle,
    started: SystemTime,
}

type SharedFile = Arc<Mutex<RotatingFile>>;

struct Rt {
    cfg: Watcher,
    machine: Machine,
    procs: HashMap<u32, Proc>,
    files: Option<(Option<SharedFile>, Option<SharedFile>)>,
    hub: Arc<OutputHub>,
    start_waiters: Vec<Reply>,
    stop_waiters: Vec<Reply>,
    removing: bool,
    last_state: WatcherState,
}

impl Rt {
    fn new(cfg: Watcher) -> Rt {
        let machine = Machine::new(Policy::from_watcher(&cfg), cfg.numprocesses);
        let last_state = machine.state();
        Rt {
            cfg,
            machine,
            procs: HashMap::new(),
            files: None,
            hub: Arc::new(OutputHub::new()),
            start_waiters: Vec::new(),
            stop_waiters: Vec::new(),
            removing: false,
            last_state,
        }
    }

    fn status(&self) -> WatcherStatus {
        WatcherStatus {
            name: self.cfg.name.clone(),
            state: self.machine.state(),
            numprocesses: self.cfg.numprocesses,
            processes: self
                .machine
                .slots()
                .iter()
                .map(|s| ProcessStatus {
                    wid: s.wid(),
                    pid: s.pid(),
                    state: s.state(),
                    started_at: s.pid().and_then(|p| self.procs.get(&p)).map(|p| p.started),
                    restarts: s.restarts(),
                    last_exit: s.last_exit(),
                })
                .collect(),
        }
    }

    /// The output files, opened on first use; a stream into the same file as the other shares it.
    fn files(&mut self) -> std::io::Result<(Option<SharedFile>, Option<SharedFile>)> {
        if let Some(f) = &self.files {
            return Ok(f.clone());
        }
        let open = |s: &crate::config::StreamConfig| -> std::io::Result<Option<SharedFile>> {
            match (&s.class, &s.filename) {
                (StreamClass::File, Some(path)) => Ok(Some(Arc::new(Mutex::new(
                    RotatingFile::open(path, s.max_bytes, s.backup_count)?,
                )))),
                _ => Ok(None),
            }
        };
        let out = open(&self.cfg.stdout_stream)?;
        let same = self.cfg.stderr_stream.class == StreamClass::File
            && self.cfg.stderr_stream.filename == self.cfg.stdout_stream.filename
            && out.is_some();
        let err = if same {
            out.clone()
        } else {
            open(&self.cfg.stderr_stream)?
        };
        self.files = Some((out.clone(), err.clone()));
        Ok((out, err))
    }
}

struct Shutdown {
    levels: VecDeque<Vec<String>>,
    current: Vec<String>,
    waiters: Vec<Reply>,
}

struct Actor {
    shared: Arc<Shared>,
    guard: Option<imp::Guard>,
    rx: mpsc::UnboundedReceiver<Cmd>,
    watchers: Vec<Rt>,
    pid_owner: HashMap<u32, String>,
    reaper: imp::Reaper,
    opts: SupervisorOptions,
    serial: u64,
    marker_prefix: String,
    config: Config,
    startup: VecDeque<Vec<String>>,
    startup_current: Vec<String>,
    startup_at: Option<Instant>,
    startup_first: bool,
    shutdown: Option<Shutdown>,
    done_tx: watch::Sender<bool>,
}

fn priority_levels(watchers: &[&Watcher], descending: bool) -> VecDeque<Vec<String>> {
    let mut by: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    for w in watchers {
        by.entry(w.priority).or_default().push(w.name.clone());
    }
    if descending {
        by.into_values().rev().collect()
    } else {
        by.into_values().collect()
    }
}

/// Splits a command line into program and arguments.
fn split_command(line: &str) -> Option<Vec<String>> {
    #[cfg(windows)]
    {
        crate::sys::winargs::split_command_line(line)
    }
    #[cfg(not(windows))]
    {
        shlex::split(line)
    }
}

/// Builds what to spawn for slot `wid` of `w`.
pub(crate) fn build_spec(
    w: &Watcher,
    wid: usize,
    marker: String,
    die_with_parent: bool,
    inherited: &BTreeMap<String, String>,
) -> std::result::Result<SpawnSpec, String> {
    let line = substitute_wid(&w.command_line(), wid);
    let raw_command_line = (w.shell && cfg!(windows)).then(|| format!("cmd.exe /C {line}"));
    let (program, args) = if w.shell {
        if cfg!(windows) {
            ("cmd.exe".to_string(), vec!["/C".to_string(), line])
        } else {
            ("/bin/sh".to_string(), vec!["-c".to_string(), line])
        }
    } else {
        let mut parts = split_command(&line)
            .filter(|p| !p.is_empty())
            .ok_or_else(|| {
                format!("cannot parse the command line {line:?} (unbalanced quotes?)")
            })?;
        let program = parts.remove(0);
        (program, parts)
    };
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    if w.copy_env {
        env.extend(inherited.iter().map(|(k, v)| (k.clone(), v.clone())));
    } else {
        let keep: &[&str] = if cfg!(windows) {
            // Windows programs fail in odd ways without these.
            &[
                "SystemRoot",
                "SYSTEMROOT",
                "windir",
                "ComSpec",
                "TEMP",
                "TMP",
            ]
        } else {
            &[]
        };
        for k in keep {
            if let Some(v) = inherited.get(*k) {
                env.insert((*k).to_string(), v.clone());
            }
        }
        if w.copy_path {
            for (k, v) in inherited {
                if k.eq_ignore_ascii_case("PATH") {
                    env.insert(k.clone(), v.clone());
                }
            }
        }
    }
    for (k, v) in &w.env {
        env.insert(k.clone(), substitute_wid(v, wid));
    }
    env.insert("CIRCLE_WATCHER".into(), w.name.clone());
    env.insert("CIRCLE_WID".into(), wid.to_string());
    env.insert("CIRCLE_PROCESS".into(), marker.clone());
    Ok(SpawnSpec {
        program,
        args,
        raw_command_line,
        env: env.into_iter().collect(),
        working_dir: w
            .working_dir
            .as_ref()
            .map(|d| substitute_wid(&d.to_string_lossy(), wid).into()),
        uid: w.uid.clone(),
        gid: w.gid.clone(),
        umask: w.umask,
        rlimits: w.rlimits.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        die_with_parent,
        capture_stdout: true,
        capture_stderr: true,
        marker,
    })
}

/// Where one stream's lines go.
struct Sink {
    watcher: String,
    pid: u32,
    kind: StreamKind,
    class: StreamClass,
    file: Option<SharedFile>,
    hub: Arc<OutputHub>,
}

impl Sink {
    fn emit(&self, data: &[u8]) {
        match self.class {
            StreamClass::File => {
                if let Some(f) = &self.file {
                    let mut f = lock(f);
                    if let Err(e) = f.write_lines(data) {
                        tracing::warn!(watcher = %self.watcher, "cannot write to {}: {e}", f.path().display());
                    }
                }
            }
            StreamClass::Stdout => {
                let text = String::from_utf8_lossy(data);
                let tag = match self.kind {
                    StreamKind::Stdout => "",
                    StreamKind::Stderr => " stderr",
                };
                for line in text.strip_suffix('\n').unwrap_or(&text).split('\n') {
                    tracing::info!(target: crate::OUTPUT_LOG_TARGET, "[{} {}{tag}] {line}", self.watcher, self.pid);
                }
            }
            StreamClass::Null => {}
        }
        self.hub.push(&self.watcher, self.pid, self.kind, data);
    }
}

/// Counts supervisors created in this process, to make their markers unique.
static INSTANCES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Longest line kept whole in memory; a longer one is written in pieces.
const MAX_LINE: usize = 1 << 20;

async fn pump(mut pipe: imp::OutputPipe, sink: Sink) {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        match pipe.read_into(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if let Some(nl) = buf.iter().rposition(|&b| b == b'\n') {
            let rest = buf.split_off(nl + 1);
            sink.emit(&buf);
            buf = rest;
        } else if buf.len() >= MAX_LINE {
            sink.emit(&buf);
            buf.clear();
        }
        if buf.capacity() > 4 * MAX_LINE {
            buf.shrink_to(MAX_LINE);
        }
    }
    if !buf.is_empty() {
        sink.emit(&buf);
    }
}

impl Actor {
    fn new(config: Config, opts: SupervisorOptions) -> Result<(Actor, Supervisor)> {
        config.validate()?;
        if opts.subreaper && !imp::become_subreaper() {
            tracing::debug!("this OS has no child subreaper; double-forked descendants may escape");
        }
        let reaper = imp::Reaper::new(opts.subreaper)
            .map_err(|e| Error::runtime("installing the child exit handler", e))?;
        let (tx, rx) = mpsc::unbounded_channel();
        let (done_tx, done_rx) = watch::channel(false);
        let watchers: Vec<Rt> = config.watchers.iter().cloned().map(Rt::new).collect();
        let hubs = watchers
            .iter()
            .map(|rt| (rt.cfg.name.clone(), rt.hub.clone()))
            .collect();
        let shared = Arc::new(Shared {
            tx,
            config: Mutex::new(config.clone()),
            hubs: Mutex::new(hubs),
            events: broadcast::channel(256).0,
            done: done_rx,
        });
        let autostart: Vec<&Watcher> = config.watchers.iter().filter(|w| w.autostart).collect();
        let startup = priority_levels(&autostart, true);
        let marker_prefix = format!(
            "{}.{}:",
            std::process::id(),
            INSTANCES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let guard = if opts.subreaper && opts.die_with_parent {
            imp::start_guard(&marker_prefix)
        } else {
            None
        };
        let actor = Actor {
            shared: shared.clone(),
            guard,
            rx,
            watchers,
            pid_owner: HashMap::new(),
            reaper,
            // Unique per supervisor, also among several in one process.
            marker_prefix,
            opts,
            serial: 0,
            config,
            startup,
            startup_current: Vec::new(),
            startup_at: None,
            startup_first: true,
            shutdown: None,
            done_tx,
        };
        Ok((actor, Supervisor { shared }))
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.watchers.iter().position(|w| w.cfg.name == name)
    }

    fn emit(&self, e: Event) {
        let _ = self.shared.events.send(e);
    }

    fn sync_config(&mut self) {
        self.config.watchers = self.watchers.iter().map(|w| w.cfg.clone()).collect();
        *lock(&self.shared.config) = self.config.clone();
    }

    async fn run(mut self) {
        loop {
            self.progress();
            if self.finished() {
                break;
            }
            let deadline = self.next_deadline();
            tokio::select! {
                biased;
                () = self.reaper.ready() => {
                    let pids: Vec<u32> = self.pid_owner.keys().copied().collect();
                    for (pid, exit) in self.reaper.reap(&pids) {
                        self.on_exit(pid, exit);
                    }
                }
                cmd = self.rx.recv() => match cmd {
                    Some(cmd) => self.on_cmd(cmd),
                    None => self.begin_shutdown(None),
                },
                () = sleep_until(deadline), if deadline.is_some() => self.on_timer(),
            }
        }
        imp::sweep(&self.marker_prefix);
        if let Some(g) = self.guard.take() {
            g.dismiss();
        }
        if let Some(sd) = self.shutdown.take() {
            for w in sd.waiters {
                let _ = w.send(Ok(()));
            }
        }
        self.emit(Event::ShutDown);
        let _ = self.done_tx.send(true);
        // Answer anything still queued.
        self.rx.close();
        while let Ok(cmd) = self.rx.try_recv() {
            reply_shut_down(cmd);
        }
    }

    fn finished(&self) -> bool {
        match &self.shutdown {
            Some(sd) => sd.levels.is_empty() && sd.current.is_empty() && self.pid_owner.is_empty(),
            None => false,
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.watchers
            .iter()
            .filter_map(|w| w.machine.next_deadline())
            .chain(self.startup_at)
            .min()
    }

    fn progress(&mut self) {
        let now = Instant::now();
        if self.shutdown.is_some() {
            loop {
                let watchers = &self.watchers;
                let Some(sd) = &mut self.shutdown else { return };
                sd.current.retain(|n| {
                    watchers
                        .iter()
                        .any(|w| &w.cfg.name == n && w.machine.any_active())
                });
                if !sd.current.is_empty() {
                    return;
                }
                let Some(level) = sd.levels.pop_front() else {
                    return;
                };
                sd.current.clone_from(&level);
                for name in level {
                    self.step(&name, Input::Stop, None);
                }
            }
        }
        loop {
            let watchers = &self.watchers;
            self.startup_current.retain(|n| {
                watchers
                    .iter()
                    .any(|w| &w.cfg.name == n && w.machine.is_starting())
            });
            if !self.startup_current.is_empty() || self.startup.is_empty() {
                return;
            }
            if !self.startup_first {
                let at = *self
                    .startup_at
                    .get_or_insert(now + self.config.circle.warmup_delay);
                if now < at {
                    return;
                }
            }
            self.startup_first = false;
            self.startup_at = None;
            let Some(level) = self.startup.pop_front() else {
                return;
            };
            self.startup_current = level.clone();
            for name in level {
                self.step(&name, Input::Start, None);
            }
        }
    }

    fn begin_shutdown(&mut self, reply: Option<Reply>) {
        if let Some(sd) = &mut self.shutdown {
            sd.waiters.extend(reply);
            return;
        }
        self.startup.clear();
        self.startup_current.clear();
        self.startup_at = None;
        let all: Vec<&Watcher> = self.watchers.iter().map(|w| &w.cfg).collect();
        let levels = priority_levels(&all, false);
        self.shutdown = Some(Shutdown {
            levels,
            current: Vec::new(),
            waiters: reply.into_iter().collect(),
        });
    }

    fn on_timer(&mut self) {
        let now = Instant::now();
        let due: Vec<String> = self
            .watchers
            .iter()
            .filter(|w| w.machine.next_deadline().is_some_and(|d| d <= now))
            .map(|w| w.cfg.name.clone())
            .collect();
        for name in due {
            self.step(&name, Input::Timer, None);
        }
    }

    fn on_exit(&mut self, pid: u32, exit: ExitInfo) {
        let Some(name) = self.pid_owner.remove(&pid) else {
            tracing::debug!(pid, "reaped an orphaned descendant");
            return;
        };
        let Some(i) = self.index(&name) else { return };
        let Some(proc_) = self.watchers[i].procs.remove(&pid) else {
            return;
        };
        tracing::debug!(watcher = %name, pid, "{exit}");
        self.emit(Event::Exited {
            watcher: name.clone(),
            wid: proc_.wid,
            pid,
            exit,
        });
        self.step(&name, Input::Exited { pid, exit }, Some(&proc_.handle));
        imp::release(proc_.handle);
    }

    /// Feeds the machine of `name` and carries out the actions.
    fn step(&mut self, name: &str, input: Input, exited: Option<&imp::ProcHandle>) {
        let Some(i) = self.index(name) else { return };
        let actions = self.watchers[i].machine.step(input, Instant::now());
        self.perform(i, actions, exited);
        let Some(i) = self.index(name) else { return };
        let state = self.watchers[i].machine.state();
        if state != self.watchers[i].last_state {
            self.watchers[i].last_state = state.clone();
            self.emit(Event::State {
                watcher: name.to_string(),
                state,
            });
        }
        if self.watchers[i].removing && !self.watchers[i].machine.any_active() {
            let rt = self.watchers.remove(i);
            lock(&self.shared.hubs).remove(name);
            for w in rt.stop_waiters {
                let _ = w.send(Ok(()));
            }
            self.sync_config();
            self.emit(Event::Removed {
                watcher: name.to_string(),
            });
        }
    }

    fn perform(&mut self, i: usize, actions: Vec<Action>, exited: Option<&imp::ProcHandle>) {
        let mut queue: VecDeque<Action> = actions.into();
        while let Some(action) = queue.pop_front() {
            match action {
                Action::Spawn { wid } => {
                    let input = self.spawn_one(i, wid);
                    let more = self.watchers[i].machine.step(input, Instant::now());
                    queue.extend(more);
                }
                Action::Signal {
                    pid, signal, tree, ..
                } => {
                    let rt = &self.watchers[i];
                    if let Some(p) = rt.procs.get(&pid) {
                        if let Err(e) = imp::signal(&p.handle, signal, tree) {
                            tracing::warn!(watcher = %rt.cfg.name, pid, "cannot send {signal}: {e}");
                            // Waiting out graceful_timeout for a signal that never arrived
                            // (e.g. no console for CTRL_BREAK on Windows) is pointless.
                            if signal != Signal::Kill {
                                if let Err(e) = imp::signal(&p.handle, Signal::Kill, tree) {
                                    tracing::warn!(watcher = %rt.cfg.name, pid, "cannot kill: {e}");
                                }
                            }
                        }
                    }
                }
                Action::KillTree { pid, .. } => {
                    if let Some(h) = exited.filter(|h| h.pid == pid) {
                        imp::kill_tree_remains(h);
                    }
                }
                Action::ArmTimer { .. } => {}
                Action::Started => {
                    for w in self.watchers[i].start_waiters.drain(..) {
                        let _ = w.send(Ok(()));
                    }
                }
                Action::Stopped => {
                    if !self.watchers[i].removing {
                        for w in self.watchers[i].stop_waiters.drain(..) {
                            let _ = w.send(Ok(()));
                        }
                    }
                }
                Action::GiveUp { reason } => {
                    let name = self.watchers[i].cfg.name.clone();
                    tracing::error!(watcher = %name, "{reason}");
                    for w in self.watchers[i].start_waiters.drain(..) {
                        let _ = w.send(Err(Error::Failed {
                            watcher: name.clone(),
                            reason: reason.clone(),
                        }));
                    }
                }
            }
        }
    }

    fn spawn_one(&mut self, i: usize, wid: usize) -> Input {
        self.serial += 1;
        let marker = format!("{}{}", self.marker_prefix, self.serial);
        let inherited = crate::config::process_env_map();
        let name = self.watchers[i].cfg.name.clone();
        let spec = match build_spec(
            &self.watchers[i].cfg,
            wid,
            marker,
            self.opts.die_with_parent,
            &inherited,
        ) {
            Ok(s) => s,
            Err(reason) => return self.spawn_failed(&name, wid, reason),
        };
        let files = match self.watchers[i].files() {
            Ok(f) => f,
            Err(e) => {
                return self.spawn_failed(&name, wid, format!("cannot open its output file: {e}"));
            }
        };
        let spawned = match imp::spawn(&spec, &self.reaper) {
            Ok(s) => s,
            Err(e) => {
                let cmd = self.watchers[i].cfg.command_line();
                return self.spawn_failed(&name, wid, format!("cannot start {cmd:?}: {e}"));
            }
        };
        let pid = spawned.pid;
        let rt = &mut self.watchers[i];
        for (pipe, kind, file, class) in [
            (
                spawned.stdout,
                StreamKind::Stdout,
                files.0,
                rt.cfg.stdout_stream.class,
            ),
            (
                spawned.stderr,
                StreamKind::Stderr,
                files.1,
                rt.cfg.stderr_stream.class,
            ),
        ] {
            if let Some(pipe) = pipe {
                let sink = Sink {
                    watcher: name.clone(),
                    pid,
                    kind,
                    class,
                    file,
                    hub: rt.hub.clone(),
                };
                tokio::spawn(pump(pipe, sink));
            }
        }
        rt.procs.insert(
            pid,
            Proc {
                wid,
                handle: spawned.handle,
                started: SystemTime::now(),
            },
        );
        self.pid_owner.insert(pid, name.clone());
        tracing::debug!(watcher = %name, wid, pid, "spawned");
        self.emit(Event::Spawned {
            watcher: name,
            wid,
            pid,
        });
        Input::Spawned { wid, pid }
    }

    fn spawn_failed(&self, name: &str, wid: usize, reason: String) -> Input {
        tracing::warn!(watcher = %name, wid, "{reason}");
        self.emit(Event::SpawnFailed {
            watcher: name.to_string(),
            wid,
            error: reason.clone(),
        });
        Input::SpawnFailed { wid, reason }
    }

    fn unknown(name: &str) -> Error {
        Error::UnknownWatcher {
            name: name.to_string(),
        }
    }

    fn on_cmd(&mut self, cmd: Cmd) {
        if self.shutdown.is_some() {
            match cmd {
                Cmd::Status(..) | Cmd::Shutdown(_) => {}
                other => return reply_shut_down(other),
            }
        }
        match cmd {
            Cmd::Status(name, reply) => {
                let v: Vec<WatcherStatus> = self
                    .watchers
                    .iter()
                    .filter(|w| name.as_ref().is_none_or(|n| *n == w.cfg.name))
                    .map(Rt::status)
                    .collect();
                if let (Some(n), true) = (&name, v.is_empty()) {
                    let _ = reply.send(Err(Self::unknown(n)));
                } else {
                    let _ = reply.send(Ok(v));
                }
            }
            Cmd::Start(name, reply) => match self.index(&name) {
                Some(i) if !self.watchers[i].removing => {
                    self.watchers[i].start_waiters.push(reply);
                    self.step(&name, Input::Start, None);
                }
                _ => {
                    let _ = reply.send(Err(Self::unknown(&name)));
                }
            },
            Cmd::Stop(name, reply) => match self.index(&name) {
                Some(i) => {
                    self.watchers[i].stop_waiters.push(reply);
                    self.step(&name, Input::Stop, None);
                }
                None => {
                    let _ = reply.send(Err(Self::unknown(&name)));
                }
            },
            Cmd::Restart(name, reply) => match self.index(&name) {
                Some(i) if !self.watchers[i].removing => {
                    self.watchers[i].start_waiters.push(reply);
                    self.step(&name, Input::Stop, None);
                    self.step(&name, Input::Start, None);
                }
                _ => {
                    let _ = reply.send(Err(Self::unknown(&name)));
                }
            },
            Cmd::Signal(name, sig, reply) => {
                let Some(i) = self.index(&name) else {
                    let _ = reply.send(Err(Self::unknown(&name)));
                    return;
                };
                let mut result = Ok(());
                for (pid, p) in &self.watchers[i].procs {
                    if let Err(e) = imp::signal(&p.handle, sig, false) {
                        result = Err(Error::Signal {
                            watcher: name.clone(),
                            pid: *pid,
                            signal: sig,
                            source: e,
                        });
                    }
                }
                let _ = reply.send(result);
            }
            Cmd::Scale(name, n, reply) => {
                let Some(i) = self.index(&name) else {
                    let _ = reply.send(Err(Self::unknown(&name)));
                    return;
                };
                if self.watchers[i].cfg.singleton && n > 1 {
                    let _ = reply.send(Err(Error::Invalid {
                        watcher: name,
                        message: format!("a singleton runs one process, not {n}"),
                    }));
                    return;
                }
                self.watchers[i].cfg.numprocesses = n;
                self.step(&name, Input::Scale(n), None);
                self.sync_config();
                let _ = reply.send(Ok(n));
            }
            Cmd::Add(w, start, reply) => {
                if self.index(&w.name).is_some() {
                    let _ = reply.send(Err(Error::DuplicateWatcher {
                        name: w.name.clone(),
                    }));
                    return;
                }
                let problems = w.problems();
                if !problems.is_empty() {
                    let _ = reply.send(Err(Error::Config(problems)));
                    return;
                }
                let name = w.name.clone();
                self.add(*w);
                self.emit(Event::Added {
                    watcher: name.clone(),
                });
                if start {
                    if let Some(i) = self.index(&name) {
                        self.watchers[i].start_waiters.push(reply);
                        self.step(&name, Input::Start, None);
                    }
                } else {
                    let _ = reply.send(Ok(()));
                }
            }
            Cmd::Remove(name, reply) => match self.index(&name) {
                Some(i) => {
                    self.watchers[i].removing = true;
                    self.watchers[i].stop_waiters.push(reply);
                    self.step(&name, Input::Stop, None);
                }
                None => {
                    let _ = reply.send(Err(Self::unknown(&name)));
                }
            },
            Cmd::Apply(config, reply) => {
                let report = self.apply_config(*config);
                let _ = reply.send(Ok(report));
            }
            Cmd::Reopen(reply) => {
                let mut result = Ok(());
                for rt in &self.watchers {
                    if let Some((a, b)) = &rt.files {
                        for f in a.iter().chain(b.iter()) {
                            let mut f = lock(f);
                            if let Err(e) = f.reopen() {
                                result = Err(Error::io(f.path(), e));
                            }
                        }
                    }
                }
                let _ = reply.send(result);
            }
            Cmd::Shutdown(reply) => self.begin_shutdown(Some(reply)),
        }
    }

    fn add(&mut self, w: Watcher) {
        let rt = Rt::new(w);
        lock(&self.shared.hubs).insert(rt.cfg.name.clone(), rt.hub.clone());
        self.watchers.push(rt);
        self.sync_config();
    }

    fn apply_config(&mut self, new: Config) -> ReloadReport {
        let old = self.config.clone();
        let report = diff(&old, &new);
        for name in &report.removed {
            if let Some(i) = self.index(name) {
                self.watchers[i].removing = true;
                self.step(name, Input::Stop, None);
            }
        }
        for w in &new.watchers {
            let name = w.name.clone();
            if report.added.contains(&name) {
                self.add(w.clone());
                if w.autostart {
                    self.step(&name, Input::Start, None);
                }
                continue;
            }
            let Some(i) = self.index(&name) else { continue };
            let restart = report.restarted.contains(&name);
            let scale = report.scaled.iter().any(|s| s.name == name);
            let rt = &mut self.watchers[i];
            // A failed watcher whose definition changed gets another chance.
            let was_running = rt.machine.wanted_running()
                || (restart && matches!(rt.machine.state(), WatcherState::Failed { .. }));
            rt.cfg = w.clone();
            rt.machine.set_policy(Policy::from_watcher(w));
            if restart {
                rt.files = None;
                if was_running {
                    self.step(&name, Input::Stop, None);
                    self.step(&name, Input::Scale(w.numprocesses), None);
                    self.step(&name, Input::Start, None);
                } else {
                    self.step(&name, Input::Scale(w.numprocesses), None);
                }
            } else if scale {
                self.step(&name, Input::Scale(w.numprocesses), None);
            }
        }
        // Keep the new definition order.
        let order: Vec<&str> = new.watchers.iter().map(|w| w.name.as_str()).collect();
        self.watchers.sort_by_key(|rt| {
            order
                .iter()
                .position(|n| *n == rt.cfg.name)
                .unwrap_or(usize::MAX)
        });
        self.config.circle = new.circle.clone();
        self.config.source = new.source.clone();
        self.config.files = new.files.clone();
        self.sync_config();
        self.emit(Event::Reloaded {
            report: report.clone(),
        });
        report
    }
}

fn reply_shut_down(cmd: Cmd) {
    match cmd {
        Cmd::Status(_, r) => {
            let _ = r.send(Ok(Vec::new()));
        }
        Cmd::Start(_, r)
        | Cmd::Stop(_, r)
        | Cmd::Restart(_, r)
        | Cmd::Signal(_, _, r)
        | Cmd::Add(_, _, r)
        | Cmd::Remove(_, r)
        | Cmd::Reopen(r) => {
            let _ = r.send(Err(Error::ShutDown));
        }
        Cmd::Shutdown(r) => {
            let _ = r.send(Ok(()));
        }
        Cmd::Scale(_, _, r) => {
            let _ = r.send(Err(Error::ShutDown));
        }
        Cmd::Apply(_, r) => {
            let _ = r.send(Err(Error::ShutDown));
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inherited() -> BTreeMap<String, String> {
        [
            ("PATH", "/usr/bin:/bin"),
            ("HOME", "/root"),
            ("SECRET", "x"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn env_of(spec: &SpawnSpec, key: &str) -> Option<String> {
        spec.env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    #[test]
    fn spec_splits_quotes_and_substitutes_wid() {
        let w = Watcher::new("web")
            .cmd("python -m 'my app'")
            .args("--port 80$(circle.wid)")
            .env("ID", "w$(circle.wid)");
        let s = build_spec(&w, 3, "1:1".into(), true, &inherited()).unwrap();
        assert_eq!(s.program, "python");
        assert_eq!(s.args, ["-m", "my app", "--port", "803"]);
        assert_eq!(env_of(&s, "ID").as_deref(), Some("w3"));
        assert_eq!(env_of(&s, "CIRCLE_WID").as_deref(), Some("3"));
        assert_eq!(env_of(&s, "CIRCLE_WATCHER").as_deref(), Some("web"));
        assert_eq!(env_of(&s, "CIRCLE_PROCESS").as_deref(), Some("1:1"));
    }

    #[test]
    fn spec_environment_precedence() {
        let base = Watcher::new("w").cmd("x").env("HOME", "/srv");
        let s = build_spec(&base, 1, String::new(), true, &inherited()).unwrap();
        assert_eq!(
            env_of(&s, "PATH"),
            None,
            "copy_env and copy_path are off by default"
        );
        assert_eq!(env_of(&s, "SECRET"), None);
        let s = build_spec(
            &base.clone().copy_path(true),
            1,
            String::new(),
            true,
            &inherited(),
        )
        .unwrap();
        assert_eq!(env_of(&s, "PATH").as_deref(), Some("/usr/bin:/bin"));
        assert_eq!(env_of(&s, "SECRET"), None);
        let s = build_spec(
            &base.clone().copy_env(true),
            1,
            String::new(),
            true,
            &inherited(),
        )
        .unwrap();
        assert_eq!(env_of(&s, "SECRET").as_deref(), Some("x"));
        assert_eq!(
            env_of(&s, "HOME").as_deref(),
            Some("/srv"),
            "[env] wins over copy_env"
        );
    }

    #[test]
    fn spec_shell_and_bad_quotes() {
        let w = Watcher::new("w").cmd("echo $HOME | wc -c").shell(true);
        let s = build_spec(&w, 1, String::new(), true, &inherited()).unwrap();
        if cfg!(windows) {
            assert_eq!(s.program, "cmd.exe");
        } else {
            assert_eq!(s.program, "/bin/sh");
            assert_eq!(s.args, ["-c", "echo $HOME | wc -c"]);
        }
        let bad = Watcher::new("w").cmd("echo 'unbalanced");
        assert!(build_spec(&bad, 1, String::new(), true, &inherited()).is_err());
    }

    #[test]
    fn the_handle_is_send_sync_and_cheap_to_clone() {
        fn check<T: Send + Sync + Clone + 'static>() {}
        check::<Supervisor>();
        check::<WatcherStatus>();
        check::<Event>();
    }

    #[test]
    fn priority_levels_order() {
        let a = Watcher::new("a").priority(1);
        let b = Watcher::new("b").priority(5);
        let c = Watcher::new("c").priority(1);
        let l = priority_levels(&[&a, &b, &c], true);
        assert_eq!(l, [vec!["b".to_string()], vec!["a".into(), "c".into()]]);
        let l = priority_levels(&[&a, &b, &c], false);
        assert_eq!(l, [vec!["a".to_string(), "c".into()], vec!["b".into()]]);
    }
}
