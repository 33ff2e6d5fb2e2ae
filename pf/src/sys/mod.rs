//! Backends, one per platform, aliased as `imp`. Each provides:
//! - `detect() -> Platform`: the whole platform of the running host;
//! - `host() -> Host`: kernel release, architecture and OS bitness of the running host (used by
//!   `detect_in`).
//!
//! `unsupported` compiles everywhere and answers "Unknown".

use crate::System;
use crate::rules::{self, Distribution};

#[cfg(unix)]
mod uname;

#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) mod linux;
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) use linux as imp;

#[cfg(windows)]
pub(crate) mod windows;
#[cfg(windows)]
pub(crate) use windows as imp;

#[cfg(target_os = "macos")]
pub(crate) mod macos;
#[cfg(target_os = "macos")]
pub(crate) use macos as imp;

#[cfg(any(target_os = "freebsd", target_os = "openbsd", target_os = "netbsd"))]
pub(crate) mod bsd;
#[cfg(any(target_os = "freebsd", target_os = "openbsd", target_os = "netbsd"))]
pub(crate) use bsd as imp;

#[cfg(any(target_os = "solaris", target_os = "illumos"))]
pub(crate) mod solaris;
#[cfg(any(target_os = "solaris", target_os = "illumos"))]
pub(crate) use solaris as imp;

#[cfg(target_os = "aix")]
pub(crate) mod aix;
#[cfg(target_os = "aix")]
pub(crate) use aix as imp;

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    windows,
    target_os = "macos",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "solaris",
    target_os = "illumos",
    target_os = "aix"
)))]
pub(crate) mod unsupported;
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    windows,
    target_os = "macos",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "solaris",
    target_os = "illumos",
    target_os = "aix"
)))]
pub(crate) use unsupported as imp;

/// A non-Linux system described by its own name and version.
pub(crate) fn simple_distribution(
    system: System,
    id: &str,
    version: &str,
    codename: Option<&str>,
) -> Distribution {
    let mut d = Distribution::unknown();
    d.system = system;
    d.dist = system.name().to_string();
    d.id = id.to_string();
    d.version = version.to_string();
    d.codename = codename.map(str::to_string);
    let mut pretty = format!("{} {}", d.dist, d.version).trim().to_string();
    if let Some(c) = codename {
        pretty.push(' ');
        pretty.push_str(c);
    }
    d.pretty_name = pretty;
    d
}

/// macOS from its product version ("14.5" → macOS 14.5 Sonoma).
pub(crate) fn macos_from_version(version: &str) -> Distribution {
    simple_distribution(
        System::MacOs,
        "macos",
        version.trim(),
        rules::macos_codename(version),
    )
}

/// macOS from the text of SystemVersion.plist.
pub(crate) fn macos_distribution(plist: &str) -> Option<Distribution> {
    rules::parse_system_version_plist(plist).map(|(_, version)| macos_from_version(&version))
}
