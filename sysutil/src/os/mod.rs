//! Platform backends. Each one provides, with the signatures of the facade in `lib.rs`:
//! `network_info`, `default_route_address`, `disk_info`, `cpu_info`, `memory_info`, `hostname`,
//! `boot_time`, `virtualization` and `cpu_and_virtualization` (both at once, sharing reads).
//! `unsupported` compiles everywhere and answers "unknown".

#[cfg(any(target_os = "linux", target_os = "macos", target_os = "freebsd"))]
mod unix;

#[cfg(target_os = "linux")]
pub(crate) mod linux;
#[cfg(target_os = "linux")]
pub(crate) use linux as imp;

#[cfg(target_os = "macos")]
pub(crate) mod macos;
#[cfg(target_os = "macos")]
pub(crate) use macos as imp;

#[cfg(target_os = "freebsd")]
pub(crate) mod freebsd;
#[cfg(target_os = "freebsd")]
pub(crate) use freebsd as imp;

#[cfg(windows)]
pub(crate) mod windows;
#[cfg(windows)]
pub(crate) use windows as imp;

#[cfg(not(any(
    target_os = "linux",
    target_os = "macos",
    target_os = "freebsd",
    windows
)))]
pub(crate) mod unsupported;
#[cfg(not(any(
    target_os = "linux",
    target_os = "macos",
    target_os = "freebsd",
    windows
)))]
pub(crate) use unsupported as imp;
