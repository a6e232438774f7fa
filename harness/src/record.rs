//! What happened in one boot, as the host saw it: the guest's events, the kernel's reports, the
//! hogs' proof lines and how the VM's processes ended. Built from the console in one pass over
//! its lines, besides the report parser's own ([`report::parse`]); the judge's only input.

use crate::kernel::Preempt;
use crate::protocol::{self, Event};
use crate::report::{self, Report};
use crate::vm::Exit;

/// The host side of a boot's end.
#[derive(Debug, Clone, PartialEq)]
pub struct Ending {
    pub exit: Exit,
    /// The boot ran past its deadline and was killed.
    pub timed_out: bool,
    /// The harness got this signal (SIGINT, SIGTERM) and killed the boot.
    pub interrupted: Option<i32>,
    /// Processes of the boot still alive after it was killed (must be none).
    pub survivors: Vec<u32>,
    /// Guest seconds per host second over the guest step, when the host could tell.
    pub clock_rate: Option<f64>,
}

/// A guest event where the console has it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stamped {
    pub line: usize,
    pub time: Option<f64>,
    pub event: Event,
}

/// `<module>: hogging CPU <cpu> ...`: a hog started spinning.
#[derive(Debug, Clone, PartialEq)]
pub struct HogStart {
    pub line: usize,
    pub time: Option<f64>,
    pub module: String,
    pub cpu: u32,
}

/// Everything the judge needs to know about one boot.
#[derive(Debug, Clone)]
pub struct BootRecord {
    pub events: Vec<Stamped>,
    /// Event lines the host could not read, with their console line.
    pub protocol_errors: Vec<(usize, String)>,
    pub reports: Vec<Report>,
    pub hog_starts: Vec<HogStart>,
    /// The preemption model: the guest's debugfs, else what the console says.
    pub preempt: Option<Preempt>,
    /// `(major, minor)` from the console's `Linux version X.Y...` line.
    pub version: Option<(u32, u32)>,
    /// RCU announced lockdep checking at boot (`CONFIG_PROVE_RCU`).
    pub prove_rcu: bool,
    pub ending: Ending,
    /// The console's last lines, for reasons that need context.
    pub tail: Vec<String>,
    /// The console was empty: the VM never printed anything.
    pub silent: bool,
    /// The console's lines as printed (for excerpts), the first being line 1.
    pub lines: Vec<String>,
}

/// How many console lines a reason quotes.
const TAIL_LINES: usize = 8;
/// A scenario's console window longer than this is cut down to its reports in excerpts.
pub const EXCERPT_LINES: usize = 200;
/// How many lines of each report an excerpt keeps.
const REPORT_LINES: usize = 45;

/// Reads a boot that [`crate::vm::Boot::run`] ran into a record.
pub fn of_boot(ended: &crate::vm::Ended) -> BootRecord {
    read(
        &ended.console,
        Ending {
            exit: ended.exit,
            timed_out: ended.timed_out,
            interrupted: ended.interrupted,
            survivors: ended.survivors.clone(),
            clock_rate: ended.clock_rate,
        },
    )
}

/// Reads one boot's console (and how it ended) into a record.
pub fn read(console: &[u8], ending: Ending) -> BootRecord {
    let mut record = BootRecord {
        events: Vec::new(),
        protocol_errors: Vec::new(),
        reports: report::parse(console),
        hog_starts: Vec::new(),
        preempt: None,
        version: None,
        prove_rcu: false,
        ending,
        tail: Vec::new(),
        silent: console.iter().all(u8::is_ascii_whitespace),
        lines: String::from_utf8_lossy(console)
            .lines()
            .map(|l| l.trim_end_matches('\r').to_owned())
            .collect(),
    };
    let mut tail = std::collections::VecDeque::new();
    let mut boot = report::BootLines::default();
    for line in report::lines(console) {
        boot.line(&line);
        let text = line.text.as_ref();
        match protocol::decode(text) {
            Some(Ok(event)) => record.events.push(Stamped {
                line: line.number,
                time: line.time,
                event,
            }),
            Some(Err(why)) => record.protocol_errors.push((line.number, why)),
            None => {
                if let Some(start) = hog_start(text) {
                    record.hog_starts.push(HogStart {
                        line: line.number,
                        time: line.time,
                        ..start
                    });
                }
            }
        }
        tail.push_back(text.to_owned());
        if tail.len() > TAIL_LINES {
            tail.pop_front();
        }
    }
    record.tail = tail.into();
    record.version = boot.version;
    record.prove_rcu = boot.rcu_lockdep;
    let said = record.events.iter().find_map(|e| match &e.event {
        Event::Ready { preempt } => *preempt,
        _ => None,
    });
    // For kernels without debugfs' sched/preempt, what the console says.
    record.preempt = said.or_else(|| boot.preemption_model().as_deref().and_then(Preempt::parse));
    record
}

/// `hog_busy: hogging CPU 1 for 10 s ...` -> (hog_busy, 1).
fn hog_start(text: &str) -> Option<HogStart> {
    let (module, rest) = text.split_once(protocol::HOGGING)?;
    let cpu = rest.split_whitespace().next()?.parse().ok()?;
    let module = module.trim();
    module.starts_with("hog_").then(|| HogStart {
        line: 0,
        time: None,
        module: module.to_owned(),
        cpu,
    })
}

impl BootRecord {
    /// The guest step started.
    /// What the rules that depend on the kernel need to know of it.
    pub fn guest(&self) -> crate::scenario::Guest {
        crate::scenario::Guest {
            preempt: self.preempt,
            version: self.version,
            prove_rcu: self.prove_rcu,
        }
    }

    pub fn ready(&self) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e.event, Event::Ready { .. }))
    }

    /// How long the guest waited for the kernel's boot-time work before its first hog, and for
    /// what ([`Event::Settled`]).
    pub fn settled(&self) -> Option<(f64, &[String])> {
        self.events.iter().find_map(|e| match &e.event {
            Event::Settled {
                waited_secs,
                waited_for,
            } => Some((*waited_secs, waited_for.as_slice())),
            _ => None,
        })
    }

    /// The guest's timer lag during a scenario ([`Event::TimerLag`]), when it measured one.
    pub fn timer_lag(&self, scenario: &str) -> Option<f64> {
        self.events.iter().find_map(|e| match &e.event {
            Event::TimerLag {
                scenario: s,
                max_secs,
            } if s == scenario => Some(*max_secs),
            _ => None,
        })
    }

    /// The guest ran every step of its plan.
    pub fn done(&self) -> bool {
        self.events.iter().any(|e| e.event == Event::Done)
    }

    /// Why the guest stopped its plan early, if it did.
    pub fn aborted(&self) -> Option<&str> {
        self.events.iter().find_map(|e| match &e.event {
            Event::Aborted { reason } => Some(reason.as_str()),
            _ => None,
        })
    }

    /// The console line of a scenario's `begin` event.
    pub fn begin(&self, scenario: &str) -> Option<&Stamped> {
        self.events
            .iter()
            .find(|e| matches!(&e.event, Event::Begin { scenario: s, .. } if s == scenario))
    }

    /// The last console line that belongs to the scenario that began at `begin`: up to its
    /// module's unload (or load failure), else up to the next scenario or the end of the plan,
    /// else the end of the console (the boot ended inside the scenario).
    pub fn window_end(&self, begin: &Stamped) -> usize {
        let later = self.events.iter().filter(|e| e.line > begin.line);
        for e in later {
            match &e.event {
                Event::Unloaded { .. } | Event::LoadFailed { .. } | Event::UnloadFailed { .. } => {
                    return e.line
                }
                Event::Begin { .. } | Event::Done | Event::Aborted { .. } => return e.line - 1,
                _ => {}
            }
        }
        usize::MAX
    }

    /// Events of the scenario that began at `begin`.
    pub fn window_events(&self, begin: &Stamped) -> impl Iterator<Item = &Event> {
        let end = self.window_end(begin);
        let begin = begin.line;
        self.events
            .iter()
            .filter(move |e| e.line > begin && e.line <= end)
            .map(|e| &e.event)
    }

    /// The reports between two console lines (exclusive of the first).
    pub fn reports_in(&self, after: usize, upto: usize) -> Vec<Report> {
        self.reports
            .iter()
            .filter(|r| r.line > after && r.line <= upto)
            .cloned()
            .collect()
    }

    /// The console shows the guest dying: a panic, or an oops.
    pub fn death(&self, after: usize, upto: usize) -> Option<&Report> {
        self.reports.iter().find(|r| {
            r.line > after && r.line <= upto && (r.panic || matches!(r.kind, report::Kind::Oops))
        })
    }

    /// The seconds (kernel clock) of the last console line at or before `line` that has a
    /// timestamp.
    pub fn time_at(&self, line: usize) -> Option<f64> {
        let upto = line.min(self.lines.len());
        self.lines[..upto]
            .iter()
            .rev()
            .find_map(|l| report::lines(l.as_bytes()).next().and_then(|l| l.time))
    }

    /// The console lines `first..=last` for a result, at most [`EXCERPT_LINES`]: when the window
    /// is longer, its start and end, and each report's first [`REPORT_LINES`] lines, stay.
    pub fn excerpt(&self, first: usize, last: usize, reports: &[Report]) -> String {
        let last = last.min(self.lines.len());
        if first == 0 || first > last {
            return String::new();
        }
        let keep = |n: usize| {
            last - first < EXCERPT_LINES
                || n < first + 10
                || n + 10 > last
                || reports
                    .iter()
                    .any(|r| n >= r.line && n < r.line + REPORT_LINES)
        };
        let mut out = String::new();
        let mut skipped = 0;
        for n in first..=last {
            if keep(n) {
                if skipped > 0 {
                    out += &format!("[... {skipped} lines ...]\n");
                    skipped = 0;
                }
                out += &self.lines[n - 1];
                out.push('\n');
            } else {
                skipped += 1;
            }
        }
        out
    }

    /// The last console lines, joined for a one-line reason.
    pub fn tail_text(&self) -> String {
        self.tail.join(" | ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ending() -> Ending {
        Ending {
            exit: Exit::Code(0),
            timed_out: false,
            interrupted: None,
            survivors: vec![],
            clock_rate: None,
        }
    }

    #[test]
    fn events_reports_and_hog_starts() {
        let console = format!(
            "[    1.000000] {}\n[    2.000000] {}\n[    2.100000] hog_busy: hogging CPU 1 for 10 s\n\
             [    7.300000] watchdog: BUG: soft lockup - CPU#1 stuck for 5s! [hog_busy:80]\n\
             [    9.000000] {}\n[   10.000000] {}\n",
            protocol::encode(&Event::Ready {
                preempt: Some(Preempt::Voluntary)
            }),
            protocol::encode(&Event::Begin {
                scenario: "a".into(),
                module: "hog_busy".into(),
                params: "cpu=1".into()
            }),
            protocol::encode(&Event::Unloaded {
                scenario: "a".into()
            }),
            protocol::encode(&Event::Done),
        );
        let r = read(console.as_bytes(), ending());
        assert!(r.ready() && r.done());
        assert_eq!(r.preempt, Some(Preempt::Voluntary));
        assert_eq!(
            r.hog_starts,
            [HogStart {
                line: 3,
                time: Some(2.1),
                module: "hog_busy".into(),
                cpu: 1
            }]
        );
        let begin = r.begin("a").unwrap().clone();
        assert_eq!(r.window_end(&begin), 5);
        assert_eq!(r.reports_in(begin.line, r.window_end(&begin)).len(), 1);
        assert!(r.protocol_errors.is_empty());
    }

    #[test]
    fn long_windows_keep_their_reports_in_excerpts() {
        let mut console = String::new();
        for i in 1..=600 {
            if i == 300 {
                console += "[  300.000000] watchdog: BUG: soft lockup - CPU#1 stuck for 5s! [hog_busy:80]\n";
            } else {
                console += &format!("[  {i}.000000] noise {i}\n");
            }
        }
        let r = read(console.as_bytes(), ending());
        let excerpt = r.excerpt(1, 600, &r.reports);
        assert!(excerpt.contains("soft lockup - CPU#1"));
        assert!(excerpt.contains("noise 344\n") && !excerpt.contains("noise 345\n"));
        assert!(excerpt.contains("[... 289 lines ...]"), "{excerpt}");
        assert_eq!(
            r.excerpt(2, 3, &[]),
            "[  2.000000] noise 2\n[  3.000000] noise 3\n"
        );
        assert_eq!(r.time_at(3), Some(3.0));
    }

    #[test]
    fn unreadable_events_are_kept_as_errors() {
        let r = read(b"[ 1.0] hogs-event v9 {}\n", ending());
        assert_eq!(r.protocol_errors.len(), 1);
        assert!(!r.ready());
    }
}
