//! `hogs report`: one self-contained HTML page of a run's results (no script, no network, no
//! external file): the matrix of kernels x scenarios coloured by verdict, and for each cell its
//! reasons, a timeline of the detector's window against when the report came, and the
//! scenario's console with the reports' first lines marked.

use std::fmt::Write as _;

use html_escape::encode_text as esc;

use crate::judge::Outcome;
use crate::report;
use crate::results::{RunResult, ScenarioResult};

const STYLE: &str = "
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 2em; }
table.matrix { border-collapse: collapse; }
.matrix th, .matrix td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; }
.matrix td a { display: block; color: inherit; text-decoration: none; }
.PASS { background: #d7f5d7; } .FAIL { background: #f8c8c8; } .ERROR { background: #f6dfb0; }
.TIMEOUT { background: #f3c6f0; } .SKIP { background: #e6e6e6; }
section { border: 1px solid #ccc; border-radius: 4px; padding: 0 1em 1em; margin: 1em 0; }
section:target { outline: 3px solid #36c; }
pre { background: #f7f7f7; padding: .5em; overflow-x: auto; font-size: 12px; }
pre .report { background: #ffe08a; font-weight: bold; }
pre .event { color: #888; }
svg text { font: 11px system-ui, sans-serif; }
";

/// The page for `runs` (one per kernel), titled `title`.
pub fn page(runs: &[RunResult], title: &str) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n",
        esc(title),
        esc(title)
    );
    out += &totals(runs);
    out += &matrix(runs);
    for (k, run) in runs.iter().enumerate() {
        for s in &run.scenarios {
            out += &details(k, run, s);
        }
    }
    out += "</body></html>\n";
    out
}

/// One line per kernel: how many scenarios had each outcome.
fn totals(runs: &[RunResult]) -> String {
    let mut out = String::from("<ul class=\"totals\">\n");
    for run in runs {
        let counts: Vec<String> = OUTCOMES
            .iter()
            .filter(|o| run.count(**o) > 0)
            .map(|o| format!("<span class=\"{o}\">{} {o}</span>", run.count(*o)))
            .collect();
        let _ = writeln!(
            out,
            "<li>Linux {} ({}): {}</li>",
            esc(&run.label()),
            esc(&run.arch),
            counts.join(", ")
        );
    }
    out + "</ul>\n"
}

const OUTCOMES: [Outcome; 5] = [
    Outcome::Pass,
    Outcome::Fail,
    Outcome::Timeout,
    Outcome::Error,
    Outcome::Skip,
];

/// Scenarios down, kernels across; each cell links to its details.
fn matrix(runs: &[RunResult]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for s in runs.iter().flat_map(|r| &r.scenarios) {
        if !names.contains(&s.name.as_str()) {
            names.push(&s.name);
        }
    }
    let mut out = String::from("<table class=\"matrix\">\n<tr><th>scenario</th>");
    for run in runs {
        let _ = write!(out, "<th>{} {}</th>", esc(&run.label()), esc(&run.arch));
    }
    out += "</tr>\n";
    for name in names {
        let _ = write!(out, "<tr><th>{}</th>", esc(name));
        for (k, run) in runs.iter().enumerate() {
            match run.scenarios.iter().find(|s| s.name == name) {
                Some(s) => {
                    let latency = s
                        .latency_secs
                        .map_or(String::new(), |l| format!(" {l:.1} s"));
                    let _ = write!(
                        out,
                        "<td class=\"{}\"><a href=\"#{}\">{}{latency}</a></td>",
                        s.outcome,
                        anchor(k, &s.name),
                        s.outcome
                    );
                }
                None => out += "<td>-</td>",
            }
        }
        out += "</tr>\n";
    }
    out + "</table>\n"
}

fn anchor(kernel: usize, scenario: &str) -> String {
    format!("k{}-{scenario}", kernel + 1)
}

/// A scenario on one kernel: verdict, reasons, timeline, expectations, console.
fn details(k: usize, run: &RunResult, s: &ScenarioResult) -> String {
    let mut out = format!(
        "<section id=\"{}\"><h2 class=\"{}\">{} on Linux {}: {}</h2>\n<p>{}</p>\n",
        anchor(k, &s.name),
        s.outcome,
        esc(&s.name),
        esc(&run.label()),
        s.outcome,
        esc(&s.summary)
    );
    if !s.reasons.is_empty() {
        out += "<ul class=\"reasons\">\n";
        for r in &s.reasons {
            let _ = writeln!(out, "<li>{}</li>", esc(r));
        }
        out += "</ul>\n";
    }
    out += &timeline(s);
    if !s.expectations.is_empty() {
        out += "<details><summary>expectations</summary><ul>\n";
        for e in &s.expectations {
            let _ = writeln!(out, "<li>{}</li>", esc(e));
        }
        out += "</ul></details>\n";
    }
    if !s.excerpt.is_empty() {
        out += "<details><summary>console</summary>\n";
        out += &console(&s.excerpt);
        out += "</details>\n";
    }
    out + "</section>\n"
}

/// Seconds after the hog started, as an SVG line: the detector's window (earliest to latest),
/// the first expected report, and the scenario's end.
fn timeline(s: &ScenarioResult) -> String {
    let marks = [
        s.latency_earliest_secs,
        s.latency_bound_secs,
        s.latency_secs,
        s.duration_secs,
    ];
    let span = marks.iter().flatten().fold(0.0_f64, |a, &b| a.max(b));
    if span <= 0.0 {
        return String::new();
    }
    let (width, left) = (640.0, 10.0);
    let x = |secs: f64| left + secs / (span * 1.1) * (width - 2.0 * left);
    let mut svg = format!(
        "<svg class=\"timeline\" width=\"{width}\" height=\"56\" role=\"img\" \
         aria-label=\"timeline\"><line x1=\"{left}\" y1=\"30\" x2=\"{}\" y2=\"30\" \
         stroke=\"#999\"/><text x=\"{left}\" y=\"50\">hog starts</text>",
        width - left
    );
    if let (Some(a), Some(b)) = (s.latency_earliest_secs, s.latency_bound_secs) {
        let _ = write!(
            svg,
            "<rect x=\"{:.1}\" y=\"22\" width=\"{:.1}\" height=\"16\" fill=\"#9c9\" \
             fill-opacity=\".5\"/><text x=\"{:.1}\" y=\"16\">window {a:.1}-{b:.1} s</text>",
            x(a),
            (x(b) - x(a)).max(1.0),
            x(a)
        );
    }
    if let Some(l) = s.latency_secs {
        let _ = write!(
            svg,
            "<line x1=\"{0:.1}\" y1=\"18\" x2=\"{0:.1}\" y2=\"42\" stroke=\"#c00\" \
             stroke-width=\"2\"/><text x=\"{0:.1}\" y=\"54\">report {l:.1} s</text>",
            x(l)
        );
    }
    if let Some(d) = s.duration_secs {
        let _ = write!(
            svg,
            "<line x1=\"{0:.1}\" y1=\"24\" x2=\"{0:.1}\" y2=\"36\" stroke=\"#333\"/>\
             <text x=\"{1:.1}\" y=\"16\" text-anchor=\"end\">end {d:.1} s</text>",
            x(d),
            x(d)
        );
    }
    svg + "</svg>\n"
}

/// The console excerpt, each report's first line marked (found by the one console reader) and
/// the guest step's event lines dimmed.
fn console(excerpt: &str) -> String {
    let firsts: Vec<usize> = report::parse(excerpt.as_bytes())
        .iter()
        .map(|r| r.line)
        .collect();
    let mut out = String::from("<pre>");
    for (i, line) in excerpt.lines().enumerate() {
        let class = if firsts.contains(&(i + 1)) {
            Some("report")
        } else if line.contains(crate::protocol::TAG) {
            Some("event")
        } else {
            None
        };
        match class {
            Some(c) => {
                let _ = writeln!(out, "<span class=\"{c}\">{}</span>", esc(line));
            }
            None => {
                let _ = writeln!(out, "{}", esc(line));
            }
        }
    }
    out + "</pre>\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two real runs (6.12 and 7.3), one verdict turned into a FAIL by hand.
    fn runs() -> Vec<RunResult> {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/two-kernels.json");
        crate::results::read(&path).unwrap().runs
    }

    #[test]
    fn the_page_has_a_cell_per_kernel_and_scenario_and_needs_nothing_outside() {
        let runs = runs();
        let page = page(&runs, "hogs report");
        for (k, run) in runs.iter().enumerate() {
            for s in &run.scenarios {
                let id = anchor(k, &s.name);
                assert!(page.contains(&format!("href=\"#{id}\"")), "{id}");
                assert!(page.contains(&format!("<section id=\"{id}\">")), "{id}");
            }
        }
        assert!(
            !page.contains("http://") && !page.contains("https://") && !page.contains("<script")
        );
        assert!(
            page.contains("<span class=\"report\">"),
            "a report's first line is marked"
        );
        assert!(page.contains("<svg class=\"timeline\""));
    }

    #[test]
    fn console_text_is_escaped() {
        let html = console("[    1.000000] <b>&\n");
        assert!(html.contains("&lt;b&gt;&amp;"), "{html}");
    }
}
