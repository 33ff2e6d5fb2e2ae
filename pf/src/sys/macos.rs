//! macOS: `kern.osproductversion` (else SystemVersion.plist), `uname(2)`, Rosetta check.

use std::ffi::CStr;
use std::path::Path;

use super::uname::uname;
use crate::rules::normalize_arch;
use crate::{Host, Platform, root};

fn sysctl_string(name: &CStr) -> Option<String> {
    let mut len: libc::size_t = 0;
    // SAFETY: a null buffer asks for the size only.
    if unsafe {
        libc::sysctlbyname(
            name.as_ptr(),
            std::ptr::null_mut(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    } != 0
        || len == 0
    {
        return None;
    }
    let mut buf = vec![0u8; len];
    // SAFETY: `buf` has `len` writable bytes.
    if unsafe {
        libc::sysctlbyname(
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    } != 0
    {
        return None;
    }
    buf.truncate(len);
    let s = String::from_utf8_lossy(&buf)
        .trim_end_matches('\0')
        .trim()
        .to_string();
    (!s.is_empty()).then_some(s)
}

fn sysctl_int(name: &CStr) -> Option<i32> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>();
    // SAFETY: `value` is a writable c_int of `len` bytes.
    let rc = unsafe {
        libc::sysctlbyname(
            name.as_ptr(),
            (&raw mut value).cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    (rc == 0).then_some(value)
}

pub(crate) fn host() -> Host {
    match uname() {
        Some(u) => {
            let mut arch = normalize_arch(&u.machine);
            // An x86_64 program under Rosetta 2 runs on an arm64 Mac.
            if arch == "x86_64" && sysctl_int(c"sysctl.proc_translated") == Some(1) {
                arch = "aarch64".into();
            }
            Host {
                kernel: u.release,
                arch,
                bits: 64,
            }
        }
        None => Host::unknown(),
    }
}

pub(crate) fn detect() -> Platform {
    let d = match sysctl_string(c"kern.osproductversion") {
        Some(v) => Some(super::macos_from_version(&v)),
        None => root::read_text(
            Path::new("/"),
            "System/Library/CoreServices/SystemVersion.plist",
        )
        .and_then(|t| super::macos_distribution(&t)),
    };
    let d = d.unwrap_or_else(|| super::macos_from_version(""));
    Platform::from_parts(d, host())
}
