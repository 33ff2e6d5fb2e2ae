//! `uncompress`: the destination-side rules every format shares.
//!
//! The format readers ([`super::tarball`], [`super::zipball`]) hand each entry to an
//! [`Extractor`], which checks its name, keeps track of what the archive created (so no
//! entry is written through a link an earlier entry made), enforces the limits, and
//! queues file contents to writer threads. A path always goes to the same writer, so two
//! entries with one name are written in archive order. Links are created after every
//! file is written, directory modes and times last.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::detect::{Sniffed, from_name, sniff};
use super::sanitize::{Unsafe, check_link_target, entry_components, windows_reserved};
use super::{UncompressOptions, tarball, zipball};
use crate::progress::Tracker;
use crate::{Action, CompiledFilters, Error, Overwrite, Report, Result};

/// Contents up to this size are read whole and handed to a writer in one piece.
const CHUNK: usize = 1 << 20;
/// Past this many bytes written, the compression ratio is checked.
const RATIO_FLOOR: u64 = 16 << 20;

/// Extracts `archive` into `dst` (created if missing); returns what was extracted.
///
/// The format comes from the first bytes (gzip, zip, tar; the name is only a fallback
/// for files too short to tell). Entries that would land outside `dst` (`..`, absolute
/// paths, drive letters, UNC and backslash paths, links pointing out, anything written
/// through a link) and device nodes or FIFOs refuse the whole archive.
///
/// ```no_run
/// let report = nfs::uncompress("/tmp/app.tar.gz", "/opt", &nfs::UncompressOptions::new())?;
/// println!("{} files, {} bytes", report.files, report.bytes);
/// # Ok::<(), nfs::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::UnsafeEntry`] naming the refused entry, [`Error::ArchiveLimit`] when a
/// limit is reached, [`Error::BadArchive`] for a damaged or unsupported archive,
/// [`Error::NotFound`] when `archive` does not exist, [`Error::Exists`] when a file
/// would replace a directory (or the reverse), [`Error::Io`] naming the path that could
/// not be written. Without [`UncompressOptions::temp_dir`], what was extracted before
/// the error stays (always inside `dst`); with it, `dst` is left as it was. Either way
/// no file is left truncated under its final name: each is written under a temporary
/// name in its directory and renamed into place when complete.
///
/// # Platform behavior
///
/// Permission bits (without setuid, setgid and sticky) and modification times are
/// restored; owners are not. On Windows a mode without owner write sets the read-only
/// attribute, symbolic links need the privilege to create them, names Windows cannot
/// hold (`CON`, `a:b`, trailing dots) are refused, and non-UTF-8 names are converted
/// lossily. On Unix names are taken as bytes and round-trip exactly.
pub fn uncompress(
    archive: impl AsRef<Path>,
    dst: impl AsRef<Path>,
    options: &UncompressOptions,
) -> Result<Report> {
    let archive = archive.as_ref();
    let dst = dst.as_ref();
    let mut file = File::open(archive).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            Error::NotFound {
                path: archive.to_path_buf(),
            }
        } else {
            Error::io("open", archive, e)
        }
    })?;
    let archive_len = file
        .metadata()
        .map_err(|e| Error::io("stat", archive, e))?
        .len();
    let mut head = Vec::with_capacity(512);
    (&mut file)
        .take(512)
        .read_to_end(&mut head)
        .map_err(|e| Error::io("read", archive, e))?;
    let format = sniff(&head)
        .or_else(|| (head.len() < 512).then(|| from_name(archive)).flatten())
        .ok_or_else(|| bad(archive, "not a tar, tar.gz or zip archive"))?;
    drop(file);
    let filters = options.filters.compile()?;

    if options.dry_run {
        let mut ex = Extractor::new(archive, dst, dst, options, filters, Mode::Plan, archive_len)?;
        run(format, archive, &mut ex)?;
        return ex.finish();
    }
    match &options.temp_dir {
        None => {
            fs::create_dir_all(dst).map_err(|e| Error::io("create", dst, e))?;
            let mut ex = Extractor::new(
                archive,
                dst,
                dst,
                options,
                filters,
                Mode::InPlace,
                archive_len,
            )?;
            // On failure the links and directory modes are left out: drop joins the writers.
            run(format, archive, &mut ex)?;
            ex.finish()
        }
        Some(tmp_parent) => {
            fs::create_dir_all(tmp_parent).map_err(|e| Error::io("create", tmp_parent, e))?;
            let tmp = tempfile::Builder::new()
                .prefix(".nfs-extract.")
                .tempdir_in(tmp_parent)
                .map_err(|e| Error::io("create", tmp_parent, e))?;
            let result = extract_then_move(
                format,
                archive,
                dst,
                tmp.path(),
                options,
                filters,
                archive_len,
            );
            // Read-only directories from the archive must not keep the cleanup out.
            make_removable(tmp.path());
            result
        }
    }
}

fn extract_then_move(
    format: Sniffed,
    archive: &Path,
    dst: &Path,
    tmp: &Path,
    options: &UncompressOptions,
    filters: CompiledFilters,
    archive_len: u64,
) -> Result<Report> {
    let mut ex = Extractor::new(
        archive,
        tmp,
        dst,
        options,
        filters,
        Mode::Fresh,
        archive_len,
    )?;
    run(format, archive, &mut ex)?;
    let mut report = ex.finish()?;
    if options.overwrite == Overwrite::Error {
        conflicts(tmp, dst)?;
    }
    fs::create_dir_all(dst).map_err(|e| Error::io("create", dst, e))?;
    let mut skipped = 0;
    move_into(tmp, dst, options.overwrite, &mut skipped)?;
    report.skipped += skipped;
    Ok(report)
}

/// Gives the owner write and search permission on every directory left under `root`.
#[cfg(unix)]
fn make_removable(root: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for e in walkdir::WalkDir::new(root).into_iter().flatten() {
        if e.file_type().is_dir() {
            if let Ok(m) = e.metadata() {
                let mode = m.permissions().mode();
                if mode & 0o700 != 0o700 {
                    let _ = fs::set_permissions(e.path(), fs::Permissions::from_mode(mode | 0o700));
                }
            }
        }
    }
}

#[cfg(not(unix))]
fn make_removable(_root: &Path) {}

fn run(format: Sniffed, archive: &Path, ex: &mut Extractor) -> Result<()> {
    let open = || File::open(archive).map_err(|e| Error::io("open", archive, e));
    match format {
        Sniffed::Gzip => {
            let counted = Counting {
                inner: open()?,
                count: Arc::clone(&ex.consumed),
            };
            let gz = flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 18, counted));
            tarball::extract(BufReader::with_capacity(1 << 16, gz), ex)
        }
        Sniffed::Tar => {
            let counted = Counting {
                inner: open()?,
                count: Arc::clone(&ex.consumed),
            };
            tarball::extract(BufReader::with_capacity(1 << 18, counted), ex)
        }
        Sniffed::Zip => {
            ex.consumed.store(ex.archive_len, Ordering::Relaxed);
            zipball::extract(open()?, ex)
        }
        #[cfg(feature = "zstd")]
        Sniffed::Zstd => {
            let counted = Counting {
                inner: open()?,
                count: Arc::clone(&ex.consumed),
            };
            let dec = zstd::stream::read::Decoder::new(counted)
                .map_err(|e| Error::io("read", archive, e))?;
            tarball::extract(BufReader::with_capacity(1 << 16, dec), ex)
        }
        #[cfg(not(feature = "zstd"))]
        Sniffed::Zstd => Err(bad(
            archive,
            "a zstd-compressed archive: agentry-nfs was built without the `zstd` feature",
        )),
        Sniffed::Other(what) => Err(bad(archive, &format!("{what} archives are not supported"))),
    }
}

pub(crate) fn bad(archive: &Path, reason: &str) -> Error {
    Error::BadArchive {
        archive: archive.to_path_buf(),
        reason: reason.to_owned(),
    }
}

/// Counts the bytes read from the archive, for the ratio limit.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// What an archive path is, as far as this extraction knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    /// A directory (created, or found in place).
    Dir,
    /// A file the archive wrote.
    File,
    /// A link the archive will create (links are created last).
    Symlink,
    /// A hard link the archive will create.
    Hardlink,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Dry run: check and list, write nothing.
    Plan,
    /// Into an existing destination that may hold anything, links included.
    InPlace,
    /// Into a directory this extraction just made: nothing there but what it creates.
    Fresh,
}

enum Job {
    Begin {
        path: PathBuf,
        rel: PathBuf,
        mode: u32,
        mtime: u64,
    },
    Data(Vec<u8>),
    End,
    /// A whole file in one message (most files).
    Whole {
        path: PathBuf,
        rel: PathBuf,
        mode: u32,
        mtime: u64,
        data: Vec<u8>,
    },
}

struct Shared {
    failed: AtomicBool,
    errors: Mutex<Vec<Error>>,
    files: AtomicU64,
    bytes: AtomicU64,
    skipped: AtomicU64,
    overwrite: Overwrite,
    tracker: Tracker,
}

impl Shared {
    fn fail(&self, e: Error) {
        self.failed.store(true, Ordering::Relaxed);
        if let Ok(mut v) = self.errors.lock() {
            v.push(e);
        }
    }
}

/// The destination-side state of one extraction.
pub(crate) struct Extractor {
    archive: PathBuf,
    archive_len: u64,
    /// Where entries go (the destination, or the temporary directory).
    root: PathBuf,
    /// The destination as the user named it (for the plan).
    dst: PathBuf,
    mode: Mode,
    filters: CompiledFilters,
    max_bytes: u64,
    max_ratio: u64,
    max_entries: u64,
    entries: u64,
    total: u64,
    pub(crate) consumed: Arc<AtomicU64>,
    nodes: HashMap<PathBuf, Node>,
    dirs: Vec<(PathBuf, u32, u64)>,
    links: Vec<(PathBuf, PathBuf, Vec<u8>, u64)>,
    hardlinks: Vec<(PathBuf, PathBuf, PathBuf)>,
    senders: Vec<SyncSender<Job>>,
    workers: Vec<JoinHandle<()>>,
    shared: Arc<Shared>,
    report: Report,
}

impl Extractor {
    pub(crate) fn new(
        archive: &Path,
        root: &Path,
        dst: &Path,
        o: &UncompressOptions,
        filters: CompiledFilters,
        mode: Mode,
        archive_len: u64,
    ) -> Result<Self> {
        let shared = Arc::new(Shared {
            failed: AtomicBool::new(false),
            errors: Mutex::new(Vec::new()),
            files: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            // In a fresh directory only the archive's own duplicates collide: later wins.
            overwrite: if mode == Mode::Fresh {
                Overwrite::Always
            } else {
                o.overwrite
            },
            tracker: Tracker::new(o.progress.clone()),
        });
        // Totals are known up front for zip (central directory) only; a tar stream's
        // are 0 (unknown) and progress counts what is done.
        shared.tracker.set_totals(0, 0);
        let mut senders = Vec::new();
        let mut workers = Vec::new();
        if mode != Mode::Plan {
            let n = if o.threads == 0 {
                std::thread::available_parallelism().map_or(1, usize::from)
            } else {
                o.threads
            };
            for i in 0..n.max(1) {
                let (tx, rx) = sync_channel::<Job>(16);
                let sh = Arc::clone(&shared);
                let w = std::thread::Builder::new()
                    .name(format!("nfs-extract-{i}"))
                    .spawn(move || writer(&rx, &sh))
                    .map_err(|e| Error::io("spawn a writer for", root, e))?;
                senders.push(tx);
                workers.push(w);
            }
        }
        Ok(Extractor {
            archive: archive.to_path_buf(),
            archive_len,
            root: root.to_path_buf(),
            dst: dst.to_path_buf(),
            mode,
            filters,
            max_bytes: o.max_bytes,
            max_ratio: o.max_ratio,
            max_entries: o.max_entries,
            entries: 0,
            total: 0,
            consumed: Arc::new(AtomicU64::new(0)),
            nodes: HashMap::new(),
            dirs: Vec::new(),
            links: Vec::new(),
            hardlinks: Vec::new(),
            senders,
            workers,
            shared,
            report: Report {
                dry_run: mode == Mode::Plan,
                ..Report::default()
            },
        })
    }

    /// Sets the progress totals (files, bytes) when the format knows them up front.
    pub(crate) fn set_totals(&self, files: u64, bytes: u64) {
        self.shared.tracker.set_totals(files, bytes);
    }

    /// Whether this is a check-only (dry run) pass.
    pub(crate) fn planning(&self) -> bool {
        self.mode == Mode::Plan
    }

    /// A check-only twin with the same limits and filters, for a validation pass before
    /// writing anything (zip, where the names are all in the central directory).
    pub(crate) fn check_only(&self) -> Extractor {
        Extractor {
            archive: self.archive.clone(),
            archive_len: self.archive_len,
            root: self.root.clone(),
            dst: self.dst.clone(),
            mode: Mode::Plan,
            filters: self.filters.clone(),
            max_bytes: self.max_bytes,
            max_ratio: self.max_ratio,
            max_entries: self.max_entries,
            entries: 0,
            total: 0,
            consumed: Arc::new(AtomicU64::new(self.consumed.load(Ordering::Relaxed))),
            nodes: HashMap::new(),
            dirs: Vec::new(),
            links: Vec::new(),
            hardlinks: Vec::new(),
            senders: Vec::new(),
            workers: Vec::new(),
            shared: Arc::new(Shared {
                failed: AtomicBool::new(false),
                errors: Mutex::new(Vec::new()),
                files: AtomicU64::new(0),
                bytes: AtomicU64::new(0),
                skipped: AtomicU64::new(0),
                overwrite: self.shared.overwrite,
                tracker: Tracker::new(None),
            }),
            report: Report::default(),
        }
    }

    /// An `UnsafeEntry` error for `raw`.
    pub(crate) fn refuse(&self, raw: &[u8], reason: impl Into<String>) -> Error {
        Error::UnsafeEntry {
            archive: self.archive.clone(),
            entry: String::from_utf8_lossy(raw).into_owned(),
            reason: reason.into(),
        }
    }

    /// A `BadArchive` error naming the entry.
    pub(crate) fn corrupt(&self, raw: Option<&[u8]>, e: &dyn std::fmt::Display) -> Error {
        let reason = match raw {
            Some(r) => format!("entry {:?}: {e}", String::from_utf8_lossy(r)),
            None => e.to_string(),
        };
        bad(&self.archive, &reason)
    }

    fn limit(&self, raw: &[u8], what: &'static str, limit: u64) -> Error {
        Error::ArchiveLimit {
            archive: self.archive.clone(),
            entry: String::from_utf8_lossy(raw).into_owned(),
            what,
            limit,
        }
    }

    /// Stops early when a writer failed.
    fn check_workers(&self) -> Result<()> {
        if self.shared.failed.load(Ordering::Relaxed) {
            let mut v = self
                .shared
                .errors
                .lock()
                .map(|mut v| std::mem::take(&mut *v))
                .unwrap_or_default();
            return Err(match v.len() {
                0 => bad(&self.archive, "a writer thread failed"),
                1 => v.remove(0),
                _ => Error::Many(v),
            });
        }
        Ok(())
    }

    /// Name checks: the components, or `None` for the archive root (`./`) and for
    /// entries the filters leave out.
    fn name(&mut self, raw: &[u8], is_dir: bool) -> Result<Option<(Vec<Vec<u8>>, PathBuf)>> {
        self.entries += 1;
        if self.entries > self.max_entries {
            return Err(self.limit(raw, "entry count", self.max_entries));
        }
        self.check_workers()?;
        let comps = entry_components(raw).map_err(|u| self.refuse(raw, u.as_str()))?;
        if comps.is_empty() {
            return Ok(None);
        }
        if cfg!(windows) && comps.iter().any(|c| windows_reserved(c)) {
            return Err(self.refuse(raw, Unsafe::WindowsReserved.as_str()));
        }
        let rel = rel_path(comps.iter().copied());
        let keep = if is_dir {
            self.filters.keeps_dir(&rel)
        } else {
            self.filters.keeps(&rel)
        };
        if !keep {
            self.report.skipped += 1;
            return Ok(None);
        }
        Ok(Some((comps.iter().map(|c| c.to_vec()).collect(), rel)))
    }

    /// Makes sure every ancestor of `rel` is a real directory: created by this archive
    /// or found in place, never a link.
    fn parents(&mut self, raw: &[u8], rel: &Path) -> Result<()> {
        let mut anc: Vec<&Path> = rel
            .ancestors()
            .skip(1)
            .filter(|a| !a.as_os_str().is_empty())
            .collect();
        anc.reverse();
        for a in anc {
            match self.nodes.get(a) {
                Some(Node::Dir) => continue,
                Some(Node::Symlink) => {
                    return Err(self.refuse(
                        raw,
                        format!("written through the symbolic link {}", a.display()),
                    ));
                }
                Some(Node::File | Node::Hardlink) => {
                    return Err(
                        self.refuse(raw, format!("{} is a file, not a directory", a.display()))
                    );
                }
                None => {}
            }
            let abs = self.root.join(a);
            match self.mode {
                Mode::Fresh => create_dir(&abs)?,
                Mode::InPlace => match fs::symlink_metadata(&abs) {
                    Ok(m) if m.is_dir() => {}
                    Ok(m) if m.file_type().is_symlink() => {
                        return Err(self.refuse(
                            raw,
                            format!(
                                "written through the symbolic link {} in the destination",
                                abs.display()
                            ),
                        ));
                    }
                    Ok(_) => return Err(Error::NotADirectory { path: abs }),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => create_dir(&abs)?,
                    Err(e) => return Err(Error::io("stat", abs, e)),
                },
                Mode::Plan => {
                    if let Ok(m) = fs::symlink_metadata(self.dst.join(a)) {
                        if m.file_type().is_symlink() {
                            return Err(self.refuse(
                                raw,
                                format!(
                                    "written through the symbolic link {} in the destination",
                                    a.display()
                                ),
                            ));
                        }
                    }
                }
            }
            self.nodes.insert(a.to_path_buf(), Node::Dir);
        }
        Ok(())
    }

    /// What the archive made at `rel` so far, when that rules out making `kind` there.
    fn replace(&mut self, raw: &[u8], rel: &Path, kind: Node) -> Result<()> {
        match (self.nodes.get(rel), kind) {
            (Some(Node::Dir), Node::Dir) | (None, _) => Ok(()),
            (Some(Node::Dir), _) => Err(self.refuse(raw, "would replace a directory")),
            (Some(_), Node::Dir) => {
                Err(self.refuse(raw, "a file or link of that name comes first"))
            }
            (Some(Node::Symlink), _) => {
                self.links.retain(|l| l.0 != rel);
                Ok(())
            }
            (Some(Node::Hardlink), _) => {
                self.hardlinks.retain(|l| l.0 != rel);
                Ok(())
            }
            (Some(Node::File), _) => Ok(()),
        }
    }

    /// A directory entry.
    pub(crate) fn dir(&mut self, raw: &[u8], mode: u32, mtime: u64) -> Result<()> {
        let Some((_, rel)) = self.name(raw, true)? else {
            return Ok(());
        };
        self.parents(raw, &rel)?;
        self.replace(raw, &rel, Node::Dir)?;
        if self.mode == Mode::Plan {
            self.plan(&rel);
        } else if self.nodes.get(&rel) != Some(&Node::Dir) {
            let abs = self.root.join(&rel);
            match self.mode {
                Mode::InPlace => match fs::symlink_metadata(&abs) {
                    Ok(m) if m.is_dir() => {}
                    Ok(m) if m.file_type().is_symlink() => {
                        return Err(
                            self.refuse(raw, "a symbolic link of that name is in the destination")
                        );
                    }
                    Ok(_) => return Err(Error::Exists { path: abs }),
                    Err(_) => create_dir(&abs)?,
                },
                _ => create_dir(&abs)?,
            }
        }
        self.nodes.insert(rel.clone(), Node::Dir);
        self.dirs.push((rel, mode, mtime));
        self.report.dirs += 1;
        Ok(())
    }

    fn plan(&mut self, rel: &Path) {
        self.report.plan.push(Action::Extract {
            entry: rel.to_path_buf(),
            dst: self.dst.join(rel),
        });
    }

    fn account(&mut self, raw: &[u8], bytes: u64) -> Result<()> {
        self.total += bytes;
        if self.total > self.max_bytes {
            return Err(self.limit(raw, "total size", self.max_bytes));
        }
        let consumed = self.consumed.load(Ordering::Relaxed).max(1);
        if self.total > RATIO_FLOOR && self.total / consumed >= self.max_ratio {
            return Err(self.limit(raw, "compression ratio", self.max_ratio));
        }
        Ok(())
    }

    /// A regular file of `size` bytes whose content `data` yields.
    pub(crate) fn file(
        &mut self,
        raw: &[u8],
        mode: u32,
        mtime: u64,
        size: u64,
        data: &mut dyn Read,
    ) -> Result<()> {
        let Some((_, rel)) = self.name(raw, false)? else {
            return Ok(());
        };
        if self.total.saturating_add(size) > self.max_bytes {
            return Err(self.limit(raw, "total size", self.max_bytes));
        }
        self.parents(raw, &rel)?;
        self.replace(raw, &rel, Node::File)?;
        self.nodes.insert(rel.clone(), Node::File);
        if self.mode == Mode::Plan {
            self.plan(&rel);
            self.report.files += 1;
            self.report.bytes += size;
            // The reader skips the content; count it for the limits all the same.
            let n = io::copy(&mut data.take(size.saturating_add(1)), &mut io::sink())
                .map_err(|e| self.corrupt(Some(raw), &e))?;
            // A zip's check pass reads nothing: its declared sizes count, so a bomb
            // whose central directory already says too much is refused before writing.
            return self.account(raw, n.max(size));
        }
        let w = worker_for(&rel, self.senders.len());
        let path = self.root.join(&rel);
        // A file that fits in one chunk goes to its writer in one message.
        let mut begin = Some((path, rel, mode, mtime));
        let mut left = size;
        loop {
            let want = usize::try_from(left).unwrap_or(CHUNK).clamp(1, CHUNK);
            let mut buf = Vec::with_capacity(want);
            let n = data
                .take(want as u64)
                .read_to_end(&mut buf)
                .map_err(|e| self.corrupt(Some(raw), &e))?;
            if n == 0 {
                break;
            }
            left = left.saturating_sub(n as u64);
            self.account(raw, n as u64)?;
            if left == 0 {
                // A lying size (zip) must not let more through than declared.
                let mut probe = [0u8; 1];
                if data
                    .read(&mut probe)
                    .map_err(|e| self.corrupt(Some(raw), &e))?
                    != 0
                {
                    return Err(self.corrupt(Some(raw), &"more data than its declared size"));
                }
            }
            if let Some((path, rel, mode, mtime)) = begin.take() {
                if left == 0 {
                    return self.send(
                        w,
                        Job::Whole {
                            path,
                            rel,
                            mode,
                            mtime,
                            data: buf,
                        },
                    );
                }
                self.send(
                    w,
                    Job::Begin {
                        path,
                        rel,
                        mode,
                        mtime,
                    },
                )?;
            }
            self.send(w, Job::Data(buf))?;
            if left == 0 {
                break;
            }
        }
        if left != 0 {
            return Err(self.corrupt(Some(raw), &"truncated content"));
        }
        match begin {
            Some((path, rel, mode, mtime)) => self.send(
                w,
                Job::Whole {
                    path,
                    rel,
                    mode,
                    mtime,
                    data: Vec::new(),
                },
            ),
            None => self.send(w, Job::End),
        }
    }

    fn send(&self, w: usize, job: Job) -> Result<()> {
        self.senders[w]
            .send(job)
            .map_err(|_| bad(&self.archive, "a writer thread stopped"))?;
        Ok(())
    }

    /// A symbolic link entry; created after every file.
    pub(crate) fn symlink(&mut self, raw: &[u8], target: &[u8], mtime: u64) -> Result<()> {
        let Some((comps, rel)) = self.name(raw, false)? else {
            return Ok(());
        };
        let parts: Vec<&[u8]> = comps.iter().map(Vec::as_slice).collect();
        check_link_target(&parts, target).map_err(|u| {
            self.refuse(
                raw,
                format!("{} ({})", u.as_str(), String::from_utf8_lossy(target)),
            )
        })?;
        if cfg!(windows) && target.split(|&b| b == b'/').any(windows_reserved_nonempty) {
            return Err(self.refuse(raw, Unsafe::WindowsReserved.as_str()));
        }
        self.parents(raw, &rel)?;
        self.replace(raw, &rel, Node::Symlink)?;
        self.nodes.insert(rel.clone(), Node::Symlink);
        if self.mode == Mode::Plan {
            self.plan(&rel);
        }
        self.links
            .push((rel, self.root.clone(), target.to_vec(), mtime));
        self.report.files += 1;
        Ok(())
    }

    /// A hard link entry: `target` names an earlier entry of this archive.
    pub(crate) fn hardlink(&mut self, raw: &[u8], target: &[u8]) -> Result<()> {
        let Some((_, rel)) = self.name(raw, false)? else {
            return Ok(());
        };
        let tcomps = entry_components(target)
            .map_err(|u| self.refuse(raw, format!("hard link target: {}", u.as_str())))?;
        let trel = rel_path(tcomps.iter().copied());
        if !self.filters.keeps(&trel) {
            // Its target was left out by the filters: so is the link.
            self.report.skipped += 1;
            return Ok(());
        }
        if self.nodes.get(&trel) != Some(&Node::File) {
            return Err(self.refuse(
                raw,
                format!(
                    "hard link to {:?}, which is not a file this archive extracted",
                    String::from_utf8_lossy(target)
                ),
            ));
        }
        self.parents(raw, &rel)?;
        self.replace(raw, &rel, Node::Hardlink)?;
        self.nodes.insert(rel.clone(), Node::Hardlink);
        if self.mode == Mode::Plan {
            self.plan(&rel);
        }
        self.hardlinks.push((rel, trel, self.root.clone()));
        self.report.files += 1;
        Ok(())
    }

    /// Waits for the writers, makes the links, sets directory modes and times.
    pub(crate) fn finish(mut self) -> Result<Report> {
        self.senders.clear();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        self.check_workers()?;
        let sh = &self.shared;
        self.report.files += sh.files.load(Ordering::Relaxed);
        self.report.bytes += sh.bytes.load(Ordering::Relaxed);
        self.report.skipped += sh.skipped.load(Ordering::Relaxed);
        if self.mode == Mode::Plan {
            return Ok(std::mem::take(&mut self.report));
        }
        for (rel, trel, root) in &self.hardlinks {
            let path = root.join(rel);
            let target = root.join(trel);
            if !make_room(&path, sh.overwrite, None)? {
                self.report.skipped += 1;
                self.report.files -= 1;
                continue;
            }
            fs::hard_link(&target, &path).map_err(|e| Error::io("link", &path, e))?;
            sh.tracker.file(0, rel);
        }
        for (rel, root, target, mtime) in &self.links {
            let path = root.join(rel);
            if !make_room(&path, sh.overwrite, Some(*mtime))? {
                self.report.skipped += 1;
                self.report.files -= 1;
                continue;
            }
            make_symlink(root, rel, target, &path)?;
            sh.tracker.file(0, rel);
            let t = filetime::FileTime::from_unix_time(i64::try_from(*mtime).unwrap_or(0), 0);
            // Not every platform can time a link itself; the link is there, which is what matters.
            let _ = filetime::set_symlink_file_times(&path, t, t);
        }
        // Deepest first, so setting a directory's time is not undone by its children.
        self.dirs
            .sort_by_key(|d| std::cmp::Reverse(d.0.components().count()));
        for (rel, mode, mtime) in &self.dirs {
            let path = self.root.join(rel);
            set_dir_meta(&path, *mode, *mtime)?;
        }
        Ok(std::mem::take(&mut self.report))
    }
}

impl Drop for Extractor {
    fn drop(&mut self) {
        self.senders.clear();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

fn windows_reserved_nonempty(c: &[u8]) -> bool {
    !c.is_empty() && c != b"." && c != b".." && windows_reserved(c)
}

fn worker_for(rel: &Path, n: usize) -> usize {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    rel.hash(&mut h);
    usize::try_from(h.finish() % (n.max(1) as u64)).unwrap_or(0)
}

/// A path from archive name components.
#[cfg(unix)]
pub(crate) fn rel_path<'a>(comps: impl IntoIterator<Item = &'a [u8]>) -> PathBuf {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    comps.into_iter().map(OsStr::from_bytes).collect()
}

/// A path from archive name components. Names are bytes in archives and Windows wants
/// UTF-16: non-UTF-8 names cannot round-trip there, so they are converted lossily.
#[cfg(not(unix))]
pub(crate) fn rel_path<'a>(comps: impl IntoIterator<Item = &'a [u8]>) -> PathBuf {
    comps
        .into_iter()
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect()
}

fn create_dir(abs: &Path) -> Result<()> {
    match fs::create_dir(abs) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => match fs::symlink_metadata(abs) {
            Ok(m) if m.is_dir() => Ok(()),
            _ => Err(Error::Exists {
                path: abs.to_path_buf(),
            }),
        },
        Err(e) => Err(Error::io("create", abs, e)),
    }
}

/// Whether a new file or link may take `path` under `policy`: `Ok(false)` when a file
/// is there and is kept, [`Error::Exists`] for a directory or with [`Overwrite::Error`].
/// `mtime` is the new entry's time, for [`Overwrite::IfNewer`] (unknown: not newer).
fn replaces(path: &Path, policy: Overwrite, mtime: Option<u64>) -> Result<bool> {
    let m = match fs::symlink_metadata(path) {
        Err(_) => return Ok(true),
        Ok(m) if m.is_dir() => {
            return Err(Error::Exists {
                path: path.to_path_buf(),
            });
        }
        Ok(m) => m,
    };
    match policy {
        Overwrite::Never => Ok(false),
        Overwrite::IfNewer => {
            let old = filetime::FileTime::from_last_modification_time(&m).unix_seconds();
            Ok(mtime.is_some_and(|t| i64::try_from(t).unwrap_or(i64::MAX) > old))
        }
        Overwrite::Error => Err(Error::Exists {
            path: path.to_path_buf(),
        }),
        _ => Ok(true),
    }
}

/// Clears `path` for a new file or link: `Ok(false)` when it exists and is kept.
/// Never follows a link: an existing link is removed, not written through.
fn make_room(path: &Path, policy: Overwrite, mtime: Option<u64>) -> Result<bool> {
    if !replaces(path, policy, mtime)? {
        return Ok(false);
    }
    let Ok(m) = fs::symlink_metadata(path) else {
        return Ok(true);
    };
    if m.permissions().readonly() && cfg!(windows) {
        let mut p = m.permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        p.set_readonly(false);
        let _ = fs::set_permissions(path, p);
    }
    fs::remove_file(path).map_err(|e| Error::io("remove", path, e))?;
    Ok(true)
}

fn systime(mtime: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(mtime)
}

#[cfg(unix)]
fn set_file_meta(f: &File, path: &Path, mode: u32, mtime: u64) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    f.set_modified(systime(mtime))
        .map_err(|e| Error::io("set the time of", path, e))?;
    f.set_permissions(fs::Permissions::from_mode(mode & 0o777))
        .map_err(|e| Error::io("chmod", path, e))
}

#[cfg(not(unix))]
fn set_file_meta(f: &File, path: &Path, mode: u32, mtime: u64) -> Result<()> {
    f.set_modified(systime(mtime))
        .map_err(|e| Error::io("set the time of", path, e))?;
    if mode & 0o200 == 0 {
        let mut p = f
            .metadata()
            .map_err(|e| Error::io("stat", path, e))?
            .permissions();
        p.set_readonly(true);
        f.set_permissions(p)
            .map_err(|e| Error::io("chmod", path, e))?;
    }
    Ok(())
}

#[cfg(unix)]
fn set_dir_meta(path: &Path, mode: u32, mtime: u64) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let t = filetime::FileTime::from_unix_time(i64::try_from(mtime).unwrap_or(0), 0);
    filetime::set_file_times(path, t, t).map_err(|e| Error::io("set the time of", path, e))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o777))
        .map_err(|e| Error::io("chmod", path, e))
}

#[cfg(not(unix))]
fn set_dir_meta(path: &Path, _mode: u32, mtime: u64) -> Result<()> {
    let t = filetime::FileTime::from_unix_time(i64::try_from(mtime).unwrap_or(0), 0);
    filetime::set_file_times(path, t, t).map_err(|e| Error::io("set the time of", path, e))
}

#[cfg(unix)]
fn make_symlink(_root: &Path, _rel: &Path, target: &[u8], path: &Path) -> Result<()> {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    std::os::unix::fs::symlink(OsStr::from_bytes(target), path)
        .map_err(|e| Error::io("create link", path, e))
}

#[cfg(windows)]
fn make_symlink(root: &Path, rel: &Path, target: &[u8], path: &Path) -> Result<()> {
    let t = rel_path(
        target
            .split(|&b| b == b'/')
            .filter(|c| !c.is_empty() && *c != b"."),
    );
    // Windows needs to know whether the target is a directory.
    let parent = rel.parent().unwrap_or(Path::new(""));
    let is_dir = fs::metadata(root.join(parent).join(&t)).is_ok_and(|m| m.is_dir());
    let r = if is_dir {
        std::os::windows::fs::symlink_dir(&t, path)
    } else {
        std::os::windows::fs::symlink_file(&t, path)
    };
    r.map_err(|e| Error::io("create link", path, e))
}

#[cfg(not(any(unix, windows)))]
fn make_symlink(_root: &Path, _rel: &Path, _target: &[u8], path: &Path) -> Result<()> {
    Err(Error::io(
        "create link",
        path,
        io::Error::new(
            io::ErrorKind::Unsupported,
            "symbolic links are not supported here",
        ),
    ))
}

/// A writer thread: creates the files it is sent, in order. A file is written under a
/// temporary name and renamed into place when complete; a file left unfinished (an
/// error here or in the reader, which then stops sending) is removed when dropped.
fn writer(rx: &Receiver<Job>, sh: &Shared) {
    let mut cur: Option<Pending> = None;
    while let Ok(job) = rx.recv() {
        if sh.failed.load(Ordering::Relaxed) {
            cur = None;
            continue;
        }
        let r = match job {
            Job::Begin {
                path,
                rel,
                mode,
                mtime,
            } => {
                cur = None;
                match Pending::create(path, rel, mode, mtime, sh.overwrite) {
                    Ok(Some(p)) => {
                        cur = Some(p);
                        Ok(())
                    }
                    Ok(None) => {
                        sh.skipped.fetch_add(1, Ordering::Relaxed);
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            Job::Data(buf) => match &mut cur {
                Some(p) => p.write(&buf),
                None => Ok(()),
            },
            Job::Whole {
                path,
                rel,
                mode,
                mtime,
                data,
            } => match Pending::create(path, rel, mode, mtime, sh.overwrite) {
                Ok(Some(mut p)) => p.write(&data).and_then(|()| p.commit(sh)),
                Ok(None) => {
                    sh.skipped.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                }
                Err(e) => Err(e),
            },
            Job::End => match cur.take() {
                Some(p) => p.commit(sh),
                None => Ok(()),
            },
        };
        if let Err(e) = r {
            cur = None;
            sh.fail(e);
        }
    }
}

/// A file being written under a temporary name in its destination directory. Dropped
/// before [`Pending::commit`] renamed it into place, it removes the temporary file, so
/// no failure leaves a truncated file under the final name.
struct Pending {
    file: Option<File>,
    tmp: PathBuf,
    path: PathBuf,
    rel: PathBuf,
    mode: u32,
    mtime: u64,
    written: u64,
    done: bool,
}

impl Pending {
    /// Creates the temporary file for `path`, or `None` when the policy keeps the file
    /// already there. Never opens through a link: the temporary name is created with
    /// `create_new` (`O_CREAT | O_EXCL`).
    fn create(
        path: PathBuf,
        rel: PathBuf,
        mode: u32,
        mtime: u64,
        policy: Overwrite,
    ) -> Result<Option<Pending>> {
        if !replaces(&path, policy, Some(mtime))? {
            return Ok(None);
        }
        let mut tries = 0;
        loop {
            let tmp = temp_name(&path);
            match OpenOptions::new().write(true).create_new(true).open(&tmp) {
                Ok(f) => {
                    return Ok(Some(Pending {
                        file: Some(f),
                        tmp,
                        path,
                        rel,
                        mode,
                        mtime,
                        written: 0,
                        done: false,
                    }));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 16 => tries += 1,
                Err(e) => return Err(Error::io("create", &tmp, e)),
            }
        }
    }

    fn write(&mut self, buf: &[u8]) -> Result<()> {
        let Some(f) = self.file.as_mut() else {
            return Ok(());
        };
        f.write_all(buf)
            .map_err(|e| Error::io("write", &self.path, e))?;
        self.written += buf.len() as u64;
        Ok(())
    }

    /// Sets the mode and time, then renames the file into place, the policy asked again
    /// (something may have appeared under the final name meanwhile).
    fn commit(mut self, sh: &Shared) -> Result<()> {
        if let Some(f) = self.file.take() {
            set_file_meta(&f, &self.path, self.mode, self.mtime)?;
        }
        if !replaces(&self.path, sh.overwrite, Some(self.mtime))? {
            sh.skipped.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        // rename replaces a file or a link, never writes through one.
        crate::copy::file::replace(&self.tmp, &self.path)
            .map_err(|e| Error::io("rename", &self.path, e))?;
        self.done = true;
        sh.files.fetch_add(1, Ordering::Relaxed);
        sh.bytes.fetch_add(self.written, Ordering::Relaxed);
        sh.tracker.file(self.written, &self.rel);
        Ok(())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        drop(self.file.take());
        #[cfg(windows)]
        if let Ok(m) = fs::symlink_metadata(&self.tmp) {
            let mut p = m.permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            p.set_readonly(false);
            let _ = fs::set_permissions(&self.tmp, p);
        }
        let _ = fs::remove_file(&self.tmp);
    }
}

/// `.<name>.nfs-tmp-<random>` next to `path` (the name cut to keep within `NAME_MAX`).
fn temp_name(path: &Path) -> PathBuf {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    let suffix = format!(".nfs-tmp-{:016x}", h.finish());
    let name = path.file_name().unwrap_or_default();
    #[cfg(unix)]
    let name = {
        use std::os::unix::ffi::{OsStrExt, OsStringExt};
        let b = name.as_bytes();
        let mut v = Vec::with_capacity(200);
        v.push(b'.');
        v.extend_from_slice(&b[..b.len().min(160)]);
        v.extend_from_slice(suffix.as_bytes());
        std::ffi::OsString::from_vec(v)
    };
    #[cfg(not(unix))]
    let name = {
        let s: String = name.to_string_lossy().chars().take(160).collect();
        format!(".{s}{suffix}")
    };
    path.with_file_name(name)
}

/// With [`Overwrite::Error`]: fails on the first file of `src` already in `dst`, before
/// anything is moved.
fn conflicts(src: &Path, dst: &Path) -> Result<()> {
    for e in walkdir::WalkDir::new(src).min_depth(1) {
        let e = e.map_err(|e| Error::io("read", src, e.into()))?;
        let rel = e.path().strip_prefix(src).unwrap_or(e.path());
        let d = dst.join(rel);
        if let Ok(m) = fs::symlink_metadata(&d) {
            if !(m.is_dir() && e.file_type().is_dir()) {
                return Err(Error::Exists { path: d });
            }
        }
    }
    Ok(())
}

/// Moves the extracted tree `src` into `dst`, merging directories.
fn move_into(src: &Path, dst: &Path, policy: Overwrite, skipped: &mut u64) -> Result<()> {
    let rd = fs::read_dir(src).map_err(|e| Error::io("read", src, e))?;
    for entry in rd {
        let entry = entry.map_err(|e| Error::io("read", src, e))?;
        let s = entry.path();
        let d = dst.join(entry.file_name());
        let s_is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        match fs::symlink_metadata(&d) {
            Err(_) => rename_or_copy(&s, &d)?,
            Ok(m) if m.is_dir() && s_is_dir => {
                move_into(&s, &d, policy, skipped)?;
                if let Ok(sm) = fs::metadata(&s) {
                    let _ = fs::set_permissions(&d, sm.permissions());
                    if let Ok(t) = sm.modified() {
                        let t = filetime::FileTime::from_system_time(t);
                        let _ = filetime::set_file_times(&d, t, t);
                    }
                }
            }
            Ok(m) if m.is_dir() || s_is_dir => return Err(Error::Exists { path: d }),
            Ok(_) => {
                let mtime = fs::symlink_metadata(&s).ok().map(|m| {
                    u64::try_from(
                        filetime::FileTime::from_last_modification_time(&m).unix_seconds(),
                    )
                    .unwrap_or(0)
                });
                if make_room(&d, policy, mtime)? {
                    rename_or_copy(&s, &d)?;
                } else {
                    *skipped += 1;
                }
            }
        }
    }
    Ok(())
}

fn rename_or_copy(s: &Path, d: &Path) -> Result<()> {
    match fs::rename(s, d) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::CrossesDevices => copy_tree(s, d),
        Err(e) => Err(Error::io("rename", d, e)),
    }
}

/// Copies a tree across file systems: links as links, modes and times kept.
fn copy_tree(s: &Path, d: &Path) -> Result<()> {
    let m = fs::symlink_metadata(s).map_err(|e| Error::io("stat", s, e))?;
    let t = filetime::FileTime::from_last_modification_time(&m);
    if m.file_type().is_symlink() {
        let target = fs::read_link(s).map_err(|e| Error::io("read link", s, e))?;
        #[cfg(unix)]
        std::os::unix::fs::symlink(&target, d).map_err(|e| Error::io("create link", d, e))?;
        #[cfg(windows)]
        {
            let r = if fs::metadata(s).is_ok_and(|m| m.is_dir()) {
                std::os::windows::fs::symlink_dir(&target, d)
            } else {
                std::os::windows::fs::symlink_file(&target, d)
            };
            r.map_err(|e| Error::io("create link", d, e))?;
        }
        let _ = filetime::set_symlink_file_times(d, t, t);
        return Ok(());
    }
    if m.is_dir() {
        create_dir(d)?;
        for e in fs::read_dir(s).map_err(|e| Error::io("read", s, e))? {
            let e = e.map_err(|e| Error::io("read", s, e))?;
            copy_tree(&e.path(), &d.join(e.file_name()))?;
        }
    } else {
        fs::copy(s, d).map_err(|e| Error::io("copy", d, e))?;
    }
    fs::set_permissions(d, m.permissions()).map_err(|e| Error::io("chmod", d, e))?;
    filetime::set_file_times(d, t, t).map_err(|e| Error::io("set the time of", d, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_sit_next_to_the_file_and_differ() {
        let p = Path::new("d/sub/file.txt");
        let a = temp_name(p);
        let b = temp_name(p);
        assert_ne!(a, b);
        assert_eq!(a.parent(), p.parent());
        let n = a.file_name().unwrap().to_string_lossy().into_owned();
        assert!(n.starts_with(".file.txt.nfs-tmp-"), "{n}");
        // A long name is cut so the temporary name stays within NAME_MAX (255 bytes).
        let long = "x".repeat(250);
        let t = temp_name(Path::new(&long));
        assert!(t.as_os_str().len() <= 255, "{}", t.display());
    }

    #[test]
    fn pending_file_is_removed_unless_committed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut p = Pending::create(path.clone(), "f".into(), 0o644, 0, Overwrite::Always)
            .unwrap()
            .unwrap();
        p.write(b"part").unwrap();
        let tmp = p.tmp.clone();
        assert!(tmp.exists());
        drop(p);
        assert!(!tmp.exists() && !path.exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
