//! Process output: line-preserving size rotation, the in-memory ring buffer and live subscribers.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;
use tokio::sync::broadcast;

/// Which standard stream a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum StreamKind {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Complete lines a process wrote (the last chunk of a stream may lack its newline).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct OutputChunk {
    /// The watcher.
    pub watcher: String,
    /// The process.
    pub pid: u32,
    /// The stream.
    pub stream: StreamKind,
    /// The bytes: whole lines.
    pub data: Vec<u8>,
}

/// How much recent output is kept per watcher for `subscribe_output`.
pub(crate) const RING_BYTES: usize = 64 * 1024;

/// A watcher's recent output and its live subscribers.
pub(crate) struct OutputHub {
    ring: Mutex<VecDeque<u8>>,
    tx: broadcast::Sender<OutputChunk>,
}

impl OutputHub {
    pub(crate) fn new() -> Self {
        OutputHub {
            ring: Mutex::new(VecDeque::new()),
            tx: broadcast::channel(64).0,
        }
    }

    pub(crate) fn push(&self, watcher: &str, pid: u32, stream: StreamKind, data: &[u8]) {
        let mut ring = match self.ring.lock() {
            Ok(r) => r,
            Err(p) => p.into_inner(),
        };
        push_ring(&mut ring, data, RING_BYTES);
        // Sent under the lock, so a subscriber sees each chunk either in its snapshot or live.
        if self.tx.receiver_count() > 0 {
            let _ = self.tx.send(OutputChunk {
                watcher: watcher.to_string(),
                pid,
                stream,
                data: data.to_vec(),
            });
        }
    }

    pub(crate) fn subscribe(&self) -> (Vec<u8>, broadcast::Receiver<OutputChunk>) {
        let ring = match self.ring.lock() {
            Ok(r) => r,
            Err(p) => p.into_inner(),
        };
        (ring.iter().copied().collect(), self.tx.subscribe())
    }
}

/// Appends to a bounded ring, dropping whole lines from the front.
pub(crate) fn push_ring(ring: &mut VecDeque<u8>, data: &[u8], cap: usize) {
    ring.extend(data);
    if ring.len() > cap {
        let excess = ring.len() - cap;
        ring.drain(..excess);
        // Do not start in the middle of a line.
        if let Some(nl) = ring.iter().position(|&b| b == b'\n') {
            ring.drain(..=nl);
        }
    }
}

/// A log file rotated by size that never splits, loses or duplicates a line.
///
/// Rotation happens only between writes of whole lines: a batch of lines is cut at the last line
/// that fits, the file is rotated (`f` -> `f.1` -> `f.2` ...), and the rest goes to the new file. A
/// single line longer than `max_bytes` is written whole to a file of its own.
#[derive(Debug)]
pub(crate) struct RotatingFile {
    path: PathBuf,
    file: Option<File>,
    size: u64,
    max_bytes: u64,
    backup_count: u32,
}

impl RotatingFile {
    pub(crate) fn open(path: &Path, max_bytes: u64, backup_count: u32) -> io::Result<Self> {
        let mut f = RotatingFile {
            path: path.to_path_buf(),
            file: None,
            size: 0,
            max_bytes,
            backup_count,
        };
        f.reopen()?;
        Ok(f)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Closes and reopens the file (after an external logrotate moved it).
    pub(crate) fn reopen(&mut self) -> io::Result<()> {
        if let Some(parent) = self.path.parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent)?;
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.size = file.metadata()?.len();
        self.file = Some(file);
        Ok(())
    }

    fn rotates(&self) -> bool {
        self.max_bytes > 0 && self.backup_count > 0
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file = None;
        let name = |i: u32| {
            let mut s = self.path.clone().into_os_string();
            s.push(format!(".{i}"));
            PathBuf::from(s)
        };
        // Shift only the backups that exist: f.1..f.n, n < backup_count.
        let mut n = 0;
        while n + 1 < self.backup_count && name(n + 1).exists() {
            n += 1;
        }
        for i in (1..=n).rev() {
            std::fs::rename(name(i), name(i + 1))?;
        }
        if self.path.exists() {
            std::fs::rename(&self.path, name(1))?;
        }
        self.reopen()
    }

    fn write_raw(&mut self, data: &[u8]) -> io::Result<()> {
        if self.file.is_none() {
            self.reopen()?;
        }
        if let Some(f) = self.file.as_mut() {
            f.write_all(data)?;
            self.size += data.len() as u64;
        }
        Ok(())
    }

    /// Writes whole lines (the last one may lack its newline at end of stream).
    pub(crate) fn write_lines(&mut self, mut data: &[u8]) -> io::Result<()> {
        if !self.rotates() {
            return self.write_raw(data);
        }
        while !data.is_empty() {
            let room = self.max_bytes.saturating_sub(self.size);
            if data.len() as u64 <= room {
                return self.write_raw(data);
            }
            // The longest prefix of whole lines that fits.
            let fit = data[..room as usize]
                .iter()
                .rposition(|&b| b == b'\n')
                .map(|i| i + 1);
            match fit {
                Some(n) => {
                    self.write_raw(&data[..n])?;
                    data = &data[n..];
                    self.rotate()?;
                }
                None if self.size > 0 => self.rotate()?,
                None => {
                    // One line longer than max_bytes: alone in its file, never split.
                    let n = data
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(data.len(), |i| i + 1);
                    self.write_raw(&data[..n])?;
                    data = &data[n..];
                    if !data.is_empty() {
                        self.rotate()?;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(dir: &Path, _backups: u32) -> Vec<String> {
        // Oldest first: out.log.N ... out.log.1, out.log.
        let mut numbered: Vec<(u32, PathBuf)> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let n = name.strip_prefix("out.log.")?.parse().ok()?;
                Some((n, e.path()))
            })
            .collect();
        numbered.sort_by_key(|e| std::cmp::Reverse(e.0));
        let mut files: Vec<String> = numbered
            .into_iter()
            .map(|(_, p)| std::fs::read_to_string(p).unwrap())
            .collect();
        if let Ok(t) = std::fs::read_to_string(dir.join("out.log")) {
            files.push(t);
        }
        files
    }

    #[test]
    fn rotation_never_splits_loses_or_duplicates_lines() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = RotatingFile::open(&dir.path().join("out.log"), 100, 1000).unwrap();
        let mut expected = String::new();
        let mut batch = String::new();
        for i in 0..500 {
            let line = format!("line {i} {}\n", "x".repeat(i % 37));
            expected.push_str(&line);
            batch.push_str(&line);
            if i % 7 == 0 {
                f.write_lines(batch.as_bytes()).unwrap();
                batch.clear();
            }
        }
        f.write_lines(batch.as_bytes()).unwrap();
        let files = read_all(dir.path(), 1000);
        assert!(files.len() > 10);
        for t in &files {
            assert!(t.len() <= 100, "file too big: {}", t.len());
            assert!(t.ends_with('\n'), "a file ends mid-line");
        }
        assert_eq!(files.concat(), expected);
    }

    #[test]
    fn a_long_line_gets_a_file_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = RotatingFile::open(&dir.path().join("out.log"), 10, 5).unwrap();
        f.write_lines(b"ab\n").unwrap();
        f.write_lines(b"0123456789012345\ncd\n").unwrap();
        assert_eq!(
            read_all(dir.path(), 5),
            vec!["ab\n", "0123456789012345\n", "cd\n"]
        );
    }

    #[test]
    fn backup_count_limits_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = RotatingFile::open(&dir.path().join("out.log"), 4, 2).unwrap();
        for i in 0..10 {
            f.write_lines(format!("{i}{i}{i}\n").as_bytes()).unwrap();
        }
        assert_eq!(read_all(dir.path(), 10), vec!["777\n", "888\n", "999\n"]);
    }

    #[test]
    fn no_rotation_without_backups() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = RotatingFile::open(&dir.path().join("out.log"), 4, 0).unwrap();
        f.write_lines(b"aaaa\nbbbb\n").unwrap();
        assert_eq!(read_all(dir.path(), 3), vec!["aaaa\nbbbb\n"]);
    }

    #[test]
    fn ring_drops_whole_lines() {
        let mut r = VecDeque::new();
        push_ring(&mut r, b"first line\nsecond\n", 12);
        push_ring(&mut r, b"third\n", 12);
        let s: Vec<u8> = r.into_iter().collect();
        assert_eq!(s, b"third\n");
    }

    proptest::proptest! {
        #[test]
        fn rotation_keeps_every_byte_in_order(lines in proptest::collection::vec("[a-z]{0,30}", 0..40), max in 1u64..60) {
            let dir = tempfile::tempdir().unwrap();
            let mut f = RotatingFile::open(&dir.path().join("out.log"), max, 10_000).unwrap();
            let mut expected = String::new();
            for (i, l) in lines.iter().enumerate() {
                let line = format!("{l}\n");
                expected.push_str(&line);
                f.write_lines(line.as_bytes()).unwrap();
                if i % 5 == 0 { f.write_lines(b"").unwrap(); }
            }
            let files = read_all(dir.path(), 10_000);
            for t in &files {
                proptest::prop_assert!(t.is_empty() || t.ends_with('\n'));
                proptest::prop_assert!(t.len() as u64 <= max || t.matches('\n').count() == 1);
            }
            proptest::prop_assert_eq!(files.concat(), expected);
        }
    }
}
