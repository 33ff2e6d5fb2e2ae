//! Archive format from the content's first bytes (and, failing that, the name).

use std::path::Path;

/// What the first bytes of a file say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sniffed {
    /// gzip (`1f 8b`); a tar inside is assumed.
    Gzip,
    /// zstd frame (`28 b5 2f fd`).
    Zstd,
    /// zip local header (`PK\x03\x04`), empty zip (`PK\x05\x06`) or spanned marker.
    Zip,
    /// tar: `ustar` at 257, or a v7 header whose checksum adds up.
    Tar,
    /// bzip2 (`BZh`) or xz (`fd 37 7a 58 5a 00`): recognised, not supported.
    Other(&'static str),
}

/// Sniffs the format from up to the first 512 bytes of a file.
pub(crate) fn sniff(head: &[u8]) -> Option<Sniffed> {
    if head.starts_with(&[0x1f, 0x8b]) {
        return Some(Sniffed::Gzip);
    }
    if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Some(Sniffed::Zstd);
    }
    if head.starts_with(b"PK\x03\x04")
        || head.starts_with(b"PK\x05\x06")
        || head.starts_with(b"PK\x07\x08")
    {
        return Some(Sniffed::Zip);
    }
    if head.starts_with(b"BZh") {
        return Some(Sniffed::Other("bzip2"));
    }
    if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        return Some(Sniffed::Other("xz"));
    }
    if is_tar_header(head) {
        return Some(Sniffed::Tar);
    }
    None
}

/// A tar header: `ustar` magic at 257, or a v7 header (no magic) whose checksum is right.
/// An all-zero block (an empty tar) counts too.
pub(crate) fn is_tar_header(head: &[u8]) -> bool {
    if head.len() < 512 {
        return false;
    }
    let h = &head[..512];
    if &h[257..262] == b"ustar" {
        return true;
    }
    if h.iter().all(|&b| b == 0) {
        return true;
    }
    // v7: octal checksum at 148..156 equals the byte sum with the field read as spaces.
    let Some(stored) = parse_octal(&h[148..156]) else {
        return false;
    };
    let sum: u64 = h
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(b)
            }
        })
        .sum();
    stored == sum && h[0] != 0
}

fn parse_octal(field: &[u8]) -> Option<u64> {
    let s = field
        .iter()
        .copied()
        .skip_while(|&b| b == b' ')
        .take_while(|&b| (b'0'..=b'7').contains(&b))
        .collect::<Vec<u8>>();
    if s.is_empty() {
        return None;
    }
    let mut v = 0u64;
    for b in s {
        v = v.checked_mul(8)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(v)
}

/// The archive's name says zip, tar, tar.gz or tar.zst (a fallback for short files).
pub(crate) fn from_name(path: &Path) -> Option<Sniffed> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    if name.ends_with(".zip") {
        Some(Sniffed::Zip)
    } else if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        Some(Sniffed::Gzip)
    } else if name.ends_with(".tar.zst") || name.ends_with(".tzst") {
        Some(Sniffed::Zstd)
    } else if name.ends_with(".tar") {
        Some(Sniffed::Tar)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_header(name: &str, ustar: bool) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..108].copy_from_slice(b"0000644\0");
        h[124..136].copy_from_slice(b"00000000000\0");
        h[156] = b'0';
        if ustar {
            h[257..263].copy_from_slice(b"ustar\0");
        }
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        h
    }

    #[test]
    fn magic_bytes() {
        assert_eq!(sniff(&[0x1f, 0x8b, 8, 0]), Some(Sniffed::Gzip));
        assert_eq!(sniff(&[0x28, 0xb5, 0x2f, 0xfd, 1]), Some(Sniffed::Zstd));
        assert_eq!(sniff(b"PK\x03\x04rest"), Some(Sniffed::Zip));
        assert_eq!(sniff(b"PK\x05\x06\0\0"), Some(Sniffed::Zip));
        assert_eq!(sniff(b"BZh91AY"), Some(Sniffed::Other("bzip2")));
        assert_eq!(sniff(&tar_header("a.txt", true)), Some(Sniffed::Tar));
        assert_eq!(sniff(&tar_header("a.txt", false)), Some(Sniffed::Tar));
        assert_eq!(sniff(&[0u8; 1024]), Some(Sniffed::Tar));
        let mut broken = tar_header("a.txt", false);
        broken[0] = b'b';
        assert_eq!(sniff(&broken), None);
        assert_eq!(sniff(b"hello world"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn names() {
        assert_eq!(from_name(Path::new("/x/A.ZIP")), Some(Sniffed::Zip));
        assert_eq!(from_name(Path::new("a.tgz")), Some(Sniffed::Gzip));
        assert_eq!(from_name(Path::new("a.tar")), Some(Sniffed::Tar));
        assert_eq!(from_name(Path::new("a.txt")), None);
    }
}
