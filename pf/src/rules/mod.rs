//! The knowledge of `pf`: pure functions over text and numbers, compiled and tested on every
//! operating system, so a Windows or AIX rule is checked on Linux.
//!
//! The backends only gather the inputs (a file's text, a `uname` field, an `RtlGetVersion`
//! number) and hand them to these functions.

pub mod linux;
pub mod macos;
pub mod table;
pub mod unix;
pub mod windows;

pub use linux::{
    Distribution, KeyValues, ReleaseFiles, ReleaseLine, identify, parse_debian_version,
    parse_freebsd_version_script, parse_lsb_release, parse_os_release, parse_release_file,
    parse_release_line, parse_solaris_release, parse_suse_release, parse_uname_script,
};
pub use macos::{macos_codename, parse_system_version_plist};
pub use unix::{aix_bits, aix_version, bits_of_machine, bsd_version, normalize_arch};
pub use windows::{WindowsProduct, windows_arch, windows_product};
