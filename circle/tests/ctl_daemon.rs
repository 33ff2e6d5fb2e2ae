//! `circled --daemon`: detaching, readiness, the pidfile, a second instance, a stale pidfile;
//! `reopen` after logrotate; `tail -f`.
#![cfg(target_os = "linux")]

mod ctl_support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use ctl_support::*;

const CHATTY: &str = "
[watcher:chatty]
cmd = sh -c 'i=0; while true; do i=$((i+1)); echo line-$i; sleep 0.02; done'
stdout_stream.class = StdoutStream
graceful_timeout = 5

[watcher:filed]
cmd = sh -c 'i=0; while true; do i=$((i+1)); echo out-$i; sleep 0.02; done'
stdout_stream.class = FileStream
stdout_stream.filename = filed.log
graceful_timeout = 5
";

fn launch(c: &Circled, config: &std::path::Path, extra: &[&str]) -> Output {
    Command::new(CIRCLED)
        .arg("-c")
        .arg(config)
        .arg("--daemon")
        .args(extra)
        .current_dir(c.dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("run circled --daemon")
}

fn stat(pid: u32) -> circle::procstat::LinuxStat {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    circle::procstat::parse_linux_stat(&s).unwrap()
}

#[test]
fn daemon_detaches_writes_pidfile_and_refuses_a_second_instance() {
    let mut c = Circled::prepare("[watcher:w]\ncmd = sleep 3600\n");
    let pidfile = c.path("run/circled.pid");
    let log = c.path("circled.log");
    let o = launch(
        &c,
        &c.config,
        &[
            "--pidfile",
            "run/circled.pid",
            "--log-output",
            "circled.log",
        ],
    );
    assert!(o.status.success(), "{o:?}");
    // Ready means ready: the pidfile, the socket and the watcher are there when it returns.
    let pid =
        circle::daemon::read_pid(&pidfile).expect("pidfile written before the launcher exits");
    c.pid = Some(pid);
    assert!(c.sock.exists(), "socket not there yet");
    c.wait_running("w", 1);

    let st = stat(pid);
    assert_eq!(st.session, pid, "the daemon leads a new session");
    assert_eq!(st.tty_nr, 0, "the daemon has no controlling terminal");
    let our_sid = stat(std::process::id()).session;
    assert_ne!(st.session, our_sid);
    let fd = |n: u32| std::fs::read_link(format!("/proc/{pid}/fd/{n}")).unwrap();
    assert_eq!(fd(0), std::path::Path::new("/dev/null"));
    assert_eq!(fd(1), log);
    assert_eq!(fd(2), log);

    // A second instance on the same pidfile (another config, another socket): refused.
    let other = c.path("other.ini");
    std::fs::write(
        &other,
        "[circle]\nendpoint = other.sock\n[watcher:x]\ncmd = sleep 3600\n",
    )
    .unwrap();
    let o = launch(&c, &other, &["--pidfile", "run/circled.pid"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("already running (pid {pid})")),
        "{err}"
    );
    assert!(!c.path("other.sock").exists());
    // ... and on the same endpoint (another pidfile), daemon or not.
    let o = launch(&c, &c.config, &["--pidfile", "run/second.pid"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("already running (pid {pid})")),
        "{err}"
    );
    assert!(
        !c.path("run/second.pid").exists(),
        "refused instance left its pidfile"
    );
    let o = Command::new(CIRCLED)
        .arg("-c")
        .arg(&c.config)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains(&format!("already running (pid {pid})")));
    // Nothing was disturbed, nothing was started twice.
    assert_eq!(c.pids("w").len(), 1);
    assert_eq!(circle::daemon::read_pid(&pidfile), Some(pid));

    // quit: everything stops, the pidfile and the socket go.
    let w = c.pids("w");
    c.ok(&["quit"]);
    wait_for("the daemon to exit", || (!alive(pid)).then_some(()));
    assert!(!alive(w[0]));
    assert!(!pidfile.exists(), "pidfile left behind");
    assert!(!c.sock.exists(), "socket left behind");
}

#[test]
fn stale_pidfile_is_replaced_and_failures_reach_the_launcher() {
    let mut c = Circled::prepare("[watcher:w]\ncmd = sleep 3600\n");
    // A dead pid: a child of ours, reaped.
    let mut child = Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    std::fs::write(c.path("c.pid"), format!("{dead}\n")).unwrap();
    let o = launch(
        &c,
        &c.config,
        &["--pidfile", "c.pid", "--log-output", "c.log"],
    );
    assert!(o.status.success(), "{o:?}");
    let pid = circle::daemon::read_pid(&c.path("c.pid")).unwrap();
    c.pid = Some(pid);
    assert_ne!(pid, dead);
    let log = c.path("c.log");
    wait_for("the stale-pidfile log line", || {
        c.log_contains(
            &log,
            &format!("replacing stale pidfile {}", c.path("c.pid").display()),
        )
        .then_some(())
    });
    c.ok(&["quit"]);
    wait_for("the daemon to exit", || (!alive(pid)).then_some(()));

    // An invalid configuration is refused before detaching, with its file:line.
    std::fs::write(
        &c.config,
        "[watcher:w]\ncmd = sleep 3600\nnumprocesses = lots\n",
    )
    .unwrap();
    let o = launch(&c, &c.config, &["--pidfile", "c.pid"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("{}:3:", c.config.display())), "{err}");
    assert!(!c.path("c.pid").exists());

    // A daemon that cannot start says why, through the launcher, which exits non-zero.
    std::fs::write(
        &c.config,
        "[circle]\nendpoint = ctl.sock\ntcp_endpoint = 10.0.0.1:1\ntoken = t\n",
    )
    .unwrap();
    let o = launch(&c, &c.config, &["--pidfile", "c.pid"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("loopback"), "{err}");
    assert!(!c.path("c.pid").exists());
}

#[test]
fn reopen_after_logrotate_and_tail_follow() {
    let mut c = Circled::prepare(CHATTY);
    let o = launch(&c, &c.config, &["--log-output", "circled.log"]);
    assert!(o.status.success(), "{o:?}");
    c.pid = Some(
        circle::daemon::read_pid(&c.sock.with_extension("pid"))
            .expect("default pidfile beside the socket"),
    );
    let log = c.path("circled.log");
    let filed = c.path("filed.log");
    wait_for("output in both logs", || {
        (c.log_contains(&log, "line-") && c.log_contains(&filed, "out-")).then_some(())
    });

    // logrotate: move both files away, then `reopen`.
    std::fs::rename(&log, c.path("circled.log.1")).unwrap();
    std::fs::rename(&filed, c.path("filed.log.1")).unwrap();
    c.ok(&["reopen"]);
    wait_for("new lines in the reopened logs", || {
        (c.log_contains(&log, "line-") && c.log_contains(&filed, "out-")).then_some(())
    });
    // The watchers were not restarted for it.
    let w = c.watcher("chatty").unwrap();
    assert_eq!(w["processes"][0]["restarts"], 0);

    // tail -f: a live stream, in order, nothing lost.
    let mut tail = Command::new(CIRCLECTL)
        .args(["--endpoint"])
        .arg(&c.sock)
        .args(["tail", "-f", "chatty"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(tail.stdout.take().unwrap()).lines();
    let mut nums = Vec::new();
    while nums.len() < 60 {
        let l = lines.next().expect("tail -f ended").unwrap();
        if let Some(n) = l.strip_prefix("line-") {
            nums.push(n.parse::<u64>().unwrap());
        }
    }
    let _ = tail.kill();
    let _ = tail.wait();
    for pair in nums.windows(2) {
        assert_eq!(pair[1], pair[0] + 1, "gap or disorder in tail -f: {nums:?}");
    }
    // circled does not mind the follower going away.
    c.ok(&["status"]);
}

#[test]
fn log_flags_override_the_configuration() {
    let mut c = Circled::prepare(
        "logoutput = config.log\nloglevel = debug\n\n[watcher:w]\ncmd = sleep 3600\n",
    );
    let child = Command::new(CIRCLED)
        .arg("-c")
        .arg(&c.config)
        .args(["--log-output", "flags.log", "--log-level", "warning"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    c.pid = Some(child.id());
    c.child = Some(child);
    c.wait_ready();
    c.wait_running("w", 1);
    assert!(c.path("flags.log").exists(), "--log-output not used");
    assert!(!c.path("config.log").exists(), "logoutput not overridden");
    // The start is logged at INFO: below --log-level warning.
    assert!(!c.log_contains(&c.path("flags.log"), "circled started"));
    // A refused reload is an ERROR: it gets through.
    std::fs::write(&c.config, "[watcher:w]\ncmd = sleep 3600\nbogus = 1\n").unwrap();
    kill(c.pid.unwrap(), libc::SIGHUP);
    wait_for("the refusal in flags.log", || {
        c.log_contains(&c.path("flags.log"), "reload refused")
            .then_some(())
    });
    // SIGTERM: everything stops, exit 0.
    let w = c.pids("w");
    kill(c.pid.unwrap(), libc::SIGTERM);
    let status = wait_for("circled to exit", || {
        c.child.as_mut().unwrap().try_wait().unwrap()
    });
    assert!(status.success(), "{status:?}");
    assert!(!alive(w[0]));
}
