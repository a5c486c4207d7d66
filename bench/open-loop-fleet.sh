#!/bin/sh
# Latency under a fixed request rate (open loop, wrk2 style): one ipmi-to-metal process serving
# BMCS simulated BMCs from one configuration, loaded by `ipmi-to-metal bench --rate RATE` spread
# over all of them (one session each), generator and server on the same machine. Prints the
# bench's table (p50 ... p99.9 and max from the intended send times, late and failed requests),
# the server's and the generator's CPU, and (with a C compiler) how late this machine wakes a
# thread that sleeps 200 us, measured just before: no request can be answered faster than the
# machine schedules the threads that carry it, so that is the floor under every percentile.
# Usage: bench/open-loop-fleet.sh [BMCS] [RATE] [SECONDS] [FIRST_PORT]   (1000 20000 10 21000)
# NICE=-10 runs the server and the generator at that nice level (root only), to measure them
# apart from whatever else keeps a shared machine busy.
set -eu
cd "$(dirname "$0")/.."
n=${1:-1000}
rate=${2:-20000}
secs=${3:-10}
first=${4:-21000}
last=$((first + n - 1))
prio=${NICE:-0}
export IPMI_PASSWORD=bench-password
# shellcheck source=bench/start.sh
. bench/start.sh

i=0
while [ "$i" -lt "$n" ]; do
    printf '[[bmc]]\nname = "sim-%d"\nlisten = "127.0.0.1:%d"\nbackend = "sim"\n[[bmc.users]]\nname = "admin"\npassword_env = "IPMI_PASSWORD"\nprivilege = "administrator"\n\n' \
        "$i" $((first + i))
    i=$((i + 1))
done > "$dir/fleet.toml"
nice -n "$prio" $bin serve --config "$dir/fleet.toml" >/dev/null 2>"$dir/serve.log" &
server=$!
pids="$pids $server"
up=no
for _ in $(seq 150); do
    if ipmitool -I lanplus -C 3 -H 127.0.0.1 -p "$last" -U admin -E -N 1 -R 1 chassis power status >/dev/null 2>&1; then
        up=yes
        break
    fi
    sleep 0.2
done
[ "$up" = yes ] || { echo "the fleet did not come up; log:" >&2; tail "$dir/serve.log" >&2; exit 1; }
if command -v cc >/dev/null; then
    cat > "$dir/wake.c" <<'C'
/* Sleeps 200 us again and again for 3 s and prints how late it woke up, in percentiles. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}
static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
int main(void) {
    static double late[100000];
    int n = 0;
    double end = now() + 3;
    struct timespec d = {0, 200000};
    while (now() < end && n < 100000) {
        double t = now();
        nanosleep(&d, NULL);
        late[n++] = (now() - t - 200e-6) * 1e3;
    }
    qsort(late, n, sizeof late[0], cmp);
    printf("machine: a 200 us sleep wakes late by p50 %.2f, p99 %.2f, p99.9 %.2f, max %.2f ms\n",
           late[n / 2], late[n * 99 / 100], late[n * 999 / 1000], late[n - 1]);
    return 0;
}
C
    cc -O2 -o "$dir/wake" "$dir/wake.c" && nice -n "$prio" "$dir/wake"
fi
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%.0f\n", s }'; }
echo "== $n sim BMCs in one process, open loop at $rate requests/s for ${secs}s (Get Chassis Status, cipher suite 3, nice $prio)"
before=$(cpu_ns "$server")
start=$(date +%s.%N)
/usr/bin/time -f '%U %S %e' -o "$dir/gen.time" nice -n "$prio" \
    $bin bench -q -t "fleet=127.0.0.1:$first-$last" --rate "$rate" -d "$secs" -C 3
end=$(date +%s.%N)
after=$(cpu_ns "$server")
echo "server: $(echo "$before $after $start $end" | awk '{ printf "%.2f CPUs busy over the run", ($2 - $1) / 1e9 / ($4 - $3) }'), $(ps -o rss=,nlwp= -p "$server" | awk '{ printf "%.1f MB RSS, %d threads", $1 / 1024, $2 }')"
awk '{ printf "generator: %.2f CPUs busy over its run (%.1f s user, %.1f s system, %.1f s)\n", ($1 + $2) / $3, $1, $2, $3 }' "$dir/gen.time"
echo "machine: load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
