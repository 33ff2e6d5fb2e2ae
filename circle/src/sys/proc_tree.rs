//! Finding a process tree from `/proc` (Linux), pure apart from [`scan`].

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// What `/proc/PID/stat` tells about a process's place in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcEntry {
    pub pid: u32,
    pub ppid: u32,
    pub pgrp: u32,
    pub session: u32,
}

/// Parses `/proc/PID/stat`. The command name may contain spaces and parentheses, so fields
/// are counted from the last `)`.
pub(crate) fn parse_stat(text: &str) -> Option<ProcEntry> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let pid = text[..open].trim().parse().ok()?;
    let mut rest = text.get(close + 1..)?.split_whitespace();
    let _state = rest.next()?;
    let ppid = rest.next()?.parse().ok()?;
    let pgrp = rest.next()?.parse().ok()?;
    let session = rest.next()?.parse().ok()?;
    Some(ProcEntry {
        pid,
        ppid,
        pgrp,
        session,
    })
}

/// Whether a `/proc/PID/environ` blob holds `KEY=VALUE` exactly, or `KEY=PREFIX...` when
/// `prefix` is set.
pub(crate) fn environ_has(blob: &[u8], key_value: &str, prefix: bool) -> bool {
    blob.split(|&b| b == 0).any(|var| {
        if prefix {
            var.starts_with(key_value.as_bytes())
        } else {
            var == key_value.as_bytes()
        }
    })
}

/// The members of the tree of `leader`: its session and process group (both named after it,
/// since each child starts a new session), every descendant of those, and every process in
/// `marked` (carrying the leader's marker, e.g. after double-forking) with its descendants.
/// Never includes `exclude` (the supervisor) or pid 1.
pub(crate) fn tree_members(
    entries: &[ProcEntry],
    leader: u32,
    marked: &BTreeSet<u32>,
    exclude: u32,
) -> BTreeSet<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for e in entries {
        children.entry(e.ppid).or_default().push(e.pid);
    }
    let mut out = BTreeSet::new();
    let mut stack: Vec<u32> = entries
        .iter()
        .filter(|e| {
            e.pid == leader || e.session == leader || e.pgrp == leader || marked.contains(&e.pid)
        })
        .map(|e| e.pid)
        .collect();
    while let Some(p) = stack.pop() {
        if p == exclude || p <= 1 || !out.insert(p) {
            continue;
        }
        if let Some(c) = children.get(&p) {
            stack.extend(c.iter().copied());
        }
    }
    out
}

/// Reads every process's stat under `root` (`/proc`).
pub(crate) fn scan(root: &Path) -> Vec<ProcEntry> {
    let Ok(rd) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    rd.filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter_map(|t| parse_stat(&t))
        .collect()
}

/// The pids under `root` whose environment holds `key_value` (see [`environ_has`]), among
/// `candidates`.
pub(crate) fn marked(
    root: &Path,
    candidates: impl Iterator<Item = u32>,
    key_value: &str,
    prefix: bool,
) -> BTreeSet<u32> {
    candidates
        .filter(|pid| {
            std::fs::read(root.join(pid.to_string()).join("environ"))
                .is_ok_and(|blob| environ_has(&blob, key_value, prefix))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_command_names() {
        let e = parse_stat("1234 (my (weird) prog) S 1 1234 1234 0 -1 4194560 ...").unwrap();
        assert_eq!(
            e,
            ProcEntry {
                pid: 1234,
                ppid: 1,
                pgrp: 1234,
                session: 1234
            }
        );
        assert!(parse_stat("garbage").is_none());
        assert!(parse_stat("12 (x) S").is_none());
    }

    #[test]
    fn environ_matching() {
        let blob = b"A=1\0CIRCLE_PROCESS=77:3\0B=2\0";
        assert!(environ_has(blob, "CIRCLE_PROCESS=77:3", false));
        assert!(!environ_has(blob, "CIRCLE_PROCESS=77:", false));
        assert!(environ_has(blob, "CIRCLE_PROCESS=77:", true));
        assert!(!environ_has(blob, "CIRCLE_PROCESS=7:", true));
    }

    fn e(pid: u32, ppid: u32, pgrp: u32, session: u32) -> ProcEntry {
        ProcEntry {
            pid,
            ppid,
            pgrp,
            session,
        }
    }

    #[test]
    fn tree_includes_session_group_descendants_and_marked() {
        let entries = [
            e(1, 0, 1, 1),
            e(50, 1, 50, 50),     // the supervisor
            e(100, 50, 100, 100), // leader
            e(101, 100, 100, 100),
            e(102, 101, 102, 102), // setsid'd grandchild: a descendant
            e(103, 102, 102, 102),
            e(200, 50, 200, 200), // another watcher's process
            e(300, 50, 300, 300), // double-forked orphan adopted by the supervisor, marked
            e(301, 300, 300, 300),
            e(400, 1, 100, 400), // in the leader's process group
        ];
        let marked: BTreeSet<u32> = [300].into();
        let t = tree_members(&entries, 100, &marked, 50);
        assert_eq!(
            t.into_iter().collect::<Vec<_>>(),
            vec![100, 101, 102, 103, 300, 301, 400]
        );
        // Leader gone: its session still names the rest.
        let rest: Vec<ProcEntry> = entries.iter().copied().filter(|e| e.pid != 100).collect();
        let t = tree_members(&rest, 100, &BTreeSet::new(), 50);
        assert_eq!(t.into_iter().collect::<Vec<_>>(), vec![101, 102, 103, 400]);
        // Never the supervisor or init, whatever is marked.
        let t = tree_members(&entries, 100, &[1, 50].into(), 50);
        assert!(!t.contains(&1) && !t.contains(&50));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn scan_finds_this_process() {
        let me = std::process::id();
        let all = scan(Path::new("/proc"));
        let mine = all.iter().find(|e| e.pid == me).unwrap();
        // Compare with an independent source: getppid/getpgrp.
        assert_eq!(mine.ppid, unsafe { libc::getppid() } as u32);
        assert_eq!(mine.pgrp, unsafe { libc::getpgrp() } as u32);
    }
}
