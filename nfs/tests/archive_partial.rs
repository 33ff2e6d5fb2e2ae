//! A failed extraction never leaves a truncated file under its final name, nor a
//! temporary file: every regular file is written under a temporary name in its
//! directory and renamed into place only when complete.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use nfs::{Error, Overwrite, UncompressOptions};

/// Every path under `dir`, relative, sorted.
fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|e| e.unwrap().path().strip_prefix(dir).unwrap().to_path_buf())
        .collect();
    v.sort();
    v
}

fn assert_no_temp(dir: &Path) {
    for p in listing(dir) {
        assert!(
            !p.to_string_lossy().contains(".nfs-tmp-"),
            "temporary file left behind: {}",
            p.display()
        );
    }
}

/// A tar.gz of `(name, content)` files, built with `tar::Builder`.
fn tar_gz(files: &[(&str, &[u8])]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    let mut b = tar::Builder::new(gz);
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_size(data.len() as u64);
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in files {
        z.start_file(*name, opts).unwrap();
        z.write_all(data).unwrap();
    }
    z.finish().unwrap().into_inner()
}

/// Bytes deflate cannot shrink (so a cut in the compressed stream lands in them).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

fn is_ratio_limit(e: &Error) -> bool {
    matches!(
        e,
        Error::ArchiveLimit {
            what: "compression ratio",
            ..
        }
    )
}

#[test]
fn bomb_tripping_the_ratio_mid_entry_leaves_nothing() {
    // 24 MiB of zeros: the ratio is checked past 16 MiB, so the limit trips in the middle
    // of the entry, after several chunks were handed to a writer.
    let zeros = vec![0u8; 24 << 20];
    let bomb = tar_gz(&[("zeros", &zeros)]);
    let parent = tempfile::tempdir().unwrap();
    let archive = parent.path().join("bomb.tar.gz");
    fs::write(&archive, &bomb).unwrap();
    for threads in [1, 4] {
        let dst = parent.path().join(format!("out{threads}"));
        let e = nfs::uncompress(
            &archive,
            &dst,
            &UncompressOptions::new().max_ratio(10).threads(threads),
        )
        .unwrap_err();
        assert!(is_ratio_limit(&e), "{e}");
        assert!(e.to_string().contains("\"zeros\""), "{e}");
        assert_eq!(listing(&dst), Vec::<PathBuf>::new(), "{e}");
    }
}

#[test]
fn zip_bomb_refused_from_its_declared_sizes_before_writing() {
    let zeros = vec![0u8; 20 << 20];
    let parent = tempfile::tempdir().unwrap();
    let archive = parent.path().join("bomb.zip");
    // A small file first: refused up front, it is not written either.
    fs::write(
        &archive,
        zip_of(&[("first.txt", b"hello"), ("zeros", &zeros)]),
    )
    .unwrap();
    let dst = parent.path().join("out");
    let e = nfs::uncompress(&archive, &dst, &UncompressOptions::new().max_ratio(100)).unwrap_err();
    assert!(is_ratio_limit(&e), "{e}");
    assert!(e.to_string().contains("\"zeros\""), "{e}");
    assert_eq!(listing(&dst), Vec::<PathBuf>::new());
    // The total of the declared sizes counts, not only each entry's: `a` fits, `a` and
    // `b` do not, and neither is written.
    fs::write(
        &archive,
        zip_of(&[("a", &zeros[..3 << 20]), ("b", &zeros[..3 << 20])]),
    )
    .unwrap();
    let e =
        nfs::uncompress(&archive, &dst, &UncompressOptions::new().max_bytes(5 << 20)).unwrap_err();
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
    assert_eq!(listing(&dst), Vec::<PathBuf>::new());
}

#[test]
fn truncated_second_file_leaves_no_partial_file() {
    let first = b"complete\n".to_vec();
    let second = noise(3 << 20, 7);
    let tgz = tar_gz(&[("dir/first.txt", &first), ("dir/second.bin", &second)]);
    let parent = tempfile::tempdir().unwrap();
    let archive = parent.path().join("cut.tar.gz");
    // The cut lands in the middle of the second file's data.
    fs::write(&archive, &tgz[..tgz.len() * 2 / 3]).unwrap();
    for threads in [1, 4] {
        let dst = parent.path().join(format!("out{threads}"));
        let e = nfs::uncompress(&archive, &dst, &UncompressOptions::new().threads(threads))
            .unwrap_err();
        assert!(matches!(e, Error::BadArchive { .. }), "{e}");
        assert_eq!(
            listing(&dst),
            [PathBuf::from("dir"), PathBuf::from("dir/first.txt")],
            "{e}"
        );
        assert_eq!(fs::read(dst.join("dir/first.txt")).unwrap(), first);
    }
    // An older file under the final name is left as it was.
    let dst = parent.path().join("existing");
    fs::create_dir_all(dst.join("dir")).unwrap();
    fs::write(dst.join("dir/second.bin"), b"old").unwrap();
    let e = nfs::uncompress(
        &archive,
        &dst,
        &UncompressOptions::new().overwrite(Overwrite::Always),
    )
    .unwrap_err();
    assert!(matches!(e, Error::BadArchive { .. }), "{e}");
    assert_eq!(fs::read(dst.join("dir/second.bin")).unwrap(), b"old");
    assert_no_temp(&dst);
}

#[test]
fn success_leaves_no_temporary_file() {
    let big = noise(3 << 20, 11);
    let files: Vec<(String, Vec<u8>)> = (0..40)
        .map(|i| {
            (
                format!("d{}/f{i}.txt", i % 5),
                format!("file {i}\n").into_bytes(),
            )
        })
        .chain([("d0/big.bin".to_owned(), big.clone())])
        .collect();
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let parent = tempfile::tempdir().unwrap();
    for (name, bytes) in [("a.tar.gz", tar_gz(&refs)), ("a.zip", zip_of(&refs))] {
        let archive = parent.path().join(name);
        fs::write(&archive, bytes).unwrap();
        let dst = parent.path().join(format!("out-{name}"));
        for policy in [Overwrite::Always, Overwrite::Never, Overwrite::IfNewer] {
            let r = nfs::uncompress(
                &archive,
                &dst,
                &UncompressOptions::new().threads(4).overwrite(policy),
            )
            .unwrap();
            assert_eq!(r.files + r.skipped, 41, "{name} {policy:?}");
            assert_no_temp(&dst);
        }
        assert_eq!(fs::read(dst.join("d0/big.bin")).unwrap(), big);
        assert_eq!(fs::read(dst.join("d3/f8.txt")).unwrap(), b"file 8\n");
        // Through a temporary directory too.
        let staged = parent.path().join(format!("staged-{name}"));
        let scratch = parent.path().join("scratch");
        nfs::uncompress(
            &archive,
            &staged,
            &UncompressOptions::new().temp_dir(&scratch),
        )
        .unwrap();
        assert_no_temp(&staged);
        assert_eq!(listing(&scratch), Vec::<PathBuf>::new());
    }
}

#[test]
fn overwrite_policies_still_apply() {
    let parent = tempfile::tempdir().unwrap();
    let archive = parent.path().join("a.tar.gz");
    fs::write(&archive, tar_gz(&[("f.txt", b"new")])).unwrap();
    let dst = parent.path().join("out");
    fs::create_dir_all(&dst).unwrap();
    fs::write(dst.join("f.txt"), b"old").unwrap();
    let never = UncompressOptions::new().overwrite(Overwrite::Never);
    let r = nfs::uncompress(&archive, &dst, &never).unwrap();
    assert_eq!((r.files, r.skipped), (0, 1));
    assert_eq!(fs::read(dst.join("f.txt")).unwrap(), b"old");
    let e = nfs::uncompress(
        &archive,
        &dst,
        &UncompressOptions::new().overwrite(Overwrite::Error),
    )
    .unwrap_err();
    assert!(matches!(e, Error::Exists { .. }), "{e}");
    assert_eq!(fs::read(dst.join("f.txt")).unwrap(), b"old");
    nfs::uncompress(&archive, &dst, &UncompressOptions::new()).unwrap();
    assert_eq!(fs::read(dst.join("f.txt")).unwrap(), b"new");
    assert_eq!(listing(&dst), [PathBuf::from("f.txt")]);
}

/// An existing link under the final name is replaced, never written through.
#[cfg(unix)]
#[test]
fn existing_link_is_replaced_not_followed() {
    let parent = tempfile::tempdir().unwrap();
    let archive = parent.path().join("a.tar.gz");
    fs::write(&archive, tar_gz(&[("f.txt", b"new")])).unwrap();
    let outside = parent.path().join("outside.txt");
    fs::write(&outside, b"outside").unwrap();
    let dst = parent.path().join("out");
    fs::create_dir_all(&dst).unwrap();
    std::os::unix::fs::symlink(&outside, dst.join("f.txt")).unwrap();
    nfs::uncompress(&archive, &dst, &UncompressOptions::new()).unwrap();
    assert_eq!(fs::read(&outside).unwrap(), b"outside");
    assert!(
        !fs::symlink_metadata(dst.join("f.txt"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read(dst.join("f.txt")).unwrap(), b"new");
}
