//! `copy` on real trees: links (inside and pointing out), empty dirs, read-only files,
//! non-UTF-8 names, filters, overwrite policies, globs, dry runs.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use nfs::{Action, CopyOptions, Error, Overwrite};

fn write(p: &Path, content: &str) {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, content).unwrap();
}

fn tree(root: &Path, outside: &Path) {
    write(&root.join("a.txt"), "aaaa");
    write(&root.join("src/main.py"), "print()");
    write(&root.join("src/main.pyc"), "bytecode");
    write(&root.join("src/__pycache__/m.pyc"), "bytecode");
    write(&root.join(".git/HEAD"), "ref");
    write(&root.join("logs/x.log"), "xx");
    fs::create_dir_all(root.join("empty/nested")).unwrap();
    write(&outside.join("precious.txt"), "outside");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("a.txt", root.join("in_link")).unwrap();
        std::os::unix::fs::symlink(outside, root.join("out_dir_link")).unwrap();
        std::os::unix::fs::symlink("nowhere", root.join("dangling")).unwrap();
    }
}

/// Every path under `root`, relative, `/`-separated, dirs marked with a trailing `/`.
fn listing(root: &Path) -> Vec<String> {
    let mut v = Vec::new();
    fn go(root: &Path, dir: &Path, v: &mut Vec<String>) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                v.push(format!("{rel}/"));
                go(root, &e.path(), v);
            } else {
                v.push(rel);
            }
        }
    }
    go(root, root, &mut v);
    v.sort();
    v
}

fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let (src, out) = (d.path().join("src"), d.path().join("outside"));
    tree(&src, &out);
    (d, src, out)
}

#[test]
fn dir_to_new_dir_copies_everything_and_links_as_links() {
    let (d, src, _out) = setup();
    let dst = d.path().join("dst");
    let r = nfs::copy_with(&src, &dst, &CopyOptions::new().symlinks(true)).unwrap();
    assert_eq!(listing(&src), listing(&dst));
    assert_eq!(
        fs::read_to_string(dst.join("src/main.py")).unwrap(),
        "print()"
    );
    assert!(dst.join("empty/nested").is_dir());
    #[cfg(unix)]
    {
        assert_eq!(
            fs::read_link(dst.join("in_link")).unwrap(),
            Path::new("a.txt")
        );
        assert_eq!(
            fs::read_link(dst.join("dangling")).unwrap(),
            Path::new("nowhere")
        );
        assert!(
            fs::symlink_metadata(dst.join("out_dir_link"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
    let links = if cfg!(unix) { 3 } else { 0 };
    assert_eq!(r.files, 6 + links);
    assert_eq!(r.dirs, 7); // dst, src, __pycache__, .git, logs, empty, nested
    // No temporary file left anywhere.
    assert!(!listing(&dst).iter().any(|p| p.contains(".nfs-")));
}

#[cfg(unix)]
#[test]
fn following_links_copies_their_content() {
    let (d, src, _out) = setup();
    let dst = d.path().join("dst");
    nfs::copy(&src, &dst).unwrap();
    let l = dst.join("in_link");
    assert!(!fs::symlink_metadata(&l).unwrap().file_type().is_symlink());
    assert_eq!(fs::read_to_string(&l).unwrap(), "aaaa");
    // The link out was followed: its content copied in, the outside untouched.
    assert_eq!(
        fs::read_to_string(dst.join("out_dir_link/precious.txt")).unwrap(),
        "outside"
    );
    // A dangling link cannot be followed: it is copied as a link.
    assert!(
        fs::symlink_metadata(dst.join("dangling"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn filters_prune_and_select() {
    let (d, src, _out) = setup();
    let dst = d.path().join("dst");
    let opts = CopyOptions::new()
        .symlinks(true)
        .exclude_dirs([".git", "__pycache__"])
        .exclude_files(["*.pyc"]);
    nfs::copy_with(&src, &dst, &opts).unwrap();
    let l = listing(&dst);
    assert!(
        !l.iter().any(|p| p.contains(".git") || p.contains("pyc")),
        "{l:?}"
    );
    assert!(l.contains(&"src/main.py".to_string()));
    assert!(
        l.contains(&"empty/nested/".to_string()),
        "exclusions keep empty dirs"
    );

    let dst2 = d.path().join("dst2");
    nfs::copy_with(
        &src,
        &dst2,
        &CopyOptions::new().filter_files(["*.py", "*.log"]),
    )
    .unwrap();
    assert_eq!(
        listing(&dst2),
        ["logs/", "logs/x.log", "src/", "src/main.py"]
    );

    let dst3 = d.path().join("dst3");
    nfs::copy_with(
        &src,
        &dst3,
        &CopyOptions::new().filter_dirs(["empty", "logs"]),
    )
    .unwrap();
    assert_eq!(
        listing(&dst3),
        ["empty/", "empty/nested/", "logs/", "logs/x.log"]
    );
}

#[test]
fn file_to_file_and_file_to_dir() {
    let (d, src, _out) = setup();
    let f = src.join("a.txt");
    let to = d.path().join("new/deep/b.txt");
    nfs::copy(&f, &to).unwrap();
    assert_eq!(fs::read_to_string(&to).unwrap(), "aaaa");
    let dir = d.path().join("into");
    fs::create_dir(&dir).unwrap();
    nfs::copy(&f, &dir).unwrap();
    assert_eq!(fs::read_to_string(dir.join("a.txt")).unwrap(), "aaaa");
    let mut slash = d.path().join("made").into_os_string();
    slash.push("/");
    nfs::copy(&f, &slash).unwrap();
    assert_eq!(
        fs::read_to_string(d.path().join("made/a.txt")).unwrap(),
        "aaaa"
    );
    let e = nfs::copy(&f, &f).unwrap_err();
    assert!(matches!(e, Error::IntoItself { .. }), "{e}");
    let e = nfs::copy(d.path().join("missing"), &dir).unwrap_err();
    assert!(
        matches!(&e, Error::NotFound { path } if path.ends_with("missing")),
        "{e}"
    );
}

#[test]
fn refuses_to_copy_a_dir_into_itself() {
    let (_d, src, _out) = setup();
    for dst in [src.join("sub/copy"), src.clone(), src.join("src/../logs/x")] {
        let e = nfs::copy(&src, &dst).unwrap_err();
        assert!(
            matches!(e, Error::IntoItself { .. }),
            "{}: {e}",
            dst.display()
        );
    }
    assert!(!src.join("sub").exists());
}

#[test]
fn globs_copy_matches_under_the_destination() {
    let (d, src, _out) = setup();
    let dst = d.path().join("dst");
    let r = nfs::copy(src.join("src/*.py*"), &dst).unwrap();
    assert_eq!(r.files, 2);
    assert_eq!(listing(&dst), ["main.py", "main.pyc"]);
    let dst2 = d.path().join("dst2");
    nfs::copy(src.join("**/*.pyc"), &dst2).unwrap();
    assert_eq!(
        listing(&dst2),
        [
            "src/",
            "src/__pycache__/",
            "src/__pycache__/m.pyc",
            "src/main.pyc"
        ]
    );
    let e = nfs::copy(src.join("*.none"), &dst).unwrap_err();
    assert!(matches!(e, Error::NoMatch { .. }), "{e}");
    // Files matched in a directory may be copied into a subdirectory of it...
    nfs::copy(src.join("logs/*.log"), src.join("logs/archive")).unwrap();
    assert_eq!(
        fs::read_to_string(src.join("logs/archive/x.log")).unwrap(),
        "xx"
    );
    // ...but a matched directory not into itself.
    let e = nfs::copy(src.join("lo*"), src.join("logs/inner")).unwrap_err();
    assert!(matches!(e, Error::IntoItself { .. }), "{e}");
}

#[test]
fn overwrite_policies() {
    let (d, src, _out) = setup();
    let dst = d.path().join("dst");
    write(&dst.join("a.txt"), "old");
    let old = SystemTime::now() - Duration::from_secs(3600);
    let newer = SystemTime::now() + Duration::from_secs(3600);
    let set = |p: &Path, t: SystemTime| {
        fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(t)
            .unwrap();
    };

    let e =
        nfs::copy_with(&src, &dst, &CopyOptions::new().overwrite(Overwrite::Error)).unwrap_err();
    assert!(
        matches!(&e, Error::Exists { path } if path.ends_with("a.txt")),
        "{e}"
    );
    assert_eq!(listing(&dst), ["a.txt"], "Error policy writes nothing");

    let r = nfs::copy_with(&src, &dst, &CopyOptions::new().overwrite(Overwrite::Never)).unwrap();
    assert_eq!(fs::read_to_string(dst.join("a.txt")).unwrap(), "old");
    assert!(r.skipped >= 1);

    set(&dst.join("a.txt"), newer);
    nfs::copy_with(
        &src,
        &dst,
        &CopyOptions::new().overwrite(Overwrite::IfNewer),
    )
    .unwrap();
    assert_eq!(fs::read_to_string(dst.join("a.txt")).unwrap(), "old");
    set(&dst.join("a.txt"), old);
    nfs::copy_with(
        &src,
        &dst,
        &CopyOptions::new().overwrite(Overwrite::IfNewer),
    )
    .unwrap();
    assert_eq!(fs::read_to_string(dst.join("a.txt")).unwrap(), "aaaa");

    write(&dst.join("a.txt"), "old");
    nfs::copy(&src, &dst).unwrap();
    assert_eq!(fs::read_to_string(dst.join("a.txt")).unwrap(), "aaaa");
}

#[test]
fn preserves_mtime_and_read_only() {
    let (d, src, _out) = setup();
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    fs::File::options()
        .write(true)
        .open(src.join("a.txt"))
        .unwrap()
        .set_modified(t)
        .unwrap();
    let mut p = fs::metadata(src.join("a.txt")).unwrap().permissions();
    p.set_readonly(true);
    fs::set_permissions(src.join("a.txt"), p).unwrap();
    let dst = d.path().join("dst");
    nfs::copy(&src, &dst).unwrap();
    let md = fs::metadata(dst.join("a.txt")).unwrap();
    assert_eq!(md.modified().unwrap(), t);
    assert!(md.permissions().readonly());
    // A read-only destination is replaced too.
    nfs::copy(&src, &dst).unwrap();
    // Directories keep their source's times.
    let t2 = fs::metadata(src.join("logs")).unwrap().modified().unwrap();
    assert_eq!(
        fs::metadata(dst.join("logs")).unwrap().modified().unwrap(),
        t2
    );
}

#[cfg(unix)]
#[test]
fn mode_applies_to_created_dirs() {
    use std::os::unix::fs::PermissionsExt;
    let (d, src, _out) = setup();
    let dst = d.path().join("dst");
    fs::set_permissions(src.join("logs"), fs::Permissions::from_mode(0o555)).unwrap();
    nfs::copy(&src, &dst).unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(&dst.join("logs")), 0o555, "source mode kept");
    let dst2 = d.path().join("dst2");
    nfs::copy_with(&src, &dst2, &CopyOptions::new().mode(0o750)).unwrap();
    assert_eq!(mode(&dst2), 0o750);
    assert_eq!(mode(&dst2.join("logs")), 0o750);
    assert_eq!(mode(&dst2.join("empty/nested")), 0o750);
    fs::set_permissions(src.join("logs"), fs::Permissions::from_mode(0o755)).unwrap();
}

#[cfg(unix)]
#[test]
fn file_modes_survive_whatever_the_umask_clears() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    let modes = [0o600, 0o644, 0o666, 0o777, 0o444, 0o640, 0o2755];
    for m in modes {
        write(&src.join(format!("f{m:o}")), "x");
        fs::set_permissions(src.join(format!("f{m:o}")), fs::Permissions::from_mode(m)).unwrap();
    }
    let dst = d.path().join("dst");
    nfs::copy(&src, &dst).unwrap();
    for m in modes {
        let got = fs::metadata(dst.join(format!("f{m:o}")))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777;
        assert_eq!(got, m, "{m:o}");
    }
    // Without preserving, files get the default mode (0o666 less the umask).
    let dst2 = d.path().join("dst2");
    nfs::copy_with(&src, &dst2, &CopyOptions::new().preserve_permissions(false)).unwrap();
    let got = fs::metadata(dst2.join("f600"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(got & 0o600, 0o600);
}

#[cfg(unix)]
#[test]
fn non_utf8_names() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    let name = OsStr::from_bytes(b"\xff\xfe dir");
    write(&src.join(name).join(OsStr::from_bytes(b"f\x80.txt")), "x");
    let dst = d.path().join("dst");
    nfs::copy(&src, &dst).unwrap();
    assert_eq!(
        fs::read(dst.join(name).join(OsStr::from_bytes(b"f\x80.txt"))).unwrap(),
        b"x"
    );
}

#[test]
fn dry_run_plans_and_touches_nothing() {
    let (d, src, _out) = setup();
    let dst = d.path().join("dst");
    let opts = CopyOptions::new()
        .symlinks(true)
        .exclude_dirs([".git"])
        .dry_run(true);
    let plan = nfs::copy_with(&src, &dst, &opts).unwrap();
    assert!(!dst.exists());
    assert!(plan.dry_run);
    assert_eq!(
        plan.plan.first(),
        Some(&Action::CreateDir { path: dst.clone() })
    );
    assert!(plan.plan.iter().any(|a| matches!(a,
        Action::CopyFile { dst: p, bytes: 4, .. } if *p == dst.join("a.txt"))));
    assert!(!plan.plan.iter().any(|a| matches!(a,
        Action::CopyFile { src: p, .. } if p.to_string_lossy().contains(".git"))));
    let real = nfs::copy_with(&src, &dst, &opts.clone().dry_run(false)).unwrap();
    assert_eq!(
        (plan.files, plan.dirs, plan.bytes),
        (real.files, real.dirs, real.bytes)
    );
}

#[test]
fn progress_counts_every_file() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let (d, src, _out) = setup();
    let calls = Arc::new(AtomicU64::new(0));
    let max_total = Arc::new(AtomicU64::new(0));
    let (c, m) = (calls.clone(), max_total.clone());
    let r = nfs::copy_with(
        &src,
        d.path().join("dst"),
        &CopyOptions::new().symlinks(true).progress(move |p| {
            c.fetch_add(1, Ordering::Relaxed);
            m.fetch_max(p.files_total, Ordering::Relaxed);
            assert!(p.files_done <= p.files_total && p.bytes_done <= p.bytes_total);
        }),
    )
    .unwrap();
    assert_eq!(calls.load(Ordering::Relaxed), r.files);
    assert_eq!(max_total.load(Ordering::Relaxed), r.files);
}

#[test]
fn many_files_in_parallel_and_in_order_agree() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    for i in 0..300 {
        write(
            &src.join(format!("d{}/f{i}", i % 17)),
            &format!("content {i}"),
        );
    }
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    let ra = nfs::copy(&src, &a).unwrap();
    let rb = nfs::copy_with(&src, &b, &CopyOptions::new().threads(1)).unwrap();
    assert_eq!((ra.files, ra.bytes), (rb.files, rb.bytes));
    assert_eq!(listing(&a), listing(&b));
    for i in 0..300 {
        let p = format!("d{}/f{i}", i % 17);
        assert_eq!(
            fs::read_to_string(a.join(&p)).unwrap(),
            format!("content {i}")
        );
    }
}

#[cfg(unix)]
#[test]
fn following_a_link_loop_is_an_error_naming_it() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    write(&src.join("sub/f"), "x");
    std::os::unix::fs::symlink("..", src.join("sub/up")).unwrap();
    let e = nfs::copy(&src, d.path().join("dst")).unwrap_err();
    assert!(
        matches!(&e, Error::SymlinkLoop { path } if path.ends_with("up")),
        "{e}"
    );
    // As links, the loop is just a link.
    nfs::copy_with(
        &src,
        d.path().join("dst2"),
        &CopyOptions::new().symlinks(true),
    )
    .unwrap();
    assert_eq!(
        fs::read_link(d.path().join("dst2/sub/up")).unwrap(),
        Path::new("..")
    );
}

#[cfg(unix)]
#[test]
fn hard_links_stay_one_file() {
    use std::os::unix::fs::MetadataExt;
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    write(&src.join("a"), "shared");
    fs::create_dir(src.join("sub")).unwrap();
    fs::hard_link(src.join("a"), src.join("sub/b")).unwrap();
    let dst = d.path().join("dst");
    let r = nfs::copy(&src, &dst).unwrap();
    assert_eq!((r.files, r.bytes), (2, 6));
    let (a, b) = (
        fs::metadata(dst.join("a")).unwrap(),
        fs::metadata(dst.join("sub/b")).unwrap(),
    );
    assert_eq!(a.ino(), b.ino());
    assert_eq!(fs::read_to_string(dst.join("sub/b")).unwrap(), "shared");
    let plan = nfs::copy_with(&src, d.path().join("x"), &CopyOptions::new().dry_run(true)).unwrap();
    assert!(
        plan.plan
            .iter()
            .any(|a| matches!(a, Action::HardLink { .. }))
    );
    let dst2 = d.path().join("dst2");
    nfs::copy_with(&src, &dst2, &CopyOptions::new().preserve_hardlinks(false)).unwrap();
    let (a, b) = (
        fs::metadata(dst2.join("a")).unwrap(),
        fs::metadata(dst2.join("sub/b")).unwrap(),
    );
    assert_ne!(a.ino(), b.ino());
}

#[cfg(target_os = "linux")]
#[test]
fn sparse_files_keep_their_holes() {
    use std::io::{Seek, SeekFrom, Write};
    use std::os::unix::fs::MetadataExt;
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("sparse");
    let mut f = fs::File::create(&src).unwrap();
    f.set_len(32 << 20).unwrap();
    f.seek(SeekFrom::Start(8 << 20)).unwrap();
    f.write_all(&[7u8; 70_000]).unwrap();
    drop(f);
    let md = fs::metadata(&src).unwrap();
    if md.blocks() * 512 >= md.len() {
        return; // this file system does not do holes: nothing to check
    }
    let dst = d.path().join("copy");
    let r = nfs::copy(&src, &dst).unwrap();
    assert_eq!(r.bytes, 32 << 20);
    assert_eq!(fs::read(&src).unwrap(), fs::read(&dst).unwrap());
    let cmd = fs::metadata(&dst).unwrap();
    assert_eq!(cmd.len(), 32 << 20);
    assert!(
        cmd.blocks() * 512 < 4 << 20,
        "copy is not sparse: {} blocks",
        cmd.blocks()
    );
}
