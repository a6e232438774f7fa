//! Splitting a console into lines and removing what the logging path put in front of the
//! kernel's message: printk levels, timestamps, caller ids, syslog headers, level words.

use std::borrow::Cow;

/// One console line with its prefixes removed, for callers that need timestamps of other lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Line<'a> {
    /// 1-based line number in the console.
    pub number: usize,
    /// Seconds since boot from a `[  12.345678]` prefix; `None` when the line has no such
    /// prefix (wall-clock prefixes such as `dmesg -T` or syslog dates are not seconds since boot).
    pub time: Option<f64>,
    /// The context that printed the line, from a CONFIG_PRINTK_CALLER `[  T123]`/`[    C1]` prefix.
    pub caller: Option<Caller>,
    /// The message without timestamp, caller id, syslog header or level prefixes.
    pub text: Cow<'a, str>,
}

/// Who printed a line (CONFIG_PRINTK_CALLER): a task, or a CPU in interrupt/NMI context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Caller {
    /// `[  T123]`: the task with pid 123.
    Task(u32),
    /// `[    C1]`: CPU 1 outside task context (timer interrupt, NMI, softirq).
    Cpu(u32),
}

/// Iterates over the lines of a console log. Text may be invalid UTF-8 (decoded lossily),
/// use CRLF, or lack a final newline.
pub fn lines(text: &[u8]) -> impl Iterator<Item = Line<'_>> {
    let mut cursor = Cursor::new(text);
    std::iter::from_fn(move || {
        let raw = cursor.next_line()?;
        Some(Line {
            number: raw.number,
            time: raw.time(),
            caller: raw.caller,
            text: raw.text,
        })
    })
}

/// A line as the parser reads it: the timestamp stays text until a report needs it.
pub(crate) struct RawLine<'a> {
    pub number: usize,
    /// `12.345678` from `[   12.345678]`.
    pub stamp: Option<&'a str>,
    pub caller: Option<Caller>,
    pub text: Cow<'a, str>,
}

impl RawLine<'_> {
    pub(crate) fn time(&self) -> Option<f64> {
        self.stamp.and_then(|s| s.parse().ok())
    }
}

/// A position in the console that can also jump ahead without decoding the lines it skips,
/// so the parser only looks at lines near something interesting.
pub(crate) struct Cursor<'a> {
    text: &'a [u8],
    pos: usize,
    /// Number of the next line to be returned.
    number: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(text: &'a [u8]) -> Self {
        Self {
            text,
            pos: 0,
            number: 1,
        }
    }

    /// Resumes at byte `pos`, the start of line `number`, of `text`.
    pub(crate) fn resume(text: &'a [u8], pos: usize, number: usize) -> Self {
        Self { text, pos, number }
    }

    /// Byte offset of the next line.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Number of the next line.
    pub(crate) fn number(&self) -> usize {
        self.number
    }

    /// Moves past every complete line, counting them (the prefilter found nothing more).
    pub(crate) fn skip_to_end(&mut self) {
        let end = self.text.len();
        self.skip_to(end);
    }

    /// Moves to the start of the line containing byte `offset` (which must not be behind the
    /// cursor), counting the lines skipped.
    pub(crate) fn skip_to(&mut self, offset: usize) {
        let skipped = &self.text[self.pos..offset];
        if let Some(last_newline) = memchr::memrchr(b'\n', skipped) {
            self.number += memchr::memchr_iter(b'\n', skipped).count();
            self.pos += last_newline + 1;
        }
    }

    pub(crate) fn next_line(&mut self) -> Option<RawLine<'a>> {
        if self.pos >= self.text.len() {
            return None;
        }
        let rest = &self.text[self.pos..];
        let (raw, advance) = match memchr::memchr(b'\n', rest) {
            Some(end) => (&rest[..end], end + 1),
            None => (rest, rest.len()),
        };
        self.pos += advance;
        let number = self.number;
        self.number += 1;
        let raw = trim_trailing_cr(raw);
        let (stamp, caller, message) = strip_prefixes(raw);
        Some(RawLine {
            number,
            stamp,
            caller,
            text: String::from_utf8_lossy(message),
        })
    }
}

fn trim_trailing_cr(mut raw: &[u8]) -> &[u8] {
    while let [rest @ .., b'\r'] = raw {
        raw = rest;
    }
    raw
}

/// Removes the prefixes consoles and log collectors put before a kernel message, in any
/// combination: mail quoting `> `, `<4>`, `[  12.345678]`, `[    C1]`/`[  T123]` caller ids (with or without a
/// space before them), `[Thu Oct 30 06:21:23 2025]` (`dmesg -T`), syslog's
/// `Aug 13 17:42:32 host kernel: ` or ISO dates, and level words like ` EMERG: `.
/// Returns the seconds-since-boot timestamp and the caller id, if there were ones.
fn strip_prefixes(mut s: &[u8]) -> (Option<&str>, Option<Caller>, &[u8]) {
    let mut time = None;
    let mut caller = None;
    // `> ` quoting from logs pasted into mail replies.
    while let Some(rest) = s.strip_prefix(b">") {
        s = rest.strip_prefix(b" ").unwrap_or(rest);
    }
    if let Some(rest) = strip_syslog_header(s) {
        s = rest;
    }
    loop {
        s = trim_start(s);
        if let Some(rest) = strip_printk_level(s) {
            s = rest;
        } else if let Some((inner, rest)) = bracketed(s) {
            match classify_bracket(inner) {
                Bracket::Time(t) => time = time.or(Some(t)),
                Bracket::Caller(c) => caller = caller.or(Some(c)),
                Bracket::Date => {}
                Bracket::Other => break,
            }
            s = rest;
        } else if let Some(rest) = strip_host_kernel(s) {
            // `journalctl -o short-monotonic`: `[  12.3] host kernel: message`.
            s = rest;
        } else {
            break;
        }
    }
    (time, caller, strip_level_word(s))
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|b| **b == b' ' || **b == b'\t').count();
    &s[n..]
}

/// `<4>`: a printk level as `/dev/kmsg` readers and some consoles print it.
fn strip_printk_level(s: &[u8]) -> Option<&[u8]> {
    let inner = s.strip_prefix(b"<")?;
    let digits = inner.iter().take_while(|b| b.is_ascii_digit()).count();
    if (1..=3).contains(&digits) {
        inner[digits..].strip_prefix(b">")
    } else {
        None
    }
}

/// Splits `[inner]rest` when the bracket closes within a prefix-sized distance.
fn bracketed(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let inner = s.strip_prefix(b"[")?;
    let close = inner.iter().take(40).position(|b| *b == b']')?;
    Some((&inner[..close], &inner[close + 1..]))
}

enum Bracket<'a> {
    /// Seconds since boot: ASCII digits, a dot, digits.
    Time(&'a str),
    /// `T123` or `C1`.
    Caller(Caller),
    /// `dmesg -T`'s wall clock.
    Date,
    /// Not a prefix: e.g. `[<ffffffff810a0c25>]` or `[ ]` in a call trace.
    Other,
}

fn classify_bracket(inner: &[u8]) -> Bracket<'_> {
    let inner = trim_start(inner);
    let digits = inner.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits > 0 && inner.get(digits) == Some(&b'.') {
        let frac = &inner[digits + 1..];
        if !frac.is_empty() && frac.iter().all(u8::is_ascii_digit) {
            // Only ASCII digits and one dot: valid UTF-8 and a valid float.
            return std::str::from_utf8(inner).map_or(Bracket::Other, Bracket::Time);
        }
    }
    match inner {
        [kind @ (b'C' | b'T'), id @ ..] if !id.is_empty() && id.iter().all(u8::is_ascii_digit) => {
            // Only ASCII digits: valid UTF-8; too many of them is not an id.
            match std::str::from_utf8(id).ok().and_then(|n| n.parse().ok()) {
                Some(n) if *kind == b'C' => Bracket::Caller(Caller::Cpu(n)),
                Some(n) => Bracket::Caller(Caller::Task(n)),
                None => Bracket::Other,
            }
        }
        // `dmesg -T`: `Thu Oct 30 06:21:23 2025`.
        _ if inner.len() >= 20
            && inner[..3].iter().all(u8::is_ascii_alphabetic)
            && inner.iter().filter(|b| **b == b':').count() == 2 =>
        {
            Bracket::Date
        }
        _ => Bracket::Other,
    }
}

/// `Aug 13 17:42:32 hostname kernel: ` or `2025-10-30T06:21:23.123456+00:00 hostname kernel: `.
/// Lines from other syslog sources keep their header: they are not kernel messages.
fn strip_syslog_header(s: &[u8]) -> Option<&[u8]> {
    let classic = s.len() > 16
        && s[..3].iter().all(u8::is_ascii_alphabetic)
        && s[3] == b' '
        && s[9] == b':'
        && s[12] == b':'
        && s[15] == b' ';
    let iso = s.len() > 20
        && s[4] == b'-'
        && s[7] == b'-'
        && s[10] == b'T'
        && s[..4].iter().all(u8::is_ascii_digit);
    if !(classic || iso) {
        return None;
    }
    let date_len = if classic {
        15
    } else {
        s.iter().position(|b| *b == b' ')?
    };
    strip_host_kernel(trim_start(&s[date_len..]))
}

/// `hostname kernel: ` (the message may be empty).
fn strip_host_kernel(s: &[u8]) -> Option<&[u8]> {
    let space = s.iter().take(64).position(|b| *b == b' ')?;
    let rest = s[space + 1..].strip_prefix(b"kernel:")?;
    Some(rest.strip_prefix(b" ").unwrap_or(rest))
}

/// ` EMERG: ` and similar level words some log paths print before the message. `INFO:` and
/// `WARNING:` are left alone: the kernel starts real messages with them.
fn strip_level_word(s: &[u8]) -> &[u8] {
    const WORDS: [&[u8]; 7] = [
        b"EMERG: ",
        b"ALERT: ",
        b"CRIT: ",
        b"ERR: ",
        b"WARN: ",
        b"NOTICE: ",
        b"DEBUG: ",
    ];
    WORDS
        .iter()
        .find_map(|w| s.strip_prefix(*w))
        .map_or(s, trim_start)
}
