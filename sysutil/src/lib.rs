#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

use std::io;
use std::net::IpAddr;
use std::path::PathBuf;

use serde::{Serialize, Serializer};

pub mod cpu;
pub mod cpuid;
pub mod disk;
pub mod mem;
pub mod net;
pub mod smbios;
pub mod virt;

mod os;
mod read;
use os::imp;

pub use cpu::{CpuInfo, Frequency};
pub use disk::DiskPartition;
pub use mem::MemoryInfo;
pub use net::{Address, NetworkInfo};
pub use virt::Virtualization;

/// Everything that can go wrong while reading a fact; each variant names what it concerns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A file was read but lacks what it should hold.
    #[error("{}: no {field}", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
        /// The missing field or line.
        field: &'static str,
    },
    /// An operating system call failed.
    #[error("{call} failed: {source}")]
    Os {
        /// The call (`getifaddrs`, `statvfs /home`, `GetAdaptersAddresses`, `sysctl hw.memsize`).
        call: String,
        /// The cause.
        source: io::Error,
    },
    /// This fact is not available on this platform.
    #[error("{what} is not available on this platform")]
    Unsupported {
        /// The fact.
        what: &'static str,
    },
}

impl Error {
    #[allow(dead_code)]
    pub(crate) fn read(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Read {
            path: path.into(),
            source,
        }
    }

    #[allow(dead_code)]
    pub(crate) fn os(call: impl Into<String>, source: io::Error) -> Self {
        Self::Os {
            call: call.into(),
            source,
        }
    }

    #[allow(dead_code)]
    pub(crate) fn last_os(call: impl Into<String>) -> Self {
        Self::Os {
            call: call.into(),
            source: io::Error::last_os_error(),
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// One part of [`Facts`]: its value, or the error that kept it from being read.
///
/// Serializes as the value itself, or as `{"error": "message"}`.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact<T> {
    /// The value.
    Ok(T),
    /// Why it could not be read.
    Err(String),
}

impl<T> Fact<T> {
    /// The value, if it was read.
    #[must_use]
    pub fn ok(&self) -> Option<&T> {
        match self {
            Self::Ok(v) => Some(v),
            Self::Err(_) => None,
        }
    }

    /// The error message, if it failed.
    #[must_use]
    pub fn err(&self) -> Option<&str> {
        match self {
            Self::Ok(_) => None,
            Self::Err(e) => Some(e),
        }
    }
}

impl<T> From<Result<T>> for Fact<T> {
    fn from(r: Result<T>) -> Self {
        match r {
            Ok(v) => Self::Ok(v),
            Err(e) => Self::Err(e.to_string()),
        }
    }
}

impl<T: Serialize> Serialize for Fact<T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Self::Ok(v) => v.serialize(s),
            Self::Err(e) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("error", e)?;
                m.end()
            }
        }
    }
}

/// Every fact about this machine, read once.
///
/// Serializes as `{"network": [...], "primary_ip": "...", "disks": [...], "cpu": {...},
/// "memory": {"total", "available"}, "virtual": {"is_vm", "hypervisor", "container"},
/// "hostname": "...", "boot_time": 1764000000}`. A part that failed is `{"error": "..."}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Facts {
    /// [`network_info`].
    pub network: Fact<Vec<NetworkInfo>>,
    /// [`primary_ip`].
    pub primary_ip: Option<IpAddr>,
    /// [`disk_info`].
    pub disks: Fact<Vec<DiskPartition>>,
    /// [`cpu_info`].
    pub cpu: Fact<CpuInfo>,
    /// [`memory_info`].
    pub memory: Fact<MemoryInfo>,
    /// [`virtualization`], serialized under the key `virtual`.
    #[serde(rename = "virtual")]
    pub virtualization: Virtualization,
    /// [`hostname`].
    pub hostname: Fact<String>,
    /// [`boot_time`].
    pub boot_time: Fact<u64>,
}

/// Every network interface with its addresses.
///
/// # Errors
/// [`Error::Os`] when the interface list cannot be read (`getifaddrs`, `GetAdaptersAddresses`).
///
/// # Platform behavior
/// Linux: the two rtnetlink dumps `getifaddrs` makes (links with MAC and MTU, then addresses),
/// read directly (`getifaddrs` and `SIOCGIFMTU` where netlink is refused); IPv4 alias labels
/// (`eth0:1`) are merged into their interface, as `ip addr` shows them. macOS and FreeBSD:
/// `getifaddrs` (MAC and MTU from `AF_LINK`). Windows: `GetAdaptersAddresses`, named by the
/// friendly name (`Ethernet`, as psutil does).
pub fn network_info() -> Result<Vec<NetworkInfo>> {
    imp::network_info()
}

/// The address this machine talks on: the source address of its default route.
///
/// Found without sending anything: a UDP socket is `connect`ed to a public address (which only
/// selects a route) and asked for its local address; IPv4 first, then IPv6. If that fails (no
/// route, sockets forbidden), Linux reads the default route from `/proc/net/route` and
/// `/proc/net/ipv6_route` and takes that interface's address; last, the first IPv4 (then global
/// IPv6) of an interface that is up and not loopback. `None` when there is no address at all.
///
/// # Platform behavior
/// The route table fallback exists on Linux only. On Linux, [`facts`] asks the same route
/// question on the netlink socket it lists the interfaces with (`RTM_GETROUTE`, the kernel's
/// chosen source in `RTA_PREFSRC`, as `ip route get` shows it): the same route lookup as the UDP
/// `connect`, without a socket of its own.
#[must_use]
pub fn primary_ip() -> Option<IpAddr> {
    primary_ip_with(None)
}

fn primary_ip_with(ifaces: Option<&[NetworkInfo]>) -> Option<IpAddr> {
    let probed = net::source_address_for(net::PROBE_V4.into())
        .or_else(|| net::source_address_for(net::PROBE_V6.into()));
    primary_ip_after_probes(probed, ifaces)
}

/// The primary IP once the probe destinations have been routed (`probed`: the source address
/// the kernel picked for the first one with a route): that, else the route table, else the first
/// non-loopback address.
fn primary_ip_after_probes(
    probed: Option<IpAddr>,
    ifaces: Option<&[NetworkInfo]>,
) -> Option<IpAddr> {
    if probed.is_some() {
        return probed;
    }
    let owned;
    let ifaces = match ifaces {
        Some(i) => i,
        None => {
            owned = network_info().ok()?;
            &owned
        }
    };
    imp::default_route_address(ifaces).or_else(|| net::first_non_loopback(ifaces))
}

/// Mounted file systems backed by a device, with their sizes: the set psutil's
/// `disk_partitions(all=False)` returns.
///
/// # Errors
/// [`Error::Read`] when the mount table cannot be read, [`Error::Os`] when the OS refuses the
/// list. A file system whose size cannot be read (unmounted in between, or not accessible to
/// this user) is kept with sizes 0. Network file systems are not in the set, so a hung NFS server
/// cannot block the call.
///
/// # Platform behavior
/// Linux: `/proc/self/mounts` filtered by the device-backed types of `/proc/filesystems` (plus
/// `zfs`), sizes by `statvfs`. Whether a type needs a device does not change between kernels:
/// the common types are in a table ([`disk::known_physical_fstype`]), and `/proc/filesystems` is
/// read only when a mounted type is not in it. macOS and FreeBSD: `getmntinfo` (no waiting on network file
/// systems), entries whose device is an existing absolute path. Windows: drive letters of fixed
/// drives, removable drives (not `A:`) and CD drives that have a volume (no empty card readers or
/// CD drives, no network drives), as psutil.
pub fn disk_info() -> Result<Vec<DiskPartition>> {
    imp::disk_info()
}

/// What the processor is: brand, vendor, family/model/stepping, cache, frequency, core counts.
///
/// Reads only what is asked for; no process or load scan.
///
/// # Errors
/// [`Error::Read`] when the OS source cannot be read (Linux `/proc/cpuinfo`).
///
/// # Platform behavior
/// Linux: `/proc/cpuinfo` (x86, ARM, POWER, s390x), cpufreq for the maximum frequency, CPUID
/// where cpuinfo lacks the identity. On x86 only the first cpuinfo record is read (the kernel
/// formats each record, flags and all, when it is read: on a 128-CPU server the whole file costs
/// a hundred times more); `logical` is then `/sys/devices/system/cpu/online` (what glibc's
/// `sysconf(_SC_NPROCESSORS_ONLN)` and so psutil's `cpu_count()` read) and `physical` is
/// `cpu cores` times the packages (`logical / siblings`), or, when some CPUs are offline, the
/// (`physical id`, `core id`) pairs of the whole file. Windows: CPUID, `GetLogicalProcessorInformationEx`,
/// `CallNtPowerInformation`. macOS: `sysctl machdep.cpu.*`, `hw.*`. FreeBSD: `sysctl hw.model`,
/// `hw.ncpu`, `kern.smp.cores`, `dev.cpu.0.freq`, CPUID.
pub fn cpu_info() -> Result<CpuInfo> {
    imp::cpu_info()
}

/// Total and available physical memory.
///
/// # Errors
/// [`Error::Read`] or [`Error::Os`] when the OS source cannot be read.
///
/// # Platform behavior
/// Linux: `/proc/meminfo` `MemAvailable`. Windows: `GlobalMemoryStatusEx`. macOS: `hw.memsize` and
/// `host_statistics64` (free + inactive pages, as psutil). FreeBSD: `hw.physmem` and the free,
/// inactive and cache page counts.
pub fn memory_info() -> Result<MemoryInfo> {
    imp::memory_info()
}

/// This machine's host name.
///
/// # Errors
/// [`Error::Os`] when the OS call fails.
///
/// # Platform behavior
/// Unix: `gethostname`. Windows: `GetComputerNameExW(ComputerNameDnsHostname)`.
pub fn hostname() -> Result<String> {
    imp::hostname()
}

/// When the machine booted, in Unix seconds.
///
/// # Errors
/// [`Error::Read`], [`Error::Missing`] or [`Error::Os`] when the OS source cannot be read.
///
/// # Platform behavior
/// Linux: `CLOCK_REALTIME - CLOCK_BOOTTIME`, the offset the kernel prints as `btime` in
/// `/proc/stat` (read from there when the two clock readings straddle a second). macOS and
/// FreeBSD: `sysctl kern.boottime`. Windows: now minus `GetTickCount64`, rounded to the second.
pub fn boot_time() -> Result<u64> {
    imp::boot_time()
}

/// Whether this system is a virtual machine and/or a container, named as `systemd-detect-virt`
/// names them. Never fails: an unreadable signal is an absent one.
///
/// # Platform behavior
/// Linux: systemd's order over DMI, CPUID, `/proc/xen`, `/sys/hypervisor`, the device tree,
/// `/proc/sysinfo` and the container files (see [`virt`]). Windows: CPUID and the SMBIOS table
/// (`GetSystemFirmwareTable`) through the same DMI rules, and the Hyper-V root partition (a host
/// with Hyper-V or virtualization-based security on) is no VM; never a container. macOS:
/// `kern.hv_vmm_present` and CPUID (`apple` for Apple's Virtualization framework on Apple silicon).
/// FreeBSD: `kern.vm_guest` and CPUID; a jail is reported as container `jail`.
#[must_use]
pub fn virtualization() -> Virtualization {
    imp::virtualization()
}

/// Whether this system runs under a hypervisor ([`virtualization`]`().vm.is_some()`).
#[must_use]
pub fn is_virtual_machine() -> bool {
    imp::virtualization().is_vm()
}

/// Every fact at once; a part that fails is recorded as its error, the others are still read.
///
/// Everything is read once, in this thread (`/proc/cpuinfo` serves both the CPU and the
/// virtualization parts; on Linux one netlink socket lists the interfaces and asks the primary
/// IP's route; the interface list serves [`primary_ip`]'s fallback). A second thread was
/// measured slower here: starting and joining one costs 40 to 60 µs on this VM, more than it
/// could overlap.
#[must_use]
pub fn facts() -> Facts {
    // Linux: the route to the probes is asked on the netlink socket that lists the interfaces.
    #[cfg(target_os = "linux")]
    let (network, primary_ip) = match imp::network_and_route_source() {
        (network, Some(probed)) => {
            let ip = primary_ip_after_probes(probed, network.as_deref().ok());
            (network, ip)
        }
        (network, None) => {
            let ip = primary_ip_with(network.as_deref().ok());
            (network, ip)
        }
    };
    #[cfg(not(target_os = "linux"))]
    let (network, primary_ip) = {
        let network = network_info();
        let ip = primary_ip_with(network.as_deref().ok());
        (network, ip)
    };
    let disks = disk_info();
    let (cpu, virtualization) = imp::cpu_and_virtualization();
    Facts {
        network: network.into(),
        primary_ip,
        disks: disks.into(),
        cpu: cpu.into(),
        memory: memory_info().into(),
        virtualization,
        hostname: hostname().into(),
        boot_time: boot_time().into(),
    }
}
