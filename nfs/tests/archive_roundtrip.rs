//! compress → uncompress round trips for every format: content, modes, mtimes,
//! symlinks, empty dirs, long names and (on Unix) non-UTF-8 names; the archives are
//! also checked by independent readers (flate2, the `zip` crate, system `gzip`/`tar`/`unzip`).

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use nfs::{ArchiveFormat, CompressOptions, UncompressOptions};

const FORMATS: [ArchiveFormat; 3] = [ArchiveFormat::TarGz, ArchiveFormat::Tar, ArchiveFormat::Zip];

fn set_mtime(p: &Path, secs: i64) {
    let t = filetime::FileTime::from_unix_time(secs, 0);
    filetime::set_symlink_file_times(p, t, t).unwrap();
}

fn long_name() -> String {
    // Over 100 bytes per component path: needs GNU long names in tar.
    format!("{}/{}.txt", "d".repeat(90), "n".repeat(120))
}

/// A tree with every kind of thing an archive must carry.
fn make_tree(root: &Path) {
    fs::create_dir_all(root.join("sub/deeper")).unwrap();
    fs::create_dir_all(root.join("empty")).unwrap();
    fs::write(root.join("hello.txt"), b"hello\n").unwrap();
    fs::write(root.join("sub/zero"), b"").unwrap();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    fs::write(root.join("sub/deeper/big.bin"), &big).unwrap();
    let text = "line of log text, repeated with a counter\n".repeat(20_000);
    fs::write(root.join("sub/log.txt"), text).unwrap();
    let ln = root.join(long_name());
    fs::create_dir_all(ln.parent().unwrap()).unwrap();
    fs::write(&ln, b"long").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::{PermissionsExt, symlink};
        fs::write(
            root.join(std::ffi::OsStr::from_bytes(b"caf\xe9-latin1")),
            b"bytes",
        )
        .unwrap();
        fs::write(root.join("run.sh"), b"#!/bin/sh\n").unwrap();
        fs::set_permissions(root.join("run.sh"), fs::Permissions::from_mode(0o750)).unwrap();
        fs::write(root.join("ro.txt"), b"ro").unwrap();
        fs::set_permissions(root.join("ro.txt"), fs::Permissions::from_mode(0o444)).unwrap();
        symlink("hello.txt", root.join("link")).unwrap();
        symlink("../hello.txt", root.join("sub/uplink")).unwrap();
        symlink("deeper", root.join("sub/dirlink")).unwrap();
        // A target over 100 bytes: a GNU long link name in tar.
        symlink(long_name(), root.join("longlink")).unwrap();
        fs::set_permissions(root.join("sub/deeper"), fs::Permissions::from_mode(0o700)).unwrap();
    }
    // Fixed, distinct times, set children first.
    let mut paths: Vec<PathBuf> = walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .collect();
    paths.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for (i, p) in paths.iter().enumerate() {
        set_mtime(p, 1_600_000_000 + i as i64 * 100);
    }
}

#[derive(Debug, PartialEq)]
struct Node {
    kind: &'static str,
    content: Vec<u8>,
    mode: u32,
    mtime: i64,
}

fn snapshot(root: &Path, with_dir_times: bool) -> Vec<(PathBuf, Node)> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(root).min_depth(1).sort_by_file_name() {
        let e = e.unwrap();
        let m = fs::symlink_metadata(e.path()).unwrap();
        let rel = e.path().strip_prefix(root).unwrap().to_path_buf();
        let (kind, content) = if m.file_type().is_symlink() {
            (
                "link",
                fs::read_link(e.path())
                    .unwrap()
                    .into_os_string()
                    .into_encoded_bytes(),
            )
        } else if m.is_dir() {
            ("dir", Vec::new())
        } else {
            ("file", fs::read(e.path()).unwrap())
        };
        #[cfg(unix)]
        let mode = {
            use std::os::unix::fs::PermissionsExt;
            if kind == "link" {
                0
            } else {
                m.permissions().mode() & 0o777
            }
        };
        #[cfg(not(unix))]
        let mode = 0;
        let mtime = if kind == "link" || (kind == "dir" && !with_dir_times) {
            0
        } else {
            filetime::FileTime::from_last_modification_time(&m).unix_seconds()
        };
        out.push((
            rel,
            Node {
                kind,
                content,
                mode,
                mtime,
            },
        ));
    }
    out
}

fn assert_same(a: &[(PathBuf, Node)], b: &[(PathBuf, Node)]) {
    assert_eq!(
        a.len(),
        b.len(),
        "entry count: {:?} vs {:?}",
        a.iter().map(|x| &x.0).collect::<Vec<_>>(),
        b.iter().map(|x| &x.0).collect::<Vec<_>>()
    );
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.0, y.0);
        assert_eq!(x.1, y.1, "{}", x.0.display());
    }
}

#[test]
fn round_trip_every_format() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("app");
    make_tree(&src);
    let want = snapshot(&src, true);
    for format in FORMATS {
        for temp in [false, true] {
            let out = tmp.path().join(format!("out-{format}-{temp}"));
            let archive =
                nfs::compress(&src, &out, &CompressOptions::new().format(format)).unwrap();
            assert_eq!(archive, out.join(format!("app.{}", format.extension())));
            let dst = tmp.path().join(format!("x-{format}-{temp}"));
            let mut o = UncompressOptions::new();
            if temp {
                o = o.temp_dir(tmp.path().join("scratch"));
            }
            let report = nfs::uncompress(&archive, &dst, &o).unwrap();
            assert!(report.files >= 8, "{report:?}");
            assert_same(&want, &snapshot(&dst.join("app"), true));
        }
    }
}

#[test]
fn root_and_name_options() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("app");
    make_tree(&src);
    for format in FORMATS {
        let o = CompressOptions::new()
            .format(format)
            .name("pkg-1.0")
            .root("");
        let archive = nfs::compress(&src, tmp.path(), &o).unwrap();
        assert_eq!(
            archive.file_name().unwrap().to_str().unwrap(),
            format!("pkg-1.0.{}", format.extension())
        );
        let dst = tmp.path().join(format!("flat-{format}"));
        nfs::uncompress(&archive, &dst, &UncompressOptions::new()).unwrap();
        assert_eq!(fs::read(dst.join("hello.txt")).unwrap(), b"hello\n");
        let o = CompressOptions::new()
            .format(format)
            .name("nested")
            .root("a/b");
        let archive = nfs::compress(&src, tmp.path(), &o).unwrap();
        let dst = tmp.path().join(format!("nested-{format}"));
        nfs::uncompress(&archive, &dst, &UncompressOptions::new()).unwrap();
        assert_eq!(fs::read(dst.join("a/b/hello.txt")).unwrap(), b"hello\n");
    }
}

#[test]
fn filters_apply_to_compress() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("app");
    make_tree(&src);
    fs::create_dir_all(src.join(".git/objects")).unwrap();
    fs::write(src.join(".git/objects/x"), b"git").unwrap();
    fs::write(src.join("sub/a.pyc"), b"pyc").unwrap();
    let o = CompressOptions::new()
        .exclude_dirs([".git"])
        .exclude_files(["*.pyc"])
        .format(ArchiveFormat::Zip);
    let archive = nfs::compress(&src, tmp.path(), &o).unwrap();
    let dst = tmp.path().join("x");
    nfs::uncompress(&archive, &dst, &UncompressOptions::new()).unwrap();
    assert!(!dst.join("app/.git").exists());
    assert!(!dst.join("app/sub/a.pyc").exists());
    assert!(dst.join("app/sub/log.txt").exists());
    // Include lists: only *.txt, and only the directories holding them.
    let o = CompressOptions::new().filter_files(["*.txt"]).name("txt");
    let archive = nfs::compress(&src, tmp.path(), &o).unwrap();
    let dst = tmp.path().join("y");
    nfs::uncompress(&archive, &dst, &UncompressOptions::new()).unwrap();
    assert!(dst.join("app/sub/log.txt").exists());
    assert!(!dst.join("app/empty").exists());
    assert!(!dst.join("app/run.sh").exists());
}

#[test]
fn reproducible_output_is_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("app");
    make_tree(&src);
    for format in FORMATS {
        let o = CompressOptions::new().format(format).reproducible(true);
        let a = fs::read(nfs::compress(&src, tmp.path().join("r1"), &o).unwrap()).unwrap();
        // Touch everything: times must not matter.
        for e in walkdir::WalkDir::new(&src) {
            set_mtime(e.unwrap().path(), 1_700_000_000);
        }
        let b =
            fs::read(nfs::compress(&src, tmp.path().join("r2"), &o.clone().threads(1)).unwrap())
                .unwrap();
        assert!(a == b, "{format} differs");
        make_tree_times(&src);
    }
}

fn make_tree_times(src: &Path) {
    for (i, e) in walkdir::WalkDir::new(src).into_iter().enumerate() {
        set_mtime(e.unwrap().path(), 1_600_000_000 + i as i64);
    }
}

#[test]
fn dry_runs_touch_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("app");
    make_tree(&src);
    let out = tmp.path().join("out");
    let c = nfs::compress_report(&src, &out, &CompressOptions::new().dry_run(true)).unwrap();
    assert!(!out.exists());
    assert!(c.report.dry_run && c.report.plan.len() as u64 == c.report.files + c.report.dirs);
    let archive = nfs::compress(&src, &out, &CompressOptions::new()).unwrap();
    let dst = tmp.path().join("dst");
    let r = nfs::uncompress(&archive, &dst, &UncompressOptions::new().dry_run(true)).unwrap();
    assert!(!dst.exists());
    assert!(r.dry_run && !r.plan.is_empty());
    assert_eq!(r.files, c.report.files);
}

#[test]
fn overwrite_policy() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("app");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("a"), b"new").unwrap();
    fs::write(src.join("b"), b"new").unwrap();
    for format in FORMATS {
        let archive =
            nfs::compress(&src, tmp.path(), &CompressOptions::new().format(format)).unwrap();
        let dst = tmp.path().join(format!("d-{format}"));
        fs::create_dir_all(dst.join("app")).unwrap();
        fs::write(dst.join("app/a"), b"old").unwrap();
        let r = nfs::uncompress(
            &archive,
            &dst,
            &UncompressOptions::new().overwrite(nfs::Overwrite::Never),
        )
        .unwrap();
        assert_eq!(fs::read(dst.join("app/a")).unwrap(), b"old");
        assert_eq!(fs::read(dst.join("app/b")).unwrap(), b"new");
        assert_eq!(r.skipped, 1);
        nfs::uncompress(&archive, &dst, &UncompressOptions::new()).unwrap();
        assert_eq!(fs::read(dst.join("app/a")).unwrap(), b"new");
        // Same with extraction through a temporary directory.
        fs::write(dst.join("app/a"), b"old").unwrap();
        let o = UncompressOptions::new()
            .overwrite(nfs::Overwrite::Never)
            .temp_dir(tmp.path().join("t"));
        nfs::uncompress(&archive, &dst, &o).unwrap();
        assert_eq!(fs::read(dst.join("app/a")).unwrap(), b"old");
        // IfNewer: an existing file newer than the entry stays, an older one goes.
        let entry_time = fs::metadata(src.join("a")).unwrap().modified().unwrap();
        let later =
            filetime::FileTime::from_system_time(entry_time + std::time::Duration::from_secs(100));
        let earlier =
            filetime::FileTime::from_system_time(entry_time - std::time::Duration::from_secs(100));
        filetime::set_file_mtime(dst.join("app/a"), later).unwrap();
        fs::write(dst.join("app/b"), b"old").unwrap();
        filetime::set_file_mtime(dst.join("app/b"), earlier).unwrap();
        for temp in [false, true] {
            let mut o = UncompressOptions::new().overwrite(nfs::Overwrite::IfNewer);
            if temp {
                o = o.temp_dir(tmp.path().join("t"));
            }
            nfs::uncompress(&archive, &dst, &o).unwrap();
            assert_eq!(fs::read(dst.join("app/a")).unwrap(), b"old");
            assert_eq!(fs::read(dst.join("app/b")).unwrap(), b"new");
            fs::write(dst.join("app/b"), b"old").unwrap();
            filetime::set_file_mtime(dst.join("app/b"), earlier).unwrap();
        }
        // Error: with a temp dir, nothing is moved when one file exists.
        fs::remove_file(dst.join("app/b")).unwrap();
        let o = UncompressOptions::new()
            .overwrite(nfs::Overwrite::Error)
            .temp_dir(tmp.path().join("t"));
        let e = nfs::uncompress(&archive, &dst, &o).unwrap_err();
        assert!(matches!(e, nfs::Error::Exists { .. }), "{e}");
        assert!(!dst.join("app/b").exists());
    }
    // An existing archive is kept when asked.
    let e = nfs::compress(&src, tmp.path(), &CompressOptions::new().overwrite(false)).unwrap_err();
    assert!(matches!(e, nfs::Error::Exists { .. }), "{e}");
}

#[test]
fn progress_reaches_the_total() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("app");
    make_tree(&src);
    let last = std::sync::Arc::new(std::sync::Mutex::new(None));
    let l = last.clone();
    let o = CompressOptions::new().progress(move |p| *l.lock().unwrap() = Some(p.clone()));
    nfs::compress(&src, tmp.path(), &o).unwrap();
    let p = last.lock().unwrap().clone().unwrap();
    assert_eq!(p.files_done, p.files_total);
    assert_eq!(p.bytes_done, p.bytes_total);
    // A zip's totals are known before extraction starts.
    let zip = nfs::compress(
        &src,
        tmp.path(),
        &CompressOptions::new().format(ArchiveFormat::Zip),
    )
    .unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    let o = UncompressOptions::new().progress(move |p| s.lock().unwrap().push(p.clone()));
    let r = nfs::uncompress(&zip, tmp.path().join("x"), &o).unwrap();
    let seen = seen.lock().unwrap();
    let last = seen.iter().max_by_key(|p| p.files_done).unwrap();
    assert_eq!((last.files_done, last.files_total), (r.files, r.files));
    assert_eq!((last.bytes_done, last.bytes_total), (r.bytes, r.bytes));
    assert!(seen.iter().all(|p| p.bytes_done <= p.bytes_total));
}

#[test]
fn format_from_content_not_name() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("app");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("a"), b"x").unwrap();
    for format in FORMATS {
        let archive =
            nfs::compress(&src, tmp.path(), &CompressOptions::new().format(format)).unwrap();
        let renamed = tmp.path().join(format!("mystery-{format}.bin"));
        fs::rename(&archive, &renamed).unwrap();
        let dst = tmp.path().join(format!("m-{format}"));
        nfs::uncompress(&renamed, &dst, &UncompressOptions::new()).unwrap();
        assert_eq!(fs::read(dst.join("app/a")).unwrap(), b"x");
    }
    fs::write(
        tmp.path().join("junk.tar.gz"),
        b"this is not an archive at all, but long enough to sniff",
    )
    .unwrap();
    let e = nfs::uncompress(
        tmp.path().join("junk.tar.gz"),
        tmp.path().join("j"),
        &UncompressOptions::new(),
    )
    .unwrap_err();
    assert!(matches!(e, nfs::Error::BadArchive { .. }), "{e}");
}

#[test]
fn gzip_is_one_valid_stream_for_every_reader() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("app");
    make_tree(&src);
    let archive = nfs::compress(&src, tmp.path(), &CompressOptions::new()).unwrap();
    let bytes = fs::read(&archive).unwrap();
    // A single-member decoder must read it all: one gzip stream, not several members.
    let mut tar_bytes = Vec::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_end(&mut tar_bytes)
        .unwrap();
    let mut names = Vec::new();
    for e in tar::Archive::new(&tar_bytes[..]).entries().unwrap() {
        names.push(e.unwrap().path_bytes().into_owned());
    }
    assert!(names.iter().any(|n| n.ends_with(b"big.bin")));
    assert!(names.iter().any(|n| n.len() > 200), "long name kept");
    if Command::new("gzip").arg("--version").output().is_ok() {
        let st = Command::new("gzip")
            .arg("-t")
            .arg(&archive)
            .status()
            .unwrap();
        assert!(st.success(), "gzip -t");
    }
    if Command::new("tar").arg("--version").output().is_ok() {
        let o = Command::new("tar")
            .arg("tzf")
            .arg(&archive)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "tar tzf: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(
            o.stdout
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .count(),
            names.len()
        );
        let x = tmp.path().join("by-tar");
        fs::create_dir_all(&x).unwrap();
        let st = Command::new("tar")
            .arg("xzf")
            .arg(&archive)
            .arg("-C")
            .arg(&x)
            .status()
            .unwrap();
        assert!(st.success());
        assert_same(&snapshot(&src, false), &snapshot(&x.join("app"), false));
    }
}

#[test]
fn zip_is_read_by_other_readers() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("app");
    make_tree(&src);
    let archive = nfs::compress(
        &src,
        tmp.path(),
        &CompressOptions::new().format(ArchiveFormat::Zip),
    )
    .unwrap();
    let mut za = zip::ZipArchive::new(fs::File::open(&archive).unwrap()).unwrap();
    let mut found = false;
    for i in 0..za.len() {
        let mut f = za.by_index(i).unwrap();
        let mut v = Vec::new();
        f.read_to_end(&mut v).unwrap(); // checks the CRC
        if f.name_raw().ends_with(b"big.bin") {
            found = v.len() == 3_000_000;
        }
    }
    assert!(found);
    if Command::new("unzip")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        let o = Command::new("unzip")
            .arg("-tq")
            .arg(&archive)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "unzip -t: {}",
            String::from_utf8_lossy(&o.stdout)
        );
        let x = tmp.path().join("by-unzip");
        let st = Command::new("unzip")
            .arg("-q")
            .arg(&archive)
            .arg("-d")
            .arg(&x)
            .status()
            .unwrap();
        assert!(st.success());
        assert_eq!(
            fs::read(x.join("app/sub/log.txt")).unwrap(),
            fs::read(src.join("sub/log.txt")).unwrap()
        );
        #[cfg(unix)]
        assert_eq!(
            fs::read_link(x.join("app/link")).unwrap(),
            Path::new("hello.txt")
        );
    }
}

#[test]
fn single_file_source() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("notes.txt");
    fs::write(&f, b"notes").unwrap();
    for format in FORMATS {
        let archive = nfs::compress(
            &f,
            tmp.path().join("o"),
            &CompressOptions::new().format(format),
        )
        .unwrap();
        assert_eq!(
            archive.file_name().unwrap().to_str().unwrap(),
            format!("notes.txt.{}", format.extension())
        );
        let dst = tmp.path().join(format!("s-{format}"));
        nfs::uncompress(&archive, &dst, &UncompressOptions::new()).unwrap();
        assert_eq!(fs::read(dst.join("notes.txt")).unwrap(), b"notes");
    }
}

#[cfg(unix)]
#[test]
fn source_given_as_a_link_is_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("real");
    fs::create_dir_all(&real).unwrap();
    fs::write(real.join("a"), b"content").unwrap();
    let link = tmp.path().join("app");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let archive = nfs::compress(&link, tmp.path().join("o"), &CompressOptions::new()).unwrap();
    assert!(archive.ends_with("app.tar.gz"));
    let dst = tmp.path().join("x");
    nfs::uncompress(&archive, &dst, &UncompressOptions::new()).unwrap();
    assert_eq!(fs::read(dst.join("app/a")).unwrap(), b"content");
}

#[cfg(feature = "zstd")]
#[test]
fn tar_zst_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("app");
    make_tree(&src);
    let want = snapshot(&src, true);
    let o = CompressOptions::new().format(ArchiveFormat::TarZst);
    let archive = nfs::compress(&src, tmp.path().join("o"), &o).unwrap();
    assert!(archive.ends_with("app.tar.zst"));
    assert_eq!(&fs::read(&archive).unwrap()[..4], &[0x28, 0xb5, 0x2f, 0xfd]);
    let dst = tmp.path().join("x");
    nfs::uncompress(&archive, &dst, &UncompressOptions::new()).unwrap();
    assert_same(&want, &snapshot(&dst.join("app"), true));
    if Command::new("zstd").arg("--version").output().is_ok() {
        let st = Command::new("zstd")
            .arg("-tq")
            .arg(&archive)
            .status()
            .unwrap();
        assert!(st.success(), "zstd -t");
    }
}

#[cfg(not(feature = "zstd"))]
#[test]
fn tar_zst_without_the_feature_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let o = CompressOptions::new().format(ArchiveFormat::TarZst);
    let e = nfs::compress(tmp.path(), tmp.path().join("o"), &o).unwrap_err();
    assert!(e.to_string().contains("`zstd` feature"), "{e}");
    assert!(!tmp.path().join("o").exists());
    let z = tmp.path().join("a.tar.zst");
    fs::write(&z, [0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]).unwrap();
    let e = nfs::uncompress(&z, tmp.path().join("x"), &UncompressOptions::new()).unwrap_err();
    assert!(
        matches!(e, nfs::Error::BadArchive { .. }) && e.to_string().contains("`zstd` feature"),
        "{e}"
    );
}

#[cfg(unix)]
#[test]
fn follow_links_stores_what_links_point_to() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("shared");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("lib.txt"), b"shared lib").unwrap();
    let src = tmp.path().join("app");
    fs::create_dir_all(&src).unwrap();
    symlink(&outside, src.join("lib")).unwrap();
    symlink("missing", src.join("dangling")).unwrap();
    symlink("..", src.join("loop")).unwrap();
    let o = CompressOptions::new()
        .follow_links(true)
        .format(ArchiveFormat::Zip);
    let e = nfs::compress(&src, tmp.path().join("o"), &o).unwrap_err();
    assert!(matches!(e, nfs::Error::SymlinkLoop { .. }), "{e}");
    fs::remove_file(src.join("loop")).unwrap();
    let archive = nfs::compress(&src, tmp.path().join("o"), &o).unwrap();
    let dst = tmp.path().join("x");
    nfs::uncompress(&archive, &dst, &UncompressOptions::new()).unwrap();
    let lib = dst.join("app/lib");
    assert!(fs::symlink_metadata(&lib).unwrap().is_dir());
    assert_eq!(fs::read(lib.join("lib.txt")).unwrap(), b"shared lib");
    let dangling = fs::symlink_metadata(dst.join("app/dangling")).unwrap();
    assert!(dangling.file_type().is_symlink());
    // Without it, the link stays a link (and points outside, so extracting refuses it).
    let archive = nfs::compress(&src, tmp.path().join("p"), &CompressOptions::new()).unwrap();
    let e = nfs::uncompress(&archive, tmp.path().join("y"), &UncompressOptions::new()).unwrap_err();
    assert!(matches!(e, nfs::Error::UnsafeEntry { .. }), "{e}");
}

#[test]
fn glob_sources() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("app/logs");
    fs::create_dir_all(logs.join("old")).unwrap();
    fs::write(logs.join("a.log"), b"a").unwrap();
    fs::write(logs.join("b.log"), b"b").unwrap();
    fs::write(logs.join("keep.conf"), b"c").unwrap();
    fs::write(logs.join("old/c.log"), b"c").unwrap();
    for format in FORMATS {
        let o = CompressOptions::new().format(format);
        let archive = nfs::compress(logs.join("*.log"), tmp.path().join("o"), &o).unwrap();
        assert!(archive.ends_with(format!("logs.{}", format.extension())));
        let dst = tmp.path().join(format!("x-{format}"));
        let r = nfs::uncompress(&archive, &dst, &UncompressOptions::new()).unwrap();
        assert_eq!(r.files, 2, "{format}");
        assert_eq!(fs::read(dst.join("logs/a.log")).unwrap(), b"a");
        assert!(dst.join("logs/b.log").exists() && !dst.join("logs/keep.conf").exists());
        assert!(!dst.join("logs/old").exists());
    }
    // `**` crosses directories; filters still apply to the matches.
    let o = CompressOptions::new().name("all").exclude_files(["b.*"]);
    let archive = nfs::compress(logs.join("**/*.log"), tmp.path().join("o"), &o).unwrap();
    let dst = tmp.path().join("all");
    nfs::uncompress(&archive, &dst, &UncompressOptions::new()).unwrap();
    assert!(dst.join("logs/old/c.log").exists() && dst.join("logs/a.log").exists());
    assert!(!dst.join("logs/b.log").exists());
    let e = nfs::compress(
        logs.join("*.nothing"),
        tmp.path().join("o"),
        &CompressOptions::new(),
    )
    .unwrap_err();
    assert!(matches!(e, nfs::Error::NoMatch { .. }), "{e}");
}
