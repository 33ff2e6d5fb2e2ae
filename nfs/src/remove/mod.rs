//! `remove`: files, directories, links or globs, filtered, never following a link.
//!
//! The walk is written once, over the small [`Backend`] trait; the Unix backend works relative
//! to open directory handles (`openat`, `unlinkat`, `fstatat` with `AT_SYMLINK_NOFOLLOW`),
//! the portable one (Windows and the rest) with paths.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::filter::{CompiledFilters, Filters, common_setters, normalize};
use crate::progress::{Action, ProgressFn, Report, SkipReason, Tracker};
use crate::sources;

#[cfg(not(unix))]
mod portable;
#[cfg(not(unix))]
use portable as imp;
#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as imp;

/// Options for [`remove_with`].
///
/// ```
/// let opts = nfs::RemoveOptions::new().exclude_files(["*.conf"]).dry_run(true);
/// assert!(opts.is_dry_run());
/// ```
#[derive(Debug, Clone, Default)]
pub struct RemoveOptions {
    pub(crate) filters: Filters,
    pub(crate) dry_run: bool,
    pub(crate) progress: Option<ProgressFn>,
    pub(crate) missing_ok: bool,
    threads: Option<usize>,
}

common_setters!(RemoveOptions);

impl RemoveOptions {
    /// Defaults: no filters, not a dry run, a missing source is an error.
    #[must_use]
    pub fn new() -> Self {
        RemoveOptions::default()
    }

    /// Succeed with an empty report when the source does not exist or a glob matches
    /// nothing, like `rm -f` (default: [`Error::NotFound`] / [`Error::NoMatch`]).
    #[must_use]
    pub fn missing_ok(mut self, yes: bool) -> Self {
        self.missing_ok = yes;
        self
    }

    /// Number of subtrees removed at once (default: one per core; `1` removes in order,
    /// on the calling thread).
    #[must_use]
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = Some(n.max(1));
        self
    }
}

/// Remove a file, a directory tree, a symbolic link, or everything a glob matches.
///
/// Same as [`remove_with`] with default options.
///
/// ```no_run
/// let report = nfs::remove("/opt/app/logs/*.log")?;
/// println!("removed {} files, {} bytes", report.files, report.bytes);
/// # Ok::<(), nfs::Error>(())
/// ```
///
/// # Errors
/// See [`remove_with`].
///
/// # Platform behavior
/// See [`remove_with`].
pub fn remove(src: impl AsRef<Path>) -> Result<Report> {
    remove_with(src, &RemoveOptions::new())
}

/// Remove `src` (a file, a directory tree, a link, or a glob such as
/// `/opt/app/logs/*.log`), with filters.
///
/// - A symbolic link is removed, never followed: its target stays.
/// - With filters, only what they take goes (see [`Filters`]). Paths are matched relative
///   to `src` (for a directory), or to the glob's literal base directory.
/// - A directory goes when nothing it holds is kept. With an include list
///   (`filter_files`, `filter_dirs`), a directory that was empty to begin with stays,
///   unless it is in a `filter_dirs` match.
/// - When `src` is a directory and any filter is set, `src` itself stays; with no filter
///   it goes, like `rm -rf`.
/// - Read-only files and directories are removed.
/// - Subtrees are removed in parallel.
///
/// Returns what was removed: files (and links), directories and bytes; with
/// `dry_run(true)`, what would be, with the plan, touching nothing.
///
/// # Errors
/// [`Error::NotFound`] or [`Error::NoMatch`] when there is nothing to remove (unless
/// `missing_ok`), [`Error::Glob`] for a bad pattern, [`Error::Refused`] for `/`, `.` or
/// `..`, and [`Error::Io`] naming the path that could not be read or removed. What was
/// removed before the error stays removed.
///
/// # Platform behavior
/// On Unix every step is relative to an open directory handle, opened with `O_NOFOLLOW`,
/// so swapping a directory for a link while the removal runs cannot redirect it (the
/// fix std made for CVE-2022-21658). A read-only directory gets its owner's write bit
/// back so its entries can be unlinked; the parent of `src` gets its mode restored.
/// On Windows the read-only attribute is cleared; directory symbolic links and junctions
/// are removed as links. Elsewhere paths are used (a concurrent swap is not guarded).
pub fn remove_with(src: impl AsRef<Path>, options: &RemoveOptions) -> Result<Report> {
    let src = src.as_ref();
    let filters = options.filters.compile()?;
    let sources = sources::expand(src)?;
    if sources.pattern.is_some() && sources.items.is_empty() {
        if options.missing_ok {
            return Ok(dry(options.dry_run));
        }
        return Err(Error::NoMatch {
            pattern: src.display().to_string(),
        });
    }
    let tracker = Tracker::new(options.progress.clone());
    if tracker.active() && !options.dry_run {
        // Totals for the progress callback: plan first (a second walk, only when asked).
        let plan = run(&sources, &filters, options, true, &Tracker::new(None))?;
        tracker.set_totals(plan.files, plan.bytes);
    }
    let go = || {
        if options.dry_run {
            // A plan has no progress to report (and no totals to report it against).
            return run(&sources, &filters, options, true, &Tracker::new(None));
        }
        run(&sources, &filters, options, false, &tracker)
    };
    match options.threads {
        Some(n) if n > 1 => match rayon::ThreadPoolBuilder::new().num_threads(n).build() {
            Ok(pool) => pool.install(go),
            Err(_) => go(),
        },
        _ => go(),
    }
}

fn dry(yes: bool) -> Report {
    Report {
        dry_run: yes,
        ..Report::default()
    }
}

fn run(
    sources: &sources::Sources,
    filters: &CompiledFilters,
    options: &RemoveOptions,
    dry_run: bool,
    tracker: &Tracker,
) -> Result<Report> {
    let fs = imp::Fs;
    let ctx = Ctx {
        filters,
        includes: filters.has_includes(),
        dry: dry_run,
        tracker,
        parallel: options.threads != Some(1),
    };
    let mut report = dry(dry_run);
    let glob = sources.pattern.is_some();
    // One item, in its opened parent directory.
    let one = |dir: &<imp::Fs as Backend>::Dir, item: &PathBuf| -> Result<Option<Outcome>> {
        let (_, name) = split_parent(item)?;
        let Some(kind) = fs.kind(dir, &name, item)? else {
            return Ok(None);
        };
        let rel = if glob {
            normalize(item.strip_prefix(&sources.root).unwrap_or(item))
        } else if kind != Kind::Dir {
            PathBuf::from(&name)
        } else {
            PathBuf::new()
        };
        if glob && !(filters.keeps_dir(rel.parent().unwrap_or(Path::new("")))) {
            return Ok(Some(Outcome::skipped(item, dry_run)));
        }
        let top = if glob { Top::GlobItem } else { Top::Root };
        entry(&fs, dir, &name, kind, item, &rel, top, &ctx).map(Some)
    };
    // Glob matches come sorted: those sharing a parent are removed from one handle on
    // it, in parallel.
    let items = &sources.items;
    let mut i = 0;
    while i < items.len() {
        let (parent, _) = split_parent(&items[i])?;
        let mut j = i + 1;
        while j < items.len() && items[j].parent() == items[i].parent() {
            j += 1;
        }
        let group = &items[i..j];
        i = j;
        let outcomes = fs.with_parent(&parent, &group[0], dry_run, |dir| {
            Ok(if group.len() > 1 && ctx.parallel {
                group
                    .par_iter()
                    .map(|item| one(dir, item))
                    .collect::<Vec<_>>()
            } else {
                group.iter().map(|item| one(dir, item)).collect()
            })
        });
        let outcomes = match outcomes {
            Ok(o) => o,
            Err(Error::NotFound { .. }) if options.missing_ok => continue,
            Err(e) => return Err(e),
        };
        for (item, outcome) in group.iter().zip(outcomes) {
            match outcome? {
                Some(o) => report.merge(o.report),
                None if options.missing_ok => {}
                None => return Err(Error::NotFound { path: item.clone() }),
            }
        }
    }
    Ok(report)
}

/// The parent directory and the name of `item`; refuses paths without a name.
fn split_parent(item: &Path) -> Result<(PathBuf, OsString)> {
    let name = match item.file_name() {
        Some(n) if !item.as_os_str().is_empty() && !ends_with_dot(item) => n,
        _ => {
            return Err(Error::Refused {
                op: "remove",
                path: item.to_path_buf(),
                reason: "it has no name to remove (a root, `.` or `..`)",
            });
        }
    };
    let parent = match item.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((parent, name.to_os_string()))
}

fn ends_with_dot(p: &Path) -> bool {
    matches!(
        p.components().next_back(),
        Some(std::path::Component::CurDir | std::path::Component::ParentDir)
    )
}

/// What a directory entry is, without following links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Dir,
    File,
    Symlink,
    Other,
}

/// What a backend provides. `Dir` is an open directory (Unix) or its path (portable).
pub(crate) trait Backend: Sync {
    type Dir: Send + Sync;
    /// Open `parent` and call `f` with it; restore the parent's mode afterwards if the
    /// removal had to make it writable.
    fn with_parent<T>(
        &self,
        parent: &Path,
        item: &Path,
        dry: bool,
        f: impl FnOnce(&Self::Dir) -> Result<T>,
    ) -> Result<T>;
    /// The kind of `name` in `dir`, `None` when it does not exist.
    fn kind(&self, dir: &Self::Dir, name: &OsStr, path: &Path) -> Result<Option<Kind>>;
    /// Open the subdirectory `name`, never through a link; `None` when it is not a
    /// directory (any more). May make it readable when `!dry`.
    fn open(
        &self,
        dir: &Self::Dir,
        name: &OsStr,
        path: &Path,
        dry: bool,
    ) -> Result<Option<Self::Dir>>;
    /// The entries of an open directory.
    fn list(&self, dir: &mut Self::Dir, path: &Path) -> Result<Vec<(OsString, Kind)>>;
    /// The size of a file or link (0 when unknown).
    fn size(&self, dir: &Self::Dir, name: &OsStr) -> u64;
    /// Remove a file or link.
    fn unlink(&self, dir: &Self::Dir, name: &OsStr, path: &Path) -> Result<()>;
    /// Remove an empty directory.
    fn rmdir(&self, dir: &Self::Dir, name: &OsStr, path: &Path) -> Result<()>;
}

struct Ctx<'a> {
    filters: &'a CompiledFilters,
    includes: bool,
    dry: bool,
    tracker: &'a Tracker,
    parallel: bool,
}

#[derive(Debug, Default)]
struct Outcome {
    report: Report,
    /// Something remains (the entry itself, or something inside it).
    kept: bool,
    /// Something was (or would be) removed.
    removed: bool,
}

impl Outcome {
    fn skipped(path: &Path, dry: bool) -> Outcome {
        let mut report = self::dry(dry);
        report.skipped = 1;
        if dry {
            report.plan.push(Action::Skip {
                path: path.to_path_buf(),
                reason: SkipReason::Filtered,
            });
        }
        Outcome {
            report,
            kept: true,
            removed: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Top {
    /// `src` itself: a directory goes only when no filter is set.
    Root,
    /// A glob match (its parents were checked by the caller).
    GlobItem,
    /// An entry met while walking.
    Inner,
}

/// Process one entry of `dir`: remove it (and what it holds), or keep it.
#[allow(clippy::too_many_arguments)]
fn entry<B: Backend>(
    fs: &B,
    dir: &B::Dir,
    name: &OsStr,
    kind: Kind,
    path: &Path,
    rel: &Path,
    top: Top,
    ctx: &Ctx<'_>,
) -> Result<Outcome> {
    if kind == Kind::Dir {
        if !ctx.filters.enter_dir_norm(rel) {
            return Ok(Outcome::skipped(path, ctx.dry));
        }
        let Some(mut sub) = fs.open(dir, name, path, ctx.dry)? else {
            // Replaced by a file or link since it was listed: remove it as such.
            return entry(fs, dir, name, Kind::Symlink, path, rel, top, ctx);
        };
        let mut out = contents(fs, &mut sub, path, rel, ctx)?;
        drop(sub);
        let goes = !out.kept
            && match top {
                Top::Root => ctx.filters.is_empty(),
                Top::GlobItem | Top::Inner => {
                    !ctx.includes || out.removed || ctx.filters.below_filter_dir_norm(rel)
                }
            };
        if goes {
            if !ctx.dry {
                fs.rmdir(dir, name, path)?;
            } else {
                out.report.plan.push(Action::RemoveDir {
                    path: path.to_path_buf(),
                });
            }
            out.report.dirs += 1;
            out.removed = true;
        } else {
            out.kept = true;
        }
        return Ok(out);
    }
    if !ctx.filters.keep_file_norm(rel) {
        return Ok(Outcome::skipped(path, ctx.dry));
    }
    let bytes = fs.size(dir, name);
    let mut report = self::dry(ctx.dry);
    if ctx.dry {
        report.plan.push(Action::RemoveFile {
            path: path.to_path_buf(),
            bytes,
        });
    } else {
        fs.unlink(dir, name, path)?;
    }
    report.files = 1;
    report.bytes = bytes;
    ctx.tracker.file(bytes, path);
    Ok(Outcome {
        report,
        kept: false,
        removed: true,
    })
}

/// Process what an open directory holds; subdirectories in parallel.
fn contents<B: Backend>(
    fs: &B,
    dir: &mut B::Dir,
    path: &Path,
    rel: &Path,
    ctx: &Ctx<'_>,
) -> Result<Outcome> {
    let entries = fs.list(dir, path)?;
    let dir: &B::Dir = dir;
    let mut out = Outcome {
        report: self::dry(ctx.dry),
        ..Outcome::default()
    };
    let mut subdirs = Vec::new();
    for (name, kind) in entries {
        if kind == Kind::Dir {
            subdirs.push(name);
            continue;
        }
        let o = entry(
            fs,
            dir,
            &name,
            kind,
            &path.join(&name),
            &rel.join(&name),
            Top::Inner,
            ctx,
        )?;
        out.add(o);
    }
    let one = |name: &OsString| {
        entry(
            fs,
            dir,
            name,
            Kind::Dir,
            &path.join(name),
            &rel.join(name),
            Top::Inner,
            ctx,
        )
    };
    if subdirs.len() > 1 && ctx.parallel {
        let results: Vec<Result<Outcome>> = subdirs.par_iter().map(one).collect();
        for r in results {
            out.add(r?);
        }
    } else {
        for name in &subdirs {
            out.add(one(name)?);
        }
    }
    Ok(out)
}

impl Outcome {
    fn add(&mut self, o: Outcome) {
        self.report.merge(o.report);
        self.kept |= o.kept;
        self.removed |= o.removed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_nameless_paths() {
        for p in ["/", ".", "..", "a/.."] {
            assert!(
                matches!(split_parent(Path::new(p)), Err(Error::Refused { .. })),
                "{p}"
            );
        }
        assert_eq!(
            split_parent(Path::new("a")).unwrap(),
            (PathBuf::from("."), OsString::from("a"))
        );
        assert_eq!(
            split_parent(Path::new("/x/a")).unwrap(),
            (PathBuf::from("/x"), OsString::from("a"))
        );
    }
}
