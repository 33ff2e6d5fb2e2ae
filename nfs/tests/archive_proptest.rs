//! Property tests: no extracted path ever leaves the destination.

use std::path::{Component, Path, PathBuf};

use nfs::sanitize::{check_link_target, entry_components, resolve_link};
use proptest::prelude::*;

/// Byte strings biased towards the pieces of hostile names.
fn hostile_name() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"..".to_vec()),
        Just(b".".to_vec()),
        Just(b"/".to_vec()),
        Just(b"\\".to_vec()),
        Just(b"C:".to_vec()),
        Just(b"//".to_vec()),
        Just(b"a".to_vec()),
        Just(b"bc".to_vec()),
        Just(vec![0xff, 0xfe]),
        Just(vec![0]),
        proptest::collection::vec(any::<u8>(), 0..4),
    ];
    proptest::collection::vec(piece, 0..8).prop_map(|v| v.concat())
}

#[cfg(unix)]
fn os(b: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(b))
}

#[cfg(not(unix))]
fn os(b: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(b).into_owned())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn accepted_names_stay_inside(name in hostile_name()) {
        if let Ok(comps) = entry_components(&name) {
            let root = Path::new("/dst");
            let mut p = root.to_path_buf();
            for c in &comps {
                prop_assert!(!c.is_empty() && *c != b"." && *c != b"..");
                prop_assert!(!c.contains(&b'/') && !c.contains(&b'\\') && !c.contains(&0));
                p.push(os(c));
            }
            prop_assert!(p.starts_with(root));
            let rel = p.strip_prefix(root).unwrap();
            prop_assert!(rel.components().all(|c| matches!(c, Component::Normal(_))));
        }
    }

    #[test]
    fn accepted_link_targets_resolve_inside(link in hostile_name(), target in hostile_name()) {
        if let Ok(comps) = entry_components(&link) {
            if comps.is_empty() { return Ok(()); }
            if check_link_target(&comps, &target).is_ok() {
                // Walk the target physically: the depth never goes below the root.
                let mut depth = comps.len() as i64 - 1;
                let mut went_down = false;
                for c in target.split(|&b| b == b'/') {
                    match c {
                        b"" | b"." => {}
                        b".." => { prop_assert!(!went_down); depth -= 1; prop_assert!(depth >= 0); }
                        _ => { went_down = true; depth += 1; }
                    }
                }
                let resolved = resolve_link(&comps, &target);
                prop_assert!(resolved.iter().all(|c| *c != b".." && *c != b"."));
            }
        }
    }
}

/// One raw tar entry with any name: file, dir, symlink or hardlink.
fn raw_entry(name: &[u8], kind: u8, link: &[u8]) -> Vec<u8> {
    let mut h = [0u8; 512];
    let n = name.len().min(100);
    h[..n].copy_from_slice(&name[..n]);
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    let data: &[u8] = if kind == b'0' { b"x" } else { b"" };
    h[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
    h[136..148].copy_from_slice(b"14000000000\0");
    h[156] = kind;
    let l = link.len().min(100);
    h[157..157 + l].copy_from_slice(&link[..l]);
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut out = h.to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

fn small_name() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"../".to_vec()),
        Just(b"./".to_vec()),
        Just(b"/".to_vec()),
        Just(b"a/".to_vec()),
        Just(b"b/".to_vec()),
        Just(b"l/".to_vec()),
        Just(b"a".to_vec()),
        Just(b"l".to_vec()),
        Just(b"\\".to_vec()),
    ];
    proptest::collection::vec(piece, 1..5).prop_map(|v| v.concat())
}

fn entry() -> impl Strategy<Value = (Vec<u8>, u8, Vec<u8>)> {
    (
        small_name(),
        prop_oneof![Just(b'0'), Just(b'5'), Just(b'2'), Just(b'1')],
        small_name(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever a random archive of files, dirs and links does, accepted or refused,
    /// nothing appears outside the destination.
    #[test]
    fn extraction_never_writes_outside(entries in proptest::collection::vec(entry(), 1..6)) {
        let parent = tempfile::tempdir().unwrap();
        let mut tar = Vec::new();
        for (name, kind, link) in &entries {
            tar.extend(raw_entry(name, *kind, link));
        }
        tar.resize(tar.len() + 1024, 0);
        let archive = parent.path().join("a.tar");
        std::fs::write(&archive, &tar).unwrap();
        let dst = parent.path().join("d1/d2/dst");
        let _ = nfs::uncompress(&archive, &dst, &nfs::UncompressOptions::new().threads(1));
        for e in walkdir::WalkDir::new(parent.path()).min_depth(1) {
            let e = e.unwrap();
            let rel = e.path().strip_prefix(parent.path()).unwrap();
            prop_assert!(
                rel == Path::new("a.tar") || rel == Path::new("d1") || rel == Path::new("d1/d2") || rel.starts_with("d1/d2/dst"),
                "{} written outside", rel.display()
            );
            // Every link left inside resolves inside.
            if e.path_is_symlink() {
                if let Ok(real) = std::fs::canonicalize(e.path()) {
                    let root = std::fs::canonicalize(&dst).unwrap();
                    prop_assert!(real.starts_with(&root), "{} -> {}", rel.display(), real.display());
                }
            }
        }
    }
}
