//! Fallback backend for targets that are neither Unix nor Windows: it compiles, and spawning
//! reports `Unsupported`.

use std::io;

use super::{SpawnSpec, Spawned};
use crate::machine::ExitInfo;
use crate::signal::Signal;

#[derive(Debug)]
pub(crate) struct ProcHandle {
    pub pid: u32,
}

pub(crate) struct OutputPipe;

impl OutputPipe {
    pub(crate) async fn read_into(&mut self, _out: &mut Vec<u8>) -> io::Result<usize> {
        Ok(0)
    }
}

fn unsupported() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "process supervision is not supported on this OS",
    )
}

pub(crate) fn spawn(_spec: &SpawnSpec, _reaper: &Reaper) -> io::Result<Spawned> {
    Err(unsupported())
}

pub(crate) fn signal(_h: &ProcHandle, _sig: Signal, _tree: bool) -> io::Result<()> {
    Err(unsupported())
}

pub(crate) fn kill_tree_remains(_h: &ProcHandle) {}

pub(crate) fn release(_h: ProcHandle) {}

pub(crate) fn become_subreaper() -> bool {
    false
}

pub(crate) fn sweep(_prefix: &str) {}

pub(crate) struct Guard;

pub(crate) fn start_guard(_prefix: &str) -> Option<Guard> {
    None
}

impl Guard {
    pub(crate) fn dismiss(self) {}
}

pub(crate) struct Reaper;

impl Reaper {
    pub(crate) fn new(_reap_all: bool) -> io::Result<Reaper> {
        Ok(Reaper)
    }

    pub(crate) async fn ready(&mut self) {
        std::future::pending::<()>().await;
    }

    pub(crate) fn reap(&mut self, _pids: &[u32]) -> Vec<(u32, ExitInfo)> {
        Vec::new()
    }
}
