#!/bin/sh
# The Redfish service side by side with sushy-tools' emulator (`sushy-emulator`, its fake driver),
# in one run, each with N systems: GET of a system and a reset (ComputerSystem.Reset "On") over
# keep-alive connections (C connections, D seconds each), requests/s and p50/p99 latency from
# the same load generator (crates/redfish-service/examples/http_load.rs, std only), and the
# shim's memory (VmRSS) for N BMCs with the Redfish service, before and after the load.
#
# Both plain HTTP (TLS would measure the handshake library, not the service); the shim with a
# session token (X-Auth-Token: one look-up), the emulator without authentication (its only
# scheme, htpasswd with bcrypt, costs a bcrypt per request). The shim's reset is the full
# power path: backend call, SEL record written to its database, audit off. Two shims run: one
# with the default `sel_sync = "written"` (each SEL record written to the kernel before the
# answer, fsync'd within 1 s), one with `sel_sync = "fsync"` (fsync'd before the answer).
#
# Usage: bench/redfish-vs-sushy.sh [N] [C] [D] [FIRST_PORT]   (1000 8 10 3000)
# BIN=path runs another build of the shim.
set -eu
cd "$(dirname "$0")/.."
n=${1:-1000}
c=${2:-8}
d=${3:-10}
first=${4:-3000}
export IPMI_PASSWORD=bench-password-1234
if [ -z "${BIN:-}" ]; then
    cargo build --release -q -p ipmi-to-metal
    BIN=target/release/ipmi-to-metal
fi
cargo build --release -q -p redfish-service --example http_load
LOAD=target/release/examples/http_load
command -v sushy-emulator >/dev/null || { echo "sushy-emulator missing: python3 -m pip install sushy-tools" >&2; exit 1; }
dir=$(mktemp -d)
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rport=$(free_port)
wport=$(free_port)
sport=$(free_port)

# The shims: N sim BMCs and the Redfish service each; $1: the Redfish port, $2: the first IPMI
# port, $3: the file, $4: top-level keys.
fleet() {
    printf '%s\n' "$4" > "$3"
    i=0
    while [ "$i" -lt "$n" ]; do
        printf '[[bmc]]\nname = "sim-%d"\nlisten = "127.0.0.1:%d"\nbackend = "sim"\n[bmc.sim]\ntransition_ms = 0\n[[bmc.users]]\nname = "admin"\npassword_env = "IPMI_PASSWORD"\nprivilege = "administrator"\n\n' \
            "$i" $(($2 + i))
        i=$((i + 1))
    done >> "$3"
    printf '[redfish]\nlisten = "127.0.0.1:%d"\nallow_http = true\nmax_sessions = 16\n' "$1" >> "$3"
}
fleet "$rport" "$first" "$dir/fleet.toml" ""
mkdir -p "$dir/fsync"
fleet "$wport" $((first + n)) "$dir/fsync/fleet.toml" 'sel_sync = "fsync"'
"$BIN" serve --config "$dir/fleet.toml" >"$dir/shim.log" 2>&1 &
shim=$!
pids="$pids $shim"
"$BIN" serve --config "$dir/fsync/fleet.toml" >"$dir/fsync/shim.log" 2>&1 &
pids="$pids $!"

# The emulator: N fake systems, on.
python3 - "$n" > "$dir/sushy.conf" <<'PY'
import sys, uuid
n = int(sys.argv[1])
systems = ", ".join("{'uuid': '%s', 'name': 'fake-%d', 'power_state': 'On', 'nics': []}" % (uuid.UUID(int=i + 1), i) for i in range(n))
print("SUSHY_EMULATOR_FAKE_DRIVER = True")
print("SUSHY_EMULATOR_FAKE_SYSTEMS = [%s]" % systems)
PY
echo "SUSHY_EMULATOR_STATE_DIR = '$dir/sushy-state'" >> "$dir/sushy.conf"
sushy-emulator --config "$dir/sushy.conf" -i 127.0.0.1 -p "$sport" >"$dir/sushy.log" 2>&1 &
pids="$pids $!"

wait_http() { i=0; until curl -sf "http://127.0.0.1:$1/redfish/v1/" >/dev/null; do i=$((i + 1)); [ "$i" -lt 600 ] || { echo "no answer on $1" >&2; exit 1; }; sleep 0.1; done; }
wait_http "$rport"
wait_http "$wport"
wait_http "$sport"
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
login() {
    curl -si -X POST "http://127.0.0.1:$1/redfish/v1/SessionService/Sessions" \
        -H 'Content-Type: application/json' \
        -d "{\"UserName\":\"admin\",\"Password\":\"$IPMI_PASSWORD\"}" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-auth-token" {print $2}'
}
token=$(login "$rport")
wtoken=$(login "$wport")
[ -n "$token" ] && [ -n "$wtoken" ] || { echo "no session token" >&2; exit 1; }
sushy_system=$(curl -s "http://127.0.0.1:$sport/redfish/v1/Systems" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Members"][0]["@odata.id"])')
mid=$((n / 2))
before=$(rss "$shim")
echo "== $n systems each; $c keep-alive connections, $d s per run; $(nproc) CPUs; uptime: $(uptime)"
echo "shim VmRSS with $n BMCs and the Redfish service: $before kB ($((before / n)) kB per system)"
run() { printf '%-36s ' "$1"; shift; "$LOAD" "$@"; }
run "shim GET /Systems/sim-$mid" "127.0.0.1:$rport" GET "/redfish/v1/Systems/sim-$mid" "$c" "$d" "" "X-Auth-Token: $token"
run "sushy-emulator GET $sushy_system" "127.0.0.1:$sport" GET "$sushy_system" "$c" "$d"
run "shim POST Reset On" "127.0.0.1:$rport" POST "/redfish/v1/Systems/sim-$mid/Actions/ComputerSystem.Reset" "$c" "$d" '{"ResetType":"On"}' "X-Auth-Token: $token"
run "shim (sel_sync fsync) POST Reset On" "127.0.0.1:$wport" POST "/redfish/v1/Systems/sim-$mid/Actions/ComputerSystem.Reset" "$c" "$d" '{"ResetType":"On"}' "X-Auth-Token: $wtoken"
run "sushy-emulator POST Reset On" "127.0.0.1:$sport" POST "$sushy_system/Actions/ComputerSystem.Reset" "$c" "$d" '{"ResetType":"On"}'
echo "uptime: $(uptime)"
after=$(rss "$shim")
echo "shim VmRSS after the runs: $after kB (+$((after - before)) kB)"
