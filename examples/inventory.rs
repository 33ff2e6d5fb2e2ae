//! The README's main job: what this machine is, as an agent reports it to its server.
//!
//! ```text
//! cargo run --example inventory            # a readable report
//! cargo run --example inventory -- --json  # one JSON object: {"platform": {...}, "facts": {...}}
//! ```
//!
//! The platform comes from `pf` (system, distribution, version, kernel, OS bitness), the machine's
//! facts from `sysutil` (addresses, disks, CPU, memory, virtualization). Neither runs a
//! subprocess; the whole report takes a few milliseconds.

use std::time::Instant;

use serde::Serialize;
use sysutil::Fact;

#[derive(Serialize)]
struct Inventory<'a> {
    platform: &'a pf::Platform,
    facts: &'a sysutil::Facts,
}

fn main() -> anyhow::Result<()> {
    let json = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("--json") => true,
        Some("-h" | "--help") => {
            println!("usage: inventory [--json]");
            return Ok(());
        }
        Some(other) => anyhow::bail!("unknown argument {other:?} (usage: inventory [--json])"),
    };

    let started = Instant::now();
    let platform = pf::get_platform();
    let facts = sysutil::facts();
    let elapsed = started.elapsed();

    if json {
        let inventory = Inventory {
            platform,
            facts: &facts,
        };
        println!("{}", serde_json::to_string_pretty(&inventory)?);
        return Ok(());
    }

    println!("== platform (pf)");
    println!("  {platform}");
    println!("  label       {}", platform.label());
    println!(
        "  system      {} / dist {} / id {} / version {}",
        platform.system(),
        platform.dist(),
        platform.id(),
        platform.version()
    );
    if let Some(codename) = platform.codename() {
        println!("  codename    {codename}");
    }
    if !platform.like().is_empty() {
        println!("  like        {}", platform.like().join(", "));
    }
    println!("  kernel      {}", platform.kernel());
    println!(
        "  arch        {} (OS {}-bit, this process {}-bit)",
        platform.arch(),
        platform.bits(),
        platform.process_bits()
    );

    println!("\n== machine (sysutil)");
    print_fact("hostname", &facts.hostname, |h| h.clone());
    print_fact("boot time", &facts.boot_time, |t| {
        format!("{t} (Unix seconds)")
    });
    let v = &facts.virtualization;
    println!(
        "  {:<11} {}",
        "virtual",
        match (&v.vm, &v.container) {
            (None, None) => "bare metal, no container".to_string(),
            (Some(vm), None) => format!("virtual machine ({vm})"),
            (None, Some(c)) => format!("container ({c}) on bare metal or an undetected VM"),
            (Some(vm), Some(c)) => format!("container ({c}) in a virtual machine ({vm})"),
        }
    );
    print_fact("cpu", &facts.cpu, |c| {
        let mut s = format!("{} ({})", c.brand, c.vendor_id);
        if let (Some(f), Some(m), Some(st)) = (c.family, c.model, c.stepping) {
            s.push_str(&format!(", family {f} model {m} stepping {st}"));
        }
        s.push_str(&format!(
            "\n              {} logical / {} physical cores, {}",
            c.logical,
            c.physical.map_or("?".to_string(), |p| p.to_string()),
            c.arch
        ));
        if let Some(mhz) = c.frequency_mhz.current {
            s.push_str(&format!(", {mhz:.0} MHz"));
        }
        if let Some(mhz) = c.frequency_mhz.max {
            s.push_str(&format!(" (max {mhz:.0} MHz)"));
        }
        if let Some(kb) = c.cache_size_kb {
            s.push_str(&format!(", cache {kb} KiB"));
        }
        s
    });
    print_fact("memory", &facts.memory, |m| {
        format!(
            "{} total, {} available",
            human_bytes(m.total),
            human_bytes(m.available)
        )
    });
    println!(
        "  {:<11} {}",
        "primary ip",
        facts
            .primary_ip
            .map_or("none".to_string(), |ip| ip.to_string())
    );
    print_fact("network", &facts.network, |ifaces| {
        let mut s = format!("{} interfaces", ifaces.len());
        for i in ifaces {
            let addrs: Vec<String> = i
                .addresses
                .iter()
                .map(|a| format!("{}/{}", a.addr, a.prefix))
                .collect();
            s.push_str(&format!(
                "\n    {:<12} {:<4} mac {:<17} mtu {:<5} {}",
                i.name,
                if i.is_up { "up" } else { "down" },
                i.mac.as_deref().unwrap_or("-"),
                i.mtu.map_or("-".to_string(), |m| m.to_string()),
                addrs.join(" ")
            ));
        }
        s
    });
    print_fact("disks", &facts.disks, |disks| {
        let mut s = format!("{} filesystems", disks.len());
        for d in disks {
            s.push_str(&format!(
                "\n    {:<20} {:<24} {:<6} {:>10} total {:>10} free",
                d.mountpoint,
                d.device,
                d.fstype,
                human_bytes(d.total),
                human_bytes(d.free)
            ));
        }
        s
    });
    println!(
        "\n(read in {:.2} ms, no subprocess)",
        elapsed.as_secs_f64() * 1e3
    );
    Ok(())
}

fn print_fact<T>(name: &str, fact: &Fact<T>, show: impl Fn(&T) -> String) {
    match fact {
        Fact::Ok(v) => println!("  {name:<11} {}", show(v)),
        Fact::Err(e) => println!("  {name:<11} unavailable: {e}"),
    }
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}
