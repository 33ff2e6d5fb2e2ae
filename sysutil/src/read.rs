//! Whole-file reads tuned for procfs and sysfs.
//!
//! `fs::read` and `read_to_end` first ask for the file size (`statx`, `lseek`), which procfs and
//! sysfs answer with 0; reading straight into one buffer saves those calls, and a small `limit`
//! lets the kernel format only the first records of a `seq_file` such as `/proc/cpuinfo`.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// At most `limit` bytes from the start of `path` (the whole file with `usize::MAX`).
pub(crate) fn bytes(path: &Path, limit: usize) -> io::Result<Vec<u8>> {
    let mut f = File::open(path)?;
    let mut buf = vec![0u8; limit.min(16 * 1024)];
    let mut len = 0;
    loop {
        if len == buf.len() {
            if len >= limit {
                break;
            }
            buf.resize(len.saturating_mul(2).min(limit), 0);
        }
        match f.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(len);
    Ok(buf)
}

/// The whole file as text (invalid UTF-8 replaced).
pub(crate) fn text(path: &Path) -> io::Result<String> {
    bytes(path, usize::MAX).map(into_text)
}

/// Bytes as text, without copying when they are valid UTF-8.
pub(crate) fn into_text(b: Vec<u8>) -> String {
    String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_and_prefix() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("f");
        let data: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&p, &data).expect("write");
        assert_eq!(bytes(&p, usize::MAX).expect("read"), data);
        assert_eq!(bytes(&p, 100).expect("read"), &data[..100]);
        assert_eq!(bytes(&p, 20_000).expect("read"), &data[..20_000]);
        std::fs::write(&p, "").expect("write");
        assert!(bytes(&p, usize::MAX).expect("read").is_empty());
        assert!(bytes(&dir.path().join("none"), 10).is_err());
        assert_eq!(into_text(b"a\xffb".to_vec()), "a\u{fffd}b");
    }
}
