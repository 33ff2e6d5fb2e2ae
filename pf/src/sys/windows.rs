//! Windows: `RtlGetVersion` (GetVersionEx lies under compatibility manifests), the product
//! type, `IsWow64Process2` (looked up at run time: it appeared in Windows 10 1511) or
//! `GetNativeSystemInfo`, and the feature release from the registry.

use std::mem::{size_of, zeroed};

use windows_sys::Wdk::System::SystemServices::RtlGetVersion;
use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
use windows_sys::Win32::System::Registry::{HKEY_LOCAL_MACHINE, RRF_RT_REG_SZ, RegGetValueW};
use windows_sys::Win32::System::SystemInformation::{
    GetNativeSystemInfo, OSVERSIONINFOEXW, OSVERSIONINFOW, SYSTEM_INFO,
};
use windows_sys::Win32::System::Threading::GetCurrentProcess;
use windows_sys::Win32::UI::WindowsAndMessaging::{GetSystemMetrics, SM_SERVERR2};
use windows_sys::core::BOOL;

use crate::rules::windows::{windows_processor_arch, with_r2};
use crate::rules::{windows_arch, windows_product};
use crate::{Host, Platform, System, process_bits};

/// `VER_NT_WORKSTATION`: the other product types are servers.
const VER_NT_WORKSTATION: u8 = 1;

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

struct Version {
    major: u32,
    minor: u32,
    build: u32,
    server: bool,
}

fn version() -> Option<Version> {
    // SAFETY: OSVERSIONINFOEXW is plain old data.
    let mut info: OSVERSIONINFOEXW = unsafe { zeroed() };
    info.dwOSVersionInfoSize = size_of::<OSVERSIONINFOEXW>() as u32;
    // SAFETY: `info` is a valid OSVERSIONINFOEXW whose size field says so, as RtlGetVersion
    // requires to fill the extended fields.
    let status = unsafe { RtlGetVersion((&raw mut info).cast::<OSVERSIONINFOW>()) };
    (status == 0).then(|| Version {
        major: info.dwMajorVersion,
        minor: info.dwMinorVersion,
        build: info.dwBuildNumber,
        server: info.wProductType != VER_NT_WORKSTATION,
    })
}

type IsWow64Process2Fn = unsafe extern "system" fn(HANDLE, *mut u16, *mut u16) -> BOOL;

/// The native machine from `IsWow64Process2`, when this Windows has it.
fn native_machine() -> Option<u16> {
    let kernel32 = wide("kernel32.dll");
    // SAFETY: valid NUL-terminated strings; kernel32 is always loaded.
    let f = unsafe {
        let module = GetModuleHandleW(kernel32.as_ptr());
        if module.is_null() {
            return None;
        }
        GetProcAddress(module, c"IsWow64Process2".as_ptr().cast())?
    };
    // SAFETY: IsWow64Process2 has this signature.
    let f: IsWow64Process2Fn = unsafe { std::mem::transmute(f) };
    let mut process: u16 = 0;
    let mut native: u16 = 0;
    // SAFETY: the current-process pseudo handle and two writable u16.
    let ok = unsafe { f(GetCurrentProcess(), &mut process, &mut native) };
    (ok != 0).then_some(native)
}

fn arch_and_bits() -> (String, u32) {
    if let Some((arch, bits)) = native_machine().and_then(windows_arch) {
        return (arch.into(), bits);
    }
    // SAFETY: SYSTEM_INFO is plain old data, filled by GetNativeSystemInfo.
    let arch = unsafe {
        let mut info: SYSTEM_INFO = zeroed();
        GetNativeSystemInfo(&mut info);
        info.Anonymous.Anonymous.wProcessorArchitecture
    };
    windows_processor_arch(arch).map_or_else(
        || ("unknown".into(), process_bits()),
        |(a, b)| (a.into(), b),
    )
}

/// A string value of `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion`.
fn current_version_value(name: &str) -> Option<String> {
    let key = wide(r"SOFTWARE\Microsoft\Windows NT\CurrentVersion");
    let value = wide(name);
    let mut buf = [0u16; 128];
    let mut size = (buf.len() * 2) as u32;
    // SAFETY: valid NUL-terminated strings and a writable buffer of `size` bytes.
    let rc = unsafe {
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
    if rc != 0 {
        return None;
    }
    let len = (size as usize / 2).min(buf.len());
    let s = String::from_utf16_lossy(&buf[..len])
        .trim_end_matches('\0')
        .trim()
        .to_string();
    (!s.is_empty()).then_some(s)
}

pub(crate) fn host() -> Host {
    let (arch, bits) = arch_and_bits();
    let kernel = version().map_or_else(
        || "unknown".into(),
        |v| format!("{}.{}.{}", v.major, v.minor, v.build),
    );
    Host { kernel, arch, bits }
}

pub(crate) fn detect() -> Platform {
    let Some(v) = version() else {
        let d = super::simple_distribution(System::Windows, "windows", "", None);
        return Platform::from_parts(d, host());
    };
    // SAFETY: GetSystemMetrics has no preconditions.
    let r2 = v.server && unsafe { GetSystemMetrics(SM_SERVERR2) } != 0;
    let product = with_r2(windows_product(v.major, v.minor, v.build, v.server), r2);
    // The feature release ("22H2"; "1809" before 20H2) for Windows 10 and later.
    let codename = if v.major >= 10 {
        current_version_value("DisplayVersion").or_else(|| current_version_value("ReleaseId"))
    } else {
        None
    };
    let mut d = super::simple_distribution(
        System::Windows,
        "windows",
        product.version,
        codename.as_deref(),
    );
    d.pretty_name = match &codename {
        Some(c) => format!("{} ({c})", product.name),
        None => product.name.to_string(),
    };
    Platform::from_parts(d, host())
}
