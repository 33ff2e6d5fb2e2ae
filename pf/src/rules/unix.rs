//! Unix rules: BSD and AIX versions, machine architectures and their bitness.

/// The version in a BSD `uname` release: "13.2-RELEASE-p4" → "13.2", "14.0-CURRENT" → "14.0",
/// "7.4" (OpenBSD) → "7.4", "9.3_STABLE" (NetBSD) → "9.3".
#[must_use]
pub fn bsd_version(release: &str) -> String {
    let r = release.trim();
    let end = r
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(r.len());
    r[..end].trim_end_matches('.').to_string()
}

/// AIX version from `uname`'s version and release fields: ("7", "2") → "7.2".
#[must_use]
pub fn aix_version(version: &str, release: &str) -> String {
    match (version.trim(), release.trim()) {
        ("", _) => String::new(),
        (v, "") => v.to_string(),
        (v, r) => format!("{v}.{r}"),
    }
}

/// AIX kernel bitness from `sysconf(_SC_AIX_KERNEL_BITMODE)`: 32 or 64, `None` otherwise.
#[must_use]
pub fn aix_bits(kernel_bitmode: i64) -> Option<u32> {
    match kernel_bitmode {
        32 => Some(32),
        64 => Some(64),
        _ => None,
    }
}

/// The architecture name `pf` reports for a `uname` machine: BSD and Apple names are mapped
/// to the Linux ones ("amd64" → "x86_64", "arm64" → "aarch64", "i86pc" stays as given).
#[must_use]
pub fn normalize_arch(machine: &str) -> String {
    let m = machine.trim();
    match m {
        "amd64" | "x64" | "x86-64" => "x86_64".into(),
        "arm64" => "aarch64".into(),
        "powerpc64" => "ppc64".into(),
        "powerpc64le" => "ppc64le".into(),
        "powerpc" | "macppc" => "ppc".into(),
        "" => "unknown".into(),
        _ => m.into(),
    }
}

/// The bitness of a machine architecture (the kernel's, from `uname`): "x86_64" is 64,
/// "i686" and "armv7l" are 32. `None` when unknown.
#[must_use]
pub fn bits_of_machine(machine: &str) -> Option<u32> {
    let m = machine.trim().to_ascii_lowercase();
    let sixty_four = [
        "x86_64",
        "amd64",
        "aarch64",
        "arm64",
        "aarch64_be",
        "armv8b",
        "ppc64",
        "ppc64le",
        "powerpc64",
        "powerpc64le",
        "s390x",
        "sparc64",
        "sun4u",
        "sun4v",
        "mips64",
        "mips64el",
        "riscv64",
        "loongarch64",
        "ia64",
        "alpha",
        "parisc64",
    ];
    let thirty_two = [
        "i386", "i486", "i586", "i686", "x86", "i86pc", "s390", "ppc", "powerpc", "macppc",
        "sparc", "mips", "mipsel", "riscv32", "parisc", "m68k", "sh4",
    ];
    if sixty_four.contains(&m.as_str()) {
        Some(64)
    } else if thirty_two.contains(&m.as_str()) || m.starts_with("arm") {
        Some(32)
    } else {
        None
    }
}

/// The Android version in `/system/build.prop` (`ro.build.version.release=14`).
#[must_use]
pub fn android_version(build_prop: &str) -> Option<String> {
    build_prop.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == "ro.build.version.release" && !v.trim().is_empty())
            .then(|| v.trim().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bsd_versions() {
        let cases = [
            ("13.2-RELEASE-p4", "13.2"),
            ("14.0-CURRENT", "14.0"),
            ("7.4", "7.4"),
            ("9.3_STABLE", "9.3"),
            ("10.0", "10.0"),
            ("12.1-RELEASE", "12.1"),
            ("garbage", ""),
        ];
        for (release, version) in cases {
            assert_eq!(bsd_version(release), version, "{release}");
        }
    }

    #[test]
    fn android() {
        assert_eq!(
            android_version("# x\nro.build.version.sdk=34\nro.build.version.release=14\n")
                .as_deref(),
            Some("14")
        );
        assert_eq!(android_version("garbage"), None);
    }

    #[test]
    fn aix() {
        assert_eq!(aix_version("7", "2"), "7.2");
        assert_eq!(aix_version("6", "1"), "6.1");
        assert_eq!(aix_version("7", "3"), "7.3");
        assert_eq!(aix_version("", "3"), "");
        assert_eq!(aix_bits(64), Some(64));
        assert_eq!(aix_bits(32), Some(32));
        assert_eq!(aix_bits(-1), None);
    }

    #[test]
    fn machines() {
        let cases = [
            ("x86_64", Some(64), "x86_64"),
            ("amd64", Some(64), "x86_64"),
            ("arm64", Some(64), "aarch64"),
            ("aarch64", Some(64), "aarch64"),
            ("i686", Some(32), "i686"),
            ("armv7l", Some(32), "armv7l"),
            ("s390x", Some(64), "s390x"),
            ("s390", Some(32), "s390"),
            ("ppc64le", Some(64), "ppc64le"),
            ("sun4v", Some(64), "sun4v"),
            ("00C5AD3B4C00", None, "00C5AD3B4C00"),
        ];
        for (machine, bits, arch) in cases {
            assert_eq!(bits_of_machine(machine), bits, "{machine}");
            assert_eq!(normalize_arch(machine), arch, "{machine}");
        }
    }
}
