//! sysutil against sysinfo (and `systemd-detect-virt` when installed), same facts, same run.
//!
//! `cargo bench --bench sysutil [-- --iters N] [--json]`
//!
//! Each row times one way of getting a fact from nothing (no state carried between iterations)
//! and prints the mean and the median (the machine is shared: the median shows what a quiet
//! machine would see) and the ratio peer/sysutil of each. `shared facts` is the set the peers
//! give too (interfaces, disks, CPU, memory, host name, boot time: `facts()` without the primary
//! IP and virtualization), the like-for-like comparison of the whole; `facts vs +virt` adds
//! `systemd-detect-virt` to sysinfo, the cheapest way to every part of `facts()`. `--json` prints
//! `{"sysutil": {"cpu": mean µs, ...}, "sysinfo": {...}, "median": {...}}` for
//! `benches/sysutil_psutil.py`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use sysinfo::{CpuRefreshKind, Disks, MemoryRefreshKind, Networks, RefreshKind, System};

/// Mean and median of one way of getting a fact, in µs.
#[derive(Clone, Copy)]
struct Stat {
    mean: f64,
    median: f64,
}

/// Times `f` over `iters` runs, after a few warm-up runs.
fn time<T>(iters: u32, mut f: impl FnMut() -> T) -> Stat {
    for _ in 0..iters.min(3) {
        black_box(f());
    }
    let mut v: Vec<f64> = (0..iters.max(1))
        .map(|_| {
            let start = Instant::now();
            black_box(f());
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    v.sort_by(f64::total_cmp);
    Stat {
        mean: v.iter().sum::<f64>() / v.len() as f64,
        median: v[v.len() / 2],
    }
}

fn sysinfo_cpu() -> (String, String, u64, Option<usize>, usize) {
    let s = System::new_with_specifics(
        RefreshKind::nothing().with_cpu(CpuRefreshKind::nothing().with_frequency()),
    )
    .expect("sysinfo System");
    let c = &s.cpus()[0];
    (
        c.brand().to_string(),
        c.vendor_id().to_string(),
        c.frequency(),
        System::physical_core_count().ok(),
        s.cpus().len(),
    )
}

fn sysinfo_memory() -> (u64, u64) {
    let s = System::new_with_specifics(
        RefreshKind::nothing().with_memory(MemoryRefreshKind::nothing().with_ram()),
    )
    .expect("sysinfo System");
    (s.total_memory(), s.available_memory())
}

fn sysinfo_network() -> usize {
    let n = Networks::new_with_refreshed_list().expect("sysinfo Networks");
    n.iter()
        .map(|(name, d)| {
            name.len() + d.ip_networks().len() + d.mac_address().0.len() + d.mtu() as usize
        })
        .sum()
}

fn sysinfo_disks() -> usize {
    let d = Disks::new_with_refreshed_list().expect("sysinfo Disks");
    d.iter()
        .map(|d| {
            d.total_space() as usize
                + d.available_space() as usize
                + d.mount_point().as_os_str().len()
        })
        .sum()
}

fn sysinfo_targeted_all() {
    black_box(sysinfo_cpu());
    black_box(sysinfo_memory());
    black_box(sysinfo_network());
    black_box(sysinfo_disks());
    let _ = black_box(System::host_name());
    let _ = black_box(System::boot_time());
}

fn sysinfo_new_all() {
    black_box(System::new_all().expect("sysinfo System"));
    black_box(Networks::new_with_refreshed_list().expect("sysinfo Networks"));
    black_box(Disks::new_with_refreshed_list().expect("sysinfo Disks"));
    let _ = black_box(System::host_name());
}

/// The facts the peers give too (everything but the primary IP, the CPU identity beyond brand
/// and vendor, and virtualization): what `sysinfo_targeted_all` and psutil's `facts` time.
fn sysutil_peer_subset() {
    let _ = black_box(sysutil::network_info());
    let _ = black_box(sysutil::disk_info());
    let _ = black_box(sysutil::cpu_info());
    let _ = black_box(sysutil::memory_info());
    let _ = black_box(sysutil::hostname());
    let _ = black_box(sysutil::boot_time());
}

/// sysinfo's parts and `systemd-detect-virt` for the virtualization part: the cheapest way to
/// all of `facts()` with these peers (still without family/model/stepping and the primary IP).
fn sysinfo_targeted_and_detect_virt() {
    sysinfo_targeted_all();
    detect_virt();
}

fn detect_virt() {
    let _ = std::process::Command::new("systemd-detect-virt").output();
}

/// (fact, sysutil, (peer, peer's time))
type Row = (&'static str, Stat, Option<(&'static str, Stat)>);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let json = args.iter().any(|a| a == "--json");
    let iters: u32 = args
        .iter()
        .position(|a| a == "--iters")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let has_detect_virt = std::process::Command::new("systemd-detect-virt")
        .output()
        .is_ok();

    let rows: Vec<Row> = vec![
        (
            "cpu",
            time(iters, sysutil::cpu_info),
            Some(("sysinfo cpu+frequency", time(iters, sysinfo_cpu))),
        ),
        (
            "memory",
            time(iters, sysutil::memory_info),
            Some(("sysinfo ram", time(iters, sysinfo_memory))),
        ),
        (
            "network",
            time(iters, sysutil::network_info),
            Some(("sysinfo Networks", time(iters, sysinfo_network))),
        ),
        ("primary_ip", time(iters, sysutil::primary_ip), None),
        (
            "disks",
            time(iters, sysutil::disk_info),
            Some(("sysinfo Disks", time(iters, sysinfo_disks))),
        ),
        (
            "hostname",
            time(iters, sysutil::hostname),
            Some(("sysinfo host_name", time(iters, System::host_name))),
        ),
        (
            "boot_time",
            time(iters, sysutil::boot_time),
            Some(("sysinfo boot_time", time(iters, System::boot_time))),
        ),
        (
            "virtualization",
            time(iters, sysutil::virtualization),
            has_detect_virt.then(|| {
                (
                    "systemd-detect-virt (process)",
                    time(iters.min(50), detect_virt),
                )
            }),
        ),
        (
            "shared facts",
            time(iters, sysutil_peer_subset),
            Some((
                "sysinfo targeted, all parts",
                time(iters, sysinfo_targeted_all),
            )),
        ),
        (
            "facts",
            time(iters, sysutil::facts),
            Some((
                "sysinfo targeted, all parts",
                time(iters, sysinfo_targeted_all),
            )),
        ),
        (
            "facts vs +virt",
            time(iters, sysutil::facts),
            has_detect_virt.then(|| {
                (
                    "sysinfo targeted+detect-virt",
                    time(iters.min(50), sysinfo_targeted_and_detect_virt),
                )
            }),
        ),
        (
            "facts vs new_all",
            time(iters, sysutil::facts),
            Some((
                "sysinfo new_all+Networks+Disks",
                time(iters.min(20), sysinfo_new_all),
            )),
        ),
    ];
    if json {
        let ours: BTreeMap<&str, f64> = rows.iter().map(|(n, s, _)| (*n, s.mean)).collect();
        let median: BTreeMap<&str, f64> = rows.iter().map(|(n, s, _)| (*n, s.median)).collect();
        let peers: BTreeMap<&str, f64> = rows
            .iter()
            .filter_map(|(n, _, p)| Some((*n, p.as_ref()?.1.mean)))
            .collect();
        let peers_median: BTreeMap<&str, f64> = rows
            .iter()
            .filter_map(|(n, _, p)| Some((*n, p.as_ref()?.1.median)))
            .collect();
        let out = serde_json::json!({
            "iters": iters, "sysutil": ours, "median": median,
            "sysinfo": peers, "sysinfo_median": peers_median,
        });
        println!("{out}");
        return;
    }
    println!(
        "{:<17} {:>9} {:>9}   {:<30} {:>9} {:>9} {:>7} {:>7}",
        "fact", "mean µs", "median", "peer", "mean µs", "median", "ratio", "(med)"
    );
    for (name, ours, peer) in &rows {
        match peer {
            Some((pname, p)) => println!(
                "{name:<17} {:>9.1} {:>9.1}   {pname:<30} {:>9.1} {:>9.1} {:>6.1}x {:>6.1}x",
                ours.mean,
                ours.median,
                p.mean,
                p.median,
                p.mean / ours.mean.max(1e-9),
                p.median / ours.median.max(1e-9)
            ),
            None => println!(
                "{name:<17} {:>9.1} {:>9.1}   {:<30}",
                ours.mean, ours.median, "-"
            ),
        }
    }
    println!(
        "({iters} iterations each; ratio = peer time / sysutil time, of the means and of the medians)"
    );
}
