//! Every `circlectl` command against an existing and a missing watcher, with the real binaries.
#![cfg(target_os = "linux")]

mod ctl_support;

use ctl_support::*;

const BODY: &str = "
[watcher:web]
cmd = sleep 3600
numprocesses = 2
graceful_timeout = 5

[watcher:chatty]
cmd = sh -c 'i=0; while true; do i=$((i+1)); echo line-$i; sleep 0.05; done'
stdout_stream.class = StdoutStream
graceful_timeout = 5
";

fn assert_unknown(c: &Circled, args: &[&str]) {
    let err = c.fails(args);
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(err.contains("unknown watcher \"ghost\""), "{args:?}: {err}");
}

#[test]
fn every_command_on_existing_and_missing_watchers() {
    let c = Circled::start(BODY);
    let web = c.wait_running("web", 2);

    // list
    assert_eq!(c.ok(&["list"]), "web\nchatty\n");

    // status (table and one watcher)
    let table = c.ok(&["status"]);
    assert!(table.starts_with("WATCHER"), "{table}");
    for pid in &web {
        assert!(table.contains(&pid.to_string()), "{table}");
    }
    let one = c.ok(&["status", "web"]);
    assert!(!one.contains("chatty"), "{one}");
    assert_unknown(&c, &["status", "ghost"]);

    // signal: STOP then CONT are seen in /proc (state T), and unknown signals are refused.
    c.ok(&["signal", "web", "STOP"]);
    wait_for("web to be stopped by SIGSTOP", || {
        web.iter()
            .all(|&p| {
                std::fs::read_to_string(format!("/proc/{p}/stat"))
                    .ok()
                    .and_then(|s| circle::procstat::parse_linux_stat(&s))
                    .is_some_and(|s| s.state == 'T')
            })
            .then_some(())
    });
    c.ok(&["signal", "web", "SIGCONT"]);
    assert_unknown(&c, &["signal", "ghost", "HUP"]);
    let err = c.fails(&["signal", "web", "NOPE"]);
    assert!(err.contains("unknown signal"), "{err}");

    // incr / decr print the new count and change the processes.
    assert_eq!(c.ok(&["incr", "web"]), "3\n");
    c.wait_running("web", 3);
    assert_eq!(c.ok(&["decr", "web", "2"]), "1\n");
    let left = c.wait_running("web", 1);
    assert!(web.contains(&left[0]) || !web.is_empty());
    assert_unknown(&c, &["incr", "ghost"]);
    assert_unknown(&c, &["decr", "ghost", "3"]);

    // stop / start / restart
    c.ok(&["stop", "web"]);
    wait_for("web to stop", || c.pids("web").is_empty().then_some(()));
    let w = c.watcher("web").unwrap();
    assert_eq!(w["state"], "stopped", "{w}");
    c.ok(&["start", "web"]);
    let before = c.wait_running("web", 1);
    c.ok(&["restart", "web"]);
    let after = wait_for("web to restart", || {
        let p = c.pids("web");
        (p.len() == 1 && p != before).then_some(p)
    });
    assert!(!alive(before[0]), "old process still alive");
    assert_ne!(before, after);
    for cmd in ["start", "stop", "restart"] {
        assert_unknown(&c, &[cmd, "ghost"]);
    }
    // --all
    c.ok(&["stop", "--all"]);
    wait_for("all to stop", || {
        (c.pids("web").is_empty() && c.pids("chatty").is_empty()).then_some(())
    });
    c.ok(&["start", "--all"]);
    c.wait_running("web", 1);
    c.wait_running("chatty", 1);
    // Neither a name nor --all: a usage error.
    assert!(!c.ctl(&["start"]).status.success());

    // tail: the captured output of a watcher
    let out = wait_for("chatty output", || {
        let o = c.ok(&["tail", "chatty"]);
        o.contains("line-").then_some(o)
    });
    assert!(out.lines().all(|l| l.starts_with("line-")), "{out}");
    assert_unknown(&c, &["tail", "ghost"]);

    // add / rm
    c.ok(&[
        "add",
        "extra",
        "--cmd",
        "sleep",
        "--args",
        "3600",
        "--numprocesses",
        "2",
        "--start",
    ]);
    c.wait_running("extra", 2);
    let err = c.fails(&["add", "extra", "--cmd", "sleep 1"]);
    assert!(err.contains("already exists"), "{err}");
    c.ok(&["add", "later", "--cmd", "sleep 3600"]);
    assert!(c.ok(&["list"]).contains("later"));
    assert!(
        c.pids("later").is_empty(),
        "added without --start: not running"
    );
    let extra = c.pids("extra");
    c.ok(&["rm", "extra"]);
    assert!(!c.ok(&["list"]).contains("extra\n"));
    wait_for("removed watcher's processes to end", || {
        extra.iter().all(|&p| !alive(p)).then_some(())
    });
    assert_unknown(&c, &["rm", "ghost"]);

    // reopen has nothing to reopen here but succeeds
    c.ok(&["reopen"]);

    // quit: returns once circled has stopped everything and exited
    let all: Vec<u32> = [c.pids("web"), c.pids("chatty")].concat();
    c.ok(&["quit"]);
    let pid = c.pid.unwrap();
    wait_for("circled to exit", || (!alive(pid)).then_some(()));
    for p in all {
        assert!(!alive(p), "watcher process {p} survived quit");
    }
    assert!(!c.sock.exists(), "socket left behind");
    let err = c.fails(&["status"]);
    assert!(
        err.starts_with(&format!(
            "circlectl: cannot reach circled at {}: ",
            c.sock.display()
        )),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
}

#[test]
fn status_json_schema() {
    let c = Circled::start(
        "
[watcher:web]
cmd = sleep 3600

[watcher:crash]
cmd = sh -c 'exit 3'
max_retry = 0
",
    );
    let pid = c.wait_running("web", 1)[0];
    // crash: fails after its first death; its slot reports exit code 3.
    let crash = wait_for("crash to fail", || {
        c.watcher("crash").filter(|w| w["state"] == "failed")
    });
    let v = c.status();
    let ws = v.as_array().unwrap();
    assert_eq!(ws.len(), 2);
    for w in ws {
        let o = w.as_object().unwrap();
        for k in ["name", "state", "numprocesses", "processes"] {
            assert!(o.contains_key(k), "{k} missing in {w}");
        }
        for p in w["processes"].as_array().unwrap() {
            let p = p.as_object().unwrap();
            for k in [
                "wid",
                "pid",
                "state",
                "uptime_secs",
                "restarts",
                "last_exit_code",
                "last_exit_signal",
                "cpu_percent",
                "rss_bytes",
            ] {
                assert!(p.contains_key(k), "{k} missing in {p:?}");
            }
        }
    }
    let web = &ws[0];
    assert_eq!(web["name"], "web");
    assert_eq!(web["numprocesses"], 1);
    let p = &web["processes"][0];
    assert_eq!(p["pid"].as_u64(), Some(u64::from(pid)));
    assert_eq!(p["wid"], 1);
    assert_eq!(p["state"], "running");
    assert!(p["uptime_secs"].as_f64().unwrap() >= 0.0);
    // RSS compared with an independent source: /proc/PID/status VmRSS.
    let rss = p["rss_bytes"].as_u64().unwrap();
    let vmrss_kb: u64 = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap();
    assert_eq!(rss / 1024, vmrss_kb, "rss {rss} vs VmRSS {vmrss_kb} kB");
    assert!(p["cpu_percent"].as_f64().unwrap() < 50.0);
    assert!(crash["reason"].is_string(), "{crash}");
    assert_eq!(crash["processes"][0]["last_exit_code"], 3, "{crash}");
    assert!(crash["processes"][0]["pid"].is_null());
}
