//! The crate's one error type.

use std::io;
use std::path::{Path, PathBuf};

/// What went wrong, and where.
///
/// Every variant names the path (or pattern, or archive entry) it concerns, so the
/// message alone tells an operator what to look at.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A system call failed on `path`.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// What was being done: `"open"`, `"read"`, `"create"`, `"remove"`, `"rename"`...
        op: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The source does not exist.
    #[error("{} does not exist", path.display())]
    NotFound {
        /// The missing path.
        path: PathBuf,
    },
    /// A glob pattern in a source path matched nothing.
    #[error("no path matches {pattern}")]
    NoMatch {
        /// The pattern, as given.
        pattern: String,
    },
    /// A glob pattern (in a source path or a filter) is not valid.
    #[error("invalid glob pattern {pattern:?}: {source}")]
    Glob {
        /// The pattern, as given.
        pattern: String,
        /// What globset reported.
        #[source]
        source: globset::Error,
    },
    /// Copying (or renaming) a directory into itself or one of its descendants.
    #[error("cannot copy {} into itself ({})", src.display(), dst.display())]
    IntoItself {
        /// The source directory.
        src: PathBuf,
        /// The destination, inside `src`.
        dst: PathBuf,
    },
    /// The destination exists and the overwrite policy says to fail.
    #[error("{} already exists", path.display())]
    Exists {
        /// The existing path.
        path: PathBuf,
    },
    /// A directory was expected (the destination of a multi-file copy, a parent).
    #[error("{} is not a directory", path.display())]
    NotADirectory {
        /// The path that is not a directory.
        path: PathBuf,
    },
    /// Following symbolic links led back to an ancestor directory.
    #[error("symbolic link loop at {}", path.display())]
    SymlinkLoop {
        /// The link that closes the loop.
        path: PathBuf,
    },
    /// A path would resolve outside the tree the operation is confined to.
    #[error("{} escapes {}", path.display(), root.display())]
    Escape {
        /// The offending path.
        path: PathBuf,
        /// The tree it must stay in.
        root: PathBuf,
    },
    /// The operation cannot be done on this path (e.g. removing `/` or `.`).
    #[error("refusing to {op} {}: {reason}", path.display())]
    Refused {
        /// The operation.
        op: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// Why.
        reason: &'static str,
    },
    /// Several independent failures, e.g. from parallel workers; each keeps its path.
    #[error("{} errors, the first: {}", .0.len(), .0.first().map(ToString::to_string).unwrap_or_default())]
    Many(Vec<Error>),
    /// An archive entry that would land outside the destination, or of a kind never
    /// extracted (device node, FIFO): the whole archive is refused.
    #[error("refusing entry {entry:?} of {}: {reason}", archive.display())]
    UnsafeEntry {
        /// The archive.
        archive: PathBuf,
        /// The entry's name as stored (non-UTF-8 bytes shown as U+FFFD).
        entry: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// Extraction stopped at a limit against decompression bombs.
    #[error("{} exceeds the {what} limit of {limit} at entry {entry:?}", archive.display())]
    ArchiveLimit {
        /// The archive.
        archive: PathBuf,
        /// The entry being extracted when the limit was reached.
        entry: String,
        /// Which limit: `"total size"`, `"compression ratio"` or `"entry count"`.
        what: &'static str,
        /// The limit's value.
        limit: u64,
    },
    /// The archive is damaged, truncated, or in a format this crate does not read.
    #[error("cannot read archive {}: {reason}", archive.display())]
    BadArchive {
        /// The archive.
        archive: PathBuf,
        /// What is wrong, naming the entry when there is one.
        reason: String,
    },
}

impl Error {
    /// Wrap an I/O error with the operation and the path it concerns.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// The path this error concerns, when it has one.
    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        match self {
            Error::Io { path, .. }
            | Error::NotFound { path }
            | Error::Exists { path }
            | Error::NotADirectory { path }
            | Error::SymlinkLoop { path }
            | Error::Escape { path, .. }
            | Error::Refused { path, .. } => Some(path),
            Error::IntoItself { dst, .. } => Some(dst),
            Error::UnsafeEntry { archive, .. }
            | Error::ArchiveLimit { archive, .. }
            | Error::BadArchive { archive, .. } => Some(archive),
            Error::Many(v) => v.first().and_then(Error::path),
            _ => None,
        }
    }

    /// The underlying I/O error kind, when this is an I/O error.
    #[must_use]
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match self {
            Error::Io { source, .. } => Some(source.kind()),
            Error::NotFound { .. } => Some(io::ErrorKind::NotFound),
            Error::Exists { .. } => Some(io::ErrorKind::AlreadyExists),
            Error::Many(v) => v.first().and_then(Error::io_kind),
            _ => None,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_message_names_the_path() {
        let e = Error::io(
            "remove",
            "/opt/app/x",
            io::Error::from(io::ErrorKind::PermissionDenied),
        );
        let s = e.to_string();
        assert!(s.starts_with("cannot remove /opt/app/x: "), "{s}");
        assert_eq!(e.path(), Some(Path::new("/opt/app/x")));
        assert_eq!(e.io_kind(), Some(io::ErrorKind::PermissionDenied));
    }

    #[test]
    fn many_shows_the_first() {
        let e = Error::Many(vec![
            Error::NotFound { path: "/a".into() },
            Error::NotFound { path: "/b".into() },
        ]);
        assert_eq!(e.to_string(), "2 errors, the first: /a does not exist");
        assert_eq!(e.path(), Some(Path::new("/a")));
    }
}
