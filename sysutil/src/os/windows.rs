//! Windows backend: `GetAdaptersAddresses`, drive letters, CPUID, `GetLogicalProcessorInformationEx`,
//! `CallNtPowerInformation`, `GlobalMemoryStatusEx`, SMBIOS through `GetSystemFirmwareTable`.
#![allow(unsafe_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{SystemTime, UNIX_EPOCH};

use windows_sys::Win32::Foundation::{ERROR_BUFFER_OVERFLOW, ERROR_SUCCESS};
use windows_sys::Win32::NetworkManagement::IpHelper::{
    GAA_FLAG_SKIP_ANYCAST, GAA_FLAG_SKIP_DNS_SERVER, GAA_FLAG_SKIP_MULTICAST, GetAdaptersAddresses,
    IF_TYPE_SOFTWARE_LOOPBACK, IP_ADAPTER_ADDRESSES_LH,
};
use windows_sys::Win32::NetworkManagement::Ndis::IfOperStatusUp;
use windows_sys::Win32::Networking::WinSock::{
    AF_INET, AF_INET6, AF_UNSPEC, SOCKADDR_IN, SOCKADDR_IN6,
};
use windows_sys::Win32::Storage::FileSystem::{
    GetDiskFreeSpaceExW, GetDriveTypeW, GetLogicalDriveStringsW, GetVolumeInformationW,
};
use windows_sys::Win32::System::Diagnostics::Debug::{SEM_FAILCRITICALERRORS, SetErrorMode};
use windows_sys::Win32::System::Power::{
    CallNtPowerInformation, PROCESSOR_POWER_INFORMATION, ProcessorInformation,
};
use windows_sys::Win32::System::Registry::{HKEY_LOCAL_MACHINE, RRF_RT_REG_SZ, RegGetValueW};
use windows_sys::Win32::System::SystemInformation::{
    ComputerNameDnsHostname, GetComputerNameExW, GetLogicalProcessorInformationEx,
    GetNativeSystemInfo, GetSystemFirmwareTable, GetTickCount64, GlobalMemoryStatusEx,
    MEMORYSTATUSEX, RSMB, RelationAll, SYSTEM_INFO, SYSTEM_LOGICAL_PROCESSOR_INFORMATION_EX,
};
use windows_sys::Win32::System::Threading::{ALL_PROCESSOR_GROUPS, GetActiveProcessorCount};
use windows_sys::Win32::System::WindowsProgramming::{DRIVE_CDROM, DRIVE_FIXED, DRIVE_REMOVABLE};

use crate::net::{Address, format_mac};
use crate::{CpuInfo, DiskPartition, Error, MemoryInfo, NetworkInfo, Result, Virtualization};

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(Some(0)).collect()
}

fn from_wide(buf: &[u16]) -> String {
    let end = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
    String::from_utf16_lossy(&buf[..end])
}

/// A NUL-terminated UTF-16 string owned by the OS.
///
/// # Safety
/// `p` is null or points to a NUL-terminated UTF-16 string.
unsafe fn pwstr(p: *const u16) -> String {
    if p.is_null() {
        return String::new();
    }
    let mut n = 0;
    // SAFETY: the caller guarantees a terminating NUL.
    while unsafe { *p.add(n) } != 0 {
        n += 1;
    }
    // SAFETY: n elements were just read.
    String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(p, n) })
}

pub(crate) fn network_info() -> Result<Vec<NetworkInfo>> {
    let flags = GAA_FLAG_SKIP_ANYCAST | GAA_FLAG_SKIP_MULTICAST | GAA_FLAG_SKIP_DNS_SERVER;
    let mut size: u32 = 16 * 1024;
    let mut buf: Vec<u64>;
    let mut tries = 0;
    loop {
        buf = vec![0u64; (size as usize).div_ceil(8)];
        // SAFETY: buf is `size` bytes, 8-aligned as the structure needs.
        let r = unsafe {
            GetAdaptersAddresses(
                u32::from(AF_UNSPEC),
                flags,
                std::ptr::null(),
                buf.as_mut_ptr().cast::<IP_ADAPTER_ADDRESSES_LH>(),
                &mut size,
            )
        };
        if r == ERROR_SUCCESS {
            break;
        }
        tries += 1;
        if r != ERROR_BUFFER_OVERFLOW || tries > 3 {
            return Err(Error::os(
                "GetAdaptersAddresses",
                std::io::Error::from_raw_os_error(r as i32),
            ));
        }
    }
    let mut out = Vec::new();
    let mut cur = buf.as_ptr().cast::<IP_ADAPTER_ADDRESSES_LH>();
    while !cur.is_null() {
        // SAFETY: a node of the list GetAdaptersAddresses wrote into buf, alive while buf is.
        let a = unsafe { &*cur };
        cur = a.Next;
        // SAFETY: FriendlyName is a NUL-terminated wide string in buf.
        let mut info = NetworkInfo::new(unsafe { pwstr(a.FriendlyName) });
        let len = (a.PhysicalAddressLength as usize).min(a.PhysicalAddress.len());
        info.mac = format_mac(&a.PhysicalAddress[..len]);
        info.mtu = (a.Mtu != u32::MAX).then_some(a.Mtu);
        info.is_up = a.OperStatus == IfOperStatusUp;
        info.is_loopback = a.IfType == IF_TYPE_SOFTWARE_LOOPBACK;
        let mut u = a.FirstUnicastAddress;
        while !u.is_null() {
            // SAFETY: a unicast node in buf.
            let ua = unsafe { &*u };
            u = ua.Next;
            let sa = ua.Address.lpSockaddr;
            if sa.is_null() {
                continue;
            }
            // SAFETY: lpSockaddr points to a SOCKADDR of the family it declares.
            let family = unsafe { (*sa).sa_family };
            let addr = if family == AF_INET {
                // SAFETY: AF_INET means SOCKADDR_IN.
                let sin = unsafe { &*sa.cast::<SOCKADDR_IN>() };
                // SAFETY: every view of the address union is plain bytes.
                IpAddr::V4(Ipv4Addr::from(
                    unsafe { sin.sin_addr.S_un.S_addr }.to_ne_bytes(),
                ))
            } else if family == AF_INET6 {
                // SAFETY: AF_INET6 means SOCKADDR_IN6.
                let sin6 = unsafe { &*sa.cast::<SOCKADDR_IN6>() };
                // SAFETY: as above.
                IpAddr::V6(Ipv6Addr::from(unsafe { sin6.sin6_addr.u.Byte }))
            } else {
                continue;
            };
            info.addresses
                .push(Address::new(addr, ua.OnLinkPrefixLength));
        }
        info.finish();
        out.push(info);
    }
    Ok(out)
}

pub(crate) fn default_route_address(_ifaces: &[NetworkInfo]) -> Option<IpAddr> {
    None
}

pub(crate) fn disk_info() -> Result<Vec<DiskPartition>> {
    let mut buf = [0u16; 512];
    // SAFETY: buf is writable for its length.
    let n = unsafe { GetLogicalDriveStringsW(buf.len() as u32, buf.as_mut_ptr()) } as usize;
    if n == 0 || n > buf.len() {
        return Err(Error::last_os("GetLogicalDriveStringsW"));
    }
    // No "insert a disk" dialogs while probing empty drives.
    // SAFETY: SetErrorMode only changes this process's error mode; restored below.
    let old = unsafe { SetErrorMode(SEM_FAILCRITICALERRORS) };
    let mut out = Vec::new();
    for drive in buf[..n].split(|&c| c == 0).filter(|d| !d.is_empty()) {
        let root: Vec<u16> = drive.iter().copied().chain(Some(0)).collect();
        let name = String::from_utf16_lossy(drive);
        // SAFETY: root is NUL-terminated.
        let kind = unsafe { GetDriveTypeW(root.as_ptr()) };
        // psutil's all=False: fixed and removable drives (not the A: floppy) and CD drives.
        let wanted = kind == DRIVE_FIXED
            || kind == DRIVE_CDROM
            || (kind == DRIVE_REMOVABLE && !name.starts_with("A:"));
        if !wanted {
            continue;
        }
        let mut fs = [0u16; 64];
        // SAFETY: the out buffers are writable for the lengths given; the rest may be null.
        let ok = unsafe {
            GetVolumeInformationW(
                root.as_ptr(),
                std::ptr::null_mut(),
                0,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                fs.as_mut_ptr(),
                fs.len() as u32,
            )
        };
        if ok == 0 {
            // An empty card reader or CD drive.
            continue;
        }
        let (mut avail, mut total, mut free) = (0u64, 0u64, 0u64);
        // SAFETY: valid out pointers.
        unsafe { GetDiskFreeSpaceExW(root.as_ptr(), &mut avail, &mut total, &mut free) };
        out.push(DiskPartition::new(name.clone(), name, from_wide(&fs)).with_sizes(total, avail));
    }
    // SAFETY: restores the previous mode.
    unsafe { SetErrorMode(old) };
    Ok(out)
}

fn registry_cpu_name() -> Option<String> {
    let key = wide(r"HARDWARE\DESCRIPTION\System\CentralProcessor\0");
    let value = wide("ProcessorNameString");
    let mut buf = [0u16; 256];
    let mut size = (buf.len() * 2) as u32;
    // SAFETY: NUL-terminated key and value names; buf is `size` bytes.
    let r = unsafe {
        RegGetValueW(
            HKEY_LOCAL_MACHINE,
            key.as_ptr(),
            value.as_ptr(),
            RRF_RT_REG_SZ,
            std::ptr::null_mut(),
            buf.as_mut_ptr().cast(),
            &mut size,
        )
    };
    (r == ERROR_SUCCESS)
        .then(|| from_wide(&buf).trim().to_string())
        .filter(|s| !s.is_empty())
}

fn arch() -> String {
    // SAFETY: an all-zero SYSTEM_INFO is valid; the call fills it.
    let mut si: SYSTEM_INFO = unsafe { std::mem::zeroed() };
    // SAFETY: valid out pointer.
    unsafe { GetNativeSystemInfo(&mut si) };
    // SAFETY: the architecture view of the union is always written.
    match unsafe { si.Anonymous.Anonymous.wProcessorArchitecture } {
        9 => "x86_64",
        12 => "aarch64",
        0 => "x86",
        5 => "arm",
        6 => "ia64",
        _ => std::env::consts::ARCH,
    }
    .to_string()
}

/// Physical cores and the largest cache (KiB) from `GetLogicalProcessorInformationEx`.
fn topology() -> (Option<usize>, Option<u64>) {
    let mut len: u32 = 0;
    // SAFETY: a null buffer asks for the size.
    unsafe { GetLogicalProcessorInformationEx(RelationAll, std::ptr::null_mut(), &mut len) };
    if len == 0 {
        return (None, None);
    }
    let mut buf = vec![0u64; (len as usize).div_ceil(8)];
    // SAFETY: buf holds `len` bytes, 8-aligned.
    let ok = unsafe {
        GetLogicalProcessorInformationEx(
            RelationAll,
            buf.as_mut_ptr()
                .cast::<SYSTEM_LOGICAL_PROCESSOR_INFORMATION_EX>(),
            &mut len,
        )
    };
    if ok == 0 {
        return (None, None);
    }
    // SAFETY: buf holds `len` initialized bytes (it was zeroed, then written by the call).
    let bytes = unsafe {
        std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), (len as usize).min(buf.len() * 8))
    };
    crate::cpu::parse_logical_processor_info(bytes)
}

fn power_info(logical: usize) -> (Option<f64>, Option<f64>) {
    let mut v = vec![PROCESSOR_POWER_INFORMATION::default(); logical.max(1)];
    let bytes = (v.len() * std::mem::size_of::<PROCESSOR_POWER_INFORMATION>()) as u32;
    // SAFETY: the output buffer holds one record per logical processor.
    let st = unsafe {
        CallNtPowerInformation(
            ProcessorInformation,
            std::ptr::null(),
            0,
            v.as_mut_ptr().cast(),
            bytes,
        )
    };
    if st != 0 {
        return (None, None);
    }
    let f = |m: u32| (m > 0).then(|| f64::from(m));
    (f(v[0].CurrentMhz), f(v[0].MaxMhz))
}

pub(crate) fn cpu_info() -> Result<CpuInfo> {
    let mut c = CpuInfo::default();
    if let Some(id) = crate::cpuid::identity() {
        c.fill_from_cpuid(&id);
    }
    if c.brand.is_empty() {
        c.brand = registry_cpu_name().unwrap_or_default();
    }
    // SAFETY: no memory effects.
    c.logical = unsafe { GetActiveProcessorCount(ALL_PROCESSOR_GROUPS) } as usize;
    if c.logical == 0 {
        c.logical = std::thread::available_parallelism().map_or(1, usize::from);
    }
    let (physical, cache) = topology();
    c.physical = physical;
    c.cache_size_kb = cache;
    let (current, max) = power_info(c.logical);
    c.frequency_mhz.current = current;
    c.frequency_mhz.max = max;
    c.arch = arch();
    Ok(c)
}

pub(crate) fn memory_info() -> Result<MemoryInfo> {
    // SAFETY: an all-zero MEMORYSTATUSEX is valid once dwLength is set.
    let mut m: MEMORYSTATUSEX = unsafe { std::mem::zeroed() };
    m.dwLength = std::mem::size_of::<MEMORYSTATUSEX>() as u32;
    // SAFETY: valid in/out pointer with dwLength set.
    if unsafe { GlobalMemoryStatusEx(&mut m) } == 0 {
        return Err(Error::last_os("GlobalMemoryStatusEx"));
    }
    Ok(MemoryInfo::new(m.ullTotalPhys, m.ullAvailPhys))
}

pub(crate) fn hostname() -> Result<String> {
    let mut buf = [0u16; 256];
    let mut size = buf.len() as u32;
    // SAFETY: buf holds `size` wide chars.
    if unsafe { GetComputerNameExW(ComputerNameDnsHostname, buf.as_mut_ptr(), &mut size) } == 0 {
        return Err(Error::last_os("GetComputerNameExW"));
    }
    Ok(from_wide(&buf[..(size as usize).min(buf.len())]))
}

pub(crate) fn boot_time() -> Result<u64> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| Error::os("SystemTime::now", std::io::Error::other(e)))?;
    // SAFETY: no memory effects.
    let up_ms = unsafe { GetTickCount64() };
    // Rounded to the nearest second so that two calls agree.
    let now_ms = u64::try_from(now.as_millis()).unwrap_or(u64::MAX);
    Ok((now_ms.saturating_sub(up_ms) + 500) / 1000)
}

fn smbios() -> Option<crate::smbios::SmbiosIdentity> {
    // SAFETY: a null buffer asks for the size.
    let n = unsafe { GetSystemFirmwareTable(RSMB, 0, std::ptr::null_mut(), 0) };
    if n == 0 {
        return None;
    }
    let mut buf = vec![0u8; n as usize];
    // SAFETY: buf holds n bytes.
    let got = unsafe { GetSystemFirmwareTable(RSMB, 0, buf.as_mut_ptr(), n) };
    if got == 0 || got > n {
        return None;
    }
    let table = crate::smbios::table_from_rsmb(&buf[..got as usize])?;
    Some(crate::smbios::parse_table(table))
}

pub(crate) fn virtualization() -> Virtualization {
    let id = smbios().unwrap_or_default();
    let mut s = crate::virt::VmSignals::default();
    s.dmi = id.dmi_values();
    s.smbios_vm_bit = id.vm_bit;
    s.cpuid = crate::cpuid::hypervisor_excluding_hyperv_root().map(|h| h.map(str::to_string));
    let vm = crate::virt::detect_vm(&s);
    Virtualization::new(vm.map(str::to_string), None)
}

pub(crate) fn cpu_and_virtualization() -> (Result<CpuInfo>, Virtualization) {
    (cpu_info(), virtualization())
}
