//! Spawning, signalling and reaping processes: one backend per platform, aliased `imp`.
//!
//! Every backend provides:
//! - `spawn(&SpawnSpec) -> io::Result<Spawned>`: start a process in its own process group /
//!   Job Object, with the requested identity, limits and environment;
//! - `signal(&ProcHandle, Signal, tree: bool) -> io::Result<()>`;
//! - `kill_tree_remains(&ProcHandle)`: kill what is left of a tree whose leader exited;
//! - `release(ProcHandle)`: forget a reaped process (close handles);
//! - `become_subreaper() -> bool`;
//! - `sweep(marker_prefix)`: kill leftover descendants carrying this supervisor's marker;
//! - `Reaper`: `new(reap_all)`, `ready().await` (a child may have exited), `reap(&[pid])`;
//! - `OutputPipe`: `read_into(&mut Vec<u8>).await -> usize` (0 at end of file).

use std::path::PathBuf;

// Pure, compiled everywhere; used by the Linux backend.
#[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
pub(crate) mod proc_tree;
#[cfg(unix)]
pub(crate) mod unix;
pub(crate) mod winargs;
#[cfg(unix)]
pub(crate) use unix as imp;

#[cfg(windows)]
pub(crate) mod windows;
#[cfg(windows)]
pub(crate) use windows as imp;

#[cfg(not(any(unix, windows)))]
pub(crate) mod unsupported;
#[cfg(not(any(unix, windows)))]
pub(crate) use unsupported as imp;

/// Everything needed to start one process.
#[derive(Debug, Clone, Default)]
pub(crate) struct SpawnSpec {
    /// The program (looked up in `PATH` when it has no slash).
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Windows: the command line to pass as is (`cmd.exe /C LINE` for `shell`), instead of
    /// quoting `program` and `args`.
    #[cfg_attr(not(windows), allow(dead_code))]
    pub raw_command_line: Option<String>,
    /// The complete environment of the child.
    pub env: Vec<(String, String)>,
    pub working_dir: Option<PathBuf>,
    /// Unix user and group (names or numbers), resolved by the backend.
    pub uid: Option<String>,
    pub gid: Option<String>,
    pub umask: Option<u32>,
    /// `(name, value)`, `None` meaning unlimited.
    pub rlimits: Vec<(String, Option<u64>)>,
    /// Kill the child when the supervisor dies (Linux parent-death signal).
    pub die_with_parent: bool,
    pub capture_stdout: bool,
    pub capture_stderr: bool,
    /// The value of `CIRCLE_PROCESS` in the child, found again in its descendants.
    pub marker: String,
}

/// A spawned process.
pub(crate) struct Spawned {
    pub pid: u32,
    pub handle: imp::ProcHandle,
    pub stdout: Option<imp::OutputPipe>,
    pub stderr: Option<imp::OutputPipe>,
}
