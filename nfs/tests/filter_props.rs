//! Property tests: a filter decision is the same for a path however it is reached —
//! by walking (pruning excluded directories), by asking about the path directly, by
//! another spelling of the path, and by what `copy` and `remove` actually do.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;

const NAMES: &[&str] = &["a", "b", "logs", ".git", "x.log", "y.txt", "z.pyc", "build"];
const PATTERNS: &[&str] = &[
    "*.log",
    "*.txt",
    "logs",
    ".git",
    "a",
    "b/*",
    "a/**/x.log",
    "/build",
    "**/b",
    "*.pyc",
    "[ab]",
];

/// A tree: file paths made of 1 to 4 components from `NAMES`.
fn tree() -> impl Strategy<Value = BTreeSet<Vec<usize>>> {
    prop::collection::btree_set(prop::collection::vec(0..NAMES.len(), 1..=4), 1..25)
}

fn patterns() -> impl Strategy<Value = Vec<&'static str>> {
    prop::collection::vec(prop::sample::select(PATTERNS), 0..3)
}

fn filters() -> impl Strategy<Value = nfs::Filters> {
    (patterns(), patterns(), patterns(), patterns()).prop_map(|(ff, fd, ef, ed)| {
        nfs::Filters::new()
            .filter_files(ff)
            .filter_dirs(fd)
            .exclude_files(ef)
            .exclude_dirs(ed)
            .case_insensitive(false)
    })
}

/// Make the files; a path whose prefix is already a file is dropped (it cannot exist).
fn build(root: &Path, files: &BTreeSet<Vec<usize>>) -> BTreeSet<PathBuf> {
    let mut made = BTreeSet::new();
    'next: for f in files {
        let rel: PathBuf = f.iter().map(|&i| NAMES[i]).collect();
        for a in rel.ancestors().skip(1) {
            if !a.as_os_str().is_empty() && root.join(a).is_file() {
                continue 'next;
            }
        }
        if root.join(&rel).exists() {
            continue; // already a directory
        }
        fs::create_dir_all(root.join(rel.parent().unwrap())).unwrap();
        fs::write(root.join(&rel), b"x").unwrap();
        made.insert(rel);
    }
    // Files that became directories' names later are not files any more.
    made.retain(|p| root.join(p).is_file());
    made
}

fn files_under(root: &Path) -> BTreeSet<PathBuf> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(root).unwrap().to_path_buf())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn walking_asking_and_respelling_agree(files in tree(), f in filters()) {
        let d = tempfile::tempdir().unwrap();
        let root = &d.path().join("root");
        fs::create_dir(root).unwrap();
        let made = build(root, &files);
        let c = f.compile().unwrap();

        // 1. Walk with pruning.
        let walked: BTreeSet<PathBuf> = walkdir::WalkDir::new(root)
            .into_iter()
            .filter_entry(|e| {
                let rel = e.path().strip_prefix(root).unwrap();
                !e.file_type().is_dir() || c.enter_dir(rel)
            })
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(|e| e.path().strip_prefix(root).unwrap().to_path_buf())
            .filter(|rel| c.keep_file(rel))
            .collect();
        // 2. Ask about each path directly.
        let asked: BTreeSet<PathBuf> = made.iter().filter(|p| c.keeps(p)).cloned().collect();
        prop_assert_eq!(&walked, &asked);

        // 3. Other spellings of the same path.
        for p in &made {
            let s = p.to_string_lossy();
            for spelled in [format!("./{s}"), format!("{s}/"), s.replacen('/', "/./", 1)] {
                prop_assert_eq!(c.keeps(Path::new(&spelled)), c.keeps(p), "{}", spelled);
            }
        }

        // 4. What copy takes is what the filters keep.
        let dst = d.path().join("copy");
        nfs::copy_with(root, &dst, &nfs::CopyOptions::new().filters(f.clone())).unwrap();
        let copied = files_under(&dst);
        fs::remove_dir_all(&dst).unwrap();
        prop_assert_eq!(&copied, &asked);

        // 5. What remove takes is what the filters keep, and nothing else.
        nfs::remove_with(root, &nfs::RemoveOptions::new().filters(f.clone())).unwrap();
        let left = if root.exists() { files_under(root) } else { BTreeSet::new() };
        let expect_left: BTreeSet<PathBuf> = made.difference(&asked).cloned().collect();
        prop_assert_eq!(left, expect_left);
    }
}
