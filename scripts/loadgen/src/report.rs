//! What a scenario hands back, and how the run is reported: one JSON document
//! (written to a file and printed) and a table for people.

use std::fmt::Write as _;

use serde_json::Value;

/// Whether a figure meets its SPEC §11 target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Met,
    Missed,
    /// No target: the figure is reported for information.
    Info,
    /// A comparison not judged, because the machine was busy with other
    /// work before the scenario began.
    Refused,
}

impl Verdict {
    pub fn from_check(ok: bool) -> Verdict {
        if ok { Verdict::Met } else { Verdict::Missed }
    }

    fn label(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::Missed => "MISSED",
            Verdict::Info => "",
            Verdict::Refused => "NOT JUDGED",
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone)]
pub struct Figure {
    pub metric: String,
    pub value: String,
    pub target: String,
    pub verdict: Verdict,
    /// A comparison of two runs (a ratio of latencies or costs), which
    /// other work on the machine makes meaningless: not judged when the
    /// machine was busy beforehand.
    pub compares: bool,
}

impl Figure {
    pub fn info(metric: &str, value: String) -> Figure {
        Figure {
            metric: metric.into(),
            value,
            target: String::new(),
            verdict: Verdict::Info,
            compares: false,
        }
    }

    /// The same figure with its metric's name prefixed (`MCCP2: `).
    pub fn prefixed(mut self, prefix: &str) -> Figure {
        self.metric = format!("{prefix}{}", self.metric);
        self
    }

    pub fn target(metric: &str, value: String, target: &str, ok: bool) -> Figure {
        Figure {
            metric: metric.into(),
            value,
            target: target.into(),
            verdict: Verdict::from_check(ok),
            compares: false,
        }
    }

    /// A target that compares two runs (see [`Figure::compares`]).
    pub fn comparison(metric: &str, value: String, target: &str, ok: bool) -> Figure {
        Figure {
            compares: true,
            ..Figure::target(metric, value, target, ok)
        }
    }

    /// This comparison, refused: the machine was busy, so the figure is not
    /// printed as if it meant something.
    pub fn refused(self) -> Figure {
        if !self.compares {
            return self;
        }
        Figure {
            value: "(machine busy)".into(),
            verdict: Verdict::Refused,
            ..self
        }
    }
}

/// A scenario's figures: the JSON object and the table rows.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub json: Value,
    pub figures: Vec<Figure>,
}

/// The readable table: one block per scenario.
pub fn table(rows: &[(String, Result<Outcome, String>)]) -> String {
    let mut out = String::new();
    let width = rows
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .flat_map(|o| o.figures.iter().map(|f| f.metric.len()))
        .max()
        .unwrap_or(10)
        .max(10);
    let value_width = rows
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .flat_map(|o| o.figures.iter().map(|f| f.value.len()))
        .max()
        .unwrap_or(10)
        .max(10);
    for (name, result) in rows {
        let _ = writeln!(out, "\n== {name}");
        match result {
            Ok(outcome) => {
                for f in &outcome.figures {
                    let _ = writeln!(
                        out,
                        "  {:<width$}  {:>value_width$}  {:<14} {}",
                        f.metric,
                        f.value,
                        f.target,
                        f.verdict.label()
                    );
                }
            }
            Err(err) => {
                let _ = writeln!(out, "  FAILED: {err}");
            }
        }
    }
    out
}
