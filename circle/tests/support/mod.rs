//! Helpers for circle-core's end-to-end tests: deadlines instead of sleeps, process checks
//! from `/proc` (an independent source), and guards that kill whatever a test started.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Generous: the machine is small and shared.
pub const DEADLINE: Duration = Duration::from_secs(60);

pub const CIRCLED: &str = env!("CARGO_BIN_EXE_circled");

/// Polls `cond` until it holds or the deadline passes; returns its last value.
pub fn wait_for<T>(what: &str, cond: impl FnMut() -> Option<T>) -> T {
    wait_for_or(what, cond, String::new)
}

/// [`wait_for`], printing `context()` on failure.
pub fn wait_for_or<T>(
    what: &str,
    mut cond: impl FnMut() -> Option<T>,
    context: impl Fn() -> String,
) -> T {
    let end = Instant::now() + DEADLINE;
    loop {
        if let Some(v) = cond() {
            return v;
        }
        assert!(
            Instant::now() < end,
            "timed out waiting for {what}\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The state letter of a process from `/proc/PID/stat` (`None` when it does not exist).
pub fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.trim_start().chars().next()
}

/// Field `n` (1-based, as in proc(5)) of `/proc/PID/stat`.
pub fn stat_field(pid: u32, n: usize) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(n - 3)?.parse().ok()
}

/// Alive and not a zombie.
pub fn alive(pid: u32) -> bool {
    matches!(proc_state(pid), Some(s) if s != 'Z' && s != 'X')
}

/// Children of `parent` that are zombies.
pub fn zombie_children(parent: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if stat_field(pid, 4) == Some(i64::from(parent)) && proc_state(pid) == Some('Z') {
            out.push(pid);
        }
    }
    out
}

pub fn kill(pid: u32, sig: i32) {
    // SAFETY: plain syscall.
    unsafe { libc::kill(pid as i32, sig) };
}

/// Reads a pid written by a test process.
pub fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Kills every listed pid (and its process group) when dropped.
#[derive(Default)]
pub struct Reaper {
    pub pids: Vec<u32>,
    pub children: Vec<Child>,
}

impl Drop for Reaper {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for &p in &self.pids {
            if p > 1 {
                // SAFETY: plain syscalls on pids this test started.
                unsafe {
                    libc::kill(-(p as i32), libc::SIGKILL);
                    libc::kill(p as i32, libc::SIGKILL);
                }
            }
        }
    }
}

/// Starts `circled -c config` with its output in `dir/circled.out`.
pub fn start_circled(config: &Path, dir: &Path, env: &[(&str, &str)]) -> Child {
    let out = std::fs::File::create(dir.join("circled.out")).unwrap();
    let mut cmd = Command::new(CIRCLED);
    cmd.arg("-c")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .env("CIRCLE_LOG", "debug");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

/// Waits for a child to exit, with the deadline.
pub fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    wait_for("circled to exit", || child.try_wait().unwrap())
}

/// A shell command that writes its pid to `dir/NAME.$(circle.wid).pid` then becomes `rest`.
pub fn pid_cmd(dir: &Path, name: &str, rest: &str) -> String {
    format!(
        "sh -c 'echo $$ > {}/{name}.$(circle.wid).pid; exec {rest}'",
        dir.display()
    )
}

pub fn pid_file(dir: &Path, name: &str, wid: usize) -> PathBuf {
    dir.join(format!("{name}.{wid}.pid"))
}

/// A `[circle]` section with a control socket of the test's own (so tests running at the same
/// time do not meet on the default endpoint), plus `extra` lines.
pub fn circle_section(dir: &Path, extra: &str) -> String {
    format!(
        "[circle]\nendpoint = {}/circled.sock\n{extra}\n",
        dir.display()
    )
}
