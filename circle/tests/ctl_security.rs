//! The control channel's safety: a private socket, no network listener unless configured
//! (then loopback only, with a token), and garbage that never disturbs `circled`.
#![cfg(target_os = "linux")]

mod ctl_support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;

use ctl_support::*;

/// The inodes of the sockets process `pid` has open (from /proc/PID/fd).
fn socket_inodes(pid: u32) -> BTreeSet<u64> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| {
            let s = l.to_string_lossy().into_owned();
            s.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
        })
        .collect()
}

/// (local address, inode) of every socket in /proc/net/FILE.
fn proc_net(file: &str) -> Vec<(String, u64)> {
    std::fs::read_to_string(format!("/proc/net/{file}"))
        .unwrap_or_default()
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let inode = if file == "unix" { f.get(6)? } else { f.get(9)? };
            Some((f.get(1)?.to_string(), inode.parse().ok()?))
        })
        .collect()
}

fn network_sockets(pid: u32) -> Vec<(String, String)> {
    let mine = socket_inodes(pid);
    let mut found = Vec::new();
    for file in [
        "tcp", "tcp6", "udp", "udp6", "raw", "raw6", "udplite", "udplite6",
    ] {
        for (addr, inode) in proc_net(file) {
            if mine.contains(&inode) {
                found.push((file.to_string(), addr));
            }
        }
    }
    found
}

#[test]
fn private_socket_and_no_network_listener() {
    let c = Circled::start("[watcher:w]\ncmd = sleep 3600\n");
    c.wait_running("w", 1);
    let mode = std::fs::metadata(&c.sock).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "socket mode {mode:o}");
    let pid = c.pid.unwrap();
    let inodes = socket_inodes(pid);
    // Positive control: the Unix socket is found this way, so the network check can see.
    let unix: BTreeSet<u64> = proc_net("unix").into_iter().map(|(_, i)| i).collect();
    assert!(
        inodes.iter().any(|i| unix.contains(i)),
        "no unix socket found for circled"
    );
    assert_eq!(network_sockets(pid), vec![], "circled has a network socket");
}

#[test]
fn default_socket_lives_in_a_private_directory() {
    let runtime = tempfile::tempdir().unwrap();
    let mut c = Circled::prepare("");
    // No endpoint: the default under $XDG_RUNTIME_DIR.
    std::fs::write(&c.config, "[watcher:w]\ncmd = sleep 3600\n").unwrap();
    let out = std::fs::File::create(c.path("circled.out")).unwrap();
    let child = std::process::Command::new(CIRCLED)
        .arg("-c")
        .arg(&c.config)
        .env("XDG_RUNTIME_DIR", runtime.path())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    c.pid = Some(child.id());
    c.child = Some(child);
    c.sock = runtime.path().join("circle/main.sock");
    c.wait_ready();
    let dir_mode = std::fs::metadata(runtime.path().join("circle"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700);
    let mode = std::fs::metadata(&c.sock).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // circlectl finds it without being told where (the only socket there), and with -c.
    let o = std::process::Command::new(CIRCLECTL)
        .arg("list")
        .env("XDG_RUNTIME_DIR", runtime.path())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "w\n", "{o:?}");
    let o = std::process::Command::new(CIRCLECTL)
        .arg("-c")
        .arg(&c.config)
        .arg("list")
        .env("XDG_RUNTIME_DIR", runtime.path())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "w\n", "{o:?}");
}

fn send_line(s: &mut UnixStream, line: &[u8]) -> serde_json::Value {
    s.write_all(line).unwrap();
    s.write_all(b"\n").unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut resp = String::new();
    r.read_line(&mut resp).unwrap();
    serde_json::from_str(&resp).unwrap_or_else(|e| panic!("{e}: {resp:?}"))
}

#[test]
fn garbage_and_oversized_requests_leave_circled_healthy() {
    let c = Circled::start("[watcher:w]\ncmd = sleep 3600\nnumprocesses = 2\n");
    let pids = c.wait_running("w", 2);
    let mut s = UnixStream::connect(&c.sock).unwrap();
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"hello".to_vec(), "bad_request"),
        (
            b"{\"command\":\"selfdestruct\"}".to_vec(),
            "unknown_command",
        ),
        (
            b"{\"command\":\"status\",\"name\":5}".to_vec(),
            "bad_request",
        ),
        (b"\xff\xfe\x00\x01".to_vec(), "bad_request"),
        (b"[]".to_vec(), "bad_request"),
        (vec![b'x'; 3 * 1024 * 1024], "too_long"),
        (
            b"{\"command\":\"stop\",\"name\":\"ghost\"}".to_vec(),
            "unknown_watcher",
        ),
    ];
    for (line, kind) in &cases {
        let v = send_line(&mut s, line);
        assert_eq!(v["type"], "error", "{v}");
        assert_eq!(v["kind"], *kind, "{v}");
    }
    // The same connection still works.
    let v = send_line(&mut s, b"{\"command\":\"list\"}");
    assert_eq!(v, serde_json::json!({"type": "list", "names": ["w"]}));

    // Clients that vanish mid-line, or send an endless line and go, are dropped quietly.
    for i in 0..20 {
        let mut t = UnixStream::connect(&c.sock).unwrap();
        if i % 2 == 0 {
            t.write_all(b"{\"command\":\"sta").unwrap();
        } else {
            let _ = t.write_all(&vec![b'y'; 2 * 1024 * 1024]);
        }
    }
    // A client that connects and says nothing does not block the others.
    let _idle = UnixStream::connect(&c.sock).unwrap();
    let mut t = UnixStream::connect(&c.sock).unwrap();
    t.set_read_timeout(Some(DEADLINE)).unwrap();
    assert_eq!(send_line(&mut t, b"{\"command\":\"list\"}")["type"], "list");

    assert_eq!(c.pids("w"), pids, "watchers disturbed");
    assert!(alive(c.pid.unwrap()));
    c.ok(&["status"]);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn tcp_endpoint_is_loopback_only_and_needs_the_token() {
    let port = free_port();
    let c = Circled::start(&format!(
        "tcp_endpoint = 127.0.0.1:{port}\ntoken = s3cret-token\n\n[watcher:w]\ncmd = sleep 3600\n"
    ));
    c.wait_running("w", 1);
    let listeners = network_sockets(c.pid.unwrap());
    assert_eq!(
        listeners,
        vec![("tcp".to_string(), format!("0100007F:{port:04X}"))],
        "exactly one TCP listener, on 127.0.0.1"
    );
    let talk = |lines: &[&str]| -> Vec<serde_json::Value> {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(DEADLINE)).unwrap();
        // circled may refuse and close before everything is written: later writes may fail.
        for l in lines {
            let _ = s.write_all(format!("{l}\n").as_bytes());
        }
        let mut text = String::new();
        let _ = s.shutdown(std::net::Shutdown::Write);
        let _ = s.read_to_string(&mut text);
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let r = talk(&["{\"command\":\"list\"}", "{\"command\":\"list\"}"]);
    assert_eq!(r.len(), 1, "closed after refusing: {r:?}");
    assert_eq!(r[0]["kind"], "unauthorized");
    let r = talk(&["garbage", "{\"command\":\"list\"}"]);
    assert_eq!(r.len(), 1, "garbage before auth is refused too: {r:?}");
    assert_eq!(r[0]["kind"], "unauthorized");
    let r = talk(&[
        "{\"command\":\"auth\",\"token\":\"s3cret-tokeN\"}",
        "{\"command\":\"list\"}",
    ]);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0]["kind"], "unauthorized");
    let r = talk(&[
        "{\"command\":\"auth\",\"token\":\"s3cret-token\"}",
        "{\"command\":\"list\"}",
    ]);
    assert_eq!(
        r,
        vec![
            serde_json::json!({"type":"done"}),
            serde_json::json!({"type":"list","names":["w"]})
        ]
    );
}

#[test]
fn non_loopback_or_tokenless_tcp_is_refused() {
    for (extra, needle) in [
        ("tcp_endpoint = 0.0.0.0:1\ntoken = t\n", "loopback"),
        ("tcp_endpoint = 127.0.0.1:1\n", "requires [circle] token"),
    ] {
        let c = Circled::prepare(&format!("{extra}\n[watcher:w]\ncmd = sleep 3600\n"));
        let o = std::process::Command::new(CIRCLED)
            .arg("-c")
            .arg(&c.config)
            .output()
            .unwrap();
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{err}");
        assert!(!c.sock.exists());
    }
}
