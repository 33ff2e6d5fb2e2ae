//! Linux and Android: release files under `/`, `uname(2)` for the kernel.

use std::path::Path;

use super::uname::uname;
use crate::rules::{self, bits_of_machine};
use crate::{Host, Platform, System, process_bits, read_release_files};

pub(crate) fn host() -> Host {
    match uname() {
        Some(u) => Host {
            bits: bits_of_machine(&u.machine).unwrap_or(process_bits()),
            kernel: if u.release.is_empty() {
                "unknown".into()
            } else {
                u.release
            },
            arch: if u.machine.is_empty() {
                "unknown".into()
            } else {
                u.machine
            },
        },
        None => Host::unknown(),
    }
}

#[cfg(not(target_os = "android"))]
pub(crate) fn detect() -> Platform {
    let mut d = rules::identify(&read_release_files(Path::new("/")));
    d.system = System::Linux;
    Platform::from_parts(d, host())
}

#[cfg(target_os = "android")]
pub(crate) fn detect() -> Platform {
    let root = Path::new("/");
    let version = crate::root::read_text(root, "system/build.prop")
        .and_then(|t| rules::unix::android_version(&t))
        .unwrap_or_default();
    let d = super::simple_distribution(System::Android, "android", &version, None);
    let _ = read_release_files;
    Platform::from_parts(d, host())
}
