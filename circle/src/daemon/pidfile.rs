//! A locked pidfile: held for the life of `circled`, removed on exit.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Parses a pidfile's content: a positive decimal pid, surrounding whitespace allowed.
pub fn parse_pid(text: &str) -> Option<u32> {
    text.trim().parse::<u32>().ok().filter(|&p| p > 0)
}

/// A pidfile holding this process's pid, locked so that a second `circled` on the same file is
/// refused, and removed when dropped.
///
/// # Platform behavior
/// Unix: an exclusive `flock`, released by the OS if the process dies, so a pidfile left by
/// a killed `circled` is recognised as stale (and replaced, with a log line) however old
/// its pid is. Windows: the file is kept open without write sharing. Elsewhere: written
/// without a lock.
#[derive(Debug)]
pub struct Pidfile {
    path: PathBuf,
    file: Option<File>,
    pid: u32,
}

impl Pidfile {
    /// Creates or takes over `path` and writes this process's pid into it.
    ///
    /// # Errors
    /// [`Error::AlreadyRunning`] when another process holds the pidfile,
    /// [`Error::Io`] when it cannot be created or written.
    pub fn acquire(path: impl AsRef<Path>) -> Result<Pidfile> {
        let path = path.as_ref().to_path_buf();
        let io = |e| Error::io(&path, e);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = imp::open_locked(&path)?;
        let mut old = String::new();
        let _ = file.read_to_string(&mut old);
        let pid = std::process::id();
        if let Some(old_pid) = parse_pid(&old).filter(|&p| p != pid) {
            tracing::warn!(
                "replacing stale pidfile {} (pid {old_pid} {})",
                path.display(),
                if imp::alive(old_pid) {
                    "does not hold its lock: pid reused"
                } else {
                    "is not running"
                }
            );
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(format!("{pid}\n").as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(Pidfile {
            path,
            file: Some(file),
            pid,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The pid written.
    pub fn pid(&self) -> u32 {
        self.pid
    }
}

impl Drop for Pidfile {
    fn drop(&mut self) {
        // Only the process that wrote it removes it (not a forked child that inherited it).
        if std::process::id() == self.pid {
            let _ = std::fs::remove_file(&self.path);
        }
        self.file.take();
    }
}

/// Reads the pid in a pidfile, if any.
pub fn read_pid(path: &Path) -> Option<u32> {
    parse_pid(&std::fs::read_to_string(path).ok()?)
}

#[cfg(unix)]
mod imp {
    use std::fs::{File, OpenOptions};
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::AsRawFd;
    use std::path::Path;

    use crate::error::{Error, Result};

    pub fn open_locked(path: &Path) -> Result<File> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::WouldBlock {
                return Err(Error::AlreadyRunning {
                    pid: super::read_pid(path),
                    what: path.display().to_string(),
                });
            }
            return Err(Error::io(path, e));
        }
        Ok(file)
    }

    pub fn alive(pid: u32) -> bool {
        let Ok(pid) = i32::try_from(pid) else {
            return false;
        };
        // SAFETY: signal 0 only checks that the process exists.
        let rc = unsafe { libc::kill(pid, 0) };
        rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
}

#[cfg(windows)]
mod imp {
    use std::fs::{File, OpenOptions};
    use std::os::windows::fs::OpenOptionsExt;
    use std::path::Path;

    use windows_sys::Win32::Foundation::{CloseHandle, ERROR_SHARING_VIOLATION, STILL_ACTIVE};
    use windows_sys::Win32::Storage::FileSystem::FILE_SHARE_READ;
    use windows_sys::Win32::System::Threading::{
        GetExitCodeProcess, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION,
    };

    use crate::error::{Error, Result};

    pub fn open_locked(path: &Path) -> Result<File> {
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .share_mode(FILE_SHARE_READ)
            .open(path)
        {
            Ok(f) => Ok(f),
            Err(e) if e.raw_os_error() == Some(ERROR_SHARING_VIOLATION as i32) => {
                Err(Error::AlreadyRunning {
                    pid: super::read_pid(path),
                    what: path.display().to_string(),
                })
            }
            Err(e) => Err(Error::io(path, e)),
        }
    }

    pub fn alive(pid: u32) -> bool {
        // SAFETY: query-only handle, closed before returning.
        unsafe {
            let h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
            if h.is_null() {
                return false;
            }
            let mut code = 0u32;
            let ok = GetExitCodeProcess(h, &mut code) != 0;
            CloseHandle(h);
            ok && code == STILL_ACTIVE as u32
        }
    }
}

#[cfg(not(any(unix, windows)))]
mod imp {
    use std::fs::{File, OpenOptions};
    use std::path::Path;

    use crate::error::{Error, Result};

    pub fn open_locked(path: &Path) -> Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| Error::io(path, e))
    }

    pub fn alive(_pid: u32) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pids() {
        for (text, want) in [
            ("123\n", Some(123)),
            ("  42  ", Some(42)),
            ("0", None),
            ("-5", None),
            ("", None),
            ("12ab", None),
            ("99999999999", None),
        ] {
            assert_eq!(parse_pid(text), want, "{text:?}");
        }
    }

    #[test]
    fn writes_locks_and_removes() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("run/c.pid");
        let pf = Pidfile::acquire(&path).unwrap();
        assert_eq!(read_pid(&path), Some(std::process::id()));
        #[cfg(unix)]
        {
            // flock is per open file description: a second open in this process conflicts.
            let e = Pidfile::acquire(&path).unwrap_err().to_string();
            assert!(
                e.contains(&format!("already running (pid {})", std::process::id())),
                "{e}"
            );
        }
        drop(pf);
        assert!(!path.exists());
    }

    #[test]
    fn replaces_a_stale_pidfile() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("c.pid");
        // A pid that is not running: a reaped child's.
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .arg("--list")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let dead = child.id();
        child.wait().unwrap();
        std::fs::write(&path, format!("{dead}\n")).unwrap();
        let pf = Pidfile::acquire(&path).unwrap();
        assert_eq!(read_pid(&path), Some(std::process::id()));
        assert_eq!(pf.pid(), std::process::id());
    }
}
