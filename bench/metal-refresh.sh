#!/bin/sh
# The metal fleet's API budget with the status page's power refresh on: DEVICES fake Metal devices
# (one discovery), the admin server on with the default intervals (metal: every 30 s), no IPMI
# client for IDLE seconds (the refresh alone), then 2 sessions per device polling Get Chassis
# Status for SECONDS (the refresh and the clients through the same 2 s cache).
# Usage: bench/metal-refresh.sh [DEVICES] [IDLE] [SECONDS]
set -eu
n=${1:-200}; idle=${2:-90}; secs=${3:-20}
cd "$(dirname "$0")/.."
cargo build --release -q
bin=target/release/ipmi-to-metal
export IPMI_PASSWORD=fleetpass METAL_AUTH_TOKEN=fleet-token
dir=$(mktemp -d)
pids=""
trap 'kill $pids 2>/dev/null; rm -rf "$dir"' EXIT INT TERM
project=0f0c3a4e-1111-4a5e-9d7e-000000000000
. bench/fake-devices.sh
fake_devices "$n" "$project" > "$dir/devices.json"
$bin fake-metal --listen 127.0.0.1:18181 --devices "$dir/devices.json" >/dev/null 2>&1 &
pids="$pids $!"
echo "admin-token-0123456789abc" > $dir/admin.token
last=$((21000 + n - 1))
cat > "$dir/fleet.toml" <<CONF
[[metal_discovery]]
name = "fleet"
api_url = "http://127.0.0.1:18181/metal/v1"
allow_http = true
project_id = "$project"
tag = "ipmi"
token_env = "METAL_AUTH_TOKEN"
listen = "127.0.0.1:21000-$last"
refresh_s = 3600
[[metal_discovery.users]]
name = "admin"
password_env = "IPMI_PASSWORD"
privilege = "administrator"
[admin]
listen = "127.0.0.1:19777"
token_file = "admin.token"
CONF
$bin serve --config "$dir/fleet.toml" 2>"$dir/serve.log" &
pids="$pids $!"
sleep 5
gets() { curl -s http://127.0.0.1:18181/_fake/devices | python3 -c 'import json,sys; print(sum(d["gets"] for d in json.load(sys.stdin)))'; }
b=$(gets); sleep "$idle"; a=$(gets)
python3 -c "print(f'idle, refresh only: {$a-$b} GETs in $idle s for $n devices = {($a-$b)/$n/$idle:.4f} per device per second')"
curl -s -H "Authorization: Bearer admin-token-0123456789abc" http://127.0.0.1:19777/bmcs | python3 -c 'import json,sys; b=json.load(sys.stdin)["bmcs"]; print(len(b), "BMCs,", sum(1 for x in b if x["power"]), "with a known power state")'
b=$(gets)
$bin bench -t "fleet=127.0.0.1:21000-$last" -s $((n*2)) -d "$secs" -C 17 -q || true
a=$(gets)
python3 -c "print(f'clients polling + refresh: {$a-$b} GETs in $secs s = {($a-$b)/$n/$secs:.4f} per device per second (cache 2 s: 0.5)')"
