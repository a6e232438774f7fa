//! `hogs run`: groups scenarios into boots, runs each boot, cuts its console into scenario
//! windows at the guest's markers and judges each window. Knows nothing of regexes: the console
//! is read only through [`crate::report`].

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::guest::{mark, Plan, Step};
use crate::judge::{self, Outcome, Verdict};
use crate::kernel::Kernel;
use crate::modules::Modules;
use crate::report::{self, Report};
use crate::scenario::{Preempt, Scenario};
use crate::vm::{self, Stream};

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
    pub out_dir: PathBuf,
    /// Deadline for the whole run.
    pub deadline: Duration,
    pub memory: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BootResult {
    pub index: usize,
    pub scenarios: Vec<String>,
    pub cpus: u32,
    pub cmdline: Vec<String>,
    /// Seconds from starting vng to the guest step starting (host clock).
    pub boot_secs: Option<f64>,
    pub wall_secs: f64,
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    /// Processes of the boot still alive after it was killed (must be empty).
    pub survivors: Vec<u32>,
    pub preempt: Option<Preempt>,
    pub console_log: PathBuf,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    pub name: String,
    pub summary: String,
    pub boot: usize,
    pub outcome: Outcome,
    pub reasons: Vec<String>,
    /// The expectations that applied, given the preemption model seen.
    pub expectations: Vec<String>,
    /// Seconds from the hog starting to the first expected report (kernel clock).
    pub latency_secs: Option<f64>,
    /// The detector's theoretical worst case for this scenario's watchdog_thresh.
    pub latency_bound_secs: Option<f64>,
    pub preempt: Option<Preempt>,
    pub reports: Vec<Report>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub kernel: String,
    pub kernel_dir: PathBuf,
    pub append: Vec<String>,
    pub out_dir: PathBuf,
    pub wall_secs: f64,
    pub boots: Vec<BootResult>,
    pub scenarios: Vec<ScenarioResult>,
}

impl RunResult {
    pub fn passed(&self) -> bool {
        !self.scenarios.is_empty() && self.scenarios.iter().all(|s| s.outcome == Outcome::Pass)
    }
}

/// Scenarios that can share a boot: same command line and vCPUs, none expected to panic.
pub fn group_boots(scenarios: &[Scenario]) -> Vec<Vec<&Scenario>> {
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

pub fn run(
    kernel: &Kernel,
    modules: &Modules,
    scenarios: &[Scenario],
    opts: &Options,
    mut progress: impl FnMut(&str),
) -> Result<RunResult> {
    std::fs::create_dir_all(&opts.out_dir)
        .with_context(|| format!("cannot create {}", opts.out_dir.display()))?;
    let exe = std::env::current_exe().context("cannot find the hogs binary")?;
    let start = Instant::now();
    let groups = group_boots(scenarios);
    let mut result = RunResult {
        kernel: kernel.release.clone(),
        kernel_dir: kernel.dir.clone(),
        append: opts.append.clone(),
        out_dir: opts.out_dir.clone(),
        wall_secs: 0.0,
        boots: Vec::new(),
        scenarios: Vec::new(),
    };

    for (index, group) in groups.iter().enumerate() {
        let index = index + 1;
        let names: Vec<String> = group.iter().map(|s| s.name.clone()).collect();
        let left = opts.deadline.saturating_sub(start.elapsed());
        if left.is_zero() {
            for s in group {
                result.scenarios.push(not_run(
                    s,
                    index,
                    Outcome::Timeout,
                    "the run's deadline passed before this boot",
                ));
            }
            continue;
        }
        let steps = group
            .iter()
            .map(|s| {
                Ok(Step {
                    scenario: s.name.clone(),
                    module: modules.path(&s.module)?,
                    params: s.param_string(),
                    wait_secs: s.wait_secs(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let own_deadline = BOOT_ALLOWANCE
            + steps
                .iter()
                .map(|s| Duration::from_secs(s.wait_secs) + STEP_ALLOWANCE)
                .sum::<Duration>();
        let plan_path = opts.out_dir.join(format!("boot-{index}.plan.json"));
        std::fs::write(&plan_path, serde_json::to_vec_pretty(&Plan { steps })?)?;
        let mut kernel_args = group[0].kernel_args();
        kernel_args.extend(opts.append.iter().cloned());
        let boot = vm::Boot {
            kernel_dir: &kernel.dir,
            cpus: group[0].cpus,
            memory: &opts.memory,
            kernel_args: kernel_args.clone(),
            exec: format!(
                "{} guest --plan {}",
                shell_quote(&exe),
                shell_quote(&plan_path)
            ),
            deadline: own_deadline.min(left),
        };
        progress(&format!(
            "boot {index}/{}: {} ({} vCPUs, {})",
            groups.len(),
            names.join(", "),
            boot.cpus,
            kernel_args.join(" ")
        ));
        let console_log = opts.out_dir.join(format!("boot-{index}.console.log"));
        let boot_start = Instant::now();
        let mut ready_at = None;
        let mut live = opts.live.then(Live::new);
        let ended = boot.run(&console_log, |stream, line| {
            if stream == Stream::Console && ready_at.is_none() && line.contains(mark::READY) {
                ready_at = Some(boot_start.elapsed());
            }
            if let Some(live) = live.as_mut() {
                live.line(stream, line);
            }
        })?;
        if let Some(live) = live.as_mut() {
            live.finish();
        }
        let console = ended.console.clone();
        let analysis = analyze(&console, group);
        let mut verdicts = analysis.verdicts(group, &ended);
        if !ended.survivors.is_empty() {
            for v in &mut verdicts {
                v.outcome = Outcome::Error;
                v.reasons.push(format!(
                    "processes of the boot survived the kill: {:?}",
                    ended.survivors
                ));
            }
        }
        for (scenario, verdict) in group.iter().zip(verdicts) {
            let window = analysis.window_reports(&scenario.name);
            let latency = analysis.latency(scenario);
            let r = ScenarioResult {
                name: scenario.name.clone(),
                summary: scenario.summary.clone(),
                boot: index,
                outcome: verdict.outcome,
                reasons: verdict.reasons,
                expectations: verdict.expectations,
                latency_secs: latency,
                latency_bound_secs: scenario.latency_bound(),
                preempt: analysis.preempt,
                reports: window,
            };
            progress(&format_result(&r));
            result.scenarios.push(r);
        }
        result.boots.push(BootResult {
            index,
            scenarios: names,
            cpus: boot.cpus,
            cmdline: kernel_args,
            boot_secs: ready_at.map(|d| d.as_secs_f64()),
            wall_secs: ended.wall.as_secs_f64(),
            exit_code: ended.exit_code,
            timed_out: ended.timed_out,
            survivors: ended.survivors.clone(),
            preempt: analysis.preempt,
            console_log,
        });
    }
    result.wall_secs = start.elapsed().as_secs_f64();
    Ok(result)
}

fn not_run(s: &Scenario, boot: usize, outcome: Outcome, why: &str) -> ScenarioResult {
    ScenarioResult {
        name: s.name.clone(),
        summary: s.summary.clone(),
        boot,
        outcome,
        reasons: vec![why.to_owned()],
        expectations: Vec::new(),
        latency_secs: None,
        latency_bound_secs: s.latency_bound(),
        preempt: None,
        reports: Vec::new(),
    }
}

/// One line per result for the progress display.
pub fn format_result(r: &ScenarioResult) -> String {
    let latency = match (r.latency_secs, r.latency_bound_secs) {
        (Some(l), Some(b)) => format!(" (detected after {l:.1} s, bound {b:.1} s)"),
        _ => String::new(),
    };
    let mut s = format!(
        "{:<7} {}{latency}",
        format!("{:?}", r.outcome).to_uppercase(),
        r.name
    );
    for reason in &r.reasons {
        s += &format!("\n        - {reason}");
    }
    s
}

/// Where the markers and the reports of one boot's console are.
#[derive(Debug, Default)]
struct Analysis {
    ready: bool,
    preempt: Option<Preempt>,
    /// Per scenario of the boot, in order: (begin line, end status) when seen.
    begins: Vec<(String, usize, Option<f64>)>,
    ends: Vec<(String, String)>,
    hogging: Vec<(usize, Option<f64>)>,
    reports: Vec<Report>,
    tail: Vec<String>,
}

fn analyze(console: &[u8], group: &[&Scenario]) -> Analysis {
    let mut a = Analysis {
        reports: report::parse(console),
        ..Default::default()
    };
    let mut tail = std::collections::VecDeque::new();
    for line in report::lines(console) {
        let text = line.text.as_ref();
        if let Some(rest) = text.strip_prefix(mark::READY) {
            a.ready = true;
            a.preempt = rest
                .trim()
                .strip_prefix("preempt=")
                .and_then(Preempt::parse);
        } else if let Some(rest) = text.strip_prefix(mark::BEGIN) {
            let name = rest.split_whitespace().next().unwrap_or_default();
            if group.iter().any(|s| s.name == name) {
                a.begins.push((name.to_owned(), line.number, line.time));
            }
        } else if let Some(rest) = text.strip_prefix(mark::END) {
            let (name, status) = rest.split_once(' ').unwrap_or((rest, ""));
            a.ends.push((name.to_owned(), status.to_owned()));
        } else if text.contains(mark::HOGGING) {
            a.hogging.push((line.number, line.time));
        }
        tail.push_back(text.to_owned());
        if tail.len() > 8 {
            tail.pop_front();
        }
    }
    // For kernels without debugfs' sched/preempt, what the console says.
    a.preempt = a.preempt.or_else(|| {
        report::preemption_model(console)
            .as_deref()
            .and_then(Preempt::parse)
    });
    a.tail = tail.into();
    a
}

impl Analysis {
    /// The console lines of a scenario: from its begin marker to the next one.
    fn window(&self, name: &str) -> Option<(usize, usize)> {
        let i = self.begins.iter().position(|(n, _, _)| n == name)?;
        let start = self.begins[i].1;
        let end = self.begins.get(i + 1).map_or(usize::MAX, |b| b.1);
        Some((start, end))
    }

    fn window_reports(&self, name: &str) -> Vec<Report> {
        match self.window(name) {
            Some((start, end)) => self
                .reports
                .iter()
                .filter(|r| r.line > start && r.line < end)
                .cloned()
                .collect(),
            None => Vec::new(),
        }
    }

    /// Hog start (its "hogging CPU" line, else the begin marker) to the first report.
    fn latency(&self, scenario: &Scenario) -> Option<f64> {
        let (start, end) = self.window(&scenario.name)?;
        let begin_time = self.begins.iter().find(|b| b.0 == scenario.name)?.2;
        let hog_time = self
            .hogging
            .iter()
            .find(|(n, _)| *n > start && *n < end)
            .and_then(|h| h.1)
            .or(begin_time)?;
        let first = self
            .reports
            .iter()
            .filter(|r| r.line > start && r.line < end)
            .find(|r| scenario.expect.iter().any(|rule| rule.matches(r)))?;
        Some(first.time? - hog_time)
    }

    fn verdicts(&self, group: &[&Scenario], ended: &vm::Ended) -> Vec<Verdict> {
        let tail = self.tail.join(" | ");
        group
            .iter()
            .map(|scenario| {
                if !self.ready {
                    let why = if ended.timed_out { "timed out" } else { "ended" };
                    return Verdict::new(
                        Outcome::Error,
                        format!("the boot {why} before the guest step started; last console lines: {tail}"),
                    );
                }
                let Some(_) = self.window(&scenario.name) else {
                    return if ended.timed_out {
                        Verdict::new(Outcome::Timeout, format!("not reached before the deadline; last console lines: {tail}"))
                    } else {
                        Verdict::new(Outcome::Error, "the boot ended before this scenario started")
                    };
                };
                let status = self.ends.iter().find(|(n, _)| n == &scenario.name).map(|(_, s)| s.as_str());
                let load_error = status.and_then(|s| s.strip_prefix("load failed: "));
                match (load_error, scenario.load_error.as_deref()) {
                    (Some(err), None) => {
                        return Verdict::new(Outcome::Error, format!("{} did not load: {err}", scenario.module))
                    }
                    (Some(err), Some(wanted)) if !err.contains(wanted) => {
                        return Verdict::new(
                            Outcome::Fail,
                            format!("expected {} to refuse to load with \"{wanted}\", it failed with: {err}", scenario.module),
                        )
                    }
                    (None, Some(wanted)) if status.is_some() => {
                        return Verdict::new(
                            Outcome::Fail,
                            format!("expected {} to refuse to load (\"{wanted}\"); it loaded", scenario.module),
                        )
                    }
                    _ => {}
                }
                let reports = self.window_reports(&scenario.name);
                let finished = status.is_some();
                // A boot that ended (not killed) inside a scenario died there: a panic or a crash.
                let panicked = reports.iter().any(|r| r.panic) || (!finished && !ended.timed_out);
                let run = judge::Run { reports: &reports, preempt: self.preempt, panicked, finished };
                let mut verdict = judge::judge(scenario, &run);
                if ended.timed_out && verdict.outcome == Outcome::Timeout {
                    verdict.reasons.push(format!("last console lines: {tail}"));
                }
                if let Some(err) = status.and_then(|s| s.strip_prefix("unload failed: ")) {
                    verdict.outcome = Outcome::Fail;
                    verdict.reasons.push(format!("{} did not unload (hogs must be recoverable): {err}", scenario.module));
                }
                verdict
            })
            .collect()
    }
}

/// Demo mode: the console as it happens, the watchdog's lines highlighted, a note per report.
struct Live {
    console: Vec<u8>,
    lines: usize,
    announced: usize,
    color: bool,
}

impl Live {
    fn new() -> Live {
        Live {
            console: Vec::new(),
            lines: 0,
            announced: 0,
            color: std::io::stdout().is_terminal(),
        }
    }

    fn line(&mut self, stream: Stream, line: &str) {
        if stream == Stream::Stdout {
            return;
        }
        self.console.extend_from_slice(line.as_bytes());
        self.console.push(b'\n');
        self.lines += 1;
        let reports = report::parse(&self.console);
        let starts_report = reports.iter().any(|r| r.line == self.lines);
        if starts_report && self.color {
            println!("\x1b[1;31m{line}\x1b[0m");
        } else if starts_report {
            println!(">>> {line}");
        } else {
            println!("{line}");
        }
        // A report is complete once later lines have come (its RIP and stack follow its first line).
        while self.announced < reports.len() && reports[self.announced].line + 25 < self.lines {
            self.note(&reports[self.announced]);
            self.announced += 1;
        }
    }

    fn finish(&mut self) {
        let reports = report::parse(&self.console);
        for r in &reports[self.announced.min(reports.len())..] {
            self.note(r);
        }
        self.announced = reports.len();
    }

    fn note(&self, r: &Report) {
        let note = live_note(r);
        if self.color {
            println!("\x1b[1;33m==> {note}\x1b[0m");
        } else {
            println!("==> {note}");
        }
    }
}

/// "CPU 1 has not scheduled for 6 s: soft lockup reported [hog_busy:63], culprit hog_busy::spin::busy_loop"
pub fn live_note(r: &Report) -> String {
    let cpu = r.cpu.map_or("a CPU".to_owned(), |c| format!("CPU {c}"));
    let secs = r
        .stuck_secs
        .map_or(String::new(), |s| format!(" for {s} s"));
    let what = match r.kind {
        report::Kind::SoftLockup => format!("{cpu} has not scheduled{secs}: soft lockup reported"),
        report::Kind::HardLockup => {
            format!("{cpu} has not taken timer interrupts: hard lockup reported")
        }
        report::Kind::RcuStall => format!("{cpu} is holding up RCU: stall reported"),
        report::Kind::HungTask => format!("a task has been blocked{secs}: hung task reported"),
    };
    let culprit = match (&r.culprit, r.victim) {
        (Some(c), true) => format!(", victim spinning in {c} (look for the lock holder)"),
        (Some(c), false) => format!(", culprit {c}"),
        (None, _) => String::new(),
    };
    let panic = if r.panic { "; the kernel panics" } else { "" };
    let task = match (&r.comm, r.pid) {
        (Some(comm), Some(pid)) => format!(" [{comm}:{pid}]"),
        (Some(comm), None) => format!(" [{comm}]"),
        _ => String::new(),
    };
    format!("{what}{task}{culprit}{panic}")
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

    fn ended(exit_code: Option<i32>) -> vm::Ended {
        vm::Ended {
            console: vec![],
            stdout: vec![],
            exit_code,
            timed_out: false,
            wall: Duration::ZERO,
            survivors: vec![],
        }
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
    fn windows_split_the_console_at_markers() {
        let console = b"[    1.000000] hogs: guest ready preempt=voluntary
[    2.000000] hogs: begin a module=hog_busy params=secs=6
[    2.100000] hog_busy: hogging CPU 1 for 6 s
[    7.300000] watchdog: BUG: soft lockup - CPU#1 stuck for 5s! [hog_busy:80]
[    9.000000] hogs: end a ok
[   10.000000] hogs: begin c module=hog_busy params=secs=6
[   17.000000] hogs: end c ok
[   17.100000] hogs: guest done
";
        let all = [scenario("a", "x", false), scenario("c", "x", false)];
        let group: Vec<&Scenario> = all.iter().collect();
        let a = analyze(console, &group);
        assert!(a.ready);
        assert_eq!(a.preempt, Some(Preempt::Voluntary));
        assert_eq!(a.window_reports("a").len(), 1);
        assert_eq!(a.window_reports("c").len(), 0);
        let ended = ended(Some(0));
        let v = a.verdicts(&group, &ended);
        // Neither scenario expects anything: a's report is unexpected, c passes.
        assert_eq!(v[0].outcome, Outcome::Fail);
        assert_eq!(v[1].outcome, Outcome::Pass);
    }

    #[test]
    fn live_notes_say_what_happened() {
        let mut r = Report::empty(report::Kind::SoftLockup, 1);
        (r.cpu, r.stuck_secs, r.comm, r.pid) =
            (Some(1), Some(6), Some("hog_busy".into()), Some(63));
        r.culprit = Some("hog_busy::spin::busy_loop".into());
        assert_eq!(
            live_note(&r),
            "CPU 1 has not scheduled for 6 s: soft lockup reported [hog_busy:63], culprit hog_busy::spin::busy_loop"
        );
        r.victim = true;
        r.culprit = Some("queued_spin_lock_slowpath".into());
        assert!(live_note(&r)
            .ends_with("victim spinning in queued_spin_lock_slowpath (look for the lock holder)"));
    }

    #[test]
    fn a_refusal_must_be_the_expected_one() {
        let text = "summary = \"s\"\ndescription = \"d\"\nmodule = \"hog_busy\"\n\
                    cmdline = [\"watchdog_thresh=2\"]\nload_error = \"Operation not permitted\"\n";
        let all = [Scenario::parse(Path::new("refuse.toml"), text).unwrap()];
        let group: Vec<&Scenario> = all.iter().collect();
        let verdict = |end: &str| {
            let console = format!(
                "[ 1.0] hogs: guest ready preempt=voluntary\n[ 2.0] hogs: begin refuse module=hog_busy\n\
                 [ 3.0] hogs: end refuse {end}\n[ 3.1] hogs: guest done\n"
            );
            analyze(console.as_bytes(), &group)
                .verdicts(&group, &ended(Some(0)))
                .remove(0)
        };
        let eperm = verdict(
            "load failed: finit_module(/m/hog_busy.ko): Operation not permitted (os error 1)",
        );
        assert_eq!(eperm.outcome, Outcome::Pass, "{:?}", eperm.reasons);
        let missing = verdict(
            "load failed: cannot open /m/hog_busy.ko: No such file or directory (os error 2)",
        );
        assert_eq!(
            missing.outcome,
            Outcome::Fail,
            "a refusal for another reason must not pass"
        );
        assert_eq!(
            verdict("ok").outcome,
            Outcome::Fail,
            "a module that loads did not refuse"
        );
    }

    #[test]
    fn a_boot_that_never_reaches_the_guest_is_an_error() {
        let all = [scenario("a", "x", false)];
        let group: Vec<&Scenario> = all.iter().collect();
        let a = analyze(
            b"[    0.000000] Linux version 6.12\n[    1.0] Kernel panic - not syncing: VFS\n",
            &group,
        );
        let ended = ended(Some(255));
        let v = a.verdicts(&group, &ended);
        assert_eq!(v[0].outcome, Outcome::Error);
        assert!(
            v[0].reasons[0].contains("before the guest step started"),
            "{:?}",
            v[0].reasons
        );
    }
}
