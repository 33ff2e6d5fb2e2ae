//! Fallback for platforms without a backend: every fact is "not available", virtualization is
//! what CPUID alone says.

use std::net::IpAddr;

use crate::{CpuInfo, DiskPartition, Error, MemoryInfo, NetworkInfo, Result, Virtualization};

pub(crate) fn network_info() -> Result<Vec<NetworkInfo>> {
    Err(Error::Unsupported {
        what: "network_info",
    })
}

pub(crate) fn default_route_address(_ifaces: &[NetworkInfo]) -> Option<IpAddr> {
    None
}

pub(crate) fn disk_info() -> Result<Vec<DiskPartition>> {
    Err(Error::Unsupported { what: "disk_info" })
}

pub(crate) fn cpu_info() -> Result<CpuInfo> {
    let id = crate::cpuid::identity().ok_or(Error::Unsupported { what: "cpu_info" })?;
    let mut c = CpuInfo::default();
    c.fill_from_cpuid(&id);
    c.logical = std::thread::available_parallelism().map_or(1, usize::from);
    c.arch = std::env::consts::ARCH.to_string();
    Ok(c)
}

pub(crate) fn memory_info() -> Result<MemoryInfo> {
    Err(Error::Unsupported {
        what: "memory_info",
    })
}

pub(crate) fn hostname() -> Result<String> {
    Err(Error::Unsupported { what: "hostname" })
}

pub(crate) fn boot_time() -> Result<u64> {
    Err(Error::Unsupported { what: "boot_time" })
}

pub(crate) fn virtualization() -> Virtualization {
    let vm = crate::cpuid::hypervisor().flatten().map(str::to_string);
    Virtualization::new(vm, None)
}

pub(crate) fn cpu_and_virtualization() -> (Result<CpuInfo>, Virtualization) {
    (cpu_info(), virtualization())
}
