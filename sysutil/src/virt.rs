//! Virtual machine and container detection, following systemd's `src/basic/virt.c` step by step.
//!
//! The decision is made by two pure functions, [`detect_vm`] and [`detect_container`], over the
//! signals the system offers ([`VmSignals`], [`ContainerSignals`]). The readers
//! [`read_vm_signals`] and [`read_container_signals`] collect those signals below a `root`
//! directory laid out like Linux (`sys/class/dmi/id`, `proc`, `run`), so that a fixture, a
//! chroot or a container image can be examined as well as `/`. Names are exactly the ones
//! `systemd-detect-virt` prints.

use std::fs;
use std::path::Path;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

/// Whether this system is a virtual machine, a container, both or neither.
///
/// Serializes as `{"is_vm": bool, "hypervisor": string|null, "container": string|null}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Virtualization {
    /// The hypervisor as `systemd-detect-virt --vm` names it (`kvm`, `qemu`, `vmware`, `microsoft`,
    /// `oracle`, `xen`, `amazon`, `google`, `bochs`, `parallels`, `bhyve`, `qnx`, `acrn`, `powervm`,
    /// `zvm`, `apple`, `sre`, `uml`, `vm-other`), `None` on bare metal.
    pub vm: Option<String>,
    /// The container manager as `systemd-detect-virt --container` names it (`docker`, `podman`,
    /// `lxc`, `lxc-libvirt`, `systemd-nspawn`, `openvz`, `wsl`, `rkt`, `proot`, `pouch`,
    /// `container-other`), `None` outside a container.
    pub container: Option<String>,
}

impl Virtualization {
    /// Builds a value from its two parts (used by backends and tests).
    #[must_use]
    pub fn new(vm: Option<String>, container: Option<String>) -> Self {
        Self { vm, container }
    }

    /// Whether a hypervisor was found.
    #[must_use]
    pub fn is_vm(&self) -> bool {
        self.vm.is_some()
    }
}

impl Serialize for Virtualization {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Virtualization", 3)?;
        st.serialize_field("is_vm", &self.is_vm())?;
        st.serialize_field("hypervisor", &self.vm)?;
        st.serialize_field("container", &self.container)?;
        st.end()
    }
}

/// DMI files read in this order (product name first, to tell KVM from QEMU), relative to
/// `/sys/class/dmi/id`.
pub const DMI_FILES: [&str; 5] = [
    "product_name",
    "sys_vendor",
    "board_vendor",
    "bios_vendor",
    "product_version",
];

/// DMI value prefixes and the hypervisor each means (systemd `dmi_vendor_table`, in order).
pub const DMI_VENDORS: &[(&str, &str)] = &[
    ("KVM", "kvm"),
    ("OpenStack", "kvm"),
    ("KubeVirt", "kvm"),
    ("Amazon EC2", "amazon"),
    ("QEMU", "qemu"),
    ("VMware", "vmware"),
    ("VMW", "vmware"),
    ("innotek GmbH", "oracle"),
    ("VirtualBox", "oracle"),
    ("Oracle Corporation", "oracle"),
    ("Xen", "xen"),
    ("Bochs", "bochs"),
    ("Parallels", "parallels"),
    ("BHYVE", "bhyve"),
    ("Hyper-V", "microsoft"),
    ("Apple Virtualization", "apple"),
    ("Google Compute Engine", "google"),
];

/// Container manager names as `$container` and `/run/systemd/container` spell them.
pub const CONTAINER_NAMES: &[&str] = &[
    "lxc",
    "lxc-libvirt",
    "systemd-nspawn",
    "docker",
    "podman",
    "rkt",
    "wsl",
    "proot",
    "pouch",
];

/// The hypervisor a single DMI value names (prefix match), if any.
#[must_use]
pub fn vm_from_dmi_value(value: &str) -> Option<&'static str> {
    DMI_VENDORS
        .iter()
        .find(|(prefix, _)| value.starts_with(prefix))
        .map(|(_, name)| *name)
}

/// The SMBIOS "system is a virtual machine" bit (BIOS characteristics extension byte 2, bit 4)
/// from a raw type 0 structure (`/sys/firmware/dmi/entries/0-0/raw`). `None` when the structure
/// is too short to carry it.
#[must_use]
pub fn smbios_vm_bit(type0: &[u8]) -> Option<bool> {
    if type0.len() < 20 || type0[1] < 20 {
        return None;
    }
    Some(type0[19] & (1 << 4) != 0)
}

/// Device-tree signals (ARM, POWER, RISC-V), below `/proc/device-tree`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceTree {
    /// Whether `/proc/device-tree` exists at all.
    pub present: bool,
    /// First string of `hypervisor/compatible`.
    pub hypervisor_compatible: Option<String>,
    /// `ibm,partition-name` and `hmc-managed?` exist and `chosen/qemu,graphic-width` does not.
    pub powervm: bool,
    /// An entry whose name contains `fw-cfg` exists.
    pub fw_cfg: bool,
    /// First string of `compatible`.
    pub compatible: Option<String>,
}

/// Every signal systemd's `detect_vm` looks at, already read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VmSignals {
    /// The DMI values, in [`DMI_FILES`] order, first line of each; `None` where absent.
    /// [`read_vm_signals`] stops after the first value that names a hypervisor.
    pub dmi: [Option<String>; 5],
    /// [`smbios_vm_bit`] of the type 0 structure, `None` when unreadable (it needs root on Linux).
    /// [`read_vm_signals`] reads it only when DMI names no hypervisor or names Amazon.
    pub smbios_vm_bit: Option<bool>,
    /// `vendor_id` of `/proc/cpuinfo` (User Mode Linux detection).
    pub cpuinfo_vendor: Option<String>,
    /// Whether the cpuinfo `flags` line has `hypervisor`: used in place of CPUID when that is
    /// unknown ([`read_vm_signals`] looks for it only then).
    pub cpuinfo_hypervisor_flag: bool,
    /// Whether `/proc/xen` exists.
    pub proc_xen: bool,
    /// `/sys/hypervisor/properties/features` (hex, no `0x`).
    pub xen_features: Option<String>,
    /// `/proc/xen/capabilities`.
    pub xen_capabilities: Option<String>,
    /// What CPUID says: `None` unknown (not x86, or a foreign root), `Some(None)` no hypervisor
    /// bit, `Some(Some(name))` the [`crate::cpuid::hypervisor_name`] of leaf `0x40000000`.
    pub cpuid: Option<Option<String>>,
    /// `/sys/hypervisor/type`.
    pub hypervisor_type: Option<String>,
    /// Device-tree signals.
    pub device_tree: DeviceTree,
    /// The `VM00 Control Program` field of `/proc/sysinfo` (s390x).
    pub zvm_control_program: Option<String>,
}

fn dmi_vendor(s: &VmSignals) -> Option<&'static str> {
    s.dmi.iter().flatten().find_map(|v| vm_from_dmi_value(v))
}

fn detect_vm_dmi(s: &VmSignals) -> Option<&'static str> {
    let r = dmi_vendor(s);
    if r == Some("amazon") {
        // DMI cannot tell EC2 VMs from bare-metal instances; the SMBIOS bit can, and without it
        // (root only) the product name does: `*.metal` or `*.metal-*` is bare metal.
        return match s.smbios_vm_bit {
            Some(true) => Some("amazon"),
            Some(false) => None,
            None => match &s.dmi[0] {
                None => Some("amazon"),
                Some(product) => {
                    let p = product.trim_end_matches('\n');
                    match p.find(".metal") {
                        Some(i) => {
                            let rest = &p[i + ".metal".len()..];
                            if rest.is_empty() || rest.starts_with('-') {
                                None
                            } else {
                                Some("amazon")
                            }
                        }
                        None => Some("amazon"),
                    }
                }
            },
        };
    }
    if r.is_none() && s.smbios_vm_bit == Some(true) {
        return Some("vm-other");
    }
    r
}

/// Parses the Xen features word (`%lx`: leading hex digits, no `0x`).
fn parse_hex_prefix(s: &str) -> Option<u64> {
    let s = s.trim_start();
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    let end = s.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(s.len());
    u64::from_str_radix(&s[..end], 16).ok()
}

/// Whether this Xen domain is dom0 (the hardware domain), from the features word or, failing
/// that, the `control_d` capability.
#[must_use]
pub fn xen_is_dom0(features: Option<&str>, capabilities: Option<&str>) -> bool {
    const XENFEAT_DOM0: u64 = 11;
    if let Some(f) = features.and_then(parse_hex_prefix) {
        return f & (1 << XENFEAT_DOM0) != 0;
    }
    match capabilities {
        None => false,
        Some(c) => c.trim().split(',').any(|w| w.trim() == "control_d"),
    }
}

fn detect_vm_device_tree(dt: &DeviceTree) -> Option<&'static str> {
    if !dt.present {
        return None;
    }
    match &dt.hypervisor_compatible {
        Some(hv) => Some(if hv == "linux,kvm" {
            "kvm"
        } else if hv.contains("xen") {
            "xen"
        } else if hv.contains("vmware") {
            "vmware"
        } else {
            "vm-other"
        }),
        None => {
            if dt.powervm {
                Some("powervm")
            } else if dt.fw_cfg || dt.compatible.as_deref() == Some("qemu,pseries") {
                Some("qemu")
            } else {
                None
            }
        }
    }
}

/// The hypervisor, decided in systemd's order:
///
/// 1. DMI naming Oracle (VirtualBox), Xen, Amazon, Parallels or Google wins outright, even when
///    CPUID says KVM or Hyper-V (those run on KVM or cloak as Hyper-V).
/// 2. User Mode Linux (`vendor_id` in cpuinfo).
/// 3. `/proc/xen`: a domU is `xen`; dom0 is not a VM unless CPUID finds one below it.
/// 4. CPUID leaf `0x40000000`; `Microsoft Hv` is only remembered, because QEMU offers Hyper-V
///    enlightenments under that signature; an unknown signature is remembered as `vm-other`.
/// 5. Other DMI values, 6. `/sys/hypervisor/type`, 7. the device tree, 8. z/VM's `/proc/sysinfo`.
/// 9. Nothing named: `microsoft` if CPUID said so, else `vm-other` if anything hinted at a VM.
///
/// Where CPUID is unknown (`cpuid: None`), the cpuinfo `hypervisor` flag stands in as an
/// unnamed hint (`vm-other`).
#[must_use]
pub fn detect_vm(s: &VmSignals) -> Option<&'static str> {
    let dmi = detect_vm_dmi(s);
    if matches!(
        dmi,
        Some("oracle" | "xen" | "amazon" | "parallels" | "google")
    ) {
        return dmi;
    }
    if s.cpuinfo_vendor
        .as_deref()
        .is_some_and(|v| v.starts_with("User Mode Linux"))
    {
        return Some("uml");
    }
    let mut dom0 = false;
    if s.proc_xen {
        dom0 = xen_is_dom0(s.xen_features.as_deref(), s.xen_capabilities.as_deref());
        if !dom0 {
            return Some("xen");
        }
    }
    let mut hyperv = false;
    let mut other = false;
    let finish = |v: Option<&'static str>, hyperv: bool, other: bool| match v {
        Some(v) => Some(v),
        None if hyperv => Some("microsoft"),
        None if other => Some("vm-other"),
        None => None,
    };
    let cpuid: Option<&'static str> = match &s.cpuid {
        Some(Some(name)) => crate::cpuid::HYPERVISOR_SIGNATURES
            .iter()
            .map(|(_, n)| *n)
            .chain(["vm-other"])
            .find(|n| n == name)
            // A name outside the table still says a hypervisor is there.
            .or(Some("vm-other")),
        Some(None) => None,
        None => s.cpuinfo_hypervisor_flag.then_some("vm-other"),
    };
    match cpuid {
        Some("microsoft") => hyperv = true,
        Some("vm-other") => other = true,
        Some(v) => return Some(v),
        None => {}
    }
    if dom0 {
        // Dom0 reports what CPUID found below it, and nothing else.
        return cpuid;
    }
    match dmi {
        Some("vm-other") => other = true,
        Some(v) => return Some(v),
        None => {}
    }
    match s.hypervisor_type.as_deref() {
        Some("xen") => return Some("xen"),
        Some(_) => other = true,
        None => {}
    }
    match detect_vm_device_tree(&s.device_tree) {
        Some("vm-other") => other = true,
        Some(v) => return Some(v),
        None => {}
    }
    let zvm = s
        .zvm_control_program
        .as_deref()
        .map(|t| if t == "z/VM" { "zvm" } else { "kvm" });
    finish(zvm, hyperv, other)
}

/// Every signal systemd's `detect_container` looks at, already read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContainerSignals {
    /// `/proc/vz` exists (inside and outside OpenVZ containers).
    pub proc_vz: bool,
    /// `/proc/bc` exists (only outside OpenVZ containers).
    pub proc_bc: bool,
    /// `/proc/sys/kernel/osrelease`.
    pub osrelease: Option<String>,
    /// `comm` of the process tracing us (`TracerPid` of `/proc/self/status`), if traced.
    pub tracer_comm: Option<String>,
    /// `/run/host/container-manager`.
    pub host_container_manager: Option<String>,
    /// When we are PID 1: our own `$container` (`Some(None)`: unset).
    pub own_env_as_pid1: Option<Option<String>>,
    /// `/run/systemd/container`.
    pub run_systemd_container: Option<String>,
    /// `container=` of `/proc/1/environ` (readable with the same uid or `CAP_SYS_PTRACE`).
    pub pid1_environ: Option<String>,
    /// `/run/.containerenv` exists (podman).
    pub containerenv: bool,
    /// `/.dockerenv` exists.
    pub dockerenv: bool,
    /// We run in a cgroup namespace below the root cgroup.
    pub cgroupns: bool,
    /// `/proc/1/cgroup`, used only when systemd's signals all say "none" (see [`container_from_cgroup`]).
    pub pid1_cgroup: Option<String>,
}

fn container_files(s: &ContainerSignals) -> Option<&'static str> {
    if s.containerenv {
        Some("podman")
    } else if s.dockerenv {
        Some("docker")
    } else {
        None
    }
}

fn translate_container(name: &str, s: &ContainerSignals) -> &'static str {
    if name == "oci" {
        return container_files(s).unwrap_or("container-other");
    }
    CONTAINER_NAMES
        .iter()
        .find(|n| **n == name)
        .copied()
        .unwrap_or("container-other")
}

/// The container manager named by cgroup paths of PID 1 (`/proc/1/cgroup` lines like
/// `0::/docker/<id>`, `…/lxc/<name>`, `…/libpod-<id>.scope`, `…/kubepods/…`), if any.
///
/// systemd does not look at cgroups this way; sysutil uses it only after every systemd signal
/// said "none", for old or unusual container runtimes that leave no file behind.
#[must_use]
pub fn container_from_cgroup(text: &str) -> Option<&'static str> {
    for line in text.lines() {
        let Some(path) = line.splitn(3, ':').nth(2) else {
            continue;
        };
        if path.contains("/libpod-") || path.contains("/machine.slice/libpod") {
            return Some("podman");
        }
        if path.contains("/docker/") || path.contains("/docker-") {
            return Some("docker");
        }
        if path.starts_with("/lxc/") || path.contains("/lxc.payload") {
            return Some("lxc");
        }
        if path.contains("/kubepods") || path.contains("/containerd/") {
            return Some("container-other");
        }
    }
    None
}

/// The container manager, decided in systemd's order: OpenVZ (`/proc/vz` without `/proc/bc`),
/// WSL (`Microsoft` or `WSL` in the kernel release), proot (our tracer), `/run/host/container-manager`,
/// `$container` when PID 1, `/run/systemd/container`, `container=` of PID 1's environment,
/// `/run/.containerenv` (podman), `/.dockerenv` (docker), a cgroup namespace (`container-other`).
/// A `$container` value that names no known manager is `container-other`; `oci` is resolved by
/// the files. Last, and beyond systemd, [`container_from_cgroup`].
#[must_use]
pub fn detect_container(s: &ContainerSignals) -> Option<&'static str> {
    if s.proc_vz && !s.proc_bc {
        return Some("openvz");
    }
    if s.osrelease
        .as_deref()
        .is_some_and(|o| o.contains("Microsoft") || o.contains("WSL"))
    {
        return Some("wsl");
    }
    if s.tracer_comm
        .as_deref()
        .is_some_and(|c| c.starts_with("proot"))
    {
        return Some("proot");
    }
    let nonempty = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    if let Some(m) = nonempty(&s.host_container_manager) {
        return Some(translate_container(&m, s));
    }
    let mut check_files_now = false;
    match &s.own_env_as_pid1 {
        Some(None) => check_files_now = true,
        Some(Some(e)) if e.is_empty() => return None,
        Some(Some(e)) => return Some(translate_container(e, s)),
        None => {}
    }
    if !check_files_now {
        if let Some(m) = nonempty(&s.run_systemd_container) {
            return Some(translate_container(&m, s));
        }
        if let Some(e) = &s.pid1_environ {
            return Some(translate_container(e, s));
        }
    }
    if let Some(v) = container_files(s) {
        return Some(v);
    }
    if s.cgroupns {
        return Some("container-other");
    }
    s.pid1_cgroup.as_deref().and_then(container_from_cgroup)
}

/// The value of `name` in a NUL-separated environment block (`/proc/<pid>/environ`).
#[must_use]
pub fn environ_var(environ: &[u8], name: &str) -> Option<String> {
    environ.split(|&b| b == 0).find_map(|kv| {
        let kv = String::from_utf8_lossy(kv);
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// `TracerPid` of a `/proc/<pid>/status` text; `None` when absent or 0.
#[must_use]
pub fn tracer_pid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("TracerPid:"))
        .and_then(|v| v.trim().parse().ok())
        .filter(|&p| p != 0)
}

/// The `key : value` field of `/proc/sysinfo` (s390x), e.g. `VM00 Control Program`.
#[must_use]
pub fn sysinfo_field(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == key).then(|| v.split_whitespace().next().unwrap_or("").to_string())
    })
}

/// First line of a file, or first NUL-terminated string (device tree), `None` if unreadable.
fn first_line(path: &Path) -> Option<String> {
    crate::read::one_piece(path, 64 * 1024)
        .ok()
        .map(|b| line_of(&b))
}

/// The first line (or NUL-terminated string) of file contents.
fn line_of(bytes: &[u8]) -> String {
    let end = bytes
        .iter()
        .position(|&b| b == 0 || b == b'\n')
        .unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

fn exists(path: &Path) -> bool {
    // `symlink_metadata` like `access(F_OK)` on the path itself; a dangling link still exists.
    fs::symlink_metadata(path).is_ok()
}

/// Reads [`VmSignals`] below `root`. `cpuid` is what the caller learned from the CPUID
/// instruction ([`crate::cpuid::hypervisor`]), `None` when it does not apply to `root`;
/// `cpuinfo` is `/proc/cpuinfo` when the caller already has it.
///
/// Signals are read in [`detect_vm`]'s order and reading stops once the answer cannot change,
/// so the result of [`detect_vm`] is the same as with every signal read. Missing files are
/// absent signals; nothing here needs root.
#[must_use]
pub fn read_vm_signals(
    root: &Path,
    cpuid: Option<Option<String>>,
    cpuinfo: Option<&str>,
) -> VmSignals {
    read_vm_signals_with(root, |_| cpuid, cpuinfo)
}

/// [`read_vm_signals`] with CPUID asked for once `/proc/xen` has been looked at: `cpuid(true)`
/// under Xen. (The Linux backend then reads leaf 1 with the instruction; elsewhere the
/// `hypervisor` flag of `cpuinfo` is that bit, one VM exit less.)
pub(crate) fn read_vm_signals_with(
    root: &Path,
    cpuid: impl FnOnce(bool) -> Option<Option<String>>,
    cpuinfo: Option<&str>,
) -> VmSignals {
    let mut s = VmSignals::default();
    // The first value naming a hypervisor decides (in DMI_FILES order), so the rest is not read;
    // without a DMI directory (containers, ARM boards) none is.
    if let Ok(dmi) = crate::read::Dir::open(&root.join("sys/class/dmi/id")) {
        for (i, f) in DMI_FILES.iter().enumerate() {
            s.dmi[i] = dmi.bytes(f, 4096).ok().map(|b| line_of(&b));
            if s.dmi[i].as_deref().and_then(vm_from_dmi_value).is_some() {
                break;
            }
        }
    }
    // The SMBIOS bit only matters when DMI names no hypervisor, or names Amazon.
    if matches!(dmi_vendor(&s), None | Some("amazon")) {
        s.smbios_vm_bit = crate::read::bytes(&root.join("sys/firmware/dmi/entries/0-0/raw"), 4096)
            .ok()
            .and_then(|b| smbios_vm_bit(&b));
    }
    let hints = match cpuinfo {
        Some(text) => cpuinfo_vm_hints(text),
        // The first record holds vendor_id and flags; reading only it spares the kernel from
        // formatting every CPU. With CPUID known the flag is not needed, only `vendor_id` (the
        // second line): a short read has the kernel format just that first record.
        None => read_cpuinfo_start(&root.join("proc/cpuinfo"))
            .map_or((None, false), |t| cpuinfo_vm_hints(&t)),
    };
    (s.cpuinfo_vendor, s.cpuinfo_hypervisor_flag) = hints;
    s.proc_xen = exists(&root.join("proc/xen"));
    if s.proc_xen {
        s.xen_features = first_line(&root.join("sys/hypervisor/properties/features"));
        s.xen_capabilities = first_line(&root.join("proc/xen/capabilities"));
    }
    s.cpuid = cpuid(s.proc_xen);
    if cpuinfo.is_none() && s.cpuid.is_some() {
        // Read here only as the fallback for a missing CPUID: not a signal then.
        s.cpuinfo_hypervisor_flag = false;
    }
    let settled = |s: &VmSignals| detect_vm(s).is_some_and(|v| v != "microsoft" && v != "vm-other");
    if settled(&s) {
        return s;
    }
    s.hypervisor_type = first_line(&root.join("sys/hypervisor/type"));
    let dt = root.join("proc/device-tree");
    if exists(&dt) {
        let hypervisor_compatible = first_line(&dt.join("hypervisor/compatible"));
        let (powervm, fw_cfg, compatible) = if hypervisor_compatible.is_none() {
            let powervm = exists(&dt.join("ibm,partition-name"))
                && exists(&dt.join("hmc-managed?"))
                && !exists(&dt.join("chosen/qemu,graphic-width"));
            let fw_cfg = fs::read_dir(&dt)
                .map(|d| {
                    d.flatten()
                        .any(|e| e.file_name().to_string_lossy().contains("fw-cfg"))
                })
                .unwrap_or(false);
            (powervm, fw_cfg, first_line(&dt.join("compatible")))
        } else {
            (false, false, None)
        };
        s.device_tree = DeviceTree {
            present: true,
            hypervisor_compatible,
            powervm,
            fw_cfg,
            compatible,
        };
    }
    s.zvm_control_program = crate::read::text(&root.join("proc/sysinfo"))
        .ok()
        .and_then(|t| sysinfo_field(&t, "VM00 Control Program"));
    s
}

/// The running kernel's release (`uname -r`, the same text as `/proc/sys/kernel/osrelease`)
/// without opening a file.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn kernel_release() -> Option<String> {
    // SAFETY: an all-zero utsname is valid; uname fills it with NUL-terminated fields.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: valid out pointer.
    if unsafe { libc::uname(&mut u) } != 0 {
        return None;
    }
    // SAFETY: release is NUL-terminated (uname, and zeroed before).
    let r = unsafe { std::ffi::CStr::from_ptr(u.release.as_ptr()) };
    Some(r.to_string_lossy().into_owned())
}

#[cfg(not(target_os = "linux"))]
fn kernel_release() -> Option<String> {
    None
}

/// The start of `/proc/cpuinfo` up to the end of the first record's `flags` line, read so that
/// the kernel formats only that record (see [`crate::cpu::first_record_complete`]).
pub(crate) fn read_cpuinfo_start(path: &Path) -> Option<String> {
    crate::read::cpuinfo_first_record(path)
        .ok()
        .map(crate::read::into_text)
}

/// `vendor_id` of the first processor and whether any `flags` line lists `hypervisor`.
#[must_use]
pub fn cpuinfo_vm_hints(cpuinfo: &str) -> (Option<String>, bool) {
    let mut vendor = None;
    let mut flag = false;
    for line in cpuinfo.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        match k.trim() {
            "vendor_id" if vendor.is_none() => vendor = Some(v.trim().to_string()),
            "flags" => {
                flag = v.split_whitespace().any(|f| f == "hypervisor");
                break;
            }
            _ => {}
        }
    }
    (vendor, flag)
}

/// The x86 `hypervisor` flag of the first `flags` line (CPUID leaf 1, ECX bit 31, as the kernel
/// read it); `None` when there is no `flags` line (not x86).
#[must_use]
pub fn cpuinfo_hypervisor_flag(cpuinfo: &str) -> Option<bool> {
    cpuinfo
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim() == "flags")
        .map(|(_, v)| v.split_whitespace().any(|f| f == "hypervisor"))
}

/// Reads [`ContainerSignals`] below `root`. `pid1` says whether the caller is PID 1 of `root`
/// (then its own `$container` is authoritative, as in systemd).
///
/// Signals are read in [`detect_container`]'s order and reading stops at the first one that
/// decides, so the result of [`detect_container`] is the same as with every signal read.
#[must_use]
pub fn read_container_signals(root: &Path, pid1: bool) -> ContainerSignals {
    let proc = root.join("proc");
    let mut s = ContainerSignals::default();
    let settled = |s: &ContainerSignals| {
        let oci = [
            &s.host_container_manager,
            &s.run_systemd_container,
            &s.pid1_environ,
        ]
        .iter()
        .any(|v| v.as_deref().map(str::trim) == Some("oci"))
            || matches!(&s.own_env_as_pid1, Some(Some(v)) if v == "oci");
        !oci && detect_container(s).is_some()
    };
    s.proc_vz = exists(&proc.join("vz"));
    s.proc_bc = s.proc_vz && exists(&proc.join("bc"));
    s.osrelease = if root == Path::new("/") {
        kernel_release()
    } else {
        None
    }
    .or_else(|| first_line(&proc.join("sys/kernel/osrelease")));
    if settled(&s) {
        return s;
    }
    s.tracer_comm = crate::read::one_piece(&proc.join("self/status"), usize::MAX)
        .ok()
        .map(crate::read::into_text)
        .and_then(|t| tracer_pid(&t))
        .and_then(|p| first_line(&proc.join(p.to_string()).join("comm")));
    s.host_container_manager = first_line(&root.join("run/host/container-manager"));
    s.own_env_as_pid1 = pid1.then(|| std::env::var("container").ok());
    if settled(&s) {
        return s;
    }
    s.run_systemd_container = first_line(&root.join("run/systemd/container"));
    if settled(&s) {
        return s;
    }
    s.pid1_environ = crate::read::bytes(&proc.join("1/environ"), usize::MAX)
        .ok()
        .and_then(|e| environ_var(&e, "container"));
    if settled(&s) {
        return s;
    }
    s.containerenv = exists(&root.join("run/.containerenv"));
    s.dockerenv = exists(&root.join(".dockerenv"));
    if settled(&s) {
        return s;
    }
    s.cgroupns = running_in_cgroupns(root);
    if settled(&s) {
        return s;
    }
    s.pid1_cgroup = crate::read::text(&proc.join("1/cgroup")).ok();
    s
}

/// systemd's `running_in_cgroupns`: with cgroup v2, `cgroup.events` exists only in a nested
/// cgroup (and `cgroup.type` too, on kernels that have `/sys/kernel/cgroup/features`); with v1, the
/// systemd hierarchy's `release_agent` exists only at the root.
fn running_in_cgroupns(root: &Path) -> bool {
    if !exists(&root.join("proc/self/ns/cgroup")) {
        return false;
    }
    let cg = root.join("sys/fs/cgroup");
    // Only the root of a cgroup2 mount has `cgroup.controllers` next to `cgroup.subtree_control`
    // without being inside a v1 tmpfs; treat the mount as unified when it has `cgroup.controllers`.
    let unified = exists(&cg.join("cgroup.controllers"));
    if unified {
        if !exists(&cg.join("cgroup.events")) {
            return false;
        }
        if exists(&cg.join("cgroup.type")) {
            return true;
        }
        return !exists(&root.join("sys/kernel/cgroup/features"));
    }
    if !exists(&cg.join("systemd")) {
        return false;
    }
    !exists(&cg.join("systemd/release_agent"))
}

/// Detects both parts below `root` (Linux layout). `cpuid` as in [`read_vm_signals`].
#[must_use]
pub fn detect_at(root: &Path, cpuid: Option<Option<String>>) -> Virtualization {
    let vm = detect_vm(&read_vm_signals(root, cpuid, None));
    let pid1 = root == Path::new("/") && std::process::id() == 1;
    let container = detect_container(&read_container_signals(root, pid1));
    Virtualization::new(vm.map(str::to_string), container.map(str::to_string))
}

/// FreeBSD's `kern.vm_guest` values and the `systemd-detect-virt` name of each.
pub const FREEBSD_VM_GUEST: &[(&str, &str)] = &[
    ("generic", "vm-other"),
    ("xen", "xen"),
    ("hv", "microsoft"),
    ("vmware", "vmware"),
    ("kvm", "kvm"),
    ("bhyve", "bhyve"),
    ("vbox", "oracle"),
    ("parallels", "parallels"),
    ("nvmm", "vm-other"),
];

/// The hypervisor for a FreeBSD `kern.vm_guest` value (`none` and unknown values: `None`).
#[must_use]
pub fn vm_from_freebsd_vm_guest(value: &str) -> Option<&'static str> {
    FREEBSD_VM_GUEST
        .iter()
        .find(|(k, _)| *k == value.trim())
        .map(|(_, v)| *v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dmi(product: &str, vendor: &str) -> [Option<String>; 5] {
        let o = |s: &str| (!s.is_empty()).then(|| s.to_string());
        [o(product), o(vendor), None, None, None]
    }

    #[test]
    fn dmi_table_prefixes() {
        let cases = [
            ("KVM", Some("kvm")),
            ("OpenStack Nova", Some("kvm")),
            ("Amazon EC2", Some("amazon")),
            ("QEMU", Some("qemu")),
            ("VMware, Inc.", Some("vmware")),
            ("VMW", Some("vmware")),
            ("innotek GmbH", Some("oracle")),
            ("VirtualBox", Some("oracle")),
            ("Xen", Some("xen")),
            ("Bochs", Some("bochs")),
            ("Parallels Software International Inc.", Some("parallels")),
            ("BHYVE", Some("bhyve")),
            ("Hyper-V UEFI Release v4.1", Some("microsoft")),
            ("Google Compute Engine", Some("google")),
            ("Google", None),
            ("Dell Inc.", None),
            ("Microsoft Corporation", None),
            (" KVM", None),
        ];
        for (v, want) in cases {
            assert_eq!(vm_from_dmi_value(v), want, "{v:?}");
        }
    }

    #[test]
    fn order_rules() {
        let cpuid = |n: &str| Some(Some(n.to_string()));
        // VirtualBox with KVM paravirtualization: DMI wins.
        let s = VmSignals {
            dmi: dmi("VirtualBox", "innotek GmbH"),
            cpuid: cpuid("kvm"),
            ..Default::default()
        };
        assert_eq!(detect_vm(&s), Some("oracle"));
        // QEMU with KVM: CPUID (kvm) beats DMI (qemu).
        let s = VmSignals {
            dmi: dmi("Standard PC (Q35 + ICH9, 2009)", "QEMU"),
            cpuid: cpuid("kvm"),
            ..Default::default()
        };
        assert_eq!(detect_vm(&s), Some("kvm"));
        // QEMU with Hyper-V enlightenments: "Microsoft Hv" is only a hint, DMI says qemu.
        let s = VmSignals {
            dmi: dmi("Standard PC", "QEMU"),
            cpuid: cpuid("microsoft"),
            ..Default::default()
        };
        assert_eq!(detect_vm(&s), Some("qemu"));
        // Real Hyper-V: DMI product_version "Hyper-V ..." or nothing but CPUID.
        let s = VmSignals {
            dmi: dmi("Virtual Machine", "Microsoft Corporation"),
            cpuid: cpuid("microsoft"),
            ..Default::default()
        };
        assert_eq!(detect_vm(&s), Some("microsoft"));
        // Unknown CPUID signature and nothing else: vm-other.
        let s = VmSignals {
            cpuid: cpuid("vm-other"),
            ..Default::default()
        };
        assert_eq!(detect_vm(&s), Some("vm-other"));
        // No CPUID known: the cpuinfo hypervisor flag is a hint.
        let s = VmSignals {
            cpuinfo_hypervisor_flag: true,
            ..Default::default()
        };
        assert_eq!(detect_vm(&s), Some("vm-other"));
        let s = VmSignals {
            cpuinfo_hypervisor_flag: true,
            cpuid: Some(None),
            ..Default::default()
        };
        assert_eq!(detect_vm(&s), None);
        // Bare metal.
        assert_eq!(
            detect_vm(&VmSignals {
                dmi: dmi("PowerEdge R640", "Dell Inc."),
                cpuid: Some(None),
                ..Default::default()
            }),
            None
        );
        // SMBIOS VM bit with an unknown vendor.
        let s = VmSignals {
            dmi: dmi("Foo", "Bar"),
            smbios_vm_bit: Some(true),
            ..Default::default()
        };
        assert_eq!(detect_vm(&s), Some("vm-other"));
        // UML.
        let s = VmSignals {
            cpuinfo_vendor: Some("User Mode Linux".into()),
            cpuid: cpuid("kvm"),
            ..Default::default()
        };
        assert_eq!(detect_vm(&s), Some("uml"));
    }

    #[test]
    fn amazon_rules() {
        let base = VmSignals {
            dmi: dmi("m5.large", "Amazon EC2"),
            cpuid: Some(Some("kvm".into())),
            ..Default::default()
        };
        assert_eq!(detect_vm(&base), Some("amazon"));
        let metal = VmSignals {
            dmi: dmi("m5.metal", "Amazon EC2"),
            ..base.clone()
        };
        assert_eq!(
            detect_vm(&metal),
            Some("kvm"),
            "metal falls through to CPUID"
        );
        let metal = VmSignals {
            dmi: dmi("i3.metal", "Amazon EC2"),
            cpuid: Some(None),
            ..base.clone()
        };
        assert_eq!(detect_vm(&metal), None);
        let metal2 = VmSignals {
            dmi: dmi("c6i.metal-32xl", "Amazon EC2"),
            cpuid: Some(None),
            ..base.clone()
        };
        assert_eq!(detect_vm(&metal2), None);
        let notmetal = VmSignals {
            dmi: dmi("x.metalish", "Amazon EC2"),
            ..base.clone()
        };
        assert_eq!(detect_vm(&notmetal), Some("amazon"));
        let bit = VmSignals {
            dmi: dmi("m5.metal", "Amazon EC2"),
            smbios_vm_bit: Some(true),
            ..base.clone()
        };
        assert_eq!(detect_vm(&bit), Some("amazon"));
        let unset = VmSignals {
            smbios_vm_bit: Some(false),
            cpuid: Some(None),
            ..base
        };
        assert_eq!(detect_vm(&unset), None);
    }

    #[test]
    fn xen_rules() {
        let domu = VmSignals {
            proc_xen: true,
            ..Default::default()
        };
        assert_eq!(detect_vm(&domu), Some("xen"));
        // dom0 on bare metal (features bit 11 set) is no VM.
        let dom0 = VmSignals {
            proc_xen: true,
            xen_features: Some("00000801".into()),
            cpuid: Some(None),
            ..Default::default()
        };
        assert_eq!(detect_vm(&dom0), None);
        // dom0 nested in KVM reports kvm.
        let nested = VmSignals {
            cpuid: Some(Some("kvm".into())),
            ..dom0.clone()
        };
        assert_eq!(detect_vm(&nested), Some("kvm"));
        // dom0 by capabilities.
        assert!(xen_is_dom0(None, Some("control_d")));
        assert!(xen_is_dom0(Some("zz"), Some("foo,control_d")));
        assert!(!xen_is_dom0(Some("0000"), Some("control_d")));
        assert!(!xen_is_dom0(None, None));
        // Xen HVM that cloaks as Hyper-V: DMI Xen wins.
        let hvm = VmSignals {
            dmi: dmi("HVM domU", "Xen"),
            cpuid: Some(Some("microsoft".into())),
            ..Default::default()
        };
        assert_eq!(detect_vm(&hvm), Some("xen"));
        let sys = VmSignals {
            hypervisor_type: Some("xen".into()),
            cpuid: Some(None),
            ..Default::default()
        };
        assert_eq!(detect_vm(&sys), Some("xen"));
        let other = VmSignals {
            hypervisor_type: Some("s390".into()),
            ..Default::default()
        };
        assert_eq!(detect_vm(&other), Some("vm-other"));
    }

    #[test]
    fn device_tree_and_zvm() {
        let dt = |d: DeviceTree| VmSignals {
            device_tree: d,
            ..Default::default()
        };
        let p = DeviceTree {
            present: true,
            ..Default::default()
        };
        assert_eq!(
            detect_vm(&dt(DeviceTree {
                hypervisor_compatible: Some("linux,kvm".into()),
                ..p.clone()
            })),
            Some("kvm")
        );
        assert_eq!(
            detect_vm(&dt(DeviceTree {
                hypervisor_compatible: Some("xen,xen-4.1".into()),
                ..p.clone()
            })),
            Some("xen")
        );
        assert_eq!(
            detect_vm(&dt(DeviceTree {
                hypervisor_compatible: Some("foo".into()),
                ..p.clone()
            })),
            Some("vm-other")
        );
        assert_eq!(
            detect_vm(&dt(DeviceTree {
                powervm: true,
                ..p.clone()
            })),
            Some("powervm")
        );
        assert_eq!(
            detect_vm(&dt(DeviceTree {
                fw_cfg: true,
                ..p.clone()
            })),
            Some("qemu")
        );
        assert_eq!(
            detect_vm(&dt(DeviceTree {
                compatible: Some("qemu,pseries".into()),
                ..p.clone()
            })),
            Some("qemu")
        );
        assert_eq!(detect_vm(&dt(p)), None);
        let z = VmSignals {
            zvm_control_program: Some("z/VM".into()),
            ..Default::default()
        };
        assert_eq!(detect_vm(&z), Some("zvm"));
        let k = VmSignals {
            zvm_control_program: Some("KVM/Linux".into()),
            ..Default::default()
        };
        assert_eq!(detect_vm(&k), Some("kvm"));
        assert_eq!(
            sysinfo_field(
                "VM00 Name:      LINUX01\nVM00 Control Program: z/VM    7.1.0\n",
                "VM00 Control Program"
            )
            .as_deref(),
            Some("z/VM")
        );
    }

    #[test]
    fn container_order() {
        let c = ContainerSignals::default;
        assert_eq!(detect_container(&c()), None);
        assert_eq!(
            detect_container(&ContainerSignals {
                proc_vz: true,
                ..c()
            }),
            Some("openvz")
        );
        assert_eq!(
            detect_container(&ContainerSignals {
                proc_vz: true,
                proc_bc: true,
                ..c()
            }),
            None
        );
        let wsl2 = Some("5.15.153.1-microsoft-standard-WSL2".to_string());
        assert_eq!(
            detect_container(&ContainerSignals {
                osrelease: wsl2,
                dockerenv: true,
                ..c()
            }),
            Some("wsl")
        );
        let wsl1 = Some("4.4.0-19041-Microsoft".to_string());
        assert_eq!(
            detect_container(&ContainerSignals {
                osrelease: wsl1,
                ..c()
            }),
            Some("wsl")
        );
        let azure = Some("6.8.0-1015-azure".to_string());
        assert_eq!(
            detect_container(&ContainerSignals {
                osrelease: azure,
                ..c()
            }),
            None
        );
        assert_eq!(
            detect_container(&ContainerSignals {
                tracer_comm: Some("proot".into()),
                ..c()
            }),
            Some("proot")
        );
        assert_eq!(
            detect_container(&ContainerSignals {
                tracer_comm: Some("gdb".into()),
                ..c()
            }),
            None
        );
        // /run/systemd/container beats the files; unknown names are container-other.
        let s = ContainerSignals {
            run_systemd_container: Some("systemd-nspawn".into()),
            dockerenv: true,
            ..c()
        };
        assert_eq!(detect_container(&s), Some("systemd-nspawn"));
        let s = ContainerSignals {
            pid1_environ: Some("lxc".into()),
            ..c()
        };
        assert_eq!(detect_container(&s), Some("lxc"));
        let s = ContainerSignals {
            pid1_environ: Some("frobnicator".into()),
            ..c()
        };
        assert_eq!(detect_container(&s), Some("container-other"));
        let s = ContainerSignals {
            pid1_environ: Some("oci".into()),
            containerenv: true,
            ..c()
        };
        assert_eq!(detect_container(&s), Some("podman"));
        let s = ContainerSignals {
            pid1_environ: Some("oci".into()),
            ..c()
        };
        assert_eq!(detect_container(&s), Some("container-other"));
        // podman's file comes before docker's.
        assert_eq!(
            detect_container(&ContainerSignals {
                containerenv: true,
                dockerenv: true,
                ..c()
            }),
            Some("podman")
        );
        assert_eq!(
            detect_container(&ContainerSignals {
                dockerenv: true,
                ..c()
            }),
            Some("docker")
        );
        assert_eq!(
            detect_container(&ContainerSignals {
                cgroupns: true,
                ..c()
            }),
            Some("container-other")
        );
        // As PID 1, our own $container decides; empty means none.
        let s = ContainerSignals {
            own_env_as_pid1: Some(Some(String::new())),
            dockerenv: true,
            ..c()
        };
        assert_eq!(detect_container(&s), None);
        let s = ContainerSignals {
            own_env_as_pid1: Some(None),
            run_systemd_container: Some("lxc".into()),
            dockerenv: true,
            ..c()
        };
        assert_eq!(detect_container(&s), Some("docker"));
        let s = ContainerSignals {
            host_container_manager: Some("podman".into()),
            ..c()
        };
        assert_eq!(detect_container(&s), Some("podman"));
    }

    #[test]
    fn cgroup_lines() {
        let cases = [
            ("12:pids:/docker/3f2a\n0::/docker/3f2a\n", Some("docker")),
            ("0::/system.slice/docker-3f2a.scope\n", Some("docker")),
            ("0::/machine.slice/libpod-3f2a.scope\n", Some("podman")),
            ("11:cpu:/lxc/web01\n", Some("lxc")),
            ("0::/lxc.payload.web01\n", Some("lxc")),
            ("0::/kubepods/burstable/pod1/abc\n", Some("container-other")),
            ("0::/init.scope\n", None),
            ("9:name=systemd:/\n0::/\n", None),
            ("garbage", None),
        ];
        for (text, want) in cases {
            assert_eq!(container_from_cgroup(text), want, "{text:?}");
        }
    }

    #[test]
    fn small_parsers() {
        assert_eq!(
            cpuinfo_hypervisor_flag("processor\t: 0\nflags\t\t: fpu hypervisor lm\n"),
            Some(true)
        );
        assert_eq!(
            cpuinfo_hypervisor_flag("flags\t\t: fpu lm\nvmx flags\t: hypervisor\n"),
            Some(false)
        );
        assert_eq!(cpuinfo_hypervisor_flag("Features\t: fp asimd\n"), None);
        assert_eq!(
            environ_var(b"PATH=/bin\0container=podman\0HOME=/\0", "container").as_deref(),
            Some("podman")
        );
        assert_eq!(environ_var(b"PATH=/bin\0", "container"), None);
        assert_eq!(tracer_pid("Name:\tbash\nTracerPid:\t0\n"), None);
        assert_eq!(tracer_pid("Name:\tbash\nTracerPid:\t4242\n"), Some(4242));
        assert_eq!(smbios_vm_bit(&[0u8; 10]), None);
        let mut t0 = [0u8; 24];
        t0[1] = 24;
        assert_eq!(smbios_vm_bit(&t0), Some(false));
        t0[19] = 0x10;
        assert_eq!(smbios_vm_bit(&t0), Some(true));
        t0[1] = 18;
        assert_eq!(smbios_vm_bit(&t0), None);
        assert_eq!(vm_from_freebsd_vm_guest("hv\n"), Some("microsoft"));
        assert_eq!(vm_from_freebsd_vm_guest("none"), None);
    }

    #[test]
    fn serializes_like_the_issue() {
        let v = Virtualization::new(Some("kvm".into()), Some("docker".into()));
        let json = serde_json::to_string(&v).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"is_vm":true,"hypervisor":"kvm","container":"docker"}"#
        );
        let none = serde_json::to_string(&Virtualization::default()).unwrap_or_default();
        assert_eq!(
            none,
            r#"{"is_vm":false,"hypervisor":null,"container":null}"#
        );
    }

    #[test]
    fn signals_read_only_while_they_matter() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let put = |rel: &str, text: &str| {
            let p = root.join(rel);
            fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            fs::write(p, text).expect("write");
        };
        put(
            "proc/cpuinfo",
            "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t: fpu hypervisor\n\n",
        );
        put("sys/firmware/dmi/entries/0-0/raw", "");
        // No DMI directory: nothing named, the SMBIOS entry is still looked at.
        let s = read_vm_signals(root, None, None);
        assert_eq!(s.dmi, [None, None, None, None, None]);
        assert_eq!(s.cpuinfo_vendor.as_deref(), Some("GenuineIntel"));
        assert!(s.cpuinfo_hypervisor_flag);
        assert_eq!(detect_vm(&s), Some("vm-other"));
        // With CPUID known, the cpuinfo flag is not needed.
        let s = read_vm_signals(root, Some(None), None);
        assert!(!s.cpuinfo_hypervisor_flag);
        assert_eq!(detect_vm(&s), None);
        // The first DMI value naming a hypervisor decides; later ones are not read.
        put(
            "sys/class/dmi/id/product_name",
            "Standard PC (Q35 + ICH9, 2009)\n",
        );
        put("sys/class/dmi/id/sys_vendor", "QEMU\n");
        put("sys/class/dmi/id/bios_vendor", "SeaBIOS\n");
        let s = read_vm_signals(root, Some(Some("kvm".into())), None);
        assert_eq!(s.dmi[0].as_deref(), Some("Standard PC (Q35 + ICH9, 2009)"));
        assert_eq!(s.dmi[1].as_deref(), Some("QEMU"));
        assert_eq!(s.dmi[3], None);
        assert_eq!(s.smbios_vm_bit, None);
        assert_eq!(detect_vm(&s), Some("kvm"));
        assert_eq!(
            detect_vm(&read_vm_signals(root, Some(None), None)),
            Some("qemu")
        );
    }
}
