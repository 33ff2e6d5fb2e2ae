//! `copy`: file → file, file → directory, directory → directory, glob → directory;
//! filtered, in parallel, each file through a temporary name.

use std::fs::{self, Metadata};
use std::io;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::filter::{CompiledFilters, Filters, common_setters, normalize};
use crate::progress::{Action, ProgressFn, Report, SkipReason, Tracker};
use crate::sources;

pub(crate) mod file;

/// What to do when a destination file already exists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Overwrite {
    /// Replace it (atomically, by renaming the new copy over it). The default.
    #[default]
    Always,
    /// Keep it; the source file is skipped.
    Never,
    /// Replace it only when the source's modification time is later.
    IfNewer,
    /// Fail with [`Error::Exists`] before anything is copied.
    Error,
}

/// Options for [`copy_with`].
///
/// ```
/// use nfs::{CopyOptions, Overwrite};
/// let opts = CopyOptions::new()
///     .exclude_dirs([".git", "__pycache__"])
///     .exclude_files(["*.pyc"])
///     .symlinks(true)
///     .mode(0o750)
///     .overwrite(Overwrite::IfNewer);
/// assert!(!opts.is_dry_run());
/// ```
#[derive(Debug, Clone)]
pub struct CopyOptions {
    pub(crate) filters: Filters,
    pub(crate) dry_run: bool,
    pub(crate) progress: Option<ProgressFn>,
    symlinks: bool,
    mode: Option<u32>,
    overwrite: Overwrite,
    permissions: bool,
    times: bool,
    hardlinks: bool,
    threads: Option<usize>,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            filters: Filters::default(),
            dry_run: false,
            progress: None,
            symlinks: false,
            mode: None,
            overwrite: Overwrite::Always,
            permissions: true,
            times: true,
            hardlinks: true,
            threads: None,
        }
    }
}

common_setters!(CopyOptions);

impl CopyOptions {
    /// Defaults: no filters, links followed, permissions and times preserved,
    /// overwrite [`Overwrite::Always`], as many threads as cores.
    #[must_use]
    pub fn new() -> Self {
        CopyOptions::default()
    }

    /// Copy symbolic links as links (`true`), or copy what they point to (`false`,
    /// the default, like `shutil.copytree`). A dangling link is copied as a link either way.
    #[must_use]
    pub fn symlinks(mut self, as_links: bool) -> Self {
        self.symlinks = as_links;
        self
    }

    /// Permissions of the directories the copy creates (e.g. `0o750`), exactly (the umask
    /// does not apply). Default: those of the source directory. Ignored on Windows.
    #[must_use]
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = Some(mode);
        self
    }

    /// What to do when a destination file exists.
    #[must_use]
    pub fn overwrite(mut self, policy: Overwrite) -> Self {
        self.overwrite = policy;
        self
    }

    /// Preserve the source's permissions on copied files and directories (default `true`).
    #[must_use]
    pub fn preserve_permissions(mut self, yes: bool) -> Self {
        self.permissions = yes;
        self
    }

    /// Preserve modification (and access) times (default `true`).
    #[must_use]
    pub fn preserve_times(mut self, yes: bool) -> Self {
        self.times = yes;
        self
    }

    /// Keep hard links: files that are one file under several names in the source are
    /// one file in the copy too (default `true`, like `cp -a`). Unix only; elsewhere each
    /// name is copied.
    #[must_use]
    pub fn preserve_hardlinks(mut self, yes: bool) -> Self {
        self.hardlinks = yes;
        self
    }

    /// Number of files copied at once (default: one per core; `1` copies in order).
    #[must_use]
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = Some(n.max(1));
        self
    }
}

/// Copy `src` to `dst` with default options. See [`copy_with`].
///
/// ```no_run
/// nfs::copy("/opt/app/conf", "/backup/conf")?;
/// # Ok::<(), nfs::Error>(())
/// ```
///
/// # Errors
/// See [`copy_with`].
///
/// # Platform behavior
/// See [`copy_with`].
pub fn copy(src: impl AsRef<Path>, dst: impl AsRef<Path>) -> Result<Report> {
    copy_with(src, dst, &CopyOptions::new())
}

/// Copy `src` to `dst`:
///
/// | `src` | `dst` | result |
/// |---|---|---|
/// | file | existing directory | `dst/<file name>` |
/// | file | anything else | `dst` (parents created) |
/// | directory | existing directory or missing | `dst` holds what `src` holds (merged) |
/// | glob (`logs/*.log`) | directory (created if missing) | each match under `dst`, at its path relative to the glob's base |
///
/// Filters apply to paths relative to `src` (or the glob's base). Directories are
/// created as they are met; with an include list (`filter_files`, `filter_dirs`) only
/// those leading to a taken file (or inside a `filter_dirs` match) are. Each file is
/// written under a temporary name in its destination directory and renamed into place:
/// a failed copy never leaves a truncated file under its final name. Permissions and
/// times are preserved (directories' once their content is written). Files are copied
/// in parallel. FIFOs, sockets and devices are skipped (counted in `skipped`).
///
/// # Errors
/// [`Error::NotFound`] / [`Error::NoMatch`] when there is nothing to copy,
/// [`Error::IntoItself`] when `dst` is inside the source directory (or is it),
/// [`Error::Exists`] with [`Overwrite::Error`] (before anything is written),
/// [`Error::NotADirectory`] when a directory would replace a file,
/// [`Error::SymlinkLoop`] when following links loops, [`Error::Glob`], and
/// [`Error::Io`] naming the path. When several files fail, the others are still copied
/// and [`Error::Many`] lists the failures.
///
/// # Platform behavior
/// Linux copies through `copy_file_range` (reflink on Btrfs/XFS), macOS clones with
/// `fclonefileat` (APFS) or falls back to `fcopyfile`, Windows uses `CopyFileExW`.
/// Ownership, ACLs and extended attributes are not copied. `mode` is ignored on Windows;
/// creating symbolic links there needs the privilege or Developer Mode.
pub fn copy_with(
    src: impl AsRef<Path>,
    dst: impl AsRef<Path>,
    options: &CopyOptions,
) -> Result<Report> {
    let (src, dst) = (src.as_ref(), dst.as_ref());
    let filters = options.filters.compile()?;
    let sources = sources::expand(src)?;
    let mut plan = Plan::default();
    match &sources.pattern {
        Some(pattern) => {
            if sources.items.is_empty() {
                return Err(Error::NoMatch {
                    pattern: pattern.clone(),
                });
            }
            if let Ok(md) = fs::metadata(dst)
                && !md.is_dir()
            {
                return Err(Error::NotADirectory {
                    path: dst.to_path_buf(),
                });
            }
            if !dst.is_dir() {
                plan.mkdirs(dst)?;
            }
            for item in &sources.items {
                let rel = normalize(item.strip_prefix(&sources.root).unwrap_or(item));
                if !filters.keeps_dir(rel.parent().unwrap_or(Path::new(""))) {
                    plan.skip(item);
                    continue;
                }
                let md = item_metadata(item, options)?;
                if md.is_dir() {
                    check_not_into(item, &dst.join(&rel))?;
                    plan.ensure_parents(&rel, &sources.root, dst)?;
                    plan.walk(item, &dst.join(&rel), &rel, &filters, options)?;
                } else if filters.keep_file_norm(&rel) {
                    plan.ensure_parents(&rel, &sources.root, dst)?;
                    plan.file(item, &dst.join(&rel), md, options)?;
                } else {
                    plan.skip(item);
                }
            }
        }
        None => {
            let md = item_metadata(src, options)?;
            if md.is_dir() {
                if let Ok(d) = fs::metadata(dst)
                    && !d.is_dir()
                {
                    return Err(Error::NotADirectory {
                        path: dst.to_path_buf(),
                    });
                }
                check_not_into(src, dst)?;
                plan.walk(src, dst, Path::new(""), &filters, options)?;
            } else {
                let target = match (fs::metadata(dst), src.file_name()) {
                    (Ok(d), Some(name)) if d.is_dir() => dst.join(name),
                    // `dst/` names a directory to create, not a file.
                    (Err(_), Some(name)) if ends_with_separator(dst) => dst.join(name),
                    _ => dst.to_path_buf(),
                };
                if same_file(src, &target) {
                    return Err(Error::IntoItself {
                        src: src.to_path_buf(),
                        dst: target,
                    });
                }
                let rel = PathBuf::from(src.file_name().unwrap_or(src.as_os_str()));
                if filters.keep_file_norm(&rel) {
                    if let Some(parent) = target.parent()
                        && !parent.as_os_str().is_empty()
                        && !parent.exists()
                    {
                        plan.mkdirs(parent)?;
                    }
                    plan.file(src, &target, md, options)?;
                } else {
                    plan.skip(src);
                }
            }
        }
    }
    plan.execute(options)
}

fn ends_with_separator(p: &Path) -> bool {
    let b = p.as_os_str().as_encoded_bytes();
    matches!(b.last(), Some(b'/')) || (cfg!(windows) && matches!(b.last(), Some(b'\\')))
}

/// Metadata of a source item: the link itself when links are copied as links.
fn item_metadata(path: &Path, options: &CopyOptions) -> Result<Metadata> {
    let r = if options.symlinks {
        fs::symlink_metadata(path)
    } else {
        fs::metadata(path).or_else(|_| fs::symlink_metadata(path))
    };
    r.map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Error::NotFound {
            path: path.to_path_buf(),
        },
        _ => Error::io("inspect", path, e),
    })
}

/// Refuse a destination equal to, or inside, the source directory.
fn check_not_into(src: &Path, dst: &Path) -> Result<()> {
    let Ok(src_c) = fs::canonicalize(src) else {
        return Ok(());
    };
    let dst_c = canonical_prefix(dst);
    if dst_c.starts_with(&src_c) {
        return Err(Error::IntoItself {
            src: src.to_path_buf(),
            dst: dst.to_path_buf(),
        });
    }
    Ok(())
}

/// Canonicalize the longest existing prefix of `p` and append the rest.
fn canonical_prefix(p: &Path) -> PathBuf {
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    };
    let mut rest = Vec::new();
    let mut cur = abs.as_path();
    loop {
        if let Ok(c) = fs::canonicalize(cur) {
            let mut out = c;
            for r in rest.iter().rev() {
                out.push(r);
            }
            return out;
        }
        match (cur.parent(), cur.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                cur = parent;
            }
            _ => return abs,
        }
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// A directory to create (or that exists), with what to apply once its content is in.
#[derive(Debug)]
struct DirJob {
    dst: PathBuf,
    src_md: Option<Metadata>,
    /// Created by this copy (so it holds nothing yet, and gets the mode).
    fresh: bool,
    /// Whether it must exist (false: only if a taken file lands in it).
    needed: bool,
    created: bool,
}

#[derive(Debug)]
enum Job {
    File {
        src: PathBuf,
        dst: PathBuf,
        md: Metadata,
    },
    Link {
        src: PathBuf,
        dst: PathBuf,
        target: PathBuf,
    },
}

#[derive(Debug, Default)]
struct Plan {
    dirs: Vec<DirJob>,
    /// For each job, the index of the directory it lands in (if planned here).
    jobs: Vec<(Job, Option<usize>)>,
    report: Report,
    fresh_index: std::collections::HashMap<PathBuf, usize>,
    /// Hard links to make once the files are copied: (source, link, copy it links to).
    hardlinks: Vec<(PathBuf, PathBuf, PathBuf)>,
    /// Destination of the first copy of each multiply-linked source file (dev, inode).
    first_copy: std::collections::HashMap<(u64, u64), PathBuf>,
}

impl Plan {
    fn skip(&mut self, path: &Path) {
        self.skip_because(path, SkipReason::Filtered);
    }

    fn skip_because(&mut self, path: &Path, reason: SkipReason) {
        self.report.skipped += 1;
        self.report.plan.push(Action::Skip {
            path: path.to_path_buf(),
            reason,
        });
    }

    /// Plan the missing directories down to `dir` (needed).
    fn mkdirs(&mut self, dir: &Path) -> Result<()> {
        let mut missing = Vec::new();
        let mut cur = Some(dir);
        while let Some(c) = cur {
            if c.as_os_str().is_empty() || c.is_dir() || self.fresh_index.contains_key(c) {
                break;
            }
            if c.exists() {
                return Err(Error::NotADirectory {
                    path: c.to_path_buf(),
                });
            }
            missing.push(c.to_path_buf());
            cur = c.parent();
        }
        for d in missing.into_iter().rev() {
            self.push_dir(d, None, true, true);
        }
        Ok(())
    }

    /// For a glob match at `rel`, plan the directories between the destination and it,
    /// mirroring the source's.
    fn ensure_parents(&mut self, rel: &Path, base: &Path, dst: &Path) -> Result<()> {
        let mut acc = PathBuf::new();
        let comps: Vec<_> = rel.parent().map(|p| p.iter().collect()).unwrap_or_default();
        for c in comps {
            acc.push(c);
            let d = dst.join(&acc);
            if self.fresh_index.contains_key(&d) {
                continue;
            }
            match fs::metadata(&d) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => return Err(Error::NotADirectory { path: d }),
                Err(_) => {
                    let md = fs::metadata(base.join(&acc)).ok();
                    self.push_dir(d, md, true, true);
                }
            }
        }
        Ok(())
    }

    fn push_dir(
        &mut self,
        dst: PathBuf,
        src_md: Option<Metadata>,
        fresh: bool,
        needed: bool,
    ) -> usize {
        let i = self.dirs.len();
        if fresh {
            self.fresh_index.insert(dst.clone(), i);
        }
        self.dirs.push(DirJob {
            dst,
            src_md,
            fresh,
            needed,
            created: false,
        });
        i
    }

    /// Plan copying the directory tree `src` to `dst`; `rel` is `src` relative to the
    /// filter root.
    fn walk(
        &mut self,
        src: &Path,
        dst: &Path,
        rel: &Path,
        filters: &CompiledFilters,
        options: &CopyOptions,
    ) -> Result<()> {
        let includes = filters.has_includes();
        let follow = !options.symlinks;
        let pruned = std::cell::RefCell::new(Vec::new());
        let walker = walkdir::WalkDir::new(src)
            .follow_links(follow)
            .into_iter()
            .filter_entry(|e| {
                let enter = !e.file_type().is_dir() || e.depth() == 0 || {
                    let r = rel.join(e.path().strip_prefix(src).unwrap_or(e.path()));
                    filters.enter_dir_norm(&r)
                };
                if !enter {
                    pruned.borrow_mut().push(e.path().to_path_buf());
                }
                enter
            });
        // Index of each source directory's plan entry, by depth, for the files' parents.
        let mut stack: Vec<usize> = Vec::new();
        for entry in walker {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    // Following links, a dangling link is an error to walkdir: copy it
                    // as a link.
                    let dangling = e.loop_ancestor().is_none()
                        && e.path().is_some_and(|p| {
                            fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
                                && fs::metadata(p).is_err()
                        });
                    if let (true, Some(p)) = (dangling, e.path()) {
                        let p = p.to_path_buf();
                        let sub = p.strip_prefix(src).unwrap_or(&p).to_path_buf();
                        stack.truncate(e.depth());
                        let parent = stack.last().copied();
                        if !filters.keep_file_norm(&rel.join(&sub)) {
                            self.skip(&p);
                            continue;
                        }
                        let target = dst.join(&sub);
                        let link = fs::read_link(&p).map_err(|e| Error::io("read link", &p, e))?;
                        self.need(parent);
                        if !self.keep_existing(parent, &p, &target, None, options)? {
                            self.jobs.push((
                                Job::Link {
                                    src: p,
                                    dst: target,
                                    target: link,
                                },
                                parent,
                            ));
                        }
                        continue;
                    }
                    return Err(walk_error(e, src));
                }
            };
            let sub = entry.path().strip_prefix(src).unwrap_or(entry.path());
            let r = rel.join(sub);
            let target = if sub.as_os_str().is_empty() {
                dst.to_path_buf()
            } else {
                dst.join(sub)
            };
            stack.truncate(entry.depth());
            let parent = stack.last().copied();
            let ft = entry.file_type();
            if ft.is_dir() {
                let md = entry.metadata().map_err(|e| walk_error(e, entry.path()))?;
                let exists = match parent {
                    Some(p) if self.dirs[p].fresh => false,
                    _ => match fs::metadata(&target) {
                        Ok(m) if m.is_dir() => true,
                        Ok(_) => return Err(Error::NotADirectory { path: target }),
                        Err(_) => false,
                    },
                };
                let needed = entry.depth() == 0 || !includes || filters.below_filter_dir_norm(&r);
                if needed {
                    self.need(parent);
                }
                let i = self.push_dir(target, Some(md), !exists, needed);
                stack.push(i);
                continue;
            }
            // Filtered directories were pruned above; here, files and links.
            if !filters.keep_file_norm(&r) {
                self.skip(entry.path());
                continue;
            }
            if ft.is_symlink() {
                // A link copied as a link, or a dangling one when following.
                let link = fs::read_link(entry.path())
                    .map_err(|e| Error::io("read link", entry.path(), e))?;
                self.need(parent);
                if self.keep_existing(parent, entry.path(), &target, None, options)? {
                    continue;
                }
                self.jobs.push((
                    Job::Link {
                        src: entry.path().to_path_buf(),
                        dst: target,
                        target: link,
                    },
                    parent,
                ));
                continue;
            }
            let md = entry.metadata().map_err(|e| walk_error(e, entry.path()))?;
            if !md.is_file() {
                // FIFOs, sockets, devices: opening a FIFO would block; skip them.
                self.skip(entry.path());
                continue;
            }
            self.need(parent);
            if self.keep_existing(parent, entry.path(), &target, Some(&md), options)? {
                continue;
            }
            if options.hardlinks
                && let Some(key) = link_key(&md)
            {
                if let Some(first) = self.first_copy.get(&key) {
                    let first = first.clone();
                    self.hardlinks
                        .push((entry.path().to_path_buf(), target, first));
                    continue;
                }
                self.first_copy.insert(key, target.clone());
            }
            self.jobs.push((
                Job::File {
                    src: entry.path().to_path_buf(),
                    dst: target,
                    md,
                },
                parent,
            ));
        }
        for p in pruned.into_inner() {
            self.skip(&p);
        }
        Ok(())
    }

    /// Plan one file (not from a walk).
    fn file(&mut self, src: &Path, dst: &Path, md: Metadata, options: &CopyOptions) -> Result<()> {
        let parent = dst.parent().and_then(|p| self.fresh_index.get(p).copied());
        if md.file_type().is_symlink() {
            let link = fs::read_link(src).map_err(|e| Error::io("read link", src, e))?;
            if !self.keep_existing(parent, src, dst, None, options)? {
                self.jobs.push((
                    Job::Link {
                        src: src.to_path_buf(),
                        dst: dst.to_path_buf(),
                        target: link,
                    },
                    parent,
                ));
            }
            return Ok(());
        }
        if !md.is_file() {
            self.skip(src);
            return Ok(());
        }
        if !self.keep_existing(parent, src, dst, Some(&md), options)? {
            self.jobs.push((
                Job::File {
                    src: src.to_path_buf(),
                    dst: dst.to_path_buf(),
                    md,
                },
                parent,
            ));
        }
        Ok(())
    }

    /// Mark a planned directory and its planned ancestors as needed.
    fn need(&mut self, mut dir: Option<usize>) {
        while let Some(i) = dir {
            if self.dirs[i].needed {
                break;
            }
            self.dirs[i].needed = true;
            let parent = self.dirs[i].dst.parent().map(Path::to_path_buf);
            dir = parent.and_then(|p| self.fresh_index.get(&p).copied());
        }
        // Planned, not fresh, parents exist already.
    }

    /// Apply the overwrite policy: `Ok(true)` to skip this file.
    fn keep_existing(
        &mut self,
        parent: Option<usize>,
        src: &Path,
        dst: &Path,
        md: Option<&Metadata>,
        options: &CopyOptions,
    ) -> Result<bool> {
        if options.overwrite == Overwrite::Always {
            return Ok(false);
        }
        if let Some(p) = parent
            && self.dirs[p].fresh
        {
            return Ok(false);
        }
        let Ok(existing) = fs::symlink_metadata(dst) else {
            return Ok(false);
        };
        match options.overwrite {
            Overwrite::Always => Ok(false),
            Overwrite::Error => Err(Error::Exists {
                path: dst.to_path_buf(),
            }),
            Overwrite::Never => {
                self.skip_because(src, SkipReason::Exists);
                Ok(true)
            }
            Overwrite::IfNewer => {
                let newer = match (md.and_then(|m| m.modified().ok()), existing.modified()) {
                    (Some(s), Ok(d)) => s > d,
                    _ => true,
                };
                if !newer {
                    self.skip_because(src, SkipReason::NotNewer);
                }
                Ok(!newer)
            }
        }
    }

    fn execute(mut self, options: &CopyOptions) -> Result<Report> {
        let mut report = std::mem::take(&mut self.report);
        report.dry_run = options.dry_run;
        let (files, bytes) = self
            .jobs
            .iter()
            .fold((0u64, 0u64), |(f, b), (j, _)| match j {
                Job::File { md, .. } => (f + 1, b + md.len()),
                Job::Link { .. } => (f + 1, b),
            });
        if options.dry_run {
            let mut plan = Vec::new();
            for d in self.dirs.iter().filter(|d| d.fresh && d.needed) {
                report.dirs += 1;
                plan.push(Action::CreateDir {
                    path: d.dst.clone(),
                });
            }
            for (j, _) in &self.jobs {
                plan.push(match j {
                    Job::File { src, dst, md } => Action::CopyFile {
                        src: src.clone(),
                        dst: dst.clone(),
                        bytes: md.len(),
                    },
                    Job::Link { src, dst, target } => Action::CopyLink {
                        src: src.clone(),
                        dst: dst.clone(),
                        target: target.clone(),
                    },
                });
            }
            for (src, dst, target) in &self.hardlinks {
                plan.push(Action::HardLink {
                    src: src.clone(),
                    dst: dst.clone(),
                    target: target.clone(),
                });
            }
            plan.append(&mut report.plan);
            report.plan = plan;
            report.files = files + self.hardlinks.len() as u64;
            report.bytes = bytes;
            return Ok(report);
        }
        report.plan.clear();
        // Directories, writable for now: level by level (parents first), each level
        // in parallel.
        let mut todo: Vec<&mut DirJob> = self
            .dirs
            .iter_mut()
            .filter(|d| d.fresh && d.needed)
            .collect();
        todo.sort_by_key(|d| d.dst.components().count()); // stable: walk order kept
        let mut rest = &mut todo[..];
        while !rest.is_empty() {
            let depth = rest[0].dst.components().count();
            let n = rest
                .iter()
                .position(|d| d.dst.components().count() != depth)
                .unwrap_or(rest.len());
            let (level, tail) = rest.split_at_mut(n);
            let mk = |d: &mut &mut DirJob| -> Result<bool> {
                match create_dir(d, options) {
                    Ok(()) => {
                        d.created = true;
                        Ok(true)
                    }
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists && d.dst.is_dir() => {
                        Ok(false)
                    }
                    Err(e) => Err(Error::io("create directory", &d.dst, e)),
                }
            };
            let made: Vec<Result<bool>> = if level.len() > 8 && options.threads != Some(1) {
                level.par_iter_mut().map(mk).collect()
            } else {
                level.iter_mut().map(mk).collect()
            };
            for m in made {
                report.dirs += u64::from(m?);
            }
            rest = tail;
        }
        let tracker = Tracker::new(options.progress.clone());
        tracker.set_totals(files, bytes);
        let follow = !options.symlinks;
        let run = |(job, _): &(Job, Option<usize>)| -> Result<u64> {
            match job {
                Job::File { src, dst, md } => {
                    let reported = std::cell::Cell::new(0u64);
                    let on_bytes = |k: u64| {
                        reported.set(reported.get() + k);
                        tracker.bytes(k, dst);
                    };
                    let n = file::copy_file(
                        src,
                        md,
                        dst,
                        options.permissions,
                        options.times,
                        follow,
                        &on_bytes,
                    )?;
                    tracker.file(n.saturating_sub(reported.get()), dst);
                    Ok(n)
                }
                Job::Link { src, dst, target } => {
                    file::copy_link(src, target, dst, options.times)?;
                    tracker.file(0, dst);
                    Ok(0)
                }
            }
        };
        let results: Vec<Result<u64>> = match options.threads {
            Some(1) => self.jobs.iter().map(run).collect(),
            Some(n) => match rayon::ThreadPoolBuilder::new().num_threads(n).build() {
                Ok(pool) => pool.install(|| self.jobs.par_iter().map(run).collect()),
                Err(_) => self.jobs.par_iter().map(run).collect(),
            },
            None => self.jobs.par_iter().with_min_len(4).map(run).collect(),
        };
        let mut errors = Vec::new();
        for r in results {
            match r {
                Ok(n) => {
                    report.files += 1;
                    report.bytes += n;
                }
                Err(e) => errors.push(e),
            }
        }
        for (_, dst, target) in &self.hardlinks {
            match file::hard_link(target, dst) {
                Ok(()) => report.files += 1,
                Err(e) => errors.push(e),
            }
        }
        // Directory times and permissions last, once nothing more is written inside
        // them (a read-only directory would refuse its own content). Existing
        // directories get the source's times (like `cp -a`), not its mode.
        let finish: Vec<&DirJob> = self
            .dirs
            .iter()
            .filter(|d| d.created || (!d.fresh && d.needed))
            .collect();
        if options.times {
            let r: Vec<Result<()>> = finish.par_iter().map(|d| dir_times(d)).collect();
            errors.extend(r.into_iter().filter_map(Result::err));
        }
        // Modes deepest first: a parent made unsearchable must come after its children.
        for d in finish.iter().rev().filter(|d| d.created) {
            if let Err(e) = dir_mode(d, options) {
                errors.push(e);
            }
        }
        match errors.len() {
            0 => Ok(report),
            1 => Err(errors.remove(0)),
            _ => Err(Error::Many(errors)),
        }
    }
}

/// The identity of a file with several names (Unix), to copy it once.
#[cfg(unix)]
fn link_key(md: &Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    (md.nlink() > 1).then(|| (md.dev(), md.ino()))
}

#[cfg(not(unix))]
fn link_key(_md: &Metadata) -> Option<(u64, u64)> {
    None
}

fn walk_error(e: walkdir::Error, fallback: &Path) -> Error {
    let path = e.path().unwrap_or(fallback).to_path_buf();
    if let Some(ancestor) = e.loop_ancestor() {
        let _ = ancestor;
        return Error::SymlinkLoop { path };
    }
    match e.into_io_error() {
        Some(io) if io.kind() == io::ErrorKind::NotFound => Error::NotFound { path },
        Some(io) => Error::io("read", path, io),
        None => Error::SymlinkLoop { path },
    }
}

/// The exact mode a created directory gets once its content is in: `mode`, or the
/// source directory's; `None` leaves the default (umask applied at creation).
#[cfg(unix)]
fn final_mode(d: &DirJob, options: &CopyOptions) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    match (options.mode, &d.src_md) {
        (Some(m), _) => Some(m & 0o7777),
        (None, Some(md)) if options.permissions => Some(md.permissions().mode() & 0o7777),
        _ => None,
    }
}

/// Create a directory the owner can write into until [`dir_mode`] sets its mode.
#[cfg(unix)]
fn create_dir(d: &DirJob, options: &CopyOptions) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    let mode = final_mode(d, options).map_or(0o777, |m| m | 0o700);
    fs::DirBuilder::new().mode(mode).create(&d.dst)
}

#[cfg(not(unix))]
fn create_dir(d: &DirJob, _options: &CopyOptions) -> io::Result<()> {
    fs::create_dir(&d.dst)
}

fn dir_times(d: &DirJob) -> Result<()> {
    if let Some(md) = &d.src_md {
        filetime::set_file_times(
            &d.dst,
            filetime::FileTime::from_last_access_time(md),
            filetime::FileTime::from_last_modification_time(md),
        )
        .map_err(|e| Error::io("set times of", &d.dst, e))?;
    }
    Ok(())
}

/// Give a created directory its final mode, unless creating it already did.
#[cfg(unix)]
fn dir_mode(d: &DirJob, options: &CopyOptions) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let Some(m) = final_mode(d, options) else {
        return Ok(());
    };
    // Created with `m | 0o700`, less the umask: often exactly `m` already.
    if file::umask().is_some_and(|u| m & 0o7000 == 0 && (m | 0o700) & !u == m) {
        return Ok(());
    }
    fs::set_permissions(&d.dst, fs::Permissions::from_mode(m))
        .map_err(|e| Error::io("set permissions of", &d.dst, e))
}

#[cfg(not(unix))]
fn dir_mode(d: &DirJob, options: &CopyOptions) -> Result<()> {
    if options.permissions
        && let Some(md) = &d.src_md
        && md.permissions().readonly()
    {
        fs::set_permissions(&d.dst, md.permissions())
            .map_err(|e| Error::io("set permissions of", &d.dst, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_failure_mid_copy_leaves_no_partial_file() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("src");
        fs::create_dir(&src).unwrap();
        fs::write(src.join("good.txt"), "fine").unwrap();
        fs::write(src.join("doomed.fail-mid-copy"), vec![7u8; 1 << 20]).unwrap();
        let dst = d.path().join("dst");
        fs::create_dir(&dst).unwrap();
        // An older, complete version under the final name must survive the failure.
        fs::write(dst.join("doomed.fail-mid-copy"), "previous").unwrap();
        *file::FAIL_AFTER_WRITE.lock().unwrap() = Some(".fail-mid-copy");
        let r = copy(&src, &dst);
        *file::FAIL_AFTER_WRITE.lock().unwrap() = None;
        let e = r.unwrap_err();
        assert!(
            matches!(&e, Error::Io { path, .. } if path.ends_with("doomed.fail-mid-copy")),
            "{e}"
        );
        assert_eq!(
            names(&dst),
            ["doomed.fail-mid-copy", "good.txt"],
            "no temp left"
        );
        assert_eq!(
            fs::read(dst.join("doomed.fail-mid-copy")).unwrap(),
            b"previous"
        );
        assert_eq!(fs::read(dst.join("good.txt")).unwrap(), b"fine");
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    fn progress_moves_inside_a_large_file() {
        use std::sync::{Arc, Mutex};
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("big");
        fs::write(&src, vec![1u8; 5 << 20]).unwrap(); // 5 steps of 1 MiB in tests
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let opts = CopyOptions::new().progress(move |p| {
            s.lock()
                .unwrap()
                .push((p.files_done, p.bytes_done, p.bytes_total));
        });
        copy_with(&src, d.path().join("copy"), &opts).unwrap();
        let seen = seen.lock().unwrap();
        assert!(seen.len() >= 5, "{seen:?}");
        assert!(seen.windows(2).all(|w| w[0].1 <= w[1].1), "{seen:?}");
        assert_eq!(
            seen.first().map(|x| x.0),
            Some(0),
            "bytes move before the file is done"
        );
        assert_eq!(seen.last(), Some(&(1, 5 << 20, 5 << 20)));
    }

    #[test]
    fn canonical_prefix_resolves_what_exists() {
        let d = tempfile::tempdir().unwrap();
        let real = fs::canonicalize(d.path()).unwrap();
        assert_eq!(
            canonical_prefix(&d.path().join("a/b/../c")),
            real.join("a/b/../c")
        );
        assert_eq!(canonical_prefix(d.path()), real);
    }
}
