//! `remove` on real trees: links inside and pointing out, read-only entries, filters,
//! non-UTF-8 names, globs, dry runs.

use std::fs;
use std::path::Path;

use nfs::{Action, Error, RemoveOptions};

fn write(p: &Path, content: &str) {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, content).unwrap();
}

/// A tree with files, an empty dir, and (on Unix) links inside and pointing out.
fn tree(root: &Path, outside: &Path) {
    write(&root.join("a.txt"), "aaaa");
    write(&root.join("conf/app.conf"), "c");
    write(&root.join("conf/app.conf.bak"), "b");
    write(&root.join("logs/x.log"), "xx");
    write(&root.join("logs/old/y.log"), "yyy");
    write(&root.join(".git/HEAD"), "ref");
    fs::create_dir_all(root.join("empty")).unwrap();
    write(&outside.join("precious.txt"), "keep me");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(outside, root.join("out_dir_link")).unwrap();
        std::os::unix::fs::symlink(outside.join("precious.txt"), root.join("out_file_link"))
            .unwrap();
        std::os::unix::fs::symlink("a.txt", root.join("in_link")).unwrap();
        std::os::unix::fs::symlink("nowhere", root.join("dangling")).unwrap();
    }
}

fn names(root: &Path) -> Vec<String> {
    let mut v: Vec<String> = walk(root)
        .into_iter()
        .map(|p| {
            p.strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    v.sort();
    v
}

fn walk(root: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(root).unwrap() {
        let e = e.unwrap();
        out.push(e.path());
        if e.file_type().unwrap().is_dir() {
            out.extend(walk(&e.path()));
        }
    }
    out
}

#[test]
fn removes_a_whole_tree_without_following_links() {
    let d = tempfile::tempdir().unwrap();
    let (root, out) = (d.path().join("root"), d.path().join("outside"));
    tree(&root, &out);
    let r = nfs::remove(&root).unwrap();
    assert!(!root.exists());
    assert_eq!(
        fs::read_to_string(out.join("precious.txt")).unwrap(),
        "keep me"
    );
    assert_eq!(r.dirs, 6); // root, conf, logs, logs/old, .git, empty
    let links = if cfg!(unix) { 4 } else { 0 };
    assert_eq!(r.files, 6 + links);
    assert!(r.bytes >= 4 + 1 + 1 + 2 + 3 + 3);
}

#[test]
fn a_file_a_link_and_a_missing_path() {
    let d = tempfile::tempdir().unwrap();
    let (root, out) = (d.path().join("root"), d.path().join("outside"));
    tree(&root, &out);
    let r = nfs::remove(root.join("a.txt")).unwrap();
    assert_eq!((r.files, r.bytes, r.dirs), (1, 4, 0));
    assert!(!root.join("a.txt").exists());
    #[cfg(unix)]
    {
        nfs::remove(root.join("out_dir_link")).unwrap();
        assert!(out.join("precious.txt").exists());
        assert!(root.join("out_dir_link").symlink_metadata().is_err());
    }
    let e = nfs::remove(root.join("nope")).unwrap_err();
    assert!(
        matches!(&e, Error::NotFound { path } if path.ends_with("nope")),
        "{e}"
    );
    let r = nfs::remove_with(root.join("nope"), &RemoveOptions::new().missing_ok(true)).unwrap();
    assert_eq!(r.files, 0);
    let r = nfs::remove_with(
        root.join("nope/deeper"),
        &RemoveOptions::new().missing_ok(true),
    );
    assert_eq!(r.unwrap().files, 0);
    let e = nfs::remove(root.join("nope/deeper")).unwrap_err();
    assert!(
        matches!(&e, Error::NotFound { path } if path.ends_with("nope/deeper")),
        "{e}"
    );
}

#[test]
fn filters_keep_what_they_exclude_and_the_dirs_holding_it() {
    let d = tempfile::tempdir().unwrap();
    let (root, out) = (d.path().join("root"), d.path().join("outside"));
    tree(&root, &out);
    let opts = RemoveOptions::new()
        .exclude_files(["*.conf"])
        .exclude_dirs([".git"]);
    nfs::remove_with(&root, &opts).unwrap();
    assert_eq!(names(&root), [".git", ".git/HEAD", "conf", "conf/app.conf"]);
    assert!(out.join("precious.txt").exists());
}

#[test]
fn include_filters_take_only_matches_and_leave_empty_dirs_alone() {
    let d = tempfile::tempdir().unwrap();
    let (root, out) = (d.path().join("root"), d.path().join("outside"));
    tree(&root, &out);
    let r = nfs::remove_with(&root, &RemoveOptions::new().filter_files(["*.log"])).unwrap();
    assert_eq!(r.files, 2);
    // logs/ and logs/old/ held only logs: they go. empty/ held nothing: it stays.
    let n = names(&root);
    assert!(!n.iter().any(|p| p.starts_with("logs")), "{n:?}");
    assert!(n.contains(&"empty".to_string()));
    assert!(n.contains(&"a.txt".to_string()));
    assert!(root.exists());
}

#[test]
fn glob_sources_expand_first() {
    let d = tempfile::tempdir().unwrap();
    let (root, out) = (d.path().join("root"), d.path().join("outside"));
    tree(&root, &out);
    write(&root.join("logs/keep.txt"), "k");
    let r = nfs::remove(root.join("logs/*.log")).unwrap();
    assert_eq!(r.files, 1);
    assert!(root.join("logs/old/y.log").exists());
    assert!(root.join("logs/keep.txt").exists());
    let r = nfs::remove(root.join("logs/**/*.log")).unwrap();
    assert_eq!(r.files, 1);
    let e = nfs::remove(root.join("logs/*.nothing")).unwrap_err();
    assert!(matches!(e, Error::NoMatch { .. }), "{e}");
    // A filter still applies to what a glob matched, relative to the glob's base.
    write(&root.join("logs/a.log"), "a");
    write(&root.join("logs/b.log"), "b");
    nfs::remove_with(
        root.join("logs/*.log"),
        &RemoveOptions::new().exclude_files(["b.log"]),
    )
    .unwrap();
    assert!(!root.join("logs/a.log").exists());
    assert!(root.join("logs/b.log").exists());
}

#[test]
fn a_glob_over_links_removes_the_links_only() {
    let d = tempfile::tempdir().unwrap();
    let (root, out) = (d.path().join("root"), d.path().join("outside"));
    tree(&root, &out);
    nfs::remove(root.join("*")).unwrap();
    assert!(root.is_dir(), "the glob's base stays");
    assert_eq!(names(&root), Vec::<String>::new());
    assert_eq!(
        fs::read_to_string(out.join("precious.txt")).unwrap(),
        "keep me"
    );
}

#[test]
fn dry_run_touches_nothing_and_lists_the_plan() {
    let d = tempfile::tempdir().unwrap();
    let (root, out) = (d.path().join("root"), d.path().join("outside"));
    tree(&root, &out);
    let before = names(&root);
    let plan = nfs::remove_with(&root, &RemoveOptions::new().dry_run(true)).unwrap();
    assert_eq!(names(&root), before);
    let real = nfs::remove(&root).unwrap();
    assert!(plan.dry_run);
    assert_eq!(
        (plan.files, plan.dirs, plan.bytes),
        (real.files, real.dirs, real.bytes)
    );
    // Children are listed before the directory that holds them; the root is last.
    assert_eq!(
        plan.plan.last(),
        Some(&Action::RemoveDir { path: root.clone() })
    );
    let pos = |p: &Path| {
        plan.plan
            .iter()
            .position(|a| matches!(a, Action::RemoveFile { path, .. } | Action::RemoveDir { path } if path == p))
            .unwrap()
    };
    assert!(pos(&root.join("logs/old/y.log")) < pos(&root.join("logs/old")));
    assert!(pos(&root.join("logs/old")) < pos(&root.join("logs")));
}

#[cfg(unix)]
#[test]
fn read_only_files_and_dirs_go() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root");
    write(&root.join("ro/inner/f"), "x");
    write(&root.join("noread/f"), "x");
    fs::set_permissions(root.join("ro/inner/f"), fs::Permissions::from_mode(0o444)).unwrap();
    fs::set_permissions(root.join("ro/inner"), fs::Permissions::from_mode(0o555)).unwrap();
    fs::set_permissions(root.join("ro"), fs::Permissions::from_mode(0o555)).unwrap();
    fs::set_permissions(root.join("noread"), fs::Permissions::from_mode(0o000)).unwrap();
    fs::set_permissions(&root, fs::Permissions::from_mode(0o555)).unwrap();
    fs::set_permissions(d.path(), fs::Permissions::from_mode(0o555)).unwrap();
    let r = nfs::remove(&root).unwrap();
    assert!(!root.exists());
    assert_eq!((r.files, r.dirs), (2, 4));
    // The parent of the removed directory keeps its mode.
    let parent_mode = fs::metadata(d.path()).unwrap().permissions().mode() & 0o777;
    assert_eq!(parent_mode, 0o555);
    fs::set_permissions(d.path(), fs::Permissions::from_mode(0o755)).unwrap();
}

#[cfg(unix)]
#[test]
fn non_utf8_names() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root");
    let bad = root.join(OsStr::from_bytes(b"\xff\xfe-dir"));
    write(&bad.join(OsStr::from_bytes(b"f\x80.log")), "x");
    write(&bad.join(OsStr::from_bytes(b"f\x80.txt")), "x");
    nfs::remove_with(&root, &RemoveOptions::new().filter_files(["*.log"])).unwrap();
    assert!(!bad.join(OsStr::from_bytes(b"f\x80.log")).exists());
    assert!(bad.join(OsStr::from_bytes(b"f\x80.txt")).exists());
    nfs::remove(&root).unwrap();
    assert!(!root.exists());
}

#[test]
fn in_order_and_in_parallel_agree() {
    let d = tempfile::tempdir().unwrap();
    for (i, threads) in [1, 3].into_iter().enumerate() {
        let root = d.path().join(format!("root{i}"));
        for k in 0..200 {
            write(&root.join(format!("d{}/e{}/f{k}", k % 7, k % 3)), "xy");
        }
        let r = nfs::remove_with(&root, &RemoveOptions::new().threads(threads)).unwrap();
        assert!(!root.exists());
        assert_eq!((r.files, r.bytes, r.dirs), (200, 400, 1 + 7 + 21));
    }
}

#[test]
fn refuses_nameless_paths() {
    for p in [".", ".."] {
        let e = nfs::remove(p).unwrap_err();
        assert!(matches!(e, Error::Refused { .. }), "{p}: {e}");
    }
}

#[test]
fn progress_reaches_the_totals() {
    use std::sync::{Arc, Mutex};
    let d = tempfile::tempdir().unwrap();
    let (root, out) = (d.path().join("root"), d.path().join("outside"));
    tree(&root, &out);
    let last = Arc::new(Mutex::new(None));
    let l = last.clone();
    let r = nfs::remove_with(
        &root,
        &RemoveOptions::new().progress(move |p| *l.lock().unwrap() = Some(p.clone())),
    )
    .unwrap();
    let p = last.lock().unwrap().clone().unwrap();
    assert_eq!((p.files_done, p.files_total), (r.files, r.files));
    assert_eq!((p.bytes_done, p.bytes_total), (r.bytes, r.bytes));
}
