//! FreeBSD, OpenBSD, NetBSD: `uname(2)`.

use super::uname::uname;
use crate::rules::{bits_of_machine, bsd_version, normalize_arch};
use crate::{Host, Platform, System, process_bits};

pub(crate) fn host() -> Host {
    match uname() {
        Some(u) => Host {
            bits: bits_of_machine(&u.machine).unwrap_or(process_bits()),
            kernel: u.release,
            arch: normalize_arch(&u.machine),
        },
        None => Host::unknown(),
    }
}

pub(crate) fn detect() -> Platform {
    let system = System::current();
    let release = uname().map(|u| u.release).unwrap_or_default();
    let d = super::simple_distribution(system, system.short_name(), &bsd_version(&release), None);
    Platform::from_parts(d, host())
}
