#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod copy;
mod error;
mod filter;
mod ops;
mod progress;
mod remove;
mod sources;

// archive: compress/uncompress (nfs-archive)
mod archive;
pub use archive::sanitize;
pub use archive::{
    ArchiveFormat, CompressOptions, Compressed, DEFAULT_MAX_BYTES, DEFAULT_MAX_ENTRIES,
    DEFAULT_MAX_RATIO, UncompressOptions, UnknownFormat, compress, compress_report, uncompress,
};

pub use copy::{CopyOptions, Overwrite, copy, copy_with};
pub use error::{Error, Result};
pub use filter::{CompiledFilters, Filters};
pub use ops::{makedirs, rename, touch};
pub use progress::{Action, Progress, ProgressFn, Report, SkipReason};
pub use remove::{RemoveOptions, remove, remove_with};
