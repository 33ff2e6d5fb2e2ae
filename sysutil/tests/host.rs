//! Real-host checks against independent sources: `ip -j`, `df`, `/proc`, `free`,
//! `systemd-detect-virt`. A tool that is not installed skips its check (with a note on stderr).
#![cfg(target_os = "linux")]

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// Runs a tool; `None` (and a note) when it is not installed. Returns stdout and success.
fn run(cmd: &str, args: &[&str]) -> Option<(String, bool)> {
    match Command::new(cmd).args(args).output() {
        Ok(o) => Some((
            String::from_utf8_lossy(&o.stdout).into_owned(),
            o.status.success(),
        )),
        Err(e) => {
            eprintln!("skipping: {cmd} not runnable: {e}");
            None
        }
    }
}

#[test]
fn network_matches_ip_json() {
    let Some((out, ok)) = run("ip", &["-j", "addr"]) else {
        return;
    };
    assert!(ok, "ip -j addr failed");
    let ip: Vec<Value> = serde_json::from_str(&out).expect("ip -j output is JSON");
    let ours = sysutil::network_info().expect("network_info");
    let our_names: BTreeSet<&str> = ours.iter().map(|i| i.name.as_str()).collect();
    let ip_names: BTreeSet<&str> = ip.iter().filter_map(|i| i["ifname"].as_str()).collect();
    assert_eq!(our_names, ip_names, "interface names");
    for link in &ip {
        let name = link["ifname"].as_str().unwrap_or_default();
        let me = ours.iter().find(|i| i.name == name).expect("listed");
        let link_type = link["link_type"].as_str().unwrap_or_default();
        if link_type == "ether" || link_type == "loopback" {
            assert_eq!(me.mac.as_deref(), link["address"].as_str(), "{name}: mac");
        }
        assert_eq!(
            me.mtu,
            link["mtu"].as_u64().map(|m| m as u32),
            "{name}: mtu"
        );
        let flags: Vec<&str> = link["flags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(me.is_up, flags.contains(&"UP"), "{name}: up");
        assert_eq!(
            me.is_loopback,
            flags.contains(&"LOOPBACK"),
            "{name}: loopback"
        );
        let addrs = link["addr_info"].as_array().cloned().unwrap_or_default();
        let fam = |f: &str| -> Vec<(String, u64)> {
            addrs
                .iter()
                .filter(|a| a["family"] == f)
                .map(|a| {
                    (
                        a["local"].as_str().unwrap_or_default().to_string(),
                        a["prefixlen"].as_u64().unwrap_or(0),
                    )
                })
                .collect()
        };
        let our_fam = |v4: bool| -> Vec<(String, u64)> {
            me.addresses
                .iter()
                .filter(|a| a.addr.is_ipv4() == v4)
                .map(|a| (a.addr.to_string(), u64::from(a.prefix)))
                .collect()
        };
        assert_eq!(
            our_fam(true),
            fam("inet"),
            "{name}: IPv4 addresses in order"
        );
        let sorted = |mut v: Vec<(String, u64)>| {
            v.sort();
            v
        };
        assert_eq!(
            sorted(our_fam(false)),
            sorted(fam("inet6")),
            "{name}: IPv6 addresses"
        );
        let first_v4 = fam("inet").first().cloned();
        assert_eq!(
            me.ipv4.map(|a| a.to_string()),
            first_v4.as_ref().map(|a| a.0.clone()),
            "{name}: primary IPv4"
        );
        if let Some((_, prefix)) = first_v4 {
            let mask = me.netmask.expect("netmask with an IPv4");
            assert_eq!(
                u64::from(u32::from(mask).count_ones()),
                prefix,
                "{name}: netmask"
            );
        }
    }
}

#[test]
fn primary_ip_matches_route_get() {
    let Some((out, ok)) = run("ip", &["-j", "route", "get", "8.8.8.8"]) else {
        return;
    };
    let ours = sysutil::primary_ip();
    // facts() asks the route on its netlink socket instead of a UDP socket: the same answer.
    assert_eq!(sysutil::facts().primary_ip, ours);
    if !ok {
        eprintln!("no IPv4 route to the internet here; primary_ip = {ours:?}");
        return;
    }
    let v: Value = serde_json::from_str(&out).expect("JSON");
    let prefsrc = v[0]["prefsrc"].as_str().map(str::to_string);
    assert_eq!(ours.map(|i| i.to_string()), prefsrc);
}

#[test]
fn fstype_table_agrees_with_this_kernel() {
    // The table that spares reading /proc/filesystems must say what this kernel says.
    let fs = std::fs::read_to_string("/proc/filesystems").expect("/proc/filesystems");
    for line in fs.lines() {
        let (nodev, name) = match line.split_once('\t') {
            Some((flag, name)) => (flag == "nodev", name.trim()),
            None => continue,
        };
        if let Some(physical) = sysutil::disk::known_physical_fstype(name) {
            assert_eq!(
                physical,
                !nodev || name == "zfs",
                "{name}: table vs /proc/filesystems"
            );
        }
    }
}

#[test]
fn disks_match_proc_and_df() {
    // Independent reading of psutil's rule: device-backed types from /proc/filesystems (+ zfs).
    let fs = std::fs::read_to_string("/proc/filesystems").expect("/proc/filesystems");
    let mut types: BTreeSet<String> = fs
        .lines()
        .filter(|l| !l.starts_with("nodev"))
        .map(|l| l.trim().to_string())
        .collect();
    if fs
        .lines()
        .any(|l| l.starts_with("nodev") && l.ends_with("zfs"))
    {
        types.insert("zfs".into());
    }
    let mounts = std::fs::read_to_string("/proc/self/mounts").expect("mounts");
    let expected: Vec<(String, String)> = mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (f.len() > 2 && f[0] != "none" && types.contains(f[2]))
                .then(|| (f[0].to_string(), f[1].replace("\\040", " ")))
        })
        .collect();
    let ours = sysutil::disk_info().expect("disk_info");
    let got: Vec<(String, String)> = ours
        .iter()
        .map(|d| (d.device.clone(), d.mountpoint.clone()))
        .collect();
    assert_eq!(got, expected);
    for d in &ours {
        let Some((out, ok)) = run("df", &["-B1", "--output=size,avail", &d.mountpoint]) else {
            return;
        };
        if !ok {
            continue;
        }
        let nums: Vec<u64> = out
            .lines()
            .nth(1)
            .unwrap_or("")
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect();
        assert_eq!(nums.len(), 2, "df output {out:?}");
        assert_eq!(d.total, nums[0], "{}: total", d.mountpoint);
        // Free space moves while other programs write; allow 1 GiB of drift (a bfree/bavail or
        // block-size mix-up is off by the reserved 5%, many GiB here).
        assert!(
            d.free.abs_diff(nums[1]) < 1 << 30,
            "{}: free {} vs df {}",
            d.mountpoint,
            d.free,
            nums[1]
        );
    }
}

#[test]
fn cpu_matches_proc_cpuinfo() {
    let text = std::fs::read_to_string("/proc/cpuinfo").expect("/proc/cpuinfo");
    let first: BTreeMap<&str, &str> = text
        .split("\n\n")
        .next()
        .unwrap_or("")
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    let c = sysutil::cpu_info().expect("cpu_info");
    let logical = text
        .lines()
        .filter(|l| l.starts_with("processor") && l.contains(':'))
        .count();
    assert_eq!(c.logical, logical);
    if let Some(v) = first.get("vendor_id") {
        assert_eq!(&c.vendor_id, v);
    }
    if let Some(b) = first.get("model name") {
        assert_eq!(&c.brand, b);
    }
    let num = |k: &str| first.get(k).and_then(|v| v.parse::<u32>().ok());
    if first.contains_key("cpu family") {
        assert_eq!(
            (c.family, c.model, c.stepping),
            (num("cpu family"), num("model"), num("stepping"))
        );
    }
    let pairs: BTreeSet<(String, String)> = text
        .split("\n\n")
        .filter_map(|b| {
            let m: BTreeMap<&str, &str> = b
                .lines()
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim(), v.trim()))
                .collect();
            Some((
                m.get("physical id")?.to_string(),
                m.get("core id")?.to_string(),
            ))
        })
        .collect();
    if !pairs.is_empty() {
        assert_eq!(c.physical, Some(pairs.len()));
    }
    let (uname, _) = run("uname", &["-m"]).unwrap_or_default();
    if !uname.is_empty() {
        assert_eq!(c.arch, uname.trim());
    }
}

#[test]
fn x86_cpuid_agrees_with_linux() {
    let Some(id) = sysutil::cpuid::identity() else {
        return;
    };
    let text = std::fs::read_to_string("/proc/cpuinfo").expect("/proc/cpuinfo");
    let get = |k: &str| {
        text.lines().find_map(|l| {
            let (a, b) = l.split_once(':')?;
            (a.trim() == k).then(|| b.trim().to_string())
        })
    };
    assert_eq!(Some(id.vendor), get("vendor_id"));
    assert_eq!(Some(id.family.to_string()), get("cpu family"));
    assert_eq!(Some(id.model.to_string()), get("model"));
    assert_eq!(Some(id.stepping.to_string()), get("stepping"));
}

fn detect_virt(arg: &str) -> Option<Option<String>> {
    let (out, _) = run("systemd-detect-virt", &[arg])?;
    // It prints "none" and exits non-zero when there is nothing.
    let name = out.trim().to_string();
    Some((name != "none" && !name.is_empty()).then_some(name))
}

#[test]
fn virtualization_matches_systemd_detect_virt() {
    let v = sysutil::virtualization();
    if let Some(vm) = detect_virt("--vm") {
        assert_eq!(v.vm, vm, "hypervisor");
        assert_eq!(sysutil::is_virtual_machine(), vm.is_some());
    }
    if let Some(c) = detect_virt("--container") {
        assert_eq!(v.container, c, "container");
    }
}

#[test]
fn memory_matches_free() {
    let m = sysutil::memory_info().expect("memory_info");
    let Some((out, ok)) = run("free", &["-b"]) else {
        return;
    };
    assert!(ok);
    let nums: Vec<u64> = out
        .lines()
        .find(|l| l.starts_with("Mem:"))
        .unwrap_or("")
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    assert_eq!(m.total, nums[0], "total");
    // free's last column is "available"; it moves as compilers start and stop here: allow
    // 2 GiB (MemFree in its place would still be off by the page cache).
    let avail = *nums.last().unwrap_or(&0);
    assert!(
        m.available.abs_diff(avail) < 2 << 30,
        "available {} vs free {}",
        m.available,
        avail
    );
}

#[test]
fn hostname_and_boot_time() {
    let h = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
    assert_eq!(sysutil::hostname().expect("hostname"), h.trim());
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .expect("uptime")
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .expect("uptime number");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    let boot = sysutil::boot_time().expect("boot_time") as f64;
    assert!(
        (now - uptime - boot).abs() < 5.0,
        "boot {boot} vs now-uptime {}",
        now - uptime
    );
}

#[test]
fn facts_json_shape() {
    let f = sysutil::facts();
    let v = serde_json::to_value(&f).expect("serializes");
    for k in [
        "network",
        "primary_ip",
        "disks",
        "cpu",
        "memory",
        "virtual",
        "hostname",
        "boot_time",
    ] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    for k in [
        "brand",
        "vendor_id",
        "family",
        "model",
        "stepping",
        "cache_size_kb",
        "frequency_mhz",
        "logical",
        "physical",
        "arch",
    ] {
        assert!(v["cpu"].get(k).is_some(), "cpu.{k}");
    }
    for k in ["is_vm", "hypervisor", "container"] {
        assert!(v["virtual"].get(k).is_some(), "virtual.{k}");
    }
    for k in ["total", "available"] {
        assert!(v["memory"][k].as_u64().is_some_and(|n| n > 0), "memory.{k}");
    }
    let n = &v["network"][0];
    for k in [
        "name",
        "mac",
        "ipv4",
        "ipv6",
        "netmask",
        "addresses",
        "is_up",
        "is_loopback",
        "mtu",
    ] {
        assert!(n.get(k).is_some(), "network.{k}");
    }
    assert_eq!(f.virtualization, sysutil::virtualization());
    assert_eq!(
        f.cpu.ok().map(|c| &c.brand),
        sysutil::cpu_info().ok().as_ref().map(|c| &c.brand)
    );
}
