#!/usr/bin/env bash
# Host faults with real boots (part of scripts/test.sh): each check starts `hogs run`, waits
# until its hog runs in the guest, then breaks something on the host.
#   1. SIGINT to hogs: exit 130, a results file with the scenario ERROR, no process of the boot left;
#   2. SIGKILL of QEMU once: the boot runs again (a host fault says nothing about the kernel)
#      and passes, and results.json says it was retried;
#   3. SIGKILL of QEMU in both attempts: the scenario is ERROR naming the host fault, not a
#      kernel failure;
#   4. SIGKILL of hogs (a CI job killed at its limit) while the guest is silent (hung-guest: its
#      only CPU spins with interrupts off, so QEMU never writes to the dead harness's pipes and
#      no SIGPIPE ends it): no QEMU, vng or guard left behind.
# Usage: scripts/fault-checks.sh RESULTS_DIR [hogs args before `run`...]
set -euo pipefail
cd "$(dirname "$0")/.."
results=$1
shift
hogs=target/release/hogs

fail() { echo "fault check: $*" >&2; exit 1; }

# The processes of the boot that hogs started into folder OUT: its guard (found by the plan path
# on its command line) and every descendant, as "PID COMM" lines. Only this run's processes are
# looked at, so other VMs on the machine neither disturb the checks nor get killed by them.
boot_tree() {
  python3 - "$1/boot-1.plan.json" <<'PY'
import os, sys
plan = sys.argv[1]
procs = {}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        stat = open(f"/proc/{pid}/stat").read()
        cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        continue
    comm, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
    if rest[0] not in "ZX":
        procs[int(pid)] = (int(rest[1]), comm, cmd)
tree = [p for p, (_, _, cmd) in procs.items() if "boot-guard" in cmd and plan in cmd]
for p in tree:
    tree += [c for c, (parent, _, _) in procs.items() if parent == p and c not in tree]
for p in tree:
    print(p, procs[p][1])
PY
}

# Waits up to 15 s until none of the PIDs in "$boot" (a boot_tree listing) is alive.
wait_boot_gone() {
  for _ in $(seq 1 75); do
    alive=$(echo "$boot" | while read -r p _; do [ -n "$p" ] && [ -d "/proc/$p" ] &&
      ! grep -q '^[^)]*) [ZX]' "/proc/$p/stat" 2>/dev/null && echo "$p"; done || true)
    [ -z "$alive" ] && return 0
    sleep 0.2
  done
  fail "$1: processes of the boot are still running: $(echo "$alive" | tr '\n' ' ')"
}

# Starts `hogs [ARGS...] run SCENARIO` in the background with SIGINT at its default (a background
# job of a non-interactive shell ignores it), into folder OUT; sets $pid.
# Usage: start_run OUT SCENARIO [ARGS...]
start_run() {
  local out=$1 scenario=$2
  shift 2
  rm -rf "$out"
  python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])' \
    "$hogs" "$@" run "$scenario" --out "$out" --json "$out.json" >"$out.log" 2>&1 &
  pid=$!
}

# Waits until the hog MODULE runs in the guest (its start line is on the console).
# Usage: wait_for_hog OUT MODULE
wait_for_hog() {
  local out=$1 module=$2
  for _ in $(seq 1 600); do
    grep -qs "$module: hogging CPU" "$out/boot-1.console.log" && return 0
    kill -0 "$pid" 2>/dev/null || fail "hogs ended before the hog ran (log: $out.log)"
    sleep 0.2
  done
  fail "the hog did not start within 120 s (log: $out.log)"
}


echo "fault check 1: SIGINT during a real boot"
start_run "$results/sigint" polite-control "$@"
wait_for_hog "$results/sigint" hog_polite
boot=$(boot_tree "$results/sigint")
echo "$boot" | grep -q qemu-system || fail "no QEMU found in the boot's process tree: $boot"
kill -INT "$pid"
set +e
wait "$pid"
rc=$?
set -e
wait_boot_gone "after SIGINT"
python3 scripts/expect_verdicts.py "$results/sigint/results.json" "$rc" --exit 130 \
  "polite-control=ERROR~interrupted by SIGINT"

# Kills the QEMU of the boot in folder OUT.
kill_qemu() {
  boot=$(boot_tree "$1")
  qemu=$(echo "$boot" | awk '$2 ~ /^qemu-system/ {print $1}')
  [ -n "$qemu" ] || fail "no QEMU found in the boot's process tree: $boot"
  kill -KILL $qemu
}

# Waits until the boot in folder OUT was started again after a host fault.
wait_for_retry() {
  for _ in $(seq 1 300); do
    [ -f "$1/boot-1.attempt-1.console.log" ] && return 0
    kill -0 "$pid" 2>/dev/null || fail "hogs ended without retrying the boot (log: $1.log)"
    sleep 0.2
  done
  fail "the boot was not retried within 60 s (log: $1.log)"
}

# Checks that results.json in OUT says boot 1 was retried after a host fault.
expect_retried() {
  python3 - "$1/results.json" <<'PY'
import json, sys
boot = json.load(open(sys.argv[1]))["runs"][0]["boots"][0]
why = boot.get("retried_after") or ""
if not why.startswith("host fault: "):
    sys.exit(f"fault check: boot 1 should say it was retried after a host fault, it says {why!r}")
PY
}

echo "fault check 2: QEMU killed once in the middle of a scenario: the boot runs again and passes"
start_run "$results/qemu-killed" polite-control "$@"
wait_for_hog "$results/qemu-killed" hog_polite
kill_qemu "$results/qemu-killed"
wait_for_retry "$results/qemu-killed"
set +e
wait "$pid"
rc=$?
set -e
wait_boot_gone "after killing QEMU"
python3 scripts/expect_verdicts.py "$results/qemu-killed.json" "$rc" --exit 0 "polite-control=PASS"
expect_retried "$results/qemu-killed"

echo "fault check 3: QEMU killed in both attempts: ERROR naming the host fault, not a kernel failure"
start_run "$results/qemu-killed-twice" polite-control "$@"
wait_for_hog "$results/qemu-killed-twice" hog_polite
kill_qemu "$results/qemu-killed-twice"
wait_for_retry "$results/qemu-killed-twice"
wait_for_hog "$results/qemu-killed-twice" hog_polite
kill_qemu "$results/qemu-killed-twice"
set +e
wait "$pid"
rc=$?
set -e
wait_boot_gone "after killing QEMU twice"
python3 scripts/expect_verdicts.py "$results/qemu-killed-twice.json" "$rc" \
  "polite-control=ERROR~host fault: the scenario did not finish: vng exited with status"
expect_retried "$results/qemu-killed-twice"

echo "fault check 4: hogs itself killed with SIGKILL"
start_run "$results/sigkill" hung-guest --scenarios tests/scenarios "$@"
wait_for_hog "$results/sigkill" hog_irqsave
boot=$(boot_tree "$results/sigkill")
echo "$boot" | grep -q qemu-system || fail "no QEMU found in the boot's process tree: $boot"
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
wait_boot_gone "after SIGKILL of hogs"
echo "fault check: ok (no process of the boot survived its harness)"
