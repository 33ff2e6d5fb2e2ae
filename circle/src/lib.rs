#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod config;
pub mod control;
pub mod daemon;
mod diff;
mod error;
pub mod machine;
mod output;
pub mod procstat;
mod signal;
mod supervisor;
mod sys;

pub use config::{CircleSection, Config, StreamClass, StreamConfig, Watcher};
pub use diff::{ReloadReport, ScaleChange, diff, same_processes};
pub use error::{ConfigError, Error, Result};
pub use machine::{ExitInfo, ProcessState, WatcherState};
pub use output::{OutputChunk, StreamKind};
pub use signal::Signal;
pub use supervisor::{Event, ProcessStatus, Supervisor, SupervisorOptions, WatcherStatus};

/// The `tracing` target of the process output lines of `StdoutStream` watchers (INFO level).
pub const OUTPUT_LOG_TARGET: &str = "circle::output";
