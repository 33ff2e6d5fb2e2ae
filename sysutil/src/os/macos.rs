//! macOS backend: `getifaddrs`, `getmntinfo`, `sysctl`, `host_statistics64`, CPUID on Intel.
#![allow(unsafe_code)]

use std::net::IpAddr;

use super::unix;
use crate::{CpuInfo, DiskPartition, Error, MemoryInfo, NetworkInfo, Result, Virtualization};

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

pub(crate) fn cpu_info() -> Result<CpuInfo> {
    let mut c = CpuInfo::default();
    c.brand = unix::sysctl_string("machdep.cpu.brand_string").unwrap_or_default();
    c.vendor_id = unix::sysctl_string("machdep.cpu.vendor").unwrap_or_default();
    let num = |n: &str| unix::sysctl_u64(n).ok();
    c.family = num("machdep.cpu.family").and_then(|v| u32::try_from(v).ok());
    c.model = num("machdep.cpu.model").and_then(|v| u32::try_from(v).ok());
    c.stepping = num("machdep.cpu.stepping").and_then(|v| u32::try_from(v).ok());
    if c.family.is_none() {
        // machdep.cpu.family/model/stepping exist on Intel only; CPUID covers Rosetta too.
        if let Some(id) = crate::cpuid::identity() {
            c.fill_from_cpuid(&id);
        }
    }
    if c.vendor_id.is_empty() && c.brand.starts_with("Apple") {
        c.vendor_id = "Apple".to_string();
    }
    c.cache_size_kb = num("machdep.cpu.cache.size")
        .or_else(|| num("hw.l3cachesize").map(|b| b / 1024))
        .or_else(|| num("hw.perflevel0.l2cachesize").map(|b| b / 1024))
        .or_else(|| num("hw.l2cachesize").map(|b| b / 1024))
        .filter(|&k| k > 0);
    let mhz = |hz: u64| hz as f64 / 1e6;
    c.frequency_mhz.current = num("hw.cpufrequency").filter(|&h| h > 0).map(mhz);
    c.frequency_mhz.max = num("hw.cpufrequency_max").filter(|&h| h > 0).map(mhz);
    c.logical = num("hw.logicalcpu")
        .and_then(|v| usize::try_from(v).ok())
        .unwrap_or_else(unix::online_cpus);
    c.physical = num("hw.physicalcpu").and_then(|v| usize::try_from(v).ok());
    c.arch = unix::machine();
    Ok(c)
}

#[allow(deprecated)]
pub(crate) fn memory_info() -> Result<MemoryInfo> {
    let total = unix::sysctl_u64("hw.memsize")?;
    // SAFETY: an all-zero vm_statistics64 is valid; host_statistics64 fills at most `count` ints.
    let mut stats: libc::vm_statistics64 = unsafe { std::mem::zeroed() };
    let mut count = libc::HOST_VM_INFO64_COUNT;
    // SAFETY: valid out pointers of the declared size.
    let kr = unsafe {
        libc::host_statistics64(
            libc::mach_host_self(),
            libc::HOST_VM_INFO64,
            (&mut stats as *mut libc::vm_statistics64).cast(),
            &mut count,
        )
    };
    if kr != libc::KERN_SUCCESS {
        return Err(Error::os(
            "host_statistics64",
            std::io::Error::other(format!("kern_return_t {kr}")),
        ));
    }
    // SAFETY: sysconf has no memory effects.
    let page = u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    // psutil's "available": free + inactive pages.
    let avail =
        (u64::from(stats.free_count) + u64::from(stats.inactive_count)).saturating_mul(page);
    Ok(MemoryInfo::new(total, avail.min(total)))
}

pub(crate) fn hostname() -> Result<String> {
    unix::hostname()
}

pub(crate) fn boot_time() -> Result<u64> {
    unix::boot_time()
}

pub(crate) fn virtualization() -> Virtualization {
    let present = unix::sysctl_u64("kern.hv_vmm_present").unwrap_or(0) == 1;
    let cpuid = crate::cpuid::hypervisor().flatten();
    let vm = match (present, cpuid) {
        (_, Some(name)) => Some(name),
        // Apple silicon guests have no CPUID; Apple's Virtualization framework is the hypervisor.
        (true, None) if cfg!(target_arch = "aarch64") => Some("apple"),
        (true, None) => Some("vm-other"),
        (false, None) => None,
    };
    Virtualization::new(vm.map(str::to_string), None)
}

pub(crate) fn cpu_and_virtualization() -> (Result<CpuInfo>, Virtualization) {
    (cpu_info(), virtualization())
}
