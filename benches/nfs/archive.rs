//! Archive comparisons: tar.gz vs `tar czf` (and `tar -I pigz` when pigz is there, or
//! can be installed with apt-get), zip vs `zip -qr`, uncompress vs `tar xzf` and
//! `unzip -q`. Ours and theirs alternate in one loop; sizes are printed with the times.
//!
//! `main.rs` calls [`run`] once per place (tmpfs, disk) after copy and remove.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{Pair, have, time_ours, tool};
use nfs::{ArchiveFormat, CompressOptions, UncompressOptions};

/// Installs pigz once if it is missing and apt-get can (the bench only; never tests).
fn ensure_pigz() -> bool {
    if have("pigz") {
        return true;
    }
    if std::env::var_os("NFS_BENCH_NO_INSTALL").is_some() || !have("apt-get") {
        return false;
    }
    let ok = Command::new("apt-get")
        .args(["install", "-y", "-qq", "pigz"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok && have("pigz")
}

fn size(p: &Path) -> u64 {
    fs::metadata(p).map_or(0, |m| m.len())
}

fn fresh(p: &Path) {
    if p.exists() {
        let _ = Command::new("rm").arg("-rf").arg(p).status();
    }
    fs::create_dir_all(p).expect("create a scratch dir");
}

fn size_line(place: &str, what: &str, ours: u64, theirs: u64, peer: &str) {
    println!(
        "{place:>5}  {what:<22} ours {:>8.2} MiB   {peer:<14} {:>8.2} MiB   size  {:>+5.2}%",
        ours as f64 / 1048576.0,
        theirs as f64 / 1048576.0,
        (ours as f64 / theirs.max(1) as f64 - 1.0) * 100.0
    );
}

/// Run the archive comparisons on `tree`.
pub fn run(place: &str, work: &Path, tree: &Path, rounds: usize) {
    let parent = tree.parent().unwrap_or(work);
    let name = tree
        .file_name()
        .map(PathBuf::from)
        .unwrap_or_else(|| "tree".into());
    let ours_dir = work.join("arch-ours");
    let theirs_dir = work.join("arch-theirs");
    fresh(&ours_dir);
    fresh(&theirs_dir);
    let pigz = ensure_pigz();
    let zip_tool = have("zip");
    let unzip_tool = have("unzip");

    let mut targz = Pair::new("tar.gz", "tar czf");
    let mut targz_pigz = Pair::new("tar.gz", "tar -I pigz");
    let mut zip = Pair::new("zip", "zip -qr");
    let mut untargz = Pair::new("uncompress tar.gz", "tar xzf");
    let mut unzip = Pair::new("uncompress zip", "unzip -q");
    let (mut our_gz, mut our_zip) = (PathBuf::new(), PathBuf::new());
    let their_gz = theirs_dir.join("tree.tar.gz");
    let pigz_gz = theirs_dir.join("tree-pigz.tar.gz");
    let their_zip = theirs_dir.join("tree.zip");
    let gz_opts = CompressOptions::new().name("tree");
    let zip_opts = CompressOptions::new()
        .name("tree")
        .format(ArchiveFormat::Zip);
    for round in 0..rounds {
        let ours_first = round % 2 == 0;
        for turn in 0..2 {
            if (turn == 0) == ours_first {
                let (d, c, r) = time_ours(|| nfs::compress(tree, &ours_dir, &gz_opts));
                our_gz = r.expect("nfs::compress tar.gz");
                targz.ours(d, c);
                targz_pigz.ours(d, c);
            } else {
                let _ = fs::remove_file(&their_gz);
                targz.theirs(tool(
                    "tar",
                    &[&"czf", &their_gz, &"-C", &parent, &name],
                    None,
                ));
                if pigz {
                    let _ = fs::remove_file(&pigz_gz);
                    targz_pigz.theirs(tool(
                        "tar",
                        &[&"-I", &"pigz", &"-cf", &pigz_gz, &"-C", &parent, &name],
                        None,
                    ));
                }
            }
        }
        if zip_tool {
            for turn in 0..2 {
                if (turn == 0) == ours_first {
                    let (d, c, r) = time_ours(|| nfs::compress(tree, &ours_dir, &zip_opts));
                    our_zip = r.expect("nfs::compress zip");
                    zip.ours(d, c);
                } else {
                    let _ = fs::remove_file(&their_zip);
                    zip.theirs(tool(
                        "zip",
                        &[&"-qr", &"-y", &their_zip, &name],
                        Some(parent),
                    ));
                }
            }
        }
        // Both extract the same archive: the one `tar czf` made (one standard gzip stream).
        let (xo, xt) = (work.join("x-ours"), work.join("x-theirs"));
        for turn in 0..2 {
            if (turn == 0) == ours_first {
                fresh(&xo);
                let (d, c, r) =
                    time_ours(|| nfs::uncompress(&their_gz, &xo, &UncompressOptions::new()));
                r.expect("nfs::uncompress tar.gz");
                untargz.ours(d, c);
            } else {
                fresh(&xt);
                untargz.theirs(tool("tar", &[&"xzf", &their_gz, &"-C", &xt], None));
            }
        }
        if zip_tool && unzip_tool {
            for turn in 0..2 {
                if (turn == 0) == ours_first {
                    fresh(&xo);
                    let (d, c, r) =
                        time_ours(|| nfs::uncompress(&their_zip, &xo, &UncompressOptions::new()));
                    r.expect("nfs::uncompress zip");
                    unzip.ours(d, c);
                } else {
                    fresh(&xt);
                    unzip.theirs(tool("unzip", &[&"-q", &their_zip, &"-d", &xt], None));
                }
            }
        }
        fresh(&xo);
        fresh(&xt);
    }
    targz.print(place);
    size_line(
        place,
        "tar.gz size",
        size(&our_gz),
        size(&their_gz),
        "tar czf",
    );
    if pigz {
        targz_pigz.print(place);
        size_line(place, "tar.gz size", size(&our_gz), size(&pigz_gz), "pigz");
    } else {
        println!("{place:>5}  (pigz not available: no pigz comparison)");
    }
    if zip_tool {
        zip.print(place);
        size_line(
            place,
            "zip size",
            size(&our_zip),
            size(&their_zip),
            "zip -qr",
        );
    } else {
        println!("{place:>5}  (zip not installed: no zip comparison)");
    }
    untargz.print(place);
    if zip_tool && unzip_tool {
        unzip.print(place);
    }
    let _ = fs::remove_dir_all(&ours_dir);
    let _ = fs::remove_dir_all(&theirs_dir);
}
