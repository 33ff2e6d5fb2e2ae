//! Progress callbacks, dry-run plans and the report every operation returns.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// How far an operation has got: files and bytes done of the total.
///
/// Totals are known before the first file is processed (the tree is walked first), so
/// `files_done <= files_total` and `bytes_done <= bytes_total` hold, unless the tree
/// changes while the operation runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Progress {
    /// Files (and links) processed so far.
    pub files_done: u64,
    /// Files (and links) the operation will process.
    pub files_total: u64,
    /// Bytes processed so far.
    pub bytes_done: u64,
    /// Bytes the operation will process.
    pub bytes_total: u64,
    /// The file just processed, when there is one.
    pub current: Option<PathBuf>,
}

impl Progress {
    /// A progress value from its parts (the struct is `#[non_exhaustive]`).
    #[must_use]
    pub fn new(files_done: u64, files_total: u64, bytes_done: u64, bytes_total: u64) -> Self {
        Progress {
            files_done,
            files_total,
            bytes_done,
            bytes_total,
            current: None,
        }
    }
}

/// A progress callback, shared between threads.
///
/// Wrapped so that options structs stay `Debug` and `Clone`. The callback may be called
/// from several worker threads at once; it should be quick (update a bar, store a value).
#[derive(Clone)]
pub struct ProgressFn(Arc<dyn Fn(&Progress) + Send + Sync>);

impl ProgressFn {
    /// Wrap a closure.
    pub fn new(f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        ProgressFn(Arc::new(f))
    }

    /// Call the callback.
    pub fn call(&self, p: &Progress) {
        (self.0)(p);
    }
}

impl fmt::Debug for ProgressFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgressFn(..)")
    }
}

impl<F: Fn(&Progress) + Send + Sync + 'static> From<F> for ProgressFn {
    fn from(f: F) -> Self {
        ProgressFn::new(f)
    }
}

/// One step of an operation, as listed by a dry run's plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Action {
    /// Create a directory.
    CreateDir {
        /// The directory to create.
        path: PathBuf,
    },
    /// Copy a file's content (and permissions, modification time).
    CopyFile {
        /// The source file.
        src: PathBuf,
        /// Its destination.
        dst: PathBuf,
        /// Its size.
        bytes: u64,
    },
    /// Create a symbolic link (a link copied as a link).
    CopyLink {
        /// The source link.
        src: PathBuf,
        /// The link to create.
        dst: PathBuf,
        /// What the link points to.
        target: PathBuf,
    },
    /// Create a hard link to a file this copy already wrote (the source files were
    /// hard links to each other).
    HardLink {
        /// The source file.
        src: PathBuf,
        /// The link to create.
        dst: PathBuf,
        /// The copy it links to.
        target: PathBuf,
    },
    /// Remove a file or a symbolic link.
    RemoveFile {
        /// The file removed.
        path: PathBuf,
        /// Its size (a link's own size).
        bytes: u64,
    },
    /// Remove an (emptied) directory.
    RemoveDir {
        /// The directory removed.
        path: PathBuf,
    },
    /// Rename (move) a path.
    Rename {
        /// The source.
        src: PathBuf,
        /// The destination.
        dst: PathBuf,
    },
    /// Create a file or update its modification time.
    Touch {
        /// The file.
        path: PathBuf,
    },
    /// Leave a path alone (filtered out, or not overwritten).
    Skip {
        /// The path left alone.
        path: PathBuf,
        /// Why.
        reason: SkipReason,
    },
    /// Add a file, directory or link to an archive.
    AddEntry {
        /// The path on disk.
        path: PathBuf,
        /// The entry's name in the archive.
        entry: PathBuf,
    },
    /// Extract an archive entry.
    Extract {
        /// The entry's name in the archive.
        entry: PathBuf,
        /// Where it lands.
        dst: PathBuf,
    },
}

/// Why a path was left alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SkipReason {
    /// A filter excluded it (or a filter it holds excluded something inside it).
    Filtered,
    /// The destination exists and the overwrite policy keeps it.
    Exists,
    /// The destination is newer than the source (overwrite policy `IfNewer`).
    NotNewer,
    /// A directory kept because something it holds is kept.
    NotEmpty,
}

/// What an operation did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// Files copied, removed, added or extracted (symbolic links included).
    pub files: u64,
    /// Directories created or removed.
    pub dirs: u64,
    /// Bytes of file content copied, removed, added or extracted.
    pub bytes: u64,
    /// Paths left alone: filtered out, or kept by the overwrite policy.
    pub skipped: u64,
    /// Whether this is a dry run's report (nothing was touched).
    pub dry_run: bool,
    /// The planned steps, in order. Filled only by a dry run, so a real run over a
    /// million files does not keep a million entries.
    pub plan: Vec<Action>,
}

impl Report {
    /// Add another report's counts and plan to this one.
    pub fn merge(&mut self, other: Report) {
        self.files += other.files;
        self.dirs += other.dirs;
        self.bytes += other.bytes;
        self.skipped += other.skipped;
        self.dry_run |= other.dry_run;
        self.plan.extend(other.plan);
    }
}

/// Thread-safe progress accounting for one operation (crate-internal).
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    callback: Option<ProgressFn>,
    files_total: AtomicU64,
    bytes_total: AtomicU64,
    files_done: AtomicU64,
    bytes_done: AtomicU64,
}

#[allow(dead_code)] // parts are used only by some operations
impl Tracker {
    pub(crate) fn new(callback: Option<ProgressFn>) -> Self {
        Tracker {
            callback,
            ..Tracker::default()
        }
    }

    /// Whether anybody listens (so a caller can skip a pre-scan for totals).
    pub(crate) fn active(&self) -> bool {
        self.callback.is_some()
    }

    pub(crate) fn set_totals(&self, files: u64, bytes: u64) {
        self.files_total.store(files, Ordering::Relaxed);
        self.bytes_total.store(bytes, Ordering::Relaxed);
    }

    pub(crate) fn add_totals(&self, files: u64, bytes: u64) {
        self.files_total.fetch_add(files, Ordering::Relaxed);
        self.bytes_total.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Bytes done inside a file (a large copy), without counting the file.
    pub(crate) fn bytes(&self, bytes: u64, current: &std::path::Path) {
        let b = self.bytes_done.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if let Some(cb) = &self.callback {
            cb.call(&self.snapshot(self.files_done.load(Ordering::Relaxed), b, current));
        }
    }

    /// One file done, with its bytes.
    pub(crate) fn file(&self, bytes: u64, current: &std::path::Path) {
        let b = self.bytes_done.fetch_add(bytes, Ordering::Relaxed) + bytes;
        let f = self.files_done.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(cb) = &self.callback {
            cb.call(&self.snapshot(f, b, current));
        }
    }

    fn snapshot(&self, files_done: u64, bytes_done: u64, current: &std::path::Path) -> Progress {
        Progress {
            files_done,
            files_total: self.files_total.load(Ordering::Relaxed),
            bytes_done,
            bytes_total: self.bytes_total.load(Ordering::Relaxed),
            current: Some(current.to_path_buf()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn tracker_reports_running_totals() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let t = Tracker::new(Some(ProgressFn::new(move |p: &Progress| {
            s.lock().unwrap().push(p.clone());
        })));
        t.set_totals(2, 30);
        t.file(10, std::path::Path::new("a"));
        t.file(20, std::path::Path::new("b"));
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!((seen[1].files_done, seen[1].files_total), (2, 2));
        assert_eq!((seen[1].bytes_done, seen[1].bytes_total), (30, 30));
        assert_eq!(seen[1].current.as_deref(), Some(std::path::Path::new("b")));
    }

    #[test]
    fn report_merge_adds() {
        let mut a = Report {
            files: 1,
            bytes: 5,
            ..Report::default()
        };
        a.merge(Report {
            files: 2,
            dirs: 1,
            plan: vec![Action::RemoveDir { path: "x".into() }],
            ..Report::default()
        });
        assert_eq!((a.files, a.dirs, a.bytes, a.plan.len()), (3, 1, 5, 1));
    }

    #[test]
    fn progress_fn_is_debug_and_clone() {
        let f = ProgressFn::new(|_| {});
        let g = f.clone();
        assert_eq!(format!("{g:?}"), "ProgressFn(..)");
    }
}
