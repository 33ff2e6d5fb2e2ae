//! Copying one file: under a temporary name in the destination directory, then renamed
//! into place, so a failed copy never leaves a truncated file under its final name.
//!
//! Fast paths: Linux `copy_file_range` (through `std::io::copy` between files, which
//! reflinks on Btrfs/XFS and copies in the kernel elsewhere), macOS `fclonefileat` with
//! `fcopyfile` as the fallback, Windows `CopyFileExW` (through `std::fs::copy`).

use std::fs::{self, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Large files are copied (and their progress reported) in steps of this size.
#[cfg(all(unix, not(target_os = "macos")))]
const STEP: u64 = if cfg!(test) { 1 << 20 } else { 64 << 20 };

/// A temporary name in `dst`'s directory, short enough for any file system.
pub(crate) fn temp_path(dst: &Path) -> PathBuf {
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = format!(".nfs-{}-{n}.tmp", PID.get_or_init(std::process::id));
    match dst.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.join(name),
        _ => PathBuf::from(name),
    }
}

/// Test hook: fail the copy of any file whose name ends with this, after part of its
/// content has been written (to check that no partial file is left).
#[cfg(test)]
pub(crate) static FAIL_AFTER_WRITE: std::sync::Mutex<Option<&'static str>> =
    std::sync::Mutex::new(None);

#[cfg(test)]
fn injected_failure(src: &Path) -> io::Result<()> {
    let hook = FAIL_AFTER_WRITE.lock().map(|g| *g).unwrap_or(None);
    match hook {
        Some(suffix) if src.to_string_lossy().ends_with(suffix) => {
            Err(io::Error::other("injected failure"))
        }
        _ => Ok(()),
    }
}

#[cfg(not(test))]
#[inline(always)]
fn injected_failure(_src: &Path) -> io::Result<()> {
    Ok(())
}

/// Copy the regular file `src` (whose metadata is `md`) to `dst`, through a temporary
/// file, preserving permissions and times as asked.
///
/// `on_bytes` hears about the progress inside large files (where the platform copies in
/// steps); the caller accounts for the rest when the file is done.
pub(crate) fn copy_file(
    src: &Path,
    md: &Metadata,
    dst: &Path,
    perms: bool,
    times: bool,
    follow: bool,
    on_bytes: &dyn Fn(u64),
) -> Result<u64> {
    let tmp = temp_path(dst);
    match write_temp(src, md, &tmp, perms, times, follow, on_bytes) {
        Ok(n) => {
            if let Err(e) = replace(&tmp, dst) {
                let _ = fs::remove_file(&tmp);
                return Err(Error::io("rename into place", dst, e));
            }
            Ok(n)
        }
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            // Name the destination, not the temporary nobody knows about.
            Err(match e {
                Error::Io { op, path, source } if path == tmp => Error::Io {
                    op,
                    path: dst.to_path_buf(),
                    source,
                },
                e => e,
            })
        }
    }
}

/// Rename `tmp` over `dst`.
///
/// # Platform behavior
/// Windows refuses to replace a read-only file: its attribute is cleared first.
pub(crate) fn replace(tmp: &Path, dst: &Path) -> io::Result<()> {
    match fs::rename(tmp, dst) {
        #[cfg(windows)]
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            if let Ok(md) = fs::symlink_metadata(dst) {
                let mut p = md.permissions();
                if p.readonly() {
                    #[allow(clippy::permissions_set_readonly_false)]
                    p.set_readonly(false);
                    fs::set_permissions(dst, p)?;
                    return fs::rename(tmp, dst);
                }
            }
            Err(e)
        }
        r => r,
    }
}

fn times_of(md: &Metadata) -> fs::FileTimes {
    let mut t = fs::FileTimes::new();
    if let Ok(m) = md.modified() {
        t = t.set_modified(m);
    }
    if let Ok(a) = md.accessed() {
        t = t.set_accessed(a);
    }
    t
}

#[cfg(all(unix, not(target_os = "macos")))]
fn write_temp(
    src: &Path,
    md: &Metadata,
    tmp: &Path,
    perms: bool,
    times: bool,
    follow: bool,
    on_bytes: &dyn Fn(u64),
) -> Result<u64> {
    use std::os::unix::fs::OpenOptionsExt;
    let nofollow = if follow {
        0
    } else {
        rustix::fs::OFlags::NOFOLLOW.bits() as i32
    };
    let mut from = fs::OpenOptions::new()
        .read(true)
        .custom_flags(nofollow)
        .open(src)
        .map_err(|e| Error::io("open", src, e))?;
    // Created with the source's permission bits: when the umask clears none of them
    // (the usual case), no `fchmod` is needed afterwards.
    let mode = std::os::unix::fs::PermissionsExt::mode(&md.permissions());
    let mut to = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(if perms { mode & 0o777 } else { 0o666 })
        .open(tmp)
        .map_err(|e| Error::io("create", tmp, e))?;
    // Fewer blocks than the length says: holes worth keeping.
    let sparse = std::os::unix::fs::MetadataExt::blocks(md).saturating_mul(512) < md.len();
    let n = copy_data(&mut from, &mut to, md.len(), sparse, on_bytes)
        .map_err(|e| Error::io("copy", src, e))?;
    injected_failure(src).map_err(|e| Error::io("copy", src, e))?;
    let chmod = perms && !umask().is_some_and(|u| mode & 0o7000 == 0 && mode & u == 0);
    finish(&to, md, tmp, chmod, times)?;
    Ok(n)
}

/// The process umask, read once without changing it (`umask(2)` can only be read by
/// setting it, which would race with other threads): Linux's `/proc/self/status`.
#[cfg(all(unix, not(target_os = "macos")))]
pub(crate) fn umask() -> Option<u32> {
    static UMASK: std::sync::OnceLock<Option<u32>> = std::sync::OnceLock::new();
    *UMASK.get_or_init(|| {
        let status = fs::read_to_string("/proc/self/status").ok()?;
        parse_umask(&status)
    })
}

/// macOS has no way to read the umask without setting it: callers always `chmod`.
#[cfg(target_os = "macos")]
pub(crate) fn umask() -> Option<u32> {
    None
}

/// The `Umask:` line of a `/proc/<pid>/status` file.
#[cfg(all(unix, not(target_os = "macos")))]
fn parse_umask(status: &str) -> Option<u32> {
    let line = status.lines().find_map(|l| l.strip_prefix("Umask:"))?;
    u32::from_str_radix(line.trim(), 8).ok()
}

#[cfg(all(unix, not(target_os = "macos")))]
fn finish(to: &fs::File, md: &Metadata, tmp: &Path, perms: bool, times: bool) -> Result<()> {
    if perms {
        to.set_permissions(md.permissions())
            .map_err(|e| Error::io("set permissions of", tmp, e))?;
    }
    if times {
        to.set_times(times_of(md))
            .map_err(|e| Error::io("set times of", tmp, e))?;
    }
    Ok(())
}

/// Linux: `copy_file_range` until it reports the end (no `statx` probes as in
/// `io::copy`); `io::copy` where the kernel or the file system refuses it.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn copy_data(
    from: &mut fs::File,
    to: &mut fs::File,
    len: u64,
    sparse: bool,
    on_bytes: &dyn Fn(u64),
) -> io::Result<u64> {
    use rustix::io::Errno;
    if sparse && let Some(n) = copy_sparse(from, to, on_bytes)? {
        return Ok(n);
    }
    let mut done = 0u64;
    loop {
        // Ask for what is left of the size the walk saw (in steps that progress can
        // follow), then, to catch a file that grew, for more until the kernel says the
        // end is reached.
        let left = len.saturating_sub(done).clamp(1 << 20, STEP);
        let want = usize::try_from(left).unwrap_or(usize::MAX);
        match rustix::fs::copy_file_range(&*from, None, &*to, None, want) {
            Ok(0) => return Ok(done),
            Ok(n) => {
                done += n as u64;
                if len > STEP {
                    on_bytes(n as u64);
                }
            }
            Err(Errno::INTR) => {}
            Err(Errno::XDEV | Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP | Errno::PERM)
                if done == 0 =>
            {
                return io::copy(from, to);
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// A sparse file: copy its data segments only (`SEEK_DATA` / `SEEK_HOLE`), so the copy
/// keeps its holes, then set its length. `None` when the file system cannot say where
/// the data is (the caller copies it whole).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn copy_sparse(
    from: &mut fs::File,
    to: &mut fs::File,
    on_bytes: &dyn Fn(u64),
) -> io::Result<Option<u64>> {
    use rustix::fs::SeekFrom;
    use rustix::io::Errno;
    let mut off = 0u64;
    let mut copied = 0u64;
    loop {
        let data = match rustix::fs::seek(&*from, SeekFrom::Data(off)) {
            Ok(d) => d,
            Err(Errno::NXIO) => break, // only a hole is left
            Err(Errno::INVAL | Errno::OPNOTSUPP) if copied == 0 => {
                rustix::fs::seek(&*from, SeekFrom::Start(0))?;
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        let hole = rustix::fs::seek(&*from, SeekFrom::Hole(data))?;
        let (mut at_in, mut at_out) = (data, data);
        while at_in < hole {
            let want = usize::try_from((hole - at_in).min(STEP)).unwrap_or(usize::MAX);
            match rustix::fs::copy_file_range(
                &*from,
                Some(&mut at_in),
                &*to,
                Some(&mut at_out),
                want,
            ) {
                Ok(0) => break, // shrank meanwhile
                Ok(n) => {
                    copied += n as u64;
                    on_bytes(n as u64);
                }
                Err(Errno::INTR) => {}
                Err(Errno::XDEV | Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP | Errno::PERM)
                    if copied == 0 =>
                {
                    rustix::fs::seek(&*from, SeekFrom::Start(0))?;
                    return Ok(None);
                }
                Err(e) => return Err(e.into()),
            }
        }
        off = hole;
    }
    // The length, holes at the end included.
    let end = rustix::fs::seek(&*from, SeekFrom::End(0))?;
    rustix::fs::ftruncate(&*to, end)?;
    // Progress heard about the data; account the holes as done too.
    on_bytes(end.saturating_sub(copied));
    Ok(Some(end))
}

/// Other Unix systems: a large buffer (`io::copy`'s 8 KiB is slow on big files).
#[cfg(all(
    unix,
    not(any(target_os = "linux", target_os = "android", target_os = "macos"))
))]
fn copy_data(
    from: &mut fs::File,
    to: &mut fs::File,
    _len: u64,
    _sparse: bool,
    on_bytes: &dyn Fn(u64),
) -> io::Result<u64> {
    use std::io::{Read, Write};
    let mut buf = vec![0u8; 256 * 1024];
    let (mut n, mut unreported) = (0u64, 0u64);
    loop {
        let k = match from.read(&mut buf) {
            Ok(0) => return Ok(n),
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        to.write_all(&buf[..k])?;
        n += k as u64;
        unreported += k as u64;
        if unreported >= STEP {
            on_bytes(unreported);
            unreported = 0;
        }
    }
}

/// macOS: clone the file (APFS copy-on-write, metadata included) with `fclonefileat`;
/// where cloning is not possible (another volume, HFS+), `fcopyfile` the data.
#[cfg(target_os = "macos")]
fn write_temp(
    src: &Path,
    md: &Metadata,
    tmp: &Path,
    perms: bool,
    times: bool,
    follow: bool,
    _on_bytes: &dyn Fn(u64),
) -> Result<u64> {
    use std::ffi::CString;
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::OpenOptionsExt;
    const CLONE_NOFOLLOW: u32 = 0x0001;
    let nofollow = if follow { 0 } else { libc::O_NOFOLLOW };
    let from = fs::OpenOptions::new()
        .read(true)
        .custom_flags(nofollow)
        .open(src)
        .map_err(|e| Error::io("open", src, e))?;
    let ctmp = CString::new(tmp.as_os_str().as_bytes())
        .map_err(|_| Error::io("create", tmp, io::ErrorKind::InvalidInput.into()))?;
    // SAFETY: a valid open descriptor and a NUL-terminated path.
    let cloned = unsafe {
        libc::fclonefileat(
            from.as_raw_fd(),
            libc::AT_FDCWD,
            ctmp.as_ptr(),
            CLONE_NOFOLLOW,
        )
    } == 0;
    let to = if cloned {
        fs::OpenOptions::new()
            .write(true)
            .open(tmp)
            .or_else(|_| fs::File::open(tmp))
            .map_err(|e| Error::io("open", tmp, e))?
    } else {
        let to = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(tmp)
            .map_err(|e| Error::io("create", tmp, e))?;
        // SAFETY: two valid open descriptors; a null state is allowed.
        let rc = unsafe {
            libc::fcopyfile(
                from.as_raw_fd(),
                to.as_raw_fd(),
                std::ptr::null_mut(),
                libc::COPYFILE_DATA,
            )
        };
        if rc != 0 {
            return Err(Error::io("copy", src, io::Error::last_os_error()));
        }
        to
    };
    injected_failure(src).map_err(|e| Error::io("copy", src, e))?;
    if perms {
        fs::set_permissions(tmp, md.permissions())
            .map_err(|e| Error::io("set permissions of", tmp, e))?;
    }
    if times {
        to.set_times(times_of(md))
            .or_else(|_| {
                filetime::set_file_times(
                    tmp,
                    filetime::FileTime::from_last_access_time(md),
                    filetime::FileTime::from_last_modification_time(md),
                )
            })
            .map_err(|e| Error::io("set times of", tmp, e))?;
    }
    Ok(md.len())
}

/// Windows (and other systems): `std::fs::copy`, which is `CopyFileExW` on Windows
/// (it keeps attributes and the modification time).
#[cfg(not(unix))]
fn write_temp(
    src: &Path,
    md: &Metadata,
    tmp: &Path,
    perms: bool,
    times: bool,
    _follow: bool,
    _on_bytes: &dyn Fn(u64),
) -> Result<u64> {
    let n = fs::copy(src, tmp).map_err(|e| Error::io("copy", src, e))?;
    injected_failure(src).map_err(|e| Error::io("copy", src, e))?;
    if times {
        // The copy may be read-only (its attribute copied): set times before that matters.
        if let Ok(f) = fs::OpenOptions::new().write(true).open(tmp) {
            f.set_times(times_of(md))
                .map_err(|e| Error::io("set times of", tmp, e))?;
        }
    }
    if perms {
        fs::set_permissions(tmp, md.permissions())
            .map_err(|e| Error::io("set permissions of", tmp, e))?;
    }
    Ok(n)
}

/// Make `dst` a hard link to `target` (a copy made by this run), replacing what is at
/// `dst` atomically.
pub(crate) fn hard_link(target: &Path, dst: &Path) -> Result<()> {
    let tmp = temp_path(dst);
    fs::hard_link(target, &tmp).map_err(|e| Error::io("create hard link", dst, e))?;
    if let Err(e) = replace(&tmp, dst) {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io("rename into place", dst, e));
    }
    Ok(())
}

/// Create a symbolic link at `dst` pointing to `target` (through a temporary name, so
/// an existing `dst` is replaced atomically).
///
/// # Platform behavior
/// On Windows a file or directory link is made according to what `src` points to;
/// creating links needs the privilege or Developer Mode there.
pub(crate) fn copy_link(src: &Path, target: &Path, dst: &Path, times: bool) -> Result<()> {
    let tmp = temp_path(dst);
    make_link(src, target, &tmp).map_err(|e| Error::io("create link", dst, e))?;
    if times && let Ok(md) = fs::symlink_metadata(src) {
        let _ = filetime::set_symlink_file_times(
            &tmp,
            filetime::FileTime::from_last_access_time(&md),
            filetime::FileTime::from_last_modification_time(&md),
        );
    }
    if let Err(e) = replace(&tmp, dst) {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io("rename into place", dst, e));
    }
    Ok(())
}

#[cfg(unix)]
fn make_link(_src: &Path, target: &Path, at: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, at)
}

#[cfg(windows)]
fn make_link(src: &Path, target: &Path, at: &Path) -> io::Result<()> {
    if fs::metadata(src).map(|m| m.is_dir()).unwrap_or(false) {
        std::os::windows::fs::symlink_dir(target, at)
    } else {
        std::os::windows::fs::symlink_file(target, at)
    }
}

#[cfg(not(any(unix, windows)))]
fn make_link(_src: &Path, _target: &Path, _at: &Path) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}

#[cfg(all(test, unix, not(target_os = "macos")))]
mod tests {
    use super::*;

    #[test]
    fn umask_line() {
        assert_eq!(
            parse_umask("Name:\tx\nUmask:\t0027\nState:\tR\n"),
            Some(0o027)
        );
        assert_eq!(parse_umask("Name:\tx\n"), None);
        assert_eq!(parse_umask("Umask:\tzz\n"), None);
    }
}
