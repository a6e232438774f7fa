#!/usr/bin/env python3
"""Checks a `hogs run --json` result against the verdicts a red check expects.

    expect_verdicts.py RESULTS.json EXIT_CODE name=PASS|FAIL|TIMEOUT|ERROR ...

The run must exit 1 (some scenario failed), each named scenario must have the given outcome, and
no boot may have left a process (QEMU...) alive.
"""
import json
import sys

path, rc, wanted = sys.argv[1], int(sys.argv[2]), dict(a.split("=", 1) for a in sys.argv[3:])
with open(path) as f:
    (run,) = json.load(f)["runs"]  # one kernel per red check
got = {s["name"]: s for s in run["scenarios"]}
problems = []
for boot in run["boots"]:
    if boot["survivors"]:
        problems.append(f"boot {boot['index']} left processes running: {boot['survivors']}")
if rc != 1:
    problems.append(f"hogs run exited {rc}, expected 1 (some scenarios must fail)")
for name, outcome in wanted.items():
    actual = got.get(name, {}).get("outcome", "missing")
    if actual != outcome:
        reasons = "; ".join(got.get(name, {}).get("reasons", []))
        problems.append(f"{name}: expected {outcome}, got {actual} {reasons}")
for p in problems:
    print(f"red check: {p}", file=sys.stderr)
if problems:
    sys.exit(1)
print(f"red check: ok ({', '.join(f'{n}={o}' for n, o in wanted.items())})")
