//! CPU identity: the type, the `/proc/cpuinfo` parser (x86, ARM, POWER, s390x) and CPUID filling.

use std::collections::HashSet;

use serde::Serialize;

/// Current and maximum clock frequency in MHz.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Frequency {
    /// Current frequency of the first CPU, when the OS reports it.
    pub current: Option<f64>,
    /// Maximum frequency, when known (cpufreq, `hw.cpufrequency_max`, power information).
    pub max: Option<f64>,
}

impl Frequency {
    /// Builds a value from its parts.
    #[must_use]
    pub fn new(current: Option<f64>, max: Option<f64>) -> Self {
        Self { current, max }
    }
}

/// What the processor is.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CpuInfo {
    /// Marketing name, e.g. `AMD EPYC 7B13 64-Core Processor`, `Apple M2`, `POWER9 (architected)`.
    pub brand: String,
    /// Vendor, e.g. `GenuineIntel`, `AuthenticAMD`, `ARM`, `IBM/S390`.
    pub vendor_id: String,
    /// x86 family (Linux arithmetic), ARM architecture; `None` where the platform has none.
    pub family: Option<u32>,
    /// x86 model including the extended model, ARM part number, s390x machine type.
    pub model: Option<u32>,
    /// x86 stepping, ARM revision.
    pub stepping: Option<u32>,
    /// Cache size in KiB as the OS reports it (Linux cpuinfo `cache size`, else the last-level cache).
    pub cache_size_kb: Option<u64>,
    /// Clock frequency in MHz.
    pub frequency_mhz: Frequency,
    /// Logical processors online.
    pub logical: usize,
    /// Physical cores (unique (package, core) pairs), `None` when the OS does not say.
    pub physical: Option<usize>,
    /// Machine architecture as the OS names it (`uname -m`: `x86_64`, `aarch64`, `arm64`, `amd64`, `ppc64le`, `s390x`).
    pub arch: String,
}

impl CpuInfo {
    /// Fills the x86 identity fields that are empty from CPUID (the OS gave less).
    pub fn fill_from_cpuid(&mut self, id: &crate::cpuid::Identity) {
        if self.brand.is_empty() {
            self.brand.clone_from(&id.brand);
        }
        if self.vendor_id.is_empty() {
            self.vendor_id.clone_from(&id.vendor);
        }
        if self.family.is_none() {
            self.family = Some(id.family);
            self.model = Some(id.model);
            self.stepping = Some(id.stepping);
        }
    }
}

/// ARM implementer codes (`CPU implementer`) and their names, as `lscpu` prints them.
pub const ARM_IMPLEMENTERS: &[(u32, &str)] = &[
    (0x41, "ARM"),
    (0x42, "Broadcom"),
    (0x43, "Cavium"),
    (0x46, "Fujitsu"),
    (0x48, "HiSilicon"),
    (0x4e, "NVIDIA"),
    (0x50, "APM"),
    (0x51, "Qualcomm"),
    (0x53, "Samsung"),
    (0x56, "Marvell"),
    (0x61, "Apple"),
    (0x69, "Intel"),
    (0x6d, "Microsoft"),
    (0xc0, "Ampere"),
];

/// ARM part numbers (`CPU part`) of common server and board cores, per implementer.
pub const ARM_PARTS: &[(u32, u32, &str)] = &[
    (0x41, 0xd03, "Cortex-A53"),
    (0x41, 0xd04, "Cortex-A35"),
    (0x41, 0xd05, "Cortex-A55"),
    (0x41, 0xd07, "Cortex-A57"),
    (0x41, 0xd08, "Cortex-A72"),
    (0x41, 0xd09, "Cortex-A73"),
    (0x41, 0xd0a, "Cortex-A75"),
    (0x41, 0xd0b, "Cortex-A76"),
    (0x41, 0xd0c, "Neoverse-N1"),
    (0x41, 0xd0d, "Cortex-A77"),
    (0x41, 0xd40, "Neoverse-V1"),
    (0x41, 0xd41, "Cortex-A78"),
    (0x41, 0xd49, "Neoverse-N2"),
    (0x41, 0xd4f, "Neoverse-V2"),
    (0x41, 0xd8e, "Neoverse-N3"),
    (0x41, 0xd84, "Neoverse-V3"),
    (0x41, 0xc07, "Cortex-A7"),
    (0x41, 0xc09, "Cortex-A9"),
    (0x41, 0xc0f, "Cortex-A15"),
    (0x43, 0x0af, "ThunderX2 99xx"),
    (0x48, 0xd01, "Kunpeng-920"),
    (0x50, 0x000, "X-Gene"),
    (0x51, 0xc00, "Falkor"),
    (0x61, 0x022, "M1"),
    (0x61, 0x023, "M1"),
    (0x61, 0x032, "M2"),
    (0x61, 0x033, "M2"),
    (0xc0, 0xac3, "Ampere-1"),
    (0xc0, 0xac4, "Ampere-1a"),
];

fn parse_num(v: &str) -> Option<u32> {
    let v = v.trim();
    match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => v.parse().ok(),
    }
}

fn parse_mhz(v: &str) -> Option<f64> {
    let v = v.trim();
    let digits = v.trim_end_matches(|c: char| c.is_ascii_alphabetic()).trim();
    digits
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite() && *f > 0.0)
}

/// Parses `/proc/cpuinfo` text (any architecture Linux supports). Never fails: what is missing
/// stays empty. `arch` is left empty for the caller; `physical` counts unique
/// (`physical id`, `core id`) pairs when the text has them.
#[must_use]
pub fn parse_cpuinfo(text: &str) -> CpuInfo {
    let mut info = CpuInfo::default();
    let mut logical = 0usize;
    let mut s390_processors: Option<usize> = None;
    let mut cores: HashSet<(String, String)> = HashSet::new();
    let mut phys_id: Option<String> = None;
    let mut first_block = true;
    let mut implementer: Option<u32> = None;
    let mut part: Option<u32> = None;
    let mut hardware: Option<String> = None;
    let mut s390_machine: Option<String> = None;
    let mut bogus_model_name = false;
    for line in text.lines() {
        if line.trim().is_empty() {
            if logical > 0 {
                first_block = false;
            }
            continue;
        }
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        // s390x: "processor 0: version = 00,  identification = ..., machine = 8561"
        if let Some(rest) = k.strip_prefix("processor ") {
            if rest.trim().parse::<u32>().is_ok() {
                logical += 1;
                if s390_machine.is_none() {
                    s390_machine = v.split(',').find_map(|f| {
                        f.trim()
                            .strip_prefix("machine")
                            .map(|m| m.trim_start_matches([' ', '=']).trim().to_string())
                    });
                }
                continue;
            }
        }
        match k {
            // ARMv7 kernels also print "Processor : ARMv7 Processor rev 4 (v7l)"; that one has a
            // capital P and is a name, not an index.
            "processor" if v.parse::<u32>().is_ok() => {
                if logical > 0 {
                    first_block = false;
                }
                logical += 1;
                phys_id = None;
            }
            "Processor" if info.brand.is_empty() => info.brand = v.to_string(),
            "# processors" => s390_processors = v.parse().ok(),
            "physical id" => phys_id = Some(v.to_string()),
            "core id" => {
                if let Some(p) = &phys_id {
                    cores.insert((p.clone(), v.to_string()));
                }
            }
            "cpu MHz" | "clock" | "cpu MHz dynamic" if info.frequency_mhz.current.is_none() => {
                info.frequency_mhz.current = parse_mhz(v);
            }
            "cpu MHz static" if info.frequency_mhz.max.is_none() => {
                info.frequency_mhz.max = parse_mhz(v);
            }
            _ if !first_block => {}
            "vendor_id" | "vendor" => info.vendor_id = v.to_string(),
            "model name" | "cpu model" => {
                // Some ARM kernels print "model name : ARMv8 Processor rev 1 (v8l)": generic.
                bogus_model_name = v.starts_with("ARMv") && v.contains("Processor rev");
                info.brand = v.to_string();
            }
            "cpu" if info.brand.is_empty() => info.brand = v.to_string(),
            "cpu family" => info.family = parse_num(v),
            "model" => {
                if let Some(n) = parse_num(v) {
                    info.model = Some(n);
                } else if info.vendor_id.is_empty() {
                    // POWER: "model : IBM,9009-42A" is the machine, not a number.
                    hardware.get_or_insert_with(|| v.to_string());
                }
            }
            "stepping" => info.stepping = parse_num(v),
            "cache size" => {
                let n = v.trim_end_matches(|c: char| c.is_ascii_alphabetic()).trim();
                info.cache_size_kb = n.parse().ok();
                if v.ends_with("MB") {
                    info.cache_size_kb = info.cache_size_kb.map(|k| k * 1024);
                }
            }
            "CPU implementer" => implementer = parse_num(v),
            "CPU architecture" => info.family = v.split_whitespace().next().and_then(parse_num),
            "CPU part" => part = parse_num(v),
            "CPU revision" => info.stepping = parse_num(v),
            "Hardware" => hardware = Some(v.to_string()),
            _ => {}
        }
    }
    if let Some(imp) = implementer {
        let vendor = ARM_IMPLEMENTERS
            .iter()
            .find(|(c, _)| *c == imp)
            .map(|(_, n)| *n);
        if info.vendor_id.is_empty() {
            info.vendor_id = vendor.map_or_else(|| format!("{imp:#x}"), str::to_string);
        }
        info.model = part;
        let part_name = part
            .and_then(|p| ARM_PARTS.iter().find(|(i, pp, _)| *i == imp && *pp == p))
            .map(|(_, _, n)| *n);
        if info.brand.is_empty() || bogus_model_name {
            info.brand = match (vendor, part_name) {
                (Some(v), Some(p)) => format!("{v} {p}"),
                (Some(v), None) => {
                    part.map_or_else(|| v.to_string(), |p| format!("{v} part {p:#05x}"))
                }
                _ => hardware.clone().unwrap_or_default(),
            };
        }
    }
    if info.vendor_id.is_empty() && info.brand.starts_with("POWER") {
        info.vendor_id = "IBM".to_string();
    }
    if info.vendor_id == "IBM/S390" {
        if let Some(m) = &s390_machine {
            info.model = m.parse().ok();
            if info.brand.is_empty() {
                info.brand = format!("IBM/S390 {m}");
            }
        }
        if let Some(n) = s390_processors {
            logical = logical.max(n);
        }
        if info.brand.is_empty() {
            info.brand = info.vendor_id.clone();
        }
    }
    if info.brand.is_empty() {
        if let Some(h) = hardware {
            info.brand = h;
        }
    }
    info.logical = logical;
    info.physical = (!cores.is_empty()).then_some(cores.len());
    info
}

/// Physical cores and the largest last-level cache (KiB) from the records Windows'
/// `GetLogicalProcessorInformationEx(RelationAll)` writes: each record is `Relationship: u32`,
/// `Size: u32`, then the relation; a core is a `RelationProcessorCore` (0) record, a cache a
/// `RelationCache` (2) record whose `Level: u8` is at offset 8 and `CacheSize: u32` at offset 12.
/// Little-endian, as on every Windows target. Malformed data ends the walk.
#[must_use]
pub fn parse_logical_processor_info(buf: &[u8]) -> (Option<usize>, Option<u64>) {
    const RELATION_PROCESSOR_CORE: u32 = 0;
    const RELATION_CACHE: u32 = 2;
    let u32_at = |o: usize| {
        buf.get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let (mut cores, mut cache) = (0usize, None::<(u8, u32)>);
    let mut off = 0usize;
    while let (Some(rel), Some(size)) = (u32_at(off), u32_at(off + 4)) {
        let size = size as usize;
        if size < 8 || off + size > buf.len() {
            break;
        }
        match rel {
            RELATION_PROCESSOR_CORE => cores += 1,
            RELATION_CACHE => {
                if let (Some(&level), Some(bytes)) = (buf.get(off + 8), u32_at(off + 12)) {
                    if cache.is_none_or(|(l, _)| level > l) {
                        cache = Some((level, bytes));
                    }
                }
            }
            _ => {}
        }
        off += size;
    }
    (
        (cores > 0).then_some(cores),
        cache.map(|(_, b)| u64::from(b) / 1024),
    )
}

/// Counts distinct lines (e.g. `core_cpus_list` of every CPU): the number of physical cores.
#[must_use]
pub fn count_unique<'a>(lines: impl IntoIterator<Item = &'a str>) -> usize {
    lines
        .into_iter()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<HashSet<_>>()
        .len()
}

/// Parses a kHz value (`/sys/devices/system/cpu/cpu0/cpufreq/*_freq`) into MHz.
#[must_use]
pub fn khz_to_mhz(text: &str) -> Option<f64> {
    text.trim()
        .parse::<u64>()
        .ok()
        .filter(|&k| k > 0)
        .map(|k| k as f64 / 1000.0)
}

/// Counts the CPUs of a kernel CPU list (`/sys/devices/system/cpu/online`: `0-3,8-11`, `0`).
/// `None` for anything that is not such a list.
#[must_use]
pub fn count_cpu_list(text: &str) -> Option<usize> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut n = 0usize;
    for part in text.split(',') {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (
                a.trim().parse::<usize>().ok()?,
                b.trim().parse::<usize>().ok()?,
            ),
            None => {
                let a = part.trim().parse::<usize>().ok()?;
                (a, a)
            }
        };
        n = n.checked_add(b.checked_sub(a)?.checked_add(1)?)?;
    }
    Some(n)
}

/// Whether the start of an x86 `/proc/cpuinfo` holds every field [`parse_cpuinfo`] and the
/// virtualization hints take from it: the first record has ended (a blank line), or its `flags`
/// line is complete (every field read comes before it).
#[must_use]
pub fn first_record_complete(text: &[u8]) -> bool {
    // Only whole lines count: up to (not including) the last newline.
    let Some(end) = text.iter().rposition(|&b| b == b'\n') else {
        return false;
    };
    // A cut at a newline is a character boundary: only a file that is not text fails here, and
    // reading more of it would not help.
    let Ok(lines) = std::str::from_utf8(&text[..end]) else {
        return true;
    };
    lines.contains("\n\n")
        || lines.ends_with('\n')
        || lines.starts_with("flags")
        || lines.contains("\nflags")
}

/// Physical cores from the first x86 `/proc/cpuinfo` record alone: `cpu cores` (cores per
/// package) times the number of packages, `logical / siblings` (`siblings`: logical CPUs per
/// package). `None` when the record lacks either field or the online CPUs do not fill whole
/// packages (some of them offline): then only counting every record's (`physical id`,
/// `core id`) is right.
#[must_use]
pub fn physical_from_first_record(record: &str, logical: usize) -> Option<usize> {
    let field = |name: &str| {
        record
            .lines()
            .take_while(|l| !l.trim().is_empty())
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim() == name)
            .and_then(|(_, v)| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
    };
    let (siblings, cores) = (field("siblings")?, field("cpu cores")?);
    if cores > siblings || logical == 0 || logical % siblings != 0 {
        return None;
    }
    Some(logical / siblings * cores)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amd_epyc_from_this_kind_of_vm() {
        let t = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\nmodel name\t: AMD EPYC\nstepping\t: 1\ncpu MHz\t\t: 2596.134\ncache size\t: 1024 KB\nphysical id\t: 0\nsiblings\t: 2\ncore id\t\t: 0\ncpu cores\t: 2\nflags\t\t: fpu hypervisor\n\nprocessor\t: 1\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\nmodel name\t: AMD EPYC\nstepping\t: 1\ncpu MHz\t\t: 2596.134\ncache size\t: 1024 KB\nphysical id\t: 0\ncore id\t\t: 1\n\n";
        let c = parse_cpuinfo(t);
        assert_eq!(c.vendor_id, "AuthenticAMD");
        assert_eq!(c.brand, "AMD EPYC");
        assert_eq!(
            (c.family, c.model, c.stepping),
            (Some(25), Some(17), Some(1))
        );
        assert_eq!(c.cache_size_kb, Some(1024));
        assert_eq!(c.frequency_mhz.current, Some(2596.134));
        assert_eq!((c.logical, c.physical), (2, Some(2)));
    }

    #[test]
    fn windows_processor_records() {
        fn rec(rel: u32, size: u32, level: u8, cache: u32) -> Vec<u8> {
            let mut r = vec![0u8; size as usize];
            r[0..4].copy_from_slice(&rel.to_le_bytes());
            r[4..8].copy_from_slice(&size.to_le_bytes());
            r[8] = level;
            r[12..16].copy_from_slice(&cache.to_le_bytes());
            r
        }
        let mut buf = Vec::new();
        for _ in 0..4 {
            buf.extend(rec(0, 48, 0, 0)); // cores
        }
        buf.extend(rec(2, 48, 1, 48 * 1024));
        buf.extend(rec(2, 48, 2, 1280 * 1024));
        buf.extend(rec(2, 48, 3, 30 * 1024 * 1024));
        buf.extend(rec(3, 48, 0, 0)); // package
        buf.extend(rec(1, 80, 0, 0)); // NUMA node
        assert_eq!(
            parse_logical_processor_info(&buf),
            (Some(4), Some(30 * 1024))
        );
        assert_eq!(parse_logical_processor_info(&[]), (None, None));
        // A record claiming more than the buffer ends the walk without panicking.
        let mut bad = rec(0, 48, 0, 0);
        bad.extend(rec(0, 4096, 0, 0).into_iter().take(48));
        assert_eq!(parse_logical_processor_info(&bad), (Some(1), None));
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(count_cpu_list("0-1\n"), Some(2));
        assert_eq!(count_cpu_list("0"), Some(1));
        assert_eq!(count_cpu_list("0-3,8-11,16"), Some(9));
        assert_eq!(count_cpu_list(""), None);
        assert_eq!(count_cpu_list("3-1"), None);
        assert_eq!(count_cpu_list("a-b"), None);
        assert_eq!(count_cpu_list("0-18446744073709551615"), None);
    }

    #[test]
    fn first_record_ends() {
        let rec = "processor\t: 0\nvendor_id\t: GenuineIntel\nsiblings\t: 8\ncpu cores\t: 4\nflags\t\t: fpu hypervisor\nbogomips\t: 1\n\nprocessor\t: 1\n";
        assert!(!first_record_complete(b""));
        assert!(!first_record_complete(b"processor\t: 0\nvendor_id"));
        assert!(!first_record_complete(
            b"processor\t: 0\nflags\t\t: fpu hyper"
        ));
        // The flags line is complete once its newline has been read.
        assert!(first_record_complete(
            b"processor\t: 0\nflags\t\t: fpu hypervisor\nbo"
        ));
        assert!(first_record_complete(b"flags\t\t: fpu\n"));
        // A record without flags (ARM, UML) ends with a blank line.
        assert!(first_record_complete(b"processor\t: 0\nBogoMIPS\t: 1\n\n"));
        assert!(!first_record_complete(b"processor\t: 0\nBogoMIPS\t: 1\n"));
        // "vmx flags" is not the flags line.
        assert!(!first_record_complete(
            b"processor\t: 0\nvmx flags\t: ept\nx"
        ));
        assert!(first_record_complete(rec.as_bytes()));
        assert_eq!(physical_from_first_record(rec, 16), Some(8));
        assert_eq!(physical_from_first_record(rec, 8), Some(4));
        assert_eq!(physical_from_first_record(rec, 12), None);
        assert_eq!(physical_from_first_record(rec, 0), None);
        assert_eq!(physical_from_first_record("processor\t: 0\n", 4), None);
        // Only the first record's fields count.
        let bad = "processor\t: 0\n\nsiblings\t: 2\ncpu cores\t: 1\n";
        assert_eq!(physical_from_first_record(bad, 4), None);
        let odd = "siblings\t: 2\ncpu cores\t: 4\n";
        assert_eq!(physical_from_first_record(odd, 4), None);
    }

    #[test]
    fn parsers_tolerate_junk() {
        for t in [
            "",
            ":",
            "processor",
            "processor : x\n",
            "cache size : MB",
            "cpu MHz : nan",
            "\n\n\n",
        ] {
            let _ = parse_cpuinfo(t);
        }
        assert_eq!(parse_cpuinfo("cpu MHz : nan\n").frequency_mhz.current, None);
        assert_eq!(khz_to_mhz("3500000\n"), Some(3500.0));
        assert_eq!(khz_to_mhz("x"), None);
        assert_eq!(count_unique(["0-1", "0-1", "2-3", ""]), 2);
    }
}
