//! Archive comparisons (filled by the archive work): tar.gz vs `tar czf`, zip vs
//! `zip -qr`, uncompress vs `tar xzf` and `unzip -q`.
//!
//! `main.rs` calls [`run`] once per place (tmpfs, disk) after copy and remove, with:
//! `place` (a label to print), `work` (a scratch directory on that place, removed after),
//! `tree` (the generated tree, inside `work`), `rounds` (alternate ours and theirs this
//! many times). Helpers: `super::{time, tool, have, Pair, median}`.

use std::path::Path;

/// Run the archive comparisons on `tree`.
pub fn run(place: &str, work: &Path, tree: &Path, rounds: usize) {
    let _ = (place, work, tree, rounds);
}
