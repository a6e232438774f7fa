//! The results of a run: one schema, written by `run` and `merge`, read by `compare`, `merge`
//! and every output (KTAP, JUnit, KCIDB). `schema/results.schema.json` is generated from these
//! types (`hogs schema`), and a test keeps the two the same.
//!
//! Paths are relative, so a run folder can be moved or archived: a run's `dir` is relative to
//! the run folder (where `results.json` is), a boot's `console_log` to the run's `dir`.

use std::path::Path;

use anyhow::{bail, Context, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::judge::Outcome;
use crate::kernel::Preempt;
use crate::report::Report;

/// The schema version this hogs writes and reads.
pub const SCHEMA_VERSION: u32 = 2;

/// A results file: `hogs run --json`, a run folder's `results.json`, `hogs merge --json`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Results {
    /// The version of this schema (a reader refuses another).
    pub schema_version: u32,
    /// One entry per kernel (and appended arguments) the scenarios ran on.
    pub runs: Vec<RunResult>,
}

/// The scenarios of one kernel.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunResult {
    /// The kernel release, e.g. `6.12.117`.
    pub kernel: String,
    /// The architecture it was built for and booted on: `x86_64` or `arm64` (new in schema 2).
    pub arch: String,
    /// The kernel's build folder on the machine that ran it (informative).
    pub kernel_dir: String,
    /// Arguments appended to every boot (`--append`).
    pub append: Vec<String>,
    /// This run's consoles and plans, relative to the run folder.
    pub dir: String,
    /// Wall time of the whole `hogs run`, seconds.
    pub wall_secs: f64,
    /// `I/N` when the run holds only shard I of N of the boots (`--shard`).
    pub shard: Option<String>,
    /// Every scenario had a boot of its own (`--isolate`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub isolate: bool,
    /// The seed the scenarios were grouped and ordered from at random (`--shuffle`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shuffle_seed: Option<u64>,
    pub boots: Vec<BootResult>,
    pub scenarios: Vec<ScenarioResult>,
}

/// One boot of the kernel.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BootResult {
    /// Its number in the run (the same in every shard of it).
    pub index: usize,
    pub scenarios: Vec<String>,
    pub cpus: u32,
    pub cmdline: Vec<String>,
    /// Seconds from starting the VM to the guest step starting (host clock).
    pub boot_secs: Option<f64>,
    pub wall_secs: f64,
    /// How the VM driver ended, in words ("vng exited with status 0").
    pub exit: String,
    pub timed_out: bool,
    /// Processes of the boot still alive after it was killed (must be empty).
    pub survivors: Vec<u32>,
    pub preempt: Option<Preempt>,
    /// The boot's full console, relative to the run's `dir`.
    pub console_log: String,
    /// The host fault of a first attempt that was run again (its console is kept as
    /// `boot-N.attempt-1.console.log`); absent when the boot ran once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retried_after: Option<String>,
    /// Seconds the guest waited, before the first hog, for the kernel's own boot-time work that
    /// needs every CPU; absent when the guest step never got that far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settle_secs: Option<f64>,
    /// What it waited for (the TSC's refinement...); empty when nothing was pending.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settled_after: Vec<String>,
}

/// One scenario's verdict.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioResult {
    pub name: String,
    pub summary: String,
    /// The boot it ran in (`BootResult::index`).
    pub boot: usize,
    pub outcome: Outcome,
    /// Why it is not a pass; empty for a pass.
    pub reasons: Vec<String>,
    /// The expectations that applied, given the preemption model seen.
    pub expectations: Vec<String>,
    /// Seconds from the hog starting to the first expected report (kernel clock).
    pub latency_secs: Option<f64>,
    /// The detector's theoretical earliest report for this scenario's watchdog_thresh.
    pub latency_earliest_secs: Option<f64>,
    /// The detector's theoretical worst case for this scenario's watchdog_thresh.
    pub latency_bound_secs: Option<f64>,
    /// Seconds the scenario took in the guest, from its start to its end (kernel clock).
    pub duration_secs: Option<f64>,
    /// How late the guest's own timers ran while the hog was loaded (the most one of its 100 ms
    /// sleeps overslept): the lateness a report is allowed past its window, beside a margin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer_lag_secs: Option<f64>,
    pub preempt: Option<Preempt>,
    pub reports: Vec<Report>,
    /// The scenario's console lines (its reports kept whole when the window is long).
    pub excerpt: String,
}

/// `git bisect run`'s "this commit cannot be tested": a tree that does not build or a guest
/// that does not boot says nothing about the regression.
pub const BISECT_SKIP: u8 = 125;
/// Above 127, `git bisect run` stops: a mistake in the command, not in the commit.
pub const BISECT_ABORT: u8 = 129;

impl RunResult {
    /// Every scenario passed or was skipped (the kernel lacks what it needs), and at least one
    /// passed: a run that checked nothing is not a pass.
    pub fn passed(&self) -> bool {
        self.scenarios.iter().any(|s| s.outcome == Outcome::Pass)
            && self
                .scenarios
                .iter()
                .all(|s| matches!(s.outcome, Outcome::Pass | Outcome::Skip))
    }

    /// What `git bisect run` should make of this run: 1 when a scenario FAILed (the kernel
    /// broke a promise), else 125 ("skip": cannot tell) when one was ERROR or TIMEOUT (a
    /// deadline passes for a slow host as for a hung kernel) or nothing passed, else 0.
    pub fn bisect_code(runs: &[RunResult]) -> u8 {
        let any = |o: Outcome| runs.iter().any(|r| r.count(o) > 0);
        if any(Outcome::Fail) {
            1
        } else if any(Outcome::Error) || any(Outcome::Timeout) || !runs.iter().all(|r| r.passed()) {
            BISECT_SKIP
        } else {
            0
        }
    }

    /// How many scenarios had this outcome.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.scenarios
            .iter()
            .filter(|s| s.outcome == outcome)
            .count()
    }

    /// "6.12.117", or "6.12.117+nosoftlockup" when arguments were appended.
    pub fn label(&self) -> String {
        std::iter::once(self.kernel.clone())
            .chain(self.append.iter().cloned())
            .collect::<Vec<_>>()
            .join("+")
    }
}

/// The results file's text.
pub fn to_json(runs: &[RunResult]) -> String {
    let results = Results {
        schema_version: SCHEMA_VERSION,
        runs: runs.to_vec(),
    };
    serde_json::to_string_pretty(&results).expect("results always serialize")
}

/// Reads a results file, refusing other schema versions and other files with a one-line error.
pub fn read(path: &Path) -> Result<Results> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    match value.get("schema_version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(SCHEMA_VERSION) => {}
        Some(v) => bail!(
            "{} has results schema version {v}; this hogs reads version {SCHEMA_VERSION}",
            path.display()
        ),
        None => bail!(
            "{} is not a `hogs run --json` results file (no schema_version)",
            path.display()
        ),
    }
    serde_json::from_value(value)
        .with_context(|| format!("{} does not follow the results schema", path.display()))
}

/// Joins the shards of runs (`hogs run --shard I/N`, one file each) into whole runs: the runs of
/// one kernel (and appended arguments) become one, their boots and scenarios in boot order. A
/// scenario or boot that is in two shards, or shards of different splits, are an error.
pub fn merge(parts: Vec<RunResult>) -> Result<Vec<RunResult>> {
    let mut merged: Vec<RunResult> = Vec::new();
    for part in parts {
        match merged
            .iter_mut()
            .find(|m| m.kernel == part.kernel && m.append == part.append)
        {
            Some(whole) => join(whole, part)?,
            None => merged.push(part),
        }
    }
    for run in &mut merged {
        run.boots.sort_by_key(|b| b.index);
        // Stable: scenarios keep their order within a boot.
        run.scenarios.sort_by_key(|s| s.boot);
        if has_every_shard(run) {
            run.shard = None;
        }
    }
    Ok(merged)
}

/// Adds `part` to `whole`, another shard of the same kernel's run.
fn join(whole: &mut RunResult, part: RunResult) -> Result<()> {
    let splits = |s: &Option<String>| {
        s.as_deref()
            .and_then(|s| s.split_once('/'))
            .map(|(_, n)| n.to_owned())
    };
    if (whole.isolate, whole.shuffle_seed) != (part.isolate, part.shuffle_seed) {
        bail!(
            "cannot merge shards grouped differently (--isolate or --shuffle) for Linux {}",
            part.kernel
        );
    }
    if splits(&whole.shard) != splits(&part.shard) {
        bail!(
            "cannot merge shards of different splits ({} and {}) for Linux {}",
            whole.shard.as_deref().unwrap_or("whole run"),
            part.shard.as_deref().unwrap_or("whole run"),
            part.kernel
        );
    }
    if let Some(s) = part
        .scenarios
        .iter()
        .find(|s| whole.scenarios.iter().any(|w| w.name == s.name))
    {
        bail!(
            "scenario `{}` on Linux {} is in two of the files",
            s.name,
            part.kernel
        );
    }
    if let Some(b) = part
        .boots
        .iter()
        .find(|b| whole.boots.iter().any(|w| w.index == b.index))
    {
        bail!(
            "boot {} on Linux {} is in two of the files",
            b.index,
            part.kernel
        );
    }
    whole.boots.extend(part.boots);
    whole.scenarios.extend(part.scenarios);
    whole.wall_secs = whole.wall_secs.max(part.wall_secs);
    whole.shard = match (&whole.shard, &part.shard) {
        (Some(a), Some(b)) => Some(format!("{a}+{b}")),
        _ => None,
    };
    Ok(())
}

/// Every shard of the split is in the merged run (`1/2+2/2`): it is whole again.
fn has_every_shard(run: &RunResult) -> bool {
    let shards: Vec<&str> = run
        .shard
        .as_deref()
        .map_or(vec![], |s| s.split('+').collect());
    let Some(n) = shards
        .first()
        .and_then(|s| s.split_once('/'))
        .map(|(_, n)| n)
    else {
        return false;
    };
    let mut got: Vec<&str> = shards
        .iter()
        .filter_map(|s| s.split_once('/').map(|(i, _)| i))
        .collect();
    got.sort_by_key(|i| i.parse::<usize>().unwrap_or(0));
    let all: Vec<String> = (1..=n.parse::<usize>().unwrap_or(0))
        .map(|i| i.to_string())
        .collect();
    got == all.iter().map(String::as_str).collect::<Vec<_>>()
}

/// The JSON Schema of results files.
pub fn schema() -> String {
    let schema = schemars::schema_for!(Results);
    serde_json::to_string_pretty(&schema).expect("the schema serializes") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_schema_is_the_generated_one() {
        let committed = include_str!("../../schema/results.schema.json");
        assert!(
            committed == schema(),
            "schema/results.schema.json is stale: run `target/release/hogs schema > schema/results.schema.json`"
        );
    }

    fn run(shard: &str, boots: &[(usize, &str)]) -> RunResult {
        let json = serde_json::json!({
            "kernel": "6.12.117", "arch": "x86_64", "kernel_dir": "/k", "append": [], "dir": ".", "wall_secs": 1.0,
            "shard": shard,
            "boots": boots.iter().map(|(i, _)| serde_json::json!({
                "index": i, "scenarios": [], "cpus": 2, "cmdline": [], "boot_secs": null,
                "wall_secs": 1.0, "exit": "vng exited with status 0", "timed_out": false,
                "survivors": [], "preempt": null, "console_log": format!("boot-{i}.console.log")
            })).collect::<Vec<_>>(),
            "scenarios": boots.iter().map(|(i, name)| serde_json::json!({
                "name": name, "summary": "", "boot": i, "outcome": "PASS", "reasons": [],
                "expectations": [], "latency_secs": null, "latency_earliest_secs": null,
                "latency_bound_secs": null, "duration_secs": null, "preempt": null,
                "reports": [], "excerpt": ""
            })).collect::<Vec<_>>(),
        });
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_bisect_step_says_good_bad_or_skip() {
        let with = |outcomes: &[Outcome]| {
            let mut r = run("1/1", &[(1, "a"), (2, "b"), (3, "c")]);
            for (s, o) in r.scenarios.iter_mut().zip(outcomes) {
                s.outcome = *o;
            }
            RunResult::bisect_code(&[r])
        };
        use Outcome::*;
        assert_eq!(with(&[Pass, Pass, Skip]), 0);
        assert_eq!(with(&[Pass, Fail, Pass]), 1);
        assert_eq!(with(&[Fail, Timeout, Pass]), 1);
        assert_eq!(
            with(&[Pass, Timeout, Pass]),
            BISECT_SKIP,
            "a deadline says nothing sure"
        );
        assert_eq!(
            with(&[Pass, Error, Pass]),
            BISECT_SKIP,
            "a guest that did not boot"
        );
        assert_eq!(with(&[Skip, Skip, Skip]), BISECT_SKIP, "nothing was tested");
    }

    #[test]
    fn shards_merge_into_the_whole_run_in_boot_order() {
        let merged = merge(vec![
            run("2/2", &[(2, "b")]),
            run("1/2", &[(1, "a"), (3, "c")]),
        ])
        .unwrap();
        assert_eq!(merged.len(), 1);
        let names: Vec<&str> = merged[0]
            .scenarios
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(merged[0].shard, None, "every shard of the split is there");
        let half = merge(vec![run("1/3", &[(1, "a")]), run("2/3", &[(2, "b")])]).unwrap();
        assert_eq!(half[0].shard.as_deref(), Some("1/3+2/3"));
        let err = merge(vec![run("1/2", &[(1, "a")]), run("2/2", &[(1, "a")])]).unwrap_err();
        assert!(
            err.to_string()
                .contains("scenario `a` on Linux 6.12.117 is in two of the files"),
            "{err}"
        );
        let err = merge(vec![run("1/2", &[(1, "a")]), run("1/3", &[(2, "b")])]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot merge shards of different splits"),
            "{err}"
        );
    }

    #[test]
    fn other_files_and_versions_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        std::fs::write(&path, r#"{"runs":[]}"#).unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(
            err.ends_with("is not a `hogs run --json` results file (no schema_version)"),
            "{err}"
        );
        std::fs::write(&path, r#"{"schema_version":1,"runs":[]}"#).unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(
            err.ends_with("has results schema version 1; this hogs reads version 2"),
            "{err}"
        );
        std::fs::write(&path, to_json(&[])).unwrap();
        assert_eq!(read(&path).unwrap().runs.len(), 0);
    }
}
