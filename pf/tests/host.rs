//! This machine, compared with what its files and the kernel say, read independently of `pf`.

#![cfg(target_os = "linux")]

use std::collections::HashMap;
use std::fs;

/// os-release read the simple way: `KEY=value`, one level of quotes.
fn os_release() -> HashMap<String, String> {
    let text = fs::read_to_string("/etc/os-release")
        .or_else(|_| fs::read_to_string("/usr/lib/os-release"))
        .unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_string(),
                v.trim().trim_matches('"').trim_matches('\'').to_string(),
            )
        })
        .collect()
}

#[test]
fn kernel_is_the_running_kernel() -> std::io::Result<()> {
    let release = fs::read_to_string("/proc/sys/kernel/osrelease")?;
    let p = pf::detect();
    assert_eq!(p.kernel(), release.trim());
    assert_eq!(p.system(), pf::System::Linux);
    Ok(())
}

#[test]
fn arch_and_bits_are_the_kernel_ones() -> std::io::Result<()> {
    let p = pf::detect();
    // /proc/sys/kernel/arch exists since Linux 6.1; fall back to the compile target.
    if let Ok(arch) = fs::read_to_string("/proc/sys/kernel/arch") {
        assert_eq!(p.arch(), arch.trim());
    }
    if cfg!(target_pointer_width = "64") {
        assert_eq!(p.bits(), 64, "a 64-bit process runs on a 64-bit kernel");
    }
    assert_eq!(p.process_bits(), usize::BITS);
    assert!(p.bits() >= p.process_bits());
    assert_eq!(p.label(), format!("linux-{}", p.bits()));
    Ok(())
}

#[test]
fn distribution_matches_etc() {
    let os = os_release();
    let p = pf::detect();
    let Some(id) = os.get("ID") else {
        return; // No os-release here: nothing independent to compare with.
    };
    let id = match id.as_str() {
        "ol" => "oracle",
        "opensuse-leap" => "opensuse",
        other => other,
    };
    if p.id() == id {
        if let Some(pretty) = os.get("PRETTY_NAME") {
            assert_eq!(p.pretty_name(), pretty);
        }
        if let Some(version_id) = os.get("VERSION_ID") {
            assert!(
                p.version().starts_with(version_id.as_str()),
                "{} vs VERSION_ID {version_id}",
                p.version()
            );
        }
    } else {
        // A derivative shipping its parent's os-release (Mint 17, Scientific 7, Armbian)
        // keeps its own id and points at the parent.
        assert!(p.is_like(id), "id {} is neither {id} nor like it", p.id());
    }
    if p.id() == "debian"
        && let Ok(debian_version) = fs::read_to_string("/etc/debian_version")
        && debian_version
            .trim()
            .starts_with(|c: char| c.is_ascii_digit())
    {
        assert_eq!(p.version(), debian_version.trim());
        assert_eq!(p.dist(), "Debian");
    }
    if id == "ubuntu" {
        assert_ne!(p.dist(), "Debian", "Ubuntu is never Debian");
    }
}

#[test]
fn cached_equals_fresh_and_root_slash() {
    let cached = pf::get_platform();
    assert!(std::ptr::eq(cached, pf::get_platform()));
    assert_eq!(cached, &pf::detect());
    assert_eq!(&pf::detect_in(std::path::Path::new("/")), cached);
}
