//! Solaris and illumos: `/etc/os-release` or `/etc/release`, `uname(2)`.

use std::path::Path;

use super::uname::uname;
use crate::rules::{self, normalize_arch};
use crate::{Host, Platform, System, process_bits, read_release_files};

pub(crate) fn host() -> Host {
    match uname() {
        // Solaris 11 and illumos only boot 64-bit kernels; `uname` says "i86pc" either way.
        Some(u) => Host {
            bits: if process_bits() == 64 || u.release.as_str() >= "5.11" {
                64
            } else {
                32
            },
            kernel: u.release,
            arch: normalize_arch(&u.machine),
        },
        None => Host::unknown(),
    }
}

pub(crate) fn detect() -> Platform {
    let mut d = rules::identify(&read_release_files(Path::new("/")));
    if !matches!(d.system, System::Solaris | System::Illumos) {
        d.system = System::current();
    }
    Platform::from_parts(d, host())
}
