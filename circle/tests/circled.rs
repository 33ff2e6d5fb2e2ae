//! End-to-end tests of the `circled` binary with real processes.
#![cfg(target_os = "linux")]

mod support;

use std::path::Path;

use support::*;

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

fn pids(dir: &Path, name: &str, n: usize) -> Vec<u32> {
    (1..=n)
        .map(|wid| wait_for("a pid file", || read_pid(&pid_file(dir, name, wid))))
        .collect()
}

#[test]
fn sigterm_stops_everything_gracefully_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ini = format!(
        "{}[watcher:sleepers]\ncmd = {}\nnumprocesses = 4\n\n\
         [watcher:stubborn]\ncmd = {}\ngraceful_timeout = 0.5\npriority = 10\n",
        circle_section(d, "loglevel = debug"),
        pid_cmd(d, "sleepers", "sleep 3600"),
        pid_cmd(
            d,
            "stubborn",
            "sh -c \"trap : TERM; while :; do sleep 1; done\""
        ),
    );
    write(&d.join("c.ini"), &ini);
    let mut guard = Reaper::default();
    let child = start_circled(&d.join("c.ini"), d, &[]);
    let circled = child.id();
    guard.children.push(child);
    let mut all = pids(d, "sleepers", 4);
    all.extend(pids(d, "stubborn", 1));
    guard.pids.extend(&all);
    for &p in &all {
        assert!(alive(p));
        assert_eq!(stat_field(p, 4), Some(i64::from(circled)));
    }
    kill(circled, libc::SIGTERM);
    let status = wait_exit(&mut guard.children[0]);
    assert_eq!(
        status.code(),
        Some(0),
        "{}",
        std::fs::read_to_string(d.join("circled.out")).unwrap_or_default()
    );
    for &p in &all {
        assert!(!alive(p), "pid {p} survived circled");
    }
}

#[test]
fn no_child_survives_kill_9_of_circled() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ini = format!(
        "{}[watcher:w]\ncmd = {}\nnumprocesses = 3\n[watcher:ignores_term]\ncmd = {}\n\
         [watcher:wrapper]\ncmd = sh -c 'sleep 3600 & echo $! > {}/grandchild; wait'\n",
        circle_section(d, ""),
        pid_cmd(d, "w", "sleep 3600"),
        pid_cmd(
            d,
            "t",
            "sh -c \"trap : TERM HUP; while :; do sleep 1; done\""
        ),
        d.display(),
    );
    write(&d.join("c.ini"), &ini);
    let mut guard = Reaper::default();
    guard.children.push(start_circled(&d.join("c.ini"), d, &[]));
    let circled = guard.children[0].id();
    let mut all = pids(d, "w", 3);
    all.extend(pids(d, "t", 1));
    // A grandchild started by a shell wrapper: the parent-death signal does not reach it,
    // circled's guard does.
    all.push(wait_for("the grandchild", || {
        read_pid(&d.join("grandchild"))
    }));
    guard.pids.extend(&all);
    kill(circled, libc::SIGKILL);
    let _ = wait_exit(&mut guard.children[0]);
    wait_for_or(
        "every child and grandchild to die with circled",
        || all.iter().all(|&p| !alive(p)).then_some(()),
        || {
            format!(
                "alive: {:?}",
                all.iter().filter(|&&p| alive(p)).collect::<Vec<_>>()
            )
        },
    );
}

#[test]
fn no_grandchild_survives_a_stop_even_double_forked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let script = d.join("tree.sh");
    write(
        &script,
        &format!(
            "#!/bin/sh\nsleep 3600 &\necho $! > {d}/gc1\n( setsid sh -c 'sleep 3600 & echo $! > {d}/gc2' & )\n( sleep 3600 & echo $! > {d}/gc3 ) &\necho $$ > {d}/leader\nwait\n",
            d = d.display()
        ),
    );
    let ini = format!(
        "{}[watcher:tree]\ncmd = /bin/sh {}\nstop_children = true\ngraceful_timeout = 30\n",
        circle_section(d, ""),
        script.display()
    );
    write(&d.join("c.ini"), &ini);
    let mut guard = Reaper::default();
    guard.children.push(start_circled(&d.join("c.ini"), d, &[]));
    let circled = guard.children[0].id();
    let log = || std::fs::read_to_string(d.join("circled.out")).unwrap_or_default();
    let leader = wait_for_or("leader", || read_pid(&d.join("leader")), log);
    let gcs: Vec<u32> = ["gc1", "gc2", "gc3"]
        .iter()
        .map(|f| wait_for(f, || read_pid(&d.join(f))))
        .collect();
    guard.pids.push(leader);
    guard.pids.extend(&gcs);
    // gc2 double-forked into its own session: circled adopted it as the subreaper.
    wait_for("gc2 adopted by circled", || {
        (stat_field(gcs[1], 4) == Some(i64::from(circled))).then_some(())
    });
    assert!(gcs.iter().all(|&p| alive(p)));
    kill(circled, libc::SIGTERM);
    let status = wait_exit(&mut guard.children[0]);
    assert_eq!(status.code(), Some(0));
    for &p in gcs.iter().chain([&leader]) {
        assert!(!alive(p), "pid {p} survived the stop");
    }
}

#[test]
fn rotation_loses_nothing_at_a_high_rate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    const N: u32 = 1_000_000;
    let ini = format!(
        "{}[watcher:spew]\ncmd = seq 1 {N}\nrespawn = false\nstdout_stream.class = FileStream\n\
         stdout_stream.filename = logs/out.log\nstdout_stream.max_bytes = 256KB\nstdout_stream.backup_count = 1000\n",
        circle_section(d, "")
    );
    write(&d.join("c.ini"), &ini);
    let mut guard = Reaper::default();
    guard.children.push(start_circled(&d.join("c.ini"), d, &[]));
    let logs = d.join("logs");
    let read_all = || -> Vec<String> {
        let mut numbered: Vec<(u32, String)> = std::fs::read_dir(&logs)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let n = name.strip_prefix("out.log.")?.parse().ok()?;
                Some((n, std::fs::read_to_string(e.path()).ok()?))
            })
            .collect();
        numbered.sort_by_key(|e| std::cmp::Reverse(e.0));
        let mut files: Vec<String> = numbered.into_iter().map(|(_, t)| t).collect();
        files.push(std::fs::read_to_string(logs.join("out.log")).unwrap_or_default());
        files
    };
    let last_line = format!("\n{N}\n");
    wait_for("every line written", || {
        std::fs::read_to_string(logs.join("out.log"))
            .ok()
            .filter(|t| t.ends_with(&last_line))
    });
    // The last line is written last: from now on nothing rotates, so the files are stable.
    let files = read_all();
    assert!(files.len() > 20, "rotated into {} files", files.len());
    for (i, t) in files.iter().enumerate() {
        assert!(t.ends_with('\n'), "file {i} ends mid-line");
        assert!(t.len() <= 256 * 1024, "file {i} is {} bytes", t.len());
    }
    let mut expect = 1u32;
    for line in files.concat().lines() {
        assert_eq!(line, expect.to_string(), "line lost, split or duplicated");
        expect += 1;
    }
    assert_eq!(expect, N + 1);
    kill(guard.children[0].id(), libc::SIGTERM);
    assert_eq!(wait_exit(&mut guard.children[0]).code(), Some(0));
}

#[test]
fn configuration_errors_name_file_and_line_and_start_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("conf.d")).unwrap();
    write(
        &d.join("conf.d/extra.ini"),
        "[watcher:extra]\ncmd = touch started\nnumprocesses = lots\n",
    );
    write(
        &d.join("c.ini"),
        "[circle]\ninclude_dir = conf.d\n[watcher:web]\ncmd = touch started\ngracefull_timeout = 3\n\
         [watcher:undefined]\ncmd = $(circus.env.CIRCLE_SURELY_UNDEFINED) run\n",
    );
    let out = std::process::Command::new(CIRCLED)
        .arg("-c")
        .arg(d.join("c.ini"))
        .current_dir(d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let main = d.join("c.ini").display().to_string();
    let extra = d.join("conf.d/extra.ini").display().to_string();
    for want in [
        format!(
            "{main}:5: [watcher:web] gracefull_timeout: unknown key (did you mean `graceful_timeout`?)"
        ),
        format!(
            "{main}:7: [watcher:undefined] cmd: undefined variable $(circus.env.CIRCLE_SURELY_UNDEFINED)"
        ),
        format!("{extra}:3: [watcher:extra] numprocesses: expected a number of processes"),
    ] {
        assert!(err.contains(&want), "missing {want:?} in:\n{err}");
    }
    assert!(
        !d.join("started").exists(),
        "a process ran from an invalid config"
    );
}

#[test]
fn the_talks_example_config_runs_as_is() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A stand-in for the agent's Python: records how it was called, then stays up.
    let python = d.join("python");
    write(
        &python,
        &format!(
            "#!/bin/sh\necho \"$* root=$ANT_MODULE_ROOT\" > {}/called\necho $$ > {}/py.pid\nexec sleep 3600\n",
            d.display(),
            d.display()
        ),
    );
    std::fs::set_permissions(&python, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    write(
        &d.join("circus.ini"),
        &format!(
            "[circus]\ncheck_delay = 5\nendpoint = {}/circled.sock\n\n[watcher:framework]\ncmd = $(CIRCLE.ENV.ANT_PYTHON) -m framework\nnumprocess = 1\n\n[env:framework]\nANT_MODULE_ROOT = $ANT_ROOT_DIR\n",
            d.display()
        ),
    );
    let mut guard = Reaper::default();
    guard.children.push(start_circled(
        &d.join("circus.ini"),
        d,
        &[
            ("ANT_PYTHON", python.to_str().unwrap()),
            ("ANT_ROOT_DIR", "/opt/ant"),
        ],
    ));
    let pid = wait_for("the fake python", || read_pid(&d.join("py.pid")));
    guard.pids.push(pid);
    let called = wait_for("its arguments", || {
        std::fs::read_to_string(d.join("called"))
            .ok()
            .filter(|s| s.ends_with('\n'))
    });
    assert_eq!(called.trim(), "-m framework root=/opt/ant");
    // SIGINT (Ctrl-C) stops everything gracefully too.
    kill(guard.children[0].id(), libc::SIGINT);
    assert_eq!(wait_exit(&mut guard.children[0]).code(), Some(0));
    assert!(!alive(pid));
}

#[test]
fn no_zombies_after_many_deaths() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Each process leaves an orphan behind and dies at once, 3 slots x 31 lives, then the
    // watcher gives up: circled must have reaped every process and every adopted orphan.
    let ini = format!(
        "{}[watcher:flap]\ncmd = sh -c 'sleep 0.05 & exit 0'\nnumprocesses = 3\nmin_uptime = 60\n\
         max_retry = 30\nbackoff_delay = 1ms\nmax_backoff = 5ms\n",
        circle_section(d, "loglevel = debug")
    );
    write(&d.join("c.ini"), &ini);
    let mut guard = Reaper::default();
    guard.children.push(start_circled(&d.join("c.ini"), d, &[]));
    let circled = guard.children[0].id();
    let log = || std::fs::read_to_string(d.join("circled.out")).unwrap_or_default();
    wait_for_or(
        "the watcher to give up",
        || log().contains("gave up").then_some(()),
        log,
    );
    assert!(log().matches("spawned").count() >= 31, "{}", log());
    // Every child of circled, exited or not, per /proc: none may be left, zombie or alive.
    // (Except circled's guard, which waits for circled itself.)
    let children = || -> Vec<u32> {
        std::fs::read_to_string(format!("/proc/{circled}/task/{circled}/children"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .filter(|p| {
                !std::fs::read(format!("/proc/{p}/cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains("circle-guard"))
            })
            .collect()
    };
    wait_for_or(
        "every process and orphan to be reaped",
        || (children().is_empty() && zombie_children(circled).is_empty()).then_some(()),
        || {
            format!(
                "children left: {:?}, zombies: {:?}",
                children(),
                zombie_children(circled)
            )
        },
    );
    kill(circled, libc::SIGTERM);
    assert_eq!(wait_exit(&mut guard.children[0]).code(), Some(0));
}

#[test]
fn stdout_stream_goes_to_circleds_log_prefixed_with_name_and_pid() {
    stdout_stream_reaches_the_log("", true);
}

#[test]
fn stdout_stream_reaches_the_log_whatever_circleds_loglevel() {
    // No CIRCLE_LOG override: circled's own filter, from `loglevel`, applies.
    stdout_stream_reaches_the_log("loglevel = warning", false);
}

fn stdout_stream_reaches_the_log(circle_extra: &str, debug_log: bool) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ini = format!(
        "{}[watcher:hello]\ncmd = {}\nstdout_stream.class = StdoutStream\n",
        circle_section(d, circle_extra),
        pid_cmd(
            d,
            "hello",
            "sh -c \"echo hello from $CIRCLE_WID; exec sleep 3600\""
        ),
    );
    write(&d.join("c.ini"), &ini);
    let mut guard = Reaper::default();
    if debug_log {
        guard.children.push(start_circled(&d.join("c.ini"), d, &[]));
    } else {
        let out = std::fs::File::create(d.join("circled.out")).unwrap();
        let child = std::process::Command::new(CIRCLED)
            .arg("-c")
            .arg(d.join("c.ini"))
            .stdin(std::process::Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .env_remove("CIRCLE_LOG")
            .spawn()
            .unwrap();
        guard.children.push(child);
    }
    let pid = pids(d, "hello", 1)[0];
    guard.pids.push(pid);
    let want = format!("[hello {pid}] hello from 1");
    wait_for_or(
        "the line in circled's log",
        || {
            std::fs::read_to_string(d.join("circled.out"))
                .ok()
                .filter(|l| l.contains(&want))
        },
        || std::fs::read_to_string(d.join("circled.out")).unwrap_or_default(),
    );
    kill(guard.children[0].id(), libc::SIGTERM);
    assert_eq!(wait_exit(&mut guard.children[0]).code(), Some(0));
}
