//! The guest step's word to the host: one typed, versioned event per kernel log line.
//!
//! The guest writes each [`Event`] to `/dev/kmsg` with [`encode`], so events share the console's
//! clock and order with the watchdog's reports; the host finds them with [`decode`]. This file
//! is the format's only writer and only reader: `tests` pins both sides to the same literal
//! lines, so a change to one side alone fails.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::detectors::{Switch, DETECTORS};
use crate::kernel::Preempt;

/// Every event line starts with this tag, then the version, then the JSON object.
pub const TAG: &str = "hogs-event v";
/// The protocol version the host and the guest speak (the same binary, so they always agree;
/// a mismatch means a stale plan or a foreign binary, and the boot's verdicts are ERROR).
pub const VERSION: u32 = 1;

/// What the guest step did, in the order it did it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    /// The guest step started; `preempt` is the model debugfs names, when it does.
    Ready { preempt: Option<Preempt> },
    /// The kernel's own boot-time work that needs every CPU was done before the first hog
    /// (`crate::guest::settle`): the guest waited `waited_secs` for `waited_for` (empty when
    /// nothing was pending).
    Settled {
        waited_secs: f64,
        waited_for: Vec<String>,
    },
    /// A scenario starts: its module is about to be loaded with `params`.
    Begin {
        scenario: String,
        module: String,
        params: String,
    },
    /// `finit_module` returned success: the hog's init ran.
    Loaded { scenario: String },
    /// `finit_module` failed with `error`.
    LoadFailed { scenario: String, error: String },
    /// A value was written for the scenario (`kernel.watchdog=0`), or written back afterwards
    /// (`kernel.watchdog=1 (restored)`); `error` when it could not be.
    Set {
        scenario: String,
        label: String,
        error: Option<String>,
    },
    /// How late the guest's own timers ran while the hog was loaded: the most one of the
    /// step's short sleeps overslept. Host load delays the detectors' timers alike, so the
    /// judge allows this much past a detection window.
    TimerLag { scenario: String, max_secs: f64 },
    /// The detectors' report counters ([`crate::detectors::Counter`]) as the guest read them
    /// before loading the hog (`after` false) and once it was unloaded; `None` for a counter
    /// the kernel does not have.
    Counts {
        scenario: String,
        after: bool,
        counts: BTreeMap<String, Option<u64>>,
    },
    /// The module was unloaded: the hog gave its CPU back.
    Unloaded { scenario: String },
    /// The module could not be unloaded: the hog may still be spinning.
    UnloadFailed { scenario: String, error: String },
    /// The guest stops running the plan (after an unload failure): later scenarios never start.
    Aborted { reason: String },
    /// Every step of the plan ran.
    Done,
    /// What the boot check found (`hogs guest --boot-check`).
    Facts(BootFacts),
}

/// What the boot check reports about the guest's detectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootFacts {
    pub release: String,
    pub watchdog_thresh: Option<String>,
    pub preempt: Option<String>,
    pub config_rust: bool,
    pub config_buddy: bool,
    /// `CONFIG_HARDLOCKUP_DETECTOR_PERF=y`: a PMU's NMI watches hard lockups (arm64 under TCG).
    pub config_perf: bool,
    /// Each detector's switch file ([`crate::detectors::Detector::switch`]) and what it held;
    /// `None` when the file is missing (the detector is not built).
    pub switches: BTreeMap<String, Option<String>>,
}

impl BootFacts {
    /// What keeps the suite's detectors from reporting, one line each; empty when all are on.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for d in DETECTORS {
            let Switch { path, on, off } = &d.switch;
            match self.switches.get(*path).cloned().flatten() {
                None => problems.push(format!("no {path}: {off}")),
                Some(v) if !on(&v) => problems.push(format!("{path} is {v}: {off}")),
                Some(_) => {}
            }
        }
        if !self.config_rust {
            problems.push("/proc/config.gz lacks CONFIG_RUST=y".into());
        }
        if !self.config_buddy && !self.config_perf {
            problems.push(
                "/proc/config.gz has neither CONFIG_HARDLOCKUP_DETECTOR_BUDDY=y nor \
                 CONFIG_HARDLOCKUP_DETECTOR_PERF=y: no hard lockups under TCG"
                    .into(),
            );
        }
        problems
    }
}

/// The line the guest writes for `event` (without the kernel's prefix).
pub fn encode(event: &Event) -> String {
    let json = serde_json::to_string(event).expect("events always serialize");
    format!("{TAG}{VERSION} {json}")
}

/// The event on a console line (its text after the kernel's prefix): `None` when the line is
/// not an event, `Some(Err(why))` when it is one the host cannot read.
pub fn decode(text: &str) -> Option<Result<Event, String>> {
    let rest = &text[text.find(TAG)? + TAG.len()..];
    let (version, json) = rest.split_once(' ').unwrap_or((rest, ""));
    Some(match version.parse::<u32>() {
        Ok(VERSION) => serde_json::from_str(json)
            .map_err(|e| format!("unreadable guest event ({e}): {}", clip(json))),
        Ok(v) => Err(format!(
            "the guest speaks protocol v{v}, this host v{VERSION}: rebuild hogs"
        )),
        Err(_) => Err(format!("malformed guest event: {}", clip(text))),
    })
}

fn clip(s: &str) -> String {
    s.chars().take(120).collect()
}

/// The hogs print this when their loop starts (`hog_busy: hogging CPU 1 ...`): the proof that
/// a hog ran, and where.
pub const HOGGING: &str = ": hogging CPU ";

#[cfg(test)]
mod tests {
    use super::*;

    /// Each event and its line, spelled out: the guest must write exactly this and the host must
    /// read exactly this. Changing either side alone breaks one of the two tests below.
    fn pinned() -> Vec<(Event, &'static str)> {
        vec![
            (
                Event::Ready {
                    preempt: Some(Preempt::Voluntary),
                },
                r#"hogs-event v1 {"event":"ready","preempt":"voluntary"}"#,
            ),
            (
                Event::Settled {
                    waited_secs: 0.25,
                    waited_for: vec!["the TSC's refined calibration".into()],
                },
                r#"hogs-event v1 {"event":"settled","waited_secs":0.25,"waited_for":["the TSC's refined calibration"]}"#,
            ),
            (
                Event::Begin {
                    scenario: "busy-loop".into(),
                    module: "hog_busy".into(),
                    params: "cpu=1 secs=10".into(),
                },
                r#"hogs-event v1 {"event":"begin","scenario":"busy-loop","module":"hog_busy","params":"cpu=1 secs=10"}"#,
            ),
            (
                Event::Loaded {
                    scenario: "busy-loop".into(),
                },
                r#"hogs-event v1 {"event":"loaded","scenario":"busy-loop"}"#,
            ),
            (
                Event::LoadFailed {
                    scenario: "x".into(),
                    error: "finit_module: Operation not permitted".into(),
                },
                r#"hogs-event v1 {"event":"load_failed","scenario":"x","error":"finit_module: Operation not permitted"}"#,
            ),
            (
                Event::Set {
                    scenario: "x".into(),
                    label: "kernel.watchdog=0".into(),
                    error: None,
                },
                r#"hogs-event v1 {"event":"set","scenario":"x","label":"kernel.watchdog=0","error":null}"#,
            ),
            (
                Event::TimerLag {
                    scenario: "x".into(),
                    max_secs: 0.125,
                },
                r#"hogs-event v1 {"event":"timer_lag","scenario":"x","max_secs":0.125}"#,
            ),
            (
                Event::Unloaded {
                    scenario: "x".into(),
                },
                r#"hogs-event v1 {"event":"unloaded","scenario":"x"}"#,
            ),
            (
                Event::Counts {
                    scenario: "x".into(),
                    after: true,
                    counts: [
                        ("/sys/kernel/softlockup_count".to_owned(), Some(2)),
                        ("/sys/kernel/rcu_stall_count".to_owned(), None),
                    ]
                    .into_iter()
                    .collect(),
                },
                r#"hogs-event v1 {"event":"counts","scenario":"x","after":true,"counts":{"/sys/kernel/rcu_stall_count":null,"/sys/kernel/softlockup_count":2}}"#,
            ),
            (
                Event::UnloadFailed {
                    scenario: "x".into(),
                    error: "busy".into(),
                },
                r#"hogs-event v1 {"event":"unload_failed","scenario":"x","error":"busy"}"#,
            ),
            (
                Event::Aborted {
                    reason: "hog_busy did not unload".into(),
                },
                r#"hogs-event v1 {"event":"aborted","reason":"hog_busy did not unload"}"#,
            ),
            (Event::Done, r#"hogs-event v1 {"event":"done"}"#),
            (
                Event::Facts(BootFacts {
                    release: "6.12.117".into(),
                    watchdog_thresh: Some("10".into()),
                    preempt: None,
                    config_rust: true,
                    config_buddy: true,
                    config_perf: false,
                    switches: [
                        ("/proc/sys/kernel/nmi_watchdog", Some("1")),
                        ("/proc/sys/kernel/soft_watchdog", Some("1")),
                        ("/proc/sys/kernel/hung_task_timeout_secs", Some("120")),
                        (
                            "/sys/module/rcupdate/parameters/rcu_cpu_stall_suppress",
                            Some("0"),
                        ),
                        ("/sys/module/workqueue/parameters/watchdog_thresh", None),
                    ]
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v.map(str::to_owned)))
                    .collect(),
                }),
                r#"hogs-event v1 {"event":"facts","release":"6.12.117","watchdog_thresh":"10","preempt":null,"config_rust":true,"config_buddy":true,"config_perf":false,"switches":{"/proc/sys/kernel/hung_task_timeout_secs":"120","/proc/sys/kernel/nmi_watchdog":"1","/proc/sys/kernel/soft_watchdog":"1","/sys/module/rcupdate/parameters/rcu_cpu_stall_suppress":"0","/sys/module/workqueue/parameters/watchdog_thresh":null}}"#,
            ),
        ]
    }

    #[test]
    fn the_writer_writes_the_pinned_lines() {
        for (event, line) in pinned() {
            assert_eq!(encode(&event), line);
        }
    }

    #[test]
    fn the_reader_reads_the_pinned_lines() {
        for (event, line) in pinned() {
            assert_eq!(decode(line), Some(Ok(event)), "{line}");
        }
    }

    #[test]
    fn other_lines_and_bad_events() {
        assert_eq!(decode("hog_busy: hogging CPU 1 for 10 s"), None);
        let err = decode(r#"hogs-event v2 {"event":"done"}"#)
            .unwrap()
            .unwrap_err();
        assert!(err.contains("protocol v2"), "{err}");
        let err = decode(r#"hogs-event v1 {"event":"dance"}"#)
            .unwrap()
            .unwrap_err();
        assert!(err.starts_with("unreadable guest event"), "{err}");
        let err = decode("hogs-event vX").unwrap().unwrap_err();
        assert!(err.starts_with("malformed guest event"), "{err}");
    }

    #[test]
    fn the_boot_check_names_each_detector_that_is_off() {
        let Event::Facts(mut facts) = pinned()
            .into_iter()
            .find_map(|(e, _)| matches!(e, Event::Facts(_)).then_some(e))
            .unwrap()
        else {
            unreachable!()
        };
        assert_eq!(
            facts.problems(),
            ["no /sys/module/workqueue/parameters/watchdog_thresh: no workqueue lockup detector (CONFIG_WQ_WATCHDOG)"]
        );
        let set = |facts: &mut BootFacts, path: &str, value: &str| {
            facts
                .switches
                .insert(path.to_owned(), Some(value.to_owned()));
        };
        set(
            &mut facts,
            "/sys/module/workqueue/parameters/watchdog_thresh",
            "30",
        );
        set(
            &mut facts,
            "/sys/module/rcupdate/parameters/rcu_cpu_stall_suppress",
            "1",
        );
        set(&mut facts, "/proc/sys/kernel/hung_task_timeout_secs", "0");
        assert_eq!(
            facts.problems(),
            [
                "/sys/module/rcupdate/parameters/rcu_cpu_stall_suppress is 1: no RCU stall warnings",
                "/proc/sys/kernel/hung_task_timeout_secs is 0: no hung task detector (CONFIG_DETECT_HUNG_TASK)",
            ]
        );
        set(
            &mut facts,
            "/sys/module/rcupdate/parameters/rcu_cpu_stall_suppress",
            "0",
        );
        set(&mut facts, "/proc/sys/kernel/hung_task_timeout_secs", "120");
        assert!(facts.problems().is_empty());
    }
}
