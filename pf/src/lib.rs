#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::{Serialize, Serializer};

mod root;
pub mod rules;
mod sys;

pub use root::{MAX_SYMLINK_HOPS, read_release_files, resolve_in_root};
pub use rules::{Distribution, ReleaseFiles};

/// Errors of the few `pf` functions that can fail. Detection itself never fails.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A path under a root could not be examined.
    #[error("cannot examine {path}: {source}")]
    Io {
        /// The path (under the root) being examined.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Resolving a path followed more than [`MAX_SYMLINK_HOPS`] symbolic links.
    #[error("too many symbolic links resolving {path} under {root}")]
    SymlinkLoop {
        /// The root directory.
        root: PathBuf,
        /// The path being resolved.
        path: PathBuf,
    },
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// The operating system family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum System {
    /// Microsoft Windows.
    Windows,
    /// Linux (any distribution).
    Linux,
    /// Apple macOS.
    MacOs,
    /// IBM AIX.
    Aix,
    /// FreeBSD.
    FreeBsd,
    /// OpenBSD.
    OpenBsd,
    /// NetBSD.
    NetBsd,
    /// Oracle Solaris.
    Solaris,
    /// illumos (OmniOS, OpenIndiana, SmartOS).
    Illumos,
    /// Android.
    Android,
    /// Anything else, or nothing found.
    Unknown,
}

impl System {
    /// The display name: "Windows", "Linux", "macOS", "AIX", "FreeBSD", ...
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Windows => "Windows",
            Self::Linux => "Linux",
            Self::MacOs => "macOS",
            Self::Aix => "AIX",
            Self::FreeBsd => "FreeBSD",
            Self::OpenBsd => "OpenBSD",
            Self::NetBsd => "NetBSD",
            Self::Solaris => "Solaris",
            Self::Illumos => "illumos",
            Self::Android => "Android",
            Self::Unknown => "Unknown",
        }
    }

    /// The lowercase short name used in labels: "windows", "linux", "macos", "aix", ...
    #[must_use]
    pub fn short_name(self) -> &'static str {
        match self {
            Self::Windows => "windows",
            Self::Linux => "linux",
            Self::MacOs => "macos",
            Self::Aix => "aix",
            Self::FreeBsd => "freebsd",
            Self::OpenBsd => "openbsd",
            Self::NetBsd => "netbsd",
            Self::Solaris => "solaris",
            Self::Illumos => "illumos",
            Self::Android => "android",
            Self::Unknown => "unknown",
        }
    }

    /// The system this program was compiled for.
    #[must_use]
    pub fn current() -> Self {
        if cfg!(windows) {
            Self::Windows
        } else if cfg!(target_os = "android") {
            Self::Android
        } else if cfg!(target_os = "linux") {
            Self::Linux
        } else if cfg!(target_os = "macos") {
            Self::MacOs
        } else if cfg!(target_os = "aix") {
            Self::Aix
        } else if cfg!(target_os = "freebsd") {
            Self::FreeBsd
        } else if cfg!(target_os = "openbsd") {
            Self::OpenBsd
        } else if cfg!(target_os = "netbsd") {
            Self::NetBsd
        } else if cfg!(target_os = "solaris") {
            Self::Solaris
        } else if cfg!(target_os = "illumos") {
            Self::Illumos
        } else {
            Self::Unknown
        }
    }
}

impl fmt::Display for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for System {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// Where this program runs: system, distribution, version, kernel, architecture and bitness.
///
/// Read it with the accessor methods; serialised (serde) as one object with the keys
/// `system, dist, id, version, codename, like, pretty_name, kernel, arch, bits, process_bits`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Platform {
    system: System,
    dist: String,
    id: String,
    version: String,
    codename: Option<String>,
    like: Vec<String>,
    pretty_name: String,
    kernel: String,
    arch: String,
    bits: u32,
    process_bits: u32,
}

/// What the backends know about the running kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Host {
    pub kernel: String,
    pub arch: String,
    pub bits: u32,
}

impl Host {
    #[cfg_attr(windows, allow(dead_code))] // The Windows backend always has RtlGetVersion.
    pub(crate) fn unknown() -> Self {
        Self {
            kernel: "unknown".into(),
            arch: "unknown".into(),
            bits: process_bits(),
        }
    }
}

/// Bitness of this process.
pub(crate) const fn process_bits() -> u32 {
    usize::BITS
}

impl Platform {
    pub(crate) fn from_parts(d: Distribution, host: Host) -> Self {
        Self {
            system: d.system,
            dist: d.dist,
            id: d.id,
            version: d.version,
            codename: d.codename,
            like: d.like,
            pretty_name: d.pretty_name,
            kernel: host.kernel,
            arch: host.arch,
            bits: host.bits,
            process_bits: process_bits(),
        }
    }

    /// The operating system family.
    #[must_use]
    pub fn system(&self) -> System {
        self.system
    }

    /// The name people use: "CentOS", "RedHat", "Ubuntu", "SUSE", "Mint", "Windows", "macOS",
    /// "AIX", "FreeBSD"; "Unknown" when nothing says.
    #[must_use]
    pub fn dist(&self) -> &str {
        &self.dist
    }

    /// python-distro's `distro.id()`: "rhel", "centos", "ubuntu", "sles", "opensuse", "amzn",
    /// "oracle"...; "windows", "macos", "aix", "freebsd" elsewhere; "unknown" when nothing says.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The most precise version: "7.9.2009", "22.04.3", "12.11"; Windows "2008 R2", "11",
    /// "2022"; macOS "14.5"; AIX "7.2"; FreeBSD "13.2". Empty when the system states none
    /// (rolling distributions such as Arch).
    #[must_use]
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The release codename ("bookworm", "Core", "Sonoma", "22H2"), never an architecture.
    #[must_use]
    pub fn codename(&self) -> Option<&str> {
        self.codename.as_deref()
    }

    /// Ids of the distributions this one derives from (os-release `ID_LIKE`, or the table's
    /// parents): `["ubuntu", "debian"]` for Mint.
    #[must_use]
    pub fn like(&self) -> &[String] {
        &self.like
    }

    /// Full human name: "Debian GNU/Linux 12 (bookworm)", "Windows Server 2022",
    /// "macOS 14.5 Sonoma".
    #[must_use]
    pub fn pretty_name(&self) -> &str {
        &self.pretty_name
    }

    /// Kernel release: Linux "3.10.0-1160.el7.x86_64", Windows "10.0.14393", macOS (Darwin)
    /// "23.5.0", FreeBSD "13.2-RELEASE-p4", AIX "7.2".
    #[must_use]
    pub fn kernel(&self) -> &str {
        &self.kernel
    }

    /// Machine architecture of the operating system: "x86_64", "aarch64", "i686", "ppc64le",
    /// "s390x"...
    #[must_use]
    pub fn arch(&self) -> &str {
        &self.arch
    }

    /// Bitness of the operating system (a 32-bit program on 64-bit Windows or AIX says 64).
    #[must_use]
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// Bitness of this process.
    #[must_use]
    pub fn process_bits(&self) -> u32 {
        self.process_bits
    }

    /// "linux-64", "windows-32", "aix-64", "macos-64": for naming packages and build targets.
    #[must_use]
    pub fn label(&self) -> String {
        format!("{}-{}", self.system.short_name(), self.bits)
    }

    /// The first number of the version (7 for "7.9.2009", 2008 for "2008 R2").
    #[must_use]
    pub fn major_version(&self) -> Option<u64> {
        let digits: String = self
            .version
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    }

    /// Windows.
    #[must_use]
    pub fn is_windows(&self) -> bool {
        self.system == System::Windows
    }

    /// Any Unix: Linux, macOS, AIX, the BSDs, Solaris, illumos, Android.
    #[must_use]
    pub fn is_unix(&self) -> bool {
        !matches!(self.system, System::Windows | System::Unknown)
    }

    /// Linux (not Android).
    #[must_use]
    pub fn is_linux(&self) -> bool {
        self.system == System::Linux
    }

    /// macOS.
    #[must_use]
    pub fn is_macos(&self) -> bool {
        self.system == System::MacOs
    }

    /// AIX.
    #[must_use]
    pub fn is_aix(&self) -> bool {
        self.system == System::Aix
    }

    /// FreeBSD, OpenBSD or NetBSD.
    #[must_use]
    pub fn is_bsd(&self) -> bool {
        matches!(
            self.system,
            System::FreeBsd | System::OpenBsd | System::NetBsd
        )
    }

    /// Solaris or illumos.
    #[must_use]
    pub fn is_solaris(&self) -> bool {
        matches!(self.system, System::Solaris | System::Illumos)
    }

    /// Android.
    #[must_use]
    pub fn is_android(&self) -> bool {
        self.system == System::Android
    }

    /// The distribution is `id` or derives from it: `is_like("rhel")` holds on CentOS, Rocky,
    /// Oracle and RHEL; `is_like("debian")` on Debian, Ubuntu and Mint.
    #[must_use]
    pub fn is_like(&self, id: &str) -> bool {
        self.id == id || self.like.iter().any(|l| l == id)
    }
}

impl fmt::Display for Platform {
    /// "Debian GNU/Linux 12 (bookworm) [debian 12.11] Linux 6.1.0-18-amd64 x86_64 64-bit".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}", self.pretty_name, self.id)?;
        if !self.version.is_empty() {
            write!(f, " {}", self.version)?;
        }
        write!(
            f,
            "] {} {} {} {}-bit",
            self.system, self.kernel, self.arch, self.bits
        )?;
        if self.process_bits != self.bits {
            write!(f, " ({}-bit process)", self.process_bits)?;
        }
        Ok(())
    }
}

/// The platform this program runs on, detected once and cached.
///
/// # Platform behavior
/// See [`detect`].
#[must_use]
pub fn get_platform() -> &'static Platform {
    static PLATFORM: OnceLock<Platform> = OnceLock::new();
    PLATFORM.get_or_init(detect)
}

/// Detects the platform this program runs on, afresh. Never fails: what cannot be known is
/// "Unknown". No subprocess is started.
///
/// # Platform behavior
/// - Linux: the distribution from `/etc/os-release`, `/usr/lib/os-release`, `/etc/lsb-release`
///   and the distribution's own release files (see [`rules::identify`]); kernel, architecture
///   and OS bitness from `uname(2)` (the kernel's architecture, not the process's).
/// - Windows: `RtlGetVersion` and the product type, named by [`rules::windows_product`]; OS
///   bitness and architecture from `IsWow64Process2` (or `GetNativeSystemInfo`); the feature
///   release ("22H2") as codename from the registry.
/// - macOS: `kern.osproductversion`, else SystemVersion.plist; architecture "aarch64" also
///   for an x86_64 program under Rosetta.
/// - FreeBSD, OpenBSD, NetBSD: `uname(2)` ("13.2-RELEASE-p4" → "13.2").
/// - Solaris and illumos: `/etc/os-release` or `/etc/release`, `uname(2)`.
/// - AIX: `uname(2)` version and release ("7.2"), kernel bit mode from `sysconf`.
#[must_use]
pub fn detect() -> Platform {
    sys::imp::detect()
}

/// Detects the distribution installed under `root` (a chroot, a container image, a mounted
/// disk). Kernel, architecture and bitness come from the running host.
///
/// Every path and every symbolic link met while reading resolves inside `root`, as a container
/// runtime reads an image: nothing of the host's own files leaks into the answer. Never fails:
/// with nothing recognisable under `root`, system and dist are "Unknown".
///
/// # Platform behavior
/// Reads Linux release files (and the os-release of FreeBSD, Solaris and illumos, or
/// Solaris' `/etc/release`) the same way on every host. A root holding a macOS
/// SystemVersion.plist is reported as macOS.
#[must_use]
pub fn detect_in(root: &Path) -> Platform {
    let files = read_release_files(root);
    let mut d = rules::identify(&files);
    if d.system == System::Unknown
        && let Some(text) = root::read_text(root, "System/Library/CoreServices/SystemVersion.plist")
        && let Some(mac) = sys::macos_distribution(&text)
    {
        d = mac;
    }
    Platform::from_parts(d, sys::imp::host())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(system: System, bits: u32) -> Platform {
        let mut d = Distribution::unknown();
        d.system = system;
        Platform::from_parts(
            d,
            Host {
                kernel: "k".into(),
                arch: "a".into(),
                bits,
            },
        )
    }

    #[test]
    fn labels() {
        assert_eq!(sample(System::Linux, 64).label(), "linux-64");
        assert_eq!(sample(System::Windows, 32).label(), "windows-32");
        assert_eq!(sample(System::Aix, 64).label(), "aix-64");
        assert_eq!(sample(System::MacOs, 64).label(), "macos-64");
    }

    #[test]
    fn predicates() {
        assert!(sample(System::Windows, 64).is_windows());
        assert!(!sample(System::Windows, 64).is_unix());
        assert!(sample(System::Aix, 64).is_unix());
        assert!(sample(System::FreeBsd, 64).is_bsd());
        assert!(sample(System::Illumos, 64).is_solaris());
        assert!(!sample(System::Unknown, 64).is_unix());
        assert!(sample(System::Linux, 64).is_linux());
        assert!(!sample(System::Android, 64).is_linux());
    }

    #[test]
    fn system_names() {
        let names: Vec<&str> = [
            System::Windows,
            System::Linux,
            System::MacOs,
            System::Aix,
            System::FreeBsd,
            System::Solaris,
        ]
        .iter()
        .map(|s| s.name())
        .collect();
        assert_eq!(
            names,
            ["Windows", "Linux", "macOS", "AIX", "FreeBSD", "Solaris"]
        );
    }
}
