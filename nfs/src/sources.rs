//! Glob expansion of a source path: `/opt/app/logs/*.log` → the literal base directory
//! `/opt/app/logs` and the entries below it that match `*.log`.

use std::path::{Component, Path, PathBuf};

use globset::{Candidate, GlobBuilder};

use crate::error::{Error, Result};

/// The sources of an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sources {
    /// The directory filter paths are relative to: the source directory itself, or the
    /// literal base of a glob.
    pub root: PathBuf,
    /// The matched paths (each under `root` for a glob, `root` itself otherwise).
    pub items: Vec<PathBuf>,
    /// The glob pattern, when `src` was one.
    pub pattern: Option<String>,
}

const META: &[char] = &['*', '?', '[', '{'];

/// Whether a path component holds glob syntax.
fn is_glob(c: &str) -> bool {
    c.contains(META)
}

/// Split `src` into its literal base and the glob part, if it has one. A path that
/// exists as spelled is literal, even if its name holds `*` or `[`.
pub(crate) fn split_glob(src: &Path) -> Option<(PathBuf, String)> {
    if src.symlink_metadata().is_ok() {
        return None;
    }
    let mut base = PathBuf::new();
    let mut rest: Vec<&str> = Vec::new();
    for c in src.components() {
        if rest.is_empty() {
            match c {
                Component::Normal(n) => match n.to_str() {
                    Some(s) if is_glob(s) => rest.push(s),
                    _ => base.push(n),
                },
                other => base.push(other.as_os_str()),
            }
        } else {
            // Glob patterns are text; a non-UTF-8 component after a glob is literal text
            // we cannot express, so treat the whole path as literal.
            rest.push(c.as_os_str().to_str()?);
        }
    }
    if rest.is_empty() {
        return None;
    }
    if base.as_os_str().is_empty() {
        base.push(".");
    }
    Some((base, rest.join("/")))
}

/// Expand `src`: a literal path, or a glob whose matches are listed (sorted).
///
/// # Errors
/// [`Error::Glob`] for a bad pattern, [`Error::Io`] when the base cannot be read.
/// A glob that matches nothing gives an empty list; a missing literal path gives
/// one item that does not exist (the caller decides).
pub(crate) fn expand(src: &Path) -> Result<Sources> {
    let Some((base, pattern)) = split_glob(src) else {
        return Ok(Sources {
            root: src.to_path_buf(),
            items: vec![src.to_path_buf()],
            pattern: None,
        });
    };
    let glob = GlobBuilder::new(&pattern)
        .literal_separator(true)
        .backslash_escape(!cfg!(windows))
        .build()
        .map_err(|source| Error::Glob {
            pattern: src.display().to_string(),
            source,
        })?
        .compile_matcher();
    let depth = if pattern.contains("**") {
        usize::MAX
    } else {
        pattern.split('/').count()
    };
    let mut items = Vec::new();
    if !base.is_dir() {
        return Ok(Sources {
            root: base,
            items,
            pattern: Some(src.display().to_string()),
        });
    }
    let mut walk = walkdir::WalkDir::new(&base)
        .min_depth(1)
        .max_depth(depth)
        .sort_by_file_name()
        .into_iter();
    while let Some(entry) = walk.next() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e.path().unwrap_or(&base).to_path_buf();
                return Err(Error::io(
                    "read directory",
                    path,
                    e.into_io_error()
                        .unwrap_or_else(|| std::io::Error::other("walk error")),
                ));
            }
        };
        let rel = entry.path().strip_prefix(&base).unwrap_or(entry.path());
        if glob.is_match_candidate(&Candidate::new(rel)) {
            items.push(entry.path().to_path_buf());
            if entry.file_type().is_dir() {
                // What a matched directory holds goes with it.
                walk.skip_current_dir();
            }
        }
    }
    Ok(Sources {
        root: base,
        items,
        pattern: Some(src.display().to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn split_table() {
        let cases: &[(&str, Option<(&str, &str)>)] = &[
            ("/opt/app/logs/*.log", Some(("/opt/app/logs", "*.log"))),
            ("/opt/*/logs/a.log", Some(("/opt", "*/logs/a.log"))),
            ("logs/**/*.log", Some(("logs", "**/*.log"))),
            ("*.log", Some((".", "*.log"))),
            ("/nonexistent/plain/path", None),
            ("/x/a[0-9].txt", Some(("/x", "a[0-9].txt"))),
            ("/x/{a,b}", Some(("/x", "{a,b}"))),
        ];
        for (src, want) in cases {
            let got = split_glob(Path::new(src));
            let want = want.map(|(b, p)| (PathBuf::from(b), p.to_string()));
            assert_eq!(got, want, "{src}");
        }
    }

    #[test]
    fn an_existing_name_with_star_is_literal() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a*b");
        fs::write(&p, "x").unwrap();
        assert_eq!(split_glob(&p), None);
        let s = expand(&p).unwrap();
        assert_eq!(s.items, vec![p]);
    }

    #[test]
    fn expands_and_does_not_descend_into_matches() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        fs::create_dir_all(r.join("logs/old")).unwrap();
        fs::write(r.join("logs/a.log"), "").unwrap();
        fs::write(r.join("logs/b.txt"), "").unwrap();
        fs::write(r.join("logs/old/c.log"), "").unwrap();
        let s = expand(&r.join("logs/*.log")).unwrap();
        assert_eq!(s.root, r.join("logs"));
        assert_eq!(s.items, vec![r.join("logs/a.log")]);
        let s = expand(&r.join("logs/**/*.log")).unwrap();
        assert_eq!(
            s.items,
            vec![r.join("logs/a.log"), r.join("logs/old/c.log")]
        );
        let s = expand(&r.join("*")).unwrap();
        assert_eq!(s.items, vec![r.join("logs")]);
        let s = expand(&r.join("nothing/*.log")).unwrap();
        assert!(s.items.is_empty());
    }
}
