#!/usr/bin/env bash
# The project's test command (README, .ci/run): lint, unit and golden tests, the hog modules'
# warning-free and clippy builds, a boot check, the full VM suite on the default kernel with real
# boots, and the checks that the suite goes red when the watchdog is broken. Stops at the first
# failure.
set -euo pipefail
cd "$(dirname "$0")/.."
results=${HOGS_RESULTS:-target/hogs-test}
mkdir -p "$results"

t0=$SECONDS
phase_start=$SECONDS
phase() {
  printf '\n==> [%4ds] %s (previous phase: %ds)\n' $((SECONDS - t0)) "$*" $((SECONDS - phase_start))
  phase_start=$SECONDS
}

phase "set-up (Debian packages, bindgen-cli, virtme-ng)"
bash scripts/setup.sh --test

phase "cargo fmt --check"
cargo fmt --check

phase "cargo clippy --all-targets -- -D warnings"
cargo clippy --quiet --all-targets -- -D warnings

phase "cargo test (unit and golden tests)"
cargo test --quiet

# Linux 6.12 (the default), 7.3, and two flavours of 6.12: debug (lockdep) and voluntary
# (PREEMPT_VOLUNTARY fixed at build time); and 6.12 on arm64 (emulated) with each hard lockup
# detector: perf (a PMU NMI, the real nmi_watchdog=1 path) and buddy.
kernels=(6.12 7.3 6.12-debug 6.12-voluntary arm64/6.12 arm64/6.12-buddy)

phase "kernels (cached builds of ${kernels[*]})"
cargo build --release --quiet -p hogs-harness
hogs=target/release/hogs
for k in "${kernels[@]}"; do
  $hogs kernel --kernel $k
done

phase "hog modules: warning-free build, then CLIPPY=1, on every kernel"
for k in "${kernels[@]}"; do
  $hogs build --kernel $k
  $hogs build --kernel $k --clippy
done

phase "boot check (virtme-ng, TCG): lockup, RCU stall, hung task and workqueue detectors active, every kernel"
for k in "${kernels[@]}"; do
  $hogs boot-check --kernel $k
done

phase "suite: every scenario on every kernel in one run, real boots"
rm -rf "$results/suite"
$hogs run $(printf -- '--kernel %s ' "${kernels[@]}") --out "$results/suite" --ktap --junit "$results/junit.xml" \
  --json "$results/results.json" --kcidb "$results/kcidb.json" | tee "$results/suite.ktap"

phase "outputs: KTAP by kunit.py parse, JSON by the schema, KCIDB by kcidb-io, JUnit by junitparser"
kunit=${HOGS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hogs}/src/linux-source-6.12/tools/testing/kunit/kunit.py
python3 scripts/validate_outputs.py --results "$results/results.json" --kcidb "$results/kcidb.json" \
  --junit "$results/junit.xml" --ktap "$results/suite.ktap" --kunit "$kunit"

phase "hogs report: the suite's page opens in headless Chromium with a cell and a section per verdict"
$hogs report "$results/results.json" -o "$results/report.html"
browser() {
  # Flags as this machine needs them: no sandbox as root, no network calls at start-up.
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$(mktemp -d)" "$@" 2>/dev/null
}
page=$(realpath "$results/report.html")
browser --dump-dom "file://$page" >"$results/report.dom.html"
browser --window-size=1400,1000 --screenshot="$(dirname "$page")/report.png" "file://$page" >/dev/null
python3 - "$results/results.json" "$results/report.dom.html" "$results/report.png" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))["runs"]
dom = open(sys.argv[2]).read()
cells = sum(len(r["scenarios"]) for r in runs)
problems = []
if dom.count("<section id=") != cells:
    problems.append(f"{dom.count('<section id=')} sections in the page Chromium loaded, {cells} verdicts")
if dom.count('<td class="') != cells:
    problems.append(f"{dom.count('<td class=')} matrix cells, {cells} verdicts")
png = open(sys.argv[3], "rb").read()
if not png.startswith(b"\x89PNG") or len(png) < 10000:
    problems.append(f"no screenshot ({len(png)} bytes)")
for p in problems:
    print(f"report: {p}", file=sys.stderr)
sys.exit(1 if problems else 0)
PY

phase "isolated: every scenario in a boot of its own on 6.12 gives the verdict it got in the suite"
rm -rf "$results/isolated"
$hogs run --isolate --out "$results/isolated" --json "$results/isolated.json"
$hogs compare "$results"/suite/k1-6.12.*/results.json "$results/isolated.json"

phase "compare: 6.12 and 7.3 side by side (every verdict the same)"
$hogs compare "$results"/suite/k1-*/results.json "$results"/suite/k2-*/results.json

phase "shards: --shard 1/2 and 2/2 merged give the verdicts of the unsplit run"
few=(bare-metal-refusal polite-control busy-loop-preempt-full nopreempt-loop-preempt-full)
for i in 1 2; do
  rm -rf "$results/shard$i"
  $hogs run "${few[@]}" --shard $i/2 --out "$results/shard$i" --json "$results/shard$i.json"
done
python3 -c 'import json, sys
boots = [{b["index"] for r in json.load(open(f))["runs"] for b in r["boots"]} for f in sys.argv[1:]]
assert all(boots) and not boots[0] & boots[1], f"shards must split the boots: {boots}"
print(f"shards: boots {sorted(boots[0])} and {sorted(boots[1])}")' "$results/shard1.json" "$results/shard2.json"
$hogs merge "$results/shard1.json" "$results/shard2.json" --json "$results/merged.json" \
  --kcidb "$results/merged.kcidb.json" --junit "$results/merged.xml"
python3 scripts/validate_outputs.py --results "$results/merged.json" --kcidb "$results/merged.kcidb.json" \
  --junit "$results/merged.xml"
$hogs compare "$results"/suite/k1-6.12.*/results.json "$results/merged.json" \
  $(printf -- '--only %s ' "${few[@]}")

phase "red check: nosoftlockup must fail exactly the scenarios that expect soft lockups"
set +e
$hogs run busy-loop nopreempt-loop polite-control irqsave-loop --append nosoftlockup \
  --json "$results/nosoftlockup.json"
rc=$?
set -e
python3 scripts/expect_verdicts.py "$results/nosoftlockup.json" "$rc" \
  busy-loop=FAIL nopreempt-loop=FAIL polite-control=PASS irqsave-loop=PASS

phase "compare: the broken watchdog shows up as exactly the changed verdicts"
set +e
$hogs compare "$results"/suite/k1-6.12.*/results.json "$results/nosoftlockup.json" \
  --only busy-loop --only nopreempt-loop --only polite-control --only irqsave-loop | tee "$results/compare.txt"
rc=${PIPESTATUS[0]}
set -e
[ "$rc" = 1 ] || { echo "compare exited $rc, expected 1 (verdicts changed)" >&2; exit 1; }
for changed in busy-loop nopreempt-loop; do
  grep -Eq "^$changed +.*verdict PASS -> FAIL$" "$results/compare.txt" ||
    { echo "compare does not show $changed going from PASS to FAIL" >&2; exit 1; }
done
grep -q "^2 scenario(s) changed verdict" "$results/compare.txt" ||
  { echo "compare flags other verdict changes than busy-loop and nopreempt-loop" >&2; exit 1; }

phase "red check: nmi_watchdog=0 must fail the hard lockup scenario"
set +e
$hogs run irqsave-loop nopreempt-loop --append nmi_watchdog=0 --json "$results/nmi_watchdog0.json"
rc=$?
set -e
python3 scripts/expect_verdicts.py "$results/nmi_watchdog0.json" "$rc" irqsave-loop=FAIL nopreempt-loop=PASS

phase "red check: arm64 perf: nmi_watchdog=0 must fail the hard lockup scenario; pseudo-NMIs on must fail perf-without-pseudo-nmi"
set +e
$hogs run --kernel arm64/6.12 irqsave-loop nopreempt-loop --append nmi_watchdog=0 \
  --json "$results/arm64-nmi_watchdog0.json"
rc=$?
set -e
python3 scripts/expect_verdicts.py "$results/arm64-nmi_watchdog0.json" "$rc" irqsave-loop=FAIL nopreempt-loop=PASS
set +e
$hogs run --kernel arm64/6.12 perf-without-pseudo-nmi --append irqchip.gicv3_pseudo_nmi=1 \
  --json "$results/arm64-pseudo-nmi.json"
rc=$?
set -e
python3 scripts/expect_verdicts.py "$results/arm64-pseudo-nmi.json" "$rc" \
  "perf-without-pseudo-nmi=FAIL~the console shows /NMI watchdog: Enabled/"

phase "red check: RCU stall warnings, hung task reports and the workqueue watchdog switched off must fail their scenarios"
set +e
$hogs run rcu-stall-reader hung-task-mutex workqueue-lockup \
  --append rcupdate.rcu_cpu_stall_suppress=1 --append sysctl.kernel.hung_task_warnings=0 \
  --append workqueue.watchdog_thresh=0 --json "$results/detectors-off.json"
rc=$?
set -e
python3 scripts/expect_verdicts.py "$results/detectors-off.json" "$rc" \
  "rcu-stall-reader=FAIL~expected rcu_stall by hog_rcu, got none" \
  "hung-task-mutex=FAIL~expected hung_task by hog_waiter naming /^hog_hung::/, got none" \
  "workqueue-lockup=FAIL~expected workqueue_lockup on CPU 1 naming /^hog_wq::stall_work$/, got none"

phase "red check: a soft threshold smaller than the scenario declares must fail the window rule"
set +e
$hogs --scenarios tests/scenarios run early-window --append watchdog_thresh=1 --json "$results/early.json"
rc=$?
set -e
python3 scripts/expect_verdicts.py "$results/early.json" "$rc" "early-window=FAIL~fired too early"

phase "red check: a parameter the hog does not declare is a one-line input error before any boot"
set +e
misspelt=$($hogs --scenarios tests/scenarios run misspelt-param 2>&1)
rc=$?
set -e
[ "$rc" = 2 ] &&
  tail -1 <<<"$misspelt" | grep -q "^hogs: error: .*misspelt-param.toml: params.second is not a parameter of hog_polite" ||
  { echo "misspelt-param: expected exit 2 and an error naming params.second, got $rc: $misspelt" >&2; exit 1; }

phase "bisect step: 129 stops a bisect on a mistake, 125 skips a tree that does not build or cannot be used"
notree=$(mktemp -d)
for expected in "129:" "129:/nonexistent/linux busy-loop" "125:$notree busy-loop"; do
  set +e
  bash scripts/bisect.sh ${expected#*:} 2>/dev/null
  rc=$?
  set -e
  [ "$rc" = "${expected%%:*}" ] || { echo "scripts/bisect.sh ${expected#*:}: exit $rc, expected ${expected%%:*}" >&2; exit 1; }
done
set +e
$hogs run --bisect --kdir "$notree" busy-loop 2>/dev/null
rc=$?
set -e
rm -rf "$notree"
[ "$rc" = 125 ] || { echo "hogs run --bisect on a tree that is not built: exit $rc, expected 125" >&2; exit 1; }

phase "red check: watchdog bugs built into 6.12 (tests/kernel-bugs) must fail exactly their scenarios"
buddy=$(bash scripts/build-kernel.sh --quiet --patch tests/kernel-bugs/buddy-offline-drops-neighbour.patch 6.12)
set +e
$hogs run --kdir "$buddy" hotplug-watched-next hotplug-watched-cpu1 hotplug-buddy --json "$results/bug-buddy.json"
rc=$?
set -e
python3 scripts/expect_verdicts.py "$results/bug-buddy.json" "$rc" \
  "hotplug-watched-next=FAIL~expected hard_lockup on CPU 3" hotplug-watched-cpu1=PASS hotplug-buddy=PASS
thresh=$(bash scripts/build-kernel.sh --quiet --patch tests/kernel-bugs/thresh-runtime-ignored.patch 6.12)
set +e
$hogs run --kdir "$thresh" watchdog-thresh-raise-soft watchdog-thresh-lower-soft watchdog-thresh-raise-hard \
  watchdog-thresh-lower-hard watchdog-thresh-boot --json "$results/bug-thresh.json"
rc=$?
set -e
python3 scripts/expect_verdicts.py "$results/bug-thresh.json" "$rc" watchdog-thresh-raise-soft=FAIL \
  watchdog-thresh-lower-soft=FAIL watchdog-thresh-raise-hard=FAIL watchdog-thresh-lower-hard=FAIL \
  watchdog-thresh-boot=PASS
late=$(bash scripts/build-kernel.sh --quiet --patch tests/kernel-bugs/softlockup-twice-late.patch 6.12)
set +e
$hogs run --kdir "$late" nopreempt-loop polite-control --json "$results/bug-late.json"
rc=$?
set -e
python3 scripts/expect_verdicts.py "$results/bug-late.json" "$rc" "nopreempt-loop=FAIL~fired late" polite-control=PASS
warnings=$(bash scripts/build-kernel.sh --quiet --patch tests/kernel-bugs/hung-task-warnings-ignored.patch 6.12)
set +e
$hogs run --kdir "$warnings" hung-task-warnings-limit hung-task-mutex --json "$results/bug-warnings.json"
rc=$?
set -e
python3 scripts/expect_verdicts.py "$results/bug-warnings.json" "$rc" \
  "hung-task-warnings-limit=FAIL~expected at most 1 of hung_task" hung-task-mutex=PASS

phase "red check: a soft lockup not counted in /sys/kernel/softlockup_count (7.3) must fail"
missed=$(bash scripts/build-kernel.sh --quiet --patch tests/kernel-bugs/softlockup-count-missed.patch 7.3)
set +e
$hogs run --kdir "$missed" nopreempt-loop polite-control --json "$results/bug-count.json"
rc=$?
set -e
python3 scripts/expect_verdicts.py "$results/bug-count.json" "$rc" \
  "nopreempt-loop=FAIL~/sys/kernel/softlockup_count rose by 0 while" polite-control=PASS

phase "bisect step on real kernels: the late soft lockup detector is bad (1), the clean 6.12 good (0)"
for expected in "1:--kdir $late" "0:--kernel 6.12"; do
  set +e
  $hogs run --bisect ${expected#*:} nopreempt-loop --out "$results/bisect-${expected%%:*}" >/dev/null 2>&1
  rc=$?
  set -e
  [ "$rc" = "${expected%%:*}" ] || { echo "hogs run --bisect ${expected#*:} nopreempt-loop: exit $rc, expected ${expected%%:*}" >&2; exit 1; }
done

phase "red check: a control during which the kernel prints a WARNING must fail naming it"
set +e
$hogs --scenarios tests/scenarios run warning-control secs-beyond-limit --json "$results/warning.json"
rc=$?
set -e
python3 scripts/expect_verdicts.py "$results/warning.json" "$rc" \
  "warning-control=FAIL~unexpected warning on CPU 1 [hog_polite] in __flush_work" \
  secs-beyond-limit=PASS

phase "fault checks: SIGINT, QEMU killed, hogs killed, each during a real boot"
bash scripts/fault-checks.sh "$results"

phase "hang check: a guest with its only CPU locked for good ends in TIMEOUT, no QEMU left"
set +e
$hogs --scenarios tests/scenarios run hung-guest --timeout 75 --json "$results/hung.json"
rc=$?
set -e
python3 scripts/expect_verdicts.py "$results/hung.json" "$rc" "hung-guest=TIMEOUT~the boot's deadline passed"

phase "done"
echo "all test phases passed in $((SECONDS - t0)) s"
