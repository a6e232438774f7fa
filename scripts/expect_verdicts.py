#!/usr/bin/env python3
"""Checks a `hogs run --json` result against the verdicts a red or fault check expects.

    expect_verdicts.py RESULTS.json EXIT_CODE [--exit N] name=OUTCOME[~REASON] ...

The run must have exited N (default 1: some scenario failed), each named scenario must have the
given outcome (PASS, FAIL, TIMEOUT, ERROR) and, with ~REASON, a reason containing that text, and
no boot may have left a process (QEMU...) alive.
"""
import json
import sys

path, rc, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
want_rc = 1
if args[:1] == ["--exit"]:
    want_rc, args = int(args[1]), args[2:]
wanted = {}
for a in args:
    name, rest = a.split("=", 1)
    outcome, _, reason = rest.partition("~")
    wanted[name] = (outcome, reason)
with open(path) as f:
    (run,) = json.load(f)["runs"]  # one kernel per check
got = {s["name"]: s for s in run["scenarios"]}
problems = []
for boot in run["boots"]:
    if boot["survivors"]:
        problems.append(f"boot {boot['index']} left processes running: {boot['survivors']}")
if rc != want_rc:
    problems.append(f"hogs run exited {rc}, expected {want_rc}")
for name, (outcome, reason) in wanted.items():
    actual = got.get(name, {}).get("outcome", "missing")
    reasons = got.get(name, {}).get("reasons", [])
    if actual != outcome:
        problems.append(f"{name}: expected {outcome}, got {actual} {'; '.join(reasons)}")
    elif reason and not any(reason in r for r in reasons):
        problems.append(f"{name}: no reason mentions {reason!r}: {'; '.join(reasons)}")
for p in problems:
    print(f"check: {p}", file=sys.stderr)
if problems:
    sys.exit(1)
print(f"check: ok ({', '.join(f'{n}={o}' for n, (o, _) in wanted.items())})")
