#!/bin/sh
# 1000 metal BMCs in one process, polled for power status by many IPMI sessions at once, against
# the fake Metal API: how many `GET /devices/{id}` reach the API per device per second (the
# single-flight cache should keep it near one per cache period, 2 s by default), and what the
# clients get. Usage: bench/metal-fleet.sh [DEVICES] [SESSIONS] [SECONDS] [CACHE_MS]
set -eu
cd "$(dirname "$0")/.."
n=${1:-1000}
sessions=${2:-2000}
secs=${3:-20}
cache_ms=${4:-2000}
export IPMI_PASSWORD=fleetpass METAL_AUTH_TOKEN=fleet-token
cargo build --release -q
bin=target/release/ipmi-to-metal
dir=$(mktemp -d)
pids=""
trap 'kill $pids 2>/dev/null; rm -rf "$dir"' EXIT INT TERM
project=0f0c3a4e-1111-4a5e-9d7e-000000000000
. bench/fake-devices.sh
fake_devices "$n" "$project" > "$dir/devices.json"
$bin fake-metal --listen 127.0.0.1:18080 --devices "$dir/devices.json" >/dev/null &
pids="$pids $!"
last=$((20000 + n - 1))
cat > "$dir/fleet.toml" <<CONF
[[metal_discovery]]
name = "fleet"
api_url = "http://127.0.0.1:18080/metal/v1"
allow_http = true                # the fake, on loopback
project_id = "$project"
tag = "ipmi"
token_env = "METAL_AUTH_TOKEN"
listen = "127.0.0.1:20000-$last"
refresh_s = 3600
cache_ms = $cache_ms
[[metal_discovery.users]]
name = "admin"
password_env = "IPMI_PASSWORD"
privilege = "administrator"
CONF
$bin serve --config "$dir/fleet.toml" 2>"$dir/serve.log" &
server=$!
pids="$pids $server"
# Wait for the last BMC of the fleet.
for _ in $(seq 100); do
    if ipmitool -I lanplus -H 127.0.0.1 -p "$last" -U admin -E -N 1 -R 1 chassis power status >/dev/null 2>&1; then break; fi
    sleep 0.2
done
gets() {
    curl -s http://127.0.0.1:18080/_fake/devices | python3 -c 'import json,sys; print(sum(d["gets"] for d in json.load(sys.stdin)))'
}
before=$(gets)
echo "== $n metal BMCs, $sessions sessions polling Get Chassis Status for ${secs}s, cache ${cache_ms} ms"
$bin bench -t "fleet=127.0.0.1:20000-$last" -s "$sessions" -d "$secs" -C 17 -q
after=$(gets)
python3 - "$before" "$after" "$n" "$secs" "$cache_ms" <<'PY'
import sys
b, a, n, secs, cache = (float(x) for x in sys.argv[1:])
calls = a - b
print(f"API: {int(calls)} GET /devices/{{id}} in {secs:.0f} s = {calls / n / secs:.3f} per device per second "
      f"(one per cache period would be {1000 / cache:.3f})")
PY
echo "server: $(ps -o rss=,nlwp= -p "$server" | awk '{printf "%.1f MB RSS, %d threads", $1/1024, $2}')"
