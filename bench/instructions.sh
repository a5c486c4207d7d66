#!/bin/sh
# The instruction-count guard: runs the callgrind benchmarks (gungraun) and compares each count
# with its baseline in bench/instructions.baseline; fails if one grew by more than 10% (or is
# missing), printing every case before and after. Instruction counts under callgrind are the
# same from run to run of one build, and move little between machines of one kind with the same
# toolchain, unlike times on a shared machine.
#
#   bench/instructions.sh            compare (CI runs this from .ci/run)
#   bench/instructions.sh --update   write the counts of this build as the new baselines
#
# Needs valgrind and gungraun-runner at the version of the gungraun library (0.20.0):
#   cargo install --locked gungraun-runner --version 0.20.0
set -eu
cd "$(dirname "$0")/.."
mode=${1:-}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# The benchmarks, as "PACKAGE BENCH" (each a gungraun library benchmark): the session layer's
# cases, and one Redfish GET of a ComputerSystem through the service's router. A new one: its
# line here, then `bench/instructions.sh --update` records its baseline.
for b in "ipmi-proto instructions" "redfish-service instructions"; do
    # shellcheck disable=SC2086
    set -- $b
    cargo bench -q -p "$1" --bench "$2" -- --output-format=json >> "$out"
done
python3 bench/instructions_compare.py bench/instructions.baseline "$out" "$mode"
