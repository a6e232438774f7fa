//! Machine-readable results: KTAP v1 (as kselftest prints it), JUnit XML, JSON.

use std::fmt::Write as _;

use anyhow::Result;
use quick_junit::{NonSuccessKind, Report as JunitReport, TestCase, TestCaseStatus, TestSuite};

use crate::judge::Outcome;
use crate::runner::RunResult;

/// KTAP v1: one kernel gives a flat list of scenarios; several give one subtest per kernel.
pub fn ktap(runs: &[RunResult]) -> String {
    match runs {
        [run] => ktap_run(run, ""),
        _ => {
            let mut s = String::from("KTAP version 1\n");
            let _ = writeln!(s, "1..{}", runs.len());
            for (i, run) in runs.iter().enumerate() {
                // Documentation/dev-tools/ktap.rst: a subtest is indented two spaces and starts
                // with its own version line; KUnit names it right after that.
                s += &ktap_run(run, "  ");
                let ok = if run.passed() { "ok" } else { "not ok" };
                let _ = writeln!(s, "{ok} {} linux-{}", i + 1, run_label(run));
            }
            s
        }
    }
}

/// "6.12.117", or "6.12.117+nosoftlockup" when arguments were appended.
fn run_label(run: &RunResult) -> String {
    std::iter::once(run.kernel.clone())
        .chain(run.append.iter().cloned())
        .collect::<Vec<_>>()
        .join("+")
}

fn ktap_run(run: &RunResult, indent: &str) -> String {
    let mut s = String::new();
    let mut line = |text: String| {
        s += indent;
        s += &text;
        s.push('\n');
    };
    line("KTAP version 1".into());
    if !indent.is_empty() {
        line(format!("# Subtest: linux-{}", run_label(run)));
    }
    line(format!(
        "# hogs on Linux {} ({})",
        run.kernel,
        run.kernel_dir.display()
    ));
    if !run.append.is_empty() {
        line(format!(
            "# appended to every boot: {}",
            run.append.join(" ")
        ));
    }
    line(format!("1..{}", run.scenarios.len()));
    for (i, r) in run.scenarios.iter().enumerate() {
        for reason in &r.reasons {
            line(format!("# {}: {}", r.name, reason.replace('\n', " ")));
        }
        for e in r.expectations.iter().filter(|e| e.contains("preempt=")) {
            line(format!("# {}: {e}", r.name));
        }
        if let (Some(l), Some(b)) = (r.latency_secs, r.latency_bound_secs) {
            line(format!(
                "# {}: detected after {l:.2} s (bound {b:.1} s)",
                r.name
            ));
        }
        let n = i + 1;
        line(match r.outcome {
            Outcome::Pass => format!("ok {n} {}", r.name),
            Outcome::Fail => format!("not ok {n} {}", r.name),
            Outcome::Timeout => format!("not ok {n} {} # TIMEOUT", r.name),
            Outcome::Error => format!("not ok {n} {} # ERROR", r.name),
        });
    }
    let count = |o: Outcome| run.scenarios.iter().filter(|r| r.outcome == o).count();
    let totals = format!(
        "# Totals: pass:{} fail:{} xfail:0 xpass:0 skip:0 error:{}",
        count(Outcome::Pass),
        count(Outcome::Fail),
        count(Outcome::Error) + count(Outcome::Timeout)
    );
    line(totals);
    s
}

/// JUnit XML: one test suite per kernel.
pub fn junit(runs: &[RunResult]) -> Result<String> {
    let mut report = JunitReport::new("hogs");
    for run in runs {
        report.add_test_suite(junit_suite(run));
    }
    Ok(report.to_string()?)
}

fn junit_suite(run: &RunResult) -> TestSuite {
    let mut suite = TestSuite::new(format!("hogs on Linux {}", run_label(run)));
    for r in &run.scenarios {
        let status = match r.outcome {
            Outcome::Pass => TestCaseStatus::success(),
            Outcome::Fail => {
                let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
                st.set_message(r.reasons.first().cloned().unwrap_or_default());
                st.set_description(r.reasons.join("\n"));
                st
            }
            Outcome::Timeout | Outcome::Error => {
                let mut st = TestCaseStatus::non_success(NonSuccessKind::Error);
                st.set_type(format!("{:?}", r.outcome).to_uppercase());
                st.set_message(r.reasons.first().cloned().unwrap_or_default());
                st.set_description(r.reasons.join("\n"));
                st
            }
        };
        let mut case = TestCase::new(r.name.clone(), status);
        case.set_classname(format!("hogs.{}", run.kernel));
        if let Some(l) = r.latency_secs {
            case.add_property(quick_junit::Property::new(
                "latency_secs",
                format!("{l:.3}"),
            ));
        }
        if let Some(b) = r.latency_bound_secs {
            case.add_property(quick_junit::Property::new(
                "latency_bound_secs",
                format!("{b:.1}"),
            ));
        }
        suite.add_test_case(case);
    }
    suite
}

/// JSON: `{"runs": [one result per kernel]}`, which `hogs compare` reads back.
pub fn json(runs: &[RunResult]) -> Result<String> {
    Ok(serde_json::to_string_pretty(
        &serde_json::json!({ "runs": runs }),
    )?)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::runner::ScenarioResult;

    fn run() -> RunResult {
        let result = |name: &str, outcome, reasons: &[&str]| ScenarioResult {
            name: name.into(),
            summary: "s".into(),
            boot: 1,
            outcome,
            reasons: reasons.iter().map(|s| s.to_string()).collect(),
            expectations: vec![],
            latency_secs: Some(4.25),
            latency_bound_secs: Some(4.8),
            preempt: None,
            reports: vec![],
        };
        RunResult {
            kernel: "6.12.117".into(),
            kernel_dir: PathBuf::from("/k"),
            append: vec![],
            out_dir: PathBuf::from("/o"),
            wall_secs: 1.0,
            boots: vec![],
            scenarios: vec![
                result("busy-loop", Outcome::Pass, &[]),
                result(
                    "irqsave-loop",
                    Outcome::Fail,
                    &["expected hard_lockup, got none"],
                ),
                result("hung", Outcome::Timeout, &["not reached"]),
            ],
        }
    }

    #[test]
    fn ktap_lines() {
        let k = ktap(&[run()]);
        let lines: Vec<&str> = k.lines().collect();
        assert_eq!(lines[0], "KTAP version 1");
        assert!(lines.contains(&"1..3"));
        assert!(lines.contains(&"ok 1 busy-loop"));
        assert!(lines.contains(&"# irqsave-loop: expected hard_lockup, got none"));
        assert!(lines.contains(&"not ok 2 irqsave-loop"));
        assert!(lines.contains(&"not ok 3 hung # TIMEOUT"));
        assert!(lines.contains(&"# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:0 error:1"));
    }

    #[test]
    fn junit_and_json_carry_the_verdicts() {
        let x = junit(&[run()]).unwrap();
        assert!(x.contains("tests=\"3\""), "{x}");
        assert!(x.contains("failures=\"1\""), "{x}");
        assert!(x.contains("errors=\"1\""), "{x}");
        assert!(x.contains("expected hard_lockup, got none"));
        let j: serde_json::Value = serde_json::from_str(&json(&[run()]).unwrap()).unwrap();
        assert_eq!(j["runs"][0]["kernel"], "6.12.117");
        assert_eq!(j["runs"][0]["scenarios"][1]["outcome"], "FAIL");
        assert_eq!(j["runs"][0]["scenarios"][0]["latency_secs"], 4.25);
    }

    #[test]
    fn ktap_nests_one_subtest_per_kernel() {
        let mut other = run();
        other.kernel = "7.3.4".into();
        other.scenarios.truncate(1);
        let k = ktap(&[run(), other]);
        let lines: Vec<&str> = k.lines().collect();
        assert_eq!(
            &lines[..4],
            [
                "KTAP version 1",
                "1..2",
                "  KTAP version 1",
                "  # Subtest: linux-6.12.117"
            ]
        );
        assert!(lines.contains(&"  ok 1 busy-loop"));
        assert!(lines.contains(&"not ok 1 linux-6.12.117"));
        assert!(lines.contains(&"ok 2 linux-7.3.4"));
        let x = junit(&[run(), run()]).unwrap();
        assert_eq!(x.matches("<testsuite ").count(), 2, "{x}");
    }
}
