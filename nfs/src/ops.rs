//! `touch`, `rename` and `makedirs`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::copy::{self, CopyOptions};
use crate::error::{Error, Result};
use crate::progress::Report;
use crate::remove::{self, RemoveOptions};

/// Create `path` as an empty file, or set its modification and access times to now;
/// missing parent directories are created.
///
/// ```no_run
/// nfs::touch("/var/run/agent/heartbeat")?;
/// # Ok::<(), nfs::Error>(())
/// ```
///
/// # Errors
/// [`Error::Io`] naming the path (or the parent) that could not be created or updated,
/// [`Error::NotADirectory`] when a parent is a file.
///
/// # Platform behavior
/// Like `touch`, a symbolic link is followed: its target is created or updated.
pub fn touch(path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
        && !parent.is_dir()
    {
        makedirs_inner(parent, None)?;
    }
    let now = filetime::FileTime::now();
    if fs::metadata(path).is_ok() {
        // Times only: works on a read-only file, as `touch` does.
        return filetime::set_file_times(path, now, now)
            .map_err(|e| Error::io("set times of", path, e));
    }
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io("create", path, e))?;
    Ok(())
}

/// Create the directory `path` and its missing parents; each directory created gets
/// exactly `mode` (e.g. `0o750`; the umask does not apply). Existing directories are
/// left as they are.
///
/// ```no_run
/// nfs::makedirs("/opt/agent/data/cache", 0o750)?;
/// # Ok::<(), nfs::Error>(())
/// ```
///
/// # Errors
/// [`Error::NotADirectory`] when `path` or a parent exists and is not a directory,
/// [`Error::Io`] naming the directory that could not be created.
///
/// # Platform behavior
/// `mode` is ignored on Windows (directories inherit their ACL).
pub fn makedirs(path: impl AsRef<Path>, mode: u32) -> Result<()> {
    makedirs_inner(path.as_ref(), Some(mode))
}

fn makedirs_inner(path: &Path, mode: Option<u32>) -> Result<()> {
    let mut missing = Vec::new();
    let mut cur = Some(path);
    while let Some(c) = cur {
        if c.as_os_str().is_empty() {
            break;
        }
        match fs::metadata(c) {
            Ok(m) if m.is_dir() => break,
            Ok(_) => {
                return Err(Error::NotADirectory {
                    path: c.to_path_buf(),
                });
            }
            Err(_) => missing.push(c),
        }
        cur = c.parent();
    }
    for d in missing.into_iter().rev() {
        match fs::create_dir(d) {
            Ok(()) => set_mode(d, mode)?,
            // Created meanwhile by someone else: fine if it is a directory.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && d.is_dir() => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(Error::NotADirectory {
                    path: d.to_path_buf(),
                });
            }
            Err(e) => return Err(Error::io("create directory", d, e)),
        }
    }
    Ok(())
}

#[cfg(unix)]
fn set_mode(d: &Path, mode: Option<u32>) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    match mode {
        Some(m) => fs::set_permissions(d, fs::Permissions::from_mode(m & 0o7777))
            .map_err(|e| Error::io("set permissions of", d, e)),
        None => Ok(()),
    }
}

#[cfg(not(unix))]
fn set_mode(_d: &Path, _mode: Option<u32>) -> Result<()> {
    Ok(())
}

/// Move `src` to `dst` (a file, a link or a directory tree), replacing a file at `dst`.
///
/// Within one file system this is one atomic `rename`. Across file systems it copies
/// `src` (links as links, permissions and times kept) to a temporary name next to `dst`,
/// renames that into place, then removes `src`: `dst` appears whole or not at all.
///
/// ```no_run
/// nfs::rename("/tmp/agent-update", "/opt/agent/next")?;
/// # Ok::<(), nfs::Error>(())
/// ```
///
/// Returns what was moved (a fast rename reports one file or directory, no bytes).
///
/// # Errors
/// [`Error::NotFound`] when `src` is missing, [`Error::IntoItself`] when `dst` is inside
/// `src`, [`Error::Io`] naming the path that failed. After a cross-device copy, an error
/// removing `src` leaves both copies in place.
///
/// # Platform behavior
/// Unix replaces an empty directory at `dst`; Windows refuses to replace a directory and
/// replaces a read-only file only after clearing its attribute.
pub fn rename(src: impl AsRef<Path>, dst: impl AsRef<Path>) -> Result<Report> {
    let (src, dst) = (src.as_ref(), dst.as_ref());
    let md = fs::symlink_metadata(src).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Error::NotFound {
            path: src.to_path_buf(),
        },
        _ => Error::io("inspect", src, e),
    })?;
    let one = |dir: bool| Report {
        files: u64::from(!dir),
        dirs: u64::from(dir),
        ..Report::default()
    };
    match copy::file::replace(src, dst) {
        Ok(()) => Ok(one(md.is_dir())),
        Err(e) if is_cross_device(&e) => move_across(src, dst, md.is_dir()),
        Err(e) if md.is_dir() && dst.starts_with(src) => {
            let _ = e;
            Err(Error::IntoItself {
                src: src.to_path_buf(),
                dst: dst.to_path_buf(),
            })
        }
        Err(e) => Err(Error::io("rename", src, e)),
    }
}

fn is_cross_device(e: &io::Error) -> bool {
    if e.kind() == io::ErrorKind::CrossesDevices {
        return true;
    }
    #[cfg(unix)]
    {
        e.raw_os_error() == Some(rustix::io::Errno::XDEV.raw_os_error())
    }
    #[cfg(windows)]
    {
        // ERROR_NOT_SAME_DEVICE
        e.raw_os_error() == Some(17)
    }
    #[cfg(not(any(unix, windows)))]
    {
        false
    }
}

fn move_across(src: &Path, dst: &Path, is_dir: bool) -> Result<Report> {
    let tmp: PathBuf = copy::file::temp_path(dst);
    let opts = CopyOptions::new().symlinks(true);
    let report = match copy::copy_with(src, &tmp, &opts) {
        Ok(r) => r,
        Err(e) => {
            let _ = remove::remove_with(&tmp, &RemoveOptions::new().missing_ok(true));
            return Err(e);
        }
    };
    if is_dir
        && let Ok(m) = fs::symlink_metadata(dst)
        && m.is_dir()
    {
        // Like rename(2): an empty directory at dst is replaced.
        if let Err(e) = fs::remove_dir(dst) {
            let _ = remove::remove_with(&tmp, &RemoveOptions::new().missing_ok(true));
            return Err(Error::io("replace", dst, e));
        }
    }
    if let Err(e) = copy::file::replace(&tmp, dst) {
        let _ = remove::remove_with(&tmp, &RemoveOptions::new().missing_ok(true));
        return Err(Error::io("rename into place", dst, e));
    }
    remove::remove(src)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touch_creates_then_updates() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a/b/c.txt");
        touch(&p).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"");
        fs::write(&p, "keep").unwrap();
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let mut ro = fs::metadata(&p).unwrap().permissions();
        ro.set_readonly(true);
        fs::set_permissions(&p, ro).unwrap();
        touch(&p).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"keep", "touch never truncates");
        assert!(fs::metadata(&p).unwrap().modified().unwrap() > old);
        let e = touch(p.join("under_a_file")).unwrap_err();
        assert!(
            matches!(e, Error::NotADirectory { .. } | Error::Io { .. }),
            "{e}"
        );
    }

    #[test]
    fn makedirs_sets_the_mode_of_what_it_creates() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x/y/z");
        makedirs(&p, 0o750).unwrap();
        assert!(p.is_dir());
        makedirs(&p, 0o700).unwrap(); // exists: fine, untouched
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for q in [d.path().join("x"), d.path().join("x/y"), p.clone()] {
                assert_eq!(
                    fs::metadata(&q).unwrap().permissions().mode() & 0o777,
                    0o750
                );
            }
        }
        fs::write(d.path().join("f"), "").unwrap();
        let e = makedirs(d.path().join("f/g"), 0o755).unwrap_err();
        assert!(
            matches!(&e, Error::NotADirectory { path } if path.ends_with("f")),
            "{e}"
        );
    }

    #[test]
    fn rename_moves_and_names_missing_sources() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a");
        fs::create_dir_all(a.join("sub")).unwrap();
        fs::write(a.join("sub/f"), "x").unwrap();
        let b = d.path().join("b");
        let r = rename(&a, &b).unwrap();
        assert_eq!(r.dirs, 1);
        assert_eq!(fs::read(b.join("sub/f")).unwrap(), b"x");
        assert!(!a.exists());
        let e = rename(&a, &b).unwrap_err();
        assert!(matches!(e, Error::NotFound { .. }), "{e}");
        let e = rename(&b, b.join("sub/inner")).unwrap_err();
        assert!(matches!(e, Error::IntoItself { .. }), "{e}");
    }

    #[test]
    fn the_cross_device_path_moves_a_tree() {
        // Exercised directly: a second file system is not available in a test.
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a");
        fs::create_dir_all(a.join("sub")).unwrap();
        fs::write(a.join("sub/f"), "x").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("sub/f", a.join("link")).unwrap();
        let b = d.path().join("b");
        fs::create_dir(&b).unwrap(); // an empty dir is replaced, like rename(2)
        let r = move_across(&a, &b, true).unwrap();
        assert_eq!(r.files, if cfg!(unix) { 2 } else { 1 });
        assert!(!a.exists());
        assert_eq!(fs::read(b.join("sub/f")).unwrap(), b"x");
        #[cfg(unix)]
        assert_eq!(fs::read_link(b.join("link")).unwrap(), Path::new("sub/f"));
        let names: Vec<_> = fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            vec![std::ffi::OsString::from("b")],
            "no temporary left"
        );
    }
}
