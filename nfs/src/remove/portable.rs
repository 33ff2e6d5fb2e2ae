//! Portable backend (Windows and other non-Unix systems): paths and `std::fs`, never
//! following a link (`symlink_metadata`; directory links and junctions are removed as
//! links). Read-only entries get their read-only attribute cleared and are retried.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::{Backend, Kind};
use crate::error::{Error, Result};

pub(crate) struct Fs;

fn kind_of(ft: fs::FileType) -> Kind {
    if ft.is_symlink() {
        Kind::Symlink
    } else if ft.is_dir() {
        Kind::Dir
    } else if ft.is_file() {
        Kind::File
    } else {
        Kind::Other
    }
}

/// Clear the read-only attribute of `path` (not following a link). Returns whether it
/// was set.
fn clear_readonly(path: &Path) -> bool {
    let Ok(md) = fs::symlink_metadata(path) else {
        return false;
    };
    let mut perms = md.permissions();
    if !perms.readonly() {
        return false;
    }
    #[allow(clippy::permissions_set_readonly_false)] // on Windows this clears an attribute
    perms.set_readonly(false);
    fs::set_permissions(path, perms).is_ok()
}

/// Retry once after clearing the read-only attribute of `path`.
fn retry_writable(path: &Path, f: impl Fn() -> io::Result<()>) -> io::Result<()> {
    match f() {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied && clear_readonly(path) => f(),
        r => r,
    }
}

/// Remove a link to a directory (or a junction), which Windows removes as a directory.
fn remove_link(path: &Path) -> io::Result<()> {
    #[cfg(windows)]
    {
        use std::os::windows::fs::FileTypeExt;
        if let Ok(md) = fs::symlink_metadata(path)
            && md.file_type().is_symlink_dir()
        {
            return fs::remove_dir(path);
        }
    }
    fs::remove_file(path)
}

impl Backend for Fs {
    type Dir = PathBuf;

    fn with_parent<T>(
        &self,
        parent: &Path,
        _item: &Path,
        _dry: bool,
        f: impl FnOnce(&PathBuf) -> Result<T>,
    ) -> Result<T> {
        f(&parent.to_path_buf())
    }

    fn kind(&self, dir: &PathBuf, name: &OsStr, path: &Path) -> Result<Option<Kind>> {
        match fs::symlink_metadata(dir.join(name)) {
            Ok(md) => Ok(Some(kind_of(md.file_type()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("inspect", path, e)),
        }
    }

    fn open(
        &self,
        dir: &PathBuf,
        name: &OsStr,
        path: &Path,
        _dry: bool,
    ) -> Result<Option<PathBuf>> {
        match self.kind(dir, name, path)? {
            Some(Kind::Dir) => Ok(Some(dir.join(name))),
            _ => Ok(None),
        }
    }

    fn list(&self, dir: &mut PathBuf, path: &Path) -> Result<Vec<(OsString, Kind)>> {
        let rd = fs::read_dir(&*dir).map_err(|e| Error::io("read directory", path, e))?;
        let mut out = Vec::new();
        for e in rd {
            let e = e.map_err(|e| Error::io("read directory", path, e))?;
            let ft = e
                .file_type()
                .map_err(|err| Error::io("inspect", e.path(), err))?;
            out.push((e.file_name(), kind_of(ft)));
        }
        Ok(out)
    }

    fn size(&self, dir: &PathBuf, name: &OsStr) -> u64 {
        fs::symlink_metadata(dir.join(name))
            .map(|m| m.len())
            .unwrap_or(0)
    }

    fn unlink(&self, dir: &PathBuf, name: &OsStr, path: &Path) -> Result<()> {
        let p = dir.join(name);
        match retry_writable(&p, || remove_link(&p)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("remove", path, e)),
        }
    }

    fn rmdir(&self, dir: &PathBuf, name: &OsStr, path: &Path) -> Result<()> {
        let p = dir.join(name);
        match retry_writable(&p, || fs::remove_dir(&p)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("remove directory", path, e)),
        }
    }
}
