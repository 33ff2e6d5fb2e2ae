#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod error;
mod filter;
mod progress;
mod remove;
mod sources;

// archive: compress/uncompress (nfs-archive)

pub use error::{Error, Result};
pub use filter::{CompiledFilters, Filters};
pub use progress::{Action, Progress, ProgressFn, Report, SkipReason};
pub use remove::{RemoveOptions, remove, remove_with};
