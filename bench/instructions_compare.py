#!/usr/bin/env python3
"""Compares the instruction counts of a gungraun run (--output-format=json: one JSON object a
line, or several) with the committed baselines, prints before and after, and fails on growth
above the limit or a case without a baseline. With --update, writes the run's counts instead.

Usage: instructions_compare.py BASELINE_FILE RUN_OUTPUT [--update]
The baseline file: comment lines (#) kept as they are, then "CASE INSTRUCTIONS" lines.
"""
import json
import sys

LIMIT = 0.10  # growth above which the guard fails


def objects(text):
    """Every JSON object in the run's output (one a line, or pretty-printed)."""
    dec = json.JSONDecoder()
    i = 0
    while True:
        i = text.find("{", i)
        if i < 0:
            return
        try:
            obj, end = dec.raw_decode(text, i)
        except json.JSONDecodeError:
            i += 1
            continue
        yield obj
        i = end


def instructions(obj):
    """The callgrind instructions (Ir) of one benchmark's summary (gungraun's JSON, version 7:
    profiles[].data.total.metrics.Ir.values.new)."""
    for p in obj.get("profiles", []):
        if p.get("tool") == "Callgrind":
            return int(p["data"]["total"]["metrics"]["Ir"]["values"]["new"])
    return None


def case_name(obj):
    """package/benchmark-file::group::function::id"""
    return "::".join(
        p for p in (obj.get("package_dir", "").rsplit("/", 1)[-1], obj.get("module_path", ""), obj.get("id") or "") if p
    )


def main():
    base_path, run_path = sys.argv[1], sys.argv[2]
    update = len(sys.argv) > 3 and sys.argv[3] == "--update"
    run = {}
    for obj in objects(open(run_path).read()):
        if "module_path" in obj and "profiles" in obj:
            n = instructions(obj)
            if n is not None:
                run[case_name(obj)] = n
    if not run:
        print("no benchmark results in the run's output", file=sys.stderr)
        return 2
    comments, base = [], {}
    try:
        for line in open(base_path):
            if line.startswith("#") or not line.strip():
                comments.append(line)
            else:
                name, n = line.split()
                base[name] = int(n)
    except FileNotFoundError:
        pass
    if update:
        with open(base_path, "w") as f:
            f.writelines(comments)
            for name in sorted(run):
                f.write(f"{name} {run[name]}\n")
        print(f"wrote {len(run)} baselines to {base_path}")
        return 0
    failed = []
    print(f"{'case (instructions under callgrind)':<64} {'baseline':>12} {'now':>12} {'change':>8}")
    for name in sorted(set(base) | set(run)):
        before, after = base.get(name), run.get(name)
        if before is None:
            print(f"{name:<64} {'-':>12} {after:>12,}      new")
            failed.append(f"{name}: no baseline (run bench/instructions.sh --update and commit it)")
            continue
        if after is None:
            print(f"{name:<64} {before:>12,} {'-':>12}  missing")
            failed.append(f"{name}: not run")
            continue
        change = after / before - 1
        mark = "  REGRESSION" if change > LIMIT else ""
        print(f"{name:<64} {before:>12,} {after:>12,} {change:>+8.1%}{mark}")
        if change > LIMIT:
            failed.append(f"{name}: {before:,} -> {after:,} instructions ({change:+.1%}, limit +{LIMIT:.0%})")
    if failed:
        print("instruction-count guard failed:", *failed, sep="\n  ", file=sys.stderr)
        return 1
    print(f"{len(run)} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
