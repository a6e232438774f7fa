//! `hogs run`: groups scenarios into boots, runs each boot and collects what the judge says of
//! it. Decides no verdict and reads no console itself: [`crate::record`] reads each boot,
//! [`crate::judge`] judges it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::guest::{Plan, Step};
use crate::guest_root::GuestRoot;
use crate::judge::{self, Unrun, Verdict};
use crate::kernel::Kernel;
use crate::live::Live;
use crate::modules::Modules;
use crate::record;
use crate::results::{BootResult, RunResult, ScenarioResult};
use crate::scenario::Scenario;
use crate::signals;
use crate::vm;

/// Time a boot may take before its first scenario starts. Boots take 8-25 s under TCG; the rest
/// is headroom for a loaded CI machine.
const BOOT_ALLOWANCE: Duration = Duration::from_secs(150);
/// Per scenario, beyond its own wait: loading, unloading (up to 30 s of retries), markers.
const STEP_ALLOWANCE: Duration = Duration::from_secs(45);

#[derive(Debug, Clone)]
pub struct Options {
    /// Extra kernel arguments for every boot (e.g. `nosoftlockup`, to check the suite goes red).
    pub append: Vec<String>,
    pub live: bool,
    /// Boots at a time.
    pub jobs: usize,
    /// Deadline for the whole run.
    pub deadline: Duration,
    pub memory: String,
    /// The VM driver (`vng`, or a stand-in for tests).
    pub vng: PathBuf,
    /// Run only shard I of N of the boots (1-based).
    pub shard: Option<(usize, usize)>,
    /// The `hogs` binary that guards each boot (`hogs boot-guard`).
    pub hogs: PathBuf,
    /// How scenarios are put into boots.
    pub grouping: Grouping,
    /// Start each boot's first hog without waiting for the kernel's boot-time work.
    pub no_settle: bool,
}

/// How scenarios are put into boots: a verdict must be the same whichever is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// Scenarios that can share a boot do, in the order given ([`group_boots`]).
    Shared,
    /// One boot per scenario (`--isolate`).
    Isolate,
    /// Random order and random boots among those that can share, from a seed (`--shuffle`).
    Shuffle(u64),
}

impl Grouping {
    /// The boots of `scenarios`.
    pub fn boots(self, scenarios: &[Scenario]) -> Vec<Vec<&Scenario>> {
        match self {
            Grouping::Shared => group_boots(scenarios),
            Grouping::Isolate => scenarios.iter().map(|s| vec![s]).collect(),
            Grouping::Shuffle(seed) => {
                let mut rng = fastrand::Rng::with_seed(seed);
                let mut order: Vec<&Scenario> = scenarios.iter().collect();
                rng.shuffle(&mut order);
                // Compatible scenarios, then each such group dealt into a random number of boots.
                let mut boots = Vec::new();
                for group in group_boots(order) {
                    let parts = rng.usize(1..=group.len());
                    let mut dealt: Vec<Vec<&Scenario>> = vec![Vec::new(); parts];
                    for s in group {
                        dealt[rng.usize(..parts)].push(s);
                    }
                    boots.extend(dealt.into_iter().filter(|b| !b.is_empty()));
                }
                boots
            }
        }
    }

    /// The seed of a shuffled run, for its results.
    pub fn seed(self) -> Option<u64> {
        match self {
            Grouping::Shuffle(seed) => Some(seed),
            _ => None,
        }
    }
}

/// Scenarios that can share a boot: same command line and vCPUs, none expected to panic.
pub fn group_boots<'a>(
    scenarios: impl IntoIterator<Item = &'a Scenario>,
) -> Vec<Vec<&'a Scenario>> {
    let mut boots: Vec<Vec<&Scenario>> = Vec::new();
    for s in scenarios {
        let shared = boots.iter_mut().find(|b| {
            let first = b[0];
            !s.panics
                && !first.panics
                && first.cpus == s.cpus
                && first.kernel_args() == s.kernel_args()
        });
        match shared {
            Some(boot) => boot.push(s),
            None => boots.push(vec![s]),
        }
    }
    boots
}

/// One kernel to run the scenarios on.
pub struct Target<'a> {
    pub kernel: &'a Kernel,
    /// The hogs built for it, or why they could not be.
    pub modules: std::result::Result<Modules, String>,
    /// Its consoles, plans and results.
    pub out_dir: PathBuf,
    /// `out_dir` relative to the run folder (`.` when the run has one kernel).
    pub dir: String,
    /// The guests' root file system; `None` boots with the host's `/`.
    pub root: Option<GuestRoot>,
    /// The `hogs` binary the guest runs (built for the kernel's architecture), as the host
    /// sees it.
    pub guest_exe: PathBuf,
}

/// Seconds a boot takes beyond its scenarios: boot to the guest step, then shutting down (TCG,
/// measured on these machines: 5-12 s to the guest step, 2 s after the last step).
const BOOT_OVERHEAD_SECS: f64 = 12.0;

/// The time a scenario is expected to take in its boot: a positive scenario ends once its
/// reports are in (about its latency bound, plus the guest's grace), a control runs its full time.
pub fn expected_secs(s: &Scenario) -> f64 {
    let ends_early = !s.expect.is_empty() && s.expect.iter().all(|r| r.preempt.is_none());
    let latest = s.windows().iter().map(|w| w.window.latest).reduce(f64::max);
    let run = match latest {
        Some(bound) if ends_early => bound + 1.0,
        _ => s.wait_secs() as f64,
    };
    run + 1.0
}

fn boot_secs(group: &[&Scenario]) -> f64 {
    BOOT_OVERHEAD_SECS + group.iter().map(|s| expected_secs(s)).sum::<f64>()
}

/// Splits shared boots that would dominate a run of `jobs` workers over `kernels` kernels: no
/// boot takes much longer than a worker's fair share, unless a single scenario does.
pub fn balance(groups: Vec<Vec<&Scenario>>, jobs: usize, kernels: usize) -> Vec<Vec<&Scenario>> {
    let total: f64 = groups.iter().map(|g| boot_secs(g)).sum::<f64>() * kernels as f64;
    let longest_single = groups
        .iter()
        .flatten()
        .map(|s| boot_secs(&[s]))
        .fold(0.0, f64::max);
    // Two boots per worker's share, so the longest-first queue packs the workers evenly; one
    // worker gains nothing from splitting.
    let share = if jobs <= 1 {
        total
    } else {
        total / (2 * jobs) as f64
    };
    let cap = share.max(longest_single);
    let mut out = Vec::new();
    for group in groups {
        let parts = ((boot_secs(&group) / cap).ceil() as usize).clamp(1, group.len());
        // `parts` boots with about the same scenario time each, in the group's order.
        let share = group.iter().map(|s| expected_secs(s)).sum::<f64>() / parts as f64;
        let n = group.len();
        let (mut chunk, mut filled, mut closed) = (Vec::new(), 0.0, 0);
        for (i, s) in group.into_iter().enumerate() {
            let boots_left = parts - closed;
            let full = filled + expected_secs(s) / 2.0 > share;
            if !chunk.is_empty() && boots_left > 1 && (full || n - i < boots_left) {
                out.push(std::mem::take(&mut chunk));
                filled = 0.0;
                closed += 1;
            }
            filled += expected_secs(s);
            chunk.push(s);
        }
        out.push(chunk);
    }
    out
}

/// A boot waiting for a worker.
struct Job<'a> {
    target: usize,
    index: usize,
    group: Vec<&'a Scenario>,
    expected: f64,
}

/// The jobs of shard `shard` (1-based) of `shards`: each job goes to the shard with the least
/// expected time so far (the jobs come longest first), so every job is in exactly one shard and
/// the shards take about as long as each other.
fn shard_of(jobs: Vec<Job<'_>>, shard: usize, shards: usize) -> Vec<Job<'_>> {
    let mut load = vec![0.0f64; shards.max(1)];
    jobs.into_iter()
        .filter(|job| {
            let (least, _) = load
                .iter()
                .enumerate()
                .fold(
                    (0, f64::INFINITY),
                    |best, (i, &l)| if l < best.1 { (i, l) } else { best },
                );
            load[least] += job.expected;
            least + 1 == shard
        })
        .collect()
}

/// What a finished job gave.
struct Done {
    target: usize,
    index: usize,
    boot: Option<BootResult>,
    results: Vec<ScenarioResult>,
}

/// Runs every scenario on every target, up to `opts.jobs` boots at a time (longest expected
/// first), and returns one result per target. Never fails: what cannot run is ERROR.
pub fn run(
    targets: &[Target],
    scenarios: &[Scenario],
    opts: &Options,
    progress: &(dyn Fn(&str) + Sync),
) -> Vec<RunResult> {
    let start = Instant::now();
    let (jobs, boots_per_target) = plan(targets.len(), scenarios, opts);
    let queue = std::sync::Mutex::new(jobs);
    let finished = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..opts.jobs.max(1) {
            scope.spawn(|| loop {
                let Some(job) = queue.lock().expect("queue lock").pop() else {
                    return;
                };
                let left = opts.deadline.saturating_sub(start.elapsed());
                let done = run_job(&job, targets, boots_per_target, left, opts, progress);
                finished.lock().expect("results lock").push(done);
            });
        }
    });
    let done = finished.into_inner().expect("results lock");
    collect(targets, done, opts, start.elapsed().as_secs_f64())
}

/// The boots of a run on `targets` kernels, the first to run last (a stack), and how many
/// boots each kernel gets.
fn plan<'s>(targets: usize, scenarios: &'s [Scenario], opts: &Options) -> (Vec<Job<'s>>, usize) {
    // Shards must agree on the boots whatever each machine's --jobs: split for N workers.
    let workers = opts.shard.map_or(opts.jobs, |(_, n)| n);
    let groups = match opts.grouping {
        Grouping::Isolate => opts.grouping.boots(scenarios),
        _ => balance(opts.grouping.boots(scenarios), workers, targets),
    };
    let mut jobs = Vec::new();
    for t in 0..targets {
        for (i, group) in groups.iter().enumerate() {
            jobs.push(Job {
                target: t,
                index: i + 1,
                group: group.clone(),
                expected: boot_secs(group),
            });
        }
    }
    // Longest first, so the last boots to start are short ones.
    jobs.sort_by(|a, b| b.expected.total_cmp(&a.expected));
    if let Some((shard, shards)) = opts.shard {
        jobs = shard_of(jobs, shard, shards);
    }
    jobs.reverse();
    (jobs, groups.len())
}

/// One job: its scenarios as they run on the target's kernel, those the kernel cannot run
/// judged without a boot, the rest booted and judged (or ERROR, TIMEOUT when they cannot be).
fn run_job(
    job: &Job,
    targets: &[Target],
    boots: usize,
    left: Duration,
    opts: &Options,
    progress: &(dyn Fn(&str) + Sync),
) -> Done {
    let target = &targets[job.target];
    let skipped = match signals::caught() {
        Some(signal) => Some(Unrun::Interrupted(signal)),
        None if left.is_zero() => Some(Unrun::DeadlinePassed),
        None => None,
    };
    let label = (targets.len() > 1).then(|| target.kernel.release.clone());
    // Each scenario as it runs on this kernel (its variants, its detector).
    let resolved: Vec<Scenario> = job
        .group
        .iter()
        .map(|s| s.on_kernel(|o| target.kernel.option(o)))
        .collect();
    let mut group = Vec::new();
    let mut skips = Vec::new();
    for s in &resolved {
        match judge::lacking(s, |o| target.kernel.option(o)) {
            Some(verdict) => skips.push(scenario_result(s, job.index, verdict, None)),
            None => group.push(s),
        }
    }
    for r in &skips {
        progress(&format_result(r, label.as_deref()));
    }
    let (boot, mut results) = match skipped {
        _ if group.is_empty() => (None, Vec::new()),
        Some(why) => (
            None,
            unrun_all(&group, job.index, &why, label.as_deref(), progress),
        ),
        None => boot_group(
            &group,
            job.index,
            target,
            boots,
            left,
            opts,
            label.as_deref(),
            progress,
        ),
    };
    results.extend(skips);
    Done {
        target: job.target,
        index: job.index,
        boot,
        results,
    }
}

/// Boots `group` on `target` and judges it; ERROR for every scenario when it cannot boot.
#[allow(clippy::too_many_arguments)] // One call site, run_job, which holds them all.
fn boot_group(
    group: &[&Scenario],
    index: usize,
    target: &Target,
    boots: usize,
    left: Duration,
    opts: &Options,
    label: Option<&str>,
    progress: &(dyn Fn(&str) + Sync),
) -> (Option<BootResult>, Vec<ScenarioResult>) {
    let modules = match &target.modules {
        Ok(modules) => modules,
        Err(e) => {
            return (
                None,
                unrun_all(group, index, &Unrun::Kernel(e.clone()), label, progress),
            )
        }
    };
    let boot = BootJob {
        kernel: target.kernel,
        modules,
        out_dir: &target.out_dir,
        group,
        index,
        boots,
        left,
        exe: &opts.hogs,
        root: target.root.as_ref(),
        guest_exe: &target.guest_exe,
        label,
    };
    match boot.run(opts, progress) {
        Ok((boot, results)) => (Some(boot), results),
        Err(e) => {
            let why = Unrun::HostFault(format!("{e:#}").replace('\n', " "));
            (None, unrun_all(group, index, &why, label, progress))
        }
    }
}

/// The verdicts of scenarios whose boot never ran, each shown as it is decided.
fn unrun_all(
    group: &[&Scenario],
    index: usize,
    why: &Unrun,
    label: Option<&str>,
    progress: &(dyn Fn(&str) + Sync),
) -> Vec<ScenarioResult> {
    let results: Vec<ScenarioResult> = group.iter().map(|s| not_run(s, index, why)).collect();
    for r in &results {
        progress(&format_result(r, label));
    }
    results
}

/// One result per target, its boots and scenarios in boot order.
fn collect(
    targets: &[Target],
    mut done: Vec<Done>,
    opts: &Options,
    wall_secs: f64,
) -> Vec<RunResult> {
    done.sort_by_key(|d| (d.target, d.index));
    targets
        .iter()
        .enumerate()
        .map(|(t, target)| {
            let mut result = RunResult {
                kernel: target.kernel.release.clone(),
                arch: target.kernel.arch.name().to_owned(),
                kernel_dir: target.kernel.dir.display().to_string(),
                append: opts.append.clone(),
                dir: target.dir.clone(),
                wall_secs,
                shard: opts.shard.map(|(i, n)| format!("{i}/{n}")),
                isolate: opts.grouping == Grouping::Isolate,
                shuffle_seed: opts.grouping.seed(),
                boots: Vec::new(),
                scenarios: Vec::new(),
            };
            for d in done.iter_mut().filter(|d| d.target == t) {
                result.boots.extend(d.boot.take());
                result.scenarios.append(&mut d.results);
            }
            result
        })
        .collect()
}

/// One boot to run: which kernel, which scenarios, where its files go.
struct BootJob<'a> {
    kernel: &'a Kernel,
    modules: &'a Modules,
    out_dir: &'a Path,
    group: &'a [&'a Scenario],
    index: usize,
    boots: usize,
    left: Duration,
    exe: &'a Path,
    root: Option<&'a GuestRoot>,
    guest_exe: &'a Path,
    /// The kernel, in progress lines, when several run at once.
    label: Option<&'a str>,
}

/// One boot as it ended, after at most one retry.
struct Attempted {
    ended: vm::Ended,
    record: record::BootRecord,
    verdicts: Vec<Verdict>,
    /// From QEMU's start to the guest step's first event (host clock).
    ready_at: Option<Duration>,
    /// The host fault of a first attempt that was run again.
    retried_after: Option<String>,
}

impl BootJob<'_> {
    /// Runs the boot and judges its scenarios.
    fn run(
        &self,
        opts: &Options,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<(BootResult, Vec<ScenarioResult>)> {
        let index = self.index;
        std::fs::create_dir_all(self.out_dir)
            .with_context(|| format!("cannot create {}", self.out_dir.display()))?;
        let names: Vec<String> = self.group.iter().map(|s| s.name.clone()).collect();
        let boot = self.prepare(opts)?;
        progress(&format!(
            "boot {index}/{}{}: {} ({} vCPUs, {})",
            self.boots,
            self.on(),
            names.join(", "),
            boot.cpus,
            boot.kernel_args.join(" ")
        ));
        let console_log = self.out_dir.join(format!("boot-{index}.console.log"));
        let Attempted {
            ended,
            record,
            verdicts,
            ready_at,
            retried_after,
        } = self.attempt(&boot, &console_log, opts, progress)?;
        let results = self
            .group
            .iter()
            .zip(verdicts)
            .map(|(scenario, verdict)| {
                let r = scenario_result(scenario, index, verdict, Some(&record));
                progress(&format_result(&r, self.label));
                r
            })
            .collect();
        let boot = BootResult {
            index,
            scenarios: names,
            cpus: boot.cpus,
            cmdline: boot.kernel_args,
            boot_secs: ready_at.map(|d| d.as_secs_f64()),
            wall_secs: ended.wall.as_secs_f64(),
            exit: ended.exit.to_string(),
            timed_out: ended.timed_out,
            survivors: ended.survivors,
            preempt: record.preempt,
            console_log: format!("boot-{index}.console.log"),
            retried_after,
            settle_secs: record.settled().map(|(secs, _)| secs),
            settled_after: record
                .settled()
                .map(|(_, waited_for)| waited_for.to_vec())
                .unwrap_or_default(),
        };
        Ok((boot, results))
    }

    /// ` on 7.3.4` in progress lines when several kernels run at once.
    fn on(&self) -> String {
        self.label.map_or(String::new(), |k| format!(" on {k}"))
    }

    /// The guest's plan, one step per scenario, with host paths.
    fn steps(&self) -> Result<Vec<Step>> {
        self.group
            .iter()
            .map(|s| {
                Ok(Step {
                    scenario: s.name.clone(),
                    module: self.modules.path(&s.module)?,
                    params: s.param_string(),
                    wait_secs: s.wait_secs(),
                    expect: s.expect.clone(),
                    whole_time: s.whole_time,
                    writes: s
                        .set
                        .iter()
                        .map(|w| crate::guest::Write {
                            label: w.label(),
                            name: w.name(),
                            path: w.target().into(),
                            value: w.value.clone(),
                            at: w.at,
                        })
                        .collect(),
                    hog_cpus: s.hog_cpus(),
                })
            })
            .collect()
    }

    /// The boot's VM, its deadline its own steps' time (within the run's), and its plan
    /// written where the guest reads it.
    fn prepare<'o>(&'o self, opts: &'o Options) -> Result<vm::Boot<'o>> {
        let steps = self.steps()?;
        let own_deadline = BOOT_ALLOWANCE
            + steps
                .iter()
                .map(|s| Duration::from_secs(s.wait_secs) + STEP_ALLOWANCE)
                .sum::<Duration>();
        let plan_path = self.out_dir.join(format!("boot-{}.plan.json", self.index));
        let first = self.group[0];
        let mut kernel_args = first.kernel_args();
        kernel_args.extend(vm::platform_args(self.kernel.arch));
        kernel_args.extend(opts.append.iter().cloned());
        let mut boot = vm::Boot {
            vng: &opts.vng,
            hogs: self.exe,
            kernel_dir: &self.kernel.dir,
            cpus: first.cpus,
            memory: &opts.memory,
            kernel_args,
            arch: self.kernel.arch,
            root: self.root,
            exec: String::new(),
            deadline: own_deadline.min(self.left),
        };
        boot.exec = format!(
            "{} guest --plan {}",
            shell_quote(&boot.in_guest(self.guest_exe)),
            shell_quote(&boot.in_guest(&plan_path))
        );
        let steps = steps
            .into_iter()
            .map(|step| Step {
                module: boot.in_guest(&step.module),
                ..step
            })
            .collect();
        let plan = Plan {
            steps,
            no_settle: opts.no_settle,
        };
        std::fs::write(&plan_path, serde_json::to_vec_pretty(&plan)?)?;
        Ok(boot)
    }

    /// Sets the first attempt's console aside before the retry; returns the host fault.
    fn keep_first_attempt(
        &self,
        verdicts: &[Verdict],
        console_log: &Path,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<String> {
        let fault = verdicts
            .iter()
            .find_map(|v| v.host_fault.as_ref())
            .map(|(_, reason)| reason.clone())
            .unwrap_or_default();
        let first = self
            .out_dir
            .join(format!("boot-{}.attempt-1.console.log", self.index));
        std::fs::rename(console_log, &first)
            .with_context(|| format!("cannot keep {}", console_log.display()))?;
        progress(&format!(
            "boot {}/{}{}: retrying once (first console: {}): {}",
            self.index,
            self.boots,
            self.on(),
            first.display(),
            clip(&fault, 200)
        ));
        Ok(fault)
    }

    /// Boots, judges, and boots once more when the first attempt's only problem was the host.
    /// QEMU itself sometimes dies on these hosts (a segfault in host dmesg), and a 7.3 guest
    /// sometimes sticks in early boot under heavy load: such a boot says nothing about the
    /// watchdogs, so it runs once more, with the first console kept. A FAIL or TIMEOUT is never
    /// retried, and neither is a boot that left processes.
    fn attempt(
        &self,
        boot: &vm::Boot,
        console_log: &Path,
        opts: &Options,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<Attempted> {
        let started = Instant::now();
        let mut retried_after = None;
        loop {
            let boot_start = Instant::now();
            let mut ready_at = None;
            let mut live = opts.live.then(Live::new);
            let ended = boot.run(console_log, signals::caught, |stream, line| {
                if ready_at.is_none() && line.contains(crate::protocol::TAG) {
                    ready_at = Some(boot_start.elapsed());
                }
                if let Some(live) = live.as_mut() {
                    live.line(stream, line);
                }
            })?;
            if let Some(live) = live.as_mut() {
                live.finish();
            }
            let record = record::of_boot(&ended);
            let verdicts = judge::judge_boot(self.group, &record);
            let time_left = self.left.saturating_sub(started.elapsed()) >= boot.deadline;
            if retried_after.is_some()
                || !judge::worth_retrying(&verdicts)
                || !ended.survivors.is_empty()
                || !time_left
                || signals::caught().is_some()
            {
                return Ok(Attempted {
                    ended,
                    record,
                    verdicts,
                    ready_at,
                    retried_after,
                });
            }
            retried_after = Some(self.keep_first_attempt(&verdicts, console_log, progress)?);
        }
    }
}

fn scenario_result(
    s: &Scenario,
    boot: usize,
    v: Verdict,
    record: Option<&record::BootRecord>,
) -> ScenarioResult {
    let excerpt = match (record, v.window) {
        (Some(record), Some((first, last))) => record.excerpt(first, last, &v.reports),
        _ => String::new(),
    };
    ScenarioResult {
        name: s.name.clone(),
        summary: s.summary.clone(),
        boot,
        outcome: v.outcome,
        reasons: v.reasons,
        expectations: v.expectations,
        latency_secs: v.latency_secs,
        latency_earliest_secs: v.latency_window.map(|w| w.earliest),
        latency_bound_secs: v.latency_window.map(|w| w.latest),
        duration_secs: v.duration_secs,
        timer_lag_secs: record.and_then(|r| r.timer_lag(&s.name)),
        preempt: record.and_then(|r| r.preempt),
        reports: v.reports,
        excerpt,
    }
}

/// A scenario whose boot never ran.
pub fn not_run(s: &Scenario, boot: usize, why: &Unrun) -> ScenarioResult {
    scenario_result(s, boot, judge::unrun(why), None)
}

/// One line per result for the progress display (with the kernel when several run at once).
pub fn format_result(r: &ScenarioResult, kernel: Option<&str>) -> String {
    let latency = match (r.latency_secs, r.latency_bound_secs) {
        (Some(l), Some(b)) => format!(" (detected after {l:.1} s, bound {b:.1} s)"),
        _ => String::new(),
    };
    let on = kernel.map_or(String::new(), |k| format!(" [{k}]"));
    let mut s = format!("{:<7} {}{on}{latency}", r.outcome.to_string(), r.name);
    for reason in &r.reasons {
        s += &format!("\n        - {reason}");
    }
    s
}

/// `s` cut to at most `max` characters.
fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}...", &s[..at]),
        None => s.to_owned(),
    }
}

fn shell_quote(p: &Path) -> String {
    let s = p.to_string_lossy();
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+=:".contains(c))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(name: &str, cmdline: &str, panics: bool) -> Scenario {
        let extra = if panics {
            "panics = true\n[[expect]]\nkind = \"soft_lockup\"\npanic = true\n"
        } else {
            ""
        };
        let text = format!(
            "summary = \"s\"\ndescription = \"d\"\nmodule = \"hog_busy\"\ncmdline = [\"watchdog_thresh=2\", \"{cmdline}\"]\n{extra}"
        );
        Scenario::parse(Path::new(&format!("{name}.toml")), &text).unwrap()
    }

    #[test]
    fn boots_are_shared_only_when_compatible() {
        let all = [
            scenario("a", "x=1", false),
            scenario("b", "x=2", false),
            scenario("c", "x=1", false),
            scenario("p", "x=1", true),
            scenario("q", "x=1", true),
        ];
        let names: Vec<Vec<&str>> = group_boots(&all)
            .iter()
            .map(|b| b.iter().map(|s| s.name.as_str()).collect())
            .collect();
        assert_eq!(names, [vec!["a", "c"], vec!["b"], vec!["p"], vec!["q"]]);
    }

    #[test]
    fn isolated_and_shuffled_boots_hold_every_scenario_once() {
        let all = [
            scenario("a", "x=1", false),
            scenario("b", "x=2", false),
            scenario("c", "x=1", false),
            scenario("d", "x=1", false),
            scenario("p", "x=1", true),
            scenario("e", "x=1", false),
        ];
        let names = |g: Grouping| -> Vec<Vec<String>> {
            g.boots(&all)
                .iter()
                .map(|b| b.iter().map(|s| s.name.clone()).collect())
                .collect()
        };
        assert_eq!(
            names(Grouping::Isolate),
            [["a"], ["b"], ["c"], ["d"], ["p"], ["e"]]
        );
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v
        };
        let mut orders = std::collections::BTreeSet::new();
        for seed in 0..20 {
            let boots = names(Grouping::Shuffle(seed));
            // The same seed, the same boots.
            assert_eq!(boots, names(Grouping::Shuffle(seed)));
            assert_eq!(
                sorted(boots.concat()),
                ["a", "b", "c", "d", "e", "p"],
                "seed {seed}: {boots:?}"
            );
            for boot in &boots {
                // Only scenarios that can share a boot do; a panic has one of its own.
                let args: Vec<_> = boot
                    .iter()
                    .map(|n| all.iter().find(|s| &s.name == n).unwrap().kernel_args())
                    .collect();
                assert!(args.windows(2).all(|w| w[0] == w[1]), "{boots:?}");
                assert!(
                    boot.len() == 1 || !boot.contains(&"p".to_owned()),
                    "{boots:?}"
                );
            }
            orders.insert(boots);
        }
        // Different seeds give different groupings and orders.
        assert!(orders.len() > 10, "{orders:?}");
    }

    #[test]
    fn balance_splits_only_boots_that_would_dominate() {
        let all: Vec<Scenario> = (0..6)
            .map(|i| scenario(&format!("s{i}"), "x=1", false))
            .collect();
        let groups = || group_boots(&all);
        let sizes = |g: Vec<Vec<&Scenario>>| g.iter().map(Vec::len).collect::<Vec<_>>();
        // One worker: sharing a boot is cheapest, nothing is split.
        assert_eq!(sizes(balance(groups(), 1, 1)), [6]);
        // Two workers: four boots, about a quarter of the work each, none shorter than a boot
        // of one scenario.
        assert_eq!(sizes(balance(groups(), 2, 1)), [2, 2, 1, 1]);
        // Two kernels share two workers: each kernel's boot is split in two.
        assert_eq!(sizes(balance(groups(), 2, 2)), [3, 3]);
        // Every scenario is in exactly one boot, in order.
        let names: Vec<&str> = balance(groups(), 4, 1)
            .into_iter()
            .flatten()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(names, ["s0", "s1", "s2", "s3", "s4", "s5"]);
    }
}
