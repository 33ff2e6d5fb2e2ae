//! Memory and boot time: the type and the `/proc/meminfo` and `/proc/stat` parsers.

use serde::Serialize;

/// Physical memory in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MemoryInfo {
    /// Installed memory visible to the OS.
    pub total: u64,
    /// Memory that can be given to new programs without swapping (Linux `MemAvailable`).
    pub available: u64,
}

impl MemoryInfo {
    /// Builds a value.
    #[must_use]
    pub fn new(total: u64, available: u64) -> Self {
        Self { total, available }
    }
}

/// Parses `/proc/meminfo`. `available` is `MemAvailable`; kernels before 3.14 (CentOS 6) lack
/// it, and then it is `MemFree + Buffers + Cached`, as psutil estimates. `None` without `MemTotal`.
#[must_use]
pub fn parse_meminfo(text: &str) -> Option<MemoryInfo> {
    let (mut total, mut avail, mut free, mut buffers, mut cached) = (None, None, 0u64, 0u64, 0u64);
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        if !matches!(
            k,
            "MemTotal" | "MemAvailable" | "MemFree" | "Buffers" | "Cached"
        ) {
            continue;
        }
        let v = v.trim();
        let kb: u64 = v.trim_end_matches("kB").trim().parse().unwrap_or(0);
        let bytes = kb.saturating_mul(if v.ends_with("kB") { 1024 } else { 1 });
        match k {
            "MemTotal" => total = Some(bytes),
            "MemAvailable" => avail = Some(bytes),
            "MemFree" => free = bytes,
            "Buffers" => buffers = bytes,
            _ => cached = bytes,
        }
        // The kernel prints MemTotal, MemFree, MemAvailable first: the rest is not needed.
        if total.is_some() && avail.is_some() {
            break;
        }
    }
    let total = total?;
    let available = avail.unwrap_or_else(|| {
        free.saturating_add(buffers)
            .saturating_add(cached)
            .min(total)
    });
    Some(MemoryInfo { total, available })
}

/// The `btime` line of `/proc/stat`: boot time in Unix seconds.
#[must_use]
pub fn parse_btime(stat: &str) -> Option<u64> {
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo() {
        let t = "MemTotal:       49368192 kB\nMemFree:        10000000 kB\nMemAvailable:   40000000 kB\nBuffers: 1 kB\n";
        assert_eq!(
            parse_meminfo(t),
            Some(MemoryInfo::new(49_368_192 * 1024, 40_000_000 * 1024))
        );
        let old = "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 200 kB\n";
        assert_eq!(
            parse_meminfo(old),
            Some(MemoryInfo::new(1_024_000, 350 * 1024))
        );
        assert_eq!(parse_meminfo("MemFree: 1 kB\n"), None);
    }

    #[test]
    fn btime() {
        assert_eq!(
            parse_btime("cpu  1 2 3\nbtime 1764000000\nprocesses 5\n"),
            Some(1_764_000_000)
        );
        assert_eq!(parse_btime("cpu 1\n"), None);
    }
}
