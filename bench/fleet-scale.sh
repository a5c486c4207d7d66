#!/bin/sh
# Many simulated BMCs in one process: how long until the last of them answers, and the memory
# they take. Writes one configuration of N `[[bmc]]` sim entries (one user each) on 127.0.0.1
# ports FIRST.., starts `serve` on it, and from the moment it is started sends every BMC a
# Get Device ID outside any session, again every 100 ms until each has answered (its answer is
# 0xD4: the command needs a session, and the refusal comes from the BMC model, so the socket,
# the session layer and the model are all up). Then an ipmitool session runs `mc info` (a real
# Get Device ID) on the first, middle and last BMC. Reports the time to the first and the last
# answer, and the server's RSS (VmRSS from /proc), threads and open files, right after and
# again after IDLE seconds.
#
# Usage: bench/fleet-scale.sh [N] [FIRST_PORT] [IDLE]   (10000 2000 3; ports below the ephemeral range)
# BIN=path runs another build (e.g. an older one, to compare). NOFILE=n starts the server with
# that soft open-file limit (e.g. 1024) to see it raise its own limit up to the hard limit.
set -eu
cd "$(dirname "$0")/.."
n=${1:-10000}
first=${2:-2000}
idle=${3:-3}
export IPMI_PASSWORD=bench-password
if [ -z "${BIN:-}" ]; then
    cargo build --release -q -p ipmi-to-metal
    BIN=target/release/ipmi-to-metal
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
i=0
while [ "$i" -lt "$n" ]; do
    printf '[[bmc]]\nname = "sim-%d"\nlisten = "127.0.0.1:%d"\nbackend = "sim"\n[[bmc.users]]\nname = "admin"\npassword_env = "IPMI_PASSWORD"\nprivilege = "administrator"\n\n' \
        "$i" $((first + i))
    i=$((i + 1))
done > "$dir/fleet.toml"
echo "== $n sim BMCs in one process (ports $first-$((first + n - 1))); open files: soft $(ulimit -Sn), hard $(ulimit -Hn)${NOFILE:+, server started with soft $NOFILE}"
python3 - "$BIN" "$dir/fleet.toml" "$n" "$first" "$idle" "${NOFILE:-}" "$dir/serve.log" <<'PY'
import os, resource, socket, subprocess, sys, time
binary, config, n, first, idle, nofile, log = sys.argv[1:8]
n, first, idle = int(n), int(first), float(idle)

def limit():
    if nofile:
        resource.setrlimit(resource.RLIMIT_NOFILE, (int(nofile), resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

# Get Device ID (NetFn App, Cmd 01) in an IPMI 1.5 packet outside any session.
msg = bytes([0x20, 0x06 << 2, (-(0x20 + 0x18)) & 0xff, 0x81, 0x04, 0x01, (-(0x81 + 0x04 + 0x01)) & 0xff])
probe = bytes([0x06, 0x00, 0xff, 0x07, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, len(msg)]) + msg
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
sock.bind(("127.0.0.1", 0))
sock.setblocking(False)
waiting = set(range(first, first + n))
answered = {}
codes = {}
t0 = time.monotonic()
server = subprocess.Popen([binary, "serve", "--config", config], stdout=subprocess.DEVNULL,
                          stderr=open(log, "w"), preexec_fn=limit)
deadline = t0 + 60
# The BMCs start in the order of the file: probe the 512 lowest ports that have not answered,
# every 20 ms, so that the prober stays light (it shares the CPUs with the server).
order = sorted(waiting)
while waiting and time.monotonic() < deadline and server.poll() is None:
    order = [p for p in order if p in waiting]
    for port in order[:512]:
        try:
            sock.sendto(probe, ("127.0.0.1", port))
        except OSError:
            pass
    end = time.monotonic() + 0.02
    while waiting and time.monotonic() < end:
        try:
            data, (_, port) = sock.recvfrom(512)
        except BlockingIOError:
            time.sleep(0.001)
            continue
        except OSError:
            continue
        if port in waiting:
            waiting.discard(port)
            answered[port] = time.monotonic() - t0
            cc = data[20] if len(data) > 20 else None
            codes[cc] = codes.get(cc, 0) + 1

def status():
    fields = {}
    for line in open(f"/proc/{server.pid}/status"):
        k, _, v = line.partition(":")
        fields[k] = v.strip()
    fds = len(os.listdir(f"/proc/{server.pid}/fd"))
    rss = f"{fields['VmRSS']} (anonymous {fields['RssAnon']}, file {fields['RssFile']})"
    return rss, fields["VmHWM"], fields["Threads"], fds

if server.poll() is not None:
    sys.exit(f"the server exited ({server.returncode}); log: {open(log).read()[-2000:]}")
print(f"answered: {len(answered)} of {n} (completion codes {dict((hex(k) if k is not None else k, v) for k, v in codes.items())})")
if answered:
    t = sorted(answered.values())
    print(f"time from start: first answer {t[0]:.3f} s, half {t[len(t) // 2]:.3f} s, last answer {t[-1]:.3f} s")
rss, hwm, threads, fds = status()
print(f"right after: VmRSS {rss}, VmHWM {hwm}, {threads} threads, {fds} open files")
kib = int(rss.split()[0])
print(f"  = {kib / n:.2f} KiB per BMC, all included")
env = dict(os.environ)
for port in (first, first + n // 2, first + n - 1):
    r = subprocess.run(["ipmitool", "-I", "lanplus", "-C", "3", "-H", "127.0.0.1", "-p", str(port), "-U", "admin", "-E",
                        "-N", "2", "-R", "2", "mc", "info"], capture_output=True, text=True, env=env, timeout=60)
    first_line = (r.stdout.splitlines() or [r.stderr.strip()])[0]
    print(f"ipmitool mc info on port {port}: exit {r.returncode}: {first_line}")
time.sleep(idle)
rss, hwm, threads, fds = status()
print(f"after {idle:g} s more: VmRSS {rss}, VmHWM {hwm}, {threads} threads, {fds} open files")
for line in open(log):
    if "open-file limit" in line or "ERROR" in line or "WARN" in line:
        print("log:", line.rstrip()[:200])
server.terminate()
server.wait()
if waiting:
    sys.exit(f"{len(waiting)} BMCs never answered")
PY
