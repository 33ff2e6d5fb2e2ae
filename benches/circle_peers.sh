#!/usr/bin/env bash
# circle against its peers, side by side, on this machine:
#   circle (circled), circus (circusd), supervisord, and horust when `cargo install horust` works.
#
# The same measurements as benches/circle.rs, for each supervisor:
#   50 x `sleep 3600`: time until all 50 run, the supervisor's RSS, its CPU over 10 s idle,
#   respawn latency after SIGKILL of one child (median of 20), time to stop everything;
# then, for circle, the time `circlectl reload` takes to add one watcher (median of 5).
# Ratios (peer / circle) are printed at the end.
#
# Usage: bash benches/circle_peers.sh            (from the workspace root; Linux only)
#   SKIP_HORUST=1   do not try `cargo install horust` (it builds for minutes)
#   HORUST=PATH     use this horust binary instead of installing one
#   IDLE_SECS=10 RESPAWNS=20 N=50                 the measurement sizes
# Needs python3 with venv, and network access to PyPI (and crates.io for horust).
set -euo pipefail
cd "$(dirname "$0")/.."

# Everything runs inside main, which bash parses whole before running it.
main() {
work=$(mktemp -d "${TMPDIR:-/tmp}/circle-peers.XXXXXX")
chmod 700 "$work"
cleanup() {
  # Stop whatever is still running from this bench (by pidfile, never by name).
  # Only a process still running in its bench directory (not a reused pid).
  for f in "$work"/*/sup.pid; do
    [ -f "$f" ] || continue
    p=$(cat "$f")
    if [ "$(readlink "/proc/$p/cwd" 2>/dev/null)" = "$(dirname "$f")" ]; then
      kill -9 -- "-$p" 2>/dev/null || kill -9 "$p" 2>/dev/null || true
    fi
  done
  rm -rf "$work"
}
trap cleanup EXIT

echo "== building circle (release)" >&2
cargo build -q --release -p agentry-circle --bins
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
circled="$target_dir/release/circled"
circlectl="$target_dir/release/circlectl"

echo "== installing circus and supervisor into a temporary venv" >&2
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q --disable-pip-version-check circus supervisor >&2

horust="${HORUST:-}"
if [ -z "$horust" ] && [ -z "${SKIP_HORUST:-}" ]; then
  echo "== cargo install horust (skipped on failure)" >&2
  if cargo install -q --root "$work/horust" horust >&2; then
    horust="$work/horust/bin/horust"
  else
    echo "   horust: cargo install failed, skipped (see the log above)" >&2
  fi
fi

"$work/venv/bin/python" - "$work" "$circled" "$circlectl" "$horust" <<'PY'
import os, shutil, signal, statistics, subprocess, sys, time

work, circled, circlectl, horust = sys.argv[1:5]
venv = os.path.join(work, "venv", "bin")
N = int(os.environ.get("N", "50"))
IDLE = float(os.environ.get("IDLE_SECS", "10"))
RESPAWNS = int(os.environ.get("RESPAWNS", "20"))
TICK = os.sysconf("SC_CLK_TCK")
DEADLINE = 120.0


def stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    rest = s[s.rindex(")") + 2:].split()
    return rest  # rest[0] = state (field 3)


def children_sleeping(sup_pid):
    """pids of `sleep 3600` processes that descend from sup_pid (any depth)."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            st = stat(d)
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
        except OSError:
            continue
        kids[int(d)] = (int(st[1]), st[0], cmd)
    out = []
    for pid, (ppid, state, cmd) in kids.items():
        if state == "Z" or len(cmd) < 2 or os.path.basename(cmd[0]) != b"sleep" or cmd[1] != b"3600":
            continue
        p = ppid
        for _ in range(8):
            if p == sup_pid:
                out.append(pid)
                break
            if p not in kids:
                break
            p = kids[p][0]
    return sorted(out)


def wait(what, f, deadline=DEADLINE):
    end = time.monotonic() + deadline
    while True:
        v = f()
        if v:
            return v
        if time.monotonic() > end:
            raise RuntimeError(f"timed out: {what}")
        time.sleep(0.001)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_ticks(pid):
    st = stat(pid)
    return int(st[11]) + int(st[12])


def measure(name, directory, argv, env=None, stop=None):
    os.makedirs(directory, exist_ok=True)
    log = open(os.path.join(directory, "out.log"), "w")
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, cwd=directory, stdout=log, stderr=log, env=env, start_new_session=True)
    with open(os.path.join(directory, "sup.pid"), "w") as f:
        f.write(str(proc.pid))
    try:
        wait(f"{name}: {N} children", lambda: len(children_sleeping(proc.pid)) == N)
        start = time.monotonic() - t0
        time.sleep(1.0)  # let it settle before measuring memory and idle CPU
        rss = rss_kib(proc.pid) / 1024
        c0, w0 = cpu_ticks(proc.pid), time.monotonic()
        time.sleep(IDLE)
        idle = (cpu_ticks(proc.pid) - c0) / TICK / (time.monotonic() - w0) * 100
        lat = []
        for _ in range(RESPAWNS):
            before = children_sleeping(proc.pid)
            victim = before[len(before) // 2]
            t = time.monotonic()
            os.kill(victim, signal.SIGKILL)
            wait(f"{name}: respawn", lambda: (lambda k: len(k) == N and victim not in k)(children_sleeping(proc.pid)))
            lat.append(time.monotonic() - t)
        extra = {}
        if name == "circle":
            extra["reload"] = reload_time(directory)
        kids = children_sleeping(proc.pid)
        t = time.monotonic()
        if stop:
            stop(proc)
        else:
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=DEADLINE)
        wait(f"{name}: children gone", lambda: all(not os.path.exists(f"/proc/{k}") or stat(k)[0] == "Z" for k in kids))
        stop_s = time.monotonic() - t
        return dict(start=start, rss=rss, idle=idle, respawn=statistics.median(lat), stop=stop_s, **extra)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def reload_time(directory):
    times = []
    conf_d = os.path.join(directory, "conf.d")
    for i in range(5):
        with open(os.path.join(conf_d, f"extra{i}.ini"), "w") as f:
            f.write(f"[watcher:extra{i}]\ncmd = sleep 3601\n")
        t = time.monotonic()
        subprocess.run([circlectl, "--endpoint", os.path.join(directory, "ctl.sock"), "reload"],
                       check=True, stdout=subprocess.DEVNULL)
        times.append(time.monotonic() - t)
    return statistics.median(times)


results = {}

d = os.path.join(work, "circle")
os.makedirs(os.path.join(d, "conf.d"), exist_ok=True)
with open(os.path.join(d, "circle.ini"), "w") as f:
    f.write(f"[circle]\nendpoint = ctl.sock\ninclude_dir = conf.d\n\n[watcher:s]\ncmd = sleep 3600\nnumprocesses = {N}\n")
results["circle"] = measure("circle", d, [circled, "-c", "circle.ini"])

d = os.path.join(work, "circus")
os.makedirs(d, exist_ok=True)
with open(os.path.join(d, "circus.ini"), "w") as f:
    f.write(f"""[circus]
endpoint = ipc://{d}/ctl.sock
pubsub_endpoint = ipc://{d}/pub.sock
stats_endpoint = ipc://{d}/stats.sock
statsd = False

[watcher:s]
cmd = sleep 3600
numprocesses = {N}
""")
results["circus"] = measure("circus", d, [os.path.join(venv, "circusd"), "circus.ini"])

d = os.path.join(work, "supervisord")
os.makedirs(d, exist_ok=True)
with open(os.path.join(d, "supervisord.conf"), "w") as f:
    f.write(f"""[supervisord]
nodaemon = true
logfile = {d}/supervisord.log
pidfile = {d}/supervisord.pid

[unix_http_server]
file = {d}/supervisor.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[program:s]
command = sleep 3600
numprocs = {N}
process_name = %(program_name)s_%(process_num)02d
autorestart = true
startsecs = 0
""")
results["supervisord"] = measure("supervisord", d, [os.path.join(venv, "supervisord"), "-c", "supervisord.conf"])

if horust:
    d = os.path.join(work, "horust")
    svc = os.path.join(d, "services")
    os.makedirs(svc, exist_ok=True)
    sleep = shutil.which("sleep")
    for i in range(N):
        with open(os.path.join(svc, f"s{i:02}.toml"), "w") as f:
            f.write(f'command = "{sleep} 3600"\n[restart]\nstrategy = "always"\n')
    results["horust"] = measure("horust", d, [horust, "--services-path", svc])

cols = [("start", "start (s)", "{:.3f}"), ("rss", "RSS (MiB)", "{:.1f}"), ("idle", f"idle CPU % ({IDLE:.0f} s)", "{:.2f}"),
        ("respawn", f"respawn median of {RESPAWNS} (s)", "{:.4f}"), ("stop", "stop (s)", "{:.3f}")]
print(f"\n{N} x sleep 3600 on {os.cpu_count()} CPU(s)\n")
print(f"{'':14}" + "".join(f"{c[1]:>26}" for c in cols))
for name, r in results.items():
    print(f"{name:14}" + "".join(f"{c[2].format(r[c[0]]):>26}" for c in cols))
base = results["circle"]
print("\nratios (peer / circle; > 1: circle is better)")
for name, r in results.items():
    if name == "circle":
        continue
    def ratio(k):
        return "n/a" if base[k] <= 0 else f"{r[k] / base[k]:.1f}x"
    print(f"{name:14}" + "".join(f"{ratio(c[0]):>26}" for c in cols))
print(f"\ncirclectl reload adding one watcher: {base['reload'] * 1000:.1f} ms (median of 5)")
PY
}

main "$@"
