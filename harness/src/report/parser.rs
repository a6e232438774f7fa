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

use super::kinds::{self, CulpritFrom, Details, Extent, KindInfo, TABLE};
use super::lines::{Caller, Cursor, RawLine};
use super::trace::{self, Context, Frame, Symbol};
use super::{Kind, Report};

/// Words that steer the parser without being a report's first line. With the kinds' own
/// trigger words ([`kinds::KindInfo::triggers`]) they make the prefilter: lines without any are
/// skipped without decoding while no dump is being read (this keeps parsing at memory-scan
/// speed), and inside a dump they are only read as registers, frames and details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    KernelPanic,
    NmiBacktrace,
    SendingNmi,
    CpuLine,
    PidLine,
    ProcessLine,
    CutHere,
    End,
}

const TRIGGERS: [(Trigger, &str); 8] = [
    (Trigger::KernelPanic, "Kernel panic"),
    (Trigger::NmiBacktrace, "NMI backtrace"),
    (Trigger::SendingNmi, "Sending NMI"),
    (Trigger::CpuLine, "CPU: "),
    (Trigger::PidLine, "Pid: "),
    (Trigger::ProcessLine, "(pid: "),
    (Trigger::CutHere, "cut here"),
    (Trigger::End, "---[ end "),
];

/// One distinct word of the prefilter and what it stands for.
struct Word {
    text: &'static str,
    /// Bit set of [`Trigger`]s.
    triggers: u32,
    /// Bit set of [`TABLE`] indexes whose first lines contain it.
    kinds: u32,
}

/// The [`Trigger`]s and kinds' words in one line, found in a single scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hits {
    triggers: u32,
    kinds: u32,
}

impl Hits {
    const NONE: Hits = Hits {
        triggers: 0,
        kinds: 0,
    };

    fn of(text: &str) -> Self {
        P.prefilter
            .find_iter(text.as_bytes())
            .fold(Hits::NONE, |set, hit| {
                match P.words.iter().find(|w| w.text.as_bytes() == hit.as_bytes()) {
                    Some(w) => Hits {
                        triggers: set.triggers | w.triggers,
                        kinds: set.kinds | w.kinds,
                    },
                    None => set,
                }
            })
    }

    fn has(self, t: Trigger) -> bool {
        self.triggers & (1 << t as u32) != 0
    }

    fn has_kind(self, i: usize) -> bool {
        self.kinds & (1 << i) != 0
    }
}

/// How many lines a dump may go without a line it recognises before it is considered over.
const QUIET_LIMIT: usize = 60;
/// How many non-frame lines a call trace may contain (e.g. mid-trace registers) before it ends.
const TRACE_GAP_LIMIT: usize = 12;
/// How many lines after a report its `CPU:` line or NMI backtrace may still arrive.
const OPEN_WINDOW: usize = 2000;
/// How many lines a printk caller's dump may wait for its next line while others print.
const PARKED_LIMIT: usize = 500;

struct Patterns {
    prefilter: regex::bytes::Regex,
    words: Vec<Word>,
    /// [`kinds::KindInfo::headers`], compiled, by table index.
    headers: Vec<Vec<Regex>>,
    panic: Regex,
    cpu_line: Regex,
    pid_line: Regex,
    process_line: Regex,
    cpu_only: Regex,
    nmi_backtrace: Regex,
    sending_nmi: Regex,
    rcu_detail: Regex,
    rcu_tasks: Regex,
    task_token: Regex,
    detected_by: Regex,
    taint_bracket: Regex,
    task_pid: Regex,
    blocker: Regex,
    pwq: Regex,
    in_flight: Regex,
}

static P: LazyLock<Patterns> = LazyLock::new(|| {
    let re = |s: &str| Regex::new(s).unwrap();
    let mut words: Vec<Word> = Vec::new();
    let mut add = |text: &'static str, triggers: u32, kinds: u32| match words
        .iter_mut()
        .find(|w| w.text == text)
    {
        Some(w) => {
            w.triggers |= triggers;
            w.kinds |= kinds;
        }
        None => words.push(Word {
            text,
            triggers,
            kinds,
        }),
    };
    for (t, w) in TRIGGERS {
        add(w, 1 << t as u32, 0);
    }
    for (i, info) in TABLE.iter().enumerate() {
        for w in info.triggers {
            add(w, 0, 1 << i);
        }
    }
    let prefilter = words
        .iter()
        .map(|w| regex::escape(w.text))
        .collect::<Vec<_>>()
        .join("|");
    Patterns {
        prefilter: regex::bytes::Regex::new(&prefilter).unwrap(),
        words,
        headers: TABLE
            .iter()
            .map(|info| info.headers.iter().map(|h| re(h)).collect())
            .collect(),
        panic: re(r"Kernel panic - not syncing:\s*(?P<reason>.*?)\s*$"),
        cpu_line: re(r"^CPU: (?P<cpu>\d+) (?:UID: \d+ )?PID: (?P<pid>\d+) Comm: (?P<rest>.*)$"),
        pid_line: re(r"^Pid: (?P<pid>\d+), comm: (?P<rest>.*)$"),
        process_line: re(r"^Process (?P<comm>.+?) \(pid: (?P<pid>\d+)"),
        cpu_only: re(r"^CPU:?\s+(?P<cpu>\d+):?\s*$"),
        nmi_backtrace: re(r"NMI backtrace for cpu (?P<cpu>\d+)(?P<skipped> skipped)?"),
        sending_nmi: re(r"Sending NMI from CPU (?P<from>\d+) to CPUs"),
        rcu_detail: re(r"^(?:rcu:)?\s*(?P<cpu>\d+)(?:-\S*)?:\s*\(\d+ (?:ticks this GP|GPs behind)"),
        rcu_tasks: re(r"Tasks blocked on level-\d+ rcu_node \(CPUs [\d-]+\):(?P<list>.*)"),
        task_token: re(r"(?:^|[\s{])P(?P<pid>\d+)"),
        detected_by: re(r"detected by (?P<cpu>\d+)"),
        taint_bracket: re(r"\[(?P<flag>[A-Z])\]="),
        task_pid: re(r"\bpid:\s*(?P<pid>\d+)"),
        // kernel/hung_task.c debug_show_blocker() as 7.3 prints it: mutex, semaphore (`last held
        // by`), rw-semaphore (`<reader>`/`<writer>`), and an owner that is not found.
        blocker: re(
            r"^INFO: task (?P<comm>.+):(?P<pid>\d+) (?:<\w+> )?(?:is )?blocked on an? (?:mutex|semaphore|rw-semaphore)(?: likely (?:owned|last held) by task (?P<owner>.+):(?P<opid>\d+))?",
        ),
        pwq: re(
            r"^pwq \d+: (?P<pool>cpus=\S*(?: node=-?\d+)? flags=0x[0-9a-fA-F]+(?: nice=-?\d+| bh(?:-hi)?)?)",
        ),
        in_flight: re(r"^in-flight: (?P<worker>\d+|bh(?:-hi)?)(?:\(RESCUER\))?:(?P<func>.*)"),
    }
});

/// Parses a whole console log.
pub(crate) fn parse(text: &[u8]) -> Vec<Report> {
    let mut reader = Reader::default();
    reader.push(text);
    reader.reports()
}

/// The console read as it comes: the one reader of console text, which `--live`, the guest
/// step and a boot's record all use. Lines are parsed once, when their newline arrives;
/// [`Reader::reports`] finishes a copy of the open reports, so it can be asked at any time.
#[derive(Default, Clone)]
pub struct Reader {
    text: Vec<u8>,
    parser: Parser,
    /// Byte offset and number of the first line not parsed yet.
    pos: usize,
    number: usize,
}

impl Reader {
    /// Appends console text; every line it completes is parsed.
    pub fn push(&mut self, bytes: &[u8]) {
        self.text.extend_from_slice(bytes);
        let complete = memchr::memrchr(b'\n', &self.text).map_or(0, |i| i + 1);
        if complete > self.pos {
            let (pos, number) = feed(
                &mut self.parser,
                &self.text[..complete],
                self.pos,
                self.number,
            );
            (self.pos, self.number) = (pos, number);
        }
    }

    /// The console so far.
    pub fn text(&self) -> &[u8] {
        &self.text
    }

    /// The reports so far, as if the log ended here (a last line without its newline included).
    pub fn reports(&self) -> Vec<Report> {
        let mut parser = self.parser.clone();
        if self.pos < self.text.len() {
            feed(&mut parser, &self.text, self.pos, self.number);
        }
        parser.end_of_log();
        let mut reports: Vec<Report> = parser.reports.into_iter().map(Draft::finish).collect();
        link_blockers(&mut reports);
        reports
    }
}

/// Parses the lines of `text` from byte `pos` (line `number`) on; returns where it stopped.
/// Lines far from any trigger word are skipped undecoded while no dump is being read.
fn feed(parser: &mut Parser, text: &[u8], pos: usize, number: usize) -> (usize, usize) {
    let mut cursor = Cursor::resume(text, pos, number.max(1));
    loop {
        if parser.idle() {
            match P.prefilter.find_at(text, cursor.pos()) {
                Some(hit) => cursor.skip_to(hit.start()),
                None => {
                    cursor.skip_to_end();
                    break;
                }
            }
        }
        let Some(line) = cursor.next_line() else {
            break;
        };
        parser.line(&line);
    }
    (cursor.pos(), cursor.number())
}

/// A blocker that is itself a hung task gets no dump of its own after the `blocked on` line
/// (the kernel skips it): its own report says where it was.
fn link_blockers(reports: &mut [Report]) {
    for i in 0..reports.len() {
        if reports[i].blocker_culprit.is_some() {
            continue;
        }
        let Some(pid) = reports[i].blocker_pid else {
            continue;
        };
        let found = reports
            .iter()
            .find(|o| o.kind == Kind::HungTask && o.pid == Some(pid))
            .and_then(|o| o.culprit.clone());
        reports[i].blocker_culprit = found;
    }
}

/// A report being assembled, with what is needed to pick its culprit at the end.
#[derive(Clone)]
struct Draft {
    report: Report,
    /// The first line's message, for the title.
    header: String,
    frames: Vec<(Frame, Context)>,
    /// Unreliable (`?`) task frames seen and left out of `frames`: a trace was printed, even
    /// when none of it can be trusted (a running task dumped from another CPU).
    guessed_frames: usize,
    pc: Option<Symbol>,
    /// The culprit a line named (a workqueue hog's function, the stuck pool's work in flight).
    named: Option<Symbol>,
    /// A workqueue lockup's pool as printed (`cpus=1 node=0 flags=0x0 nice=0`).
    pool: Option<String>,
    /// Frames of the dump of a hung task's lock owner.
    blocker_frames: Vec<Frame>,
    /// Where the first interrupt/NMI section of the trace ended (index into `frames`): on old
    /// kernels the interrupted function shows up only at its end, as `? func` found from the
    /// saved registers.
    interrupt_end: Option<usize>,
    /// A `CPU: N PID:` or `Pid:` line has been bound to it: later dumps are someone else's.
    has_task_line: bool,
    /// Its stuck CPU's dump came as an `NMI backtrace for cpu N` another CPU asked for.
    backtraced: bool,
    /// `rip` holds the registers printed inside `<TASK>` after an interrupt section.
    task_rip: bool,
    /// Inside `<TASK>` ... `</TASK>` of its trace: the trace is not over.
    in_task: bool,
    /// The log ended while its dump was being read, before any call trace.
    eof: bool,
    /// Line of another report that started inside its dump before its call trace.
    interrupted_by: Option<usize>,
    /// Its call trace was cut off in the middle (why).
    cut: Option<String>,
    /// A hung task's `blocked on` line named a lock (its owner known or not).
    on_lock: bool,
    /// A workqueue lockup's pool showed up in the busy-workqueue dump.
    pool_seen: bool,
}

impl Draft {
    fn new(kind: Kind, line: &RawLine<'_>) -> Self {
        Draft {
            report: Report {
                time: line.time(),
                ..Report::empty(kind, line.number)
            },
            // Only titles built from the first line need it kept.
            header: if kind.info().title.contains("{what}") {
                line.text.trim().to_owned()
            } else {
                String::new()
            },
            frames: Vec::new(),
            guessed_frames: 0,
            pc: None,
            named: None,
            pool: None,
            blocker_frames: Vec::new(),
            interrupt_end: None,
            has_task_line: false,
            backtraced: false,
            task_rip: false,
            in_task: false,
            eof: false,
            interrupted_by: None,
            cut: None,
            on_lock: false,
            pool_seen: false,
        }
    }

    /// A reliable task-context frame that could be the culprit.
    fn has_candidate_frame(&self, sink: Sink) -> bool {
        match sink {
            Sink::Report => self.frames.iter().any(|(f, ctx)| {
                f.reliable && *ctx == Context::Task && !trace::is_plumbing(&f.symbol.name)
            }),
            Sink::Blocker => self
                .blocker_frames
                .iter()
                .any(|f| !trace::is_plumbing(&f.symbol.name)),
        }
    }

    /// Something that says where the CPU or task was: registers or frames.
    fn has_trace(&self) -> bool {
        !self.frames.is_empty()
            || self.guessed_frames > 0
            || self.pc.is_some()
            || self.report.rip.is_some()
    }

    /// An arm64 trace that went through an interrupt's entry (`el1h_64_irq`): what is above
    /// it is the interrupt's (a softirq run on its way out, say), and the `pc` with it; the
    /// interrupted code below is where the CPU was stuck.
    fn split_arm64_interrupt(&mut self) {
        if self.interrupt_end.is_some() || self.report.kind.info().culprit == CulpritFrom::FiredAt {
            return;
        }
        let Some(entry) = self
            .frames
            .iter()
            .position(|(f, _)| trace::is_arm64_irq_entry(&f.symbol.name))
        else {
            return;
        };
        for (_, ctx) in &mut self.frames[..=entry] {
            *ctx = Context::Interrupt;
        }
        self.interrupt_end = Some(entry + 1);
        self.pc = None;
    }

    /// Culprit by the kind's [`CulpritFrom`] rule, victim, stack, corruption and title.
    fn finish(mut self) -> Report {
        self.split_arm64_interrupt();
        let culprit = self.culprit().cloned();
        let corrupted = self.corruption();
        let waits_for_lock = self.report.kind == Kind::HungTask
            && (self.on_lock
                || self
                    .frames
                    .iter()
                    .any(|(f, _)| f.reliable && trace::is_lock_sleep(&f.symbol.name)));
        let mut r = self.report;
        r.victim = waits_for_lock
            || self
                .pc
                .iter()
                .chain(culprit.as_ref())
                .any(|s| trace::is_lock_spin(&s.name) || trace::is_ipi_wait(&s.name));
        if let Some(c) = culprit {
            r.culprit = Some(c.name);
            r.module = c.module;
        }
        r.blocker_culprit = self
            .blocker_frames
            .iter()
            .find(|f| !trace::is_plumbing(&f.symbol.name) && !trace::is_sleep(&f.symbol.name))
            .map(|f| f.symbol.name.clone());
        r.corrupted = corrupted;
        r.stack = self
            .frames
            .into_iter()
            .filter(|(f, _)| f.reliable)
            .map(|(f, _)| f.symbol.name)
            .collect();
        r.title = kinds::title(&r, &self.header);
        r
    }

    /// The report's culprit by its kind's [`CulpritFrom`] rule.
    fn culprit(&self) -> Option<&Symbol> {
        let r = &self.report;
        let info = r.kind.info();
        let sleeper = info.culprit == CulpritFrom::Sleeper;
        // A stall that waits for a preempted task: that task's stack starts in the scheduler.
        let preempted = r.kind == Kind::RcuStall && r.cpu.is_none();
        let skip = |name: &str| {
            trace::is_plumbing(name)
                || (sleeper && trace::is_sleep(name))
                || (preempted && trace::is_scheduler(name))
        };
        let stuck = || {
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
        match info.culprit {
            _ if r.user_space => None,
            // A warning, oops or BUG is about where it fired, even in the watchdog's own code.
            CulpritFrom::FiredAt if self.pc.is_some() => self.pc.as_ref(),
            CulpritFrom::Named if self.named.is_some() => self.named.as_ref(),
            _ => stuck(),
        }
    }

    /// Why the report is incomplete, if it is: cut off, no call trace where its kind always
    /// prints one, a workqueue lockup without its pool.
    fn corruption(&self) -> Option<String> {
        let info = self.report.kind.info();
        if let Some(why) = &self.cut {
            return Some(why.clone());
        }
        if info.needs_trace && !self.has_trace() {
            return Some(match (self.eof, self.interrupted_by) {
                (true, _) => "the log ends before its call trace".to_owned(),
                (false, Some(n)) => {
                    format!(
                        "another report (line {n}) started inside its dump before its call trace"
                    )
                }
                (false, None) => "no call trace".to_owned(),
            });
        }
        if info.details == Details::Workqueue && !self.pool_seen {
            return match (self.eof, self.interrupted_by) {
                (true, _) => Some("the log ends before its pool's busy workqueues".to_owned()),
                (false, Some(n)) => Some(format!(
                    "another report (line {n}) started before its pool's busy workqueues"
                )),
                (false, None) => None,
            };
        }
        None
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Opened by the report's own first line: a `CPU:` line for another CPU may retarget it.
    Report,
    /// Opened by a `CPU:` line, NMI backtrace, panic or unrelated oops: its dump is its own.
    Dump,
}

/// Whose frames a block's call trace is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sink {
    /// The report's own.
    Report,
    /// A hung task's lock owner's.
    Blocker,
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
#[derive(Debug, Clone)]
struct Block {
    report: Option<usize>,
    origin: Origin,
    sink: Sink,
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
            sink: Sink::Report,
            cpu,
            context: Context::Task,
            trace: TraceState::NotStarted,
            quiet: 0,
        }
    }
}

/// A first line recognised by a kind's header pattern.
struct Header<'t> {
    kind: Kind,
    caps: regex::Captures<'t>,
}

impl Header<'_> {
    fn join(&self) -> bool {
        self.caps.name("join").is_some()
    }

    fn cpu(&self) -> Option<u32> {
        num(&self.caps, "cpu").or_else(|| {
            // A cpumask that names one CPU (`cpus=1`, not `cpus=0-1`).
            self.caps.name("cpus").and_then(|m| m.as_str().parse().ok())
        })
    }

    fn draft(&self, line: &RawLine<'_>) -> Draft {
        let caps = &self.caps;
        let mut d = Draft::new(self.kind, line);
        let r = &mut d.report;
        r.cpu = self.cpu();
        r.reporting_cpu = num(caps, "rep");
        r.expedited = caps.name("expedited").is_some();
        r.stuck_secs = num(caps, "secs");
        r.count = num(caps, "count");
        r.comm = caps.name("comm").map(|m| m.as_str().to_owned());
        r.pid = num(caps, "pid");
        if let Some(pc) = caps
            .name("at")
            .and_then(|m| trace::parse_kernel_pc(m.as_str()))
        {
            r.rip = Some(pc.raw);
            d.pc = pc.symbol;
        }
        d.named = caps
            .name("func")
            .and_then(|m| trace::parse_symbol(m.as_str()));
        d.pool = caps.name("pool").map(|m| m.as_str().to_owned());
        if self.kind.info().details == Details::Rcu && line.text.contains('{') {
            // 3.x lists blocking tasks inline: `{ P85 1}`.
            d.report.tasks = task_pids(&line.text);
        }
        d
    }
}

/// Recognises the first line of a report of any kind whose trigger words the line holds.
fn header<'t>(text: &'t str, hits: Hits) -> Option<Header<'t>> {
    TABLE.iter().enumerate().find_map(|(i, info)| {
        if !hits.has_kind(i) {
            return None;
        }
        P.headers[i].iter().find_map(|re| {
            re.captures(text).map(|caps| Header {
                kind: info.kind,
                caps,
            })
        })
    })
}

/// `P85/1:b..l P86` -> [85, 86].
fn task_pids(list: &str) -> Vec<u32> {
    P.task_token
        .captures_iter(list)
        .filter_map(|c| num(&c, "pid"))
        .collect()
}

#[derive(Default, Clone)]
struct Parser {
    reports: Vec<Draft>,
    /// The dump being read by the current printk caller (or by everyone, without caller ids).
    block: Option<Block>,
    /// Whose dump `block` is: the caller id of the line being read.
    slot: Option<Caller>,
    /// Dumps of other callers, set aside while lines of another one are read, with the line
    /// they were set aside at.
    parked: Vec<(Option<Caller>, Block, usize)>,
    /// The workqueue lockup whose pool the last `pwq N:` line showed.
    wq_target: Option<usize>,
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

/// Which kind of report a panic reason belongs to, by the kinds' panic words
/// (`softlockup: hung tasks`, `Hard LOCKUP`, `hung_task: blocked tasks`, `RCU Stall` ...).
fn panic_kind(reason: &str) -> Option<Kind> {
    let r = reason.to_ascii_lowercase();
    TABLE
        .iter()
        .find(|info| info.panic_words.iter().any(|w| r.contains(w)))
        .map(|info| info.kind)
}

/// `Call Trace:`: a trace starts, one per report unless what was collected so far (frames
/// without a header, in a garbled console) named nothing.
fn trace_header(block: &mut Block, draft: &Draft, trimmed: &str) -> bool {
    if !(trimmed.starts_with("Call Trace:")
        || trimmed.starts_with("Call trace:")
        || trimmed.starts_with("Backtrace:"))
    {
        return false;
    }
    block.quiet = 0;
    if !draft.has_candidate_frame(block.sink) {
        block.trace = TraceState::Collecting { gap: 0 };
    }
    true
}

/// `RIP: 0010:func+0x1/0x2` (or `pc : func+0x1/0x2`): where the CPU was.
fn pc_line(block: &mut Block, draft: &mut Draft, info: &KindInfo, trimmed: &str) -> bool {
    if info.culprit == CulpritFrom::Sleeper || block.sink != Sink::Report {
        return false;
    }
    let Some(pc) = trace::parse_pc(trimmed) else {
        return false;
    };
    block.quiet = 0;
    // A user-mode RIP after the trace is the syscall entry, not where the CPU hung.
    let before_trace = block.trace == TraceState::NotStarted;
    // When the watchdog's timer interrupted an interrupt (softirqs run on irq exit), the first
    // RIP is that interrupt's; the one printed inside <TASK> after the interrupt section is
    // where the stuck task was, and it is what the report is about.
    let task_after_irq = block.context == Context::Task
        && draft.interrupt_end.is_some()
        && !draft.task_rip
        && !pc.user;
    let r = &mut draft.report;
    if (r.rip.is_none() && !r.user_space && (before_trace || !pc.user)) || task_after_irq {
        r.rip = Some(pc.raw);
        r.user_space = pc.user;
        draft.pc = pc.symbol;
        draft.task_rip = task_after_irq;
    }
    true
}

/// `task:NAME state:D ...` (sched_show_task()): the hung task itself or its lock's owner, the
/// task an RCU stall waits for, a stuck pool's running worker, or someone else whose stack
/// must not be taken for the report's.
fn task_line_of_dump(block: &mut Block, draft: &mut Draft, info: &KindInfo, trimmed: &str) -> bool {
    let Some(task) = trimmed
        .strip_prefix("task:")
        .filter(|t| t.contains(" state:"))
    else {
        return false;
    };
    let name = task.split(" state:").next().unwrap_or("").trim();
    let pid: Option<u32> = P.task_pid.captures(task).and_then(|c| num(&c, "pid"));
    let r = &mut draft.report;
    let fresh = draft.frames.is_empty() && draft.pc.is_none();
    let ours = match info.details {
        Details::HungTask => fresh && r.comm.as_deref().is_none_or(|c| c == name),
        Details::Rcu => {
            (fresh && r.tasks.is_empty()) || pid.is_some_and(|p| r.tasks.contains(&p) && fresh)
        }
        Details::Workqueue => {
            fresh && (r.pid.is_none() || r.pid == pid || r.comm.as_deref() == Some(name))
        }
        Details::None => false,
    };
    let owner = info.details == Details::HungTask
        && r.blocker.as_deref() == Some(name)
        && (pid.is_none() || pid == r.blocker_pid)
        && draft.blocker_frames.is_empty();
    block.quiet = 0;
    block.trace = TraceState::NotStarted;
    block.context = Context::Task;
    if owner {
        block.sink = Sink::Blocker;
    } else if !ours {
        block.report = None;
    } else {
        block.sink = Sink::Report;
        if r.comm.is_none() || (info.details == Details::Workqueue && r.pid == pid) {
            r.comm = Some(name.to_owned());
            r.pid = r.pid.or(pid);
        }
    }
    true
}

/// A hung task report's `Tainted:` line (its own, not the oops header's).
fn taint_line(draft: &mut Draft, info: &KindInfo, trimmed: &str) -> bool {
    if info.details != Details::HungTask || draft.report.tainted.is_some() {
        return false;
    }
    if let Some(flags) = trimmed.strip_prefix("Tainted: ") {
        draft.report.tainted = Some(taint_field(flags));
        return true;
    }
    if trimmed.starts_with("Not tainted") {
        draft.report.tainted = Some(String::new());
        return true;
    }
    false
}

/// A stack frame, or a `<IRQ>`/`<TASK>` marker, while a trace is collected; a long run of other
/// lines ends the block. riscv dumps, and reports quoted in mails, have frames without a
/// `Call Trace:` header.
fn frame_line(block: &mut Block, draft: &mut Draft, text: &str, trimmed: &str) -> Flow {
    let collecting = matches!(block.trace, TraceState::Collecting { .. })
        || !draft.has_candidate_frame(block.sink);
    if !collecting {
        return Flow::Continue;
    }
    let mut rest = text;
    let mut progressed = false;
    if let Some((context, after)) = trace::parse_marker(text) {
        if block.sink == Sink::Report {
            if block.context == Context::Interrupt && context == Context::Task {
                draft.interrupt_end.get_or_insert(draft.frames.len());
            }
            if trimmed.starts_with("<TASK>") {
                draft.in_task = true;
            } else if trimmed.starts_with("</TASK>") {
                draft.in_task = false;
            }
        }
        block.context = context;
        rest = after;
        progressed = true;
    }
    if let Some(frame) = trace::parse_frame(rest) {
        match block.sink {
            // Unreliable task frames serve neither the stack nor the culprit.
            Sink::Report if frame.reliable || block.context == Context::Interrupt => {
                draft.frames.push((frame, block.context));
            }
            Sink::Blocker if frame.reliable => draft.blocker_frames.push(frame),
            Sink::Report => draft.guessed_frames += 1,
            _ => {}
        }
        progressed = true;
    }
    if trimmed.starts_with("Leftover inexact backtrace") || trimmed.starts_with("DWARF2 unwinder") {
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

impl Parser {
    /// No dump is being read: lines without trigger words can be skipped.
    fn idle(&self) -> bool {
        self.block.is_none() && self.parked.is_empty()
    }

    /// Makes `block` the dump of the line's printk caller, so CPUs printing at the same time
    /// (CONFIG_PRINTK_CALLER) keep their lines apart.
    fn switch_slot(&mut self, caller: Option<Caller>, now: usize) {
        if caller == self.slot {
            return;
        }
        if let Some(block) = self.block.take() {
            self.parked.push((self.slot, block, now));
        }
        self.parked.retain(|(_, _, at)| at + PARKED_LIMIT >= now);
        self.slot = caller;
        if let Some(i) = self.parked.iter().position(|(c, _, _)| *c == caller) {
            self.block = Some(self.parked.swap_remove(i).1);
        }
    }

    fn line(&mut self, line: &RawLine<'_>) {
        self.switch_slot(line.caller, line.number);
        let text = line.text.as_ref();
        let hits = Hits::of(text);
        if hits == Hits::NONE {
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
        } else if let Some(h) = header(trimmed, hits) {
            self.header(line, &h);
        } else if hits.has(Trigger::CutHere)
            || TABLE
                .iter()
                .enumerate()
                .any(|(i, info)| !info.hang && hits.has_kind(i))
        {
            // An oops or warning of a form no kind reads: its dump is nobody's.
            self.block = Some(Block::new(None, Origin::Dump, None));
        } else if let Some(caps) = caps(Trigger::NmiBacktrace, &P.nmi_backtrace) {
            self.nmi_backtrace(line, &caps);
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

    /// `NMI backtrace for cpu 1`: the dump that follows is that CPU's, for its open report.
    fn nmi_backtrace(&mut self, line: &RawLine<'_>, caps: &regex::Captures<'_>) {
        let cpu = num(caps, "cpu");
        let report = match (cpu, caps.name("skipped")) {
            (Some(cpu), None) => self.find_open(cpu, line.number),
            _ => None,
        };
        if let Some(i) = report {
            self.reports[i].backtraced = true;
        }
        // `NMI backtrace for cpu 0 skipped: idling at ...` is an answer too: the CPU took
        // the NMI and had nothing but the idle loop to show (arm64's perf detector reports
        // from the locked CPU itself, while the other one idles).
        if let (None, Some(cpu)) = (report, cpu) {
            self.note_backtrace(cpu, line.number);
        }
        self.block = Some(Block::new(report, Origin::Dump, cpu));
    }

    /// A kind's first line: a new report, part of an open one, or (a one-line kind) a report
    /// that leaves the dump being read alone.
    fn header(&mut self, line: &RawLine<'_>, h: &Header<'_>) {
        if h.join() {
            let cpu = h.cpu();
            let open = self.reports.iter().rposition(|d| {
                d.report.kind == h.kind
                    && d.report.cpu == cpu
                    && !d.has_task_line
                    && d.report.line + OPEN_WINDOW >= line.number
            });
            if let Some(i) = open {
                self.block = Some(Block::new(Some(i), Origin::Dump, cpu));
                return;
            }
        }
        let draft = h.draft(line);
        if h.kind.info().extent == Extent::Line {
            self.reports.push(draft);
            return;
        }
        if self.continues_oops(&draft, line.number) {
            return;
        }
        self.start(draft);
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
        self.interrupt(draft.report.line);
        let cpu = draft.report.cpu;
        self.reports.push(draft);
        self.block = Some(Block::new(
            Some(self.reports.len() - 1),
            Origin::Report,
            cpu,
        ));
    }

    /// A report starts at line `at` while this caller's dump is being read: that dump's report,
    /// if it has no call trace yet (or is inside one), was cut off.
    fn interrupt(&mut self, at: usize) {
        let Some(block) = &self.block else { return };
        let (Some(i), Sink::Report) = (block.report, block.sink) else {
            return;
        };
        let collecting = matches!(block.trace, TraceState::Collecting { .. });
        let Some(d) = self.reports.get_mut(i) else {
            return;
        };
        if collecting && d.in_task {
            d.cut.get_or_insert_with(|| {
                format!("its call trace is cut off by another report (line {at})")
            });
        }
        // Whether it matters is decided at the end: the dump may still come (bound by CPU).
        d.interrupted_by.get_or_insert(at);
    }

    /// The log ended: the dumps still being read are cut off.
    fn end_of_log(&mut self) {
        let blocks: Vec<Block> = self
            .block
            .take()
            .into_iter()
            .chain(self.parked.drain(..).map(|(_, b, _)| b))
            .collect();
        for block in blocks {
            let (Some(i), Sink::Report) = (block.report, block.sink) else {
                continue;
            };
            let d = &mut self.reports[i];
            if matches!(block.trace, TraceState::Collecting { .. }) && d.in_task {
                d.cut
                    .get_or_insert_with(|| "the log ends inside its call trace".to_owned());
            } else if !d.has_trace() {
                d.eof = true;
            }
            if d.report.kind.info().details == Details::Workqueue {
                d.eof = true;
            }
        }
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
            .find(|(_, d)| {
                d.report.cpu == Some(cpu)
                    && !d.has_task_line
                    && d.report.kind.info().extent == Extent::Dump
            })
            .map(|(i, _)| i)
    }

    fn panic(&mut self, line: &RawLine<'_>, reason: &str) {
        // Before 4.x (and on sparc) the hard lockup detector panicked with the lockup message itself.
        let text = line.text.as_ref().trim_start();
        if let Some(h) = header(text, Hits::of(text)).filter(|h| h.kind.is_hang()) {
            let mut draft = h.draft(line);
            let same = self.reports.last().is_some_and(|last| {
                last.report.kind == draft.report.kind
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
                .iter()
                .rposition(|d| d.report.kind.info().extent == Extent::Dump)
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
        let r = &mut self.reports[target].report;
        r.panic = true;
        r.panic_reason = Some(reason.to_owned());
        let cpu = r.cpu;
        self.block = Some(Block::new(Some(target), Origin::Dump, cpu));
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
        if target.is_none() {
            self.printed_by(cpu);
        }
        let origin = self.block.as_ref().map_or(Origin::Dump, |b| b.origin);
        self.block = Some(Block::new(target, origin, cpu));
        let Some(d) = self.block_report_mut() else {
            return;
        };
        // A hard lockup whose own dump, not one asked for by NMI backtrace, is of the stuck CPU:
        // that CPU printed it (the perf detector's NMI on the locked CPU itself).
        if !d.has_task_line
            && !d.backtraced
            && d.report.kind == Kind::HardLockup
            && d.report.reporting_cpu.is_none()
            && cpu.is_some()
            && d.report.cpu == cpu
        {
            d.report.reporting_cpu = cpu;
        }
        d.has_task_line = true;
        let r = &mut d.report;
        if r.cpu.is_none() && r.kind.info().culprit == CulpritFrom::FiredAt {
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

    /// A hard lockup's own block that starts with another CPU's dump: the CPU that printed
    /// the report (a buddy's WARN() or panic() on old and vendor kernels).
    fn printed_by(&mut self, cpu: Option<u32>) {
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

    /// Lines that only mean something inside a dump: registers, call traces, kind details.
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
        let info = kind.info();
        if info.ends.iter().any(|e| trimmed.starts_with(e)) {
            self.block = None;
            return;
        }
        let read = match info.details {
            Details::None => false,
            Details::Rcu => self.rcu_line(i, text),
            Details::HungTask => self.blocker_line(i, trimmed),
            Details::Workqueue => self.workqueue_line(trimmed),
        };
        if read {
            if let Some(b) = self.block.as_mut() {
                b.quiet = 0;
            }
            return;
        }
        if self.dump_line(i, kind, text, trimmed) == Flow::EndBlock {
            self.block = None;
        }
    }

    /// Registers and call trace of the report `i` the current block is bound to: each kind of
    /// dump line has its reader below, tried in the order the kernel prints them.
    fn dump_line(&mut self, i: usize, kind: Kind, text: &str, trimmed: &str) -> Flow {
        let block = self.block.as_mut().expect("called inside a block");
        let draft = &mut self.reports[i];
        let info = kind.info();
        if trace_header(block, draft, trimmed)
            || pc_line(block, draft, info, trimmed)
            || task_line_of_dump(block, draft, info, trimmed)
            || taint_line(draft, info, trimmed)
        {
            return Flow::Continue;
        }
        frame_line(block, draft, text, trimmed)
    }

    /// RCU stall details: which CPU stalls (`rcu: \t1-....: (5249 ticks this GP) ...`), which
    /// tasks (`Tasks blocked on level-0 rcu_node (CPUs 0-1): P85/1:b..l`) and who noticed
    /// (`(detected by 0, t=21002 jiffies ...)`). Returns whether the line was one.
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
            .contains("Tasks blocked on")
            .then(|| P.rcu_tasks.captures(text))
            .flatten()
        {
            for pid in task_pids(&caps["list"]) {
                if !r.tasks.contains(&pid) {
                    r.tasks.push(pid);
                }
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
        true
    }

    /// A hung task's `INFO: task X:1 is blocked on a mutex likely owned by task Y:2.` line.
    fn blocker_line(&mut self, i: usize, trimmed: &str) -> bool {
        let Some(caps) = trimmed
            .starts_with("INFO: task ")
            .then(|| P.blocker.captures(trimmed))
            .flatten()
        else {
            return false;
        };
        let d = &mut self.reports[i];
        if d.report.pid.is_some() && d.report.pid != num(&caps, "pid") {
            return false;
        }
        // Blocked on a lock, whether or not its owner is known (`... but the owner is not found.`).
        d.on_lock = true;
        d.report.blocker_pid = num(&caps, "opid");
        d.report.blocker = caps.name("owner").map(|m| m.as_str().to_owned());
        let block = self.block.as_mut().expect("called inside a block");
        block.trace = TraceState::NotStarted;
        true
    }

    /// A workqueue lockup's busy-workqueue dump: `pwq 2: cpus=1 ...` names a pool; its
    /// `in-flight: 45:func` names the work (and worker) that kept it stuck.
    fn workqueue_line(&mut self, trimmed: &str) -> bool {
        if trimmed.starts_with("Showing ") || trimmed.starts_with("workqueue ") {
            return true;
        }
        if trimmed.starts_with("pool ") {
            // `pool 2:` before a running worker's dump, or a pool summary.
            if let Some(b) = self.block.as_mut() {
                b.trace = TraceState::NotStarted;
            }
            return true;
        }
        if let Some(caps) = trimmed
            .starts_with("pwq ")
            .then(|| P.pwq.captures(trimmed))
            .flatten()
        {
            let pool = &caps["pool"];
            self.wq_target = self.reports.iter().rposition(|d| {
                d.report.kind == Kind::WorkqueueLockup && d.pool.as_deref() == Some(pool)
            });
            if let Some(d) = self.wq_target.and_then(|i| self.reports.get_mut(i)) {
                d.pool_seen = true;
            }
            return true;
        }
        if let Some(caps) = trimmed
            .starts_with("in-flight:")
            .then(|| P.in_flight.captures(trimmed))
            .flatten()
        {
            if let Some(d) = self.wq_target.and_then(|i| self.reports.get_mut(i)) {
                if d.named.is_none() {
                    d.named = trace::parse_symbol(&caps["func"]);
                    d.report.pid = num(&caps, "worker");
                }
            }
            return true;
        }
        trimmed.starts_with("pending:") || trimmed.starts_with("inactive:")
    }
}

impl Parser {
    /// Another CPU's NMI backtrace after a report: part of that report's all-CPU backtrace.
    fn note_backtrace(&mut self, cpu: u32, now: usize) {
        if let Some(last) = self
            .reports
            .iter_mut()
            .rev()
            .find(|d| d.report.kind.info().extent == Extent::Dump)
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
        assert_eq!(
            panic_kind("workqueue: 1 stall(s) exceeded threshold 1"),
            Some(Kind::WorkqueueLockup)
        );
        assert_eq!(
            panic_kind("workqueue: stall lasted 31s, exceeding threshold 30s"),
            Some(Kind::WorkqueueLockup)
        );
        assert_eq!(panic_kind("Fatal exception"), None);
    }

    fn kind_of(line: &str) -> Option<(Kind, Option<u32>)> {
        let hits = Hits::of(line);
        header(line, hits).map(|h| (h.kind, h.cpu()))
    }

    /// Every first-line format of the detectors, across architectures and versions.
    #[test]
    fn first_lines_of_every_detector() {
        for (line, kind, cpu) in [
            // soft lockup: 2.6.18, 2.6.2x-3.x, 4.x+ (`watchdog: ` prefix), RHEL 5's en-dash.
            ("BUG: soft lockup detected on CPU#0!", Kind::SoftLockup, Some(0)),
            ("BUG: soft lockup - CPU#3 stuck for 23s! [tapdisk:23395]", Kind::SoftLockup, Some(3)),
            ("watchdog: BUG: soft lockup - CPU#1 stuck for 6s! [hog:99]", Kind::SoftLockup, Some(1)),
            ("BUG: soft lockup \u{2013} CPU#1 stuck for 10s! [kswapd1:982]", Kind::SoftLockup, Some(1)),
            // hard lockup: kernel/watchdog.c (perf and buddy), x86/sparc die_nmi, powerpc.
            ("watchdog: CPU0: Watchdog detected hard LOCKUP on cpu 1", Kind::HardLockup, Some(1)),
            ("Watchdog detected hard LOCKUP on cpu 3", Kind::HardLockup, Some(3)),
            ("NMI Watchdog detected LOCKUP on CPU 3", Kind::HardLockup, Some(3)),
            ("BUG: NMI Watchdog detected LOCKUP on CPU1, ip c01a2b3c, registers:", Kind::HardLockup, Some(1)),
            ("watchdog: CPU 8 self-detected hard LOCKUP @ _raw_spin_lock+0x54/0x70", Kind::HardLockup, Some(8)),
            ("watchdog: CPU 10 detected hard LOCKUP on other CPUs 9", Kind::HardLockup, Some(9)),
            ("watchdog: CPU 9 Hard LOCKUP", Kind::HardLockup, Some(9)),
            ("Watchdog CPU:4 Hard LOCKUP", Kind::HardLockup, Some(4)),
            ("Watchdog CPU:2 detected Hard LOCKUP other CPUS:5", Kind::HardLockup, Some(5)),
            // RCU: 2.6.3x, 3.x braces, 4.x+, expedited.
            ("INFO: rcu_sched_state detected stall on CPU 1 (t=2500 jiffies)", Kind::RcuStall, Some(1)),
            ("INFO: rcu_sched self-detected stall on CPU { 1}  (t=2101 jiffies g=1 c=0 q=5)", Kind::RcuStall, Some(1)),
            ("INFO: rcu_sched detected stalls on CPUs/tasks: { 2} (detected by 0, t=2102 jiffies)", Kind::RcuStall, Some(2)),
            ("rcu: INFO: rcu_preempt self-detected stall on CPU", Kind::RcuStall, None),
            ("INFO: rcu_sched detected stalls on CPUs/tasks:", Kind::RcuStall, None),
            ("rcu: INFO: rcu_preempt detected expedited stalls on CPUs/tasks: { 1-.... } 21 jiffies s: 813 root: 0x2/.", Kind::RcuStall, Some(1)),
            // hung task: 2.6.2x to 7.x, with the I/O wait form of 6.x.
            ("INFO: task hog:99 blocked for more than 122 seconds.", Kind::HungTask, None),
            ("INFO: task a b:c:123 blocked in I/O wait for more than 3 seconds.", Kind::HungTask, None),
            // workqueue: 4.5+, BH pools 6.9+, unbound pools, hogs 6.5+.
            ("BUG: workqueue lockup - pool cpus=1 node=0 flags=0x0 nice=0 stuck for 31s!", Kind::WorkqueueLockup, Some(1)),
            ("BUG: workqueue lockup - pool cpus=0-1 flags=0x4 nice=0 stuck for 44s!", Kind::WorkqueueLockup, None),
            ("BUG: workqueue lockup - pool cpus=1 node=0 flags=0x4 bh-hi stuck for 31s!", Kind::WorkqueueLockup, Some(1)),
            ("workqueue: hog_fn [hog_wq] hogged CPU for >10000us 4 times, consider switching to WQ_UNBOUND", Kind::WorkqueueHog, None),
            // not hang reports
            ("BUG: scheduling while atomic: hog/99/0x00000002", Kind::Bug, None),
            ("BUG: kernel NULL pointer dereference, address: 0000000000000000", Kind::Oops, None),
            ("WARNING: CPU: 0 PID: 1 at kernel/watchdog.c:123 watchdog_timer_fn+0x1/0x2", Kind::Warning, Some(0)),
        ] {
            assert_eq!(kind_of(line), Some((kind, cpu)), "{line}");
        }
        for not_a_report in [
            "kernel.softlockup_panic = 1",
            "NMI watchdog: Perf NMI watchdog permanently disabled",
            "hogs-mark: begin busy-loop",
            "INFO: task hog:99 is blocked on a mutex likely owned by task holder:98.",
        ] {
            assert_eq!(kind_of(not_a_report), None, "{not_a_report}");
        }
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
            "BUG: workqueue lockup - pool cpus=1 node=0 flags=0x0 nice=0 stuck for 31s!",
            "workqueue: f hogged CPU for >10000us 4 times, consider switching to WQ_UNBOUND",
        ] {
            assert!(
                P.prefilter.is_match(line.as_bytes()) && kind_of(line).is_some(),
                "{line}"
            );
        }
        assert!(P
            .prefilter
            .is_match(b"Kernel panic - not syncing: Hard LOCKUP"));
    }

    #[test]
    fn hits_sees_every_word_of_a_line() {
        let line = "watchdog: BUG: soft lockup - CPU#1 stuck for 6s! [hog:99]";
        let hits = Hits::of(line);
        let soft = Kind::SoftLockup as usize;
        let bug = Kind::Bug as usize;
        assert!(hits.has_kind(soft) && hits.has_kind(bug));
        assert!(!hits.has(Trigger::CpuLine));
        assert_eq!(
            Hits::of("RSP: 0018:ffffb4f1c0257ee8 EFLAGS: 00000246"),
            Hits::NONE
        );
    }

    #[test]
    fn comms_may_hold_colons_brackets_and_spaces() {
        let h = |line: &'static str| {
            let caps = header(line, Hits::of(line)).unwrap().caps;
            (
                caps.name("comm").map(|m| m.as_str()),
                caps.name("pid")
                    .and_then(|m| m.as_str().parse::<u32>().ok()),
            )
        };
        assert_eq!(
            h("watchdog: BUG: soft lockup - CPU#1 stuck for 6s! [my task:1]:77]"),
            (Some("my task:1]"), Some(77))
        );
        assert_eq!(
            h("watchdog: BUG: soft lockup - CPU#1 stuck for 6s! [[kworker/1:1H]:12]"),
            (Some("[kworker/1:1H]"), Some(12))
        );
        assert_eq!(
            h("INFO: task a b:c:123 blocked for more than 3 seconds."),
            (Some("a b:c"), Some(123))
        );
    }
}
