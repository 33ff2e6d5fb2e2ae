//! FreeBSD backend: `getifaddrs`, `getmntinfo`, `sysctl`, CPUID.

use std::net::IpAddr;

use super::unix;
use crate::{CpuInfo, DiskPartition, MemoryInfo, NetworkInfo, Result, Virtualization};

pub(crate) fn network_info() -> Result<Vec<NetworkInfo>> {
    let mut list = unix::interfaces(false)?;
    list.iter_mut().for_each(NetworkInfo::finish);
    Ok(list)
}

pub(crate) fn default_route_address(_ifaces: &[NetworkInfo]) -> Option<IpAddr> {
    None
}

pub(crate) fn disk_info() -> Result<Vec<DiskPartition>> {
    unix::mounted()
}

/// First frequency of `dev.cpu.0.freq_levels` (`"2400/95000 2100/82000 ..."`), the highest.
fn first_level(levels: &str) -> Option<f64> {
    levels
        .split_whitespace()
        .next()?
        .split('/')
        .next()?
        .parse()
        .ok()
}

pub(crate) fn cpu_info() -> Result<CpuInfo> {
    let mut c = CpuInfo::default();
    c.brand = unix::sysctl_string("hw.model").unwrap_or_default();
    if let Some(id) = crate::cpuid::identity() {
        c.fill_from_cpuid(&id);
    }
    let num = |n: &str| unix::sysctl_u64(n).ok();
    c.logical = num("hw.ncpu")
        .and_then(|v| usize::try_from(v).ok())
        .unwrap_or_else(unix::online_cpus);
    c.physical = num("kern.smp.cores")
        .and_then(|v| usize::try_from(v).ok())
        .filter(|&n| n > 0);
    c.frequency_mhz.current = num("dev.cpu.0.freq").map(|m| m as f64).filter(|&m| m > 0.0);
    c.frequency_mhz.max = unix::sysctl_string("dev.cpu.0.freq_levels")
        .ok()
        .as_deref()
        .and_then(first_level);
    if c.frequency_mhz.current.is_none() {
        c.frequency_mhz.current = num("hw.clockrate").map(|m| m as f64).filter(|&m| m > 0.0);
    }
    c.arch = unix::machine();
    Ok(c)
}

pub(crate) fn memory_info() -> Result<MemoryInfo> {
    let total = unix::sysctl_u64("hw.physmem")?;
    let page = unix::sysctl_u64("hw.pagesize").unwrap_or(4096);
    let pages = |n: &str| unix::sysctl_u64(n).unwrap_or(0);
    // psutil's "available": free + inactive (+ the cache queue on releases that still have one).
    let avail = (pages("vm.stats.vm.v_free_count")
        + pages("vm.stats.vm.v_inactive_count")
        + pages("vm.stats.vm.v_cache_count"))
    .saturating_mul(page);
    Ok(MemoryInfo::new(total, avail.min(total)))
}

pub(crate) fn hostname() -> Result<String> {
    unix::hostname()
}

pub(crate) fn boot_time() -> Result<u64> {
    unix::boot_time()
}

pub(crate) fn virtualization() -> Virtualization {
    let guest = unix::sysctl_string("kern.vm_guest").ok();
    let vm = crate::cpuid::hypervisor()
        .flatten()
        .filter(|n| *n != "vm-other")
        .or_else(|| {
            guest
                .as_deref()
                .and_then(crate::virt::vm_from_freebsd_vm_guest)
        })
        .or_else(|| crate::cpuid::hypervisor().flatten());
    let jailed = unix::sysctl_u64("security.jail.jailed").unwrap_or(0) == 1;
    Virtualization::new(vm.map(str::to_string), jailed.then(|| "jail".to_string()))
}

pub(crate) fn cpu_and_virtualization() -> (Result<CpuInfo>, Virtualization) {
    (cpu_info(), virtualization())
}

#[cfg(test)]
mod tests {
    #[test]
    fn freq_levels() {
        assert_eq!(super::first_level("2400/95000 2100/82000"), Some(2400.0));
        assert_eq!(super::first_level(""), None);
    }
}
