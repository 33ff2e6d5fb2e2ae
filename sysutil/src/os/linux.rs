//! Linux backend: `/proc`, `/sys`, `getifaddrs`, `statvfs`, CPUID.

use std::collections::HashSet;
use std::fs;
use std::net::IpAddr;
use std::path::Path;

use super::unix;
use crate::cpu::{self, CpuInfo};
use crate::disk::{self, DiskPartition};
use crate::mem::{self, MemoryInfo};
use crate::net::{self, NetworkInfo};
use crate::virt::{self, Virtualization};
use crate::{Error, Result};

const ROOT: &str = "/";

/// Reads a whole (usually procfs) file in one buffer, without the size probe of `fs::read`.
fn read(root: &Path, rel: &str) -> Result<String> {
    let p = root.join(rel);
    crate::read::text(&p).map_err(|e| Error::read(p, e))
}

/// [`read`] for a procfs file formatted whole (`single_open`: `meminfo`, `stat`, `filesystems`).
fn read_one_piece(root: &Path, rel: &str) -> Result<String> {
    let p = root.join(rel);
    crate::read::one_piece(&p, usize::MAX)
        .map(crate::read::into_text)
        .map_err(|e| Error::read(p, e))
}

/// A small sysfs file as text, `None` when unreadable.
fn read_small(path: &Path) -> Option<String> {
    crate::read::one_piece(path, 4096)
        .ok()
        .map(crate::read::into_text)
}

pub(crate) fn network_info() -> Result<Vec<NetworkInfo>> {
    network_info_at(Path::new(ROOT))
}

/// The interfaces and, from the same netlink socket, the source address of the route to the
/// probe destinations ([`net::PROBE_V4`], then [`net::PROBE_V6`]): `None` when netlink is
/// refused or the route query fails, `Some(None)` when neither has a route.
pub(crate) fn network_and_route_source() -> (Result<Vec<NetworkInfo>>, Option<Option<IpAddr>>) {
    let probes = [net::PROBE_V4.into(), net::PROBE_V6.into()];
    match unix::rtnetlink_dumps_and_source(&probes) {
        Ok((msgs, source)) => (network_from(Path::new(ROOT), Ok(msgs)), source),
        Err(e) => (network_from(Path::new(ROOT), Err(e)), None),
    }
}

fn network_info_at(root: &Path) -> Result<Vec<NetworkInfo>> {
    network_from(root, unix::rtnetlink_dumps())
}

fn network_from(root: &Path, dumps: std::io::Result<Vec<u8>>) -> Result<Vec<NetworkInfo>> {
    // The two netlink dumps `getifaddrs` makes, read directly: they also carry the MTUs. Where
    // netlink is refused, `getifaddrs` and `SIOCGIFMTU` (the same facts, more calls).
    let (mut list, mtus) = match dumps {
        Ok(msgs) => {
            let list = net::parse_netlink_interfaces(&msgs);
            let mtus = list.iter().map(|i| i.mtu).collect();
            (list, mtus)
        }
        Err(_) => {
            let list = unix::interfaces(true)?;
            let mtus = unix::mtus(list.iter().map(|i| i.name.as_str()));
            (list, mtus)
        }
    };
    let sys = root.join("sys/class/net");
    for (i, mtu) in list.iter_mut().zip::<Vec<Option<u32>>>(mtus) {
        i.mtu = mtu.or_else(|| {
            read_small(&sys.join(&i.name).join("mtu")).and_then(|m| m.trim().parse().ok())
        });
        i.finish();
    }
    Ok(list)
}

pub(crate) fn default_route_address(ifaces: &[NetworkInfo]) -> Option<IpAddr> {
    let root = Path::new(ROOT);
    if let Some(r) = read(root, "proc/net/route")
        .ok()
        .as_deref()
        .and_then(net::default_route_v4)
    {
        if let Some(a) = net::address_of(ifaces, &r.iface, false) {
            return Some(a);
        }
    }
    let r = read(root, "proc/net/ipv6_route")
        .ok()
        .as_deref()
        .and_then(net::default_route_v6)?;
    net::address_of(ifaces, &r.iface, true)
}

pub(crate) fn disk_info() -> Result<Vec<DiskPartition>> {
    disk_info_at(Path::new(ROOT))
}

fn disk_info_at(root: &Path) -> Result<Vec<DiskPartition>> {
    let mounts = read(root, "proc/self/mounts")?;
    // `/proc/filesystems` only says whether a type needs a device, which does not change between
    // kernels: it is read only for a mounted type the table does not know.
    let unknown =
        disk::mount_fields(&mounts).any(|[_, _, t, _]| disk::known_physical_fstype(t).is_none());
    let fstypes = if unknown {
        disk::parse_filesystems(&read_one_piece(root, "proc/filesystems")?)
    } else {
        HashSet::new()
    };
    let mut parts = disk::physical_partitions_in(&mounts, |t| {
        disk::known_physical_fstype(t).unwrap_or_else(|| fstypes.contains(t))
    });
    for p in &mut parts {
        let target = root.join(p.mountpoint.trim_start_matches('/'));
        if let Ok((total, free)) = unix::statvfs(&target.to_string_lossy()) {
            p.total = total;
            p.free = free;
        }
        if p.device == "/dev/root" || p.device == "rootfs" {
            if let Some(dev) = root_device(root, &target) {
                p.device = dev;
            }
        }
    }
    Ok(parts)
}

/// The real device behind `/dev/root` (what the kernel calls the `root=` device), as psutil
/// resolves it: the mount's `st_dev` looked up in `/sys/dev/block/<major>:<minor>/uevent`.
fn root_device(root: &Path, mountpoint: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let dev = fs::metadata(mountpoint).ok()?.dev();
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    let uevent = read_small(&root.join(format!("sys/dev/block/{major}:{minor}/uevent")))?;
    uevent_devname(&uevent).map(|n| format!("/dev/{n}"))
}

/// `DEVNAME=` of a sysfs `uevent` file.
fn uevent_devname(uevent: &str) -> Option<&str> {
    uevent
        .lines()
        .find_map(|l| l.strip_prefix("DEVNAME="))
        .map(str::trim)
        .filter(|n| !n.is_empty())
}

pub(crate) fn cpu_info() -> Result<CpuInfo> {
    let root = Path::new(ROOT);
    Ok(cpu_from(root, &read_cpuinfo(root)?))
}

/// `/proc/cpuinfo` as [`cpu_info`] needs it. On x86 every record repeats the identity, and the
/// kernel formats each one (its flags, its current frequency) when it is read: only the first
/// record is read, and the counts come from elsewhere (see [`cpu_from`]). Elsewhere (ARM puts
/// the board name at the end) the whole file.
struct Cpuinfo {
    text: String,
    first_record_only: bool,
}

fn read_cpuinfo(root: &Path) -> Result<Cpuinfo> {
    let path = root.join("proc/cpuinfo");
    if cfg!(any(target_arch = "x86_64", target_arch = "x86")) {
        let text = crate::read::cpuinfo_first_record(&path).map_err(|e| Error::read(path, e))?;
        // Only the whole lines of the first record.
        let mut text = crate::read::into_text(text);
        let end = text
            .find("\n\n")
            .map_or_else(|| text.rfind('\n').map_or(0, |i| i + 1), |i| i + 1);
        text.truncate(end);
        return Ok(Cpuinfo {
            text,
            first_record_only: true,
        });
    }
    Ok(Cpuinfo {
        text: read(root, "proc/cpuinfo")?,
        first_record_only: false,
    })
}

fn cpu_from(root: &Path, cpuinfo: &Cpuinfo) -> CpuInfo {
    let mut c = cpu::parse_cpuinfo(&cpuinfo.text);
    if cpuinfo.first_record_only {
        // Online CPUs as glibc's sysconf counts them; cores from the record's package figures,
        // or (some CPUs offline, fields missing) from every record.
        c.logical = read_small(&root.join("sys/devices/system/cpu/online"))
            .as_deref()
            .and_then(cpu::count_cpu_list)
            .unwrap_or(0);
        if c.logical == 0 {
            c.logical = unix::online_cpus();
        }
        c.physical = cpu::physical_from_first_record(&cpuinfo.text, c.logical).or_else(|| {
            read(root, "proc/cpuinfo")
                .ok()
                .and_then(|t| cpu::parse_cpuinfo(&t).physical)
        });
    }
    if c.vendor_id.is_empty() || c.family.is_none() || c.brand.is_empty() {
        if let Some(id) = crate::cpuid::identity() {
            c.fill_from_cpuid(&id);
        }
    }
    if c.logical == 0 {
        c.logical = unix::online_cpus();
    }
    if c.physical.is_none() {
        c.physical = physical_from_sysfs(root, c.logical);
    }
    let freq = root.join("sys/devices/system/cpu/cpu0/cpufreq");
    if let Some(max) = read_small(&freq.join("cpuinfo_max_freq"))
        .as_deref()
        .and_then(cpu::khz_to_mhz)
    {
        c.frequency_mhz.max = Some(max);
    }
    if c.frequency_mhz.current.is_none() {
        c.frequency_mhz.current = read_small(&freq.join("scaling_cur_freq"))
            .as_deref()
            .and_then(cpu::khz_to_mhz);
    }
    c.arch = unix::machine();
    c
}

/// Unique `core_cpus_list` (or older `thread_siblings_list`) lines over the CPUs, as psutil counts.
fn physical_from_sysfs(root: &Path, logical: usize) -> Option<usize> {
    let base = root.join("sys/devices/system/cpu");
    let mut lines = Vec::new();
    for n in 0..logical.max(1) {
        let topo = base.join(format!("cpu{n}/topology"));
        let l = read_small(&topo.join("core_cpus_list"))
            .or_else(|| read_small(&topo.join("thread_siblings_list")))?;
        lines.push(l);
    }
    let n = cpu::count_unique(lines.iter().map(String::as_str));
    (n > 0).then_some(n)
}

pub(crate) fn memory_info() -> Result<MemoryInfo> {
    let root = Path::new(ROOT);
    mem::parse_meminfo(&read_one_piece(root, "proc/meminfo")?).ok_or_else(|| Error::Missing {
        path: root.join("proc/meminfo"),
        field: "MemTotal",
    })
}

pub(crate) fn hostname() -> Result<String> {
    unix::hostname()
}

pub(crate) fn boot_time() -> Result<u64> {
    if let Some(t) = unix::boot_time_from_clocks() {
        return Ok(t);
    }
    let root = Path::new(ROOT);
    mem::parse_btime(&read_one_piece(root, "proc/stat")?).ok_or_else(|| Error::Missing {
        path: root.join("proc/stat"),
        field: "btime",
    })
}

/// What CPUID says of a hypervisor. Outside Xen the leaf-1 bit is the cpuinfo `hypervisor` flag
/// when the text has a `flags` line: the kernel sets that flag from this very bit, and each
/// CPUID costs a VM exit (microseconds in a nested guest). Under Xen (`xen`: `/proc/xen`
/// exists) a PV kernel may show the flag while the instruction, which systemd runs, lacks the
/// bit: the instruction is run.
fn cpuid_hint(cpuinfo: Option<&str>, xen: bool) -> Option<Option<String>> {
    cpuinfo
        .filter(|_| !xen)
        .and_then(virt::cpuinfo_hypervisor_flag)
        .map_or_else(crate::cpuid::hypervisor, crate::cpuid::hypervisor_given_bit)
        .map(|h| h.map(str::to_string))
}

pub(crate) fn virtualization() -> Virtualization {
    let root = Path::new(ROOT);
    let text = virt::read_cpuinfo_start(&root.join("proc/cpuinfo"));
    virtualization_with(root, text.as_deref())
}

fn virtualization_with(root: &Path, cpuinfo: Option<&str>) -> Virtualization {
    let vm = virt::detect_vm(&virt::read_vm_signals_with(
        root,
        |xen| cpuid_hint(cpuinfo, xen),
        Some(cpuinfo.unwrap_or("")),
    ));
    let pid1 = std::process::id() == 1;
    let container = virt::detect_container(&virt::read_container_signals(root, pid1));
    Virtualization::new(vm.map(str::to_string), container.map(str::to_string))
}

pub(crate) fn cpu_and_virtualization() -> (Result<CpuInfo>, Virtualization) {
    let root = Path::new(ROOT);
    let text = read_cpuinfo(root);
    let v = virtualization_with(root, text.as_ref().ok().map(|t| t.text.as_str()));
    (text.map(|t| cpu_from(root, &t)), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        if let Some(d) = p.parent() {
            fs::create_dir_all(d).expect("mkdir");
        }
        fs::write(p, text).expect("write");
    }

    #[test]
    fn disks_below_a_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(
            root,
            "proc/self/mounts",
            "/dev/sda1 / ext4 rw 0 0\ntmpfs /tmp tmpfs rw 0 0\n/dev/sdb1 /data xfs rw 0 0\n",
        );
        write(root, "proc/filesystems", "nodev\ttmpfs\n\text4\n\txfs\n");
        fs::create_dir_all(root.join("data")).expect("mkdir");
        let parts = disk_info_at(root).expect("disks");
        let mps: Vec<&str> = parts.iter().map(|p| p.mountpoint.as_str()).collect();
        assert_eq!(mps, ["/", "/data"]);
        // Sizes come from statvfs of the directories below the root: the temp file system.
        assert!(parts.iter().all(|p| p.total > 0 && p.free <= p.total));
        assert!(matches!(
            disk_info_at(&root.join("nowhere")),
            Err(Error::Read { .. })
        ));
    }

    #[test]
    fn cpu_below_a_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(
            root,
            "sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq",
            "3500000\n",
        );
        for (n, siblings) in [(0, "0-1"), (1, "0-1"), (2, "2-3"), (3, "2-3")] {
            write(
                root,
                &format!("sys/devices/system/cpu/cpu{n}/topology/core_cpus_list"),
                siblings,
            );
        }
        // ARM cpuinfo has no physical id / core id: cores come from the topology.
        let arm = "processor\t: 0\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU part\t: 0xd0c\nCPU revision\t: 1\n\n\
processor\t: 1\n\nprocessor\t: 2\n\nprocessor\t: 3\n\n";
        let c = cpu_from(
            root,
            &Cpuinfo {
                text: arm.to_string(),
                first_record_only: false,
            },
        );
        assert_eq!((c.logical, c.physical), (4, Some(2)));
        assert_eq!(c.frequency_mhz.max, Some(3500.0));
        assert_eq!(c.brand, "ARM Neoverse-N1");
        assert!(!c.arch.is_empty());
    }

    #[test]
    #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
    fn x86_reads_only_the_first_record() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let full = include_str!("../../tests/fixtures/cpuinfo/intel-xeon-2s.txt");
        write(root, "proc/cpuinfo", full);
        write(root, "sys/devices/system/cpu/online", "0-15\n");
        let info = read_cpuinfo(root).expect("cpuinfo");
        assert!(info.first_record_only);
        assert!(info.text.starts_with("processor\t: 0\n"));
        assert!(!info.text.contains("processor\t: 1\n"), "{}", info.text);
        let c = cpu_from(root, &info);
        // 2 packages of 4 cores, 8 siblings each: as counting (physical id, core id) over all.
        let whole = cpu::parse_cpuinfo(full);
        assert_eq!((c.logical, c.physical), (16, Some(8)));
        assert_eq!((whole.logical, whole.physical), (16, Some(8)));
        assert_eq!(
            (&c.brand, &c.vendor_id, c.family, c.model, c.stepping),
            (
                &whole.brand,
                &whole.vendor_id,
                whole.family,
                whole.model,
                whole.stepping
            )
        );
        assert_eq!(c.cache_size_kb, whole.cache_size_kb);
        assert_eq!(c.frequency_mhz.current, whole.frequency_mhz.current);
        // One CPU offline: packages are no longer whole, so every record is counted.
        write(root, "sys/devices/system/cpu/online", "0-14\n");
        let c = cpu_from(root, &read_cpuinfo(root).expect("cpuinfo"));
        assert_eq!((c.logical, c.physical), (15, Some(8)));
    }

    #[test]
    fn disks_skip_proc_filesystems_only_for_known_types() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        // Every type known: /proc/filesystems is not needed (and here it does not exist).
        write(
            root,
            "proc/self/mounts",
            "/dev/sda1 / ext4 rw 0 0\nproc /proc proc rw 0 0\ntank/home /data zfs rw 0 0\n",
        );
        fs::create_dir_all(root.join("data")).expect("mkdir");
        let parts = disk_info_at(root).expect("disks");
        let mps: Vec<&str> = parts.iter().map(|p| p.mountpoint.as_str()).collect();
        assert_eq!(mps, ["/", "/data"]);
        // An unknown type: /proc/filesystems decides, and is required.
        write(
            root,
            "proc/self/mounts",
            "/dev/sda1 / ext4 rw 0 0\n/dev/sdb1 /data newfs rw 0 0\n",
        );
        assert!(matches!(disk_info_at(root), Err(Error::Read { .. })));
        write(root, "proc/filesystems", "nodev\tproc\n\text4\n\tnewfs\n");
        let parts = disk_info_at(root).expect("disks");
        assert_eq!(parts.len(), 2);
        write(
            root,
            "proc/filesystems",
            "nodev\tproc\n\text4\nnodev\tnewfs\n",
        );
        let parts = disk_info_at(root).expect("disks");
        assert_eq!(parts.len(), 1);
    }

    #[test]
    #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
    fn hypervisor_flag_stands_for_leaf_1_outside_xen() {
        let raw = |h: Option<Option<&str>>| h.map(|h| h.map(str::to_string));
        // Flag clear, no Xen: no CPUID needed, no hypervisor.
        assert_eq!(cpuid_hint(Some("flags\t\t: fpu lm\n"), false), Some(None));
        // Under Xen the instruction decides, whatever the flag says.
        let instruction = raw(crate::cpuid::hypervisor());
        assert_eq!(cpuid_hint(Some("flags\t\t: fpu lm\n"), true), instruction);
        assert_eq!(
            cpuid_hint(Some("flags\t\t: hypervisor\n"), true),
            instruction
        );
        // No flags line (not read, or not x86 text): the instruction.
        assert_eq!(cpuid_hint(None, false), instruction);
        assert_eq!(cpuid_hint(Some("Features\t: fp\n"), false), instruction);
        // On this host the flag and the instruction agree.
        let text = virt::read_cpuinfo_start(Path::new("/proc/cpuinfo"));
        assert_eq!(cpuid_hint(text.as_deref(), false), instruction);
        // read_vm_signals_with tells the CPUID step whether /proc/xen is there.
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(dir.path().join("proc/xen")).expect("mkdir");
        let mut seen = None;
        let _ = virt::read_vm_signals_with(
            dir.path(),
            |xen| {
                seen = Some(xen);
                None
            },
            Some(""),
        );
        assert_eq!(seen, Some(true));
        let _ = virt::read_vm_signals_with(
            &dir.path().join("proc/xen"),
            |xen| {
                seen = Some(xen);
                None
            },
            Some(""),
        );
        assert_eq!(seen, Some(false));
    }

    #[test]
    fn route_query_agrees_with_udp_connect() {
        let probes = [net::PROBE_V4.into(), net::PROBE_V6.into()];
        let (msgs, source) = unix::rtnetlink_dumps_and_source(&probes).expect("netlink");
        let source = source.expect("the kernel answers route queries here");
        let names = |m: &[u8]| {
            net::parse_netlink_interfaces(m)
                .into_iter()
                .map(|i| (i.name, i.addresses))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(&msgs),
            names(&unix::rtnetlink_dumps().expect("netlink"))
        );
        let udp = net::source_address_for(probes[0]).or_else(|| net::source_address_for(probes[1]));
        assert_eq!(source, udp);
        // Loopback always has a route, with itself as the source.
        let (_, lo) = unix::rtnetlink_dumps_and_source(&[std::net::Ipv4Addr::LOCALHOST.into()])
            .expect("netlink");
        assert_eq!(lo, Some(Some(std::net::Ipv4Addr::LOCALHOST.into())));
        // An answer either way (a source through the default route, or "no route"), never a
        // failure to ask.
        let (_, none) =
            unix::rtnetlink_dumps_and_source(&[std::net::Ipv4Addr::new(240, 0, 0, 1).into()])
                .expect("netlink");
        assert!(none.is_some(), "{none:?}");
        // Which errors are answers ("no route") and which mean the question could not be asked.
        for e in [
            libc::ENETUNREACH,
            libc::EHOSTUNREACH,
            libc::EACCES,
            libc::EINVAL,
        ] {
            assert!(unix::means_no_route(e), "{e}");
        }
        for e in [libc::EPERM, libc::ENOBUFS, libc::EIO, 0] {
            assert!(!unix::means_no_route(e), "{e}");
        }
    }

    #[test]
    fn netlink_agrees_with_getifaddrs() {
        let mut direct = net::parse_netlink_interfaces(&unix::rtnetlink_dumps().expect("netlink"));
        let mut libc = unix::interfaces(true).expect("getifaddrs");
        let mtus = unix::mtus(libc.iter().map(|i| i.name.as_str()));
        for (i, m) in libc.iter_mut().zip(mtus) {
            i.mtu = m;
        }
        for i in direct.iter_mut().chain(libc.iter_mut()) {
            i.finish();
        }
        assert!(!direct.is_empty());
        assert_eq!(direct, libc);
    }

    #[test]
    fn devname() {
        assert_eq!(
            uevent_devname("MAJOR=8\nMINOR=1\nDEVNAME=sda1\nDEVTYPE=partition\n"),
            Some("sda1")
        );
        assert_eq!(uevent_devname("MAJOR=8\n"), None);
    }
}
