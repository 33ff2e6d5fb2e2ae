//! Unix daemonizing: fork, setsid, standard streams redirected, readiness pipe.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::io::RawFd;
use std::path::Path;

use super::{Detached, Readiness};
use crate::error::{Error, Result};

fn last(what: &str) -> Error {
    Error::runtime(what, io::Error::last_os_error())
}

/// See [`super::daemonize`].
pub(super) fn daemonize(log: Option<&Path>) -> Result<Detached> {
    // Open the log before forking, so a bad path is reported by the launcher.
    let target = match log {
        Some(p) => CString::new(p.as_os_str().as_bytes()).map_err(|_| {
            Error::io(
                p,
                io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"),
            )
        })?,
        None => CString::new("/dev/null").map_err(|_| last("log path"))?,
    };
    // SAFETY: plain descriptor calls; the path is NUL-terminated.
    let out_fd = unsafe {
        libc::open(
            target.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_APPEND | libc::O_CLOEXEC | libc::O_NOCTTY,
            0o644 as libc::c_uint,
        )
    };
    if out_fd < 0 {
        let e = io::Error::last_os_error();
        return Err(match log {
            Some(p) => Error::io(p, e),
            None => Error::runtime("open /dev/null", e),
        });
    }
    let mut fds: [RawFd; 2] = [-1, -1];
    // SAFETY: fds is a two-element array.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(last("readiness pipe"));
    }
    let (rd, wr) = (fds[0], fds[1]);
    for fd in [rd, wr] {
        // SAFETY: setting FD_CLOEXEC on our own descriptors, so watchers never inherit them.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }

    // SAFETY: called while single-threaded (before any runtime starts); see `daemonize`'s docs.
    match unsafe { libc::fork() } {
        -1 => Err(last("fork")),
        0 => {
            // The daemon: leader of a new session (sid == pid) without a controlling terminal,
            // as daemon(3) does. It never opens a terminal (its log is opened O_NOCTTY), so it
            // cannot acquire one.
            // SAFETY: single-threaded child; redirecting our own standard descriptors.
            unsafe {
                libc::close(rd);
                if libc::setsid() < 0 {
                    libc::_exit(1);
                }
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_NOCTTY);
                if null >= 0 {
                    libc::dup2(null, 0);
                    if null > 2 {
                        libc::close(null);
                    }
                }
                libc::dup2(out_fd, 1);
                libc::dup2(out_fd, 2);
                if out_fd > 2 {
                    libc::close(out_fd);
                }
            }
            Ok(Detached::Daemon(Readiness { fd: Some(wr) }))
        }
        _daemon => {
            // The launcher: wait for the daemon's word (or its death: EOF).
            // SAFETY: closing our copies.
            unsafe {
                libc::close(wr);
                libc::close(out_fd);
            }
            let mut msg = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                // SAFETY: reading into a local buffer.
                let n = unsafe { libc::read(rd, buf.as_mut_ptr().cast(), buf.len()) };
                match n {
                    0 => break,
                    n if n > 0 => msg.extend_from_slice(&buf[..n as usize]),
                    _ if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => {}
                    _ => break,
                }
            }
            // SAFETY: our descriptor.
            unsafe { libc::close(rd) };
            Ok(Detached::Launcher(super::launcher_outcome(&msg)))
        }
    }
}

impl Readiness {
    pub(super) fn write(&mut self, bytes: &[u8]) {
        if let Some(fd) = self.fd.take() {
            let mut rest = bytes;
            while !rest.is_empty() {
                // SAFETY: writing from a live slice to our pipe.
                let n = unsafe { libc::write(fd, rest.as_ptr().cast(), rest.len()) };
                if n <= 0 {
                    if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                        continue;
                    }
                    break;
                }
                rest = &rest[n as usize..];
            }
            // SAFETY: our descriptor, closed once.
            unsafe { libc::close(fd) };
        }
    }
}
