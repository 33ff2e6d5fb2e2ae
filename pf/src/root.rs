//! Reading files under a root directory as a container runtime would: every path and every
//! symbolic link met on the way resolves inside the root.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use crate::rules::ReleaseFiles;
use crate::rules::linux::{probe_etc_files, wanted_etc_file};
use crate::{Error, Result};

/// How many symbolic links one resolution may follow before it is called a loop (Linux's
/// `MAXSYMLINKS`).
pub const MAX_SYMLINK_HOPS: usize = 40;

/// Largest prefix of a release file that is read: they are a few hundred bytes, and a huge or
/// endless file (a link to a device image) must not stall detection.
const MAX_FILE_BYTES: u64 = 64 * 1024;

fn push_components(path: &Path, out: &mut VecDeque<OsString>) {
    for c in path.components() {
        match c {
            Component::Prefix(_) | Component::RootDir | Component::CurDir => {}
            Component::ParentDir => out.push_back("..".into()),
            Component::Normal(s) => out.push_back(s.to_os_string()),
        }
    }
}

/// Resolves `path` inside `root` as if `root` were `/`: component by component, following
/// every symbolic link, absolute targets from `root`, `..` never above `root`.
///
/// The result is a path under `root` free of symbolic links up to its first missing component
/// (a missing file resolves to where it would be, so reading it then fails with "not found").
///
/// # Errors
/// - [`Error::SymlinkLoop`] after [`MAX_SYMLINK_HOPS`] links (a loop or a very long chain);
/// - [`Error::Io`] when a component cannot be examined (permission denied, ...).
pub fn resolve_in_root(root: &Path, path: &Path) -> Result<PathBuf> {
    let mut pending = VecDeque::new();
    push_components(path, &mut pending);
    let mut resolved: Vec<OsString> = Vec::new();
    let mut missing = false;
    let mut hops = 0;
    let here = |resolved: &[OsString]| -> PathBuf {
        let mut p = root.to_path_buf();
        p.extend(resolved);
        p
    };
    while let Some(c) = pending.pop_front() {
        if c == ".." {
            resolved.pop();
            continue;
        }
        if missing {
            resolved.push(c);
            continue;
        }
        let candidate = here(&resolved).join(&c);
        match fs::symlink_metadata(&candidate) {
            Ok(m) if m.file_type().is_symlink() => {
                hops += 1;
                if hops > MAX_SYMLINK_HOPS {
                    return Err(Error::SymlinkLoop {
                        root: root.to_path_buf(),
                        path: path.to_path_buf(),
                    });
                }
                let target = fs::read_link(&candidate).map_err(|source| Error::Io {
                    path: candidate.clone(),
                    source,
                })?;
                if target.has_root() {
                    resolved.clear();
                }
                let mut next = VecDeque::new();
                push_components(&target, &mut next);
                next.extend(pending);
                pending = next;
            }
            Ok(_) => resolved.push(c),
            Err(e) if is_missing(&e) => {
                missing = true;
                resolved.push(c);
            }
            Err(source) => {
                return Err(Error::Io {
                    path: candidate,
                    source,
                });
            }
        }
    }
    Ok(here(&resolved))
}

fn is_missing(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

/// Reads a text file under `root` (resolved with [`resolve_in_root`]): at most 64 KiB, invalid
/// UTF-8 replaced. `None` when it is missing, not a regular file or unreadable.
///
/// A *link stub* is followed like a symbolic link: a small file whose whole content is a path
/// to another existing file under `root` ("../usr/lib/os-release", "centos-release"), as git
/// writes symbolic links on a checkout without symlink support and as some copies of release
/// trees carry them.
pub(crate) fn read_text(root: &Path, path: &str) -> Option<String> {
    let mut logical = PathBuf::from(path);
    for _ in 0..=MAX_SYMLINK_HOPS {
        let real = resolve(root, &logical)?;
        let text = read_file(&real)?;
        match link_stub(&text) {
            Some(target) => {
                let inside = real.strip_prefix(root).ok()?;
                let next = inside.parent().unwrap_or(Path::new("")).join(target);
                let next_real = resolve(root, &next)?;
                if !fs::metadata(&next_real).is_ok_and(|m| m.is_file()) {
                    return Some(text);
                }
                logical = next;
            }
            None => return Some(text),
        }
    }
    None
}

/// [`resolve_in_root`], short-cut for the host's own `/`: there the kernel's resolution is the
/// same (absolute links start at `/`, `..` stops at `/`), in one system call instead of one
/// per component.
fn resolve(root: &Path, path: &Path) -> Option<PathBuf> {
    if root.as_os_str() == "/" {
        let rel = path.strip_prefix("/").unwrap_or(path);
        return Some(root.join(rel));
    }
    resolve_in_root(root, path).ok()
}

fn read_file(real: &Path) -> Option<String> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    // A FIFO planted in an image must not block the open.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(real).ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() {
        return None;
    }
    let len = meta.len().min(MAX_FILE_BYTES);
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0) + 1);
    file.take(MAX_FILE_BYTES).read_to_end(&mut bytes).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// The target of a link stub: one word of path characters, nothing else.
fn link_stub(text: &str) -> Option<&str> {
    let t = text.trim();
    let ok = !t.is_empty()
        && t.len() <= 255
        && t.chars().any(|c| c.is_ascii_alphabetic())
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '-' | '_' | '+'));
    ok.then_some(t)
}

/// The `etc/` files worth reading for a well-known family, given its os-release: reading them
/// directly costs a few system calls where listing a large `/etc` costs far more. `None`
/// (list `etc/`) for every other distribution.
fn family_files(os_release: &str) -> Option<Vec<String>> {
    let kv = crate::rules::parse_os_release(os_release);
    let id = kv
        .get("ID")
        .map(|s| crate::rules::linux::normalize_os_id(s))?;
    let own = [format!("{id}-release"), format!("{id}_version")];
    let mut family: Vec<String> = vec![id];
    family.extend(
        kv.get("ID_LIKE")
            .into_iter()
            .flat_map(|l| l.split_whitespace())
            .map(str::to_lowercase),
    );
    let has = |x: &str| family.iter().any(|f| f == x);
    let mut names = vec!["lsb-release", "upstream-release/lsb-release"];
    if has("debian") || has("ubuntu") || has("raspbian") {
        names.extend(["debian_version", "armbian-release", "board-release"]);
    } else if has("rhel") || has("centos") || has("fedora") {
        names.extend([
            "redhat-release",
            "system-release",
            "centos-release",
            "fedora-release",
            "oracle-release",
            "enterprise-release",
            "sl-release",
            "rocky-release",
            "almalinux-release",
            "amazon-linux-release",
        ]);
    } else if has("suse") || has("sles") || has("opensuse") {
        names.push("SuSE-release");
    } else {
        return None;
    }
    let mut names: Vec<String> = names.into_iter().map(str::to_string).collect();
    names.extend(own.into_iter().filter(|n| is_safe_name(n)));
    Some(names)
}

/// A file name made of letters, digits, `-`, `_` and `.`, nothing that walks elsewhere.
fn is_safe_name(name: &str) -> bool {
    !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Collects the release files of the Linux (or BSD, Solaris) system installed under `root`:
/// `etc/os-release` (else `usr/lib/os-release`), `etc/lsb-release`, `etc/debian_version`,
/// every `etc/*-release` and `etc/*_version`, `etc/upstream-release/lsb-release` and
/// `etc/release`. Every path and link resolves inside `root`. Never fails: what cannot be read
/// is left out.
///
/// When os-release names a Debian, Red Hat or SUSE family member, only the files that family
/// uses are read (each by name); otherwise `etc/` is listed for every candidate.
#[must_use]
pub fn read_release_files(root: &Path) -> ReleaseFiles {
    let mut files = ReleaseFiles::new();
    files.os_release =
        read_text(root, "etc/os-release").or_else(|| read_text(root, "usr/lib/os-release"));
    let mut has_upstream = true;
    let family = files.os_release.as_deref().and_then(family_files);
    let listed = family.or_else(|| {
        resolve(root, Path::new("etc"))
            .and_then(|etc| fs::read_dir(etc).ok())
            .map(|dir| {
                has_upstream = false;
                let mut names = Vec::new();
                for name in dir.filter_map(|e| e.ok()?.file_name().into_string().ok()) {
                    has_upstream |= name == "upstream-release";
                    if wanted_etc_file(&name) {
                        names.push(name);
                    }
                }
                names
            })
    });
    let mut names: Vec<String> = match listed {
        Some(names) => names,
        None => probe_etc_files().map(str::to_string).collect(),
    };
    if has_upstream {
        names.push("upstream-release/lsb-release".into());
    }
    if files.os_release.is_none()
        && let Some(text) = read_text(root, "bin/freebsd-version")
    {
        files.other.insert("bin/freebsd-version".into(), text);
    }
    if files.os_release.is_none()
        && let Some(text) = read_text(root, "bin/uname").filter(|t| t.starts_with("#!"))
    {
        files.other.insert("bin/uname".into(), text);
    }
    for name in names {
        if files.etc.contains_key(&name) {
            continue;
        }
        if let Some(text) = read_text(root, &format!("etc/{name}")) {
            files.etc.insert(name, text);
        }
    }
    files
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tmp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("pf-root-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("etc")).ok();
        dir
    }

    #[test]
    fn links_stay_inside() -> std::result::Result<(), Box<dyn std::error::Error>> {
        let root = tmp("inside");
        fs::create_dir_all(root.join("usr/lib"))?;
        fs::write(root.join("usr/lib/os-release"), "ID=inside\n")?;
        symlink("/usr/lib/os-release", root.join("etc/abs"))?;
        symlink("../usr/lib/os-release", root.join("etc/rel"))?;
        symlink(
            "../../../../../../usr/lib/os-release",
            root.join("etc/deep"),
        )?;
        symlink("rel", root.join("etc/chain"))?;
        symlink("loop2", root.join("etc/loop1"))?;
        symlink("loop1", root.join("etc/loop2"))?;
        let want = root.join("usr/lib/os-release");
        for p in [
            "etc/abs",
            "etc/rel",
            "etc/deep",
            "etc/chain",
            "/etc/chain",
            "../../etc/abs",
        ] {
            assert_eq!(resolve_in_root(&root, Path::new(p))?, want, "{p}");
        }
        assert!(matches!(
            resolve_in_root(&root, Path::new("etc/loop1")),
            Err(Error::SymlinkLoop { .. })
        ));
        assert_eq!(read_text(&root, "etc/loop1"), None);
        assert_eq!(
            resolve_in_root(&root, Path::new("etc/missing/x"))?,
            root.join("etc/missing/x")
        );
        // Link stubs: a file holding the path of another file.
        fs::write(root.join("etc/stub"), "../usr/lib/os-release")?;
        fs::write(root.join("etc/stub2"), "stub\n")?;
        fs::write(root.join("etc/debian_version"), "bookworm/sid\n")?;
        fs::write(root.join("etc/self"), "self")?;
        assert_eq!(read_text(&root, "etc/stub").as_deref(), Some("ID=inside\n"));
        assert_eq!(
            read_text(&root, "etc/stub2").as_deref(),
            Some("ID=inside\n")
        );
        assert_eq!(
            read_text(&root, "etc/debian_version").as_deref(),
            Some("bookworm/sid\n")
        );
        assert_eq!(read_text(&root, "etc/self"), None);
        fs::remove_dir_all(&root)?;
        Ok(())
    }
}
