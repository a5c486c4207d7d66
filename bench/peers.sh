#!/bin/sh
# Measures ipmi-to-metal (sim backend) against its peers in one run, with the same load generator,
# user, password, cipher suite and request (Get Chassis Status): OpenIPMI's ipmi_sim, a pyghmi BMC
# (virtualbmc's base), and ipmi-to-metal's ipmi backend relaying to that ipmi_sim (the proxy's
# cost). Needs ipmi_sim (Debian openipmi) and pyghmi (pip).
# Usage: bench/peers.sh [SECONDS] [SESSIONS]
set -eu
cd "$(dirname "$0")/.."
secs=${1:-5}
sessions=${2:-8}
export IPMI_PASSWORD=benchpass
cargo build --release -q
bin=target/release/ipmi-to-metal
dir=$(mktemp -d)
pids=""
trap 'kill $pids 2>/dev/null; rm -rf "$dir"' EXIT INT TERM

$bin serve --listen 127.0.0.1:16230 >/dev/null 2>&1 &
pids="$pids $!"

cat > "$dir/lan.conf" <<CONF
name "bench"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 16231
    priv_limit admin
    allowed_auths_admin md5
    guid a123456789abcdefa123456789abcdef
  endlan
user 2 true "admin" "$IPMI_PASSWORD" admin 10 md5
CONF
printf 'mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\nmc_enable 0x20\n' > "$dir/cmd.conf"
mkdir "$dir/state"
(cd "$dir" && exec ipmi_sim -c lan.conf -f cmd.conf -s state -n >/dev/null 2>&1) &
pids="$pids $!"

python3 bench/pyghmi_bmc.py 16232 >/dev/null 2>&1 &
pids="$pids $!"

cat > "$dir/proxy.toml" <<CONF
[[bmc]]
name = "proxy"
listen = "127.0.0.1:16233"
backend = "ipmi"
[bmc.ipmi]
host = "127.0.0.1"
port = 16231
user = "admin"
password_env = "IPMI_PASSWORD"
cipher_suites = [3]
[[bmc.users]]
name = "admin"
password_env = "IPMI_PASSWORD"
privilege = "administrator"
CONF
$bin serve --config "$dir/proxy.toml" >/dev/null 2>&1 &
pids="$pids $!"
sleep 2

targets="-t ipmi-to-metal=127.0.0.1:16230 -t ipmi_sim=127.0.0.1:16231 -t pyghmi=127.0.0.1:16232 -t proxy→ipmi_sim=127.0.0.1:16233"
echo "== requests in open sessions (Get Chassis Status), cipher suite 3"
$bin bench --each $targets -C 3 -s "$sessions" -d "$secs" -q
echo "== whole sessions (log in, Get Chassis Status, close), cipher suite 3"
$bin bench --each $targets -C 3 -s "$sessions" -d "$secs" --mode logins -q
