//! Shared by the `ctl_*` end-to-end tests: a `circled` in a temporary directory, driven with
//! the real `circlectl`, killed (with everything it started) when dropped.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const CIRCLED: &str = env!("CARGO_BIN_EXE_circled");
pub const CIRCLECTL: &str = env!("CARGO_BIN_EXE_circlectl");

/// Generous: the machine is small and shared.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Polls `f` until it returns `Some`, failing the test with `what` at the deadline.
pub fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + DEADLINE;
    let mut pause = Duration::from_millis(5);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

pub fn alive(pid: u32) -> bool {
    // A zombie still answers kill(0); /proc says what it is.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => circle::procstat::parse_linux_stat(&s).is_some_and(|st| st.state != 'Z'),
        Err(_) => false,
    }
}

/// The start time (clock ticks after boot) of a process: with the pid, its identity.
pub fn start_time(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    circle::procstat::parse_linux_stat(&s).map(|st| st.starttime)
}

pub fn kill(pid: u32, sig: i32) {
    // SAFETY: sending a signal to a pid this test started (directly or through circled).
    unsafe {
        libc::kill(pid as i32, sig);
    }
}

pub struct Circled {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub sock: PathBuf,
    pub child: Option<Child>,
    /// The pid to kill on drop (the daemon's, for `--daemon`).
    pub pid: Option<u32>,
    /// Every pid seen in a status, killed on drop in case circled could not.
    /// (pid, start time): only killed if still the same process.
    pub seen: std::cell::RefCell<Vec<(u32, Option<u64>)>>,
}

impl Circled {
    /// A directory with `main.ini` = `[circle] endpoint = ctl.sock` + `body`; not started.
    pub fn prepare(body: &str) -> Circled {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("main.ini");
        std::fs::write(&config, format!("[circle]\nendpoint = ctl.sock\n{body}")).unwrap();
        let sock = dir.path().join("ctl.sock");
        Circled {
            dir,
            config,
            sock,
            child: None,
            pid: None,
            seen: Default::default(),
        }
    }

    /// `circled -c main.ini` in the foreground, ready (answering `status`).
    pub fn start(body: &str) -> Circled {
        let mut c = Circled::prepare(body);
        c.spawn_foreground();
        c
    }

    pub fn spawn_foreground(&mut self) {
        let out = std::fs::File::create(self.dir.path().join("circled.out")).unwrap();
        let err = out.try_clone().unwrap();
        let child = Command::new(CIRCLED)
            .arg("-c")
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn circled");
        self.pid = Some(child.id());
        self.child = Some(child);
        self.wait_ready();
    }

    pub fn wait_ready(&self) {
        wait_for("circled to answer", || {
            if let Some(pid) = self.pid {
                assert!(alive(pid), "circled exited: {}", self.output());
            }
            let o = self.ctl(&["list"]);
            o.status.success().then_some(())
        });
    }

    pub fn output(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("circled.out")).unwrap_or_default()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) {
        let p = self.path(name);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(p, text).unwrap();
    }

    /// `circlectl --endpoint ctl.sock ARGS`.
    pub fn ctl(&self, args: &[&str]) -> Output {
        Command::new(CIRCLECTL)
            .arg("--endpoint")
            .arg(&self.sock)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run circlectl")
    }

    /// Runs circlectl, asserting success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.ctl(args);
        assert!(
            o.status.success(),
            "circlectl {args:?} failed: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }

    /// Runs circlectl, asserting failure with one line on stderr; returns it.
    pub fn fails(&self, args: &[&str]) -> String {
        let o = self.ctl(args);
        let err = String::from_utf8(o.stderr).unwrap();
        assert!(!o.status.success(), "circlectl {args:?} should fail");
        assert!(
            !err.trim().is_empty(),
            "circlectl {args:?}: nothing on stderr"
        );
        err
    }

    pub fn status(&self) -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_str(&self.ok(&["status", "--json"])).unwrap();
        for w in v.as_array().unwrap() {
            for p in w["processes"].as_array().unwrap() {
                if let Some(pid) = p["pid"].as_u64() {
                    let pid = pid as u32;
                    self.seen.borrow_mut().push((pid, start_time(pid)));
                }
            }
        }
        v
    }

    pub fn watcher(&self, name: &str) -> Option<serde_json::Value> {
        self.status()
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["name"] == name)
            .cloned()
    }

    /// The pids of a watcher's running processes, sorted.
    pub fn pids(&self, name: &str) -> Vec<u32> {
        let mut v: Vec<u32> = self
            .watcher(name)
            .map(|w| {
                w["processes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|p| p["state"] == "running")
                    .filter_map(|p| p["pid"].as_u64().map(|x| x as u32))
                    .collect()
            })
            .unwrap_or_default();
        v.sort_unstable();
        v
    }

    /// Waits until `name` runs exactly `n` processes and returns their pids.
    pub fn wait_running(&self, name: &str, n: usize) -> Vec<u32> {
        wait_for(&format!("{name} to run {n} processes"), || {
            let p = self.pids(name);
            (p.len() == n).then_some(p)
        })
    }

    pub fn log_contains(&self, file: &Path, needle: &str) -> bool {
        std::fs::read_to_string(file).is_ok_and(|t| t.contains(needle))
    }
}

impl Drop for Circled {
    fn drop(&mut self) {
        if let Some(pid) = self.pid {
            kill(pid, libc::SIGTERM);
            let end = Instant::now() + Duration::from_secs(20);
            while alive(pid) && Instant::now() < end {
                if let Some(c) = &mut self.child {
                    if matches!(c.try_wait(), Ok(Some(_))) {
                        break;
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            if alive(pid) {
                kill(pid, libc::SIGKILL);
            }
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        for &(pid, start) in self.seen.borrow().iter() {
            if alive(pid) && start.is_some() && start_time(pid) == start {
                kill(pid, libc::SIGKILL);
            }
        }
    }
}
