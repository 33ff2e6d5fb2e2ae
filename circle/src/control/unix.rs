//! The Unix socket endpoint: a private directory, a 0600 socket, stale-socket recovery.

use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tokio::net::UnixListener;

use crate::error::{Error, Result};

/// The default socket path for a configuration named `stem`: `$XDG_RUNTIME_DIR/circle/STEM.sock`
/// when `xdg_runtime_dir` is an absolute path, else `/tmp/circle-UID/STEM.sock`.
pub(crate) fn default_socket_path(stem: &str, xdg_runtime_dir: Option<&Path>, uid: u32) -> PathBuf {
    match xdg_runtime_dir {
        Some(dir) if dir.is_absolute() => dir.join("circle").join(format!("{stem}.sock")),
        _ => PathBuf::from(format!("/tmp/circle-{uid}")).join(format!("{stem}.sock")),
    }
}

/// What is wrong with an existing directory that is to hold the control socket, if anything.
/// `mode` and `owner` are the directory's, `uid` is ours.
///
/// The socket itself is 0600, so a directory others may enter but not change (0755, owned by
/// us or root) is safe; one where others could delete or replace the socket is not: writable
/// by group or others without the sticky bit, or owned by another user.
pub(crate) fn dir_problem(mode: u32, owner: u32, uid: u32) -> Option<String> {
    if owner != uid && owner != 0 {
        return Some(format!(
            "is owned by uid {owner}, neither this user (uid {uid}) nor root"
        ));
    }
    let sticky = mode & 0o1000 != 0;
    if mode & 0o022 != 0 && !sticky {
        return Some(format!(
            "is writable by other users (mode {:04o}), who could replace the control socket; \
             use a directory only its owner can change (chmod 700)",
            mode & 0o7777
        ));
    }
    None
}

pub(crate) fn euid() -> u32 {
    // SAFETY: geteuid cannot fail and has no preconditions.
    unsafe { libc::geteuid() }
}

/// Creates the socket's directory (mode 0700) or checks that the existing one is private.
fn prepare_dir(dir: &Path, endpoint: &Path) -> Result<()> {
    let err = |source: io::Error| Error::Endpoint {
        endpoint: endpoint.display().to_string(),
        source,
    };
    if let Some(parent) = dir.parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent).map_err(err)?;
        }
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {
            // The umask may have narrowed it further, never widened it; make it exact.
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(err)?;
            return Ok(());
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(err(e)),
    }
    let meta = std::fs::symlink_metadata(dir).map_err(err)?;
    if !meta.is_dir() {
        return Err(err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a directory", dir.display()),
        )));
    }
    if let Some(problem) = dir_problem(meta.mode(), meta.uid(), euid()) {
        return Err(err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("directory {} {problem}", dir.display()),
        )));
    }
    Ok(())
}

/// Binds the socket: private directory, stale socket removed, a live `circled` refused with
/// [`Error::AlreadyRunning`], socket mode 0600.
pub(crate) async fn bind(path: &Path) -> Result<UnixListener> {
    let err = |source: io::Error| Error::Endpoint {
        endpoint: path.display().to_string(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    prepare_dir(&dir, path)?;
    match std::fs::symlink_metadata(path) {
        Ok(meta) => {
            use std::os::unix::fs::FileTypeExt;
            if !meta.file_type().is_socket() {
                return Err(err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "exists and is not a socket",
                )));
            }
            let endpoint = super::Endpoint::Unix(path.to_path_buf());
            match super::Client::connect(&endpoint).await {
                Ok(mut client) => {
                    let pid = client.info().await.map(|i| i.pid).ok();
                    return Err(Error::AlreadyRunning {
                        pid,
                        what: path.display().to_string(),
                    });
                }
                Err(_) => {
                    tracing::info!("removing stale control socket {}", path.display());
                    std::fs::remove_file(path).map_err(err)?;
                }
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(e)),
    }
    let listener = UnixListener::bind(path).map_err(err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(err)?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_paths() {
        assert_eq!(
            default_socket_path("tour", Some(Path::new("/run/user/1000")), 1000),
            Path::new("/run/user/1000/circle/tour.sock")
        );
        assert_eq!(
            default_socket_path("tour", None, 1000),
            Path::new("/tmp/circle-1000/tour.sock")
        );
        assert_eq!(
            default_socket_path("tour", Some(Path::new("relative")), 7),
            Path::new("/tmp/circle-7/tour.sock")
        );
    }

    #[test]
    fn directory_rules() {
        assert_eq!(dir_problem(0o40700, 5, 5), None);
        assert_eq!(dir_problem(0o40500, 5, 5), None);
        assert_eq!(dir_problem(0o40755, 5, 5), None);
        assert_eq!(dir_problem(0o40755, 0, 5), None);
        assert_eq!(dir_problem(0o41777, 0, 5), None);
        assert!(dir_problem(0o40775, 5, 5).unwrap().contains("0775"));
        assert!(dir_problem(0o40777, 5, 5).unwrap().contains("chmod 700"));
        assert!(dir_problem(0o40700, 7, 5).unwrap().contains("uid 7"));
    }

    #[tokio::test]
    async fn binds_private_and_replaces_stale() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("sub").join("c.sock");
        let l = bind(&path).await.unwrap();
        let dmode = std::fs::metadata(path.parent().unwrap()).unwrap().mode();
        assert_eq!(dmode & 0o777, 0o700);
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        drop(l); // leaves the socket file behind, like a killed circled
        assert!(path.exists());
        let _l = bind(&path).await.unwrap();

        let open = tmp.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = bind(&open.join("c.sock")).await.unwrap_err().to_string();
        assert!(e.contains("chmod 700"), "{e}");

        let file = tmp.path().join("plain");
        std::fs::write(&file, "x").unwrap();
        assert!(bind(&file).await.is_err());
        assert_eq!(std::fs::read(&file).unwrap(), b"x");
    }
}
