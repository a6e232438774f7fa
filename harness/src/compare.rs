//! `hogs compare`: two runs side by side (two kernels, or baseline vs patched), flagging the
//! scenarios whose verdict changed and the detection latencies that moved beyond noise.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Result};

use crate::results::{self, RunResult, ScenarioResult};

/// One side of the comparison: a run read from a results file.
pub type Side = RunResult;
type SideScenario = ScenarioResult;

/// "6.12.117" or "6.12.117 +nosoftlockup".
fn label(side: &Side) -> String {
    if side.append.is_empty() {
        side.kernel.clone()
    } else {
        format!("{} +{}", side.kernel, side.append.join(" +"))
    }
}

/// The runs in the given result files: exactly two in all (one file with two kernels, or two
/// files with one each).
pub fn load(files: &[&Path]) -> Result<(Side, Side)> {
    let mut sides = Vec::new();
    for file in files {
        sides.extend(results::read(file)?.runs);
    }
    match <[Side; 2]>::try_from(sides) {
        Ok([a, b]) => Ok((a, b)),
        Err(sides) => bail!(
            "compare needs exactly two runs, the files hold {} (run `hogs run --kernel A --kernel B --json FILE`, or give two files)",
            sides.len()
        ),
    }
}

/// A latency change counts when it is larger than TCG's noise: measured spread of one scenario
/// over ten warm runs was about 1.4 s at watchdog_thresh=2.
const LATENCY_NOISE_SECS: f64 = 2.0;

/// What changed between the two sides for one scenario, if anything.
fn change(a: Option<&SideScenario>, b: Option<&SideScenario>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) if a.outcome != b.outcome => {
            Some(format!("verdict {} -> {}", a.outcome, b.outcome))
        }
        (Some(a), Some(b)) => match (a.latency_secs, b.latency_secs) {
            (Some(x), Some(y)) if (y - x).abs() > LATENCY_NOISE_SECS => {
                Some(format!("latency {:+.1} s", y - x))
            }
            _ => None,
        },
        (Some(_), None) => Some("only in A".to_owned()),
        (None, Some(_)) => Some("only in B".to_owned()),
        (None, None) => None,
    }
}

fn cell(s: Option<&SideScenario>) -> String {
    match s {
        None => "-".to_owned(),
        Some(s) => match s.latency_secs {
            Some(l) => format!("{} {l:.1} s", s.outcome),
            None => s.outcome.to_string(),
        },
    }
}

fn find<'a>(side: &'a Side, name: &str) -> Option<&'a SideScenario> {
    side.scenarios.iter().find(|s| s.name == name)
}

/// The table, and whether any verdict changed. `only` restricts it to these scenarios (each
/// must then be on both sides); empty means every scenario of either side.
pub fn table(a: &Side, b: &Side, only: &[String]) -> (String, bool) {
    let mut names: Vec<&str> = a.scenarios.iter().map(|s| s.name.as_str()).collect();
    for s in &b.scenarios {
        if !names.contains(&s.name.as_str()) {
            names.push(&s.name);
        }
    }
    if !only.is_empty() {
        names = only.iter().map(String::as_str).collect();
    }
    let (la, lb) = (format!("A: {}", label(a)), format!("B: {}", label(b)));
    let mut out = String::new();
    let _ = writeln!(out, "{:<30} {:<24} {:<24} change", "scenario", la, lb);
    let (mut verdicts, mut latencies) = (0, 0);
    for name in names {
        let (sa, sb) = (find(a, name), find(b, name));
        let what = change(sa, sb);
        match &what {
            Some(w) if w.starts_with("latency") => latencies += 1,
            // A scenario that ran on one side only is a changed verdict too: a rename or a
            // dropped scenario must not pass a comparison silently.
            Some(_) => verdicts += 1,
            None => {}
        }
        let _ = writeln!(
            out,
            "{name:<30} {:<24} {:<24} {}",
            cell(sa),
            cell(sb),
            what.as_deref().unwrap_or("")
        );
        if let (Some(w), Some(sb)) = (&what, sb) {
            if w.starts_with("verdict") {
                for reason in &sb.reasons {
                    let _ = writeln!(out, "{:<30}   B: {reason}", "");
                }
            }
        }
    }
    let _ = writeln!(
        out,
        "{verdicts} scenario(s) changed verdict, {latencies} latency(ies) moved by more than {LATENCY_NOISE_SECS} s"
    );
    (out, verdicts > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::Outcome;

    fn side(kernel: &str, append: &[&str], scenarios: &[(&str, Outcome, Option<f64>)]) -> Side {
        Side {
            kernel: kernel.into(),
            arch: "x86_64".into(),
            kernel_dir: "/k".into(),
            append: append.iter().map(|s| s.to_string()).collect(),
            dir: ".".into(),
            wall_secs: 0.0,
            shard: None,
            isolate: false,
            shuffle_seed: None,
            boots: vec![],
            scenarios: scenarios
                .iter()
                .map(|(n, o, l)| SideScenario {
                    name: n.to_string(),
                    summary: String::new(),
                    boot: 1,
                    outcome: *o,
                    reasons: vec![],
                    expectations: vec![],
                    latency_secs: *l,
                    latency_earliest_secs: None,
                    latency_bound_secs: None,
                    duration_secs: None,
                    timer_lag_secs: None,
                    preempt: None,
                    reports: vec![],
                    excerpt: String::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_broken_watchdog_shows_as_changed_verdicts() {
        let a = side(
            "6.12.117",
            &[],
            &[
                ("busy-loop", Outcome::Pass, Some(6.1)),
                ("polite-control", Outcome::Pass, None),
            ],
        );
        let b = side(
            "6.12.117",
            &["nosoftlockup"],
            &[
                ("busy-loop", Outcome::Fail, None),
                ("polite-control", Outcome::Pass, None),
            ],
        );
        let (text, changed) = table(&a, &b, &[]);
        assert!(changed);
        assert!(text.contains("B: 6.12.117 +nosoftlockup"), "{text}");
        let busy = text.lines().find(|l| l.starts_with("busy-loop")).unwrap();
        assert!(
            busy.contains("PASS 6.1 s") && busy.ends_with("verdict PASS -> FAIL"),
            "{busy}"
        );
        let polite = text
            .lines()
            .find(|l| l.starts_with("polite-control"))
            .unwrap();
        assert!(polite.trim_end().ends_with("PASS"), "{polite}");
        assert!(text
            .ends_with("1 scenario(s) changed verdict, 0 latency(ies) moved by more than 2 s\n"));
    }

    #[test]
    fn latency_moves_only_beyond_noise() {
        let a = side(
            "6.12.117",
            &[],
            &[
                ("x", Outcome::Pass, Some(5.0)),
                ("y", Outcome::Pass, Some(5.0)),
            ],
        );
        let b = side(
            "7.3.4",
            &[],
            &[
                ("x", Outcome::Pass, Some(6.2)),
                ("y", Outcome::Pass, Some(8.0)),
            ],
        );
        let (text, changed) = table(&a, &b, &[]);
        assert!(!changed);
        assert!(
            text.lines()
                .any(|l| l.starts_with("y ") && l.ends_with("latency +3.0 s")),
            "{text}"
        );
        assert!(
            text.lines()
                .any(|l| l.starts_with("x ") && l.trim_end().ends_with("PASS 6.2 s")),
            "{text}"
        );
    }

    #[test]
    fn a_scenario_on_one_side_only_is_a_change() {
        let a = side(
            "6.12.117",
            &[],
            &[("x", Outcome::Pass, None), ("y", Outcome::Pass, None)],
        );
        let b = side(
            "7.3.4",
            &[],
            &[("x", Outcome::Pass, None), ("z", Outcome::Pass, None)],
        );
        let (text, changed) = table(&a, &b, &[]);
        assert!(changed, "{text}");
        assert!(
            text.lines()
                .any(|l| l.starts_with("y ") && l.ends_with("only in A")),
            "{text}"
        );
        assert!(
            text.lines()
                .any(|l| l.starts_with("z ") && l.ends_with("only in B")),
            "{text}"
        );
        assert!(
            text.ends_with(
                "2 scenario(s) changed verdict, 0 latency(ies) moved by more than 2 s\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn needs_exactly_two_runs() {
        let dir = tempfile::tempdir().unwrap();
        let one = dir.path().join("one.json");
        std::fs::write(&one, results::to_json(&[side("6.12.117", &[], &[])])).unwrap();
        let err = load(&[&one]).unwrap_err().to_string();
        assert!(
            err.starts_with("compare needs exactly two runs, the files hold 1"),
            "{err}"
        );
        assert!(load(&[&one, &one]).is_ok());
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{}").unwrap();
        assert!(load(&[&bad])
            .unwrap_err()
            .to_string()
            .contains("is not a `hogs run --json` results file"));
    }
}
