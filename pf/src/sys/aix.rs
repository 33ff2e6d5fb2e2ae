//! AIX: `uname(2)` version and release, `sysconf(_SC_AIX_KERNEL_BITMODE)`.

use super::uname::uname;
use crate::rules::{aix_bits, aix_version};
use crate::{Host, Platform, System, process_bits};

/// `_SC_AIX_KERNEL_BITMODE` from AIX's `<unistd.h>` (not exported by the libc crate).
const SC_AIX_KERNEL_BITMODE: libc::c_int = 117;

pub(crate) fn host() -> Host {
    // SAFETY: sysconf has no memory-safety preconditions.
    let bits = aix_bits(i64::from(unsafe { libc::sysconf(SC_AIX_KERNEL_BITMODE) }))
        .unwrap_or(process_bits());
    let kernel = uname()
        .map(|u| aix_version(&u.version, &u.release))
        .unwrap_or_else(|| "unknown".into());
    Host {
        kernel,
        arch: if bits == 64 {
            "ppc64".into()
        } else {
            "ppc".into()
        },
        bits,
    }
}

pub(crate) fn detect() -> Platform {
    let version = uname()
        .map(|u| aix_version(&u.version, &u.release))
        .unwrap_or_default();
    let d = super::simple_distribution(System::Aix, "aix", &version, None);
    Platform::from_parts(d, host())
}
