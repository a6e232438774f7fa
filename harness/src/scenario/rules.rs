//! A scenario's rules: which reports must, may and must not come, and which guests they apply to.

use std::fmt;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::kernel::Preempt;
use crate::report::{Kind, Report};

/// A report kind in a rule: one [`Kind`] by its name (`soft_lockup`, `warning`, ...), or `any`,
/// which matches every hang detector's report. A warning, oops, other BUG or panic is never
/// covered by `any`: a rule that tolerates one names its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindPattern {
    Any,
    Kind(Kind),
}

impl<'de> Deserialize<'de> for KindPattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        if name == "any" {
            return Ok(KindPattern::Any);
        }
        name.parse()
            .map(KindPattern::Kind)
            .map_err(|e: crate::report::UnknownKind| {
                serde::de::Error::custom(format!("{e}, or any"))
            })
    }
}

impl Serialize for KindPattern {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            KindPattern::Any => s.serialize_str("any"),
            KindPattern::Kind(k) => s.serialize_str(k.as_str()),
        }
    }
}

impl KindPattern {
    fn matches(self, kind: Kind) -> bool {
        match self {
            KindPattern::Any => kind.is_hang(),
            KindPattern::Kind(k) => k == kind,
        }
    }
}

impl fmt::Display for KindPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KindPattern::Any => f.write_str("any hang report"),
            KindPattern::Kind(k) => write!(f, "{k}"),
        }
    }
}

/// Which reports a rule is about. Every field left out matches anything. Serialized into the
/// guest's plan, so the guest can tell when a scenario's expectations are met.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub kind: KindPattern,
    /// The stuck CPU.
    pub cpu: Option<u32>,
    /// The task named in `[comm:pid]` or in the `CPU: .. Comm:` line.
    pub comm: Option<String>,
    /// Regular expression the demangled culprit must match, e.g. `^hog_busy::`.
    #[serde(default, with = "serde_regex_opt")]
    pub culprit: Option<Regex>,
    /// Whether the report must (or must not) be a victim spinning on a lock.
    pub victim: Option<bool>,
    /// The task the kernel names as holding the lock a hung task waits for
    /// (`CONFIG_DETECT_HUNG_TASK_BLOCKER`: `... is blocked on a mutex likely owned by task X`).
    pub blocker: Option<String>,
    /// Whether the report must (or must not) end in a panic.
    pub panic: Option<bool>,
    /// The report must carry the NMI backtraces of (at least) these other CPUs: an all-CPU
    /// backtrace.
    pub backtraces: Option<Vec<u32>>,
    /// The CPU that printed the report: a hard lockup's neighbour for the buddy detector
    /// (`Sending NMI from CPU N`), the locked CPU itself for the perf detector (its own NMI).
    pub reported_by: Option<u32>,
    /// The matching soft lockup reports must repeat at the detector's cadence (one per
    /// 2 * watchdog_thresh) with a growing `stuck for`.
    pub repeating: Option<bool>,
    /// At least this many matching reports (expect rules only).
    #[serde(default = "one")]
    pub min: usize,
    /// At most this many matching reports.
    pub max: Option<usize>,
    /// The rule applies only when the guest runs one of these preemption models.
    pub preempt: Option<Vec<Preempt>>,
    /// The rule applies only to kernels of this version or later (`"6.16"`): for what older
    /// kernels do not print at all.
    #[serde(default, with = "version_opt")]
    pub since: Option<(u32, u32)>,
    /// Why this rule exists: shown with a failure, read by learners.
    pub why: Option<String>,
}

fn one() -> usize {
    1
}

pub(super) mod serde_regex_opt {
    use regex::Regex;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(re: &Option<Regex>, s: S) -> Result<S::Ok, S::Error> {
        match re {
            Some(re) => s.serialize_some(re.as_str()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Regex>, D::Error> {
        let pattern: Option<String> = Option::deserialize(d)?;
        pattern
            .map(|p| {
                Regex::new(&p)
                    .map_err(|e| serde::de::Error::custom(format!("bad culprit regex: {e}")))
            })
            .transpose()
    }
}

/// Whether every `expect` rule that applies under `preempt` has its `min` reports: the guest's
/// cue to end a scenario early. A scenario with no such rule (a control) is never done early.
pub fn expectations_met(rules: &[Rule], guest: Guest, reports: &[Report]) -> bool {
    let mut applicable = rules.iter().filter(|r| r.applies_to(guest)).peekable();
    applicable.peek().is_some()
        && applicable.all(|rule| reports.iter().filter(|r| rule.matches(r)).count() >= rule.min)
}

impl Rule {
    pub fn matches(&self, report: &Report) -> bool {
        self.kind.matches(report.kind)
            && self.cpu.is_none_or(|cpu| report.cpu == Some(cpu))
            && self
                .comm
                .as_ref()
                .is_none_or(|comm| report.comm.as_deref() == Some(comm))
            && self.culprit.as_ref().is_none_or(|re| {
                // A trait method of the hog's type (`<hog_x::Hog as hog_x::Trait>::run`) is the
                // hog's code too: `^hog_x::` matches it without its `<`.
                report
                    .culprit
                    .as_deref()
                    .is_some_and(|c| re.is_match(c) || re.is_match(c.trim_start_matches('<')))
            })
            && self.victim.is_none_or(|v| report.victim == v)
            && self
                .blocker
                .as_ref()
                .is_none_or(|b| report.blocker.as_deref() == Some(b))
            && self.panic.is_none_or(|p| report.panic == p)
            && self
                .backtraces
                .as_ref()
                .is_none_or(|cpus| cpus.iter().all(|c| report.backtraces.contains(c)))
            && self
                .reported_by
                .is_none_or(|cpu| report.reporting_cpu == Some(cpu))
    }

    pub fn applies_to(&self, guest: Guest) -> bool {
        let model = match (&self.preempt, guest.preempt) {
            (None, _) => true,
            (Some(models), Some(model)) => models.contains(&model),
            // A model-specific rule cannot be judged when the model is unknown; the judge says so.
            (Some(_), None) => false,
        };
        let version = match (self.since, guest.version) {
            (None, _) => true,
            (Some(since), Some(version)) => version >= since,
            (Some(_), None) => false,
        };
        model && version
    }
}

/// What a boot showed of its kernel that rules can depend on.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Guest {
    pub preempt: Option<Preempt>,
    /// `(major, minor)` of the running kernel.
    pub version: Option<(u32, u32)>,
    /// RCU is checked by lockdep (`CONFIG_PROVE_RCU`, which `PROVE_LOCKING` selects): the
    /// kernel then adds [`Detector::prove_rcu_delay`] to the RCU stall timeout.
    pub prove_rcu: bool,
}

mod version_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<(u32, u32)>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some((a, b)) => s.serialize_some(&format!("{a}.{b}")),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<(u32, u32)>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        crate::report::parse_version(&text)
            .filter(|_| text.split('.').count() == 2)
            .map(Some)
            .ok_or_else(|| {
                serde::de::Error::custom(format!("since = {text:?} is not a version like \"6.16\""))
            })
    }
}

impl fmt::Display for Rule {
    /// "soft_lockup on CPU 1 by hog_busy naming /^hog_busy::/"
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if let Some(cpu) = self.cpu {
            write!(f, " on CPU {cpu}")?;
        }
        if let Some(comm) = &self.comm {
            write!(f, " by {comm}")?;
        }
        if let Some(cpu) = self.reported_by {
            write!(f, " reported by CPU {cpu}")?;
        }
        if let Some(re) = &self.culprit {
            write!(f, " naming /{re}/")?;
        }
        if let Some(blocker) = &self.blocker {
            write!(f, " blocked by {blocker}")?;
        }
        if let Some((a, b)) = self.since {
            write!(f, " (Linux {a}.{b} and later)")?;
        }
        if self.victim == Some(true) {
            write!(f, " (victim)")?;
        }
        if self.panic == Some(true) {
            write!(f, " ending in panic")?;
        }
        if let Some(cpus) = &self.backtraces {
            write!(f, " with the backtraces of CPUs {cpus:?}")?;
        }
        if self.repeating == Some(true) {
            write!(f, ", repeating")?;
        }
        Ok(())
    }
}
