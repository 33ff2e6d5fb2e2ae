//! The filter model shared by every operation.
//!
//! Four lists of glob patterns, compiled once into [`CompiledFilters`]:
//!
//! | list | keeps / drops |
//! |---|---|
//! | `filter_files` | when not empty, only files matching one of these are taken |
//! | `filter_dirs` | when not empty, only files inside a directory matching one of these are taken |
//! | `exclude_files` | files matching one of these are never taken |
//! | `exclude_dirs` | directories matching one of these are never entered |
//!
//! Matching rules:
//! - A pattern without `/` matches the **base name** at any depth (`*.pyc`, `.git`).
//! - A pattern with `/` matches the path **relative to the operation root**, anchored at
//!   the root (`build/*.o`, `src/**/generated`); a leading `/` is ignored, so `/build`
//!   means the top-level `build` only. `*` does not cross `/`; `**` does.
//! - A trailing `/` is ignored (`.git/` is `.git`). On Windows `\` is a separator in
//!   patterns too; elsewhere it escapes the next character.
//! - Exclusion wins over inclusion.
//! - An excluded directory is pruned: it is never entered, so nothing below it is taken,
//!   whatever the other lists say.
//! - `filter_dirs` takes the files anywhere below a matching directory (`logs` takes
//!   `logs/a.log` and `logs/2024/b.log`); directories that do not match are still entered,
//!   since a matching one may be deeper. Files directly in the root are not taken.
//! - Symbolic links are files for filtering (unless links are followed).
//! - Matching is case-insensitive on Windows and macOS, case-sensitive elsewhere, unless
//!   set with [`Filters::case_insensitive`].
//!
//! The decision for a path depends on the path alone: `a/./b`, `a/b/` and `a/b` get
//! the same answer, and [`CompiledFilters::keeps`] on a path gives the same answer as
//! walking the tree down to it.

use std::path::{Component, Path, PathBuf};

use globset::{Candidate, GlobBuilder, GlobSet, GlobSetBuilder};

use crate::error::{Error, Result};

/// The four filter lists, as given (not yet compiled).
///
/// ```
/// let f = nfs::Filters::new().exclude_dirs([".git", "target"]).exclude_files(["*.pyc"]);
/// let c = f.compile().unwrap();
/// assert!(!c.enter_dir("src/.git".as_ref()));
/// assert!(c.keep_file("src/main.py".as_ref()));
/// assert!(!c.keep_file("src/main.pyc".as_ref()));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    filter_files: Vec<String>,
    filter_dirs: Vec<String>,
    exclude_files: Vec<String>,
    exclude_dirs: Vec<String>,
    case_insensitive: Option<bool>,
}

impl Filters {
    /// No filters: everything is taken.
    #[must_use]
    pub fn new() -> Self {
        Filters::default()
    }

    /// Take only files matching one of these patterns (added to those already set).
    #[must_use]
    pub fn filter_files<I, S>(mut self, patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.filter_files
            .extend(patterns.into_iter().map(Into::into));
        self
    }

    /// Take only files below a directory matching one of these patterns.
    #[must_use]
    pub fn filter_dirs<I, S>(mut self, patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.filter_dirs
            .extend(patterns.into_iter().map(Into::into));
        self
    }

    /// Never take files matching one of these patterns.
    #[must_use]
    pub fn exclude_files<I, S>(mut self, patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.exclude_files
            .extend(patterns.into_iter().map(Into::into));
        self
    }

    /// Never enter directories matching one of these patterns.
    #[must_use]
    pub fn exclude_dirs<I, S>(mut self, patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.exclude_dirs
            .extend(patterns.into_iter().map(Into::into));
        self
    }

    /// Match case-insensitively (default: on Windows and macOS only).
    #[must_use]
    pub fn case_insensitive(mut self, yes: bool) -> Self {
        self.case_insensitive = Some(yes);
        self
    }

    /// Whether no pattern is set at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.filter_files.is_empty()
            && self.filter_dirs.is_empty()
            && self.exclude_files.is_empty()
            && self.exclude_dirs.is_empty()
    }

    /// Whether an include list (`filter_files` or `filter_dirs`) is set.
    #[must_use]
    pub fn has_includes(&self) -> bool {
        !self.filter_files.is_empty() || !self.filter_dirs.is_empty()
    }

    /// Compile the patterns once, for use while walking.
    ///
    /// # Errors
    /// [`Error::Glob`] naming the first pattern that is not a valid glob.
    pub fn compile(&self) -> Result<CompiledFilters> {
        let ci = self
            .case_insensitive
            .unwrap_or(cfg!(any(windows, target_os = "macos")));
        Ok(CompiledFilters {
            filter_files: Set::new(&self.filter_files, ci)?,
            filter_dirs: Set::new(&self.filter_dirs, ci)?,
            exclude_files: Set::new(&self.exclude_files, ci)?,
            exclude_dirs: Set::new(&self.exclude_dirs, ci)?,
        })
    }
}

/// One list of patterns, split into base-name patterns and root-relative path patterns.
#[derive(Debug, Clone)]
struct Set {
    base: GlobSet,
    path: GlobSet,
    empty: bool,
}

impl Set {
    fn new(patterns: &[String], case_insensitive: bool) -> Result<Set> {
        let mut base = GlobSetBuilder::new();
        let mut path = GlobSetBuilder::new();
        for p in patterns {
            // On Windows `\` separates paths in patterns too (there it escapes nothing).
            let spelled = if cfg!(windows) {
                p.replace('\\', "/")
            } else {
                p.clone()
            };
            let trimmed = spelled.trim_end_matches('/');
            let anchored = trimmed.starts_with('/');
            let trimmed = trimmed.trim_start_matches('/');
            let glob = GlobBuilder::new(trimmed)
                .literal_separator(true)
                .backslash_escape(!cfg!(windows))
                .case_insensitive(case_insensitive)
                .build()
                .map_err(|source| Error::Glob {
                    pattern: p.clone(),
                    source,
                })?;
            if anchored || trimmed.contains('/') {
                path.add(glob);
            } else {
                base.add(glob);
            }
        }
        let build = |b: GlobSetBuilder| {
            b.build().map_err(|source| Error::Glob {
                pattern: patterns.join(" "),
                source,
            })
        };
        Ok(Set {
            base: build(base)?,
            path: build(path)?,
            empty: patterns.is_empty(),
        })
    }

    /// `rel` is normalized (no `.`, no root, no trailing separator) and not empty.
    fn matches(&self, rel: &Path) -> bool {
        if self.empty {
            return false;
        }
        if !self.base.is_empty()
            && let Some(name) = rel.file_name()
            && self.base.is_match_candidate(&Candidate::new(name))
        {
            return true;
        }
        !self.path.is_empty() && self.path.is_match_candidate(&Candidate::new(rel))
    }
}

/// The filters compiled once, asked while walking.
///
/// Paths given to its methods are relative to the operation root (the source directory
/// of a copy or a removal, the base directory of a glob).
#[derive(Debug, Clone)]
pub struct CompiledFilters {
    filter_files: Set,
    filter_dirs: Set,
    exclude_files: Set,
    exclude_dirs: Set,
}

impl Default for CompiledFilters {
    fn default() -> Self {
        // Empty pattern lists always compile.
        let empty = || Set {
            base: GlobSet::empty(),
            path: GlobSet::empty(),
            empty: true,
        };
        CompiledFilters {
            filter_files: empty(),
            filter_dirs: empty(),
            exclude_files: empty(),
            exclude_dirs: empty(),
        }
    }
}

/// Drop `.` components, a root or prefix, and trailing separators, so that every
/// spelling of a relative path matches the same way.
pub(crate) fn normalize(rel: &Path) -> PathBuf {
    rel.components()
        .filter(|c| matches!(c, Component::Normal(_) | Component::ParentDir))
        .collect()
}

impl CompiledFilters {
    /// Whether the walk enters the directory at `rel` (the root is always entered).
    ///
    /// Only this directory's own name and path are checked; the walk has checked its
    /// ancestors. Use [`CompiledFilters::keeps_dir`] to check a path from scratch.
    #[must_use]
    pub fn enter_dir(&self, rel: &Path) -> bool {
        let rel = normalize(rel);
        self.enter_dir_norm(&rel)
    }

    pub(crate) fn enter_dir_norm(&self, rel: &Path) -> bool {
        rel.as_os_str().is_empty() || !self.exclude_dirs.matches(rel)
    }

    /// Whether the file at `rel`, in a directory the walk entered, is taken.
    ///
    /// Only the file's own name and path (and, for `filter_dirs`, its ancestors) are
    /// checked; use [`CompiledFilters::keeps`] to also check that no ancestor is excluded.
    #[must_use]
    pub fn keep_file(&self, rel: &Path) -> bool {
        let rel = normalize(rel);
        self.keep_file_norm(&rel)
    }

    pub(crate) fn keep_file_norm(&self, rel: &Path) -> bool {
        if rel.as_os_str().is_empty() {
            // The root itself, given as a file: filters on names still apply to nothing.
            return true;
        }
        if self.exclude_files.matches(rel) {
            return false;
        }
        if !self.filter_files.empty && !self.filter_files.matches(rel) {
            return false;
        }
        if !self.filter_dirs.empty {
            return rel
                .ancestors()
                .skip(1)
                .any(|a| !a.as_os_str().is_empty() && self.filter_dirs.matches(a));
        }
        true
    }

    /// Whether the directory at `rel` is, or is below, a `filter_dirs` match (always
    /// true when `filter_dirs` is empty).
    #[must_use]
    pub fn in_filtered_dir(&self, rel: &Path) -> bool {
        let rel = normalize(rel);
        self.in_filtered_dir_norm(&rel)
    }

    pub(crate) fn in_filtered_dir_norm(&self, rel: &Path) -> bool {
        self.filter_dirs.empty || self.below_filter_dir_norm(rel)
    }

    /// Whether `filter_dirs` is set and `rel` is, or is below, one of its matches.
    pub(crate) fn below_filter_dir_norm(&self, rel: &Path) -> bool {
        !self.filter_dirs.empty
            && rel
                .ancestors()
                .any(|a| !a.as_os_str().is_empty() && self.filter_dirs.matches(a))
    }

    /// The whole decision for a file at `rel`: no ancestor directory is excluded and
    /// the file itself is kept. Same answer as walking down to it.
    #[must_use]
    pub fn keeps(&self, rel: &Path) -> bool {
        let rel = normalize(rel);
        self.ancestors_entered(&rel) && self.keep_file_norm(&rel)
    }

    /// The whole decision for a directory at `rel`: neither it nor an ancestor is
    /// excluded, so a walk reaches inside it.
    #[must_use]
    pub fn keeps_dir(&self, rel: &Path) -> bool {
        let rel = normalize(rel);
        self.ancestors_entered(&rel) && self.enter_dir_norm(&rel)
    }

    fn ancestors_entered(&self, rel: &Path) -> bool {
        rel.ancestors().skip(1).all(|a| self.enter_dir_norm(a))
    }

    /// Whether any include list is set (so directories are taken only for what they hold).
    #[must_use]
    pub fn has_includes(&self) -> bool {
        !self.filter_files.empty || !self.filter_dirs.empty
    }

    /// Whether no pattern is set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.filter_files.empty
            && self.filter_dirs.empty
            && self.exclude_files.empty
            && self.exclude_dirs.empty
    }
}

/// Adds the shared chained setters to an options struct: `filter_files`, `filter_dirs`,
/// `exclude_files`, `exclude_dirs`, `filters`, `dry_run` and `progress`.
///
/// The struct must have the fields `filters: Filters`, `dry_run: bool` and
/// `progress: Option<ProgressFn>`. Used by `CopyOptions`, `RemoveOptions` and the archive
/// options, so every operation is configured the same way.
macro_rules! common_setters {
    ($ty:ty) => {
        impl $ty {
            /// Take only files matching one of these globs (see [the filter model](crate::Filters)).
            #[must_use]
            pub fn filter_files<I, S>(mut self, patterns: I) -> Self
            where
                I: IntoIterator<Item = S>,
                S: Into<String>,
            {
                self.filters = self.filters.filter_files(patterns);
                self
            }

            /// Take only files below a directory matching one of these globs.
            #[must_use]
            pub fn filter_dirs<I, S>(mut self, patterns: I) -> Self
            where
                I: IntoIterator<Item = S>,
                S: Into<String>,
            {
                self.filters = self.filters.filter_dirs(patterns);
                self
            }

            /// Never take files matching one of these globs.
            #[must_use]
            pub fn exclude_files<I, S>(mut self, patterns: I) -> Self
            where
                I: IntoIterator<Item = S>,
                S: Into<String>,
            {
                self.filters = self.filters.exclude_files(patterns);
                self
            }

            /// Never enter directories matching one of these globs.
            #[must_use]
            pub fn exclude_dirs<I, S>(mut self, patterns: I) -> Self
            where
                I: IntoIterator<Item = S>,
                S: Into<String>,
            {
                self.filters = self.filters.exclude_dirs(patterns);
                self
            }

            /// Replace all filters at once.
            #[must_use]
            pub fn filters(mut self, filters: $crate::Filters) -> Self {
                self.filters = filters;
                self
            }

            /// Only plan: return the [`Report`](crate::Report) with its `plan` filled, and
            /// touch nothing.
            #[must_use]
            pub fn dry_run(mut self, yes: bool) -> Self {
                self.dry_run = yes;
                self
            }

            /// Call `f` as files are processed (possibly from several threads).
            #[must_use]
            pub fn progress(
                mut self,
                f: impl Fn(&$crate::Progress) + Send + Sync + 'static,
            ) -> Self {
                self.progress = Some($crate::ProgressFn::new(f));
                self
            }

            /// The filters set so far.
            #[must_use]
            pub fn get_filters(&self) -> &$crate::Filters {
                &self.filters
            }

            /// Whether this is a dry run.
            #[must_use]
            pub fn is_dry_run(&self) -> bool {
                self.dry_run
            }
        }
    };
}
pub(crate) use common_setters;

#[cfg(test)]
mod tests {
    use super::*;

    fn f() -> Filters {
        Filters::new()
    }

    /// (filters, path, is_dir, expected): for a dir, `keeps_dir`; for a file, `keeps`.
    #[test]
    fn semantics_table() {
        let none = f();
        let exf = f().exclude_files(["*.pyc", "/secret.txt", "build/*.o"]);
        let exd = f().exclude_dirs([".git", "/target", "src/**/gen/"]);
        let inf = f().filter_files(["*.log", "conf/*.toml"]);
        let ind = f().filter_dirs(["logs", "var/cache"]);
        let both = f().filter_files(["*.log"]).exclude_files(["debug*"]);
        let inc_exd = f().filter_dirs(["logs"]).exclude_dirs(["old"]);
        let inf_exd = f().filter_files(["*.log"]).exclude_dirs(["logs"]);
        let cases: &[(&Filters, &str, bool, bool)] = &[
            (&none, "a", false, true),
            (&none, "a/b/c", false, true),
            (&none, "a/b", true, true),
            // exclude_files: base-name and anchored path patterns
            (&exf, "x.pyc", false, false),
            (&exf, "deep/er/x.pyc", false, false),
            (&exf, "x.py", false, true),
            (&exf, "secret.txt", false, false),
            (&exf, "sub/secret.txt", false, true),
            (&exf, "build/a.o", false, false),
            (&exf, "build/sub/a.o", false, true),
            (&exf, "x/build/a.o", false, true),
            (&exf, "x.pyc", true, true), // a directory is not a file
            // exclude_dirs prunes everything below
            (&exd, ".git", true, false),
            (&exd, "a/.git", true, false),
            (&exd, "a/.git/config", false, false),
            (&exd, "a/.git/objects/x", true, false),
            (&exd, ".gitignore", false, true),
            (&exd, "target", true, false),
            (&exd, "target/debug/x", false, false),
            (&exd, "sub/target", true, true),
            (&exd, "src/gen", true, false), // `**` matches zero directories too
            (&exd, "src/a/gen", true, false),
            (&exd, "src/a/b/gen/x.rs", false, false),
            (&exd, "target", false, true), // a file named like an excluded dir stays
            // filter_files
            (&inf, "a.log", false, true),
            (&inf, "x/y/a.log", false, true),
            (&inf, "a.txt", false, false),
            (&inf, "conf/app.toml", false, true),
            (&inf, "x/conf/app.toml", false, false),
            (&inf, "x", true, true), // directories are still entered
            // filter_dirs: files anywhere below a matching directory
            (&ind, "logs/a", false, true),
            (&ind, "x/logs/2024/a", false, true),
            (&ind, "a", false, false),
            (&ind, "logsx/a", false, false),
            (&ind, "var/cache/a", false, true),
            (&ind, "x/var/cache/a", false, false),
            (&ind, "logs", false, false), // a file named logs is not below logs
            // exclusion wins over inclusion
            (&both, "app.log", false, true),
            (&both, "debug.log", false, false),
            (&both, "x/debug-1.log", false, false),
            (&inc_exd, "logs/a", false, true),
            (&inc_exd, "logs/old/a", false, false),
            (&inc_exd, "old/logs/a", false, false),
            (&inf_exd, "logs/a.log", false, false),
            (&inf_exd, "x/a.log", false, true),
        ];
        for (filters, path, is_dir, want) in cases {
            let c = filters.compile().unwrap();
            let got = if *is_dir {
                c.keeps_dir(Path::new(path))
            } else {
                c.keeps(Path::new(path))
            };
            assert_eq!(got, *want, "{filters:?} {path} dir={is_dir}");
        }
    }

    #[test]
    fn spellings_agree() {
        let c = f().exclude_files(["a/b"]).compile().unwrap();
        for p in ["a/b", "./a/b", "a/./b", "a/b/", "/a/b"] {
            assert!(!c.keep_file(Path::new(p)), "{p}");
        }
    }

    #[test]
    fn case_sensitivity_can_be_set() {
        let c = f()
            .exclude_files(["*.LOG"])
            .case_insensitive(true)
            .compile()
            .unwrap();
        assert!(!c.keep_file(Path::new("a.log")));
        let c = f()
            .exclude_files(["*.LOG"])
            .case_insensitive(false)
            .compile()
            .unwrap();
        assert!(c.keep_file(Path::new("a.log")));
    }

    #[test]
    fn bad_pattern_is_named() {
        let e = f().exclude_files(["ok", "a[b"]).compile().unwrap_err();
        assert!(
            matches!(&e, Error::Glob { pattern, .. } if pattern == "a[b"),
            "{e}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_names_match() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let c = f().exclude_files(["*.tmp"]).compile().unwrap();
        let p = Path::new(OsStr::from_bytes(b"dir/\xff\xfe.tmp"));
        assert!(!c.keep_file(p));
        let p = Path::new(OsStr::from_bytes(b"dir/\xff\xfe.txt"));
        assert!(c.keep_file(p));
    }
}
