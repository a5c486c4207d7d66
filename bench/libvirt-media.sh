#!/bin/sh
# What an insert of virtual media costs the libvirt backend: the image is downloaded by the
# shim, uploaded into a storage pool's volume through libvirt's stream API, and put into the
# domain's CD-ROM. Times K inserts of a SIZE MiB image (random bytes, served over HTTP on
# loopback by Python's http.server) through the admin API, and prints the wall time and the
# throughput of one, the CPU time of the shim and of libvirtd per insert, and the shim's
# resident memory before and at its peak.
#
# Usage (as root: it starts virtlogd and libvirtd if they are not running, defines a throwaway
# shut-off domain itm-bench-media and a transient pool itm-bench-media-pool, removed at the end):
#   bench/libvirt-media.sh [SIZE_MIB=256] [K=5]
# Needs: cargo build --release (or IPMI_TO_METAL=path), virsh, curl, python3.
set -eu
SIZE=${1:-256}
K=${2:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${IPMI_TO_METAL:-$ROOT/target/release/ipmi-to-metal}
URI=qemu:///system
DOMAIN=itm-bench-media
POOL=itm-bench-media-pool
TOKEN=bench-token-5d1c0b7e9a
[ -x "$BIN" ] || { echo "build first: cargo build --release (or set IPMI_TO_METAL)" >&2; exit 1; }
[ -S /run/libvirt/virtlogd-sock ] || /usr/sbin/virtlogd -d
virsh -c $URI uri >/dev/null 2>&1 || { /usr/sbin/libvirtd -d; sleep 2; }
LIBVIRTD=$(cat /run/libvirtd.pid)
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

WORK=$(mktemp -d)
chmod 0755 "$WORK"
mkdir -m 0755 "$WORK/pool" "$WORK/www"
cleanup() {
    [ -n "${ITM:-}" ] && kill "$ITM" 2>/dev/null || true
    [ -n "${WWW:-}" ] && kill "$WWW" 2>/dev/null || true
    virsh -c $URI undefine "$DOMAIN" >/dev/null 2>&1 || true
    virsh -c $URI pool-destroy "$POOL" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

cat > "$WORK/d.xml" <<EOF
<domain type='qemu'><name>$DOMAIN</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
<devices><serial type='pty'/><console type='pty'/></devices></domain>
EOF
virsh -c $URI define "$WORK/d.xml" >/dev/null
virsh -c $URI pool-create-as "$POOL" dir --target "$WORK/pool" >/dev/null
head -c $((SIZE << 20)) /dev/urandom > "$WORK/www/image.iso"
WPORT=$(free_port)
python3 -m http.server -b 127.0.0.1 -d "$WORK/www" "$WPORT" >/dev/null 2>&1 &
WWW=$!

IPORT=$(free_port)
APORT=$(free_port)
echo "$TOKEN" > "$WORK/admin.token"
echo "bench-pass-8c2e47" > "$WORK/admin.pass"
cat > "$WORK/bmc.toml" <<EOF
[[bmc]]
name = "media"
listen = "127.0.0.1:$IPORT"
backend = "libvirt"
[bmc.libvirt]
domain = "$DOMAIN"
media_pool = "$POOL"
media_max_mb = $((SIZE + 1))
media_timeout_ms = 25000
[[bmc.users]]
name = "admin"
password_file = "admin.pass"
privilege = "administrator"
[admin]
listen = "127.0.0.1:$APORT"
token_file = "admin.token"
EOF
"$BIN" serve --config "$WORK/bmc.toml" >"$WORK/itm.log" 2>&1 &
ITM=$!
i=0
until curl -s -o /dev/null "http://127.0.0.1:$APORT/healthz"; do
    i=$((i + 1)); [ $i -lt 100 ] || { cat "$WORK/itm.log"; exit 1; }; sleep 0.1
done
until [ -n "$(python3 -c 'import http.client,sys; c=http.client.HTTPConnection("127.0.0.1",'"$WPORT"'); c.request("HEAD","/image.iso"); print(c.getresponse().status)' 2>/dev/null)" ]; do sleep 0.1; done

ticks() { for p in "$@"; do awk '{print $14 + $15}' "/proc/$p/stat"; done | awk '{s += $1} END {print s}'; }
HZ=$(getconf CLK_TCK)
before=$(awk '/^VmRSS/ {print $2, $3}' "/proc/$ITM/status")
b=$(ticks "$ITM"); l=$(ticks "$LIBVIRTD"); t0=$(date +%s.%N)
n=0
while [ $n -lt "$K" ]; do
    code=$(curl -s -o "$WORK/out" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' \
        -d "{\"image\": \"http://127.0.0.1:$WPORT/image.iso\"}" \
        "http://127.0.0.1:$APORT/bmcs/media/media/Cd/insert")
    [ "$code" = 200 ] || { echo "insert answered $code: $(cat "$WORK/out")" >&2; tail -5 "$WORK/itm.log" >&2; exit 1; }
    n=$((n + 1))
done
t1=$(date +%s.%N)
s=$(($(ticks "$ITM") - b)); sl=$(($(ticks "$LIBVIRTD") - l))
files=$(ls "$WORK/pool" | wc -l)
awk -v a="$t0" -v b="$t1" -v k="$K" -v mb="$SIZE" -v s="$s" -v sl="$sl" -v hz="$HZ" 'BEGIN {
    w = (b - a) / k
    printf "insert of a %d MiB image: %.2f s wall (%.0f MiB/s), shim %.0f ms CPU, libvirtd %.0f ms CPU, per insert (%d inserts)\n",
        mb, w, mb / w, s * 1000 / hz / k, sl * 1000 / hz / k, k
}'
echo "shim resident memory: $before before, peak $(awk '/^VmHWM/ {print $2, $3}' "/proc/$ITM/status"); volumes left in the pool: $files (one expected)"
