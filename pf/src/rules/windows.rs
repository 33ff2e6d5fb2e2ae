//! Windows rules: the one table from NT 5.0 to Windows 11 and Server 2025.

/// A Windows product, as [`windows_product`] names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WindowsProduct {
    /// The version people say: "2003", "2008 R2", "7", "10", "11", "2016", "2025".
    pub version: &'static str,
    /// The product name: "Windows Server 2008 R2", "Windows 11".
    pub name: &'static str,
}

const fn p(version: &'static str, name: &'static str) -> WindowsProduct {
    WindowsProduct { version, name }
}

/// Names a Windows release from `RtlGetVersion`'s major, minor and build numbers and whether
/// the product type is a server (`VER_NT_SERVER` or `VER_NT_DOMAIN_CONTROLLER`).
///
/// Windows 10 and 11 share NT 10.0: build 22000 and up is 11. Servers since 2016 share it too
/// and are told apart by build: 14393 is 2016, 17763 is 2019, 20348 is 2022, 26100 is 2025
/// (semi-annual channel builds in between belong to the LTSC release before them).
/// Windows Server 2003 R2 is 5.2 like 2003: the backend upgrades it with [`with_r2`] when
/// `GetSystemMetrics(SM_SERVERR2)` says so. Unknown numbers give `("Unknown", "Windows")`.
#[must_use]
pub fn windows_product(major: u32, minor: u32, build: u32, server: bool) -> WindowsProduct {
    match (major, minor, server) {
        (5, 0, false) => p("2000", "Windows 2000 Professional"),
        (5, 0, true) => p("2000", "Windows 2000 Server"),
        (5, 1, _) => p("XP", "Windows XP"),
        (5, 2, false) => p("XP", "Windows XP Professional x64 Edition"),
        (5, 2, true) => p("2003", "Windows Server 2003"),
        (6, 0, false) => p("Vista", "Windows Vista"),
        (6, 0, true) => p("2008", "Windows Server 2008"),
        (6, 1, false) => p("7", "Windows 7"),
        (6, 1, true) => p("2008 R2", "Windows Server 2008 R2"),
        (6, 2, false) => p("8", "Windows 8"),
        (6, 2, true) => p("2012", "Windows Server 2012"),
        (6, 3, false) => p("8.1", "Windows 8.1"),
        (6, 3, true) => p("2012 R2", "Windows Server 2012 R2"),
        (10, 0, false) if build >= 22000 => p("11", "Windows 11"),
        (10, 0, false) => p("10", "Windows 10"),
        (10, 0, true) if build >= 26100 => p("2025", "Windows Server 2025"),
        (10, 0, true) if build >= 20348 => p("2022", "Windows Server 2022"),
        (10, 0, true) if build >= 17763 => p("2019", "Windows Server 2019"),
        (10, 0, true) => p("2016", "Windows Server 2016"),
        _ => p("Unknown", "Windows"),
    }
}

/// Windows Server 2003 R2 shares 5.2 with 2003; `GetSystemMetrics(SM_SERVERR2)` tells them
/// apart.
#[must_use]
pub fn with_r2(product: WindowsProduct, server_r2: bool) -> WindowsProduct {
    if server_r2 && product.version == "2003" {
        p("2003 R2", "Windows Server 2003 R2")
    } else {
        product
    }
}

/// Architecture name and bitness of an `IMAGE_FILE_MACHINE_*` value (`IsWow64Process2`'s
/// native machine).
#[must_use]
pub fn windows_arch(machine: u16) -> Option<(&'static str, u32)> {
    Some(match machine {
        0x8664 => ("x86_64", 64),
        0xAA64 => ("aarch64", 64),
        0x0200 => ("ia64", 64),
        0x014c => ("x86", 32),
        0x01c0 | 0x01c4 => ("arm", 32),
        _ => return None,
    })
}

/// Architecture name and bitness of a `SYSTEM_INFO.wProcessorArchitecture`
/// (`GetNativeSystemInfo`).
#[must_use]
pub fn windows_processor_arch(arch: u16) -> Option<(&'static str, u32)> {
    Some(match arch {
        9 => ("x86_64", 64),
        12 => ("aarch64", 64),
        6 => ("ia64", 64),
        0 => ("x86", 32),
        5 => ("arm", 32),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_table() {
        let cases = [
            ((5, 0, 2195, false), "2000"),
            ((5, 1, 2600, false), "XP"),
            ((5, 2, 3790, false), "XP"),
            ((5, 2, 3790, true), "2003"),
            ((6, 0, 6002, false), "Vista"),
            ((6, 0, 6003, true), "2008"),
            ((6, 1, 7601, false), "7"),
            ((6, 1, 7601, true), "2008 R2"),
            ((6, 2, 9200, false), "8"),
            ((6, 2, 9200, true), "2012"),
            ((6, 3, 9600, false), "8.1"),
            ((6, 3, 9600, true), "2012 R2"),
            ((10, 0, 10240, false), "10"),
            ((10, 0, 19045, false), "10"),
            ((10, 0, 21999, false), "10"),
            ((10, 0, 22000, false), "11"),
            ((10, 0, 26100, false), "11"),
            ((10, 0, 14393, true), "2016"),
            ((10, 0, 17134, true), "2016"),
            ((10, 0, 17763, true), "2019"),
            ((10, 0, 19042, true), "2019"),
            ((10, 0, 20348, true), "2022"),
            ((10, 0, 25398, true), "2022"),
            ((10, 0, 26100, true), "2025"),
            ((4, 0, 1381, false), "Unknown"),
        ];
        for ((major, minor, build, server), version) in cases {
            assert_eq!(
                windows_product(major, minor, build, server).version,
                version,
                "{major}.{minor}.{build} {server}"
            );
        }
        assert_eq!(
            windows_product(10, 0, 20348, true).name,
            "Windows Server 2022"
        );
        assert_eq!(
            windows_product(6, 1, 7601, true).name,
            "Windows Server 2008 R2"
        );
    }

    #[test]
    fn r2() {
        assert_eq!(
            with_r2(windows_product(5, 2, 3790, true), true).version,
            "2003 R2"
        );
        assert_eq!(
            with_r2(windows_product(5, 2, 3790, true), false).version,
            "2003"
        );
        assert_eq!(
            with_r2(windows_product(6, 1, 7601, true), true).version,
            "2008 R2"
        );
    }

    #[test]
    fn arches() {
        assert_eq!(windows_arch(0x8664), Some(("x86_64", 64)));
        assert_eq!(windows_arch(0xAA64), Some(("aarch64", 64)));
        assert_eq!(windows_arch(0x014c), Some(("x86", 32)));
        assert_eq!(windows_arch(0), None);
        assert_eq!(windows_processor_arch(9), Some(("x86_64", 64)));
        assert_eq!(windows_processor_arch(0), Some(("x86", 32)));
    }
}
