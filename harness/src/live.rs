//! `--live`: the console as it happens, the watchdog's lines highlighted, a note per report.

use std::io::IsTerminal;

use crate::report::{self, Reader, Report};
use crate::vm::Stream;

/// Demo mode: the console as it happens, the watchdog's lines highlighted, a note per report.
pub struct Live {
    console: Reader,
    lines: usize,
    announced: usize,
    color: bool,
}

impl Default for Live {
    fn default() -> Self {
        Self::new()
    }
}

impl Live {
    pub fn new() -> Live {
        Live {
            console: Reader::default(),
            lines: 0,
            announced: 0,
            color: std::io::stdout().is_terminal(),
        }
    }

    pub fn line(&mut self, stream: Stream, line: &str) {
        if stream == Stream::Stdout {
            return;
        }
        self.console.push(line.as_bytes());
        self.console.push(b"\n");
        self.lines += 1;
        let reports = self.console.reports();
        let starts_report = reports.iter().any(|r| r.line == self.lines);
        if starts_report && self.color {
            println!("\x1b[1;31m{line}\x1b[0m");
        } else if starts_report {
            println!(">>> {line}");
        } else {
            println!("{line}");
        }
        // A report is complete once later lines have come (its RIP and stack follow its first line).
        while self.announced < reports.len() && reports[self.announced].line + 25 < self.lines {
            self.note(&reports[self.announced]);
            self.announced += 1;
        }
    }

    pub fn finish(&mut self) {
        let reports = self.console.reports();
        for r in &reports[self.announced.min(reports.len())..] {
            self.note(r);
        }
        self.announced = reports.len();
    }

    fn note(&self, r: &Report) {
        let note = live_note(r);
        if self.color {
            println!("\x1b[1;33m==> {note}\x1b[0m");
        } else {
            println!("==> {note}");
        }
    }
}

/// "CPU 1 has not scheduled for 6 s: soft lockup reported [hog_busy:63], culprit hog_busy::spin::busy_loop"
pub fn live_note(r: &Report) -> String {
    let cpu = r.cpu.map_or("a CPU".to_owned(), |c| format!("CPU {c}"));
    let secs = r
        .stuck_secs
        .map_or(String::new(), |s| format!(" for {s} s"));
    let what = r
        .kind
        .live_note()
        .replace("{cpu}", &cpu)
        .replace("{secs}", &secs);
    let culprit = match (&r.culprit, r.victim) {
        (Some(c), true) if r.kind == report::Kind::HungTask => {
            format!(", victim waiting in {c} (look for the lock holder)")
        }
        (Some(c), true) => format!(", victim spinning in {c} (look for the lock holder)"),
        (Some(c), false) => format!(", culprit {c}"),
        (None, _) => String::new(),
    };
    let panic = if r.panic { "; the kernel panics" } else { "" };
    let task = match (&r.comm, r.pid) {
        (Some(comm), Some(pid)) => format!(" [{comm}:{pid}]"),
        (Some(comm), None) => format!(" [{comm}]"),
        _ => String::new(),
    };
    format!("{what}{task}{culprit}{panic}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_notes_say_what_happened() {
        let mut r = Report::empty(report::Kind::SoftLockup, 1);
        (r.cpu, r.stuck_secs, r.comm, r.pid) =
            (Some(1), Some(6), Some("hog_busy".into()), Some(63));
        r.culprit = Some("hog_busy::spin::busy_loop".into());
        assert_eq!(
            live_note(&r),
            "CPU 1 has not scheduled for 6 s: soft lockup reported [hog_busy:63], culprit hog_busy::spin::busy_loop"
        );
        r.victim = true;
        r.culprit = Some("queued_spin_lock_slowpath".into());
        assert!(live_note(&r)
            .ends_with("victim spinning in queued_spin_lock_slowpath (look for the lock holder)"));
        let mut wq = Report::empty(report::Kind::WorkqueueLockup, 1);
        (wq.cpu, wq.stuck_secs) = (Some(1), Some(31));
        wq.culprit = Some("hog_wq::busy_work".into());
        assert_eq!(
            live_note(&wq),
            "CPU 1's workqueue pool made no progress for 31 s: workqueue lockup reported, culprit hog_wq::busy_work"
        );
    }
}
