//! `uname(2)`: a system call, not the `uname` program.

/// The fields of `struct utsname`.
#[derive(Debug, Clone, Default)]
#[allow(dead_code)] // Each backend reads the fields it needs.
pub(crate) struct Uname {
    pub sysname: String,
    pub release: String,
    pub version: String,
    pub machine: String,
}

fn field(chars: &[libc::c_char]) -> String {
    let bytes: Vec<u8> = chars
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).trim().to_string()
}

/// Calls `uname(2)`; `None` if it fails.
pub(crate) fn uname() -> Option<Uname> {
    // SAFETY: utsname is plain old data; all-zero is a valid value.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid, writable utsname.
    if unsafe { libc::uname(&mut u) } < 0 {
        return None;
    }
    Some(Uname {
        sysname: field(&u.sysname),
        release: field(&u.release),
        version: field(&u.version),
        machine: field(&u.machine),
    })
}
