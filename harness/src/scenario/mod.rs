//! Scenarios as data: one TOML file per scenario in `expected/`, read by learners and the runner.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use regex::Regex;
use serde::Deserialize;

use crate::detectors::{self, HardDetector, Setting, Window, WATCHDOG_THRESH};
use crate::report::{Kind, Report};

mod explain;
mod rules;
mod validate;

pub use explain::reference;
pub use rules::{expectations_met, Guest, KindPattern, Rule};

/// A scenario: what to load in which kind of boot, and the reports that must and must not appear.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// File stem: `expected/busy-loop.toml` is `busy-loop`.
    #[serde(skip)]
    pub name: String,
    #[serde(skip)]
    pub path: PathBuf,
    /// One line for `hogs list`.
    pub summary: String,
    /// What the scenario demonstrates, for learners.
    pub description: String,
    /// The hog module to load (`hogs/<module>.rs`).
    pub module: String,
    /// Module parameters, e.g. `{ secs = 6, cpu = 1 }`.
    #[serde(default)]
    pub params: BTreeMap<String, i64>,
    /// Kernel command-line arguments beyond those every boot gets (`nmi_watchdog=1`).
    #[serde(default)]
    pub cmdline: Vec<String>,
    /// vCPUs of the guest.
    #[serde(default = "two")]
    pub cpus: u32,
    /// The guest is expected to panic: the scenario needs a boot of its own.
    #[serde(default)]
    pub panics: bool,
    /// Kernel options the scenario needs, each with why (`CONFIG_PREEMPT_RCU = "..."`): on a
    /// kernel without one, the scenario is not run and its verdict is SKIP, saying which.
    #[serde(default)]
    pub needs: BTreeMap<String, String>,
    /// The module must refuse to load with an error containing this text (e.g. the bare-metal
    /// safety check's "Operation not permitted"); loading, or failing otherwise, fails the scenario.
    pub load_error: Option<String>,
    /// Seconds the guest waits after loading before unloading (defaults to the hog's `secs` + 1:
    /// a report the release sets off, such as a late soft lockup, comes within milliseconds).
    pub wait: Option<u64>,
    /// Keep the hog its whole time even once every expected report came (a positive scenario
    /// otherwise ends half a second after its last): for a rule whose `max` says what must not
    /// come later, such as reports past a limit.
    #[serde(default)]
    pub whole_time: bool,
    #[serde(default)]
    pub expect: Vec<Rule>,
    /// Extra reports tolerated as side effects (e.g. a victim of the hog on another CPU).
    #[serde(default)]
    pub allow: Vec<Rule>,
    /// Reports that must never appear, even when an `allow` rule would tolerate them.
    #[serde(default)]
    pub forbid: Vec<Rule>,
    /// Values the guest writes for this scenario (sysctls, sysfs files), restored afterwards.
    #[serde(default)]
    pub set: Vec<Set>,
    /// The detection window starts when this `set` (`name=value`) was written, not when the hog
    /// started (e.g. `kernel.watchdog=1`: reported only after the watchdog is switched on).
    pub detect_from: Option<String>,
    /// Kinds whose first reports must come in this order, when one hog trips several
    /// detectors (e.g. `["rcu_stall", "soft_lockup"]`): each named kind must be expected.
    #[serde(default)]
    pub order: Vec<Kind>,
    /// Lines the boot's console must (or, `absent`, must not) show: what the kernel says of its
    /// own set-up, e.g. that a detector is off.
    #[serde(default)]
    pub console: Vec<ConsoleLine>,
    /// What changes on kernels with some options (`[[variant]]`), applied by
    /// [`Scenario::on_kernel`].
    #[serde(default, rename = "variant")]
    pub variants: Vec<Variant>,
    /// The hard lockup detector of the kernel it runs on (set by [`Scenario::on_kernel`]).
    #[serde(skip)]
    pub hard_detector: HardDetector,
}

/// A line the boot's console must show (or must not, `absent = true`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleLine {
    /// Regular expression a console line must match, e.g. `NMI watchdog: Enabled`.
    #[serde(with = "rules::serde_regex_opt")]
    pub line: Option<Regex>,
    #[serde(default)]
    pub absent: bool,
    /// Why the kernel prints it (or does not).
    pub why: String,
}

/// Where a kernel really behaves differently: on kernels with every option of `when`, these
/// parameters replace the scenario's.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// Kernel options and values, all of which select the variant
    /// (`{ CONFIG_HARDLOCKUP_DETECTOR_PERF = "y" }`).
    pub when: BTreeMap<String, String>,
    /// Why the kernel differs there.
    pub why: String,
    /// Module parameters replacing the scenario's of the same name.
    #[serde(default)]
    pub params: BTreeMap<String, i64>,
    /// Replaces the scenario's `wait`.
    pub wait: Option<u64>,
    /// Replace the scenario's rules of the same table, when given.
    pub expect: Option<Vec<Rule>>,
    pub allow: Option<Vec<Rule>>,
    pub forbid: Option<Vec<Rule>>,
}

/// A value the guest writes before the hog is loaded, or `at` seconds after, and writes back
/// after the hog is unloaded: a sysctl or a file under /sys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Set {
    /// A sysctl by name, e.g. `kernel.watchdog_cpumask`.
    pub sysctl: Option<String>,
    /// A file under /sys or /proc/sys, e.g. `/sys/devices/system/cpu/cpu2/online`.
    pub path: Option<String>,
    pub value: String,
    /// Seconds after the hog was loaded; before loading when left out.
    pub at: Option<f64>,
    /// Why: read by learners.
    pub why: Option<String>,
}

impl Set {
    /// The file written.
    pub fn target(&self) -> String {
        match (&self.sysctl, &self.path) {
            (Some(name), _) => format!("/proc/sys/{}", name.replace('.', "/")),
            (None, Some(path)) => path.clone(),
            (None, None) => String::new(),
        }
    }

    /// What it writes: `kernel.watchdog` or `/sys/devices/system/cpu/cpu2/online`.
    pub fn name(&self) -> String {
        self.sysctl
            .clone()
            .or_else(|| self.path.clone())
            .unwrap_or_default()
    }

    /// `kernel.watchdog=0` or `/sys/devices/system/cpu/cpu2/online=0`.
    pub fn label(&self) -> String {
        format!("{}={}", self.name(), self.value)
    }
}

fn two() -> u32 {
    2
}

/// Every boot gets these: the hard lockup detector runs in KVM and TCG guests alike, and the
/// CPU-intensive work item warning is off unless a scenario turns it on (under TCG the guest's
/// own drivers trip it while booting: virtio's `control_work_handler` at 1 s).
pub const BASE_CMDLINE: &[&str] = &["nmi_watchdog=1", "workqueue.cpu_intensive_warning_thresh=0"];

impl Scenario {
    pub fn load(path: &Path) -> Result<Scenario> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        Self::parse(path, &text)
    }

    /// Parses a scenario; errors are one line naming the file and line.
    pub fn parse(path: &Path, text: &str) -> Result<Scenario> {
        let mut scenario: Scenario = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| text[..s.start].matches('\n').count() + 1);
            let message = e.message().replace('\n', " ");
            match line {
                Some(line) => anyhow::anyhow!("{}:{line}: {message}", path.display()),
                None => anyhow::anyhow!("{}: {message}", path.display()),
            }
        })?;
        scenario.name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .context("scenario file name is not UTF-8")?
            .to_owned();
        scenario.path = path.to_owned();
        scenario.validate()?;
        Ok(scenario)
    }

    /// The full kernel command line of this scenario's boot (without `--append` extras).
    pub fn kernel_args(&self) -> Vec<String> {
        BASE_CMDLINE
            .iter()
            .map(|s| s.to_string())
            .chain(self.cmdline.iter().cloned())
            .collect()
    }

    /// `watchdog_thresh`: from the last `kernel.watchdog_thresh` set before the hog, else the
    /// command line.
    pub fn thresh(&self) -> Option<u64> {
        self.setting(&WATCHDOG_THRESH).map(|t| t as u64)
    }

    /// Whether an `expect` rule matches `report` (whatever the preemption model).
    pub fn expects(&self, report: &Report) -> bool {
        self.expect.iter().any(|rule| rule.matches(report))
    }

    /// The CPUs the hog must prove it ran on (`cpu` and `*_cpu` parameters other than -1): each
    /// prints `<module>: hogging CPU N` when it starts.
    pub fn hog_cpus(&self) -> Vec<u32> {
        self.params
            .iter()
            .filter(|(k, _)| *k == "cpu" || k.ends_with("_cpu"))
            .filter_map(|(_, &v)| u32::try_from(v).ok())
            .collect()
    }

    /// Why the scenario cannot run on a kernel whose options `option` reads (`Some("y")` for a
    /// built-in one), or `None` when it has all it needs.
    pub fn unmet_need<'a>(&self, option: impl Fn(&str) -> Option<&'a str>) -> Option<String> {
        let (name, why) = self
            .needs
            .iter()
            .find(|(name, _)| option(name) != Some("y"))?;
        Some(format!(
            "not run: the kernel has no {name}, which this scenario needs ({why})"
        ))
    }

    /// The hog's run time: its `secs` parameter.
    pub fn hog_secs(&self) -> u64 {
        self.params.get("secs").map_or(10, |&s| s.max(0) as u64)
    }

    /// Seconds between loading the module and unloading it.
    pub fn wait_secs(&self) -> u64 {
        self.wait.unwrap_or(self.hog_secs() + 1)
    }

    /// The scenario as it runs on a kernel whose options `option` reads (`Some("y")` for
    /// `CONFIG_X=y`): its variants applied, its hard lockup detector known.
    pub fn on_kernel<'k>(&self, option: impl Fn(&str) -> Option<&'k str>) -> Scenario {
        let mut s = self.clone();
        if option("CONFIG_HARDLOCKUP_DETECTOR_PERF") == Some("y") {
            s.hard_detector = HardDetector::Perf;
        }
        for v in &self.variants {
            if v.when
                .iter()
                .all(|(k, value)| option(k) == Some(value.as_str()))
            {
                s.params
                    .extend(v.params.iter().map(|(k, v)| (k.clone(), *v)));
                s.wait = v.wait.or(s.wait);
                s.expect = v.expect.clone().unwrap_or(s.expect);
                s.allow = v.allow.clone().unwrap_or(s.allow);
                s.forbid = v.forbid.clone().unwrap_or(s.forbid);
            }
        }
        s
    }

    /// `insmod` parameter string.
    pub fn param_string(&self) -> String {
        self.params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// When the scenario's first expected report may come, in seconds after the hog starts:
    /// the window of the first expected kind that has one ([`Scenario::windows`]).
    pub fn window(&self) -> Option<Window> {
        self.windows().first().map(|w| w.window)
    }

    /// The detection window of every expected kind that has one, in the order the expect rules
    /// first name them, with the setting it follows (`watchdog_thresh=2`).
    pub fn windows(&self) -> Vec<KindWindow> {
        let mut out: Vec<KindWindow> = Vec::new();
        for rule in &self.expect {
            let KindPattern::Kind(kind) = rule.kind else {
                continue;
            };
            if out.iter().any(|w| w.kind == kind) {
                continue;
            }
            let Some(d) = detectors::of(kind) else {
                continue;
            };
            let Some(value) = self.setting(d.setting) else {
                continue;
            };
            out.push(KindWindow {
                kind,
                window: (d.window)(value, self.hard_detector),
                setting: format!("{}={value}", d.setting.name),
            });
        }
        out
    }

    /// [`Scenario::windows`] as they hold on `guest`'s kernel: an RCU stall comes
    /// [`PROVE_RCU_STALL_DELAY_SECS`] later where RCU is checked by lockdep.
    pub fn windows_on(&self, guest: Guest) -> Vec<KindWindow> {
        let mut windows = self.windows();
        for w in windows.iter_mut().filter(|_| guest.prove_rcu) {
            let delay = detectors::of(w.kind).map_or(0.0, |d| d.prove_rcu_delay);
            if delay == 0.0 {
                continue;
            }
            w.window.earliest += delay;
            w.window.latest += delay;
            w.setting += &format!(" and CONFIG_PROVE_RCU (+{delay} s)");
        }
        windows
    }

    /// The value a scenario gives a detector's setting: the last written before the hog
    /// starts, else on the command line.
    pub fn setting(&self, setting: &Setting) -> Option<f64> {
        let written = self
            .set
            .iter()
            .filter(|s| s.at.is_none() && s.target() == setting.path)
            .rev()
            .find_map(|s| s.value.trim().parse().ok());
        written.or_else(|| {
            self.cmdline
                .iter()
                .find_map(|a| a.strip_prefix(setting.arg)?.parse().ok())
        })
    }
}

/// The detection window of one expected kind.
#[derive(Debug, Clone, PartialEq)]
pub struct KindWindow {
    pub kind: Kind,
    pub window: Window,
    /// The setting it follows, e.g. `watchdog_thresh=2`.
    pub setting: String,
}

/// Loads every `*.toml` in `dir`, sorted by name.
pub fn load_dir(dir: &Path) -> Result<Vec<Scenario>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read scenario folder {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    paths.iter().map(|p| Scenario::load(p)).collect()
}

/// Picks the named scenarios (all when `names` is empty); an unknown name, or a name given
/// twice (two scenarios would share one window of the console), is an error.
pub fn select(all: Vec<Scenario>, names: &[String]) -> Result<Vec<Scenario>> {
    if names.is_empty() {
        return Ok(all);
    }
    if let Some(name) = names
        .iter()
        .enumerate()
        .find_map(|(i, n)| names[..i].contains(n).then_some(n))
    {
        bail!("scenario `{name}` is named twice: each scenario runs once per kernel");
    }
    names
        .iter()
        .map(|name| {
            all.iter()
                .find(|s| &s.name == name)
                .cloned()
                .with_context(|| {
                    let known: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
                    format!("unknown scenario `{name}` (known: {})", known.join(", "))
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::Preempt;

    #[test]
    fn the_committed_reference_is_the_generated_one() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../expected");
        let committed = include_str!("../../../docs/scenarios.md");
        assert!(
            committed == reference(&load_dir(&dir).unwrap()),
            "docs/scenarios.md is stale: run `target/release/hogs list --markdown > docs/scenarios.md`"
        );
    }

    const GOOD: &str = r#"
summary = "busy loop"
description = "spins"
module = "hog_busy"
params = { secs = 6, cpu = 1 }
cmdline = ["watchdog_thresh=2"]

[[expect]]
kind = "soft_lockup"
cpu = 1
comm = "hog_busy"
culprit = "^hog_busy::"
"#;

    fn report(kind: Kind, cpu: u32, comm: &str, culprit: &str) -> Report {
        Report {
            kind,
            cpu: Some(cpu),
            comm: Some(comm.into()),
            culprit: Some(culprit.into()),
            ..Report::empty(kind, 1)
        }
    }

    const HARD: &str = r#"
summary = "irqs off"
description = "spins"
module = "hog_irqsave"
params = { secs = 6, cpu = 1 }
cmdline = ["watchdog_thresh=1"]

[[expect]]
kind = "hard_lockup"
cpu = 1

[[variant]]
when = { CONFIG_HARDLOCKUP_DETECTOR_PERF = "y" }
why = "the perf detector samples every 5 s"
params = { secs = 17 }
"#;

    #[test]
    fn a_variant_applies_only_on_the_kernels_it_names() {
        let s = Scenario::parse(Path::new("x.toml"), HARD).unwrap();
        let buddy = s.on_kernel(|_| None);
        assert_eq!(buddy.param_string(), "cpu=1 secs=6");
        assert_eq!(buddy.hard_detector, HardDetector::Buddy);
        assert_eq!(buddy.window().map(|w| w.latest), Some(3.6));
        let perf = s.on_kernel(|o| (o == "CONFIG_HARDLOCKUP_DETECTOR_PERF").then_some("y"));
        assert_eq!(perf.param_string(), "cpu=1 secs=17");
        assert_eq!(perf.wait_secs(), 18);
        assert_eq!(perf.hard_detector, HardDetector::Perf);
        // One perf period (5 s at thresh 1) less a sample, to three periods.
        let w = perf.window().unwrap();
        assert_eq!((w.earliest, w.latest), (4.6, 15.0));
    }

    #[test]
    fn reported_by_tells_the_buddy_from_the_perf_detector() {
        let s = Scenario::parse(
            Path::new("x.toml"),
            &HARD.replace(
                "cpu = 1\n\n[[variant]]",
                "cpu = 1\nreported_by = 0\n\n[[variant]]",
            ),
        )
        .unwrap();
        let rule = &s.expect[0];
        assert_eq!(rule.to_string(), "hard_lockup on CPU 1 reported by CPU 0");
        let by = |reporter| Report {
            cpu: Some(1),
            reporting_cpu: reporter,
            ..Report::empty(Kind::HardLockup, 1)
        };
        assert!(rule.matches(&by(Some(0))), "the buddy on CPU 0");
        assert!(
            !rule.matches(&by(Some(1))),
            "CPU 1 reporting itself is the perf detector"
        );
        assert!(!rule.matches(&by(None)));
        let bad = HARD.replace(
            "cpu = 1\n\n[[variant]]",
            "cpu = 1\nreported_by = 2\n\n[[variant]]",
        );
        let err = Scenario::parse(Path::new("x.toml"), &bad)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("names CPU 2 but the guest has 2 CPUs"),
            "{err}"
        );
    }

    #[test]
    fn a_trait_method_of_the_hogs_type_is_the_hogs_code() {
        let s = Scenario::parse(Path::new("expected/busy-loop.toml"), GOOD).unwrap();
        let rule = &s.expect[0];
        let at = |culprit: &str| report(Kind::SoftLockup, 1, "hog_busy", culprit);
        assert!(rule.matches(&at("hog_busy::spin::busy_loop")));
        // Seen on arm64 as the loop ends: the pc in the trait method that called it.
        assert!(rule.matches(&at("<hog_busy::Busy as hog_busy::thread::ThreadBody>::run")));
        assert!(!rule.matches(&at("<kernel::Foo as hog_busy::Trait>::run")));
        assert!(!rule.matches(&at("sched_balance_update_blocked_averages")));
    }

    #[test]
    fn a_variant_must_say_for_what_and_why() {
        let bad = HARD.replace(
            "why = \"the perf detector samples every 5 s\"\n",
            "why = \"\"\n",
        );
        let err = Scenario::parse(Path::new("x.toml"), &bad)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("variant[0] must name the kernel options"),
            "{err}"
        );
        let bad = HARD.replace("params = { secs = 17 }", "params = { seconds = 17 }");
        let err = Scenario::parse(Path::new("x.toml"), &bad)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("variant[0].params.seconds is not a parameter"),
            "{err}"
        );
        let bad = HARD.replace(
            "{ CONFIG_HARDLOCKUP_DETECTOR_PERF",
            "{ HARDLOCKUP_DETECTOR_PERF",
        );
        let err = Scenario::parse(Path::new("x.toml"), &bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not a kernel option name"), "{err}");
    }

    #[test]
    fn a_detector_setting_is_whole_seconds() {
        let bad = GOOD.replace("watchdog_thresh=2", "watchdog_thresh=1.5");
        let err = Scenario::parse(Path::new("x.toml"), &bad)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("watchdog_thresh = 1.5: the kernel takes whole seconds"),
            "{err}"
        );
    }

    #[test]
    fn a_repeating_rule_needs_a_detector_that_repeats() {
        let good = format!("{GOOD}repeating = true\n");
        assert!(Scenario::parse(Path::new("x.toml"), &good).is_ok());
        // A hung task report's repeats have no cadence the judge could check: refused, rather
        // than a rule that cannot fail.
        let bad = good
            .replace("kind = \"soft_lockup\"", "kind = \"hung_task\"")
            .replace("cpu = 1\n", "")
            .replace(
                "cmdline = [\"watchdog_thresh=2\"]",
                "cmdline = [\"watchdog_thresh=2\", \"sysctl.kernel.hung_task_timeout_secs=3\"]",
            );
        let err = Scenario::parse(Path::new("x.toml"), &bad)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "expect[0] is repeating, but the suite knows no repeat cadence for hung_task"
            ),
            "{err}"
        );
    }

    #[test]
    fn parses_and_matches() {
        let s = Scenario::parse(Path::new("expected/busy-loop.toml"), GOOD).unwrap();
        assert_eq!(s.name, "busy-loop");
        assert_eq!(s.param_string(), "cpu=1 secs=6");
        assert_eq!(
            s.kernel_args(),
            [
                "nmi_watchdog=1",
                "workqueue.cpu_intensive_warning_thresh=0",
                "watchdog_thresh=2"
            ]
        );
        let w = s.window().unwrap();
        assert_eq!(
            (
                (w.earliest * 100.0).round() / 100.0,
                (w.latest * 100.0).round() / 100.0
            ),
            (3.49, 6.97)
        );
        let hard = detectors::detection_window(Kind::HardLockup, 2.0, HardDetector::Buddy).unwrap();
        assert_eq!((hard.earliest, hard.latest), (1.6, 7.2));
        let rule = &s.expect[0];
        assert!(rule.matches(&report(
            Kind::SoftLockup,
            1,
            "hog_busy",
            "hog_busy::hog_thread"
        )));
        assert!(!rule.matches(&report(
            Kind::SoftLockup,
            0,
            "hog_busy",
            "hog_busy::hog_thread"
        )));
        assert!(!rule.matches(&report(
            Kind::HardLockup,
            1,
            "hog_busy",
            "hog_busy::hog_thread"
        )));
        assert!(!rule.matches(&report(
            Kind::SoftLockup,
            1,
            "hog_busy",
            "queued_spin_lock_slowpath"
        )));
        assert_eq!(
            rule.to_string(),
            "soft_lockup on CPU 1 by hog_busy naming /^hog_busy::/"
        );
    }

    #[test]
    fn unknown_field_names_file_and_line() {
        let bad = GOOD.replace("cpu = 1\ncomm", "cpu = 1\ncolour = \"red\"\ncomm");
        let err = Scenario::parse(Path::new("expected/x.toml"), &bad)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("expected/x.toml:11: unknown field `colour`"),
            "{err}"
        );
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn needs_name_kernel_options_and_say_which_one_is_missing() {
        let with = |needs: &str| {
            Scenario::parse(
                Path::new("x.toml"),
                &GOOD.replace("cmdline =", &format!("needs = {{ {needs} }}\ncmdline =")),
            )
        };
        let s = with("CONFIG_PREEMPT_RCU = \"readers that schedule\"").unwrap();
        let config = |o: &str| (o == "CONFIG_PREEMPT_RCU").then_some("y");
        assert_eq!(s.unmet_need(config), None);
        assert_eq!(
            s.unmet_need(|_| None).as_deref(),
            Some("not run: the kernel has no CONFIG_PREEMPT_RCU, which this scenario needs (readers that schedule)")
        );
        // A module (=m) is not the built-in option a scenario needs.
        assert!(s.unmet_need(|_| Some("m")).is_some());
        let err = with("PREEMPT_RCU = \"x\"").unwrap_err().to_string();
        assert!(
            err.contains("needs.PREEMPT_RCU is not a kernel option name"),
            "{err}"
        );
        let err = with("CONFIG_X = \" \"").unwrap_err().to_string();
        assert!(err.contains("needs.CONFIG_X must say why"), "{err}");
    }

    #[test]
    fn malformed_toml_and_bad_values_are_errors() {
        let err = Scenario::parse(Path::new("x.toml"), "summary = ")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("x.toml:1: "), "{err}");
        let err = Scenario::parse(
            Path::new("x.toml"),
            &GOOD.replace("cpu = 1\ncomm", "cpu = 5\ncomm"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("expect[0].cpu names CPU 5 but the guest has 2 CPUs"),
            "{err}"
        );
        let err = Scenario::parse(
            Path::new("x.toml"),
            &GOOD.replace("culprit = \"^hog_busy::\"", "preempt = []"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("x.toml: expect[0].preempt is empty"), "{err}");
        let err = Scenario::parse(Path::new("x.toml"), &GOOD.replace("cpu = 1 }", "cpu = 2 }"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("params.cpu = 2 is not a CPU of the guest"),
            "{err}"
        );
        let err = Scenario::parse(
            Path::new("x.toml"),
            &GOOD.replace("\"soft_lockup\"", "\"lockup\""),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown report kind \"lockup\""), "{err}");
        let err = Scenario::parse(Path::new("x.toml"), &GOOD.replace("^hog_busy::", "("))
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad culprit regex"), "{err}");
        let err = Scenario::parse(
            Path::new("x.toml"),
            &GOOD.replace("\"watchdog_thresh=2\"", ""),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("watchdog_thresh"), "{err}");
    }

    #[test]
    fn sets_are_validated_and_move_the_threshold() {
        let with =
            |set: &str| Scenario::parse(Path::new("x.toml"), &format!("{GOOD}\n[[set]]\n{set}\n"));
        let s = with("sysctl = \"kernel.watchdog_thresh\"\nvalue = \"1\"").unwrap();
        assert_eq!(s.thresh(), Some(1));
        assert_eq!(s.set[0].target(), "/proc/sys/kernel/watchdog_thresh");
        assert_eq!(s.set[0].label(), "kernel.watchdog_thresh=1");
        let err = with("sysctl = \"../etc\"\nvalue = \"1\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("set[0].sysctl `../etc` is not a sysctl name"),
            "{err}"
        );
        let err = with("path = \"/etc/passwd\"\nvalue = \"1\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("must be a file under /sys or /proc/sys"),
            "{err}"
        );
        let err = with("sysctl = \"kernel.watchdog\"\nvalue = \"1\"\nat = 99.0")
            .unwrap_err()
            .to_string();
        assert!(err.contains("set[0].at must be between 0 and"), "{err}");
        let err = Scenario::parse(
            Path::new("x.toml"),
            &format!("detect_from = \"kernel.watchdog=1\"\n{GOOD}"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("detect_from `kernel.watchdog=1` names no set"),
            "{err}"
        );
    }

    #[test]
    fn preempt_specific_rules() {
        let text = GOOD.replace(
            "culprit = \"^hog_busy::\"",
            "preempt = [\"none\", \"voluntary\"]",
        );
        let s = Scenario::parse(Path::new("x.toml"), &text).unwrap();
        let on = |preempt| Guest {
            preempt,
            ..Guest::default()
        };
        assert!(s.expect[0].applies_to(on(Some(Preempt::Voluntary))));
        assert!(!s.expect[0].applies_to(on(Some(Preempt::Full))));
        assert!(!s.expect[0].applies_to(on(None)));
    }

    #[test]
    fn select_rejects_unknown_names() {
        let s = Scenario::parse(Path::new("busy-loop.toml"), GOOD).unwrap();
        let err = select(vec![s.clone()], &["nope".into()])
            .unwrap_err()
            .to_string();
        assert_eq!(err, "unknown scenario `nope` (known: busy-loop)");
        let err = select(vec![s], &["busy-loop".into(), "busy-loop".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("`busy-loop` is named twice"), "{err}");
    }

    #[test]
    fn since_limits_a_rule_to_newer_kernels() {
        let s = Scenario::parse(
            Path::new("s.toml"),
            &format!("{}\nsince = \"6.16\"\n", GOOD.trim_end()),
        )
        .unwrap();
        let on = |version| Guest {
            preempt: Some(Preempt::Voluntary),
            version,
            prove_rcu: false,
        };
        assert!(s.expect[0].applies_to(on(Some((7, 3)))));
        assert!(s.expect[0].applies_to(on(Some((6, 16)))));
        assert!(!s.expect[0].applies_to(on(Some((6, 12)))));
        assert!(!s.expect[0].applies_to(on(None)));
        let e = Scenario::parse(
            Path::new("s.toml"),
            &format!("{}\nsince = \"6\"\n", GOOD.trim_end()),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains(r#"since = "6" is not a version like "6.16""#),
            "{e}"
        );
        assert_eq!(crate::report::parse_version("7.3.4-rc1+"), Some((7, 3)));
    }
}
