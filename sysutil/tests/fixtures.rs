//! Pure parsers and detection over the fixtures in `tests/fixtures`.

use std::path::{Path, PathBuf};

use sysutil::{cpu, disk, virt};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// (case, what CPUID says there, expected vm, expected container)
type VirtCase = (
    &'static str,
    Option<Option<&'static str>>,
    Option<&'static str>,
    Option<&'static str>,
);

const VIRT_CASES: &[VirtCase] = &[
    ("kvm", Some(Some("kvm")), Some("kvm"), None),
    // Same machine read from outside (no CPUID): the DMI says QEMU.
    ("kvm", None, Some("qemu"), None),
    ("qemu", Some(Some("qemu")), Some("qemu"), None),
    ("openstack", None, Some("kvm"), None),
    ("vmware", Some(Some("vmware")), Some("vmware"), None),
    ("hyperv", Some(Some("microsoft")), Some("microsoft"), None),
    ("xen", Some(Some("xen")), Some("xen"), None),
    ("xen", Some(Some("microsoft")), Some("xen"), None),
    ("xen-pv", Some(None), Some("xen"), None),
    ("xen-dom0", Some(None), None, None),
    ("virtualbox", Some(Some("kvm")), Some("oracle"), None),
    ("virtualbox", Some(None), Some("oracle"), None),
    ("aws-nitro", Some(Some("kvm")), Some("amazon"), None),
    ("aws-metal", Some(None), None, None),
    ("aws-xen", Some(Some("xen")), Some("xen"), None),
    ("gce", Some(Some("kvm")), Some("google"), None),
    ("parallels", Some(Some("kvm")), Some("parallels"), None),
    ("bare-metal", Some(None), None, None),
    ("bare-metal", None, None, None),
    ("arm-kvm", None, Some("kvm"), None),
    ("docker", Some(None), None, Some("docker")),
    ("podman", Some(Some("kvm")), Some("kvm"), Some("podman")),
    ("lxc", Some(None), None, Some("lxc")),
    ("nspawn", Some(None), None, Some("systemd-nspawn")),
    ("openvz", Some(None), None, Some("openvz")),
    (
        "wsl2",
        Some(Some("microsoft")),
        Some("microsoft"),
        Some("wsl"),
    ),
    ("cgroup-only", Some(None), None, Some("docker")),
];

#[test]
fn virtualization_fixtures() {
    for &(case, cpuid, vm, container) in VIRT_CASES {
        let root = fixture(&format!("virt/{case}"));
        assert!(root.is_dir(), "{case}: missing fixture");
        let v = virt::detect_at(&root, cpuid.map(|c| c.map(str::to_string)));
        assert_eq!(v.vm.as_deref(), vm, "{case} (cpuid {cpuid:?}): vm");
        assert_eq!(v.container.as_deref(), container, "{case}: container");
        assert_eq!(v.is_vm(), vm.is_some());
    }
}

/// A PowerVM LPAR's device tree. Built at run time: `hmc-managed?` cannot be packaged by cargo.
#[test]
fn powervm_lpar() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dt = dir.path().join("proc/device-tree");
    std::fs::create_dir_all(&dt).expect("mkdir");
    std::fs::write(dt.join("ibm,partition-name"), "lpar1\0").expect("write");
    std::fs::write(dt.join("hmc-managed?"), "").expect("write");
    std::fs::write(
        dir.path().join("proc/cpuinfo"),
        "processor\t: 0\ncpu\t\t: POWER9 (architected)\n\n",
    )
    .expect("write");
    let v = virt::detect_at(dir.path(), None);
    assert_eq!(v.vm.as_deref(), Some("powervm"));
    // The same tree under QEMU's pseries machine (it sets qemu,graphic-width) is not PowerVM.
    std::fs::create_dir_all(dt.join("chosen")).expect("mkdir");
    std::fs::write(dt.join("chosen/qemu,graphic-width"), "").expect("write");
    std::fs::write(dt.join("compatible"), "qemu,pseries\0").expect("write");
    assert_eq!(
        virt::detect_at(dir.path(), None).vm.as_deref(),
        Some("qemu")
    );
}

#[test]
fn missing_root_is_bare_metal() {
    let v = virt::detect_at(&fixture("virt/does-not-exist"), Some(None));
    assert_eq!((v.vm, v.container), (None, None));
}

#[test]
fn cpuinfo_fixtures() {
    // (file, brand, vendor, family, model, stepping, logical, physical, current MHz, max MHz, cache)
    type Row = (
        &'static str,
        &'static str,
        &'static str,
        Option<u32>,
        Option<u32>,
        Option<u32>,
        usize,
        Option<usize>,
        Option<f64>,
        Option<f64>,
        Option<u64>,
    );
    let rows: &[Row] = &[
        (
            "intel-xeon-2s",
            "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz",
            "GenuineIntel",
            Some(6),
            Some(85),
            Some(7),
            16,
            Some(8),
            Some(2500.0),
            None,
            Some(28160),
        ),
        (
            "amd-epyc",
            "AMD EPYC 7763 64-Core Processor",
            "AuthenticAMD",
            Some(25),
            Some(1),
            Some(1),
            8,
            Some(4),
            Some(2445.404),
            None,
            Some(512),
        ),
        (
            "arm-neoverse-n1",
            "ARM Neoverse-N1",
            "ARM",
            Some(8),
            Some(0xd0c),
            Some(1),
            4,
            None,
            None,
            None,
            None,
        ),
        (
            "arm-rpi-v7",
            "ARM Cortex-A53",
            "ARM",
            Some(7),
            Some(0xd03),
            Some(4),
            4,
            None,
            None,
            None,
            None,
        ),
        (
            "power9",
            "POWER9 (architected), altivec supported",
            "IBM",
            None,
            None,
            None,
            8,
            None,
            Some(2750.0),
            None,
            None,
        ),
        (
            "s390x",
            "IBM/S390 8561",
            "IBM/S390",
            None,
            Some(8561),
            None,
            4,
            Some(4),
            Some(5200.0),
            Some(5200.0),
            None,
        ),
    ];
    for &(file, brand, vendor, family, model, stepping, logical, physical, cur, max, cache) in rows
    {
        let c = cpu::parse_cpuinfo(&read(&format!("cpuinfo/{file}.txt")));
        assert_eq!(c.brand, brand, "{file}");
        assert_eq!(c.vendor_id, vendor, "{file}");
        assert_eq!(
            (c.family, c.model, c.stepping),
            (family, model, stepping),
            "{file}"
        );
        assert_eq!((c.logical, c.physical), (logical, physical), "{file}");
        assert_eq!(
            (c.frequency_mhz.current, c.frequency_mhz.max),
            (cur, max),
            "{file}"
        );
        assert_eq!(c.cache_size_kb, cache, "{file}");
    }
}

#[test]
fn mounts_fixture() {
    let mounts = disk::parse_mounts(&read("mounts/mounts.txt"));
    assert_eq!(mounts.len(), 15);
    assert_eq!(mounts[8].mountpoint, "/media/user/My Passport Drive");
    assert_eq!(mounts[9].mountpoint, "/mnt/tab\tand\\backslash");
    let fstypes = disk::parse_filesystems(&read("mounts/filesystems.txt"));
    let parts = disk::physical_partitions(&mounts, &fstypes);
    let got: Vec<(&str, &str, &str)> = parts
        .iter()
        .map(|p| (p.device.as_str(), p.mountpoint.as_str(), p.fstype.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("/dev/nvme0n1p2", "/", "ext4"),
            ("/dev/nvme0n1p1", "/boot/efi", "vfat"),
            ("/dev/sda1", "/media/user/My Passport Drive", "fuseblk"),
            ("/dev/sdb1", "/mnt/tab\tand\\backslash", "xfs"),
            ("tank/data", "/tank/data", "zfs"),
            ("/dev/loop3", "/snap/core20/2105", "squashfs"),
        ]
    );
}

mod props {
    use proptest::prelude::*;
    use sysutil::{cpu, disk, mem, net, smbios, virt};

    proptest! {
        #[test]
        fn text_parsers_never_panic(s in "\\PC{0,400}") {
            let _ = cpu::parse_cpuinfo(&s);
            let _ = disk::parse_mounts(&s);
            let _ = disk::parse_filesystems(&s);
            let _ = disk::unescape_octal(&s);
            let _ = mem::parse_meminfo(&s);
            let _ = mem::parse_btime(&s);
            let _ = net::default_route_v4(&s);
            let _ = net::default_route_v6(&s);
            let _ = virt::container_from_cgroup(&s);
            let _ = virt::tracer_pid(&s);
            let _ = virt::cpuinfo_vm_hints(&s);
            let _ = virt::vm_from_dmi_value(&s);
        }

        #[test]
        fn line_shaped_text_never_panics(lines in proptest::collection::vec("[a-zA-Z #/_:0-9\\\\\\t]{0,40}", 0..20)) {
            let s = lines.join("\n");
            let c = cpu::parse_cpuinfo(&s);
            prop_assert!(c.physical.is_none_or(|p| p > 0));
            for m in disk::parse_mounts(&s) {
                prop_assert!(!m.device.is_empty());
            }
        }

        #[test]
        fn byte_parsers_never_panic(b in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = smbios::parse_table(&b);
            let _ = smbios::table_from_rsmb(&b);
            let _ = virt::smbios_vm_bit(&b);
            let _ = virt::environ_var(&b, "container");
            let _ = net::netmask_to_prefix(&b);
        }

        #[test]
        fn unescape_roundtrip(s in "[ -~\\t\\n]{0,60}") {
            // Escaping like the kernel then unescaping gives the original back.
            let mut esc = String::new();
            for ch in s.chars() {
                match ch {
                    ' ' | '\t' | '\n' | '\\' => esc.push_str(&format!("\\{:03o}", ch as u32)),
                    c => esc.push(c),
                }
            }
            prop_assert_eq!(disk::unescape_octal(&esc), s);
        }

        #[test]
        fn decisions_only_use_systemd_names(
            dmi in proptest::collection::vec(proptest::option::of("(KVM|QEMU|Amazon EC2|Xen|VMware|Google|m5\\.metal|[A-Za-z .-]{0,12})"), 5),
            bit in proptest::option::of(any::<bool>()),
            cpuid in proptest::option::of(proptest::option::of("(kvm|microsoft|vm-other|xen|qemu|bogus)")),
            xen in any::<bool>(),
            hv in proptest::option::of("(xen|s390|)"),
            env in proptest::option::of("(lxc|docker|oci|frob|)"),
            files in (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
        ) {
            const VMS: &[&str] = &["kvm", "qemu", "vmware", "microsoft", "oracle", "xen", "amazon", "google",
                "bochs", "parallels", "bhyve", "qnx", "acrn", "powervm", "zvm", "apple", "sre", "uml", "vm-other"];
            const CONTAINERS: &[&str] = &["docker", "podman", "lxc", "lxc-libvirt", "systemd-nspawn", "openvz",
                "wsl", "rkt", "proot", "pouch", "container-other"];
            let mut s = virt::VmSignals::default();
            for (slot, v) in s.dmi.iter_mut().zip(dmi) {
                *slot = v;
            }
            s.smbios_vm_bit = bit;
            s.cpuid = cpuid;
            s.proc_xen = xen;
            s.hypervisor_type = hv;
            if let Some(vm) = virt::detect_vm(&s) {
                prop_assert!(VMS.contains(&vm), "{vm}");
            }
            let mut c = virt::ContainerSignals::default();
            c.pid1_environ = env;
            (c.dockerenv, c.containerenv, c.cgroupns, c.proc_vz) = files;
            if let Some(ct) = virt::detect_container(&c) {
                prop_assert!(CONTAINERS.contains(&ct), "{ct}");
            }
        }

        #[test]
        fn netmask_prefix_roundtrip(p in 0u8..=32) {
            prop_assert_eq!(net::netmask_to_prefix(&net::prefix_to_netmask_v4(p).octets()), p);
        }
    }
}
