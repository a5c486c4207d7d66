#!/bin/sh
# Records real ipmitool and FreeIPMI exchanges with an IPMI server on a loopback port, one file per
# datagram, through udp_relay.py (no root, no packet capture needed).
#
#   IPMI_PASSWORD=... fuzz/tools/capture.sh UPSTREAM_PORT OUT_DIR
#
# The server must have user "admin" (administrator) with password $IPMI_PASSWORD. The password
# goes to ipmitool through the environment (-E) and to FreeIPMI through a mode-0600 config file,
# never on a command line. Each client run's datagrams land in OUT_DIR/<run>.bin (format in
# udp_relay.py); the committed ones are in fuzz/captures/.
set -eu
upstream=$1
out=$2
: "${IPMI_PASSWORD:?set IPMI_PASSWORD}"
here=$(dirname "$0")
relay_port=${RELAY_PORT:-16231}
mkdir -p "$out"
conf=$(mktemp)
chmod 600 "$conf"
printf 'username admin\npassword %s\n' "$IPMI_PASSWORD" >"$conf"
trap 'rm -f "$conf"' EXIT

run() {
    name=$1
    shift
    python3 "$here/udp_relay.py" "$relay_port" "$upstream" "$out/$name.bin" &
    relay=$!
    sleep 0.3
    timeout 30 "$@" >/dev/null 2>&1 || echo "($name exited non-zero)" >&2
    kill "$relay"
    wait "$relay" 2>/dev/null || true
}

# (timeout runs programs, not shell functions: these expand to argument lists.)
ipmi="ipmitool -H 127.0.0.1 -p $relay_port -U admin -E -R 1 -N 1"
free="--config-file $conf -h 127.0.0.1:$relay_port"

run ipmitool-lanplus-c3 $ipmi -I lanplus -C 3 chassis status
run ipmitool-lanplus-c3-mc $ipmi -I lanplus -C 3 mc info
run ipmitool-lanplus-c3-boot $ipmi -I lanplus -C 3 chassis bootdev pxe options=efiboot,persistent
run ipmitool-lanplus-c3-lan $ipmi -I lanplus -C 3 lan print 1
run ipmitool-lanplus-c3-fru $ipmi -I lanplus -C 3 fru print 0
run ipmitool-lanplus-c17 $ipmi -I lanplus -C 17 chassis power status
run ipmitool-lanplus-c17-cycle $ipmi -I lanplus -C 17 chassis power cycle
run ipmitool-lan $ipmi -I lan chassis status
run ipmitool-lan-mc $ipmi -I lan mc info
run ipmitool-lan-user $ipmi -I lan -L USER chassis power status
run ipmipower-lan ipmipower $free --stat
run ipmipower-lan20 ipmipower $free -D LAN_2_0 --stat
run ipmipower-lan20-on ipmipower $free -D LAN_2_0 --on
run bmc-info-lan bmc-info $free
run bmc-info-lan20 bmc-info $free -D LAN_2_0
