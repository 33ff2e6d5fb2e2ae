//! CPUID: pure decoding of register values, and the raw instruction on x86.
//!
//! Decoding is kept apart from the instruction so that every rule (vendor string, brand string,
//! family/model/stepping with their extended fields, hypervisor signatures) is tested on any
//! architecture with register values taken from real machines.

/// The four registers returned by one CPUID leaf.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Regs {
    /// EAX.
    pub eax: u32,
    /// EBX.
    pub ebx: u32,
    /// ECX.
    pub ecx: u32,
    /// EDX.
    pub edx: u32,
}

/// Vendor string from leaf 0 (EBX, EDX, ECX order), e.g. `GenuineIntel`, `AuthenticAMD`.
#[must_use]
pub fn vendor(leaf0: Regs) -> String {
    let mut bytes = Vec::with_capacity(12);
    for r in [leaf0.ebx, leaf0.edx, leaf0.ecx] {
        bytes.extend_from_slice(&r.to_le_bytes());
    }
    text(&bytes)
}

/// Brand string from leaves `0x80000002..=0x80000004`, trimmed (e.g. `AMD EPYC 7B13 64-Core Processor`).
#[must_use]
pub fn brand(leaves: [Regs; 3]) -> String {
    let mut bytes = Vec::with_capacity(48);
    for l in leaves {
        for r in [l.eax, l.ebx, l.ecx, l.edx] {
            bytes.extend_from_slice(&r.to_le_bytes());
        }
    }
    text(&bytes)
}

fn text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).trim().to_string()
}

/// Family, model and stepping from leaf 1 EAX, computed exactly as Linux does
/// (`x86_family`, `x86_model`, `x86_stepping` in `arch/x86/lib/cpu.c`): the extended family is added
/// when the base family is 0xf, and the extended model is prepended when the family is 6 or more.
#[must_use]
pub fn family_model_stepping(eax: u32) -> (u32, u32, u32) {
    let mut family = (eax >> 8) & 0xf;
    if family == 0xf {
        family += (eax >> 20) & 0xff;
    }
    let mut model = (eax >> 4) & 0xf;
    if family >= 0x6 {
        model += ((eax >> 16) & 0xf) << 4;
    }
    (family, model, eax & 0xf)
}

/// Whether leaf 1 ECX has the "hypervisor present" bit (31), which every hypervisor sets.
#[must_use]
pub fn hypervisor_present(leaf1_ecx: u32) -> bool {
    leaf1_ecx & 0x8000_0000 != 0
}

/// The 12-byte hypervisor signature of leaf `0x40000000` (EBX, ECX, EDX order).
#[must_use]
pub fn hypervisor_signature(leaf: Regs) -> [u8; 12] {
    let mut sig = [0u8; 12];
    sig[0..4].copy_from_slice(&leaf.ebx.to_le_bytes());
    sig[4..8].copy_from_slice(&leaf.ecx.to_le_bytes());
    sig[8..12].copy_from_slice(&leaf.edx.to_le_bytes());
    sig
}

/// Hypervisor signatures of CPUID leaf `0x40000000` and the name `systemd-detect-virt` prints for
/// each (systemd `src/basic/virt.c`, `detect_vm_cpuid`). A signature shorter than 12 bytes is
/// NUL-padded, and must match exactly.
pub const HYPERVISOR_SIGNATURES: &[(&str, &str)] = &[
    ("XenVMMXenVMM", "xen"),
    ("KVMKVMKVM", "kvm"),
    ("Linux KVM Hv", "kvm"),
    ("TCGTCGTCGTCG", "qemu"),
    ("VMwareVMware", "vmware"),
    ("Microsoft Hv", "microsoft"),
    ("bhyve bhyve ", "bhyve"),
    ("QNXQVMBSQG", "qnx"),
    ("ACRNACRNACRN", "acrn"),
    ("SRESRESRESRE", "sre"),
    ("Apple VZ", "apple"),
];

/// The `systemd-detect-virt` name for a leaf `0x40000000` signature, or `vm-other` for an unknown one.
#[must_use]
pub fn hypervisor_name(sig: &[u8; 12]) -> &'static str {
    for (known, name) in HYPERVISOR_SIGNATURES {
        let mut padded = [0u8; 12];
        let k = known.as_bytes();
        padded[..k.len()].copy_from_slice(k);
        if &padded == sig {
            return name;
        }
    }
    "vm-other"
}

/// What CPUID says about a hypervisor: `None` when the hypervisor bit is clear, otherwise the
/// `systemd-detect-virt` name of its signature.
#[must_use]
pub fn hypervisor_from_regs(leaf1_ecx: u32, leaf_40000000: Regs) -> Option<&'static str> {
    if !hypervisor_present(leaf1_ecx) {
        return None;
    }
    Some(hypervisor_name(&hypervisor_signature(leaf_40000000)))
}

/// Whether a `Microsoft Hv` hypervisor reports this partition as the root (the host OS of
/// Hyper-V, e.g. Windows with Hyper-V or virtualization-based security enabled): leaf
/// `0x40000003` EBX bit 0, the "CreatePartitions" privilege, is only granted to the root.
#[must_use]
pub fn hyperv_root_partition(leaf_40000000_eax: u32, leaf_40000003_ebx: u32) -> bool {
    leaf_40000000_eax >= 0x4000_0003 && leaf_40000003_ebx & 1 != 0
}

/// Runs CPUID on this processor. `None` where the instruction does not exist (not x86).
#[must_use]
#[allow(unsafe_code)]
pub fn raw(leaf: u32) -> Option<Regs> {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: CPUID exists on every x86_64 processor; the intrinsic is safe to call, only
        // marked unsafe for historical reasons on some toolchains.
        #[allow(unused_unsafe)]
        let r = unsafe { core::arch::x86_64::__cpuid(leaf) };
        Some(Regs {
            eax: r.eax,
            ebx: r.ebx,
            ecx: r.ecx,
            edx: r.edx,
        })
    }
    #[cfg(target_arch = "x86")]
    {
        // SAFETY: every i586+ processor that runs a current OS has CPUID.
        #[allow(unused_unsafe)]
        let r = unsafe { core::arch::x86::__cpuid(leaf) };
        Some(Regs {
            eax: r.eax,
            ebx: r.ebx,
            ecx: r.ecx,
            edx: r.edx,
        })
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "x86")))]
    {
        let _ = leaf;
        None
    }
}

/// Identity of this x86 processor as read with CPUID.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// Leaf 0 vendor string.
    pub vendor: String,
    /// Brand string, empty when the extended leaves are missing.
    pub brand: String,
    /// Family, model, stepping (Linux arithmetic).
    pub family: u32,
    /// Model including the extended model.
    pub model: u32,
    /// Stepping.
    pub stepping: u32,
}

/// Reads vendor, brand and signature with CPUID; `None` off x86.
#[must_use]
pub fn identity() -> Option<Identity> {
    let leaf0 = raw(0)?;
    let vendor = vendor(leaf0);
    let (family, model, stepping) = if leaf0.eax >= 1 {
        family_model_stepping(raw(1)?.eax)
    } else {
        (0, 0, 0)
    };
    let max_ext = raw(0x8000_0000)?.eax;
    let brand = if max_ext >= 0x8000_0004 {
        brand([raw(0x8000_0002)?, raw(0x8000_0003)?, raw(0x8000_0004)?])
    } else {
        String::new()
    };
    Some(Identity {
        vendor,
        brand,
        family,
        model,
        stepping,
    })
}

/// Like [`hypervisor`], but the root partition of Hyper-V (see [`hyperv_root_partition`]) is
/// no VM: the Windows backend uses this, since Windows hosts with Hyper-V or VBS enabled run
/// above the hypervisor. (systemd, on Linux, does not make this distinction.)
#[must_use]
pub fn hypervisor_excluding_hyperv_root() -> Option<Option<&'static str>> {
    let h = hypervisor()?;
    if h == Some("microsoft") {
        let top = raw(0x4000_0000)?.eax;
        if hyperv_root_partition(top, raw(0x4000_0003)?.ebx) {
            return Some(None);
        }
    }
    Some(h)
}

/// The hypervisor CPUID reports on this processor (`Some(None)`: CPUID exists and says no
/// hypervisor; `None`: no CPUID on this architecture).
#[must_use]
pub fn hypervisor() -> Option<Option<&'static str>> {
    hypervisor_given_bit(hypervisor_present(raw(1)?.ecx))
}

/// [`hypervisor`] when the leaf-1 "hypervisor present" bit is already known (Linux shows it as the
/// `hypervisor` flag of `/proc/cpuinfo`): only the vendor leaf is read, and nothing when the bit
/// is clear. `None` off x86, like [`hypervisor`].
#[must_use]
pub fn hypervisor_given_bit(present: bool) -> Option<Option<&'static str>> {
    if !cfg!(any(target_arch = "x86_64", target_arch = "x86")) {
        return None;
    }
    if !present {
        return Some(None);
    }
    Some(Some(hypervisor_name(&hypervisor_signature(raw(
        0x4000_0000,
    )?))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regs_from(s: &[u8; 16]) -> Regs {
        let w = |i: usize| u32::from_le_bytes([s[i], s[i + 1], s[i + 2], s[i + 3]]);
        Regs {
            eax: w(0),
            ebx: w(4),
            ecx: w(8),
            edx: w(12),
        }
    }

    #[test]
    fn vendor_strings() {
        // GenuineIntel: EBX="Genu", EDX="ineI", ECX="ntel".
        let intel = Regs {
            eax: 0x16,
            ebx: 0x756e_6547,
            ecx: 0x6c65_746e,
            edx: 0x4965_6e69,
        };
        assert_eq!(vendor(intel), "GenuineIntel");
        let amd = Regs {
            eax: 0x10,
            ebx: 0x6874_7541,
            ecx: 0x444d_4163,
            edx: 0x6974_6e65,
        };
        assert_eq!(vendor(amd), "AuthenticAMD");
    }

    #[test]
    fn brand_string_trimmed() {
        let s = b"      Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz\0\0\0";
        let mut leaves = [Regs::default(); 3];
        for (i, l) in leaves.iter_mut().enumerate() {
            let mut chunk = [0u8; 16];
            chunk.copy_from_slice(&s[i * 16..i * 16 + 16]);
            *l = regs_from(&chunk);
        }
        assert_eq!(brand(leaves), "Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz");
    }

    #[test]
    fn family_model_stepping_like_linux() {
        // (eax, family, model, stepping), values from real /proc/cpuinfo of those machines.
        let cases = [
            (0x0004_06f1, 6, 79, 1),  // Xeon E5-2680 v4 (Broadwell)
            (0x0005_0657, 6, 85, 7),  // Xeon Cascade Lake
            (0x00a0_0f11, 25, 1, 1),  // AMD EPYC 7763 (Zen 3)
            (0x00a1_0f11, 25, 17, 1), // AMD EPYC 9xx4 (Zen 4)
            (0x0083_0f10, 23, 49, 0), // AMD EPYC 7742 (Zen 2)
            (0x0000_0f29, 15, 2, 9),  // Pentium 4 (family 0xf, no extension)
            (0x0002_0f12, 15, 33, 2), // Athlon 64 X2 (ext model used at family 0xf)
            (0x0000_0633, 6, 3, 3),   // Pentium II
            (0x0000_0543, 5, 4, 3),   // Pentium MMX: no model extension below family 6
            (0x0001_0543, 5, 4, 3),   // ext model bits ignored below family 6
        ];
        for (eax, f, m, s) in cases {
            assert_eq!(family_model_stepping(eax), (f, m, s), "eax={eax:#x}");
        }
    }

    #[test]
    fn hypervisor_table() {
        let sig = |s: &str| {
            let mut a = [0u8; 12];
            a[..s.len()].copy_from_slice(s.as_bytes());
            a
        };
        let cases = [
            ("KVMKVMKVM", "kvm"),
            ("Linux KVM Hv", "kvm"),
            ("Microsoft Hv", "microsoft"),
            ("VMwareVMware", "vmware"),
            ("XenVMMXenVMM", "xen"),
            ("TCGTCGTCGTCG", "qemu"),
            ("bhyve bhyve ", "bhyve"),
            ("ACRNACRNACRN", "acrn"),
            ("QNXQVMBSQG", "qnx"),
            ("SRESRESRESRE", "sre"),
            ("Apple VZ", "apple"),
            ("VBoxVBoxVBox", "vm-other"),
            ("KVMKVMKV", "vm-other"),
            ("", "vm-other"),
        ];
        for (s, name) in cases {
            assert_eq!(hypervisor_name(&sig(s)), name, "{s:?}");
        }
        // Register order is EBX, ECX, EDX.
        let kvm = Regs {
            eax: 0x4000_0001,
            ebx: 0x4b4d_564b,
            ecx: 0x564b_4d56,
            edx: 0x0000_004d,
        };
        assert_eq!(hypervisor_from_regs(0x8000_0000, kvm), Some("kvm"));
        assert_eq!(hypervisor_from_regs(0x7fff_ffff, kvm), None);
    }

    #[test]
    fn hyperv_root() {
        assert!(hyperv_root_partition(0x4000_000b, 0x0000_2bb9));
        assert!(
            !hyperv_root_partition(0x4000_000b, 0x0000_2bb8),
            "guest: no CreatePartitions"
        );
        assert!(!hyperv_root_partition(0x4000_0001, 0x1), "leaf not offered");
    }
}
