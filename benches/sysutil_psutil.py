#!/usr/bin/env python3
"""sysutil against psutil: the same facts, timed in the same run, plus an agreement check.

    python3 benches/sysutil_psutil.py [--iters N] [--no-verify]

What it does:
  1. makes a temporary venv and pip-installs psutil (and py-cpuinfo, for the CPU identity check);
  2. times the psutil calls that give each fact sysutil gives (in-process, mean per call);
  3. runs the Rust bench (`cargo bench --bench sysutil -- --json`) for sysutil's means;
  4. prints both and the ratio psutil/sysutil;
  5. unless --no-verify, runs `cargo run --example facts -- --json` and checks that it agrees
     with psutil (interface names, MACs, IPv4 addresses and netmasks, disk mountpoints and
     sizes), py-cpuinfo (CPU brand, vendor, family, model, stepping) and systemd-detect-virt
     (is_vm, hypervisor, container). Exit status 1 if anything disagrees.

Honours CARGO_TARGET_DIR. Needs python3 with venv and network access to PyPI.
"""

import json
import os
import subprocess
import sys
import tempfile
import venv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TIMER = r'''
import json, shutil, socket, subprocess, sys, time
import psutil

def mean_us(f, iters):
    for _ in range(min(3, iters)):
        f()
    v = []
    for _ in range(iters):
        t = time.perf_counter()
        f()
        v.append((time.perf_counter() - t) * 1e6)
    v.sort()
    return [sum(v) / len(v), v[len(v) // 2]]

def cpu():
    return (psutil.cpu_count(), psutil.cpu_count(logical=False), psutil.cpu_freq())

def memory():
    return psutil.virtual_memory()

def network():
    return (psutil.net_if_addrs(), psutil.net_if_stats())

def disks():
    return [(p, psutil.disk_usage(p.mountpoint)) for p in psutil.disk_partitions(all=False)]

def hostname():
    return socket.gethostname()

def boot_time():
    return psutil.boot_time()

def facts():
    return (network(), disks(), cpu(), memory(), hostname(), boot_time())

def facts_and_virt():
    # psutil has no virtualization detection: systemd-detect-virt is the usual complement.
    return (facts(), subprocess.run(["systemd-detect-virt"], capture_output=True))

iters = int(sys.argv[1])
out = {name: mean_us(f, iters) for name, f in
       [("cpu", cpu), ("memory", memory), ("network", network), ("disks", disks),
        ("hostname", hostname), ("boot_time", boot_time), ("facts", facts)]}
if shutil.which("systemd-detect-virt"):
    out["facts_and_virt"] = mean_us(facts_and_virt, min(iters, 50))
print(json.dumps(out))
'''

DUMP = r'''
import json, socket
import psutil
try:
    import cpuinfo
    c = cpuinfo.get_cpu_info()
except Exception as e:  # py-cpuinfo missing or failing: report, do not hide
    c = {"error": str(e)}
addrs = psutil.net_if_addrs()
stats = psutil.net_if_stats()
net = {}
for name, lst in addrs.items():
    net[name] = {
        "mac": next((a.address for a in lst if a.family == psutil.AF_LINK), None),
        "ipv4": [(a.address, a.netmask) for a in lst if a.family == socket.AF_INET],
        "is_up": stats[name].isup if name in stats else None,
        "mtu": stats[name].mtu if name in stats else None,
    }
disks = []
for p in psutil.disk_partitions(all=False):
    u = psutil.disk_usage(p.mountpoint)
    disks.append({"device": p.device, "mountpoint": p.mountpoint, "fstype": p.fstype,
                  "total": u.total, "free": u.free})
print(json.dumps({"net": net, "disks": disks, "cpuinfo": c,
                  "memory_total": psutil.virtual_memory().total,
                  "boot_time": psutil.boot_time(),
                  "logical": psutil.cpu_count(), "physical": psutil.cpu_count(logical=False)}))
'''


def cargo(*args):
    return subprocess.run(["cargo", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout


def main():
    iters = 200
    if "--iters" in sys.argv:
        iters = int(sys.argv[sys.argv.index("--iters") + 1])
    verify = "--no-verify" not in sys.argv

    with tempfile.TemporaryDirectory(prefix="sysutil-psutil-") as tmp:
        print(f"creating venv in {tmp} and installing psutil, py-cpuinfo ...", file=sys.stderr)
        venv.create(tmp, with_pip=True)
        py = os.path.join(tmp, "bin", "python")
        subprocess.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", "psutil", "py-cpuinfo"],
                       check=True)
        version = subprocess.run([py, "-c", "import psutil; print(psutil.__version__)"],
                                 check=True, capture_output=True, text=True).stdout.strip()
        ps = json.loads(subprocess.run([py, "-c", TIMER, str(iters)], check=True,
                                       capture_output=True, text=True).stdout)

        print("running the Rust bench ...", file=sys.stderr)
        rust = json.loads(cargo("bench", "-q", "--bench", "sysutil", "--", "--json", "--iters", str(iters))
                          .strip().splitlines()[-1])
        ours, ours_med = rust["sysutil"], rust["median"]

        print(f"\n{'fact':<14} {'sysutil mean':>11} {'median':>8} {'psutil ' + version + ' mean':>19} {'median':>8}"
              f" {'ratio':>7} {'(med)':>7}")
        # (row, sysutil's row, psutil's row)
        rows = [(n, n, n) for n in ["cpu", "memory", "network", "disks", "hostname", "boot_time"]]
        rows.append(("shared facts", "shared facts", "facts"))
        rows.append(("facts()", "facts", "facts"))
        if "facts_and_virt" in ps:
            rows.append(("facts() +virt", "facts", "facts_and_virt"))
        for label, o_key, p_key in rows:
            o, om = ours[o_key], ours_med[o_key]
            p, pm = ps[p_key]
            print(f"{label:<14} {o:>11.1f} {om:>8.1f} {p:>19.1f} {pm:>8.1f} {p / o:>6.1f}x {pm / om:>6.1f}x")
        print(f"(µs; {iters} iterations each, in-process; ratio = psutil time / sysutil time.\n"
              " psutil has no CPU brand/vendor/family, no primary IP and no virtualization: its 'cpu' row is\n"
              " counts and frequency only; 'shared facts' is what both give (sysutil without the primary IP\n"
              " and virtualization, psutil's whole set); 'facts()' is all of sysutil against psutil's set;\n"
              " '+virt' adds systemd-detect-virt to psutil, the usual way to the virtualization part)")
        si, si_med = rust.get("sysinfo", {}), rust.get("sysinfo_median", {})
        if "shared facts" in si:
            fastest = min(ps["facts"][0], si["shared facts"])
            fastest_med = min(ps["facts"][1], si_med["shared facts"])
            print(f"shared facts: median {ours_med['shared facts']:.1f} µs, fastest peer {fastest_med:.1f} µs: "
                  f"{fastest_med / ours_med['shared facts']:.1f}x (means: {fastest / ours['shared facts']:.1f}x)")
            print(f"all of facts(): median {ours_med['facts']:.1f} µs against the fastest peer's shared facts "
                  f"{fastest_med:.1f} µs: {fastest_med / ours_med['facts']:.1f}x")

        if not verify:
            return 0
        print("\nchecking agreement ...", file=sys.stderr)
        facts = json.loads(cargo("run", "-q", "--release", "-p", "agentry-sysutil", "--example", "facts", "--",
                                 "--json"))
        peer = json.loads(subprocess.run([py, "-c", DUMP], check=True, capture_output=True, text=True).stdout)
        return 1 if check(facts, peer) else 0


def check(facts, peer):
    problems = []

    def same(what, a, b):
        if a != b:
            problems.append(f"{what}: sysutil {a!r} != peer {b!r}")

    ours = {i["name"]: i for i in facts["network"]}
    same("interface names", sorted(ours), sorted(peer["net"]))
    for name, p in peer["net"].items():
        o = ours.get(name)
        if o is None:
            continue
        if p["mac"] is not None:
            same(f"{name} mac", o["mac"], p["mac"])
        v4 = [a["addr"] for a in o["addresses"] if ":" not in a["addr"]]
        same(f"{name} IPv4 addresses", v4, [a for a, _ in p["ipv4"]])
        if p["ipv4"]:
            same(f"{name} primary IPv4", o["ipv4"], p["ipv4"][0][0])
            same(f"{name} netmask", o["netmask"], p["ipv4"][0][1])
        same(f"{name} up", o["is_up"], p["is_up"])
        same(f"{name} mtu", o["mtu"], p["mtu"])
    same("disk mountpoints", [d["mountpoint"] for d in facts["disks"]], [d["mountpoint"] for d in peer["disks"]])
    same("disk devices", [d["device"] for d in facts["disks"]], [d["device"] for d in peer["disks"]])
    for o, p in zip(facts["disks"], peer["disks"]):
        same(f"{o['mountpoint']} total", o["total"], p["total"])
        if abs(o["free"] - p["free"]) > 256 << 20:
            problems.append(f"{o['mountpoint']} free: sysutil {o['free']} vs psutil {p['free']}")
    cpu, ci = facts["cpu"], peer["cpuinfo"]
    if "error" in ci:
        problems.append(f"py-cpuinfo failed: {ci['error']}")
    else:
        same("cpu brand", cpu["brand"], ci.get("brand_raw"))
        same("cpu vendor", cpu["vendor_id"], ci.get("vendor_id_raw"))
        same("cpu family", cpu["family"], ci.get("family"))
        same("cpu model", cpu["model"], ci.get("model"))
        same("cpu stepping", cpu["stepping"], ci.get("stepping"))
    same("logical cpus", cpu["logical"], peer["logical"])
    same("physical cores", cpu["physical"], peer["physical"])
    same("memory total", facts["memory"]["total"], peer["memory_total"])
    same("boot time", facts["boot_time"], int(peer["boot_time"]))

    def detect(arg):
        try:
            r = subprocess.run(["systemd-detect-virt", arg], capture_output=True, text=True)
        except FileNotFoundError:
            return "absent"
        out = r.stdout.strip()
        return None if out in ("", "none") else out

    vm, ct = detect("--vm"), detect("--container")
    if vm != "absent":
        same("hypervisor", facts["virtual"]["hypervisor"], vm)
        same("is_vm", facts["virtual"]["is_vm"], vm is not None)
    if ct != "absent":
        same("container", facts["virtual"]["container"], ct)

    if problems:
        print("DISAGREEMENTS:")
        for p in problems:
            print("  " + p)
    else:
        print(f"agreement: {len(ours)} interfaces, {len(facts['disks'])} disks, CPU identity, memory, "
              f"boot time, hypervisor={facts['virtual']['hypervisor']}, container={facts['virtual']['container']}"
              " all match psutil / py-cpuinfo / systemd-detect-virt")
    return problems


if __name__ == "__main__":
    sys.exit(main())
