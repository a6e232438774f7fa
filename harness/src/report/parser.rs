//! The state machine that turns console lines into reports.
//!
//! A report starts at a watchdog line (soft/hard lockup, RCU stall, hung task, or a panic
//! that carries a lockup message). What follows is bound to it in *blocks*: a block is one
//! register/stack dump, opened by the report line itself, a `CPU: N PID:` line, an
//! `NMI backtrace for cpu N` line, a panic, or an unrelated oops/warning (whose dump must
//! not be mistaken for the report's). Blocks bind to the report of the same CPU, so
//! interleaved reports and buddy/RCU backtraces printed later end up where they belong.

use std::sync::LazyLock;

use regex::Regex;

use super::lines::{Cursor, RawLine};
use super::trace::{self, Context, Frame, Symbol};
use super::{Kind, Report};

/// Words that can start or steer a report. Lines without any are skipped without decoding
/// while no dump is being read (this keeps parsing at memory-scan speed), and inside a dump
/// they are only read as registers and frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    SoftLockup,
    Lockup,
    StallOn,
    StallsOn,
    ForMoreThan,
    KernelPanic,
    NmiBacktrace,
    SendingNmi,
    CpuLine,
    PidLine,
    ProcessLine,
    Bug,
    Oops,
    Warning,
    CutHere,
    End,
    UnableToHandle,
    InternalError,
    ProtectionFault,
    KernelBugAt,
}

const TRIGGERS: [(Trigger, &str); 20] = [
    (Trigger::SoftLockup, "soft lockup"),
    (Trigger::Lockup, "LOCKUP"),
    (Trigger::StallOn, "stall on"),
    (Trigger::StallsOn, "stalls on"),
    (Trigger::ForMoreThan, " for more than "),
    (Trigger::KernelPanic, "Kernel panic"),
    (Trigger::NmiBacktrace, "NMI backtrace"),
    (Trigger::SendingNmi, "Sending NMI"),
    (Trigger::CpuLine, "CPU: "),
    (Trigger::PidLine, "Pid: "),
    (Trigger::ProcessLine, "(pid: "),
    (Trigger::Bug, "BUG:"),
    (Trigger::Oops, "Oops"),
    (Trigger::Warning, "WARNING:"),
    (Trigger::CutHere, "cut here"),
    (Trigger::End, "---[ end "),
    (Trigger::UnableToHandle, "Unable to handle kernel"),
    (Trigger::InternalError, "Internal error:"),
    (Trigger::ProtectionFault, "general protection fault"),
    (Trigger::KernelBugAt, "kernel BUG at"),
];

/// Words that start a report.
const REPORT_WORDS: &[Trigger] = &[
    Trigger::SoftLockup,
    Trigger::Lockup,
    Trigger::StallOn,
    Trigger::StallsOn,
    Trigger::ForMoreThan,
];
/// Words of an oops or warning that is not a watchdog report: its dump and its panic are its own.
const FOREIGN_WORDS: &[Trigger] = &[
    Trigger::Bug,
    Trigger::Oops,
    Trigger::Warning,
    Trigger::CutHere,
    Trigger::UnableToHandle,
    Trigger::InternalError,
    Trigger::ProtectionFault,
    Trigger::KernelBugAt,
];

/// The set of [`Trigger`]s in one line, found in a single scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hits(u32);

impl Hits {
    fn of(text: &str) -> Self {
        Hits(P.prefilter.find_iter(text.as_bytes()).fold(0, |set, hit| {
            let word = TRIGGERS
                .iter()
                .find(|(_, w)| w.as_bytes() == hit.as_bytes());
            set | word.map_or(0, |(t, _)| 1 << *t as u32)
        }))
    }

    fn has(self, t: Trigger) -> bool {
        self.0 & (1 << t as u32) != 0
    }

    fn any(self, ts: &[Trigger]) -> bool {
        ts.iter().any(|t| self.has(*t))
    }
}

/// How many lines a dump may go without a line it recognises before it is considered over.
const QUIET_LIMIT: usize = 60;
/// How many non-frame lines a call trace may contain (e.g. mid-trace registers) before it ends.
const TRACE_GAP_LIMIT: usize = 12;
/// How many lines after a report its `CPU:` line or NMI backtrace may still arrive.
const OPEN_WINDOW: usize = 2000;

struct Patterns {
    prefilter: regex::bytes::Regex,
    soft: Regex,
    hard: Regex,
    hard_old: Regex,
    hard_ppc_self: Regex,
    hard_ppc_other: Regex,
    rcu: Regex,
    hung: Regex,
    panic: Regex,
    cpu_line: Regex,
    pid_line: Regex,
    process_line: Regex,
    cpu_only: Regex,
    nmi_backtrace: Regex,
    sending_nmi: Regex,
    rcu_detail: Regex,
    detected_by: Regex,
    inline_cpu: Regex,
    taint_bracket: Regex,
    task_pid: Regex,
    warning_cpu: Regex,
}

static P: LazyLock<Patterns> = LazyLock::new(|| {
    let re = |s: &str| Regex::new(s).unwrap();
    let prefilter = TRIGGERS
        .iter()
        .map(|(_, w)| regex::escape(w))
        .collect::<Vec<_>>()
        .join("|");
    Patterns {
        prefilter: regex::bytes::Regex::new(&prefilter).unwrap(),
        // `- CPU#1`, `– CPU#1` (en-dash, or its lossy replacement) and `detected on CPU#0!`.
        soft: re(
            r"soft lockup(?:\W+|\s+detected on\s+)CPU#(?P<cpu>\d+)(?:\s+stuck for (?P<secs>\d+)s)?(?:.*?\[(?P<comm>[^\]]*):(?P<pid>\d+)\])?",
        ),
        hard: re(r"(?:CPU(?P<rep>\d+): )?Watchdog detected hard LOCKUP on cpu (?P<cpu>\d+)"),
        hard_old: re(r"NMI Watchdog detected LOCKUP on CPU ?(?P<cpu>\d+)"),
        hard_ppc_self: re(
            r"CPU (?P<cpu>\d+) self-detected hard LOCKUP @ (?P<at>\S+(?: \[[\w-]+\])?)",
        ),
        hard_ppc_other: re(r"CPU (?P<rep>\d+) detected hard LOCKUP on other CPUs (?P<cpu>\d+)"),
        rcu: re(
            r"INFO: (?:\S*rcu\S*) (?:self-)?detected (?:expedited )?stalls? on(?: CPU (?P<cpu>\d+))?",
        ),
        hung: re(
            r"(?:^|INFO: )task (?P<comm>.+):(?P<pid>\d+) blocked (?:in I/O wait )?for more than (?P<secs>\d+) seconds",
        ),
        panic: re(r"Kernel panic - not syncing:\s*(?P<reason>.*?)\s*$"),
        cpu_line: re(r"^CPU: (?P<cpu>\d+) (?:UID: \d+ )?PID: (?P<pid>\d+) Comm: (?P<rest>.*)$"),
        pid_line: re(r"^Pid: (?P<pid>\d+), comm: (?P<rest>.*)$"),
        process_line: re(r"^Process (?P<comm>.+?) \(pid: (?P<pid>\d+)"),
        cpu_only: re(r"^CPU:?\s+(?P<cpu>\d+):?\s*$"),
        nmi_backtrace: re(r"NMI backtrace for cpu (?P<cpu>\d+)(?P<skipped> skipped)?"),
        sending_nmi: re(r"Sending NMI from CPU (?P<from>\d+) to CPUs"),
        rcu_detail: re(r"^(?:rcu:)?\s*(?P<cpu>\d+)(?:-\S*)?:\s*\(\d+ (?:ticks this GP|GPs behind)"),
        detected_by: re(r"detected by (?P<cpu>\d+)"),
        inline_cpu: re(r"\{\s*(?P<cpu>\d+)"),
        taint_bracket: re(r"\[(?P<flag>[A-Z])\]="),
        task_pid: re(r"\bpid:\s*(?P<pid>\d+)"),
        warning_cpu: re(r"^WARNING: CPU: (?P<cpu>\d+) PID: (?P<pid>\d+)"),
    }
});

/// Parses a whole console log.
pub(crate) fn parse(text: &[u8]) -> Vec<Report> {
    let mut parser = Parser::default();
    let mut cursor = Cursor::new(text);
    loop {
        if parser.block.is_none() {
            match P.prefilter.find_at(text, cursor.pos()) {
                Some(hit) => cursor.skip_to(hit.start()),
                None => break,
            }
        }
        let Some(line) = cursor.next_line() else {
            break;
        };
        parser.line(&line);
    }
    parser.reports.into_iter().map(Draft::finish).collect()
}

/// A report being assembled, with what is needed to pick its culprit at the end.
struct Draft {
    report: Report,
    frames: Vec<(Frame, Context)>,
    pc: Option<Symbol>,
    /// Where the first interrupt/NMI section of the trace ended (index into `frames`): on old
    /// kernels the interrupted function shows up only at its end, as `? func` found from the
    /// saved registers.
    interrupt_end: Option<usize>,
    /// A `CPU: N PID:` or `Pid:` line has been bound to it: later dumps are someone else's.
    has_task_line: bool,
    /// `rip` holds the registers printed inside `<TASK>` after an interrupt section.
    task_rip: bool,
}

impl Draft {
    fn new(kind: Kind, line: &RawLine<'_>) -> Self {
        Draft {
            report: Report {
                time: line.time(),
                ..Report::empty(kind, line.number)
            },
            frames: Vec::new(),
            pc: None,
            interrupt_end: None,
            has_task_line: false,
            task_rip: false,
        }
    }

    /// A reliable task-context frame that could be the culprit.
    fn has_candidate_frame(&self) -> bool {
        self.frames.iter().any(|(f, ctx)| {
            f.reliable && *ctx == Context::Task && !trace::is_plumbing(&f.symbol.name)
        })
    }

    /// Culprit: the RIP's function unless it is plumbing, else the first reliable task-context
    /// frame that is not plumbing (nor, for a hung task, a sleep/wait primitive), else the
    /// interrupted function found at the end of an interrupt/NMI section.
    fn finish(self) -> Report {
        let mut r = self.report;
        let hung = r.kind == Kind::HungTask;
        let skip = |name: &str| trace::is_plumbing(name) || (hung && trace::is_sleep(name));
        // A warning, oops or BUG is about where it fired, even in the watchdog's own code.
        let fired_at = matches!(r.kind, Kind::Warning | Kind::Oops | Kind::Bug);
        let culprit = if r.user_space {
            None
        } else if fired_at && self.pc.is_some() {
            self.pc.as_ref()
        } else {
            self.pc.as_ref().filter(|s| !skip(&s.name)).or_else(|| {
                self.frames
                    .iter()
                    .find(|(f, ctx)| f.reliable && *ctx == Context::Task && !skip(&f.symbol.name))
                    .map(|(f, _)| &f.symbol)
                    .or_else(|| {
                        let end = self.interrupt_end?;
                        self.frames[..end]
                            .iter()
                            .rev()
                            .take_while(|(_, ctx)| *ctx == Context::Interrupt)
                            .map(|(f, _)| &f.symbol)
                            .find(|s| !trace::is_plumbing(&s.name))
                    })
            })
        };
        r.victim = self
            .pc
            .iter()
            .chain(culprit)
            .any(|s| trace::is_lock_spin(&s.name) || trace::is_ipi_wait(&s.name));
        if let Some(c) = culprit {
            r.culprit = Some(c.name.clone());
            r.module.clone_from(&c.module);
        }
        r.stack = self
            .frames
            .into_iter()
            .filter(|(f, _)| f.reliable)
            .map(|(f, _)| f.symbol.name)
            .collect();
        r
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Opened by the report's own first line: a `CPU:` line for another CPU may retarget it.
    Report,
    /// Opened by a `CPU:` line, NMI backtrace, panic or unrelated oops: its dump is its own.
    Dump,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    EndBlock,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TraceState {
    NotStarted,
    Collecting { gap: usize },
}

/// The register/stack dump currently being read.
#[derive(Debug)]
struct Block {
    report: Option<usize>,
    origin: Origin,
    cpu: Option<u32>,
    context: Context,
    trace: TraceState,
    quiet: usize,
}

impl Block {
    fn new(report: Option<usize>, origin: Origin, cpu: Option<u32>) -> Self {
        Block {
            report,
            origin,
            cpu,
            context: Context::Task,
            trace: TraceState::NotStarted,
            quiet: 0,
        }
    }
}

#[derive(Default)]
struct Parser {
    reports: Vec<Draft>,
    block: Option<Block>,
}

fn num<T: std::str::FromStr>(caps: &regex::Captures<'_>, name: &str) -> Option<T> {
    caps.name(name).and_then(|m| m.as_str().parse().ok())
}

/// Splits what follows `Comm: ` into the command and the taint flags:
/// `hog Tainted: G           O L     6.12.117 #1` -> (`hog`, `GOL`); `Not tainted` -> "".
/// Distribution kernels may put `Kdump: loaded` between the two.
fn comm_and_taint(rest: &str) -> (String, Option<String>) {
    let comm_end = [" Kdump: ", " Not tainted", " Tainted: "]
        .iter()
        .filter_map(|w| rest.find(w))
        .min();
    let comm = match comm_end {
        Some(end) => rest[..end].trim(),
        None => rest.split_whitespace().next().unwrap_or(""),
    };
    let tainted = if rest.contains(" Not tainted") {
        Some(String::new())
    } else {
        rest.find(" Tainted: ")
            .map(|i| taint_field(&rest[i + " Tainted: ".len()..]))
    };
    (comm.to_owned(), tainted)
}

/// The taint letters before the kernel version: `G           O L     6.12.117` -> `GOL`.
fn taint_letters(flags: &str) -> String {
    flags
        .split_whitespace()
        .take_while(|t| t.bytes().all(|b| b.is_ascii_uppercase()))
        .collect()
}

/// Taint letters from either the classic field or 6.13's `[O]=OOT_MODULE, [L]=SOFTLOCKUP` line.
fn taint_field(flags: &str) -> String {
    if flags.contains("]=") {
        P.taint_bracket
            .captures_iter(flags)
            .map(|c| c["flag"].to_owned())
            .collect()
    } else {
        taint_letters(flags)
    }
}

/// Which kind of report a panic reason belongs to (`softlockup: hung tasks`, `Hard LOCKUP`,
/// `hardlockup: ...`, `hung_task: blocked tasks`, `RCU Stall`).
fn panic_kind(reason: &str) -> Option<Kind> {
    let r = reason.to_ascii_lowercase();
    if r.contains("softlockup") || r.contains("soft lockup") {
        Some(Kind::SoftLockup)
    } else if r.contains("hardlockup") || r.contains("hard lockup") {
        Some(Kind::HardLockup)
    } else if r.contains("hung_task") || r.contains("blocked tasks") {
        Some(Kind::HungTask)
    } else if r.contains("rcu stall") {
        Some(Kind::RcuStall)
    } else {
        None
    }
}

impl Parser {
    fn line(&mut self, line: &RawLine<'_>) {
        let text = line.text.as_ref();
        let hits = Hits::of(text);
        if hits == Hits(0) {
            self.in_block(line);
            return;
        }
        let trimmed = text.trim_start();
        let caps =
            |t: Trigger, re: &'static Regex| hits.has(t).then(|| re.captures(trimmed)).flatten();
        if hits.has(Trigger::End) {
            self.block = None;
        } else if let Some(caps) = caps(Trigger::KernelPanic, &P.panic) {
            self.panic(line, caps.name("reason").map_or("", |m| m.as_str()));
        } else if let Some(draft) = hits.any(REPORT_WORDS).then(|| report_start(line)).flatten() {
            self.start(draft);
        } else if hits.any(FOREIGN_WORDS) {
            match foreign_start(line) {
                Some(draft) if !self.continues_oops(&draft, line.number) => self.start(draft),
                Some(_) => {}
                None => self.block = Some(Block::new(None, Origin::Dump, None)),
            }
        } else if let Some(caps) = caps(Trigger::NmiBacktrace, &P.nmi_backtrace) {
            let cpu = num(&caps, "cpu");
            let report = match (cpu, caps.name("skipped")) {
                (Some(cpu), None) => self.find_open(cpu, line.number),
                _ => None,
            };
            if let (None, Some(cpu), None) = (report, cpu, caps.name("skipped")) {
                self.note_backtrace(cpu, line.number);
            }
            self.block = Some(Block::new(report, Origin::Dump, cpu));
        } else if let Some(caps) = caps(Trigger::SendingNmi, &P.sending_nmi) {
            if let Some(d) = self.block_report_mut() {
                if matches!(d.report.kind, Kind::HardLockup | Kind::RcuStall)
                    && d.report.reporting_cpu.is_none()
                {
                    d.report.reporting_cpu = num(&caps, "from");
                }
            }
        } else if let Some(caps) = caps(Trigger::CpuLine, &P.cpu_line) {
            let (comm, tainted) = comm_and_taint(&caps["rest"]);
            self.task_line(line, num(&caps, "cpu"), num(&caps, "pid"), comm, tainted);
        } else if let Some(caps) = caps(Trigger::PidLine, &P.pid_line) {
            let cpu = self.block.as_ref().and_then(|b| b.cpu);
            let (comm, tainted) = comm_and_taint(&caps["rest"]);
            self.task_line(line, cpu, num(&caps, "pid"), comm, tainted);
        } else if let Some(caps) = caps(Trigger::ProcessLine, &P.process_line) {
            let cpu = self.block.as_ref().and_then(|b| b.cpu);
            self.task_line(line, cpu, num(&caps, "pid"), caps["comm"].to_owned(), None);
        } else {
            self.in_block(line);
        }
    }

    fn start(&mut self, draft: Draft) {
        // Old kernels printed the hard lockup as the message of a WARN() from the watchdog: that
        // warning is the report's carrier, not a warning of its own.
        let carried = self.reports.last().is_some_and(|last| {
            draft.report.kind.is_hang()
                && last.report.kind == Kind::Warning
                && !last.has_task_line
                && last.report.line + WARN_CARRIER_LINES >= draft.report.line
        });
        if carried {
            self.reports.pop();
        }
        let cpu = draft.report.cpu;
        self.reports.push(draft);
        self.block = Some(Block::new(
            Some(self.reports.len() - 1),
            Origin::Report,
            cpu,
        ));
    }

    fn block_report_mut(&mut self) -> Option<&mut Draft> {
        let i = self.block.as_ref()?.report?;
        self.reports.get_mut(i)
    }

    /// The newest recent report of `cpu` that has not received its register dump yet.
    fn find_open(&self, cpu: u32, now: usize) -> Option<usize> {
        self.reports
            .iter()
            .enumerate()
            .rev()
            .take_while(|(_, d)| d.report.line + OPEN_WINDOW >= now)
            .find(|(_, d)| d.report.cpu == Some(cpu) && !d.has_task_line)
            .map(|(i, _)| i)
    }

    fn panic(&mut self, line: &RawLine<'_>, reason: &str) {
        // Before 4.x the hard lockup detector panicked with the lockup message itself.
        if let Some(mut draft) = report_start(line).filter(|d| d.report.kind == Kind::HardLockup) {
            let same = self.reports.last().is_some_and(|last| {
                last.report.kind == Kind::HardLockup
                    && last.report.cpu == draft.report.cpu
                    && !last.report.panic
            });
            if !same {
                draft.report.panic = true;
                draft.report.panic_reason = Some(reason.to_owned());
                self.start(draft);
                self.block.as_mut().expect("just opened").origin = Origin::Dump;
                return;
            }
        }
        let target = match panic_kind(reason) {
            Some(kind) => self
                .reports
                .iter()
                .rposition(|d| d.report.kind == kind && !d.report.panic),
            None => self
                .reports
                .len()
                .checked_sub(1)
                .filter(|&i| !self.reports[i].report.panic),
        };
        let Some(target) = target else {
            // A panic of its own (`VFS: Unable to mount root fs`, a panic= sysctl of another
            // detector): still a report, or a dying guest would look like a quiet one.
            let mut draft = Draft::new(Kind::Panic, line);
            draft.report.panic = true;
            draft.report.panic_reason = Some(reason.to_owned());
            self.start(draft);
            self.block.as_mut().expect("just opened").origin = Origin::Dump;
            return;
        };
        let target = Some(target);
        let cpu = target.and_then(|i| {
            let r = &mut self.reports[i].report;
            r.panic = true;
            r.panic_reason = Some(reason.to_owned());
            r.cpu
        });
        self.block = Some(Block::new(target, Origin::Dump, cpu));
    }

    /// A `CPU: 1 PID: 99 Comm: hog Tainted: ...` line (or the old `Pid: 99, comm: hog ...`,
    /// i386's `Process hog (pid: 99, ...)`): the start of one CPU's dump. Binds it to that
    /// CPU's report, if it has one.
    fn task_line(
        &mut self,
        line: &RawLine<'_>,
        cpu: Option<u32>,
        pid: Option<u32>,
        comm: String,
        tainted: Option<String>,
    ) {
        let bindable = |i: usize| {
            let d: &Draft = &self.reports[i];
            !d.has_task_line && (cpu.is_none() || d.report.cpu.is_none() || d.report.cpu == cpu)
        };
        let target = match &self.block {
            Some(b) if b.origin == Origin::Dump => b.report.filter(|&i| bindable(i)),
            block => block
                .as_ref()
                .and_then(|b| b.report)
                .filter(|&i| bindable(i))
                .or_else(|| cpu.and_then(|c| self.find_open(c, line.number))),
        };
        // A hard lockup's own block that starts with another CPU's dump: the CPU that printed
        // the report (a buddy's WARN() or panic() on old and vendor kernels).
        if target.is_none() {
            if let Some(d) = self
                .block
                .as_ref()
                .and_then(|b| b.report)
                .map(|i| &mut self.reports[i])
            {
                let r = &mut d.report;
                if r.kind == Kind::HardLockup && !d.has_task_line && r.reporting_cpu.is_none() {
                    r.reporting_cpu = cpu;
                }
            }
        }
        let origin = self.block.as_ref().map_or(Origin::Dump, |b| b.origin);
        self.block = Some(Block::new(target, origin, cpu));
        let Some(d) = self.block_report_mut() else {
            return;
        };
        d.has_task_line = true;
        let r = &mut d.report;
        if r.cpu.is_none() && matches!(r.kind, Kind::Warning | Kind::Oops | Kind::Bug) {
            r.cpu = cpu;
        }
        if r.comm.is_none() && !comm.is_empty() {
            r.comm = Some(comm);
        }
        if r.pid.is_none() {
            r.pid = pid;
        }
        if r.tainted.is_none() {
            r.tainted = tainted;
        }
    }

    /// Lines that only mean something inside a dump: registers, call traces, RCU details.
    fn in_block(&mut self, line: &RawLine<'_>) {
        let Some(block) = self.block.as_mut() else {
            return;
        };
        block.quiet += 1;
        if block.quiet > QUIET_LIMIT {
            self.block = None;
            return;
        }
        let Some(i) = block.report else { return };
        let text = line.text.as_ref();
        let trimmed = text.trim();
        if let Some(caps) = text
            .trim_start()
            .starts_with("CPU")
            .then(|| P.cpu_only.captures(text))
            .flatten()
        {
            // RHEL 5's `CPU 1:` before the registers.
            block.cpu = num(&caps, "cpu");
            block.quiet = 0;
            return;
        }
        let kind = self.reports[i].report.kind;
        if kind == Kind::RcuStall && self.rcu_line(i, text) {
            return;
        }
        if self.dump_line(i, kind, text, trimmed) == Flow::EndBlock {
            self.block = None;
        }
    }

    /// Registers and call trace of the report `i` the current block is bound to.
    fn dump_line(&mut self, i: usize, kind: Kind, text: &str, trimmed: &str) -> Flow {
        let block = self.block.as_mut().expect("called inside a block");
        let draft = &mut self.reports[i];
        if trimmed.starts_with("Call Trace:")
            || trimmed.starts_with("Call trace:")
            || trimmed.starts_with("Backtrace:")
        {
            block.quiet = 0;
            // One trace per report, unless what was collected so far (frames without a header,
            // in a garbled console) named nothing: then this one may.
            if !draft.has_candidate_frame() {
                block.trace = TraceState::Collecting { gap: 0 };
            }
            return Flow::Continue;
        }
        if kind != Kind::HungTask {
            if let Some(pc) = trace::parse_pc(trimmed) {
                block.quiet = 0;
                // A user-mode RIP after the trace is the syscall entry, not where the CPU hung.
                let before_trace = block.trace == TraceState::NotStarted;
                // When the watchdog's timer interrupted an interrupt (softirqs run on irq exit),
                // the first RIP is that interrupt's; the one printed inside <TASK> after the
                // interrupt section is where the stuck task was, and it is what the report is about.
                let task_after_irq = block.context == Context::Task
                    && draft.interrupt_end.is_some()
                    && !draft.task_rip
                    && !pc.user;
                let r = &mut draft.report;
                if (r.rip.is_none() && !r.user_space && (before_trace || !pc.user))
                    || task_after_irq
                {
                    r.rip = Some(pc.raw);
                    r.user_space = pc.user;
                    draft.pc = pc.symbol;
                    draft.task_rip = task_after_irq;
                }
                return Flow::Continue;
            }
        }
        if let Some(task) = trimmed
            .strip_prefix("task:")
            .filter(|t| t.contains(" state:"))
        {
            // sched_show_task(): the hung task itself, the task an RCU stall waits for (its
            // first dump), or someone else whose stack must not be taken for the report's.
            let name = task.split(" state:").next().unwrap_or("").trim();
            let r = &mut draft.report;
            let ours = match kind {
                Kind::HungTask => r.comm.as_deref().is_none_or(|c| c == name),
                Kind::RcuStall => draft.frames.is_empty() && draft.pc.is_none(),
                _ => false,
            };
            if !ours {
                block.report = None;
            } else if r.comm.is_none() {
                r.comm = Some(name.to_owned());
                r.pid = P.task_pid.captures(task).and_then(|c| num(&c, "pid"));
            }
            return Flow::Continue;
        }
        if kind == Kind::HungTask && draft.report.tainted.is_none() {
            if let Some(flags) = trimmed.strip_prefix("Tainted: ") {
                draft.report.tainted = Some(taint_field(flags));
                return Flow::Continue;
            }
            if trimmed.starts_with("Not tainted") {
                draft.report.tainted = Some(String::new());
                return Flow::Continue;
            }
        }
        // riscv dumps, and reports quoted in mails, have frames without a `Call Trace:` header.
        let collecting =
            matches!(block.trace, TraceState::Collecting { .. }) || !draft.has_candidate_frame();
        if !collecting {
            return Flow::Continue;
        }
        let mut rest = text;
        let mut progressed = false;
        if let Some((context, after)) = trace::parse_marker(text) {
            if block.context == Context::Interrupt && context == Context::Task {
                draft.interrupt_end.get_or_insert(draft.frames.len());
            }
            block.context = context;
            rest = after;
            progressed = true;
        }
        if let Some(frame) = trace::parse_frame(rest) {
            // Unreliable task frames serve neither the stack nor the culprit.
            if frame.reliable || block.context == Context::Interrupt {
                draft.frames.push((frame, block.context));
            }
            progressed = true;
        }
        if trimmed.starts_with("Leftover inexact backtrace")
            || trimmed.starts_with("DWARF2 unwinder")
        {
            progressed = true;
        }
        if progressed {
            block.trace = TraceState::Collecting { gap: 0 };
            block.quiet = 0;
        } else if let TraceState::Collecting { gap } = &mut block.trace {
            *gap += 1;
            if *gap > TRACE_GAP_LIMIT {
                return Flow::EndBlock;
            }
        }
        Flow::Continue
    }

    /// RCU stall details: which CPU stalls (`rcu: \t1-....: (5249 ticks this GP) ...`) and
    /// who noticed (`(detected by 0, t=21002 jiffies ...)`). Returns whether the line was one.
    fn rcu_line(&mut self, i: usize, text: &str) -> bool {
        let r = &mut self.reports[i].report;
        let block = self.block.as_mut().expect("called inside a block");
        if let Some(caps) = text
            .contains(" (")
            .then(|| P.rcu_detail.captures(text))
            .flatten()
        {
            if r.cpu.is_none() {
                r.cpu = num(&caps, "cpu");
                block.cpu = r.cpu;
            }
        } else if let Some(caps) = text
            .contains("detected by")
            .then(|| P.detected_by.captures(text))
            .flatten()
        {
            r.reporting_cpu = r.reporting_cpu.or(num(&caps, "cpu"));
        } else if [
            "Stack dump where RCU GP kthread last ran",
            "RCU grace-period kthread stack dump",
            "kthread starved",
        ]
        .iter()
        .any(|w| text.contains(w))
        {
            // What follows is the grace-period kthread's stack, not the stalled CPU's.
            block.report = None;
        } else {
            return false;
        }
        block.quiet = 0;
        true
    }
}

impl Parser {
    /// Another CPU's NMI backtrace after a report: part of that report's all-CPU backtrace.
    fn note_backtrace(&mut self, cpu: u32, now: usize) {
        if let Some(last) = self
            .reports
            .last_mut()
            .filter(|d| d.report.line + OPEN_WINDOW >= now && d.report.cpu != Some(cpu))
        {
            if !last.report.backtraces.contains(&cpu) {
                last.report.backtraces.push(cpu);
            }
        }
    }

    /// `Oops: 0000 [#1]` a few lines after `BUG: unable to handle page fault` (or `invalid
    /// opcode` after `kernel BUG at`) is the same oops, not a second one.
    fn continues_oops(&self, draft: &Draft, now: usize) -> bool {
        draft.report.kind == Kind::Oops
            && self.reports.last().is_some_and(|last| {
                last.report.kind == Kind::Oops
                    && !last.has_task_line
                    && last.report.line + OOPS_HEADER_LINES >= now
            })
    }
}

/// How many lines after a `WARNING:` a hang report may start and still be that warning's message.
const WARN_CARRIER_LINES: usize = 3;

/// How many lines an oops's header may take before its `Oops:` line (`#PF:` lines, page tables).
const OOPS_HEADER_LINES: usize = 8;

/// Recognises the first line of a warning, oops, other BUG, which are reports too (a scenario
/// must account for them), but not a hang detector's.
fn foreign_start(line: &RawLine<'_>) -> Option<Draft> {
    let text = line.text.as_ref().trim_start();
    let oops = [
        "BUG: unable to handle",
        "BUG: kernel NULL pointer dereference",
        "Unable to handle kernel",
        "general protection fault",
        "Oops",
        "Internal error: Oops",
        "kernel BUG at",
    ];
    let kind = if text.starts_with("WARNING:") {
        Kind::Warning
    } else if oops.iter().any(|w| text.starts_with(w)) {
        Kind::Oops
    } else if text.starts_with("BUG: ") {
        Kind::Bug
    } else {
        return None;
    };
    let mut d = Draft::new(kind, line);
    if let Some(caps) = P.warning_cpu.captures(text) {
        d.report.cpu = num(&caps, "cpu");
        d.report.pid = num(&caps, "pid");
    }
    Some(d)
}

/// Recognises the first line of a report.
fn report_start(line: &RawLine<'_>) -> Option<Draft> {
    let text = line.text.as_ref();
    if let Some(caps) = P.soft.captures(text) {
        let mut d = Draft::new(Kind::SoftLockup, line);
        d.report.cpu = num(&caps, "cpu");
        d.report.stuck_secs = num(&caps, "secs");
        d.report.comm = caps.name("comm").map(|m| m.as_str().to_owned());
        d.report.pid = num(&caps, "pid");
        return Some(d);
    }
    if let Some(caps) = P.hard.captures(text).or_else(|| P.hard_old.captures(text)) {
        let mut d = Draft::new(Kind::HardLockup, line);
        d.report.cpu = num(&caps, "cpu");
        d.report.reporting_cpu = num(&caps, "rep");
        return Some(d);
    }
    if let Some(caps) = P.hard_ppc_other.captures(text) {
        let mut d = Draft::new(Kind::HardLockup, line);
        d.report.cpu = num(&caps, "cpu");
        d.report.reporting_cpu = num(&caps, "rep");
        return Some(d);
    }
    if let Some(caps) = P.hard_ppc_self.captures(text) {
        let mut d = Draft::new(Kind::HardLockup, line);
        d.report.cpu = num(&caps, "cpu");
        if let Some(pc) = trace::parse_kernel_pc(&caps["at"]) {
            d.report.rip = Some(pc.raw);
            d.pc = pc.symbol;
        }
        return Some(d);
    }
    if let Some(caps) = P.rcu.captures(text) {
        let mut d = Draft::new(Kind::RcuStall, line);
        d.report.cpu =
            num(&caps, "cpu").or_else(|| P.inline_cpu.captures(text).and_then(|c| num(&c, "cpu")));
        d.report.reporting_cpu = P.detected_by.captures(text).and_then(|c| num(&c, "cpu"));
        return Some(d);
    }
    if let Some(caps) = P.hung.captures(text) {
        let mut d = Draft::new(Kind::HungTask, line);
        d.report.comm = Some(caps["comm"].to_owned());
        d.report.pid = num(&caps, "pid");
        d.report.stuck_secs = num(&caps, "secs");
        return Some(d);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comm_and_taint_forms() {
        assert_eq!(
            comm_and_taint("hog_busy Tainted: G           O L     6.12.117 #1"),
            ("hog_busy".into(), Some("GOL".into()))
        );
        assert_eq!(
            comm_and_taint("hog Tainted: G           OEL  4.4.0-83-generic #106-Ubuntu").1,
            Some("GOEL".into())
        );
        assert_eq!(
            comm_and_taint("kswapd1 Tainted: G 2.6.18-164.el5 #1").1,
            Some("G".into())
        );
        assert_eq!(
            comm_and_taint("my prog Not tainted 6.1.0 #1"),
            ("my prog".into(), Some(String::new()))
        );
        assert_eq!(
            comm_and_taint("syz-executor.1 Not tainted 5.8.0-rc3-syzkaller #0").0,
            "syz-executor.1"
        );
        assert_eq!(
            comm_and_taint("netlink_test Kdump: loaded Tainted: G           OE     "),
            ("netlink_test".into(), Some("GOE".into()))
        );
        assert_eq!(
            comm_and_taint("jbd2/pmem0-8"),
            ("jbd2/pmem0-8".into(), None)
        );
    }

    #[test]
    fn panic_reasons() {
        assert_eq!(panic_kind("softlockup: hung tasks"), Some(Kind::SoftLockup));
        assert_eq!(panic_kind("Hard LOCKUP"), Some(Kind::HardLockup));
        assert_eq!(panic_kind("hardlockup: hung tasks"), Some(Kind::HardLockup));
        assert_eq!(panic_kind("hung_task: blocked tasks"), Some(Kind::HungTask));
        assert_eq!(panic_kind("RCU Stall"), Some(Kind::RcuStall));
        assert_eq!(panic_kind("Fatal exception"), None);
    }

    #[test]
    fn prefilter_finds_every_report_start() {
        for line in [
            "watchdog: BUG: soft lockup - CPU#1 stuck for 6s! [hog:99]",
            "watchdog: CPU0: Watchdog detected hard LOCKUP on cpu 1",
            "NMI Watchdog detected LOCKUP on CPU 3",
            "rcu: INFO: rcu_sched self-detected stall on CPU",
            "INFO: rcu_preempt detected stalls on CPUs/tasks:",
            "INFO: task hog:99 blocked for more than 122 seconds.",
            "Kernel panic - not syncing: Hard LOCKUP",
        ] {
            let hits = Hits::of(line);
            let l = RawLine {
                number: 1,
                stamp: None,
                text: line.into(),
            };
            let found = hits.any(REPORT_WORDS) && report_start(&l).is_some();
            assert!(found || hits.has(Trigger::KernelPanic), "{line}");
        }
    }

    #[test]
    fn hits_sees_every_word_of_a_line() {
        let hits = Hits::of("watchdog: BUG: soft lockup - CPU#1 stuck for 6s! [hog:99]");
        assert!(hits.has(Trigger::Bug) && hits.has(Trigger::SoftLockup));
        assert!(!hits.has(Trigger::CpuLine));
        assert_eq!(
            Hits::of("RSP: 0018:ffffb4f1c0257ee8 EFLAGS: 00000246"),
            Hits(0)
        );
    }
}
