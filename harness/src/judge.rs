//! Verdicts: a scenario's rules against the reports parsed from its part of the console.

use serde::{Deserialize, Serialize};

use crate::report::Report;
use crate::scenario::{Preempt, Scenario};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Outcome {
    Pass,
    Fail,
    /// The boot ran out of time before the scenario finished.
    Timeout,
    /// The scenario could not be run (the guest never started, the module did not load...).
    Error,
}

/// What the guest saw while running the scenario, as far as the judge needs it.
#[derive(Debug, Clone, Default)]
pub struct Run<'a> {
    /// Reports attributed to the scenario.
    pub reports: &'a [Report],
    /// The preemption model the guest ran, if known.
    pub preempt: Option<Preempt>,
    /// The guest panicked during the scenario (the boot ended there).
    pub panicked: bool,
    /// The guest finished the scenario (its end marker was seen).
    pub finished: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub outcome: Outcome,
    /// Why it is not a pass; empty for a pass.
    pub reasons: Vec<String>,
    /// Which expectations applied (or did not) for the preemption model seen, so a reader of
    /// any result knows why a report was or was not required.
    pub expectations: Vec<String>,
}

impl Verdict {
    pub fn new(outcome: Outcome, reason: impl Into<String>) -> Verdict {
        Verdict {
            outcome,
            reasons: vec![reason.into()],
            expectations: Vec::new(),
        }
    }
}

/// Judges a scenario that ran (the guest reached it) against the reports in its window.
pub fn judge(scenario: &Scenario, run: &Run) -> Verdict {
    let mut reasons = Vec::new();
    let mut expectations = Vec::new();
    let model_unknown = run.preempt.is_none();
    let model = run.preempt.map_or("unknown".to_owned(), |m| m.to_string());

    for rule in &scenario.expect {
        let models = rule.preempt.as_ref().map(|m| {
            let names: Vec<String> = m.iter().map(|p| p.to_string()).collect();
            names.join("/")
        });
        expectations.push(match (&models, rule.applies_to(run.preempt)) {
            (None, _) => format!("expected: {rule}"),
            (Some(m), true) => format!("expected under preempt={model} (rule for {m}): {rule}"),
            (Some(m), false) => {
                format!("not expected under preempt={model} (rule only for {m}): {rule}")
            }
        });
        if !rule.applies_to(run.preempt) {
            if model_unknown && rule.preempt.is_some() {
                reasons.push(format!(
                    "cannot judge `{rule}`: the guest's preemption model is unknown"
                ));
            }
            continue;
        }
        let n = run.reports.iter().filter(|r| rule.matches(r)).count();
        let under = if rule.preempt.is_some() {
            format!(" under preempt={model}")
        } else {
            String::new()
        };
        if n < rule.min {
            let got = if run.reports.is_empty() {
                "none".to_owned()
            } else {
                summarize(run.reports)
            };
            reasons.push(format!("expected {rule}{under}, got {got}"));
        } else if let Some(max) = rule.max.filter(|&max| n > max) {
            reasons.push(format!("expected at most {max} of {rule}{under}, got {n}"));
        }
    }

    for report in run.reports {
        let line = report.line;
        if let Some(rule) = scenario
            .forbid
            .iter()
            .find(|r| r.applies_to(run.preempt) && r.matches(report))
        {
            reasons.push(format!(
                "forbidden {rule}: {} (console line {line})",
                describe(report)
            ));
            continue;
        }
        let accounted = scenario
            .expect
            .iter()
            .chain(&scenario.allow)
            .any(|r| r.applies_to(run.preempt) && r.matches(report));
        if !accounted {
            reasons.push(format!(
                "unexpected {} (console line {line})",
                describe(report)
            ));
        }
    }

    if run.panicked && !scenario.panics {
        reasons.push("the guest died here (kernel panic or crash)".to_owned());
    }
    if scenario.panics && !run.panicked {
        reasons.push("expected the guest to panic, it did not".to_owned());
    }
    if !run.finished && !run.panicked && reasons.is_empty() {
        reasons.push("the scenario did not finish before the deadline".to_owned());
    }

    let outcome = if reasons.is_empty() {
        Outcome::Pass
    } else if !run.finished && !run.panicked {
        Outcome::Timeout
    } else {
        Outcome::Fail
    };
    Verdict {
        outcome,
        reasons,
        expectations,
    }
}

/// "soft_lockup on CPU 1 [hog_busy] in hog_busy::hog_thread"
pub fn describe(report: &Report) -> String {
    let mut s = report.kind.to_string();
    if let Some(cpu) = report.cpu {
        s += &format!(" on CPU {cpu}");
    }
    if let Some(comm) = &report.comm {
        s += &format!(" [{comm}]");
    }
    if let Some(culprit) = &report.culprit {
        s += &format!(" in {culprit}");
    }
    if report.victim {
        s += " (victim)";
    }
    if report.panic {
        s += " + panic";
    }
    s
}

fn summarize(reports: &[Report]) -> String {
    let mut parts: Vec<String> = reports.iter().take(3).map(describe).collect();
    if reports.len() > 3 {
        parts.push(format!("and {} more", reports.len() - 3));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::report::Kind;

    fn scenario(extra: &str) -> Scenario {
        let text = format!(
            r#"
summary = "s"
description = "d"
module = "hog_busy"
cmdline = ["watchdog_thresh=2"]
{extra}
"#
        );
        Scenario::parse(Path::new("t.toml"), &text).unwrap()
    }

    const BUSY: &str = r#"
[[expect]]
kind = "soft_lockup"
cpu = 1
comm = "hog_busy"
culprit = "^hog_busy::"
"#;

    fn soft(cpu: u32, comm: &str, culprit: &str) -> Report {
        let mut r = Report::empty(Kind::SoftLockup, 10);
        r.cpu = Some(cpu);
        r.comm = Some(comm.into());
        r.culprit = Some(culprit.into());
        r
    }

    fn finished(reports: &[Report]) -> Run<'_> {
        Run {
            reports,
            preempt: Some(Preempt::Voluntary),
            panicked: false,
            finished: true,
        }
    }

    #[test]
    fn expected_report_passes() {
        let s = scenario(BUSY);
        let reports = [soft(1, "hog_busy", "hog_busy::hog_thread")];
        assert_eq!(judge(&s, &finished(&reports)).outcome, Outcome::Pass);
    }

    #[test]
    fn missing_report_fails_with_reason() {
        let v = judge(&scenario(BUSY), &finished(&[]));
        assert_eq!(v.outcome, Outcome::Fail);
        assert_eq!(
            v.reasons,
            ["expected soft_lockup on CPU 1 by hog_busy naming /^hog_busy::/, got none"]
        );
    }

    #[test]
    fn unexpected_report_fails_unless_allowed() {
        let reports = [
            soft(1, "hog_busy", "hog_busy::hog_thread"),
            soft(0, "insmod", "smp_call_function_many_cond"),
        ];
        let v = judge(&scenario(BUSY), &finished(&reports));
        assert_eq!(v.outcome, Outcome::Fail);
        assert!(
            v.reasons[0].starts_with("unexpected soft_lockup on CPU 0 [insmod]"),
            "{:?}",
            v.reasons
        );
        let allow = format!("{BUSY}\n[[allow]]\nkind = \"soft_lockup\"\ncpu = 0\n");
        assert_eq!(
            judge(&scenario(&allow), &finished(&reports)).outcome,
            Outcome::Pass
        );
    }

    #[test]
    fn forbid_beats_allow() {
        let text = "[[allow]]\nkind = \"any\"\n[[forbid]]\nkind = \"any\"\ncpu = 1\n";
        let reports = [soft(1, "hog_isolated", "hog_isolated::hog_thread")];
        let v = judge(&scenario(text), &finished(&reports));
        assert_eq!(v.outcome, Outcome::Fail);
        assert!(
            v.reasons[0].starts_with("forbidden any report on CPU 1"),
            "{:?}",
            v.reasons
        );
    }

    #[test]
    fn control_with_a_report_fails() {
        let reports = [soft(1, "hog_polite", "hog_polite::hog_thread")];
        assert_eq!(
            judge(&scenario(""), &finished(&reports)).outcome,
            Outcome::Fail
        );
        assert_eq!(judge(&scenario(""), &finished(&[])).outcome, Outcome::Pass);
    }

    #[test]
    fn preempt_model_selects_rules() {
        let text = BUSY.replace(
            "culprit = \"^hog_busy::\"",
            "preempt = [\"none\", \"voluntary\"]",
        );
        let s = scenario(&text);
        let reports = [soft(1, "hog_busy", "hog_busy::hog_thread")];
        let full = Run {
            preempt: Some(Preempt::Full),
            ..finished(&reports)
        };
        let applied = judge(&s, &finished(&[])).expectations;
        assert_eq!(
            applied,
            ["expected under preempt=voluntary (rule for none/voluntary): soft_lockup on CPU 1 by hog_busy"]
        );
        let skipped = judge(
            &s,
            &Run {
                preempt: Some(Preempt::Full),
                ..finished(&[])
            },
        )
        .expectations;
        assert!(skipped[0]
            .starts_with("not expected under preempt=full (rule only for none/voluntary)"));
        // Under full preemption the rule does not apply, so the report is unexpected.
        assert_eq!(judge(&s, &full).outcome, Outcome::Fail);
        assert_eq!(
            judge(
                &s,
                &Run {
                    preempt: Some(Preempt::Full),
                    ..finished(&[])
                }
            )
            .outcome,
            Outcome::Pass
        );
        let v = judge(
            &s,
            &Run {
                preempt: None,
                ..finished(&[])
            },
        );
        assert_eq!(
            v.outcome,
            Outcome::Fail,
            "an unknown model must not pass silently"
        );
    }

    #[test]
    fn panics_and_timeouts() {
        let s = scenario(BUSY);
        let reports = [soft(1, "hog_busy", "hog_busy::hog_thread")];
        let panicked = Run {
            panicked: true,
            finished: false,
            ..finished(&reports)
        };
        assert_eq!(judge(&s, &panicked).outcome, Outcome::Fail);
        let unfinished = Run {
            finished: false,
            ..finished(&reports)
        };
        assert_eq!(judge(&s, &unfinished).outcome, Outcome::Timeout);
        let p = scenario(&format!("panics = true\n{}panic = true\n", BUSY));
        let mut r = reports.clone();
        r[0].panic = true;
        let v = judge(
            &p,
            &Run {
                reports: &r,
                panicked: true,
                finished: false,
                ..Default::default()
            },
        );
        assert_eq!(v.outcome, Outcome::Pass, "{:?}", v.reasons);
        let v = judge(&p, &finished(&reports));
        assert_eq!(v.outcome, Outcome::Fail);
    }

    #[test]
    fn max_is_enforced() {
        let s = scenario(&format!("{BUSY}max = 1\n"));
        let reports = [
            soft(1, "hog_busy", "hog_busy::a"),
            soft(1, "hog_busy", "hog_busy::b"),
        ];
        let v = judge(&s, &finished(&reports));
        assert_eq!(v.outcome, Outcome::Fail);
        assert!(v.reasons[0].starts_with("expected at most 1"));
    }
}
