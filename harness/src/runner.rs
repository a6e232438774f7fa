//! `hogs run`: groups scenarios into boots, runs each boot and collects what the judge says of
//! it. Decides no verdict and reads no console itself: [`crate::record`] reads each boot,
//! [`crate::judge`] judges it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::guest::{Plan, Step};
use crate::judge::{self, Outcome, Unrun, Verdict};
use crate::kernel::Kernel;
use crate::live::Live;
use crate::modules::Modules;
use crate::record::{self, Ending};
use crate::report::Report;
use crate::scenario::{Preempt, Scenario};
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
    pub out_dir: PathBuf,
    /// Deadline for the whole run.
    pub deadline: Duration,
    pub memory: String,
    /// The VM driver (`vng`, or a stand-in for tests).
    pub vng: PathBuf,
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
    /// How the VM driver ended, in words ("vng exited with status 0").
    pub exit: String,
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
        let left = opts.deadline.saturating_sub(start.elapsed());
        let skipped = match signals::caught() {
            Some(signal) => Some(Unrun::Interrupted(signal)),
            None if left.is_zero() => Some(Unrun::DeadlinePassed),
            None => None,
        };
        if let Some(why) = skipped {
            for s in group {
                result.scenarios.push(not_run(s, index, &why));
            }
            continue;
        }
        match run_boot(
            kernel,
            modules,
            group,
            index,
            groups.len(),
            left,
            &exe,
            opts,
            &mut progress,
        ) {
            Ok((boot, results)) => {
                result.boots.push(boot);
                result.scenarios.extend(results);
            }
            // The host could not run the boot at all (no vng, a full disk...): not the kernel's fault.
            Err(e) => {
                let why = Unrun::HostFault(format!("{e:#}").replace('\n', " "));
                for s in group {
                    let r = not_run(s, index, &why);
                    progress(&format_result(&r));
                    result.scenarios.push(r);
                }
            }
        }
    }
    result.wall_secs = start.elapsed().as_secs_f64();
    Ok(result)
}

/// Runs one boot and judges its scenarios.
#[allow(clippy::too_many_arguments)]
fn run_boot(
    kernel: &Kernel,
    modules: &Modules,
    group: &[&Scenario],
    index: usize,
    boots: usize,
    left: Duration,
    exe: &Path,
    opts: &Options,
    progress: &mut impl FnMut(&str),
) -> Result<(BootResult, Vec<ScenarioResult>)> {
    let names: Vec<String> = group.iter().map(|s| s.name.clone()).collect();
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
        vng: &opts.vng,
        hogs: exe,
        kernel_dir: &kernel.dir,
        cpus: group[0].cpus,
        memory: &opts.memory,
        kernel_args: kernel_args.clone(),
        exec: format!(
            "{} guest --plan {}",
            shell_quote(exe),
            shell_quote(&plan_path)
        ),
        deadline: own_deadline.min(left),
    };
    progress(&format!(
        "boot {index}/{boots}: {} ({} vCPUs, {})",
        names.join(", "),
        boot.cpus,
        kernel_args.join(" ")
    ));
    let console_log = opts.out_dir.join(format!("boot-{index}.console.log"));
    let boot_start = Instant::now();
    let mut ready_at = None;
    let mut live = opts.live.then(Live::new);
    let ended = boot.run(&console_log, signals::caught, |stream, line| {
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
    let record = record::read(
        &ended.console,
        Ending {
            exit: ended.exit,
            timed_out: ended.timed_out,
            interrupted: ended.interrupted,
            survivors: ended.survivors.clone(),
        },
    );
    let verdicts = judge::judge_boot(group, &record);
    let results = group
        .iter()
        .zip(verdicts)
        .map(|(scenario, verdict)| {
            let r = scenario_result(scenario, index, verdict, record.preempt);
            progress(&format_result(&r));
            r
        })
        .collect();
    let boot = BootResult {
        index,
        scenarios: names,
        cpus: boot.cpus,
        cmdline: kernel_args,
        boot_secs: ready_at.map(|d| d.as_secs_f64()),
        wall_secs: ended.wall.as_secs_f64(),
        exit: ended.exit.to_string(),
        timed_out: ended.timed_out,
        survivors: ended.survivors,
        preempt: record.preempt,
        console_log,
    };
    Ok((boot, results))
}

fn scenario_result(
    s: &Scenario,
    boot: usize,
    v: Verdict,
    preempt: Option<Preempt>,
) -> ScenarioResult {
    ScenarioResult {
        name: s.name.clone(),
        summary: s.summary.clone(),
        boot,
        outcome: v.outcome,
        reasons: v.reasons,
        expectations: v.expectations,
        latency_secs: v.latency_secs,
        latency_bound_secs: s.latency_bound(),
        preempt,
        reports: v.reports,
    }
}

/// A scenario whose boot never ran.
pub fn not_run(s: &Scenario, boot: usize, why: &Unrun) -> ScenarioResult {
    scenario_result(s, boot, judge::unrun(why), None)
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
}
