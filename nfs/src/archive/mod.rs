//! `compress` and `uncompress`: tar, tar.gz and zip, fast and safe on hostile input.
//!
//! - [`compress`] walks a tree with the shared [filters](crate::Filters) and writes a
//!   tar.gz (gzip blocks deflated on every core, still one standard gzip stream), a tar
//!   or a zip (entries deflated in parallel) under a temporary name, renamed into place
//!   when complete.
//! - [`uncompress`] recognises the format from the first bytes, refuses any entry that
//!   would land outside the destination, and writes files on several threads.

mod compress;
mod detect;
mod extract;
mod gzip_parallel;
pub mod sanitize;
mod tarball;
mod zipball;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::Serialize;

use crate::filter::common_setters;
use crate::{Filters, Overwrite, ProgressFn, Report};

pub use compress::{compress, compress_report};
pub use extract::uncompress;

/// Archive formats [`compress`] writes and [`uncompress`] reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ArchiveFormat {
    /// A gzip-compressed tar (`.tar.gz`), compressed on every core.
    #[default]
    TarGz,
    /// An uncompressed tar (`.tar`).
    Tar,
    /// A zip (`.zip`), entries deflated (or stored, when that is smaller).
    Zip,
    /// A zstd-compressed tar (`.tar.zst`), compressed on every core. Needs the crate's
    /// `zstd` feature (off by default: it builds zstd's C sources); without it
    /// [`compress`] and [`uncompress`] refuse it with an error saying so.
    TarZst,
}

impl ArchiveFormat {
    /// The file name extension, without the leading dot: `tar.gz`, `tar` or `zip`.
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            ArchiveFormat::TarGz => "tar.gz",
            ArchiveFormat::Tar => "tar",
            ArchiveFormat::Zip => "zip",
            ArchiveFormat::TarZst => "tar.zst",
        }
    }
}

impl fmt::Display for ArchiveFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// The error of parsing an [`ArchiveFormat`] name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFormat(pub String);

impl fmt::Display for UnknownFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown archive format {:?} (expected tar.gz, tar or zip)",
            self.0
        )
    }
}

impl std::error::Error for UnknownFormat {}

impl FromStr for ArchiveFormat {
    type Err = UnknownFormat;

    /// `tar.gz`, `tgz`, `gz`, `tar`, `zip`, `tar.zst` or `tzst`, any case, with or
    /// without a leading dot.
    fn from_str(s: &str) -> Result<Self, UnknownFormat> {
        match s.trim_start_matches('.').to_ascii_lowercase().as_str() {
            "tar.gz" | "tgz" | "gz" | "targz" | "gzip" => Ok(ArchiveFormat::TarGz),
            "tar" => Ok(ArchiveFormat::Tar),
            "zip" => Ok(ArchiveFormat::Zip),
            "tar.zst" | "tzst" | "zst" | "zstd" | "tar.zstd" => Ok(ArchiveFormat::TarZst),
            _ => Err(UnknownFormat(s.to_owned())),
        }
    }
}

/// Options for [`compress`].
///
/// ```
/// let o = nfs::CompressOptions::new()
///     .format(nfs::ArchiveFormat::Zip)
///     .name("app-1.2")
///     .root("app")
///     .exclude_dirs([".git"])
///     .reproducible(true);
/// assert_eq!(o.get_format(), nfs::ArchiveFormat::Zip);
/// ```
#[derive(Debug, Clone)]
pub struct CompressOptions {
    pub(crate) name: Option<String>,
    pub(crate) root: Option<PathBuf>,
    pub(crate) format: ArchiveFormat,
    pub(crate) level: u32,
    pub(crate) threads: usize,
    pub(crate) reproducible: bool,
    pub(crate) mtime: Option<u64>,
    pub(crate) overwrite: bool,
    pub(crate) follow_links: bool,
    pub(crate) filters: Filters,
    pub(crate) dry_run: bool,
    pub(crate) progress: Option<ProgressFn>,
}

impl Default for CompressOptions {
    fn default() -> Self {
        CompressOptions {
            name: None,
            root: None,
            format: ArchiveFormat::TarGz,
            level: 6,
            threads: 0,
            reproducible: false,
            mtime: None,
            overwrite: true,
            follow_links: false,
            filters: Filters::default(),
            dry_run: false,
            progress: None,
        }
    }
}

impl CompressOptions {
    /// Defaults: tar.gz at level 6 on every core, named after the source, entries under
    /// a top folder named after the source, an existing archive replaced.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The archive's file name. The format's extension is appended unless `name`
    /// already ends with it (`"app"` and `"app.tar.gz"` both give `app.tar.gz`).
    /// Default: the source's file name.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The top folder inside the archive (`app` puts `src/x` at `app/src/x`); an empty
    /// path or `.` puts entries at the top. Default: the source directory's name, as
    /// `tar czf app.tar.gz app` does. A single-file source goes at the top unless set.
    #[must_use]
    pub fn root(mut self, root: impl Into<PathBuf>) -> Self {
        self.root = Some(root.into());
        self
    }

    /// The format (default tar.gz).
    #[must_use]
    pub fn format(mut self, format: ArchiveFormat) -> Self {
        self.format = format;
        self
    }

    /// The deflate level, 0 (store) to 9 (smallest); default 6, as gzip and zip. For
    /// tar.zst, levels 0-9 map to zstd levels 1, 1, 1, 2, 2, 3, 3, 6, 9, 12 (6 is zstd's
    /// default, 3).
    #[must_use]
    pub fn level(mut self, level: u32) -> Self {
        self.level = level.min(9);
        self
    }

    /// Compression threads; 0 (default) uses every core.
    #[must_use]
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Byte-identical output for the same tree: entries sorted by name, every
    /// modification time set to [`CompressOptions::mtime`] (default 1980-01-01, the
    /// earliest a zip can hold), no owner ids or names.
    #[must_use]
    pub fn reproducible(mut self, yes: bool) -> Self {
        self.reproducible = yes;
        self
    }

    /// The modification time (seconds since the Unix epoch) stored for every entry when
    /// [`CompressOptions::reproducible`] is set, e.g. from `SOURCE_DATE_EPOCH`.
    #[must_use]
    pub fn mtime(mut self, secs: u64) -> Self {
        self.mtime = Some(secs);
        self
    }

    /// Replace an existing archive of the same name (default `true`); with `false` an
    /// existing archive is an [`Error::Exists`](crate::Error::Exists).
    #[must_use]
    pub fn overwrite(mut self, yes: bool) -> Self {
        self.overwrite = yes;
        self
    }

    /// Archive what symbolic links point to instead of the links (like `tar -h`);
    /// default `false`: links are stored as links. A dangling link is stored as a link
    /// either way; a loop is an [`Error::SymlinkLoop`](crate::Error::SymlinkLoop).
    /// The source itself, when it is a link, is always followed.
    #[must_use]
    pub fn follow_links(mut self, yes: bool) -> Self {
        self.follow_links = yes;
        self
    }

    /// The format set.
    #[must_use]
    pub fn get_format(&self) -> ArchiveFormat {
        self.format
    }
}

common_setters!(CompressOptions);

/// Default limit on the bytes an archive may expand to: 64 GiB.
pub const DEFAULT_MAX_BYTES: u64 = 64 << 30;
/// Default limit on expanded bytes per archive byte (checked past 16 MiB written).
pub const DEFAULT_MAX_RATIO: u64 = 1000;
/// Default limit on the number of entries: 10 million.
pub const DEFAULT_MAX_ENTRIES: u64 = 10_000_000;

/// Options for [`uncompress`].
///
/// ```
/// let o = nfs::UncompressOptions::new()
///     .overwrite(nfs::Overwrite::Never)
///     .temp_dir(std::env::temp_dir())
///     .max_bytes(1 << 30);
/// assert!(!o.is_dry_run());
/// ```
#[derive(Debug, Clone)]
pub struct UncompressOptions {
    pub(crate) overwrite: Overwrite,
    pub(crate) temp_dir: Option<PathBuf>,
    pub(crate) max_bytes: u64,
    pub(crate) max_ratio: u64,
    pub(crate) max_entries: u64,
    pub(crate) threads: usize,
    pub(crate) filters: Filters,
    pub(crate) dry_run: bool,
    pub(crate) progress: Option<ProgressFn>,
}

impl Default for UncompressOptions {
    fn default() -> Self {
        UncompressOptions {
            overwrite: Overwrite::Always,
            temp_dir: None,
            max_bytes: DEFAULT_MAX_BYTES,
            max_ratio: DEFAULT_MAX_RATIO,
            max_entries: DEFAULT_MAX_ENTRIES,
            threads: 0,
            filters: Filters::default(),
            dry_run: false,
            progress: None,
        }
    }
}

impl UncompressOptions {
    /// Defaults: overwrite existing files, extract in place, limits of 64 GiB, a ratio
    /// of 1000 and 10 million entries.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// What to do with a file (or link) already in the destination, as for
    /// [`copy`](crate::copy_with): [`Overwrite::Always`] (default) replaces it,
    /// [`Overwrite::Never`] keeps it (counted in [`Report::skipped`]),
    /// [`Overwrite::IfNewer`] replaces it when the entry's time is later, and
    /// [`Overwrite::Error`] fails with [`Error::Exists`](crate::Error::Exists) (with a
    /// [`temp_dir`](UncompressOptions::temp_dir), before anything is moved into place).
    /// A directory is never replaced by a file, nor the reverse; an existing link is
    /// replaced, never written through.
    #[must_use]
    pub fn overwrite(mut self, policy: Overwrite) -> Self {
        self.overwrite = policy;
        self
    }

    /// Extract into a new directory inside `dir` first, then move the result into the
    /// destination, so a refused or failed extraction leaves the destination as it was.
    /// A `dir` on the destination's file system makes the move a rename.
    #[must_use]
    pub fn temp_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.temp_dir = Some(dir.into());
        self
    }

    /// Refuse archives expanding to more than `bytes` in total (default 64 GiB).
    #[must_use]
    pub fn max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// Refuse archives expanding to more than `ratio` times their own size, once past
    /// 16 MiB (default 1000; a zip whose entries share their data goes far beyond).
    #[must_use]
    pub fn max_ratio(mut self, ratio: u64) -> Self {
        self.max_ratio = ratio;
        self
    }

    /// Refuse archives with more than `n` entries (default 10 million).
    #[must_use]
    pub fn max_entries(mut self, n: u64) -> Self {
        self.max_entries = n;
        self
    }

    /// Threads writing files; 0 (default) uses one per core.
    #[must_use]
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }
}

common_setters!(UncompressOptions);

/// What [`compress_report`] made: the archive's path and size, and the usual report
/// (files, directories and bytes added; in a dry run, the plan).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Compressed {
    /// The archive (in a dry run, where it would be).
    pub path: PathBuf,
    /// The archive's size in bytes (0 in a dry run).
    pub archive_bytes: u64,
    /// Entries added, bytes of content, the plan of a dry run.
    pub report: Report,
}
