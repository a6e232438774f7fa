//! The outputs CI systems read, each from the results types ([`crate::results`]): KTAP v1 as
//! kselftest and KUnit print it, JUnit XML, KCIDB v5 JSON (KernelCI). The JSON results file
//! itself is [`crate::results::to_json`].

use std::fmt::Write as _;

use anyhow::Result;
use quick_junit::{NonSuccessKind, Report as JunitReport, TestCase, TestCaseStatus, TestSuite};

use crate::judge::Outcome;
use crate::results::{RunResult, ScenarioResult};

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

fn run_label(run: &RunResult) -> String {
    run.label()
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
        run.kernel, run.kernel_dir
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
            Outcome::Skip => format!(
                "ok {n} {} # SKIP {}",
                r.name,
                r.reasons.join("; ").replace('\n', " ")
            ),
        });
    }
    let count = |o| run.count(o);
    let totals = format!(
        "# Totals: pass:{} fail:{} xfail:0 xpass:0 skip:{} error:{}",
        count(Outcome::Pass),
        count(Outcome::Fail),
        count(Outcome::Skip),
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
        let mut status = match r.outcome {
            Outcome::Pass => TestCaseStatus::success(),
            Outcome::Skip => TestCaseStatus::skipped(),
            Outcome::Fail => TestCaseStatus::non_success(NonSuccessKind::Failure),
            Outcome::Timeout | Outcome::Error => {
                let mut st = TestCaseStatus::non_success(NonSuccessKind::Error);
                st.set_type(r.outcome.to_string());
                st
            }
        };
        if r.outcome != Outcome::Pass {
            status.set_message(r.reasons.join("; "));
            status.set_description(r.reasons.join("\n"));
        }
        let mut case = TestCase::new(r.name.clone(), status);
        case.set_classname(format!("hogs.{}", run.kernel));
        if let Some(d) = r.duration_secs {
            case.set_time(std::time::Duration::from_secs_f64(d.max(0.0)));
        }
        // The scenario's console, so a CI page shows the report without the artifacts.
        if !r.excerpt.is_empty() {
            case.set_system_out(r.excerpt.clone());
        }
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

/// KCIDB v5.3 (KernelCI's common database): a checkout and a build per kernel, a test per
/// scenario, with the detection latency as the test's `number` and its console as log excerpt.
/// `run_id` makes the ids unique per run (e.g. the run folder's name).
pub fn kcidb(runs: &[RunResult], run_id: &str) -> String {
    use serde_json::json;
    let (mut checkouts, mut builds, mut tests) = (Vec::new(), Vec::new(), Vec::new());
    for run in runs {
        let label = kcidb_id(&run_label(run));
        let checkout = format!("hogs:{}:{label}", kcidb_id(run_id));
        let build = format!("{checkout}:build");
        if !checkouts
            .iter()
            .any(|c: &serde_json::Value| c["id"] == checkout.as_str())
        {
            checkouts.push(json!({
                "id": checkout,
                "origin": "hogs",
                "comment": format!("Linux {}", run.kernel),
                "valid": true,
            }));
            builds.push(json!({
                "id": build,
                "checkout_id": checkout,
                "origin": "hogs",
                "architecture": run.arch,
                "config_name": "hogs",
                "comment": format!("Linux {} ({})", run.kernel, run.kernel_dir),
                "status": "PASS",
            }));
        }
        tests.extend(run.scenarios.iter().map(|r| kcidb_test(run, r, &build)));
    }
    let doc = json!({
        "version": { "major": 5, "minor": 3 },
        "checkouts": checkouts,
        "builds": builds,
        "tests": tests,
    });
    serde_json::to_string_pretty(&doc).expect("KCIDB documents always serialize")
}

/// `s` with what KCIDB ids do not allow replaced by `_`.
fn kcidb_id(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// One scenario's KCIDB test, under `build`.
fn kcidb_test(run: &RunResult, r: &ScenarioResult, build: &str) -> serde_json::Value {
    use serde_json::json;
    let mut test = json!({
        "id": format!("{build}:{}", kcidb_id(&r.name)),
        "build_id": build,
        "origin": "hogs",
        "path": format!("hogs.{}", kcidb_id(&r.name).replace('.', "_")),
        "comment": r.summary,
        "status": match r.outcome {
            Outcome::Pass => "PASS",
            Outcome::Fail => "FAIL",
            Outcome::Timeout | Outcome::Error => "ERROR",
            Outcome::Skip => "SKIP",
        },
        "misc": {
            "outcome": r.outcome,
            "reasons": r.reasons,
            "latency_bound_secs": r.latency_bound_secs,
            "appended": run.append,
        },
    });
    if let Some(l) = r.latency_secs {
        test["number"] = json!({ "value": l, "unit": "s" });
    }
    if let Some(d) = r.duration_secs {
        test["duration"] = json!(d.max(0.0));
    }
    if !r.excerpt.is_empty() {
        // KCIDB keeps at most 16 KiB of a log excerpt.
        let excerpt: String = r.excerpt.chars().take(16 * 1024).collect();
        test["log_excerpt"] = json!(excerpt);
    }
    test
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::ScenarioResult;

    fn run() -> RunResult {
        let result = |name: &str, outcome, reasons: &[&str]| ScenarioResult {
            name: name.into(),
            summary: "s".into(),
            boot: 1,
            outcome,
            reasons: reasons.iter().map(|s| s.to_string()).collect(),
            expectations: vec![],
            latency_secs: Some(4.25),
            latency_earliest_secs: Some(1.0),
            latency_bound_secs: Some(4.8),
            duration_secs: Some(7.5),
            timer_lag_secs: None,
            preempt: None,
            reports: vec![],
            excerpt: format!("[ 1.0] {name} console\n"),
        };
        RunResult {
            kernel: "6.12.117".into(),
            arch: "x86_64".into(),
            kernel_dir: "/k".into(),
            append: vec![],
            dir: ".".into(),
            wall_secs: 1.0,
            shard: None,
            isolate: false,
            shuffle_seed: None,
            boots: vec![],
            scenarios: vec![
                result("busy-loop", Outcome::Pass, &[]),
                result(
                    "irqsave-loop",
                    Outcome::Fail,
                    &["expected hard_lockup, got none"],
                ),
                result("hung", Outcome::Timeout, &["not reached"]),
                result(
                    "rcu",
                    Outcome::Skip,
                    &["not run: the kernel has no CONFIG_X"],
                ),
            ],
        }
    }

    #[test]
    fn ktap_lines() {
        let k = ktap(&[run()]);
        let lines: Vec<&str> = k.lines().collect();
        assert_eq!(lines[0], "KTAP version 1");
        assert!(lines.contains(&"1..4"));
        assert!(lines.contains(&"ok 1 busy-loop"));
        assert!(lines.contains(&"# irqsave-loop: expected hard_lockup, got none"));
        assert!(lines.contains(&"not ok 2 irqsave-loop"));
        assert!(lines.contains(&"not ok 3 hung # TIMEOUT"));
        assert!(lines.contains(&"ok 4 rcu # SKIP not run: the kernel has no CONFIG_X"));
        assert!(lines.contains(&"# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:1"));
    }

    #[test]
    fn junit_and_json_carry_the_verdicts() {
        let x = junit(&[run()]).unwrap();
        assert!(x.contains("tests=\"4\""), "{x}");
        assert!(x.contains("skipped=\"1\""), "{x}");
        assert!(x.contains("failures=\"1\""), "{x}");
        assert!(x.contains("errors=\"1\""), "{x}");
        assert!(x.contains("expected hard_lockup, got none"));
        assert!(x.contains("time=\"7.500\""), "{x}");
        assert!(x.contains("<system-out>[ 1.0] irqsave-loop console"), "{x}");
        let j: serde_json::Value =
            serde_json::from_str(&crate::results::to_json(&[run()])).unwrap();
        assert_eq!(j["schema_version"], 2);
        assert_eq!(j["runs"][0]["arch"], "x86_64");
        assert_eq!(j["runs"][0]["kernel"], "6.12.117");
        assert_eq!(j["runs"][0]["scenarios"][1]["outcome"], "FAIL");
        assert_eq!(j["runs"][0]["scenarios"][0]["latency_secs"], 4.25);
    }

    #[test]
    fn kcidb_has_a_test_per_scenario_with_latency_and_log() {
        let k: serde_json::Value = serde_json::from_str(&kcidb(&[run()], "run-1")).unwrap();
        assert_eq!(k["version"]["major"], 5);
        assert_eq!(k["checkouts"].as_array().unwrap().len(), 1);
        let tests = k["tests"].as_array().unwrap();
        assert_eq!(tests.len(), 4);
        assert_eq!(tests[3]["status"], "SKIP");
        assert_eq!(tests[0]["id"], "hogs:run-1:6.12.117:build:busy-loop");
        assert_eq!(tests[0]["path"], "hogs.busy-loop");
        assert_eq!(tests[0]["status"], "PASS");
        assert_eq!(tests[0]["number"]["value"], 4.25);
        assert_eq!(tests[1]["status"], "FAIL");
        assert_eq!(tests[2]["status"], "ERROR");
        assert_eq!(tests[2]["misc"]["outcome"], "TIMEOUT");
    }

    #[test]
    fn skips_pass_only_beside_a_pass_and_no_failure() {
        let mut r = run();
        assert!(!r.passed());
        r.scenarios
            .retain(|s| matches!(s.outcome, Outcome::Pass | Outcome::Skip));
        assert!(r.passed());
        r.scenarios.retain(|s| s.outcome == Outcome::Skip);
        assert!(!r.passed(), "a run that only skipped checked nothing");
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
