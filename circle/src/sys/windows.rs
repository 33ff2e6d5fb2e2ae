//! Windows backend: `CreateProcessW` (suspended, in a new process group) assigned to a Job
//! Object with `JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`, then resumed; exits are seen by a thread
//! blocked on the process handle; stop = `CTRL_BREAK_EVENT`, kill = `TerminateJobObject`.

use std::ffi::c_void;
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::ptr::{null, null_mut};

use tokio::sync::mpsc;
use windows_sys::Win32::Foundation::{
    CloseHandle, DUPLICATE_SAME_ACCESS, DuplicateHandle, HANDLE, HANDLE_FLAG_INHERIT,
    SetHandleInformation,
};
use windows_sys::Win32::Security::SECURITY_ATTRIBUTES;
use windows_sys::Win32::Storage::FileSystem::ReadFile;
use windows_sys::Win32::System::Console::{CTRL_BREAK_EVENT, GenerateConsoleCtrlEvent};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION, JobObjectExtendedLimitInformation,
    SetInformationJobObject, TerminateJobObject,
};
use windows_sys::Win32::System::Pipes::CreatePipe;
use windows_sys::Win32::System::Threading::{
    CREATE_NEW_PROCESS_GROUP, CREATE_SUSPENDED, CREATE_UNICODE_ENVIRONMENT, CreateProcessW,
    GetCurrentProcess, GetExitCodeProcess, INFINITE, PROCESS_INFORMATION, ResumeThread,
    STARTF_USESTDHANDLES, STARTUPINFOW, TerminateProcess, WaitForSingleObject,
};

use super::winargs::{command_line, environment_block};
use super::{SpawnSpec, Spawned};
use crate::machine::ExitInfo;
use crate::signal::Signal;

/// A handle that may cross threads (kernel handles are not tied to a thread).
#[derive(Debug)]
struct Owned(HANDLE);
// SAFETY: a Windows kernel handle may be used from any thread.
unsafe impl Send for Owned {}
// SAFETY: as above; the handle is only read.
unsafe impl Sync for Owned {}

impl Drop for Owned {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: we own the handle.
            unsafe { CloseHandle(self.0) };
        }
    }
}

/// What is kept of a running process: its handle and its Job Object.
#[derive(Debug)]
pub(crate) struct ProcHandle {
    pub pid: u32,
    process: Owned,
    job: Option<Owned>,
}

/// A child's stdout or stderr, read by a thread.
pub(crate) struct OutputPipe(mpsc::UnboundedReceiver<Vec<u8>>);

impl OutputPipe {
    /// Appends what is available to `out`, waiting for data; 0 at end of file.
    pub(crate) async fn read_into(&mut self, out: &mut Vec<u8>) -> io::Result<usize> {
        match self.0.recv().await {
            Some(data) => {
                out.extend_from_slice(&data);
                Ok(data.len())
            }
            None => Ok(0),
        }
    }
}

fn last_error() -> io::Error {
    io::Error::last_os_error()
}

fn wide(s: &std::ffi::OsStr) -> Vec<u16> {
    s.encode_wide().chain(std::iter::once(0)).collect()
}

/// An anonymous pipe whose write end the child inherits.
fn child_pipe() -> io::Result<(Owned, Owned)> {
    let sa = SECURITY_ATTRIBUTES {
        nLength: std::mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
        lpSecurityDescriptor: null_mut(),
        bInheritHandle: 1,
    };
    let mut read: HANDLE = null_mut();
    let mut write: HANDLE = null_mut();
    // SAFETY: valid out pointers and attributes.
    if unsafe { CreatePipe(&mut read, &mut write, &sa, 0) } == 0 {
        return Err(last_error());
    }
    let (read, write) = (Owned(read), Owned(write));
    // SAFETY: a handle we own.
    if unsafe { SetHandleInformation(read.0, HANDLE_FLAG_INHERIT, 0) } == 0 {
        return Err(last_error());
    }
    Ok((read, write))
}

fn reader_thread(read: Owned) -> OutputPipe {
    let (tx, rx) = mpsc::unbounded_channel();
    let _ = std::thread::Builder::new()
        .name("circle-output".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let read = read;
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let mut n: u32 = 0;
                // SAFETY: `buf` is valid for its length; synchronous read.
                let ok = unsafe {
                    ReadFile(
                        read.0,
                        buf.as_mut_ptr(),
                        buf.len() as u32,
                        &mut n,
                        null_mut(),
                    )
                };
                if ok == 0 || n == 0 || tx.send(buf[..n as usize].to_vec()).is_err() {
                    break;
                }
            }
        });
    OutputPipe(rx)
}

fn new_job(kill_on_close: bool) -> io::Result<Owned> {
    // SAFETY: an anonymous job with default security.
    let job = unsafe { CreateJobObjectW(null(), null()) };
    if job.is_null() {
        return Err(last_error());
    }
    let job = Owned(job);
    if kill_on_close {
        set_kill_on_close(&job, true)?;
    }
    Ok(job)
}

fn set_kill_on_close(job: &Owned, on: bool) -> io::Result<()> {
    // SAFETY: a zeroed limit structure is valid.
    let mut info: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
    if on {
        info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    }
    // SAFETY: the structure and its size match the information class.
    let ok = unsafe {
        SetInformationJobObject(
            job.0,
            JobObjectExtendedLimitInformation,
            &info as *const _ as *const c_void,
            std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
        )
    };
    if ok == 0 { Err(last_error()) } else { Ok(()) }
}

pub(crate) fn spawn(spec: &SpawnSpec, reaper: &Reaper) -> io::Result<Spawned> {
    if spec.uid.is_some() || spec.gid.is_some() {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "uid/gid are not supported on Windows (run circled as that user)",
        ));
    }
    // Unix-only settings: no Windows equivalent (a Job Object could cap memory, not files).
    let _ = (&spec.umask, &spec.rlimits, &spec.marker);
    let line = match &spec.raw_command_line {
        // cmd.exe has its own quoting rules: the shell line goes through untouched.
        Some(raw) => raw.clone(),
        None => command_line(&spec.program, &spec.args),
    };
    let mut cmdline: Vec<u16> = line.encode_utf16().chain(std::iter::once(0)).collect();
    let env = environment_block(&spec.env);
    let dir = spec.working_dir.as_ref().map(|d| wide(d.as_os_str()));
    let out = if spec.capture_stdout {
        Some(child_pipe()?)
    } else {
        None
    };
    let err = if spec.capture_stderr {
        Some(child_pipe()?)
    } else {
        None
    };
    // SAFETY: zeroed STARTUPINFOW/PROCESS_INFORMATION are valid initial values.
    let mut si: STARTUPINFOW = unsafe { std::mem::zeroed() };
    si.cb = std::mem::size_of::<STARTUPINFOW>() as u32;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = null_mut();
    si.hStdOutput = out.as_ref().map_or(null_mut(), |(_, w)| w.0);
    si.hStdError = err.as_ref().map_or(null_mut(), |(_, w)| w.0);
    let mut pi: PROCESS_INFORMATION = unsafe { std::mem::zeroed() };
    let job = new_job(spec.die_with_parent)?;
    // SAFETY: every pointer is valid for the duration of the call; `cmdline` is mutable as
    // CreateProcessW requires.
    let ok = unsafe {
        CreateProcessW(
            null(),
            cmdline.as_mut_ptr(),
            null(),
            null(),
            1,
            CREATE_SUSPENDED | CREATE_NEW_PROCESS_GROUP | CREATE_UNICODE_ENVIRONMENT,
            env.as_ptr() as *const c_void,
            dir.as_ref().map_or(null(), |d| d.as_ptr()),
            &si,
            &mut pi,
        )
    };
    // The child has its own copies of the write ends: close ours so EOF is seen.
    let out_read = out.map(|(r, _w)| r);
    let err_read = err.map(|(r, _w)| r);
    if ok == 0 {
        return Err(last_error());
    }
    let process = Owned(pi.hProcess);
    let thread = Owned(pi.hThread);
    // SAFETY: handles we own.
    let job = if unsafe { AssignProcessToJobObject(job.0, process.0) } != 0 {
        Some(job)
    } else {
        // Windows before 8 cannot nest jobs: if circled itself runs in a job, the child stays
        // in that one; trees are then killed process by process.
        None
    };
    // SAFETY: the primary thread handle we own.
    if unsafe { ResumeThread(thread.0) } == u32::MAX {
        let e = last_error();
        // SAFETY: our process handle.
        unsafe { TerminateProcess(process.0, 1) };
        return Err(e);
    }
    drop(thread);
    let pid = pi.dwProcessId;
    reaper.watch(pid, &process)?;
    Ok(Spawned {
        pid,
        handle: ProcHandle { pid, process, job },
        stdout: out_read.map(reader_thread),
        stderr: err_read.map(reader_thread),
    })
}

pub(crate) fn signal(h: &ProcHandle, sig: Signal, tree: bool) -> io::Result<()> {
    match sig {
        Signal::Kill => {
            // SAFETY: handles we own.
            let ok = match (&h.job, tree) {
                (Some(job), true) => unsafe { TerminateJobObject(job.0, 1) },
                _ => unsafe { TerminateProcess(h.process.0, 1) },
            };
            if ok == 0 { Err(last_error()) } else { Ok(()) }
        }
        Signal::Term | Signal::Int | Signal::Hup | Signal::Quit | Signal::Abrt => {
            // The child leads its own process group: CTRL_BREAK reaches it and its console
            // descendants (it needs a console shared with circled).
            // SAFETY: plain call.
            if unsafe { GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, h.pid) } == 0 {
                Err(last_error())
            } else {
                Ok(())
            }
        }
        other => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("SIG{other} has no Windows equivalent"),
        )),
    }
}

pub(crate) fn kill_tree_remains(h: &ProcHandle) {
    if let Some(job) = &h.job {
        // SAFETY: our job handle.
        unsafe { TerminateJobObject(job.0, 1) };
    }
}

pub(crate) fn release(h: ProcHandle) {
    // Closing a kill-on-close job would kill descendants that outlived the process; without
    // stop_children they are left alone, as on Unix.
    if let Some(job) = &h.job {
        let _ = set_kill_on_close(job, false);
    }
    drop(h);
}

pub(crate) fn become_subreaper() -> bool {
    false
}

pub(crate) fn sweep(_prefix: &str) {}

/// Windows needs no guard: `KILL_ON_JOB_CLOSE` takes every job's processes when circled dies.
pub(crate) struct Guard;

pub(crate) fn start_guard(_prefix: &str) -> Option<Guard> {
    None
}

impl Guard {
    pub(crate) fn dismiss(self) {}
}

/// Collects exits reported by one waiting thread per process.
pub(crate) struct Reaper {
    tx: mpsc::UnboundedSender<(u32, ExitInfo)>,
    rx: mpsc::UnboundedReceiver<(u32, ExitInfo)>,
    pending: Vec<(u32, ExitInfo)>,
}

impl Reaper {
    pub(crate) fn new(_reap_all: bool) -> io::Result<Reaper> {
        let (tx, rx) = mpsc::unbounded_channel();
        Ok(Reaper {
            tx,
            rx,
            pending: Vec::new(),
        })
    }

    fn watch(&self, pid: u32, process: &Owned) -> io::Result<()> {
        let mut dup: HANDLE = null_mut();
        // SAFETY: duplicating our own process handle.
        let ok = unsafe {
            DuplicateHandle(
                GetCurrentProcess(),
                process.0,
                GetCurrentProcess(),
                &mut dup,
                0,
                0,
                DUPLICATE_SAME_ACCESS,
            )
        };
        if ok == 0 {
            return Err(last_error());
        }
        let dup = Owned(dup);
        let tx = self.tx.clone();
        std::thread::Builder::new()
            .name("circle-wait".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                let dup = dup;
                // SAFETY: a handle this thread owns.
                unsafe { WaitForSingleObject(dup.0, INFINITE) };
                let mut code: u32 = 0;
                // SAFETY: valid out pointer.
                unsafe { GetExitCodeProcess(dup.0, &mut code) };
                let _ = tx.send((pid, ExitInfo::code(code as i32)));
            })?;
        Ok(())
    }

    pub(crate) async fn ready(&mut self) {
        if let Some(e) = self.rx.recv().await {
            self.pending.push(e);
        }
    }

    pub(crate) fn reap(&mut self, _pids: &[u32]) -> Vec<(u32, ExitInfo)> {
        while let Ok(e) = self.rx.try_recv() {
            self.pending.push(e);
        }
        std::mem::take(&mut self.pending)
    }
}
