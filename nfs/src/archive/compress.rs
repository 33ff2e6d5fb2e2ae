//! `compress`: walk the source with the filters, then write the archive under a
//! temporary name in the destination directory and rename it into place.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use walkdir::WalkDir;

use super::gzip_parallel::{DEFAULT_BLOCK, ParGzWriter};
use super::{ArchiveFormat, CompressOptions, Compressed, tarball, zipball};
use crate::progress::Tracker;
use crate::{Action, Error, Report, Result};

/// 1980-01-01T00:00:00Z: the earliest time a zip's DOS date can hold.
pub(crate) const ZIP_EPOCH: u64 = 315_532_800;

/// What an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Dir,
    File,
    Symlink,
}

/// One path to archive.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    /// On disk.
    pub(crate) abs: PathBuf,
    /// The entry's name inside the archive (root folder included); never empty.
    pub(crate) name: PathBuf,
    pub(crate) kind: Kind,
    pub(crate) size: u64,
    pub(crate) mode: u32,
    pub(crate) mtime: u64,
    pub(crate) uid: u64,
    pub(crate) gid: u64,
    pub(crate) target: Option<PathBuf>,
}

/// Compresses `src` (a directory, a file, or a glob such as `/opt/app/logs/*.log`)
/// into an archive in `dst_dir`; returns the archive's path.
///
/// A glob's matches are named relative to its literal base (`/opt/app/logs`), whose
/// name is the default archive name and root folder.
///
/// ```no_run
/// let archive = nfs::compress("/opt/app", "/tmp", &nfs::CompressOptions::new()
///     .exclude_dirs([".git"]).exclude_files(["*.pyc"]))?;
/// assert!(archive.ends_with("app.tar.gz"));
/// # Ok::<(), nfs::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::NotFound`] when `src` does not exist, [`Error::NoMatch`] when a glob
/// matches nothing, [`Error::Exists`] when the archive
/// exists and [`CompressOptions::overwrite`] is off, [`Error::Glob`] for a bad filter,
/// and [`Error::Io`] naming the file that could not be read or written. On error no
/// archive (not even a partial one) is left under the final name.
///
/// # Platform behavior
///
/// On Unix, permission bits, uid and gid are stored; on Windows, a read-only file is
/// stored as mode `0o444`, others as `0o644`, directories as `0o755`. Owner names are
/// never stored.
pub fn compress(
    src: impl AsRef<Path>,
    dst_dir: impl AsRef<Path>,
    options: &CompressOptions,
) -> Result<PathBuf> {
    compress_report(src, dst_dir, options).map(|c| c.path)
}

/// [`compress`], returning the counts (and a dry run's plan) along with the path.
///
/// # Errors
///
/// As [`compress`].
///
/// # Platform behavior
///
/// As [`compress`].
pub fn compress_report(
    src: impl AsRef<Path>,
    dst_dir: impl AsRef<Path>,
    options: &CompressOptions,
) -> Result<Compressed> {
    let given = src.as_ref();
    let dst_dir = dst_dir.as_ref();
    // A glob (`/opt/app/logs/*.log`) archives its matches, named relative to its
    // literal base (`/opt/app/logs`), which also gives the default name and root.
    let sources = crate::sources::expand(given)?;
    if let Some(pattern) = &sources.pattern {
        if sources.items.is_empty() {
            return Err(Error::NoMatch {
                pattern: pattern.clone(),
            });
        }
    }
    let src = sources.root.as_path();
    // A source that is a link is followed (its content is what the caller means);
    // a dangling one is archived as the link it is.
    let meta = fs::metadata(src)
        .or_else(|_| fs::symlink_metadata(src))
        .map_err(|e| not_found_or(src, "stat", e))?;
    let file_name = archive_file_name(src, options)?;
    let path = dst_dir.join(&file_name);
    let root = match &options.root {
        Some(r) => clean_root(r),
        None if meta.is_dir() => src_name(src).map(PathBuf::from).unwrap_or_default(),
        None => PathBuf::new(),
    };
    let filters = options.filters.compile()?;
    let mut report = Report {
        dry_run: options.dry_run,
        ..Report::default()
    };
    let items = collect(
        src,
        &sources.items,
        &meta,
        &root,
        &path,
        &filters,
        options,
        &mut report,
    )?;
    for it in &items {
        match it.kind {
            Kind::Dir => report.dirs += 1,
            Kind::File | Kind::Symlink => {
                report.files += 1;
                report.bytes += it.size;
            }
        }
    }
    if options.dry_run {
        report.plan = items
            .iter()
            .map(|it| Action::AddEntry {
                path: it.abs.clone(),
                entry: it.name.clone(),
            })
            .collect();
        return Ok(Compressed {
            path,
            archive_bytes: 0,
            report,
        });
    }
    if options.format == ArchiveFormat::TarZst && !cfg!(feature = "zstd") {
        return Err(Error::Refused {
            op: "compress",
            path,
            reason: "tar.zst needs agentry-nfs built with the `zstd` feature",
        });
    }
    if !options.overwrite && fs::symlink_metadata(&path).is_ok() {
        return Err(Error::Exists { path });
    }
    fs::create_dir_all(dst_dir).map_err(|e| Error::io("create", dst_dir, e))?;
    let tracker = Tracker::new(options.progress.clone());
    tracker.set_totals(report.files, report.bytes);
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{file_name}."))
        .suffix(".tmp")
        .tempfile_in(dst_dir)
        .map_err(|e| Error::io("create", dst_dir, e))?;
    let file = tmp
        .as_file()
        .try_clone()
        .map_err(|e| Error::io("create", tmp.path(), e))?;
    let werr = |e: io::Error| Error::io("write", &path, e);
    match options.format {
        ArchiveFormat::TarGz => {
            let gz = ParGzWriter::new(file, options.threads, options.level, DEFAULT_BLOCK)
                .map_err(werr)?;
            let gz = tarball::write(gz, &items, options, &tracker, &path)?;
            gz.finish().map_err(werr)?;
        }
        ArchiveFormat::Tar => {
            let w = BufWriter::with_capacity(1 << 20, file);
            let w = tarball::write(w, &items, options, &tracker, &path)?;
            w.into_inner().map_err(|e| werr(e.into_error()))?;
        }
        ArchiveFormat::Zip => {
            zipball::write(file, &items, options, &tracker, &path)?;
        }
        ArchiveFormat::TarZst => write_zst(file, &items, options, &tracker, &path)?,
    }
    set_archive_mode(tmp.as_file(), &path)?;
    let archive_bytes = tmp
        .as_file()
        .metadata()
        .map_err(|e| Error::io("stat", tmp.path(), e))?
        .len();
    let persisted = if options.overwrite {
        tmp.persist(&path)
    } else {
        tmp.persist_noclobber(&path)
    };
    persisted.map_err(|e| {
        if e.error.kind() == io::ErrorKind::AlreadyExists {
            Error::Exists { path: path.clone() }
        } else {
            Error::io("rename", &path, e.error)
        }
    })?;
    Ok(Compressed {
        path,
        archive_bytes,
        report,
    })
}

/// zstd levels for our 0-9.
#[cfg(feature = "zstd")]
const ZSTD_LEVELS: [i32; 10] = [1, 1, 1, 2, 2, 3, 3, 6, 9, 12];

#[cfg(feature = "zstd")]
fn write_zst(
    file: File,
    items: &[Item],
    o: &CompressOptions,
    tracker: &Tracker,
    path: &Path,
) -> Result<()> {
    let werr = |e: io::Error| Error::io("write", path, e);
    let level = ZSTD_LEVELS[o.level.min(9) as usize];
    let mut enc = zstd::stream::write::Encoder::new(BufWriter::with_capacity(1 << 20, file), level)
        .map_err(werr)?;
    let threads = if o.threads == 0 {
        std::thread::available_parallelism().map_or(1, usize::from)
    } else {
        o.threads
    };
    if threads > 1 {
        enc.multithread(u32::try_from(threads).unwrap_or(1))
            .map_err(werr)?;
    }
    let enc = tarball::write(enc, items, o, tracker, path)?;
    let w = enc.finish().map_err(werr)?;
    w.into_inner().map_err(|e| werr(e.into_error()))?;
    Ok(())
}

#[cfg(not(feature = "zstd"))]
fn write_zst(
    _file: File,
    _items: &[Item],
    _o: &CompressOptions,
    _tracker: &Tracker,
    path: &Path,
) -> Result<()> {
    Err(Error::Refused {
        op: "compress",
        path: path.to_path_buf(),
        reason: "tar.zst needs agentry-nfs built with the `zstd` feature",
    })
}

fn not_found_or(path: &Path, op: &'static str, e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::NotFound {
        Error::NotFound {
            path: path.to_path_buf(),
        }
    } else {
        Error::io(op, path, e)
    }
}

#[cfg(unix)]
fn set_archive_mode(f: &File, path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    // tempfile creates 0600; an archive is an ordinary file.
    f.set_permissions(fs::Permissions::from_mode(0o644))
        .map_err(|e| Error::io("chmod", path, e))
}

#[cfg(not(unix))]
fn set_archive_mode(_f: &File, _path: &Path) -> Result<()> {
    Ok(())
}

/// The source's own name (`/opt/app/` gives `app`; `.` gives the current directory's).
fn src_name(src: &Path) -> Option<std::ffi::OsString> {
    if let Some(n) = src.file_name() {
        return Some(n.to_os_string());
    }
    fs::canonicalize(src)
        .ok()
        .and_then(|p| p.file_name().map(std::ffi::OsStr::to_os_string))
}

/// `name` with the format's extension.
fn archive_file_name(src: &Path, o: &CompressOptions) -> Result<String> {
    let ext = o.format.extension();
    let base = match &o.name {
        Some(n) => n.clone(),
        None => src_name(src)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "archive".to_owned()),
    };
    if base.is_empty() || base.contains(['/', '\\']) || base == "." || base == ".." {
        return Err(Error::Refused {
            op: "compress",
            path: PathBuf::from(base),
            reason: "the archive name must be a plain file name",
        });
    }
    if base.to_ascii_lowercase().ends_with(&format!(".{ext}")) {
        Ok(base)
    } else {
        Ok(format!("{base}.{ext}"))
    }
}

/// The root folder, without `.`, `/` or `..` components.
fn clean_root(r: &Path) -> PathBuf {
    r.components()
        .filter_map(|c| match c {
            std::path::Component::Normal(n) => Some(n),
            _ => None,
        })
        .collect()
}

fn secs(t: io::Result<std::time::SystemTime>) -> u64 {
    t.ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

#[cfg(unix)]
fn mode_ids(m: &fs::Metadata) -> (u32, u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.mode() & 0o7777, u64::from(m.uid()), u64::from(m.gid()))
}

#[cfg(not(unix))]
fn mode_ids(m: &fs::Metadata) -> (u32, u64, u64) {
    let mode = if m.is_dir() {
        0o755
    } else if m.permissions().readonly() {
        0o444
    } else {
        0o644
    };
    (mode, 0, 0)
}

fn item(
    abs: PathBuf,
    name: PathBuf,
    m: &fs::Metadata,
    o: &CompressOptions,
) -> Result<Option<Item>> {
    let ft = m.file_type();
    let kind = if ft.is_dir() {
        Kind::Dir
    } else if ft.is_file() {
        Kind::File
    } else if ft.is_symlink() {
        Kind::Symlink
    } else {
        // FIFOs, sockets, devices: never archived.
        return Ok(None);
    };
    let target = if kind == Kind::Symlink {
        Some(fs::read_link(&abs).map_err(|e| Error::io("read link", &abs, e))?)
    } else {
        None
    };
    let (mode, uid, gid) = mode_ids(m);
    let (mtime, uid, gid) = if o.reproducible {
        (o.mtime.unwrap_or(ZIP_EPOCH), 0, 0)
    } else {
        (secs(m.modified()), uid, gid)
    };
    Ok(Some(Item {
        abs,
        name,
        kind,
        size: if kind == Kind::File { m.len() } else { 0 },
        mode,
        mtime,
        uid,
        gid,
        target,
    }))
}

/// Walks `src`, pruning with the filters; entries come out sorted by name within each
/// directory, parents before children.
#[allow(clippy::too_many_arguments)]
fn collect(
    src: &Path,
    starts: &[PathBuf],
    meta: &fs::Metadata,
    root: &Path,
    archive: &Path,
    filters: &crate::CompiledFilters,
    o: &CompressOptions,
    report: &mut Report,
) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    if starts.len() == 1 && starts[0] == src && !meta.is_dir() {
        let name = root.join(src_name(src).unwrap_or_default());
        if let Some(it) = item(src.to_path_buf(), name, meta, o)? {
            items.push(it);
        }
        return Ok(items);
    }
    let archive_abs = fs::canonicalize(archive.parent().unwrap_or(Path::new(".")))
        .ok()
        .map(|p| p.join(archive.file_name().unwrap_or_default()));
    let skipped_cell = std::cell::Cell::new(0u64);
    let mut kept_parents = std::collections::HashSet::new();
    let mut skipped = 0u64;
    for start in starts {
        // A glob's match is checked as a whole path (its ancestors were not walked)
        // and, when it is a link, stored as one unless links are followed.
        let matched = start.as_path() != src;
        let walk = WalkDir::new(start)
            .follow_links(o.follow_links)
            .follow_root_links(!matched || o.follow_links)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                if e.depth() == 0 && !matched {
                    return true;
                }
                let rel = e.path().strip_prefix(src).unwrap_or(e.path());
                let keep = match (e.file_type().is_dir(), e.depth() == 0) {
                    (true, false) => filters.enter_dir(rel),
                    (false, false) => filters.keep_file(rel),
                    (true, true) => filters.keeps_dir(rel),
                    (false, true) => filters.keeps(rel),
                };
                if !keep {
                    skipped_cell.set(skipped_cell.get() + 1);
                }
                keep
            });
        for e in walk {
            let e = match e {
                Ok(e) => e,
                Err(e) => {
                    let p = e.path().map(Path::to_path_buf).unwrap_or_default();
                    if e.loop_ancestor().is_some() {
                        return Err(Error::SymlinkLoop { path: p });
                    }
                    // Following links, a dangling one is archived as the link it is.
                    if o.follow_links
                        && fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink())
                    {
                        let rel = p.strip_prefix(src).unwrap_or(&p).to_path_buf();
                        let m =
                            fs::symlink_metadata(&p).map_err(|err| Error::io("stat", &p, err))?;
                        if let Some(it) = item(p.clone(), root.join(&rel), &m, o)? {
                            for a in rel.ancestors().skip(1) {
                                if !kept_parents.insert(a.to_path_buf()) {
                                    break;
                                }
                            }
                            items.push(it);
                        }
                        continue;
                    }
                    return Err(Error::io("read", p, e.into()));
                }
            };
            let rel = e.path().strip_prefix(src).unwrap_or(e.path()).to_path_buf();
            if (e.depth() > 0 || matched)
                && !e.file_type().is_dir()
                && Some(e.file_name()) == archive.file_name()
                && archive_abs.is_some()
                && fs::canonicalize(e.path()).ok() == archive_abs
            {
                continue;
            }
            let name = if rel.as_os_str().is_empty() {
                root.to_path_buf()
            } else {
                root.join(&rel)
            };
            if name.as_os_str().is_empty() {
                continue;
            }
            let m = if e.depth() == 0 && !matched {
                // The root as followed (walkdir reports a root link as a link).
                meta.clone()
            } else {
                e.metadata().map_err(|err| {
                    let p = e.path().to_path_buf();
                    Error::io("stat", p, err.into())
                })?
            };
            if let Some(it) = item(e.path().to_path_buf(), name, &m, o)? {
                if it.kind != Kind::Dir {
                    for a in rel.ancestors().skip(1) {
                        if !kept_parents.insert(a.to_path_buf()) {
                            break;
                        }
                    }
                }
                items.push(it);
            } else {
                skipped += 1;
            }
        }
    }
    if filters.has_includes() {
        // With include lists a directory is taken only for what it holds.
        let before = items.len();
        items.retain(|it| {
            it.kind != Kind::Dir
                || it
                    .abs
                    .strip_prefix(src)
                    .is_ok_and(|rel| kept_parents.contains(rel))
        });
        skipped += (before - items.len()) as u64;
    }
    report.skipped += skipped + skipped_cell.get();
    Ok(items)
}

/// Reads exactly `len` bytes: a file that shrank since it was measured is padded with
/// zeros and one that grew is cut, so the archive's sizes stay consistent.
pub(crate) struct Exact<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Exact<R> {
    pub(crate) fn new(inner: R, len: u64) -> Self {
        Exact { inner, left: len }
    }
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = usize::try_from(self.left)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.inner.read(&mut buf[..want])?;
        let n = if n == 0 {
            buf[..want].fill(0);
            want
        } else {
            n
        };
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_get_one_extension() {
        let o = CompressOptions::new();
        assert_eq!(
            archive_file_name(Path::new("/opt/app"), &o).unwrap(),
            "app.tar.gz"
        );
        let o = CompressOptions::new().name("x.TAR.GZ");
        assert_eq!(
            archive_file_name(Path::new("/opt/app"), &o).unwrap(),
            "x.TAR.GZ"
        );
        let o = CompressOptions::new().name("x").format(ArchiveFormat::Zip);
        assert_eq!(archive_file_name(Path::new("a"), &o).unwrap(), "x.zip");
        let o = CompressOptions::new().name("../x");
        assert!(archive_file_name(Path::new("a"), &o).is_err());
    }

    #[test]
    fn root_is_cleaned() {
        assert_eq!(
            clean_root(Path::new("/a/../b/./c/")),
            PathBuf::from("a/b/c")
        );
        assert_eq!(clean_root(Path::new(".")), PathBuf::new());
    }

    #[test]
    fn exact_pads_and_cuts() {
        let mut out = Vec::new();
        Exact::new(&b"abc"[..], 5).read_to_end(&mut out).unwrap();
        assert_eq!(out, b"abc\0\0");
        out.clear();
        Exact::new(&b"abcdef"[..], 2).read_to_end(&mut out).unwrap();
        assert_eq!(out, b"ab");
    }
}
