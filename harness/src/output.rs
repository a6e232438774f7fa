//! Machine-readable results: KTAP v1 (as kselftest prints it), JUnit XML, JSON.

use std::fmt::Write as _;

use anyhow::Result;
use quick_junit::{NonSuccessKind, Report as JunitReport, TestCase, TestCaseStatus, TestSuite};

use crate::judge::Outcome;
use crate::runner::RunResult;

pub fn ktap(run: &RunResult) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "KTAP version 1");
    let _ = writeln!(
        s,
        "# hogs on Linux {} ({})",
        run.kernel,
        run.kernel_dir.display()
    );
    if !run.append.is_empty() {
        let _ = writeln!(s, "# appended to every boot: {}", run.append.join(" "));
    }
    let _ = writeln!(s, "1..{}", run.scenarios.len());
    for (i, r) in run.scenarios.iter().enumerate() {
        for reason in &r.reasons {
            let _ = writeln!(s, "# {}: {}", r.name, reason.replace('\n', " "));
        }
        for e in r.expectations.iter().filter(|e| e.contains("preempt=")) {
            let _ = writeln!(s, "# {}: {e}", r.name);
        }
        if let (Some(l), Some(b)) = (r.latency_secs, r.latency_bound_secs) {
            let _ = writeln!(s, "# {}: detected after {l:.2} s (bound {b:.1} s)", r.name);
        }
        let n = i + 1;
        let _ = match r.outcome {
            Outcome::Pass => writeln!(s, "ok {n} {}", r.name),
            Outcome::Fail => writeln!(s, "not ok {n} {}", r.name),
            Outcome::Timeout => writeln!(s, "not ok {n} {} # TIMEOUT", r.name),
            Outcome::Error => writeln!(s, "not ok {n} {} # ERROR", r.name),
        };
    }
    let count = |o: Outcome| run.scenarios.iter().filter(|r| r.outcome == o).count();
    let _ = writeln!(
        s,
        "# Totals: pass:{} fail:{} xfail:0 xpass:0 skip:0 error:{}",
        count(Outcome::Pass),
        count(Outcome::Fail),
        count(Outcome::Error) + count(Outcome::Timeout)
    );
    s
}

pub fn junit(run: &RunResult) -> Result<String> {
    let mut report = JunitReport::new("hogs");
    let mut suite = TestSuite::new(format!("hogs on Linux {}", run.kernel));
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
    report.add_test_suite(suite);
    Ok(report.to_string()?)
}

pub fn json(run: &RunResult) -> Result<String> {
    Ok(serde_json::to_string_pretty(run)?)
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
        let k = ktap(&run());
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
        let x = junit(&run()).unwrap();
        assert!(x.contains("tests=\"3\""), "{x}");
        assert!(x.contains("failures=\"1\""), "{x}");
        assert!(x.contains("errors=\"1\""), "{x}");
        assert!(x.contains("expected hard_lockup, got none"));
        let j: serde_json::Value = serde_json::from_str(&json(&run()).unwrap()).unwrap();
        assert_eq!(j["kernel"], "6.12.117");
        assert_eq!(j["scenarios"][1]["outcome"], "FAIL");
        assert_eq!(j["scenarios"][0]["latency_secs"], 4.25);
    }
}
