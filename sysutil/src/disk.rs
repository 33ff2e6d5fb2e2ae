//! Mounted disk partitions: the type, the `/proc/self/mounts` and `/proc/filesystems` parsers and
//! psutil's `disk_partitions(all=False)` filter.

use std::collections::HashSet;

use serde::Serialize;

/// One mounted file system backed by a device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DiskPartition {
    /// Device, e.g. `/dev/sda1`, `C:\`, `tank/home` (ZFS).
    pub device: String,
    /// Where it is mounted, e.g. `/`, `/home`, `C:\`.
    pub mountpoint: String,
    /// File system type, e.g. `ext4`, `xfs`, `apfs`, `NTFS`.
    pub fstype: String,
    /// Size in bytes (`f_blocks * f_frsize`).
    pub total: u64,
    /// Bytes available to unprivileged users (`f_bavail * f_frsize`), as `df` and psutil report.
    pub free: u64,
}

impl DiskPartition {
    /// Builds a partition without sizes.
    #[must_use]
    pub fn new(
        device: impl Into<String>,
        mountpoint: impl Into<String>,
        fstype: impl Into<String>,
    ) -> Self {
        Self {
            device: device.into(),
            mountpoint: mountpoint.into(),
            fstype: fstype.into(),
            total: 0,
            free: 0,
        }
    }

    /// Sets the sizes.
    #[must_use]
    pub fn with_sizes(mut self, total: u64, free: u64) -> Self {
        self.total = total;
        self.free = free;
        self
    }
}

/// One line of a mount table.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MountEntry {
    /// First field (device or source), unescaped.
    pub device: String,
    /// Second field (mount point), unescaped.
    pub mountpoint: String,
    /// Third field (file system type).
    pub fstype: String,
    /// Fourth field (options).
    pub options: String,
}

/// Decodes the octal escapes the kernel writes in mount tables (`\040` space, `\011` tab,
/// `\012` newline, `\134` backslash). An invalid escape is kept as written.
#[must_use]
pub fn unescape_octal(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = u32::from(b[i + 1] - b'0') * 64
                + u32::from(b[i + 2] - b'0') * 8
                + u32::from(b[i + 3] - b'0');
            if let Ok(byte) = u8::try_from(v) {
                out.push(byte);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a mount table in `/proc/self/mounts` / `/etc/mtab` format. Lines with fewer than three
/// fields and comments are skipped.
#[must_use]
pub fn parse_mounts(text: &str) -> Vec<MountEntry> {
    mount_fields(text)
        .map(|[device, mountpoint, fstype, options]| MountEntry {
            device: unescape_octal(device),
            mountpoint: unescape_octal(mountpoint),
            fstype: unescape_octal(fstype),
            options: options.to_string(),
        })
        .collect()
}

/// The first four fields of each mount table line, still escaped (device, mount point, type,
/// options; options empty when missing). Lines with fewer than three fields and comments are
/// skipped.
pub fn mount_fields(text: &str) -> impl Iterator<Item = [&str; 4]> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let mut f = l.split_ascii_whitespace();
            Some([f.next()?, f.next()?, f.next()?, f.next().unwrap_or("")])
        })
}

/// Defines [`PHYSICAL_FSTYPES`], [`VIRTUAL_FSTYPES`] and the `match` of
/// [`known_physical_fstype`] from one list of each.
macro_rules! fstype_tables {
    (physical: [$($p:literal),* $(,)?], virtual: [$($v:literal),* $(,)?] $(,)?) => {
        /// File system types that need a block device (no `nodev` in `/proc/filesystems` on any
        /// kernel), plus `zfs`, which psutil counts although it is `nodev`.
        pub const PHYSICAL_FSTYPES: &[&str] = &[$($p),*];

        /// `nodev` file system types: virtual, memory-backed and network file systems.
        pub const VIRTUAL_FSTYPES: &[&str] = &[$($v),*];

        /// The tables as a `match` (dispatched on length, then compared), not a scan: this runs
        /// for every line of the mount table.
        fn fstype_in_tables(fstype: &str) -> Option<bool> {
            match fstype {
                $($p)|* => Some(true),
                $($v)|* => Some(false),
                _ => None,
            }
        }
    };
}

fstype_tables! {
    physical: [
        "ext2", "ext3", "ext4", "xfs", "btrfs", "vfat", "msdos", "exfat", "ntfs", "ntfs3",
        "fuseblk", "iso9660", "udf", "jfs", "reiserfs", "f2fs", "hfs", "hfsplus", "squashfs",
        "erofs", "minix", "nilfs2", "ufs", "ocfs2", "gfs2", "zfs",
    ],
    virtual: [
        "sysfs", "tmpfs", "proc", "cgroup", "cgroup2", "cpuset", "devtmpfs", "binfmt_misc",
        "debugfs", "tracefs", "securityfs", "sockfs", "bpf", "pipefs", "ramfs", "hugetlbfs",
        "devpts", "autofs", "fuse", "fusectl", "overlay", "mqueue", "pstore", "configfs",
        "efivarfs", "selinuxfs", "nsfs", "rpc_pipefs", "nfsd", "nfs", "nfs4", "cifs", "smb3", "9p",
        "virtiofs", "aufs", "rootfs", "ceph",
    ],
}

/// Whether psutil's `disk_partitions(all=False)` keeps a file system type, as `/proc/filesystems`
/// would decide it on any kernel, without reading it: `Some(true)` for [`PHYSICAL_FSTYPES`],
/// `Some(false)` for [`VIRTUAL_FSTYPES`] and FUSE subtypes (`fuse.sshfs`: never listed in
/// `/proc/filesystems`), `None` for a type this table does not know.
#[must_use]
pub fn known_physical_fstype(fstype: &str) -> Option<bool> {
    fstype_in_tables(fstype).or_else(|| fstype.starts_with("fuse.").then_some(false))
}

/// The file system types of `/proc/filesystems` that need a device (lines without `nodev`), plus
/// `zfs` when it is listed at all: psutil's notion of a "physical" file system on Linux.
#[must_use]
pub fn parse_filesystems(text: &str) -> HashSet<String> {
    let mut set = HashSet::new();
    for line in text.lines() {
        let mut f = line.split_ascii_whitespace();
        match (f.next(), f.next()) {
            (Some("nodev"), Some("zfs")) => {
                set.insert("zfs".to_string());
            }
            (Some("nodev"), _) | (None, _) => {}
            (Some(fs), None) => {
                set.insert(fs.to_string());
            }
            (Some(_), Some(_)) => {}
        }
    }
    set
}

/// psutil's `disk_partitions(all=False)` on Linux: entries with a device whose type is a
/// device-backed file system. `none` as a device is treated as empty, as psutil does.
#[must_use]
pub fn physical_partitions(mounts: &[MountEntry], fstypes: &HashSet<String>) -> Vec<DiskPartition> {
    mounts
        .iter()
        .filter(|m| !m.device.is_empty() && m.device != "none" && fstypes.contains(&m.fstype))
        .map(|m| DiskPartition::new(&m.device, &m.mountpoint, &m.fstype))
        .collect()
}

/// [`physical_partitions`] straight from mount table text, deciding each type with `physical`
/// (see [`known_physical_fstype`]); only the entries kept are unescaped and copied.
#[must_use]
pub fn physical_partitions_in(text: &str, physical: impl Fn(&str) -> bool) -> Vec<DiskPartition> {
    mount_fields(text)
        .filter(|[device, _, fstype, _]| {
            !device.is_empty() && *device != "none" && physical(fstype)
        })
        .map(|[device, mountpoint, fstype, _]| {
            DiskPartition::new(
                unescape_octal(device),
                unescape_octal(mountpoint),
                unescape_octal(fstype),
            )
        })
        .collect()
}

/// Computes (total, free) bytes from `statvfs` fields, saturating on absurd values.
#[must_use]
pub fn sizes(blocks: u64, bavail: u64, frsize: u64) -> (u64, u64) {
    (blocks.saturating_mul(frsize), bavail.saturating_mul(frsize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fstype_table() {
        for t in PHYSICAL_FSTYPES {
            assert_eq!(known_physical_fstype(t), Some(true), "{t}");
            assert!(!VIRTUAL_FSTYPES.contains(t), "{t} in both tables");
        }
        for t in VIRTUAL_FSTYPES {
            assert_eq!(known_physical_fstype(t), Some(false), "{t}");
        }
        // Every type the match knows is in one of the tables.
        for t in "ext2 ext3 ext4 xfs btrfs vfat msdos exfat ntfs ntfs3 fuseblk iso9660 udf jfs \
                  reiserfs f2fs hfs hfsplus squashfs erofs minix nilfs2 ufs ocfs2 gfs2 zfs sysfs \
                  tmpfs proc cgroup cgroup2 cpuset devtmpfs binfmt_misc debugfs tracefs securityfs \
                  sockfs bpf pipefs ramfs hugetlbfs devpts autofs fuse fusectl overlay mqueue \
                  pstore configfs efivarfs selinuxfs nsfs rpc_pipefs nfsd nfs nfs4 cifs smb3 9p \
                  virtiofs aufs rootfs ceph"
            .split_whitespace()
        {
            assert!(
                PHYSICAL_FSTYPES.contains(&t) || VIRTUAL_FSTYPES.contains(&t),
                "{t}"
            );
        }
        assert_eq!(PHYSICAL_FSTYPES.len() + VIRTUAL_FSTYPES.len(), 64);
        assert_eq!(known_physical_fstype("fuse.sshfs"), Some(false));
        assert_eq!(known_physical_fstype("bcachefs"), None);
        assert_eq!(known_physical_fstype(""), None);
    }

    #[test]
    fn escapes() {
        assert_eq!(unescape_octal(r"/mnt/my\040disk"), "/mnt/my disk");
        assert_eq!(unescape_octal(r"/a\011b\012c\134d"), "/a\tb\nc\\d");
        assert_eq!(unescape_octal(r"/bad\9"), r"/bad\9");
        assert_eq!(unescape_octal(r"/end\04"), r"/end\04");
        assert_eq!(unescape_octal(r"\777"), r"\777");
    }

    #[test]
    fn filter_like_psutil() {
        let mounts = "proc /proc proc rw 0 0\nsysfs /sys sysfs rw 0 0\n/dev/vda / ext4 rw 0 0\ntmpfs /dev/shm tmpfs rw 0 0\n\
overlay /var/lib/docker/overlay2/x/merged overlay rw 0 0\n/dev/sdb1 /mnt/usb\\040key vfat rw 0 0\ntank/home /home zfs rw 0 0\nnone /x ext4 rw 0 0\n";
        let fs =
            "nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\n\text4\n\tvfat\nnodev\toverlay\nnodev\tzfs\n";
        let set = parse_filesystems(fs);
        assert!(
            set.contains("ext4")
                && set.contains("vfat")
                && set.contains("zfs")
                && !set.contains("tmpfs")
        );
        let parts = physical_partitions(&parse_mounts(mounts), &set);
        let mps: Vec<_> = parts.iter().map(|p| p.mountpoint.as_str()).collect();
        assert_eq!(mps, ["/", "/mnt/usb key", "/home"]);
        assert_eq!(parts[0].device, "/dev/vda");
        // From the text with the table alone (every type here is known): the same partitions.
        let table = physical_partitions_in(mounts, |t| known_physical_fstype(t).unwrap_or(false));
        assert_eq!(table, parts);
        let with_set = physical_partitions_in(mounts, |t| set.contains(t));
        assert_eq!(with_set, parts);
        assert_eq!(parts[2].fstype, "zfs");
    }
}
