#!/usr/bin/env python3
"""Runs the suite several times and reports how long it takes and how steady its verdicts are.

    scripts/bench.py N [hogs run arguments...]     e.g.  scripts/bench.py 20 --kernel 6.12

Each run is `target/release/hogs run --json ...` into target/bench/run-K/. Printed: the suite's
wall time, each boot's time and its time to the guest step, and per scenario its verdicts and
detection latency (min / median / max over the runs). Exits 1 when a scenario's verdict was not
the same in every run. Timings are reported, never asserted: these machines are shared.
"""
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOGS = os.path.join(ROOT, "target", "release", "hogs")


def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return f"{min(values):.1f} / {statistics.median(values):.1f} / {max(values):.1f}"


def main():
    if len(sys.argv) < 2 or not sys.argv[1].isdigit() or int(sys.argv[1]) < 1:
        sys.exit("usage: scripts/bench.py N [hogs run arguments...]")
    n, args = int(sys.argv[1]), sys.argv[2:]
    out = os.path.join(ROOT, "target", "bench")
    os.makedirs(out, exist_ok=True)
    walls, boots, ready, verdicts, latencies, codes, retried = [], [], [], {}, {}, [], []
    for k in range(1, n + 1):
        run_dir = os.path.join(out, f"run-{k}")
        subprocess.run(["rm", "-rf", run_dir], check=True)
        start = time.monotonic()
        proc = subprocess.run(
            [HOGS, "run", *args, "--out", run_dir, "--json", run_dir + ".json"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wall = time.monotonic() - start
        walls.append(wall)
        codes.append(proc.returncode)
        with open(run_dir + ".json") as f:
            runs = json.load(f)["runs"]
        for run in runs:
            for b in run["boots"]:
                boots.append(b["wall_secs"])
                ready.append(b["boot_secs"])
                if b.get("retried_after"):
                    retried.append(f"run {k} boot {b['index']}: {b['retried_after'][:160]}")
            for s in run["scenarios"]:
                key = (run["kernel"], s["name"])
                verdicts.setdefault(key, []).append(s["outcome"])
                latencies.setdefault(key, []).append(s["latency_secs"])
        print(f"run {k}/{n}: {wall:.1f} s, exit {proc.returncode}", flush=True)

    print(f"\n{n} runs of `hogs run {' '.join(args)}` (min / median / max, seconds)")
    print(f"  suite wall time        {spread(walls)}")
    print(f"  per boot               {spread(boots)}  ({len(boots) // n} boots per run)")
    print(f"  boot to guest step     {spread(ready)}")
    print(f"  boots run again after a host fault: {len(retried)}")
    for line in retried:
        print(f"    {line}")
    steady = True
    print(f"\n  {'kernel':<10} {'scenario':<30} {'verdicts':<14} latency")
    for (kernel, name), outcomes in sorted(verdicts.items()):
        counts = {o: outcomes.count(o) for o in sorted(set(outcomes))}
        if len(counts) > 1:
            steady = False
        shown = " ".join(f"{o}x{c}" for o, c in counts.items())
        print(f"  {kernel:<10} {name:<30} {shown:<14} {spread(latencies[(kernel, name)])}")
    summary = {
        "runs": n,
        "args": args,
        "suite_secs": walls,
        "boot_secs": boots,
        "ready_secs": ready,
        "exit_codes": codes,
        "retried_boots": retried,
        "verdicts": {f"{k} {s}": v for (k, s), v in verdicts.items()},
        "latencies": {f"{k} {s}": v for (k, s), v in latencies.items()},
    }
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(f"\nverdicts the same in all {n} runs: {'yes' if steady else 'NO'}"
          f" (details: {os.path.join(out, 'summary.json')})")
    sys.exit(0 if steady else 1)


if __name__ == "__main__":
    main()
