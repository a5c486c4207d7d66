#!/bin/bash
# Where the CPU of one request and of one whole session goes in ipmi-to-metal (release build,
# sim backend), with real ipmitool as the load, as bench/cpu-per-request.sh measures it:
#
#  1. user-space instructions (repeatable): the server runs under valgrind --tool=callgrind; the
#     counters are zeroed, SESSIONS concurrent `ipmitool exec` send REQUESTS Get Chassis Status in
#     all, then dumped; then zeroed again around LOGINS whole `ipmitool chassis power status` runs.
#     bench/callgrind_summary.py prints instructions per request / per session by function,
#     inclusive. Valgrind hides SHA-NI from the program, so SHA-1 runs its portable code there.
#  2. natively: the same loads (5 times) on the release binary, with server CPU from schedstat
#     and the user/kernel split from /proc/PID/stat; then once more under perf stat (if perf works
#     here) for syscalls and context switches per request (software events and tracepoints), and
#     once under perf record -e cpu-clock for where the samples fall (kernel or user, syscalls);
#  3. the floor: a do-nothing blocking UDP echo server in C under 4 closed-loop clients (needs cc).
#
# Usage: bench/profile-request-path.sh [REQUESTS] [SESSIONS] [LOGINS]   (4000 4 50)
# Needs valgrind and ipmitool. Port 16270 (and 16271 for the floor) on 127.0.0.1.
set -eu
cd "$(dirname "$0")/.."
requests=${1:-4000}
sessions=${2:-4}
logins=${3:-50}
export IPMI_PASSWORD=bench-password
# shellcheck source=bench/start.sh
. bench/start.sh

port=16270
cat > "$dir/shim.toml" <<CONF
[[bmc]]
name = "bench"
listen = "127.0.0.1:$port"
backend = "sim"
[[bmc.users]]
name = "admin"
password_env = "IPMI_PASSWORD"
privilege = "administrator"
CONF
per=$((requests / sessions))
yes 'chassis status' | head -n "$per" > "$dir/exec.txt"
ipmi() { timeout 300 ipmitool -I lanplus -C 3 -H 127.0.0.1 -p "$port" -U admin -E "$@"; }
wait_up() {
    for _ in $(seq 150); do
        if ipmi -N 1 -R 1 chassis power status >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    echo "the server did not come up" >&2
    exit 1
}
in_session() {
    local loads="" l
    for _ in $(seq "$sessions"); do
        ipmi exec "$dir/exec.txt" >/dev/null &
        loads="$loads $!"
    done
    for l in $loads; do wait "$l"; done
}
whole_sessions() {
    for _ in $(seq "$logins"); do ipmi chassis power status >/dev/null; done
}

echo "== 1. callgrind: user-space instructions ($((per * sessions)) requests in $sessions ipmitool exec sessions; $logins whole sessions)"
valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" "$bin" serve --config "$dir/shim.toml" \
    >/dev/null 2>"$dir/valgrind.log" &
vg=$!
pids="$pids $vg"
wait_up
ipmi exec "$dir/exec.txt" >/dev/null # warm up
callgrind_control -z "$vg" >/dev/null
in_session
callgrind_control --dump=requests "$vg" >/dev/null
callgrind_control -z "$vg" >/dev/null
whole_sessions
callgrind_control --dump=sessions "$vg" >/dev/null
kill "$vg"
wait "$vg" 2>/dev/null || true
echo "-- per in-session request"
python3 bench/callgrind_summary.py "$dir/cg.out.1" $((per * sessions)) 12
echo "-- per whole session"
python3 bench/callgrind_summary.py "$dir/cg.out.2" "$logins" 8

echo "== 2. native: the same loads on the release binary"
"$bin" serve --config "$dir/shim.toml" >/dev/null 2>&1 &
srv=$!
pids="$pids $srv"
wait_up
ipmi exec "$dir/exec.txt" >/dev/null
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%.0f\n", s }'; }
ticks() { cut -d' ' -f14,15 /proc/"$1"/stat; }
perf_ok=no
if perf stat -e raw_syscalls:sys_enter -o /dev/null true 2>/dev/null; then perf_ok=yes; fi
native() { # LABEL LOAD UNITS: CPU per unit over 5 runs of LOAD, then one more under perf stat
    local t0 t1 c0 c1 ps
    t0=$(ticks "$srv")
    c0=$(cpu_ns "$srv")
    for _ in 1 2 3 4 5; do $2; done
    c1=$(cpu_ns "$srv")
    t1=$(ticks "$srv")
    echo "$t0 $t1 $c0 $c1 $(($3 * 5)) $(getconf CLK_TCK)" | awk -v l="$1" '{
        u = ($3 - $1) / $8 * 1e6 / $7; k = ($4 - $2) / $8 * 1e6 / $7
        printf "%-20s %7.2f us CPU per unit (schedstat); user %.2f us, kernel %.2f us (clock ticks)\n", l, ($6 - $5) / 1000 / $7, u, k }'
    [ "$perf_ok" = yes ] || return 0
    local events="task-clock,context-switches,cpu-migrations,raw_syscalls:sys_enter"
    events="$events,syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto"
    events="$events,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_futex,syscalls:sys_enter_write"
    perf stat -x, -e "$events" -p "$srv" -o "$dir/perf.$1" &
    ps=$!
    sleep 0.3
    $2
    kill -INT "$ps"
    wait "$ps" || true
    awk -F, -v n="$3" '$3 != "" && $1 ~ /^[0-9.]+$/ {
        v = $1 / n; if ($2 == "msec") { v *= 1000; $3 = $3 " us (perf-traced)" }
        printf "    %-36s %8.2f per unit\n", $3, v }' "$dir/perf.$1"
}
native "in-session request" in_session $((per * sessions))
native "whole session" whole_sessions "$logins"
[ "$perf_ok" = yes ] || echo "(perf cannot count syscalls here: no per-syscall counts)"
if perf record -e cpu-clock -o /dev/null true >/dev/null 2>&1; then
    echo "-- perf record -e cpu-clock -g over the in-session load: kernel/user, then syscalls (inclusive)"
    perf record -q -e cpu-clock -F 10000 -g -p "$srv" -o "$dir/perf.data" >/dev/null 2>&1 &
    ps=$!
    sleep 0.3
    in_session
    kill -INT "$ps"
    wait "$ps" || true
    perf report -i "$dir/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null \
        | grep -v '^#' | grep -v '^$' | head -5
    perf report -i "$dir/perf.data" --children --sort sym --stdio -g none 2>/dev/null \
        | grep -E '\] (finish_task_switch|__x64_sys_[a-z_]+|exit_to_user_mode_loop|sha1::.*|aes::.*expand_key)' \
        | head -12
fi

if command -v cc >/dev/null; then
    echo "== 3. the floor: a do-nothing blocking UDP echo server (C), 4 closed-loop clients"
    cc -O2 -o "$dir/echo" bench/echo.c
    "$dir/echo" 16271 &
    srv=$!
    pids="$pids $srv"
    floor_load() {
        local loads="" l
        for _ in $(seq "$sessions"); do
            python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("127.0.0.1", 16271))
for _ in range(int(sys.argv[1])):
    s.send(bytes(64)); s.recv(1500)
' "$per" &
            loads="$loads $!"
        done
        for l in $loads; do wait "$l"; done
    }
    sleep 0.2
    native "echo round trip" floor_load $((per * sessions))
fi
