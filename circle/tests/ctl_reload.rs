//! `circlectl reload` (and SIGHUP): only the difference is applied; untouched watchers keep
//! their exact processes (same pid, same start time); a broken configuration changes nothing.
#![cfg(target_os = "linux")]

mod ctl_support;

use ctl_support::*;

/// pid -> start time, for every running process of `names`.
fn identities(c: &Circled, names: &[&str]) -> Vec<(u32, u64)> {
    let mut v: Vec<(u32, u64)> = names
        .iter()
        .flat_map(|n| c.pids(n))
        .map(|p| (p, start_time(p).expect("start time")))
        .collect();
    v.sort_unstable();
    v
}

fn still_same(ids: &[(u32, u64)]) {
    for &(pid, st) in ids {
        assert!(alive(pid), "pid {pid} was stopped");
        assert_eq!(
            start_time(pid),
            Some(st),
            "pid {pid} is another process now"
        );
    }
}

const V1: &str = "include_dir = conf.d

[watcher:keep]
cmd = sleep 3600
numprocesses = 2

[watcher:change]
cmd = sleep 3600

[watcher:scale]
cmd = sleep 3600

[watcher:gone]
cmd = sleep 3600
graceful_timeout = 5
";

#[test]
fn reload_applies_only_the_difference() {
    let c = Circled::prepare(V1);
    std::fs::create_dir(c.path("conf.d")).unwrap();
    let mut c = c;
    c.spawn_foreground();
    c.wait_running("keep", 2);
    let change = c.wait_running("change", 1);
    let scale = c.wait_running("scale", 1);
    let gone = c.wait_running("gone", 1);
    let kept = identities(&c, &["keep"]);

    // v2: `change` gets a new command, `scale` goes to 3, `gone` is removed, and a file in the
    // config folder adds `fresh`.
    let v2 = V1
        .replace(
            "[watcher:change]\ncmd = sleep 3600",
            "[watcher:change]\ncmd = sleep 3601",
        )
        .replace(
            "[watcher:scale]\ncmd = sleep 3600",
            "[watcher:scale]\ncmd = sleep 3600\nnumprocesses = 3",
        )
        .replace(
            "[watcher:gone]\ncmd = sleep 3600\ngraceful_timeout = 5\n",
            "",
        );
    c.write("main.ini", &format!("[circle]\nendpoint = ctl.sock\n{v2}"));
    c.write("conf.d/fresh.ini", "[watcher:fresh]\ncmd = sleep 3600\n");
    let out = c.ok(&["reload"]);
    assert!(out.contains("added: fresh"), "{out}");
    assert!(out.contains("removed: gone"), "{out}");
    assert!(out.contains("restarted: change"), "{out}");
    assert!(out.contains("scaled: scale (1 -> 3)"), "{out}");
    assert!(out.contains("unchanged: keep"), "{out}");

    c.wait_running("fresh", 1);
    let scaled = c.wait_running("scale", 3);
    assert!(
        scaled.contains(&scale[0]),
        "the first scale process was kept"
    );
    let changed = wait_for("change to restart", || {
        let p = c.pids("change");
        (p.len() == 1 && p != change).then_some(p)
    });
    assert_ne!(changed, change);
    wait_for("gone's process to end", || (!alive(gone[0])).then_some(()));
    assert!(c.watcher("gone").is_none());
    still_same(&kept);
    let scale_id = (scale[0], start_time(scale[0]).unwrap());
    still_same(&[scale_id]);

    // SIGHUP does the same: a second folder file appears.
    c.write("conf.d/more.ini", "[watcher:more]\ncmd = sleep 3600\n");
    let everyone = identities(&c, &["keep", "change", "scale", "fresh"]);
    kill(c.pid.unwrap(), libc::SIGHUP);
    c.wait_running("more", 1);
    still_same(&everyone);
}

#[test]
fn broken_reload_changes_nothing() {
    let c = Circled::start(
        "
[watcher:a]
cmd = sleep 3600
numprocesses = 2

[watcher:b]
cmd = sleep 3600
",
    );
    c.wait_running("a", 2);
    c.wait_running("b", 1);
    let before = identities(&c, &["a", "b"]);
    // One good change (b removed, c added) and two errors, in two files: nothing may apply.
    c.write(
        "main.ini",
        "[circle]\nendpoint = ctl.sock\ninclude = extra.ini\n\n[watcher:a]\ncmd = sleep 3600\nnumprocesses = many\n\n[watcher:c]\ncmd = sleep 3600\n",
    );
    c.write(
        "extra.ini",
        "[watcher:d]\ncmd = sleep 3600\nrespwan = true\n",
    );
    let o = c.ctl(&["reload"]);
    assert!(!o.status.success());
    let err = String::from_utf8(o.stderr).unwrap();
    let first = err.lines().next().unwrap();
    assert!(first.starts_with("circlectl: reload refused"), "{err}");
    let main = c.path("main.ini").display().to_string();
    let extra = c.path("extra.ini").display().to_string();
    assert!(err.contains(&format!("{main}:7:")), "{err}");
    assert!(err.contains(&format!("{extra}:3:")), "{err}");
    assert!(err.contains("respawn"), "suggests the right key: {err}");

    // The same refusal when circlectl finds circled through the (now broken) configuration,
    // or through $CIRCLE_ENDPOINT.
    for how in ["-c", "env"] {
        let mut cmd = std::process::Command::new(CIRCLECTL);
        if how == "-c" {
            cmd.arg("-c").arg(&c.config);
        } else {
            cmd.env("CIRCLE_ENDPOINT", &c.sock);
        }
        let o = cmd.arg("reload").output().unwrap();
        assert!(!o.status.success());
        let err = String::from_utf8(o.stderr).unwrap();
        assert!(err.starts_with("circlectl: reload refused"), "{how}: {err}");
        assert!(err.contains(&format!("{main}:7:")), "{how}: {err}");
    }

    // Nothing changed: same watchers, same processes.
    assert_eq!(c.ok(&["list"]), "a\nb\n");
    assert_eq!(identities(&c, &["a", "b"]), before);
    still_same(&before);

    // The same through SIGHUP: logged, nothing changes, circled keeps serving.
    kill(c.pid.unwrap(), libc::SIGHUP);
    wait_for("the refusal in the log", || {
        c.output().contains("reload refused").then_some(())
    });
    assert_eq!(c.ok(&["list"]), "a\nb\n");
    still_same(&before);
}
