#!/bin/sh
# ipmi-to-metal's libvirt backend side by side with virtualbmc on the same libvirt domains:
# memory of one ipmi-to-metal process serving N domains (a [[libvirt_discovery]]) against
# virtualbmc serving one (vbmcd and its per-domain child), and CPU per IPMI session and per
# request of each, the BMC process and libvirtd counted apart.
#
# Usage (as root: it starts virtlogd and libvirtd if they are not running, and defines N
# throwaway shut-off domains named itm-bench-NNN, undefined at the end):
#   bench/libvirt-vs-vbmc.sh [N=100] [SESSIONS=50] [REQUESTS=200]
# Needs: cargo build --release (or IPMI_TO_METAL=path), ipmitool, virsh, and virtualbmc in a
# venv: python3 -m venv /tmp/vbmc-venv && /tmp/vbmc-venv/bin/pip install virtualbmc
# (libvirt-python builds against libvirt-dev), or VBMC_VENV=path.
set -eu
N=${1:-100}
SESSIONS=${2:-50}
REQUESTS=${3:-200}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${IPMI_TO_METAL:-$ROOT/target/release/ipmi-to-metal}
VENV=${VBMC_VENV:-/tmp/vbmc-venv}
URI=qemu:///system
PASS=bench-pass-7f3a91
# ipmi-to-metal's pool BASE .. BASE+N-1 and virtualbmc's port VPORT: N + 1 free UDP ports in a
# row on loopback (other processes on a shared machine hold some).
BASE=${BASE:-$(python3 - "$N" <<'PY'
import socket, sys
n = int(sys.argv[1]) + 1
for base in range(21000, 60000, 97):
    socks = []
    try:
        for p in range(base, base + n):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", p))
            socks.append(s)
        print(base)
        break
    except OSError:
        pass
    finally:
        for s in socks:
            s.close()
PY
)}
VPORT=$((BASE + N))
[ -x "$BIN" ] || { echo "build first: cargo build --release (or set IPMI_TO_METAL)" >&2; exit 1; }
[ -x "$VENV/bin/vbmc" ] || { echo "virtualbmc missing: python3 -m venv $VENV && $VENV/bin/pip install virtualbmc" >&2; exit 1; }
command -v ipmitool >/dev/null || { echo "ipmitool missing" >&2; exit 1; }

[ -S /run/libvirt/virtlogd-sock ] || /usr/sbin/virtlogd -d
virsh -c $URI uri >/dev/null 2>&1 || { /usr/sbin/libvirtd -d; sleep 2; }
LIBVIRTD=$(cat /run/libvirtd.pid)

WORK=$(mktemp -d)
chmod 0755 "$WORK"
cleanup() {
    [ -n "${ITM:-}" ] && kill "$ITM" 2>/dev/null || true
    [ -n "${VBMCD:-}" ] && kill "$VBMCD" 2>/dev/null || true
    i=0
    while [ $i -lt "$N" ]; do
        virsh -c $URI undefine "$(printf 'itm-bench-%03d' $i)" >/dev/null 2>&1 || true
        i=$((i + 1))
    done
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# Kilobytes of resident memory (now, and at most) of a process.
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
# CPU time in clock ticks (user + system) of processes (and, for ipmi-to-metal, its threads).
ticks() { for p in "$@"; do awk '{print $14 + $15}' "/proc/$p/stat"; done | awk '{s += $1} END {print s}'; }
HZ=$(getconf CLK_TCK)
ms_per() { awk -v t="$1" -v n="$2" -v hz="$HZ" 'BEGIN {printf "%.2f", t * 1000 / hz / n}'; }

echo "defining $N shut-off domains..."
i=0
while [ $i -lt "$N" ]; do
    name=$(printf 'itm-bench-%03d' $i)
    cat > "$WORK/d.xml" <<EOF
<domain type='qemu'><name>$name</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
<devices><serial type='pty'/><console type='pty'/></devices></domain>
EOF
    virsh -c $URI define "$WORK/d.xml" >/dev/null
    i=$((i + 1))
done

# ipmitool: SESSIONS logins of one request each, then REQUESTS requests in one session.
session_loop() {
    i=0
    while [ $i -lt "$SESSIONS" ]; do
        IPMI_PASSWORD=$PASS ipmitool -I lanplus -H 127.0.0.1 -p "$1" -U admin -E chassis power status >/dev/null
        i=$((i + 1))
    done
}
request_file() {
    : > "$WORK/requests"
    i=0
    while [ $i -lt "$REQUESTS" ]; do
        echo "chassis power status" >> "$WORK/requests"
        i=$((i + 1))
    done
}
request_file
one_session() {
    IPMI_PASSWORD=$PASS ipmitool -I lanplus -H 127.0.0.1 -p "$1" -U admin -E exec "$WORK/requests" >/dev/null
}
# measure LABEL PORT PIDS...: CPU per session and per request of the PIDs and of libvirtd.
measure() {
    label=$1
    port=$2
    shift 2
    b=$(ticks "$@"); l=$(ticks "$LIBVIRTD"); t0=$(date +%s.%N)
    session_loop "$port"
    t1=$(date +%s.%N)
    s=$(($(ticks "$@") - b)); sl=$(($(ticks "$LIBVIRTD") - l))
    b=$(ticks "$@"); l=$(ticks "$LIBVIRTD"); t2=$(date +%s.%N)
    one_session "$port"
    t3=$(date +%s.%N)
    r=$(($(ticks "$@") - b)); rl=$(($(ticks "$LIBVIRTD") - l))
    printf '%-14s session: %s ms CPU (+ libvirtd %s ms), %s ms wall | request: %s ms CPU (+ libvirtd %s ms), %s ms wall\n' \
        "$label" "$(ms_per $s "$SESSIONS")" "$(ms_per $sl "$SESSIONS")" \
        "$(awk -v a="$t0" -v b="$t1" -v n="$SESSIONS" 'BEGIN {printf "%.1f", (b - a) * 1000 / n}')" \
        "$(ms_per $r "$REQUESTS")" "$(ms_per $rl "$REQUESTS")" \
        "$(awk -v a="$t2" -v b="$t3" -v n="$REQUESTS" 'BEGIN {printf "%.1f", (b - a) * 1000 / n}')"
}

echo "ipmi-to-metal: one process, [[libvirt_discovery]] of the $N domains..."
echo "$PASS" > "$WORK/admin.pass"
cat > "$WORK/bmc.toml" <<EOF
[[libvirt_discovery]]
name = "bench"
uri = "$URI"
names = "itm-bench-*"
listen = "127.0.0.1:$BASE-$((BASE + N - 1))"
refresh_s = 5
[[libvirt_discovery.users]]
name = "admin"
password_file = "admin.pass"
privilege = "administrator"
EOF
IPMI_TO_METAL_LOG=warn "$BIN" serve --config "$WORK/bmc.toml" > "$WORK/itm.log" 2>&1 &
ITM=$!
last=$((BASE + N - 1))
tries=0
until IPMI_PASSWORD=$PASS ipmitool -I lanplus -H 127.0.0.1 -p $last -U admin -E -N 1 -R 1 chassis power status >/dev/null 2>&1; do
    tries=$((tries + 1))
    [ $tries -lt 120 ] || { echo "ipmi-to-metal's BMCs do not answer:" >&2; cat "$WORK/itm.log" >&2; exit 1; }
    sleep 1
done
# Every BMC asked once (each opens its session state, its console...).
p=$BASE
failed=0
while [ $p -le $last ]; do
    IPMI_PASSWORD=$PASS ipmitool -I lanplus -H 127.0.0.1 -p $p -U admin -E chassis power status >/dev/null 2>&1 || failed=$((failed + 1))
    p=$((p + 1))
done
echo "ipmi-to-metal: $N BMCs asked once, $failed did not answer"
measure "ipmi-to-metal" $BASE "$ITM"
echo "ipmi-to-metal, $N domains: VmRSS $(rss $ITM) kB, VmHWM $(hwm $ITM) kB"

echo "virtualbmc: vbmcd, one domain..."
export VIRTUALBMC_CONFIG="$WORK/virtualbmc.conf"
mkdir -p "$WORK/vbmc"
printf '[default]\nconfig_dir = %s\npid_file = %s\nserver_port = 50991\n[log]\nlogfile = %s\n' \
    "$WORK/vbmc" "$WORK/vbmcd.pid" "$WORK/vbmcd.log" > "$VIRTUALBMC_CONFIG"
"$VENV/bin/vbmcd" --foreground > /dev/null 2>&1 &
VBMCD=$!
sleep 3
"$VENV/bin/vbmc" add itm-bench-000 --port $VPORT --username admin --password "$PASS" --libvirt-uri $URI
"$VENV/bin/vbmc" start itm-bench-000
tries=0
until IPMI_PASSWORD=$PASS ipmitool -I lanplus -H 127.0.0.1 -p $VPORT -U admin -E -N 1 -R 1 chassis power status >/dev/null 2>&1; do
    tries=$((tries + 1))
    [ $tries -lt 60 ] || { echo "virtualbmc does not answer" >&2; exit 1; }
    sleep 1
done
CHILDREN=$(ps -o pid= --ppid $VBMCD | tr '\n' ' ')
measure "virtualbmc" $VPORT $VBMCD $CHILDREN
total=0
for p in $VBMCD $CHILDREN; do total=$((total + $(rss "$p"))); done
echo "virtualbmc, 1 domain: VmRSS $total kB (vbmcd $(rss $VBMCD) kB + its BMC process(es) $(for p in $CHILDREN; do printf '%s ' "$(rss $p)"; done)kB)"
