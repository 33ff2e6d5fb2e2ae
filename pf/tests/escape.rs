//! `detect_in` never reads outside its root, whatever links the tree holds.

#![cfg(unix)]

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

fn write(root: &Path, rel: &str, text: &str) -> std::io::Result<()> {
    let p = root.join(rel);
    if let Some(dir) = p.parent() {
        fs::create_dir_all(dir)?;
    }
    fs::write(p, text)
}

#[test]
fn links_to_the_host_resolve_inside_the_root() -> std::io::Result<()> {
    let tmp = tempfile::tempdir()?;
    let root = tmp.path();
    fs::create_dir_all(root.join("etc"))?;
    write(
        root,
        "usr/lib/os-release",
        "NAME=\"Escape Test\"\nID=escapetest\nVERSION_ID=1.0\n",
    )?;
    // Absolute link: on the host it would be the host's os-release; in the root it is the root's.
    symlink("/usr/lib/os-release", root.join("etc/os-release"))?;
    // Relative links climbing far above the root: clamped at the root, so they find nothing.
    symlink(
        "../../../../../../../../etc/lsb-release",
        root.join("etc/lsb-release"),
    )?;
    symlink(
        "../../../../../../../../etc/debian_version",
        root.join("etc/debian_version"),
    )?;
    // A directory link to the host's /etc: inside the root it is the root's own etc.
    symlink("/etc", root.join("etc/hostetc"))?;
    symlink("hostetc/centos-release", root.join("etc/redhat-release"))?;
    // Loops and long chains.
    symlink("loop-b-release", root.join("etc/loop-a-release"))?;
    symlink("loop-a-release", root.join("etc/loop-b-release"))?;
    symlink("/etc/self-release", root.join("etc/self-release"))?;

    let p = pf::detect_in(root);
    assert_eq!(
        (p.dist(), p.id(), p.version()),
        ("Escape Test", "escapetest", "1.0")
    );
    assert_eq!(p.codename(), None);
    assert!(p.like().is_empty());

    let resolved =
        pf::resolve_in_root(root, Path::new("etc/os-release")).map_err(std::io::Error::other)?;
    assert_eq!(resolved, root.join("usr/lib/os-release"));
    // Climbing above the root stops at the root: this link points back at itself.
    assert!(matches!(
        pf::resolve_in_root(root, Path::new("etc/lsb-release")),
        Err(pf::Error::SymlinkLoop { .. })
    ));
    symlink(
        "../../../../../../../../usr/lib/os-release",
        root.join("etc/climb"),
    )?;
    let climbed =
        pf::resolve_in_root(root, Path::new("etc/climb")).map_err(std::io::Error::other)?;
    assert_eq!(climbed, root.join("usr/lib/os-release"));
    assert!(matches!(
        pf::resolve_in_root(root, Path::new("etc/loop-a-release")),
        Err(pf::Error::SymlinkLoop { .. })
    ));
    Ok(())
}

#[test]
fn a_root_made_of_links_into_the_host_is_empty() -> std::io::Result<()> {
    let tmp = tempfile::tempdir()?;
    let root = tmp.path();
    // Every path the host would answer from is a link to the host's absolute path.
    symlink("/etc", root.join("etc"))?;
    fs::create_dir_all(root.join("usr"))?;
    symlink("/usr/lib", root.join("usr/lib"))?;
    let p = pf::detect_in(root);
    assert_eq!((p.dist(), p.id(), p.version()), ("Unknown", "unknown", ""));
    Ok(())
}

#[test]
fn link_chains_within_the_root_are_followed() -> std::io::Result<()> {
    let tmp = tempfile::tempdir()?;
    let root = tmp.path();
    write(
        root,
        "opt/real/centos-release",
        "CentOS Linux release 7.9.2009 (Core)\n",
    )?;
    fs::create_dir_all(root.join("etc"))?;
    symlink("../opt/real", root.join("etc/alt"))?;
    symlink("alt/centos-release", root.join("etc/step1"))?;
    symlink("/etc/step1", root.join("etc/centos-release"))?;
    let p = pf::detect_in(root);
    assert_eq!(
        (p.dist(), p.id(), p.version()),
        ("CentOS", "centos", "7.9.2009")
    );
    Ok(())
}
