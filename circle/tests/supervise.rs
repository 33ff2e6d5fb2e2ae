//! End-to-end tests of the library API with real processes.
#![cfg(target_os = "linux")]

mod support;

use std::time::Duration;

use circle::{Config, Event, ExitInfo, ProcessState, Signal, Supervisor, Watcher, WatcherState};
use support::*;
use tokio::sync::broadcast;

/// Waits (async) for an event matching `f`, with the deadline.
async fn next_event<T>(
    rx: &mut broadcast::Receiver<Event>,
    what: &str,
    mut f: impl FnMut(&Event) -> Option<T>,
) -> T {
    let fut = async {
        loop {
            match rx.recv().await {
                Ok(e) => {
                    if let Some(v) = f(&e) {
                        return v;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("event channel closed while waiting for {what}: {e}"),
            }
        }
    };
    tokio::time::timeout(DEADLINE, fut)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

async fn pids_of(sup: &Supervisor, name: &str) -> Vec<u32> {
    sup.watcher_status(name)
        .await
        .unwrap()
        .processes
        .iter()
        .filter_map(|p| p.pid)
        .collect()
}

fn sleeper(name: &str, n: usize) -> Watcher {
    Watcher::new(name).cmd("sleep 3600").numprocesses(n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn n_copies_start_each_in_its_own_group_and_stop() {
    let sup = Supervisor::spawn(Config::new().watcher(sleeper("s", 5))).unwrap();
    let mut guard = Reaper::default();
    let pids = {
        let mut out = Vec::new();
        for _ in 0..2000 {
            let st = sup.watcher_status("s").await.unwrap();
            if st.state == WatcherState::Running {
                out = st.processes.iter().filter_map(|p| p.pid).collect();
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        out
    };
    guard.pids.clone_from(&pids);
    assert_eq!(pids.len(), 5);
    for &p in &pids {
        assert!(alive(p), "pid {p} should run");
        // Independent check: /proc says each is the leader of its own group and session.
        assert_eq!(stat_field(p, 5), Some(i64::from(p)), "pgrp of {p}");
        assert_eq!(stat_field(p, 6), Some(i64::from(p)), "session of {p}");
        assert_eq!(
            stat_field(p, 4),
            Some(i64::from(std::process::id())),
            "parent of {p}"
        );
    }
    let st = sup.watcher_status("s").await.unwrap();
    let wids: Vec<usize> = st.processes.iter().map(|p| p.wid).collect();
    assert_eq!(wids, [1, 2, 3, 4, 5]);
    assert!(
        st.processes
            .iter()
            .all(|p| p.state == ProcessState::Running && p.started_at.is_some())
    );
    sup.shutdown().await.unwrap();
    sup.wait().await;
    for &p in &pids {
        assert!(!alive(p), "pid {p} survived the shutdown");
    }
    assert!(
        zombie_children(std::process::id())
            .iter()
            .all(|z| !pids.contains(z))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn respawns_after_sigkill_and_leaves_no_zombie() {
    let sup = Supervisor::spawn(Config::new().watcher(sleeper("r", 2))).unwrap();
    let mut events = sup.subscribe_events();
    let mut guard = Reaper::default();
    let first = wait_running(&sup, "r", 2).await;
    guard.pids.extend(&first);
    let victim = first[0];
    let slot = sup.watcher_status("r").await.unwrap().processes[0].wid;
    kill(victim, libc::SIGKILL);
    let (wid, exit) = next_event(&mut events, "the exit", |e| match e {
        Event::Exited { pid, wid, exit, .. } if *pid == victim => Some((*wid, *exit)),
        _ => None,
    })
    .await;
    assert_eq!(wid, slot);
    assert_eq!(exit, ExitInfo::signal(libc::SIGKILL));
    let new_pid = next_event(&mut events, "the respawn", |e| match e {
        Event::Spawned { wid, pid, .. } if *wid == slot => Some(*pid),
        _ => None,
    })
    .await;
    guard.pids.push(new_pid);
    assert_ne!(new_pid, victim);
    assert!(alive(new_pid));
    assert!(
        !alive(victim),
        "the killed process was reaped, not left a zombie"
    );
    assert_eq!(proc_state(victim), None);
    let st = sup.watcher_status("r").await.unwrap();
    let p = st.processes.iter().find(|p| p.wid == slot).unwrap();
    assert_eq!(p.pid, Some(new_pid));
    assert_eq!(p.restarts, 1);
    assert_eq!(p.last_exit, Some(ExitInfo::signal(libc::SIGKILL)));
    // The other process was untouched.
    assert!(pids_of(&sup, "r").await.contains(&first[1]));
    sup.shutdown().await.unwrap();
}

async fn wait_running(sup: &Supervisor, name: &str, n: usize) -> Vec<u32> {
    let fut = async {
        loop {
            let st = sup.watcher_status(name).await.unwrap();
            let pids: Vec<u32> = st.processes.iter().filter_map(|p| p.pid).collect();
            if pids.len() == n
                && st
                    .processes
                    .iter()
                    .all(|p| p.state == ProcessState::Running)
            {
                return pids;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(DEADLINE, fut)
        .await
        .expect("processes running")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_loop_backs_off_then_gives_up_until_started_by_hand() {
    let w = Watcher::new("crash")
        .cmd("sh -c 'exit 3'")
        .max_retry(Some(3))
        .min_uptime(Duration::from_secs(5))
        .backoff_delay(Duration::from_millis(20))
        .max_backoff(Duration::from_millis(200));
    let sup = Supervisor::spawn(Config::new().watcher(w.autostart(false))).unwrap();
    let mut events = sup.subscribe_events();
    let err = sup.start_watcher("crash").await;
    let (mut spawns, mut exits, mut saw_backoff) = (0, 0, false);
    let reason = next_event(&mut events, "giving up", |e| {
        match e {
            Event::Spawned { .. } => spawns += 1,
            Event::Exited { exit, .. } => {
                assert_eq!(*exit, ExitInfo::code(3));
                exits += 1;
            }
            Event::State {
                state: WatcherState::Backoff,
                ..
            } => saw_backoff = true,
            Event::State {
                state: WatcherState::Failed { reason },
                ..
            } => return Some(reason.clone()),
            _ => {}
        }
        None
    })
    .await;
    // 1 start + 3 retries, then the 4th quick death exceeds max_retry = 3.
    assert_eq!((spawns, exits), (4, 4));
    assert!(saw_backoff, "quick deaths after the first wait in backoff");
    assert!(reason.contains("max_retry = 3"), "{reason}");
    assert!(reason.contains("exited with code 3"), "{reason}");
    // start_watcher either saw the start complete or the give-up; the state is Failed now.
    let st = sup.watcher_status("crash").await.unwrap();
    assert!(matches!(st.state, WatcherState::Failed { .. }), "{st:?}");
    let _ = err;
    // Nothing respawns by itself: the only way out is a start by hand.
    assert!(pids_of(&sup, "crash").await.is_empty());
    let again = sup.start_watcher("crash").await;
    assert!(again.is_ok() || matches!(again, Err(circle::Error::Failed { .. })));
    next_event(&mut events, "a new spawn after a manual start", |e| {
        matches!(e, Event::Spawned { .. }).then_some(())
    })
    .await;
    sup.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_timeout_escalates_to_sigkill() {
    let w = Watcher::new("stubborn")
        .cmd("sh -c 'trap \"echo got-term\" TERM; echo ready; while :; do sleep 0.1; done'")
        .graceful_timeout(Duration::from_secs(3));
    let sup = Supervisor::spawn(Config::new().watcher(w)).unwrap();
    let mut guard = Reaper::default();
    let pid = wait_running(&sup, "stubborn", 1).await[0];
    guard.pids.push(pid);
    // Wait until the trap is installed (the process said so).
    let (ring, mut rx) = sup.subscribe_output("stubborn").unwrap();
    if !String::from_utf8_lossy(&ring).contains("ready") {
        tokio::time::timeout(DEADLINE, async {
            while let Ok(c) = rx.recv().await {
                if String::from_utf8_lossy(&c.data).contains("ready") {
                    break;
                }
            }
        })
        .await
        .expect("ready");
    }
    tokio::time::timeout(DEADLINE, sup.stop_watcher("stubborn"))
        .await
        .unwrap()
        .unwrap();
    let st = sup.watcher_status("stubborn").await.unwrap();
    assert_eq!(st.state, WatcherState::Stopped);
    assert_eq!(
        st.processes[0].last_exit,
        Some(ExitInfo::signal(libc::SIGKILL))
    );
    assert!(!alive(pid));
    let (ring, _) = sup.subscribe_output("stubborn").unwrap();
    assert!(
        String::from_utf8_lossy(&ring).contains("got-term"),
        "TERM was sent first"
    );
    // Stopped by hand: not respawned.
    assert!(pids_of(&sup, "stubborn").await.is_empty());
    sup.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_children_leaves_no_grandchild_even_double_forked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    // A child with a plain grandchild, and a double-forked one in its own session.
    let cmd = format!(
        "sh -c 'sleep 3600 & echo $! > {d}/gc1; (setsid sleep 3600 & echo $! > {d}/gc2) ; echo ready > {d}/ready; wait'"
    );
    let w = Watcher::new("tree")
        .cmd(cmd)
        .stop_children(true)
        .graceful_timeout(Duration::from_secs(20));
    let sup = Supervisor::spawn(Config::new().watcher(w)).unwrap();
    let mut guard = Reaper::default();
    let pid = wait_running(&sup, "tree", 1).await[0];
    guard.pids.push(pid);
    wait_for("the tree", || {
        dir.path().join("ready").exists().then_some(())
    });
    let gc1 = wait_for("gc1", || read_pid(&dir.path().join("gc1")));
    let gc2 = wait_for("gc2", || read_pid(&dir.path().join("gc2")));
    guard.pids.extend([gc1, gc2]);
    assert!(alive(gc1) && alive(gc2));
    assert_ne!(
        stat_field(gc2, 6),
        Some(i64::from(pid)),
        "gc2 left the session"
    );
    assert_ne!(
        stat_field(gc2, 4),
        Some(i64::from(pid)),
        "gc2 is not a child of the leader"
    );
    sup.stop_watcher("tree").await.unwrap();
    wait_for("the grandchildren to die", || {
        (!alive(gc1) && !alive(gc2)).then_some(())
    });
    assert!(!alive(pid));
    sup.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environment_substitution_and_precedence_reach_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ini = format!(
        "[watcher:env]\ncmd = sh -c 'echo \"$GLOBAL|$SPECIFIC|$CHAINED|$CIRCLE_WID|$FROM_ENV|$HOME\" > {}/out.$(circle.wid)'\nnumprocesses = 2\nrespawn = false\n\
         [env]\nGLOBAL = g\nSPECIFIC = from-global\n[env:e*]\nSPECIFIC = from-specific\nCHAINED = ${{GLOBAL}}-$SPECIFIC-$$\nFROM_ENV = $(circle.env.CIRCLE_TEST_VALUE)\nHOME = /nowhere\n",
        d.display()
    );
    let mut env = std::collections::BTreeMap::new();
    env.insert("CIRCLE_TEST_VALUE".to_string(), "inherited".to_string());
    env.insert("HOME".to_string(), "/home/x".to_string());
    let config = Config::from_ini_with(&ini, d, &env).unwrap();
    let sup = Supervisor::spawn(config).unwrap();
    for wid in [1, 2] {
        let out = wait_for("the output", || {
            std::fs::read_to_string(d.join(format!("out.{wid}")))
                .ok()
                .filter(|s| s.ends_with('\n'))
        });
        assert_eq!(
            out.trim(),
            format!("g|from-specific|g-from-specific-$|{wid}|inherited|/nowhere")
        );
    }
    sup.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_signal_add_remove_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let sup = Supervisor::spawn(Config::new().watcher(sleeper("a", 1))).unwrap();
    let mut guard = Reaper::default();
    let first = wait_running(&sup, "a", 1).await;
    guard.pids.extend(&first);
    assert_eq!(sup.set_numprocesses("a", 3).await.unwrap(), 3);
    let three = wait_running(&sup, "a", 3).await;
    guard.pids.extend(&three);
    assert!(
        three.contains(&first[0]),
        "scaling up keeps the running process"
    );
    sup.set_numprocesses("a", 1).await.unwrap();
    let one = wait_running(&sup, "a", 1).await;
    assert_eq!(one, first, "scaling down stops the highest slots");
    assert_eq!(sup.config().get("a").unwrap().numprocesses, 1);

    let w = Watcher::new("b").cmd(format!(
        "sh -c 'trap \"echo hup >> {}/hups\" HUP; echo ready; while :; do sleep 1; done'",
        dir.path().display()
    ));
    sup.add_watcher(w, true).await.unwrap();
    assert!(matches!(
        sup.add_watcher(sleeper("b", 1), false).await,
        Err(circle::Error::DuplicateWatcher { .. })
    ));
    let b = wait_running(&sup, "b", 1).await;
    guard.pids.extend(&b);
    let (ring, mut rx) = sup.subscribe_output("b").unwrap();
    if !String::from_utf8_lossy(&ring).contains("ready") {
        let _ = tokio::time::timeout(DEADLINE, rx.recv()).await;
    }
    sup.signal_watcher("b", Signal::Hup).await.unwrap();
    wait_for("the HUP", || {
        std::fs::read_to_string(dir.path().join("hups"))
            .ok()
            .filter(|s| s.contains("hup"))
    });

    sup.restart_watcher("a").await.unwrap();
    let restarted = wait_running(&sup, "a", 1).await;
    guard.pids.extend(&restarted);
    assert_ne!(restarted, first);
    assert!(!alive(first[0]));

    sup.remove_watcher("b").await.unwrap();
    assert!(!alive(b[0]));
    assert!(matches!(
        sup.watcher_status("b").await,
        Err(circle::Error::UnknownWatcher { .. })
    ));
    assert!(matches!(
        sup.stop_watcher("nope").await,
        Err(circle::Error::UnknownWatcher { .. })
    ));
    assert!(sup.subscribe_output("nope").is_err());
    sup.shutdown().await.unwrap();
    assert!(sup.status().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_config_changes_only_the_difference() {
    let old = Config::new()
        .watcher(sleeper("keep", 2))
        .watcher(sleeper("scale", 1))
        .watcher(sleeper("change", 1))
        .watcher(sleeper("gone", 1));
    let sup = Supervisor::spawn(old).unwrap();
    let mut guard = Reaper::default();
    let keep = wait_running(&sup, "keep", 2).await;
    let scale = wait_running(&sup, "scale", 1).await;
    let change = wait_running(&sup, "change", 1).await;
    let gone = wait_running(&sup, "gone", 1).await;
    guard
        .pids
        .extend(keep.iter().chain(&scale).chain(&change).chain(&gone));
    let new = Config::new()
        .watcher(sleeper("keep", 2))
        .watcher(sleeper("scale", 2))
        .watcher(Watcher::new("change").cmd("sleep 3601"))
        .watcher(sleeper("new", 1));
    let bad = Config::new().watcher(Watcher::new("x y").cmd(""));
    assert!(matches!(
        sup.apply_config(bad).await,
        Err(circle::Error::Config(_))
    ));
    let r = sup.apply_config(new).await.unwrap();
    assert_eq!(r.added, ["new"]);
    assert_eq!(r.removed, ["gone"]);
    assert_eq!(r.restarted, ["change"]);
    assert_eq!(r.unchanged, ["keep"]);
    assert_eq!(r.scaled.len(), 1);
    let scaled = wait_running(&sup, "scale", 2).await;
    assert!(scaled.contains(&scale[0]));
    let changed = wait_running(&sup, "change", 1).await;
    let newp = wait_running(&sup, "new", 1).await;
    guard
        .pids
        .extend(scaled.iter().chain(&changed).chain(&newp));
    assert_ne!(changed, change);
    assert_eq!(
        wait_running(&sup, "keep", 2).await,
        keep,
        "untouched watchers keep their pids"
    );
    wait_for("the removed watcher to stop", || {
        (!alive(gone[0])).then_some(())
    });
    let names: Vec<String> = sup.status().await.into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["keep", "scale", "change", "new"]);
    sup.shutdown().await.unwrap();
}

#[test]
fn runs_on_its_own_thread_for_sync_programs() {
    let sup = Supervisor::spawn_on_thread(Config::new().watcher(sleeper("t", 1))).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut guard = Reaper::default();
    rt.block_on(async {
        let pids = wait_running(&sup, "t", 1).await;
        guard.pids.extend(&pids);
        sup.shutdown().await.unwrap();
        sup.wait().await;
        assert!(!alive(pids[0]));
    });
    assert!(sup.is_shut_down());
}

#[test]
fn invalid_configs_start_nothing() {
    let c = Config::new()
        .watcher(Watcher::new("a").cmd(""))
        .watcher(sleeper("a", 1));
    match Supervisor::spawn_on_thread(c) {
        Err(circle::Error::Config(errs)) => assert_eq!(errs.len(), 2, "{errs:?}"),
        other => panic!("expected config errors, got {other:?}"),
    }
}

/// The line of `/proc/PID/status` starting with `key`.
fn status_line(pid: u32, key: &str) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with(key))
        .map(|l| l[key.len()..].trim().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_limits_umask_and_working_dir_apply_to_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let root = unsafe { libc::geteuid() } == 0;
    let mut w = Watcher::new("id")
        .cmd("sleep 3600")
        .umask(0o027)
        .rlimit("nofile", Some(123))
        .working_dir(dir.path());
    if root {
        // Only root can switch users; `nobody` exists on every Linux.
        w = w.uid("nobody");
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
    }
    let sup = Supervisor::spawn(Config::new().watcher(w)).unwrap();
    let mut guard = Reaper::default();
    let pid = wait_running(&sup, "id", 1).await[0];
    guard.pids.push(pid);
    // Independent sources: /proc/PID/{status,limits,cwd}.
    wait_for("the exec", || {
        (std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .ok()?
            .trim()
            == "sleep")
            .then_some(())
    });
    if let Some(mask) = status_line(pid, "Umask:") {
        assert_eq!(mask, "0027");
    }
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let nofile = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    assert_eq!(
        nofile.split_whitespace().collect::<Vec<_>>()[3..5],
        ["123", "123"],
        "{nofile}"
    );
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap(),
        dir.path().canonicalize().unwrap()
    );
    if root {
        let c = std::ffi::CString::new("nobody").unwrap();
        // SAFETY: getpwnam returns a pointer to static storage or null.
        let pw = unsafe { libc::getpwnam(c.as_ptr()) };
        assert!(!pw.is_null());
        let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
        let uids = status_line(pid, "Uid:").unwrap();
        assert!(
            uids.split_whitespace().all(|u| u == uid.to_string()),
            "{uids}"
        );
        let gids = status_line(pid, "Gid:").unwrap();
        assert!(
            gids.split_whitespace().all(|g| g == gid.to_string()),
            "{gids}"
        );
        // Supplementary groups: the user's, as `id -G` (an independent source) lists them.
        let id = std::process::Command::new("id")
            .args(["-G", "nobody"])
            .output()
            .unwrap();
        let mut want: Vec<String> = String::from_utf8_lossy(&id.stdout)
            .split_whitespace()
            .map(String::from)
            .collect();
        let mut got: Vec<String> = status_line(pid, "Groups:")
            .unwrap()
            .split_whitespace()
            .map(String::from)
            .collect();
        want.sort();
        want.dedup();
        got.sort();
        got.dedup();
        assert_eq!(got, want);
    }
    // An unknown user is a spawn failure that names the user, not a crash.
    let bad = Watcher::new("baduser")
        .cmd("sleep 1")
        .uid("no-such-user-circle")
        .max_retry(Some(0));
    sup.add_watcher(bad, false).await.unwrap();
    match sup.start_watcher("baduser").await {
        Err(circle::Error::Failed { reason, .. }) => {
            assert!(reason.contains("no-such-user-circle"), "{reason}")
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    sup.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn priority_orders_start_and_reverse_stop() {
    let config = Config::new()
        .watcher(sleeper("low", 1).priority(-5))
        .watcher(sleeper("high", 1).priority(10))
        .watcher(sleeper("mid", 1));
    let sup = Supervisor::spawn_on_thread(config).unwrap();
    // Events emitted before this subscription are lost: restart everything in order instead.
    let mut events = sup.subscribe_events();
    let mut guard = Reaper::default();
    for name in ["low", "high", "mid"] {
        guard.pids.extend(wait_running(&sup, name, 1).await);
    }
    sup.shutdown().await.unwrap();
    let mut exits = Vec::new();
    while exits.len() < 3 {
        let name = next_event(&mut events, "exits", |e| match e {
            Event::Exited { watcher, .. } => Some(watcher.clone()),
            _ => None,
        })
        .await;
        exits.push(name);
    }
    assert_eq!(exits, ["low", "mid", "high"], "stop: lowest priority first");

    // Start order, from the spawn times in the status.
    let config = Config::new()
        .watcher(sleeper("low", 1).priority(-5))
        .watcher(sleeper("high", 1).priority(10))
        .watcher(sleeper("mid", 1));
    let sup = Supervisor::spawn(config).unwrap();
    let mut order = Vec::new();
    for name in ["low", "high", "mid"] {
        guard.pids.extend(wait_running(&sup, name, 1).await);
        let st = sup.watcher_status(name).await.unwrap();
        order.push((st.processes[0].started_at.unwrap(), name));
    }
    order.sort();
    let names: Vec<&str> = order.iter().map(|(_, n)| *n).collect();
    assert_eq!(
        names,
        ["high", "mid", "low"],
        "start: highest priority first"
    );
    sup.shutdown().await.unwrap();
}

#[test]
fn spawn_outside_a_runtime_is_an_error_not_a_panic() {
    match Supervisor::spawn(Config::new().watcher(sleeper("x", 1))) {
        Err(circle::Error::Runtime { what, .. }) => {
            assert!(what.contains("tokio runtime"), "{what}")
        }
        other => panic!("expected a runtime error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_rereads_the_file_and_refuses_a_broken_one_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.ini");
    std::fs::write(&path, "[watcher:a]\ncmd = sleep 3600\n").unwrap();
    let sup = Supervisor::spawn(Config::from_file(&path).unwrap()).unwrap();
    let mut guard = Reaper::default();
    let a = wait_running(&sup, "a", 1).await;
    guard.pids.extend(&a);
    std::fs::write(
        &path,
        "[watcher:a]\ncmd = sleep 3600\n[watcher:b]\ncmd = sleep 3600\nnumprocesses = two\n",
    )
    .unwrap();
    match sup.reload().await {
        Err(circle::Error::Config(errs)) => {
            assert_eq!(errs.len(), 1);
            assert_eq!((errs[0].file.as_path(), errs[0].line), (path.as_path(), 5));
        }
        other => panic!("expected the broken file to be refused, got {other:?}"),
    }
    assert_eq!(sup.status().await.len(), 1, "nothing changed");
    std::fs::write(
        &path,
        "[watcher:a]\ncmd = sleep 3600\n[watcher:b]\ncmd = sleep 3600\n",
    )
    .unwrap();
    let r = sup.reload().await.unwrap();
    assert_eq!(
        (r.added.as_slice(), r.unchanged.as_slice()),
        (&["b".to_string()][..], &["a".to_string()][..])
    );
    guard.pids.extend(wait_running(&sup, "b", 1).await);
    assert_eq!(wait_running(&sup, "a", 1).await, a);
    // A configuration built in code has no file to re-read.
    let code = Supervisor::spawn(Config::new()).unwrap();
    assert!(matches!(
        code.reload().await,
        Err(circle::Error::NotReloadable)
    ));
    code.shutdown().await.unwrap();
    sup.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_that_fixes_a_failed_watcher_starts_it() {
    let broken = Watcher::new("w").cmd("sh -c 'exit 1'").max_retry(Some(0));
    let sup = Supervisor::spawn(Config::new().watcher(broken)).unwrap();
    let mut guard = Reaper::default();
    wait_for_async(&sup, "w", |s| matches!(s, WatcherState::Failed { .. })).await;
    let r = sup
        .apply_config(Config::new().watcher(sleeper("w", 1)))
        .await
        .unwrap();
    assert_eq!(r.restarted, ["w"]);
    guard.pids.extend(wait_running(&sup, "w", 1).await);
    sup.shutdown().await.unwrap();
}

async fn wait_for_async(sup: &Supervisor, name: &str, f: impl Fn(&WatcherState) -> bool) {
    let fut = async {
        loop {
            if f(&sup.watcher_status(name).await.unwrap().state) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(DEADLINE, fut)
        .await
        .expect("the state");
}
