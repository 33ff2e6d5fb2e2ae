//! Unix backend: every step relative to an open directory handle, never following a
//! link (`O_NOFOLLOW | O_DIRECTORY`, `AT_SYMLINK_NOFOLLOW`).

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fd::BorrowedFd;
use rustix::fs::{AtFlags, CWD, Dir as RDir, FileType, Mode, OFlags};
use rustix::io::Errno;

use super::{Backend, Kind};
use crate::error::{Error, Result};

pub(crate) struct Fs;

fn err(op: &'static str, path: &Path, e: Errno) -> Error {
    Error::io(op, path, io::Error::from(e))
}

fn kind_of(t: FileType) -> Option<Kind> {
    Some(match t {
        FileType::Directory => Kind::Dir,
        FileType::RegularFile => Kind::File,
        FileType::Symlink => Kind::Symlink,
        FileType::Unknown => return None,
        _ => Kind::Other,
    })
}

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// The descriptor of an open directory stream (`dirfd`, no system call).
fn fd(dir: &RDir) -> rustix::io::Result<BorrowedFd<'_>> {
    dir.fd()
}

/// The permission bits of a `stat` (`mode_t` is 16 bits on some systems).
#[allow(clippy::unnecessary_cast)]
fn perm_bits(st: &rustix::fs::Stat) -> u32 {
    (st.st_mode as u32) & 0o7777
}

/// Give the owner write and search permission on an open directory, so that its
/// entries can be removed. Returns whether the mode changed.
fn make_writable(dir: &RDir) -> bool {
    let Ok(fd) = fd(dir) else {
        return false;
    };
    let Ok(st) = rustix::fs::fstat(fd) else {
        return false;
    };
    let mode = perm_bits(&st);
    if mode & 0o300 == 0o300 {
        return false;
    }
    rustix::fs::fchmod(fd, Mode::from_raw_mode((mode | 0o700) as _)).is_ok()
}

/// Retry `f` once after making `dir` writable, when it failed for lack of permission.
fn with_write<T>(
    dir: &RDir,
    mut f: impl FnMut() -> rustix::io::Result<T>,
) -> rustix::io::Result<T> {
    match f() {
        Err(Errno::ACCESS | Errno::PERM) if make_writable(dir) => f(),
        r => r,
    }
}

impl Backend for Fs {
    type Dir = RDir;

    fn with_parent<T>(
        &self,
        parent: &Path,
        item: &Path,
        _dry: bool,
        f: impl FnOnce(&RDir) -> Result<T>,
    ) -> Result<T> {
        let pfd = match rustix::fs::openat(
            CWD,
            parent,
            DIR_FLAGS.difference(OFlags::NOFOLLOW),
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => {
                return Err(Error::NotFound {
                    path: item.to_path_buf(),
                });
            }
            Err(e) => return Err(err("open", parent, e)),
        };
        let before = rustix::fs::fstat(&pfd).ok().map(|s| perm_bits(&s));
        let dir = RDir::new(pfd).map_err(|e| err("open", parent, e))?;
        let result = f(&dir);
        if let Some(mode) = before
            && let Ok(fd) = fd(&dir)
            && let Ok(now) = rustix::fs::fstat(fd)
            && perm_bits(&now) != mode
        {
            // Put back the mode the removal changed to unlink a read-only entry.
            let _ = rustix::fs::fchmod(fd, Mode::from_raw_mode(mode as _));
        }
        result
    }

    fn kind(&self, dir: &RDir, name: &OsStr, path: &Path) -> Result<Option<Kind>> {
        match fd(dir).and_then(|d| rustix::fs::statat(d, name, AtFlags::SYMLINK_NOFOLLOW)) {
            Ok(st) => Ok(Some(
                kind_of(FileType::from_raw_mode(st.st_mode as _)).unwrap_or(Kind::Other),
            )),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(err("inspect", path, e)),
        }
    }

    fn open(&self, dir: &RDir, name: &OsStr, path: &Path, dry: bool) -> Result<Option<RDir>> {
        let open = || fd(dir).and_then(|d| rustix::fs::openat(d, name, DIR_FLAGS, Mode::empty()));
        let fd = match open() {
            Ok(fd) => fd,
            // A link (ELOOP) or a file (ENOTDIR) now stands there: not a directory.
            Err(Errno::LOOP | Errno::NOTDIR) => return Ok(None),
            Err(Errno::ACCESS) if !dry => {
                // An unreadable directory (mode 0o000 and the like): give the owner
                // rwx, then open it. `fchmodat` cannot refuse links on Linux, so check
                // it is still a directory right before.
                let st = fd(dir)
                    .and_then(|d| rustix::fs::statat(d, name, AtFlags::SYMLINK_NOFOLLOW))
                    .map_err(|e| err("inspect", path, e))?;
                if FileType::from_raw_mode(st.st_mode as _) != FileType::Directory {
                    return Ok(None);
                }
                let mode = perm_bits(&st) | 0o700;
                with_write(dir, || {
                    rustix::fs::chmodat(
                        fd(dir)?,
                        name,
                        Mode::from_raw_mode(mode as _),
                        AtFlags::empty(),
                    )
                })
                .map_err(|e| err("change permissions of", path, e))?;
                open().map_err(|e| err("open", path, e))?
            }
            Err(e) => return Err(err("open", path, e)),
        };
        RDir::new(fd).map(Some).map_err(|e| err("open", path, e))
    }

    fn list(&self, dir: &mut RDir, path: &Path) -> Result<Vec<(OsString, Kind)>> {
        let mut out = Vec::new();
        while let Some(e) = dir.read() {
            let e = e.map_err(|e| err("read directory", path, e))?;
            let name = e.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            let name = OsStr::from_bytes(name);
            let kind = match kind_of(e.file_type()) {
                Some(k) => k,
                // The file system does not give types in its listing: ask.
                None => match self.kind(dir, name, &path.join(name))? {
                    Some(k) => k,
                    None => continue,
                },
            };
            out.push((name.to_os_string(), kind));
        }
        Ok(out)
    }

    fn size(&self, dir: &RDir, name: &OsStr) -> u64 {
        fd(dir)
            .and_then(|d| rustix::fs::statat(d, name, AtFlags::SYMLINK_NOFOLLOW))
            .map(|s| s.st_size as u64)
            .unwrap_or(0)
    }

    fn unlink(&self, dir: &RDir, name: &OsStr, path: &Path) -> Result<()> {
        match with_write(dir, || {
            rustix::fs::unlinkat(fd(dir)?, name, AtFlags::empty())
        }) {
            Ok(()) | Err(Errno::NOENT) => Ok(()),
            Err(e) => Err(err("remove", path, e)),
        }
    }

    fn rmdir(&self, dir: &RDir, name: &OsStr, path: &Path) -> Result<()> {
        match with_write(dir, || {
            rustix::fs::unlinkat(fd(dir)?, name, AtFlags::REMOVEDIR)
        }) {
            Ok(()) | Err(Errno::NOENT) => Ok(()),
            Err(e) => Err(err("remove directory", path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The race std fixed in CVE-2022-21658: a directory listed as such is swapped for a
    /// link to elsewhere before it is opened. Opening refuses the link (`O_NOFOLLOW`), so
    /// the walk treats it as a link and unlinks it, never entering its target.
    #[test]
    fn a_directory_swapped_for_a_link_is_not_entered() {
        let d = tempfile::tempdir().unwrap();
        let outside = d.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("precious"), "x").unwrap();
        let root = d.path().join("root");
        std::fs::create_dir(&root).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("was_a_dir")).unwrap();
        let fs = Fs;
        fs.with_parent(&root, &root, false, |dir| {
            let name = OsStr::new("was_a_dir");
            let path = root.join(name);
            assert!(fs.open(dir, name, &path, false).unwrap().is_none());
            // What `entry` does then: remove it as a link.
            fs.unlink(dir, name, &path).unwrap();
            Ok(())
        })
        .unwrap();
        assert!(outside.join("precious").exists());
        assert!(std::fs::symlink_metadata(root.join("was_a_dir")).is_err());
    }

    #[test]
    fn kinds_come_without_following() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("dir")).unwrap();
        std::os::unix::fs::symlink("dir", d.path().join("link")).unwrap();
        std::fs::write(d.path().join("file"), "").unwrap();
        let fs = Fs;
        fs.with_parent(d.path(), d.path(), true, |dir| {
            let k = |n: &str| fs.kind(dir, OsStr::new(n), Path::new(n)).unwrap();
            assert_eq!(k("dir"), Some(Kind::Dir));
            assert_eq!(k("link"), Some(Kind::Symlink));
            assert_eq!(k("file"), Some(Kind::File));
            assert_eq!(k("missing"), None);
            Ok(())
        })
        .unwrap();
    }
}
