//! Unix backend: fork/exec through `std::process::Command` with a minimal `pre_exec`
//! (only async-signal-safe calls), SIGCHLD-driven reaping, process groups and trees.

use std::collections::BTreeSet;
use std::ffi::CString;
use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};

use tokio::net::unix::pipe;
use tokio::signal::unix::{SignalKind, signal as unix_signal};

use super::{SpawnSpec, Spawned, proc_tree};
use crate::machine::ExitInfo;
use crate::signal::Signal;

/// What is kept of a running process.
#[derive(Debug, Clone)]
pub(crate) struct ProcHandle {
    pub pid: u32,
    marker: String,
}

/// The read end of a child's stdout or stderr.
pub(crate) struct OutputPipe(pipe::Receiver);

impl OutputPipe {
    /// Appends what is available to `out`, waiting for data; 0 at end of file.
    pub(crate) async fn read_into(&mut self, out: &mut Vec<u8>) -> io::Result<usize> {
        loop {
            self.0.readable().await?;
            let mut buf = [0u8; 16 * 1024];
            match self.0.try_read(&mut buf) {
                Ok(n) => {
                    out.extend_from_slice(&buf[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
    }
}

fn rlimit_resource(name: &str) -> Option<i32> {
    #[allow(clippy::useless_conversion, clippy::unnecessary_cast)]
    let r = match name {
        "as" => libc::RLIMIT_AS as i32,
        "core" => libc::RLIMIT_CORE as i32,
        "cpu" => libc::RLIMIT_CPU as i32,
        "data" => libc::RLIMIT_DATA as i32,
        "fsize" => libc::RLIMIT_FSIZE as i32,
        "memlock" => libc::RLIMIT_MEMLOCK as i32,
        "nofile" => libc::RLIMIT_NOFILE as i32,
        "nproc" => libc::RLIMIT_NPROC as i32,
        "rss" => libc::RLIMIT_RSS as i32,
        "stack" => libc::RLIMIT_STACK as i32,
        #[cfg(any(target_os = "linux", target_os = "android"))]
        "msgqueue" => libc::RLIMIT_MSGQUEUE as i32,
        #[cfg(any(target_os = "linux", target_os = "android"))]
        "nice" => libc::RLIMIT_NICE as i32,
        #[cfg(any(target_os = "linux", target_os = "android"))]
        "rtprio" => libc::RLIMIT_RTPRIO as i32,
        #[cfg(any(target_os = "linux", target_os = "android"))]
        "sigpending" => libc::RLIMIT_SIGPENDING as i32,
        _ => return None,
    };
    Some(r)
}

/// Resolves a user name or number: (uid, primary gid, name in the user database).
fn resolve_user(user: &str) -> io::Result<(u32, Option<u32>, Option<CString>)> {
    let lookup = |c: &CString, by_uid: Option<libc::uid_t>| {
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut buf = vec![0 as libc::c_char; 16 * 1024];
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call; the strings are copied out before
        // `buf` is dropped.
        let rc = unsafe {
            match by_uid {
                Some(uid) => {
                    libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result)
                }
                None => libc::getpwnam_r(
                    c.as_ptr(),
                    &mut pwd,
                    buf.as_mut_ptr(),
                    buf.len(),
                    &mut result,
                ),
            }
        };
        if rc == 0 && !result.is_null() {
            // SAFETY: pw_name points into `buf`, NUL-terminated.
            let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) }.to_owned();
            Some((pwd.pw_uid, pwd.pw_gid, name))
        } else {
            None
        }
    };
    let c = CString::new(user).map_err(|_| io::Error::other("user name with a NUL byte"))?;
    if let Some((uid, gid, name)) = lookup(&c, None) {
        return Ok((uid, Some(gid), Some(name)));
    }
    match user.parse::<u32>() {
        Ok(n) => Ok(match lookup(&c, Some(n)) {
            Some((uid, gid, name)) => (uid, Some(gid), Some(name)),
            None => (n, None, None),
        }),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("unknown user {user:?}"),
        )),
    }
}

fn resolve_group(group: &str) -> io::Result<u32> {
    let c = CString::new(group).map_err(|_| io::Error::other("group name with a NUL byte"))?;
    let mut grp: libc::group = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut result: *mut libc::group = std::ptr::null_mut();
    // SAFETY: as in resolve_user.
    let rc = unsafe {
        libc::getgrnam_r(
            c.as_ptr(),
            &mut grp,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc == 0 && !result.is_null() {
        return Ok(grp.gr_gid);
    }
    group
        .parse::<u32>()
        .map_err(|_| io::Error::new(io::ErrorKind::NotFound, format!("unknown group {group:?}")))
}

/// Who the child runs as, resolved before the fork.
struct Identity {
    uid: Option<libc::uid_t>,
    gid: Option<libc::gid_t>,
    /// Supplementary groups (the user's, from the group database), set when running as root.
    groups: Option<Vec<libc::gid_t>>,
}

fn euid() -> libc::uid_t {
    // SAFETY: no preconditions.
    unsafe { libc::geteuid() }
}

/// The groups `user` belongs to, with `gid` first.
fn group_list(user: &CString, gid: libc::gid_t) -> Vec<libc::gid_t> {
    let mut n: libc::c_int = 64;
    loop {
        let mut groups: Vec<libc::gid_t> = vec![0; n as usize];
        #[cfg(target_vendor = "apple")]
        // SAFETY: `groups` holds `n` entries; macOS takes and fills c_int group ids.
        let rc = unsafe {
            libc::getgrouplist(
                user.as_ptr(),
                gid as libc::c_int,
                groups.as_mut_ptr().cast(),
                &mut n,
            )
        };
        #[cfg(not(target_vendor = "apple"))]
        // SAFETY: `groups` holds `n` entries.
        let rc = unsafe { libc::getgrouplist(user.as_ptr(), gid, groups.as_mut_ptr(), &mut n) };
        if rc >= 0 {
            groups.truncate(n.max(0) as usize);
            return groups;
        }
        if n <= groups.len() as libc::c_int {
            n = groups.len() as libc::c_int * 2;
        }
        if n > 65536 {
            return vec![gid];
        }
    }
}

fn resolve_identity(user: Option<&str>, group: Option<&str>) -> io::Result<Option<Identity>> {
    if user.is_none() && group.is_none() {
        return Ok(None);
    }
    let mut id = Identity {
        uid: None,
        gid: None,
        groups: None,
    };
    let mut name: Option<CString> = None;
    if let Some(u) = user {
        let (uid, gid, pw_name) = resolve_user(u)?;
        id.uid = Some(uid);
        id.gid = gid;
        name = pw_name;
    }
    if let Some(g) = group {
        id.gid = Some(resolve_group(g)?);
    }
    if euid() == 0 {
        if let Some(gid) = id.gid {
            id.groups = Some(match &name {
                Some(n) => group_list(n, gid),
                None => vec![gid],
            });
        }
    } else if id.uid.is_some_and(|u| u != euid()) {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "running as user {:?} needs circled to run as root",
                user.unwrap_or("")
            ),
        ));
    }
    Ok(Some(id))
}

/// Refuses, before the fork, a limit above the hard limit when not root (setrlimit would fail
/// in the child with a bare EPERM).
fn check_rlimit(name: &str, res: i32, v: libc::rlim_t) -> io::Result<()> {
    if euid() == 0 {
        return Ok(());
    }
    let mut cur = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid out pointer.
    #[allow(clippy::useless_conversion)]
    let rc = unsafe { libc::getrlimit(res as _, &mut cur) };
    if rc == 0
        && cur.rlim_max != libc::RLIM_INFINITY
        && (v == libc::RLIM_INFINITY || v > cur.rlim_max)
    {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "rlimit_{name} above the hard limit {} needs root",
                cur.rlim_max
            ),
        ));
    }
    Ok(())
}

pub(crate) fn spawn(spec: &SpawnSpec, _reaper: &Reaper) -> io::Result<Spawned> {
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args);
    cmd.env_clear();
    cmd.envs(spec.env.iter().map(|(k, v)| (k, v)));
    if let Some(dir) = &spec.working_dir {
        cmd.current_dir(dir);
    }
    cmd.stdin(Stdio::null());
    cmd.stdout(if spec.capture_stdout {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    cmd.stderr(if spec.capture_stderr {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let identity = resolve_identity(spec.uid.as_deref(), spec.gid.as_deref())?;
    let mut limits: Vec<(i32, libc::rlim_t)> = Vec::new();
    for (name, value) in &spec.rlimits {
        let res = rlimit_resource(name).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::Unsupported,
                format!("rlimit_{name} is not supported on this OS"),
            )
        })?;
        #[allow(clippy::useless_conversion)]
        let v = value.map_or(libc::RLIM_INFINITY, |v| v as libc::rlim_t);
        check_rlimit(name, res, v)?;
        limits.push((res, v));
    }
    let umask = spec.umask;
    #[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
    let _ = spec.die_with_parent;
    #[cfg(any(target_os = "linux", target_os = "freebsd"))]
    let die_with_parent = spec.die_with_parent;
    #[cfg(any(target_os = "linux", target_os = "freebsd"))]
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the closure runs between fork and exec and only makes async-signal-safe calls
    // (setsid, umask, setrlimit, setgroups, setgid, setuid, prctl/procctl, getppid); it
    // allocates nothing (the group list was built before the fork).
    unsafe {
        cmd.pre_exec(move || {
            // A new session, hence a new process group named after the child: the whole tree
            // can be signalled, and a terminal's Ctrl-C does not reach it.
            if libc::setsid() == -1 {
                return Err(io::Error::last_os_error());
            }
            if let Some(m) = umask {
                libc::umask(m as libc::mode_t);
            }
            // Limits first: raising a hard limit needs the privileges dropped below.
            for &(res, v) in &limits {
                let lim = libc::rlimit {
                    rlim_cur: v,
                    rlim_max: v,
                };
                #[allow(clippy::useless_conversion)]
                if libc::setrlimit(res as _, &lim) == -1 {
                    return Err(io::Error::last_os_error());
                }
            }
            if let Some(id) = &identity {
                if let Some(groups) = &id.groups {
                    #[allow(clippy::useless_conversion)]
                    if libc::setgroups(groups.len() as _, groups.as_ptr()) == -1 {
                        return Err(io::Error::last_os_error());
                    }
                }
                if let Some(gid) = id.gid {
                    if libc::setgid(gid) == -1 {
                        return Err(io::Error::last_os_error());
                    }
                }
                if let Some(uid) = id.uid {
                    if libc::setuid(uid) == -1 {
                        return Err(io::Error::last_os_error());
                    }
                }
            }
            // After the identity change, which clears the parent-death signal.
            #[cfg(target_os = "linux")]
            if die_with_parent
                && libc::prctl(
                    libc::PR_SET_PDEATHSIG,
                    libc::SIGKILL as libc::c_ulong,
                    0,
                    0,
                    0,
                ) == -1
            {
                return Err(io::Error::last_os_error());
            }
            // FreeBSD 11.2+: the same parent-death signal, through procctl.
            #[cfg(target_os = "freebsd")]
            if die_with_parent {
                let mut sig: libc::c_int = libc::SIGKILL;
                if libc::procctl(
                    libc::P_PID,
                    0,
                    libc::PROC_PDEATHSIG_CTL,
                    (&mut sig as *mut libc::c_int).cast(),
                ) == -1
                {
                    return Err(io::Error::last_os_error());
                }
            }
            // The supervisor may have died before that: then nobody would signal us.
            #[cfg(any(target_os = "linux", target_os = "freebsd"))]
            if die_with_parent && libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    let pid = child.id();
    let stdout = match child.stdout.take() {
        Some(s) => Some(OutputPipe(pipe::Receiver::from_owned_fd(s.into())?)),
        None => None,
    };
    let stderr = match child.stderr.take() {
        Some(s) => Some(OutputPipe(pipe::Receiver::from_owned_fd(s.into())?)),
        None => None,
    };
    // `child` is dropped without waiting: the Reaper collects its exit status.
    Ok(Spawned {
        pid,
        handle: ProcHandle {
            pid,
            marker: spec.marker.clone(),
        },
        stdout,
        stderr,
    })
}

fn kill(pid: i32, sig: i32) -> io::Result<()> {
    // SAFETY: kill has no memory-safety preconditions.
    if unsafe { libc::kill(pid, sig) } == 0 {
        Ok(())
    } else {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ESRCH) {
            Ok(())
        } else {
            Err(e)
        }
    }
}

fn self_pid() -> u32 {
    std::process::id()
}

/// The members of `h`'s tree, leader included when alive.
fn tree(h: &ProcHandle) -> BTreeSet<u32> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let root = Path::new("/proc");
        let entries = proc_tree::scan(root);
        let me = self_pid();
        let plain = proc_tree::tree_members(&entries, h.pid, &BTreeSet::new(), me);
        // Processes outside the session/group/descendants that carry the marker: double-forked.
        let candidates = entries
            .iter()
            .filter(|e| !plain.contains(&e.pid) && e.pid != me && e.pid > 2 && e.ppid != 2)
            .map(|e| e.pid);
        let key = format!("CIRCLE_PROCESS={}", h.marker);
        let marked = proc_tree::marked(root, candidates, &key, false);
        proc_tree::tree_members(&entries, h.pid, &marked, me)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = (Path::new("/"), &h.marker, self_pid);
        let _ = proc_tree::environ_has;
        BTreeSet::new()
    }
}

fn signal_tree(h: &ProcHandle, sig: i32) -> io::Result<()> {
    let members = tree(h);
    let r = kill(-(h.pid as i32), sig);
    for p in members {
        if p != h.pid {
            let _ = kill(p as i32, sig);
        }
    }
    let _ = kill(h.pid as i32, sig);
    r
}

pub(crate) fn signal(h: &ProcHandle, sig: Signal, tree: bool) -> io::Result<()> {
    if tree {
        signal_tree(h, sig.number())
    } else {
        kill(h.pid as i32, sig.number())
    }
}

pub(crate) fn kill_tree_remains(h: &ProcHandle) {
    let _ = signal_tree(h, libc::SIGKILL);
}

pub(crate) fn release(_h: ProcHandle) {}

/// Makes this process adopt orphaned descendants (Linux `PR_SET_CHILD_SUBREAPER`).
pub(crate) fn become_subreaper() -> bool {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // SAFETY: prctl with integer arguments.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) == 0 }
    }
    #[cfg(target_os = "freebsd")]
    {
        // SAFETY: procctl on this process with no data.
        unsafe {
            libc::procctl(
                libc::P_PID,
                libc::getpid() as libc::id_t,
                libc::PROC_REAP_ACQUIRE,
                std::ptr::null_mut(),
            ) == 0
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    {
        false
    }
}

/// Kills every process still carrying a marker that starts with `prefix`.
pub(crate) fn sweep(prefix: &str) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let root = Path::new("/proc");
        let me = self_pid();
        let entries = proc_tree::scan(root);
        let candidates = entries
            .iter()
            .filter(|e| e.pid != me && e.pid > 2 && e.ppid != 2)
            .map(|e| e.pid);
        let key = format!("CIRCLE_PROCESS={prefix}");
        for pid in proc_tree::marked(root, candidates, &key, true) {
            let _ = kill(pid as i32, libc::SIGKILL);
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = prefix;
    }
}

/// The guard: a tiny shell process, in its own process group, that waits for the supervisor to
/// die (end of file on its standard input, whose write end only the supervisor holds) and then
/// kills every process carrying the supervisor's marker. The parent-death signal reaches only
/// the direct children; the guard gets their descendants too (e.g. what `sh -c` started).
/// A shell and `grep` rather than a fork of the supervisor: nothing but exec runs after fork.
pub(crate) struct Guard {
    child: std::process::Child,
}

/// The guard's script: `$1` is the fixed string to look for in `/proc/PID/environ`.
const GUARD_SCRIPT: &str = r#"read _
for pass in 1 2; do
  for f in $(grep -l -F "$1" /proc/[0-9]*/environ 2>/dev/null); do
    p=${f#/proc/}; kill -9 "${p%/environ}" 2>/dev/null
  done
done"#;

/// Starts the guard (Linux, where `/proc` shows environments); `None` elsewhere or on failure.
pub(crate) fn start_guard(prefix: &str) -> Option<Guard> {
    if !cfg!(any(target_os = "linux", target_os = "android")) {
        return None;
    }
    let child = Command::new("/bin/sh")
        .arg("-c")
        .arg(GUARD_SCRIPT)
        .arg("circle-guard")
        .arg(format!("CIRCLE_PROCESS={prefix}"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin:/usr/sbin:/sbin")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Out of the supervisor's group: a kill of that group leaves the guard to clean up.
        .process_group(0)
        .spawn()
        .ok()?;
    Some(Guard { child })
}

impl Guard {
    /// The supervisor shut down cleanly: the guard is not needed any more.
    pub(crate) fn dismiss(mut self) {
        let _ = self.child.kill();
        let _ = self.child.try_wait();
    }
}

/// Waits for SIGCHLD and collects exit statuses.
pub(crate) struct Reaper {
    sigchld: tokio::signal::unix::Signal,
    reap_all: bool,
}

fn exit_info(status: i32) -> ExitInfo {
    let st = std::process::ExitStatus::from_raw(status);
    match (st.code(), st.signal()) {
        (_, Some(s)) => ExitInfo::signal(s),
        (Some(c), None) => ExitInfo::code(c),
        (None, None) => ExitInfo::code(-1),
    }
}

impl Reaper {
    /// `reap_all`: collect every child (a subreaper must, or adopted orphans stay zombies);
    /// otherwise only the pids asked for, so an embedding program's own children are left alone.
    pub(crate) fn new(reap_all: bool) -> io::Result<Reaper> {
        Ok(Reaper {
            sigchld: unix_signal(SignalKind::child())?,
            reap_all,
        })
    }

    /// Returns when a child may have exited.
    pub(crate) async fn ready(&mut self) {
        if self.sigchld.recv().await.is_none() {
            std::future::pending::<()>().await;
        }
    }

    /// Collects the exits that happened, without blocking.
    pub(crate) fn reap(&mut self, pids: &[u32]) -> Vec<(u32, ExitInfo)> {
        let mut out = Vec::new();
        if self.reap_all {
            loop {
                let mut status = 0;
                // SAFETY: waitpid with a valid out pointer.
                let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
                if pid <= 0 {
                    break;
                }
                out.push((pid as u32, exit_info(status)));
            }
        } else {
            for &p in pids {
                let mut status = 0;
                // SAFETY: as above.
                let pid = unsafe { libc::waitpid(p as i32, &mut status, libc::WNOHANG) };
                if pid > 0 {
                    out.push((pid as u32, exit_info(status)));
                }
            }
        }
        out
    }
}
