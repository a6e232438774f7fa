#!/usr/bin/env bash
# Host faults with real boots (part of scripts/test.sh): each check starts `hogs run`, waits
# until its hog runs in the guest, then breaks something on the host.
#   1. SIGINT to hogs: exit 130, a results file with the scenario ERROR, no process of the boot left;
#   2. SIGKILL of QEMU: the scenario is ERROR naming the host fault, not a kernel failure;
#   3. SIGKILL of hogs (a CI job killed at its limit) while the guest is silent (hung-guest: its
#      only CPU spins with interrupts off, so QEMU never writes to the dead harness's pipes and
#      no SIGPIPE ends it): no QEMU, vng or guard left behind.
# Usage: scripts/fault-checks.sh RESULTS_DIR [hogs args before `run`...]
set -euo pipefail
cd "$(dirname "$0")/.."
results=$1
shift
hogs=target/release/hogs

fail() { echo "fault check: $*" >&2; exit 1; }

# Processes a boot may leave behind; none may exist between checks.
boot_processes() { pgrep -f 'qemu-system|boot-guard|bin/vng' || true; }
[ -z "$(boot_processes)" ] || fail "processes of an earlier boot are running: $(boot_processes | tr '\n' ' ')"

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

# Waits up to 15 s for every process of the boot to be gone.
wait_no_boot_processes() {
  for _ in $(seq 1 75); do
    [ -z "$(boot_processes)" ] && return 0
    sleep 0.2
  done
  fail "$1: processes of the boot are still running: $(boot_processes | tr '\n' ' ')"
}

echo "fault check 1: SIGINT during a real boot"
start_run "$results/sigint" polite-control "$@"
wait_for_hog "$results/sigint" hog_polite
kill -INT "$pid"
set +e
wait "$pid"
rc=$?
set -e
wait_no_boot_processes "after SIGINT"
python3 scripts/expect_verdicts.py "$results/sigint/results.json" "$rc" --exit 130 \
  "polite-control=ERROR~interrupted by SIGINT"

echo "fault check 2: QEMU killed in the middle of a scenario"
start_run "$results/qemu-killed" polite-control "$@"
wait_for_hog "$results/qemu-killed" hog_polite
pkill -KILL -f qemu-system
set +e
wait "$pid"
rc=$?
set -e
wait_no_boot_processes "after killing QEMU"
python3 scripts/expect_verdicts.py "$results/qemu-killed.json" "$rc" \
  "polite-control=ERROR~host fault: the scenario did not finish: vng exited with status"

echo "fault check 3: hogs itself killed with SIGKILL"
start_run "$results/sigkill" hung-guest --scenarios tests/scenarios "$@"
wait_for_hog "$results/sigkill" hog_irqsave
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
wait_no_boot_processes "after SIGKILL of hogs"
echo "fault check: ok (no process of the boot survived its harness)"
