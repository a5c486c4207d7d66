#!/bin/sh
# Server CPU per request and per whole session, side by side in one run, with real ipmitool
# processes as the load (as Ironic and MAAS send it): ipmi-to-metal (release build, sim backend,
# `serve --config`), OpenIPMI's ipmi_sim and a pyghmi BMC (bench/pyghmi_bmc.py), all on loopback;
# and, as the floor, a do-nothing blocking UDP echo server in C under the same pattern of clients.
#
#   (a) SESSIONS concurrent `ipmitool -I lanplus -C 3 ... exec FILE`, FILE holding REQUESTS lines
#       of `chassis status` (one Get Chassis Status each, in one session per ipmitool);
#   (b) LOGINS whole `ipmitool -I lanplus -C 3 ... chassis power status` runs, one after the other
#       (Get Channel Auth Capabilities, Open Session, RAKP 1/3, the session's requests, Close).
#
# Server CPU is the sum over the server's threads of /proc/PID/task/*/schedstat's first field (ns
# on CPU), read before and after each load; the client's CPU is not counted. (a) is divided by
# SESSIONS*REQUESTS (its SESSIONS logins are included, under 1% of it), (b) by LOGINS. The loads
# run ROUNDS times, the servers taking turns within each round, and the median is reported.
#
# The echo floor: ipmitool cannot be an echo server's client (it would take its own request back
# as a failed answer and stop), so a small C client (bench/echo-client.c, built here) makes the
# same pattern: (a) SESSIONS concurrent processes, each REQUESTS round trips one at a time on one
# socket; (b) LOGINS processes one after the other, each a fresh socket and DATAGRAMS round trips
# (11: what one `ipmitool chassis power status` exchanges). Between an answer and its next
# datagram the client waits as long as ipmitool took per request against ipmi-to-metal in the
# same round (the wall time of (a) over REQUESTS, some 250-800 us here, most of it ipmitool's own
# work and wake-ups), so that each datagram finds the server asleep as ipmitool's do. What that
# costs the echo server is the floor of any server that answers each datagram with a system call
# here: the goals are written as multiples of it.
#
# The runtime floor: `ipmi-to-metal echo-floor` echoes on the server's own runtime, waiting as a
# BMC's receive loop does (tokio's epoll, readiness then reads until the socket is empty, a 1 s
# timer armed), under the same clients as the echo floor: what that structure costs a datagram
# before any IPMI work, the part of a session no change to the IPMI code can remove.
#
# FLOOR_TOUCH_KB=n makes the echo client of (b) also write n KiB between datagrams (0 by
# default): the floor of whole sessions under a client that empties the caches as ipmitool's own
# work does, a process start and OpenSSL each time (4096 here: a core's L2 twice over;
# docs/performance-sessions.md, "Fourth pass"). (a) is left as it is: in one session ipmitool
# does little between requests.
#
# Usage: bench/cpu-per-request.sh [REQUESTS] [SESSIONS] [LOGINS] [ROUNDS]   (3000 4 100 5)
# Needs ipmitool, ipmi_sim (Debian openipmi), pyghmi (pip) and cc. Ports 16240-16244 on
# 127.0.0.1. DATAGRAMS=11 is the datagrams of one whole session for the floor.
set -eu
cd "$(dirname "$0")/.."
requests=${1:-3000}
sessions=${2:-4}
logins=${3:-100}
rounds=${4:-5}
datagrams=${DATAGRAMS:-11}
touch_kb=${FLOOR_TOUCH_KB:-0}
export IPMI_PASSWORD=bench-password
# shellcheck source=bench/start.sh
. bench/start.sh

# The three servers, as NAME:PORT:PID once started.
servers=""

cat > "$dir/shim.toml" <<CONF
[[bmc]]
name = "bench"
listen = "127.0.0.1:16240"
backend = "sim"
[[bmc.users]]
name = "admin"
password_env = "IPMI_PASSWORD"
privilege = "administrator"
CONF
$bin serve --config "$dir/shim.toml" >/dev/null 2>"$dir/shim.log" &
pids="$pids $!"
servers="$servers ipmi-to-metal:16240:$!"

mkdir "$dir/sim" "$dir/sim/state"
cat > "$dir/sim/lan.conf" <<CONF
name "bench"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 16241
    priv_limit admin
    allowed_auths_admin md5
    guid a123456789abcdefa123456789abcdef
  endlan
user 2 true "admin" "$IPMI_PASSWORD" admin 10 md5
CONF
printf 'mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\nmc_enable 0x20\n' \
    > "$dir/sim/cmd.conf"
(cd "$dir/sim" && exec ipmi_sim -c lan.conf -f cmd.conf -s state -n >/dev/null 2>&1) &
pids="$pids $!"
servers="$servers ipmi_sim:16241:$!"

# The interpreter itself (not a pyenv shim), so that $! is the process that serves.
python=$(python3 -c 'import sys; print(sys.executable)')
"$python" bench/pyghmi_bmc.py 16242 >/dev/null 2>&1 &
pids="$pids $!"
servers="$servers pyghmi:16242:$!"

# The floor: a blocking UDP echo server that does nothing else, and its client.
cc -O2 -o "$dir/echo" bench/echo.c
cc -O2 -o "$dir/echo-client" bench/echo-client.c
"$dir/echo" 16243 &
pids="$pids $!"
floor="echo-floor:16243:$!"
$bin echo-floor --listen 127.0.0.1:16244 &
pids="$pids $!"
floor="$floor runtime-floor:16244:$!"

ipmi() { # PORT ARGS...: one bounded ipmitool run as Ironic makes it
    _port=$1
    shift
    timeout 120 ipmitool -I lanplus -C 3 -H 127.0.0.1 -p "$_port" -U admin -E "$@"
}

for s in $servers; do
    port=$(echo "$s" | cut -d: -f2)
    up=no
    for _ in $(seq 100); do
        if ipmi "$port" -N 1 -R 1 chassis power status >/dev/null 2>&1; then up=yes; break; fi
        sleep 0.2
    done
    [ "$up" = yes ] || { echo "${s%%:*} did not come up on port $port" >&2; exit 1; }
done

cpu_ns() { # PID: ns on CPU, summed over its threads
    cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

yes 'chassis status' | head -n "$requests" > "$dir/exec.txt"

in_session() { # PORT: the (a) load
    case $1 in 16243 | 16244) floor_in_session "$1"; return ;; esac
    i=0
    loads=""
    while [ "$i" -lt "$sessions" ]; do
        ipmi "$1" exec "$dir/exec.txt" >/dev/null 2>"$dir/exec.err.$i" &
        loads="$loads $!"
        i=$((i + 1))
    done
    failed=0
    for l in $loads; do wait "$l" || failed=$((failed + 1)); done
    [ "$failed" -eq 0 ] || { echo "$failed ipmitool exec runs failed on port $1:" >&2; cat "$dir"/exec.err.* >&2; exit 1; }
}

whole_sessions() { # PORT: the (b) load
    case $1 in 16243 | 16244) floor_whole_sessions "$1"; return ;; esac
    i=0
    while [ "$i" -lt "$logins" ]; do
        ipmi "$1" chassis power status >/dev/null
        i=$((i + 1))
    done
}

gap_us() { # ipmitool's pace in this round: ipmi-to-metal's (a) wall time per request of a session
    awk -v r="$requests" '{ printf "%d\n", $1 / 1000 / r }' "$dir/wall.ipmi-to-metal"
}

floor_in_session() { # PORT: the (a) pattern against an echo server
    i=0
    loads=""
    while [ "$i" -lt "$sessions" ]; do
        "$dir/echo-client" "$1" "$requests" "$(gap_us)" &
        loads="$loads $!"
        i=$((i + 1))
    done
    for l in $loads; do wait "$l"; done
}

floor_whole_sessions() { # PORT: the (b) pattern: one process per session, DATAGRAMS round trips each
    i=0
    while [ "$i" -lt "$logins" ]; do
        "$dir/echo-client" "$1" "$datagrams" "$(gap_us)" "$touch_kb"
        i=$((i + 1))
    done
}

measure() { # NAME PORT PID LOAD DIVISOR: appends "NAME LOAD us" to results
    before=$(cpu_ns "$3")
    t0=$(date +%s%N)
    $4 "$2"
    t1=$(date +%s%N)
    after=$(cpu_ns "$3")
    [ "$4" != in_session ] || echo $((t1 - t0)) > "$dir/wall.$1"
    echo "$1 $4 $(( (after - before) / $5 ))" | awk '{ printf "%s %s %.2f\n", $1, $2, $3 / 1000 }' >> "$dir/results"
}

echo "== server CPU per request: $sessions x ipmitool exec of $requests chassis status; per session: $logins ipmitool runs; cipher suite 3; $rounds rounds; the floor's whole-session client touches $touch_kb KiB between datagrams; load: $(cut -d' ' -f1-3 /proc/loadavg)"
round=1
while [ "$round" -le "$rounds" ]; do
    for s in $servers $floor; do
        name=${s%%:*}
        rest=${s#*:}
        port=${rest%%:*}
        pid=${rest#*:}
        measure "$name" "$port" "$pid" in_session $((sessions * requests))
        measure "$name" "$port" "$pid" whole_sessions "$logins"
    done
    tail -n 10 "$dir/results" | awk -v r="$round" '{ printf "round %d  %-14s %-15s %10s us\n", r, $1, $2, $3 }'
    echo "round $round  echo client's gap between datagrams (ipmitool's pace): $(gap_us) us"
    round=$((round + 1))
done

# The median of each (server, load) over the rounds, then the table and the ratios.
sort -k1,1 -k2,2 -k3,3n "$dir/results" | awk '
    { key = $1 " " $2; v[key, ++n[key]] = $3 }
    END { for (k in n) { m = n[k]; print k, (m % 2) ? v[k, (m + 1) / 2] : (v[k, m / 2] + v[k, m / 2 + 1]) / 2 } }
' > "$dir/medians"
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v d="$datagrams" '
    { us[$1, $2] = $3 }
    END {
        printf "%-14s %22s %20s\n", "server", "us CPU / request", "us CPU / session"
        split("ipmi-to-metal ipmi_sim pyghmi echo-floor runtime-floor", names, " ")
        for (i = 1; i <= 5; i++) {
            n = names[i]
            printf "%-14s %22.2f %20.1f\n", n, us[n, "in_session"], us[n, "whole_sessions"]
        }
        r = "ipmi-to-metal"
        printf "ratio %-27s %10.3f %20.3f   (goal: session <= 0.5)\n", "ipmi-to-metal / ipmi_sim", \
            us[r, "in_session"] / us["ipmi_sim", "in_session"], us[r, "whole_sessions"] / us["ipmi_sim", "whole_sessions"]
        printf "ratio %-27s %10.3f %20.3f\n", "ipmi-to-metal / pyghmi", \
            us[r, "in_session"] / us["pyghmi", "in_session"], us[r, "whole_sessions"] / us["pyghmi", "whole_sessions"]
        printf "ratio %-27s %10.3f %20.3f   (goals: request <= 1.15, session <= 2.2; the floor session is %d datagrams)\n", \
            "ipmi-to-metal / echo floor", us[r, "in_session"] / us["echo-floor", "in_session"], \
            us[r, "whole_sessions"] / us["echo-floor", "whole_sessions"], d
        printf "ratio %-27s %10.3f %20.3f\n", "ipmi_sim / echo floor", \
            us["ipmi_sim", "in_session"] / us["echo-floor", "in_session"], us["ipmi_sim", "whole_sessions"] / us["echo-floor", "whole_sessions"]
        printf "ratio %-27s %10.3f %20.3f\n", "ipmi-to-metal / runtime floor", \
            us[r, "in_session"] / us["runtime-floor", "in_session"], us[r, "whole_sessions"] / us["runtime-floor", "whole_sessions"]
        printf "ratio %-27s %10.3f %20.3f\n", "runtime floor / ipmi_sim", \
            us["runtime-floor", "in_session"] / us["ipmi_sim", "in_session"], us["runtime-floor", "whole_sessions"] / us["ipmi_sim", "whole_sessions"]
    }
' "$dir/medians"
