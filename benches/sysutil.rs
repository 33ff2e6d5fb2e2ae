//! sysutil against sysinfo (and `systemd-detect-virt` when installed), same facts, same run.
//!
//! `cargo bench --bench sysutil [-- --iters N] [--json]`
//!
//! Each row times one way of getting a fact from nothing (no cached state carried between
//! iterations), prints the mean, and the ratio peer/sysutil. `--json` prints
//! `{"sysutil": {"cpu": µs, ...}, "sysinfo": {...}}` for `benches/sysutil_psutil.py`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use sysinfo::{CpuRefreshKind, Disks, MemoryRefreshKind, Networks, RefreshKind, System};

/// Mean time of `f` over `iters` runs, after a few warm-up runs.
fn mean<T>(iters: u32, mut f: impl FnMut() -> T) -> Duration {
    for _ in 0..iters.min(3) {
        black_box(f());
    }
    let start = Instant::now();
    for _ in 0..iters {
        black_box(f());
    }
    start.elapsed() / iters.max(1)
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
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

fn detect_virt() {
    let _ = std::process::Command::new("systemd-detect-virt").output();
}

/// (fact, sysutil mean, (peer, peer mean))
type Row = (&'static str, Duration, Option<(&'static str, Duration)>);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let json = args.iter().any(|a| a == "--json");
    let iters: u32 = args
        .iter()
        .position(|a| a == "--iters")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);

    let mut ours: BTreeMap<&str, f64> = BTreeMap::new();
    let mut peer: BTreeMap<&str, (&str, f64)> = BTreeMap::new();
    let rows: Vec<Row> = vec![
        (
            "cpu",
            mean(iters, sysutil::cpu_info),
            Some(("sysinfo cpu+frequency", mean(iters, sysinfo_cpu))),
        ),
        (
            "memory",
            mean(iters, sysutil::memory_info),
            Some(("sysinfo ram", mean(iters, sysinfo_memory))),
        ),
        (
            "network",
            mean(iters, sysutil::network_info),
            Some(("sysinfo Networks", mean(iters, sysinfo_network))),
        ),
        ("primary_ip", mean(iters, sysutil::primary_ip), None),
        (
            "disks",
            mean(iters, sysutil::disk_info),
            Some(("sysinfo Disks", mean(iters, sysinfo_disks))),
        ),
        (
            "hostname",
            mean(iters, sysutil::hostname),
            Some(("sysinfo host_name", mean(iters, System::host_name))),
        ),
        (
            "boot_time",
            mean(iters, sysutil::boot_time),
            Some(("sysinfo boot_time", mean(iters, System::boot_time))),
        ),
        (
            "virtualization",
            mean(iters, sysutil::virtualization),
            std::process::Command::new("systemd-detect-virt")
                .output()
                .ok()
                .map(|_| {
                    (
                        "systemd-detect-virt (process)",
                        mean(iters.min(50), detect_virt),
                    )
                }),
        ),
        (
            "facts",
            mean(iters, sysutil::facts),
            Some((
                "sysinfo targeted, all parts",
                mean(iters, sysinfo_targeted_all),
            )),
        ),
        (
            "facts vs new_all",
            mean(iters, sysutil::facts),
            Some((
                "sysinfo new_all+Networks+Disks",
                mean(iters.min(20), sysinfo_new_all),
            )),
        ),
    ];
    if !json {
        println!(
            "{:<18} {:>12}   {:<32} {:>12} {:>8}",
            "fact", "sysutil µs", "peer", "peer µs", "ratio"
        );
    }
    for (name, d, p) in &rows {
        ours.insert(name, us(*d));
        match p {
            Some((pname, pd)) => {
                peer.insert(name, (pname, us(*pd)));
                if !json {
                    println!(
                        "{name:<18} {:>12.1}   {pname:<32} {:>12.1} {:>7.1}x",
                        us(*d),
                        us(*pd),
                        pd.as_secs_f64() / d.as_secs_f64().max(1e-12)
                    );
                }
            }
            None if !json => println!(
                "{name:<18} {:>12.1}   {:<32} {:>12} {:>8}",
                us(*d),
                "-",
                "-",
                "-"
            ),
            None => {}
        }
    }
    if json {
        let peers: BTreeMap<&str, f64> = peer.iter().map(|(k, (_, v))| (*k, *v)).collect();
        let out = serde_json::json!({ "iters": iters, "sysutil": ours, "sysinfo": peers });
        println!("{out}");
    } else {
        println!(
            "({iters} iterations each; ratio = peer time / sysutil time, higher is better for sysutil)"
        );
    }
}
