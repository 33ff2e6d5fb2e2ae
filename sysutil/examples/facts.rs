//! Prints this machine's facts: a readable report, or with `--json` one JSON object.
//!
//! `cargo run -p agentry-sysutil --example facts -- [--json]`

use sysutil::{Fact, facts};

fn show<T>(f: &Fact<T>, ok: impl FnOnce(&T) -> String) -> String {
    match f {
        Fact::Ok(v) => ok(v),
        Fact::Err(e) => format!("error: {e}"),
    }
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "?".to_string(), |v| v.to_string())
}

fn gib(b: u64) -> String {
    format!("{:.1} GiB", b as f64 / f64::from(1u32 << 30))
}

fn main() -> anyhow::Result<()> {
    let json = std::env::args().skip(1).any(|a| a == "--json");
    let start = std::time::Instant::now();
    let f = facts();
    let took = start.elapsed();
    if json {
        println!("{}", serde_json::to_string_pretty(&f)?);
        return Ok(());
    }
    println!("hostname    {}", show(&f.hostname, Clone::clone));
    println!(
        "boot time   {}",
        show(&f.boot_time, |t| format!("{t} (Unix seconds)"))
    );
    println!(
        "primary ip  {}",
        f.primary_ip
            .map_or_else(|| "none".to_string(), |i| i.to_string())
    );
    let v = &f.virtualization;
    println!(
        "virtual     vm: {}, container: {}",
        v.vm.as_deref().unwrap_or("none"),
        v.container.as_deref().unwrap_or("none")
    );
    println!(
        "cpu         {}",
        show(&f.cpu, |c| {
            format!(
                "{} ({}, family {} model {} stepping {}), {} logical / {} physical, {} MHz (max {}), cache {} KiB, {}",
                c.brand,
                c.vendor_id,
                opt(c.family),
                opt(c.model),
                opt(c.stepping),
                c.logical,
                c.physical.map_or_else(|| "?".into(), |p| p.to_string()),
                c.frequency_mhz
                    .current
                    .map_or_else(|| "?".into(), |m| format!("{m:.0}")),
                c.frequency_mhz
                    .max
                    .map_or_else(|| "?".into(), |m| format!("{m:.0}")),
                c.cache_size_kb
                    .map_or_else(|| "?".into(), |k| k.to_string()),
                c.arch
            )
        })
    );
    println!(
        "memory      {}",
        show(&f.memory, |m| format!(
            "{} total, {} available",
            gib(m.total),
            gib(m.available)
        ))
    );
    match &f.network {
        Fact::Ok(list) => {
            for i in list {
                let addrs: Vec<String> = i
                    .addresses
                    .iter()
                    .map(|a| format!("{}/{}", a.addr, a.prefix))
                    .collect();
                println!(
                    "net         {:<10} {} mac {} mtu {} {}",
                    i.name,
                    if i.is_up { "up  " } else { "down" },
                    i.mac.as_deref().unwrap_or("-"),
                    i.mtu.map_or_else(|| "?".into(), |m| m.to_string()),
                    addrs.join(" ")
                );
            }
        }
        Fact::Err(e) => println!("net         error: {e}"),
    }
    match &f.disks {
        Fact::Ok(list) => {
            for d in list {
                println!(
                    "disk        {:<20} {:<12} {:<6} {} total, {} free",
                    d.mountpoint,
                    d.device,
                    d.fstype,
                    gib(d.total),
                    gib(d.free)
                );
            }
        }
        Fact::Err(e) => println!("disk        error: {e}"),
    }
    println!("(read in {took:?})");
    Ok(())
}
