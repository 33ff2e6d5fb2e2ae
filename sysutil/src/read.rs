//! Whole-file reads tuned for procfs and sysfs.
//!
//! `fs::read` and `read_to_end` first ask for the file size (`statx`, `lseek`), which procfs and
//! sysfs answer with 0; reading straight into one buffer saves those calls, and a small `limit`
//! lets the kernel format only the first records of a `seq_file` such as `/proc/cpuinfo`.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// At most `limit` bytes from the start of `path` (the whole file with `usize::MAX`).
pub(crate) fn bytes(path: &Path, limit: usize) -> io::Result<Vec<u8>> {
    read_all(File::open(path)?, limit, false)
}

/// Like [`bytes`], for a file the kernel hands out in one piece: a sysfs attribute, a procfs file
/// formatted whole (`meminfo`, `status`, `stat`, `filesystems`: `single_open`), a regular file. A
/// read shorter than asked is its end, which spares the final read that returns nothing. (Not
/// for multi-record `seq_file`s such as `/proc/self/mounts`, which can return less before
/// their end.)
pub(crate) fn one_piece(path: &Path, limit: usize) -> io::Result<Vec<u8>> {
    read_all(File::open(path)?, limit, true)
}

/// At most `limit` bytes from an open file, in one buffer without a size probe; with
/// `short_is_end`, a short read ends it (see [`one_piece`]).
fn read_all(mut f: File, limit: usize, short_is_end: bool) -> io::Result<Vec<u8>> {
    // Most procfs and sysfs files fit in 4 KiB; longer ones (a container host's mount table)
    // grow the buffer by doubling, each read still filling what the kernel formatted.
    let mut buf = vec![0u8; limit.min(4 * 1024)];
    let mut len = 0;
    loop {
        if len == buf.len() {
            if len >= limit {
                break;
            }
            buf.resize(len.saturating_mul(2).min(limit), 0);
        }
        match f.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => {
                let asked = buf.len() - len;
                len += n;
                if short_is_end && n < asked {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(len);
    Ok(buf)
}

/// The start of a multi-record `seq_file` such as `/proc/cpuinfo`, read so that the kernel
/// formats as few records as it can: a first read of `first` bytes (the kernel formats the first
/// record whole and hands out its start), then reads of `step` bytes, served from that formatted
/// record, until `enough` says the text read so far suffices or the file ends. A step that runs
/// past the record only costs the formatting of the next one; the text is the same.
pub(crate) fn prefix_until(
    path: &Path,
    first: usize,
    step: usize,
    enough: impl Fn(&[u8]) -> bool,
) -> io::Result<Vec<u8>> {
    let mut f = File::open(path)?;
    let mut buf = vec![0u8; first + 8 * step];
    let mut len = 0;
    let mut want = first;
    loop {
        if buf.len() < len + want {
            buf.resize(len + want, 0);
        }
        match f.read(&mut buf[len..len + want]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        if enough(&buf[..len]) {
            break;
        }
        want = step;
    }
    buf.truncate(len);
    Ok(buf)
}

/// The start of an x86 `/proc/cpuinfo` through its first record's `flags` line (see
/// [`crate::cpu::first_record_complete`]), with the kernel formatting only that record when the
/// record is longer than the first read (1 KiB: a current x86 record is 1.1 to 1.8 KiB, most of
/// it the flags), then reads of 128 bytes, fewer than what follows the flags line (`bugs`,
/// `bogomips`, `address sizes`...), so that no read runs into the next record.
pub(crate) fn cpuinfo_first_record(path: &Path) -> io::Result<Vec<u8>> {
    prefix_until(path, 1024, 128, crate::cpu::first_record_complete)
}

/// A directory opened once, whose files are then opened relative to it: one path walk (and one
/// failed lookup when the directory is missing) instead of one per file.
pub(crate) struct Dir {
    #[cfg(unix)]
    fd: std::os::fd::OwnedFd,
    #[cfg(not(unix))]
    path: std::path::PathBuf,
}

impl Dir {
    /// Opens `path` as a directory (on Linux with `O_PATH`: no read permission needed).
    #[cfg(unix)]
    #[allow(unsafe_code)]
    pub(crate) fn open(path: &Path) -> io::Result<Dir> {
        use std::os::fd::FromRawFd;
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        #[cfg(target_os = "linux")]
        let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;
        #[cfg(not(target_os = "linux"))]
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
        // SAFETY: c is NUL-terminated; the descriptor returned is owned by the OwnedFd.
        let fd = unsafe { libc::open(c.as_ptr(), flags) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a descriptor we just opened and own.
        Ok(Dir {
            fd: unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Opens `path` as a directory.
    #[cfg(not(unix))]
    pub(crate) fn open(path: &Path) -> io::Result<Dir> {
        if std::fs::metadata(path)?.is_dir() {
            Ok(Dir {
                path: path.to_path_buf(),
            })
        } else {
            Err(io::Error::from(io::ErrorKind::NotFound))
        }
    }

    /// At most `limit` bytes of the file `name` in this directory, which the kernel hands out in
    /// one piece (see [`one_piece`]).
    #[cfg(unix)]
    #[allow(unsafe_code)]
    pub(crate) fn bytes(&self, name: &str, limit: usize) -> io::Result<Vec<u8>> {
        use std::os::fd::{AsRawFd, FromRawFd};
        let c = std::ffi::CString::new(name)
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: the directory descriptor is open for our lifetime; c is NUL-terminated.
        let fd = unsafe {
            libc::openat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                libc::O_RDONLY | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a descriptor we just opened and own; File closes it.
        let f = unsafe { File::from_raw_fd(fd) };
        read_all(f, limit, true)
    }

    /// At most `limit` bytes of the file `name` in this directory.
    #[cfg(not(unix))]
    pub(crate) fn bytes(&self, name: &str, limit: usize) -> io::Result<Vec<u8>> {
        one_piece(&self.path.join(name), limit)
    }
}

/// The whole file as text (invalid UTF-8 replaced).
pub(crate) fn text(path: &Path) -> io::Result<String> {
    bytes(path, usize::MAX).map(into_text)
}

/// Bytes as text, without copying when they are valid UTF-8.
pub(crate) fn into_text(b: Vec<u8>) -> String {
    String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_and_prefix() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("f");
        let data: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&p, &data).expect("write");
        assert_eq!(bytes(&p, usize::MAX).expect("read"), data);
        assert_eq!(bytes(&p, 100).expect("read"), &data[..100]);
        assert_eq!(bytes(&p, 20_000).expect("read"), &data[..20_000]);
        std::fs::write(&p, "").expect("write");
        assert!(bytes(&p, usize::MAX).expect("read").is_empty());
        assert!(bytes(&dir.path().join("none"), 10).is_err());
        assert_eq!(into_text(b"a\xffb".to_vec()), "a\u{fffd}b");
    }
}
