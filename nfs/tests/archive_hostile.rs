//! Hostile archives, built here byte by byte, are refused with the entry named, and
//! nothing is written outside the destination (checked over the whole parent tempdir).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use nfs::{Error, UncompressOptions};

/// One raw tar entry: name, type flag, content, link target.
struct E<'a>(&'a [u8], u8, &'a [u8], &'a [u8]);

/// A ustar archive with names written as given (tar::Builder would refuse them).
fn raw_tar(entries: &[E]) -> Vec<u8> {
    let mut out = Vec::new();
    for E(name, kind, data, link) in entries {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name);
        h[100..108].copy_from_slice(b"0000644\0");
        h[108..116].copy_from_slice(b"0000000\0");
        h[116..124].copy_from_slice(b"0000000\0");
        h[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
        h[136..148].copy_from_slice(b"14000000000\0");
        h[156] = *kind;
        h[157..157 + link.len()].copy_from_slice(link);
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Every path under `parent`, relative.
fn listing(parent: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = walkdir::WalkDir::new(parent)
        .min_depth(1)
        .into_iter()
        .map(|e| {
            e.unwrap()
                .path()
                .strip_prefix(parent)
                .unwrap()
                .to_path_buf()
        })
        .collect();
    v.sort();
    v
}

/// Extracts `bytes` (saved as `name`) into `parent/dst` in place and through a temp
/// dir; asserts the refusal names `entry` and that nothing appeared outside `dst`, and
/// that with a temp dir `dst` is left exactly as it was.
fn refused(name: &str, bytes: &[u8], entry: &str, o: UncompressOptions) -> Error {
    let parent = tempfile::tempdir().unwrap();
    let archive = parent.path().join(name);
    fs::write(&archive, bytes).unwrap();
    let dst = parent.path().join("dst");
    fs::create_dir_all(&dst).unwrap();
    fs::write(dst.join("keep.txt"), b"keep").unwrap();
    let before = listing(parent.path());
    // Through a temporary directory: dst untouched.
    let scratch = parent.path().join("scratch");
    let e = nfs::uncompress(&archive, &dst, &o.clone().temp_dir(&scratch)).unwrap_err();
    check_names(&e, entry);
    let after: Vec<PathBuf> = listing(parent.path())
        .into_iter()
        .filter(|p| !p.starts_with("scratch"))
        .collect();
    assert_eq!(
        before, after,
        "dst changed or something was written outside it"
    );
    assert_eq!(
        listing(&scratch),
        Vec::<PathBuf>::new(),
        "temp dir left behind"
    );
    // In place: whatever was written stays inside dst.
    let e = nfs::uncompress(&archive, &dst, &o).unwrap_err();
    check_names(&e, entry);
    for p in listing(parent.path()) {
        assert!(
            p.starts_with("dst") || p.starts_with("scratch") || p == Path::new(name),
            "{} written outside dst ({e})",
            p.display()
        );
    }
    // A dry run refuses the same way and writes nothing at all.
    let fresh = parent.path().join("never");
    let e2 = nfs::uncompress(&archive, &fresh, &o.dry_run(true)).unwrap_err();
    check_names(&e2, entry);
    assert!(!fresh.exists());
    e
}

fn check_names(e: &Error, entry: &str) {
    let s = e.to_string();
    assert!(
        s.contains(&format!("{entry:?}")),
        "error does not name {entry:?}: {s}"
    );
}

fn unsafe_entry(e: &Error) -> bool {
    matches!(e, Error::UnsafeEntry { .. })
}

#[test]
fn dot_dot_escape() {
    let t = raw_tar(&[
        E(b"ok.txt", b'0', b"fine", b""),
        E(b"../evil.txt", b'0', b"evil", b""),
    ]);
    assert!(unsafe_entry(&refused(
        "a.tar",
        &t,
        "../evil.txt",
        UncompressOptions::new()
    )));
    let t = raw_tar(&[E(b"a/b/../../../evil.txt", b'0', b"evil", b"")]);
    assert!(unsafe_entry(&refused(
        "b.tar.gz",
        &gz(&t),
        "a/b/../../../evil.txt",
        UncompressOptions::new()
    )));
}

#[test]
fn absolute_drive_unc_backslash() {
    for name in [
        &b"/tmp/nfs-evil-abs"[..],
        b"C:\\evil.txt",
        b"c:/evil.txt",
        b"\\\\server\\share\\evil",
        b"a\\..\\..\\evil",
        b"//server/share/x",
    ] {
        let t = raw_tar(&[E(name, b'0', b"evil", b"")]);
        let shown = String::from_utf8_lossy(name).into_owned();
        assert!(unsafe_entry(&refused(
            "x.tar",
            &gz(&t),
            &shown,
            UncompressOptions::new()
        )));
    }
    assert!(!Path::new("/tmp/nfs-evil-abs").exists());
}

#[test]
fn symlink_out_then_write_through() {
    // A link pointing out is refused by itself...
    let t = raw_tar(&[
        E(b"link", b'2', b"", b"../outside"),
        E(b"link/evil", b'0', b"evil", b""),
    ]);
    assert!(unsafe_entry(&refused(
        "l.tar",
        &t,
        "link",
        UncompressOptions::new()
    )));
    let t = raw_tar(&[E(b"abs", b'2', b"", b"/etc")]);
    assert!(unsafe_entry(&refused(
        "l2.tar",
        &t,
        "abs",
        UncompressOptions::new()
    )));
    // ...and a link pointing inside cannot be written through either.
    let t = raw_tar(&[
        E(b"sub/", b'5', b"", b""),
        E(b"link", b'2', b"", b"sub"),
        E(b"link/evil", b'0', b"evil", b""),
    ]);
    let e = refused("l3.tar", &t, "link/evil", UncompressOptions::new());
    assert!(e.to_string().contains("symbolic link"), "{e}");
    // A chain of links that looks inside lexically but escapes for real.
    let t = raw_tar(&[
        E(b"d/", b'5', b"", b""),
        E(b"d/up", b'2', b"", b".."),
        E(b"esc", b'2', b"", b"d/up/../.."),
    ]);
    assert!(unsafe_entry(&refused(
        "l4.tar",
        &t,
        "esc",
        UncompressOptions::new()
    )));
}

#[cfg(unix)]
#[test]
fn symlink_already_in_destination_is_not_followed() {
    let parent = tempfile::tempdir().unwrap();
    let outside = parent.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    let dst = parent.path().join("dst");
    fs::create_dir_all(&dst).unwrap();
    std::os::unix::fs::symlink(&outside, dst.join("lib")).unwrap();
    let t = raw_tar(&[E(b"lib/evil.so", b'0', b"evil", b"")]);
    let archive = parent.path().join("a.tar");
    fs::write(&archive, t).unwrap();
    let e = nfs::uncompress(&archive, &dst, &UncompressOptions::new()).unwrap_err();
    check_names(&e, "lib/evil.so");
    assert_eq!(listing(&outside), Vec::<PathBuf>::new());
    // A file entry over an existing link replaces the link, never writes through it.
    fs::write(outside.join("target"), b"precious").unwrap();
    std::os::unix::fs::symlink(outside.join("target"), dst.join("f")).unwrap();
    let t = raw_tar(&[E(b"f", b'0', b"new", b"")]);
    fs::write(&archive, t).unwrap();
    nfs::uncompress(&archive, &dst, &UncompressOptions::new()).unwrap();
    assert_eq!(fs::read(outside.join("target")).unwrap(), b"precious");
    assert!(
        !fs::symlink_metadata(dst.join("f"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read(dst.join("f")).unwrap(), b"new");
}

#[test]
fn hardlinks_out() {
    let t = raw_tar(&[E(b"hl", b'1', b"", b"../../etc/passwd")]);
    assert!(unsafe_entry(&refused(
        "h.tar",
        &t,
        "hl",
        UncompressOptions::new()
    )));
    let t = raw_tar(&[E(b"hl", b'1', b"", b"/etc/passwd")]);
    assert!(unsafe_entry(&refused(
        "h2.tar",
        &t,
        "hl",
        UncompressOptions::new()
    )));
    // A hard link to something the archive did not extract (e.g. a file already in dst).
    let t = raw_tar(&[E(b"hl", b'1', b"", b"keep.txt")]);
    assert!(unsafe_entry(&refused(
        "h3.tar",
        &t,
        "hl",
        UncompressOptions::new()
    )));
}

#[test]
fn hardlink_inside_is_extracted() {
    let parent = tempfile::tempdir().unwrap();
    let t = raw_tar(&[
        E(b"a.txt", b'0', b"data", b""),
        E(b"b.txt", b'1', b"", b"a.txt"),
    ]);
    let archive = parent.path().join("h.tar");
    fs::write(&archive, t).unwrap();
    let dst = parent.path().join("dst");
    nfs::uncompress(&archive, &dst, &UncompressOptions::new()).unwrap();
    assert_eq!(fs::read(dst.join("b.txt")).unwrap(), b"data");
}

#[test]
fn device_nodes_and_fifos() {
    for (kind, what) in [(b'3', "device"), (b'4', "device"), (b'6', "FIFO")] {
        let t = raw_tar(&[E(b"dev/thing", kind, b"", b"")]);
        let e = refused("d.tar", &t, "dev/thing", UncompressOptions::new());
        assert!(e.to_string().contains(what), "{e}");
    }
}

#[test]
fn bombs() {
    // 20 MiB of zeros (past the 16 MiB where the ratio is checked): tiny compressed.
    let zeros = vec![0u8; 20 << 20];
    let t = gz(&raw_tar(&[E(b"zeros", b'0', &zeros, b"")]));
    let e = refused(
        "bomb.tar.gz",
        &t,
        "zeros",
        UncompressOptions::new().max_bytes(4 << 20),
    );
    assert!(
        matches!(
            e,
            Error::ArchiveLimit {
                what: "total size",
                ..
            }
        ),
        "{e}"
    );
    let e = refused(
        "bomb.tar.gz",
        &t,
        "zeros",
        UncompressOptions::new().max_ratio(100),
    );
    assert!(
        matches!(
            e,
            Error::ArchiveLimit {
                what: "compression ratio",
                ..
            }
        ),
        "{e}"
    );
    let t = raw_tar(&[
        E(b"a", b'0', b"", b""),
        E(b"b", b'0', b"", b""),
        E(b"c", b'0', b"", b""),
    ]);
    let e = refused("many.tar", &t, "c", UncompressOptions::new().max_entries(2));
    assert!(
        matches!(
            e,
            Error::ArchiveLimit {
                what: "entry count",
                ..
            }
        ),
        "{e}"
    );
    // The same as a zip.
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    z.start_file("zeros", opts).unwrap();
    z.write_all(&zeros).unwrap();
    let zb = z.finish().unwrap().into_inner();
    let e = refused(
        "bomb.zip",
        &zb,
        "zeros",
        UncompressOptions::new().max_bytes(4 << 20),
    );
    assert!(matches!(e, Error::ArchiveLimit { .. }), "{e}");
}

fn zip_with(build: impl FnOnce(&mut zip::ZipWriter<std::io::Cursor<Vec<u8>>>)) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    build(&mut z);
    z.finish().unwrap().into_inner()
}

#[test]
fn hostile_zips() {
    let o = zip::write::SimpleFileOptions::default();
    for name in [
        "../evil.txt",
        "/tmp/nfs-evil-zip",
        "C:\\evil.txt",
        "a\\..\\..\\evil.txt",
        "a/../../evil.txt",
    ] {
        let zb = zip_with(|z| {
            z.start_file("fine.txt", o).unwrap();
            z.write_all(b"fine").unwrap();
            z.start_file(name, o).unwrap();
            z.write_all(b"evil").unwrap();
        });
        assert!(unsafe_entry(&refused(
            "e.zip",
            &zb,
            name,
            UncompressOptions::new()
        )));
    }
    let zb = zip_with(|z| {
        z.add_symlink("link", "../../outside", o).unwrap();
    });
    assert!(unsafe_entry(&refused(
        "s.zip",
        &zb,
        "link",
        UncompressOptions::new()
    )));
    let zb = zip_with(|z| {
        z.add_directory("sub/", o).unwrap();
        z.add_symlink("link", "sub", o).unwrap();
        z.start_file("link/evil.txt", o).unwrap();
        z.write_all(b"evil").unwrap();
    });
    assert!(unsafe_entry(&refused(
        "s2.zip",
        &zb,
        "link/evil.txt",
        UncompressOptions::new()
    )));
}

#[test]
fn zip_fifo_refused() {
    let o =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut zb = zip_with(|z| {
        z.start_file("pipe", o).unwrap();
    });
    // Patch the central directory's external attributes to S_IFIFO | 0644.
    let cd = zb.windows(4).rposition(|w| w == b"PK\x01\x02").unwrap();
    zb[cd + 4..cd + 6].copy_from_slice(&((3u16 << 8) | 20).to_le_bytes());
    zb[cd + 38..cd + 42].copy_from_slice(&((0o010_644u32) << 16).to_le_bytes());
    let e = refused("f.zip", &zb, "pipe", UncompressOptions::new());
    assert!(e.to_string().contains("FIFO"), "{e}");
}

#[test]
fn gnu_long_names_and_pax_paths_are_checked_too() {
    // A GNU long name entry carrying `../`.
    let long = format!("../{}", "x".repeat(150));
    let mut t = raw_tar(&[E(
        b"././@LongLink",
        b'L',
        format!("{long}\0").as_bytes(),
        b"",
    )]);
    t.truncate(t.len() - 1024);
    t.extend(raw_tar(&[E(b"short", b'0', b"evil", b"")]));
    assert!(unsafe_entry(&refused(
        "g.tar",
        &t,
        &long,
        UncompressOptions::new()
    )));
    // A PAX path record carrying an absolute path.
    let rec = "path=/tmp/nfs-evil-pax\n";
    let rec = format!("{} {rec}", rec.len() + 3);
    let mut t = raw_tar(&[E(b"PaxHeader", b'x', rec.as_bytes(), b"")]);
    t.truncate(t.len() - 1024);
    t.extend(raw_tar(&[E(b"innocent", b'0', b"evil", b"")]));
    assert!(unsafe_entry(&refused(
        "p.tar",
        &t,
        "/tmp/nfs-evil-pax",
        UncompressOptions::new()
    )));
    assert!(!Path::new("/tmp/nfs-evil-pax").exists());
}

#[test]
fn truncated_archive_is_an_error() {
    let parent = tempfile::tempdir().unwrap();
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    let t = gz(&raw_tar(&[E(b"big", b'0', &big, b"")]));
    let archive = parent.path().join("t.tar.gz");
    fs::write(&archive, &t[..t.len() / 2]).unwrap();
    let dst = parent.path().join("dst");
    let e = nfs::uncompress(
        &archive,
        &dst,
        &UncompressOptions::new().temp_dir(parent.path()),
    )
    .unwrap_err();
    assert!(matches!(e, Error::BadArchive { .. }), "{e}");
    assert!(
        !dst.exists(),
        "a failed extraction through a temp dir creates nothing"
    );
}

/// A PAX record: "<len> <key>=<value>\n", the length counting itself.
fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let body_len = key.len() + value.len() + 3;
    let mut n = body_len + body_len.to_string().len();
    if (n).to_string().len() != body_len.to_string().len() {
        n += 1;
    }
    let mut r = format!("{n} {key}=").into_bytes();
    r.extend_from_slice(value);
    r.push(b'\n');
    assert_eq!(r.len(), n);
    r
}

#[test]
fn pax_long_names_and_link_targets_extract() {
    let parent = tempfile::tempdir().unwrap();
    let long_dir = "p".repeat(120);
    let long_file = format!("{long_dir}/{}", "f".repeat(130));
    let mut t = raw_tar(&[E(
        b"PaxHeader",
        b'x',
        &pax_record("path", long_file.as_bytes()),
        b"",
    )]);
    t.truncate(t.len() - 1024);
    t.extend(raw_tar(&[E(b"ignored-name", b'0', b"pax content", b"")]));
    t.truncate(t.len() - 1024);
    let target = format!("{long_dir}/{}", "f".repeat(130));
    let mut link = raw_tar(&[E(
        b"PaxHeader",
        b'x',
        &pax_record("linkpath", target.as_bytes()),
        b"",
    )]);
    link.truncate(link.len() - 1024);
    t.extend(link);
    t.extend(raw_tar(&[E(b"link", b'2', b"", b"ignored")]));
    let archive = parent.path().join("pax.tar");
    fs::write(&archive, t).unwrap();
    let dst = parent.path().join("dst");
    nfs::uncompress(&archive, &dst, &UncompressOptions::new()).unwrap();
    assert_eq!(fs::read(dst.join(&long_file)).unwrap(), b"pax content");
    #[cfg(unix)]
    {
        assert_eq!(fs::read_link(dst.join("link")).unwrap(), Path::new(&target));
        assert_eq!(fs::read(dst.join("link")).unwrap(), b"pax content");
    }
}

#[test]
fn filters_select_entries_to_extract() {
    let parent = tempfile::tempdir().unwrap();
    let t = raw_tar(&[
        E(b"a/", b'5', b"", b""),
        E(b"a/x.log", b'0', b"x", b""),
        E(b"a/y.txt", b'0', b"y", b""),
        E(b"b/z.log", b'0', b"z", b""),
        E(b"b/h.txt", b'1', b"", b"a/y.txt"),
    ]);
    let archive = parent.path().join("f.tar");
    fs::write(&archive, t).unwrap();
    let dst = parent.path().join("logs");
    let r = nfs::uncompress(
        &archive,
        &dst,
        &UncompressOptions::new().filter_files(["*.log"]),
    )
    .unwrap();
    assert!(dst.join("a/x.log").exists() && dst.join("b/z.log").exists());
    assert!(!dst.join("a/y.txt").exists() && !dst.join("b/h.txt").exists());
    assert_eq!(r.skipped, 2);
    let dst = parent.path().join("no-b");
    nfs::uncompress(
        &archive,
        &dst,
        &UncompressOptions::new().exclude_dirs(["b"]),
    )
    .unwrap();
    assert!(dst.join("a/y.txt").exists() && !dst.join("b").exists());
}
