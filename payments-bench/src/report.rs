//! The [`Report`]: one [`Row`] per measured thing, the targets judged against
//! them, rendered as the table or as JSON.

use crate::measure::Measured;
use crate::options::Scenario;
use serde::Serialize;
use std::fmt::Write as _;

/// One line of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Which scenario it belongs to.
    pub scenario: Scenario,
    /// What the row measured (`history-read`, `scale 1000000`…).
    pub label: String,
    /// Operations completed, failed ones included.
    pub operations: u64,
    /// Successful operations per second.
    pub ops_per_sec: f64,
    /// Latency percentiles and maximum of successful operations, in milliseconds.
    pub p50_ms: f64,
    /// 90th percentile, ms.
    pub p90_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Maximum, ms.
    pub max_ms: f64,
    /// Failed operations.
    pub errors: u64,
    /// `ops_per_sec` over the baseline's, when a baseline ran and the ratio means anything.
    pub ratio_to_baseline: Option<f64>,
    /// Why a row was not measured (e.g. `n/a (route not present)`), or what it means.
    pub note: Option<String>,
    /// The first failure, when there were any.
    pub first_error: Option<String>,
    /// The share of the machine's CPU other processes took while the row ran (0..=1).
    pub others_cpu: Option<f64>,
}

impl Row {
    /// A row from measurements.
    pub fn measured(scenario: Scenario, label: impl Into<String>, measured: &Measured) -> Self {
        Self {
            scenario,
            label: label.into(),
            operations: measured.operations,
            ops_per_sec: measured.ops_per_sec(),
            p50_ms: measured.latencies.quantile_ms(0.50),
            p90_ms: measured.latencies.quantile_ms(0.90),
            p99_ms: measured.latencies.quantile_ms(0.99),
            max_ms: measured.latencies.max_ms(),
            errors: measured.errors,
            ratio_to_baseline: None,
            note: None,
            first_error: measured.first_error.clone(),
            others_cpu: measured.others_cpu,
        }
    }

    /// A row that was not measured, saying why.
    pub fn skipped(scenario: Scenario, label: impl Into<String>, why: impl Into<String>) -> Self {
        Self {
            scenario,
            label: label.into(),
            operations: 0,
            ops_per_sec: 0.0,
            p50_ms: 0.0,
            p90_ms: 0.0,
            p99_ms: 0.0,
            max_ms: 0.0,
            errors: 0,
            ratio_to_baseline: None,
            note: Some(why.into()),
            first_error: None,
            others_cpu: None,
        }
    }

    /// Adds a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// Whether the row was measured (not skipped).
    pub fn is_measured(&self) -> bool {
        self.operations > 0
    }
}

/// One of the targets, judged.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// The target as the issue states it.
    pub goal: String,
    /// What was measured, in words and numbers.
    pub measured: String,
    /// Met, missed, or `None` when its rows did not run.
    pub met: Option<bool>,
}

/// Everything a run produced.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Connections per row.
    pub concurrency: usize,
    /// The budget per row, in words (`3s each`, `50 operations each`).
    pub budget: String,
    /// The rows, in table order.
    pub rows: Vec<Row>,
    /// The targets.
    pub targets: Vec<Target>,
    /// Setup facts worth printing (preload times and the like).
    pub notes: Vec<String>,
}

impl Report {
    /// Fills every row's ratio to the baseline row, when there is one.
    pub fn fill_ratios(&mut self) {
        let Some(baseline) = self
            .rows
            .iter()
            .find(|row| row.scenario == Scenario::Baseline && row.is_measured())
            .map(|row| row.ops_per_sec)
        else {
            return;
        };
        if baseline <= 0.0 {
            return;
        }
        for row in &mut self.rows {
            if row.is_measured() && !row.label.starts_with("start ") {
                row.ratio_to_baseline = Some(row.ops_per_sec / baseline);
            }
        }
    }

    /// The first measured row whose label starts with `prefix`.
    pub fn row(&self, prefix: &str) -> Option<&Row> {
        self.rows
            .iter()
            .find(|row| row.is_measured() && row.label.starts_with(prefix))
    }

    /// Judges the targets against the rows.
    pub fn judge(&mut self) {
        let mut targets = Vec::new();
        let baseline = self.row("baseline").map(|row| row.ops_per_sec);
        let share_of = |row: Option<&Row>| {
            row.zip(baseline)
                .map(|(row, baseline)| row.ops_per_sec / baseline)
        };
        let read = self
            .row("history-read")
            .filter(|row| !row.label.contains("open-loop"));
        let open_loop = self.row("history-read open-loop");
        let goal = "history-read >= 40% of baseline ops/s; p99 < 5 ms at 5,000 reads/s open loop";
        targets.push(match (share_of(read), open_loop) {
            (Some(share), Some(open_loop)) => Target {
                goal: goal.into(),
                measured: format!(
                    "{:.1}% of baseline; {}: p99 {:.2} ms",
                    share * 100.0,
                    open_loop.label,
                    open_loop.p99_ms
                ),
                met: Some(share >= 0.40 && open_loop.p99_ms < 5.0 && open_loop.errors == 0),
            },
            _ => not_run(goal),
        });
        for (prefix, floor) in [("history-create", 0.20), ("charge", 0.15)] {
            let goal = format!("{prefix} >= {:.0}% of baseline ops/s", floor * 100.0);
            targets.push(match share_of(self.row(prefix)) {
                Some(share) => Target {
                    goal,
                    measured: format!("{:.1}% of baseline", share * 100.0),
                    met: Some(share >= floor),
                },
                None => not_run(&goal),
            });
        }
        let goal = "while 64 connections guess: health p99 < 10 ms, a correct read p99 < 20 ms";
        targets.push(match (self.row("flood health"), self.row("flood read")) {
            (Some(health), Some(read)) => Target {
                goal: goal.into(),
                measured: format!(
                    "health p99 {:.2} ms, correct read p99 {:.2} ms ({} connections guessing)",
                    health.p99_ms, read.p99_ms, self.concurrency
                ),
                met: Some(
                    health.p99_ms < 10.0 && read.p99_ms < 20.0 && health.errors + read.errors == 0,
                ),
            },
            _ => not_run(goal),
        });
        let goal = "webhook p99 deposit -> receipt < 50 ms at 1,000 deposits/s";
        targets.push(match self.row("webhook") {
            Some(webhook) => Target {
                goal: goal.into(),
                measured: format!("p99 {:.2} ms ({})", webhook.p99_ms, webhook.label),
                met: Some(webhook.p99_ms < 50.0 && webhook.errors == 0),
            },
            None => not_run(goal),
        });
        let scale: Vec<&Row> = self
            .rows
            .iter()
            .filter(|row| row.scenario == Scenario::Scale && row.is_measured())
            .collect();
        targets.push(match (scale.first(), scale.last()) {
            (Some(smallest), Some(largest)) if scale.len() > 1 => {
                let factor = largest.p99_ms / smallest.p99_ms.max(f64::MIN_POSITIVE);
                Target {
                    goal: "scale: p99 at 1M histories <= 1.5x p99 at 10k".into(),
                    measured: format!(
                        "{}: p99 {:.2} ms vs {}: p99 {:.2} ms = {factor:.2}x",
                        largest.label, largest.p99_ms, smallest.label, smallest.p99_ms
                    ),
                    met: Some(factor <= 1.5),
                }
            }
            _ => not_run("scale: p99 at 1M histories <= 1.5x p99 at 10k"),
        });
        // The fakes' targets (issues #12, #13): start no slower than a fresh wiremock
        // server, lookups at least 1.5x wiremock's serving the same answer.
        let fresh_start = self.row("start wiremock builder").map(|row| row.p50_ms);
        for fake in ["fake-toss", "fake-iamport", "fake-portone"] {
            let goal = format!(
                "{fake}: starts no slower than MockServer::builder().start(), lookups >= 1.5x wiremock"
            );
            let start = self.row(&format!("start {fake}"));
            let lookup = self.row(&format!("fake-lookup {fake}"));
            let wiremock = self.row(&format!("fake-lookup wiremock for {fake}"));
            targets.push(match (start, lookup, fresh_start, wiremock) {
                (Some(start), Some(lookup), Some(fresh_start), Some(wiremock)) => {
                    let ratio = lookup.ops_per_sec / wiremock.ops_per_sec.max(f64::MIN_POSITIVE);
                    Target {
                        goal,
                        measured: format!(
                            "start p50 {:.3} ms vs {fresh_start:.3} ms; lookups {:.0}/s vs {:.0}/s = {ratio:.2}x",
                            start.p50_ms, lookup.ops_per_sec, wiremock.ops_per_sec
                        ),
                        met: Some(start.p50_ms <= fresh_start && ratio >= 1.5),
                    }
                }
                _ => not_run(&goal),
            });
        }
        self.targets = targets;
    }

    /// The table, the targets and the notes, as text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "payments-bench: {} connections, {}, the server at its default configuration",
            self.concurrency, self.budget
        );
        let header = [
            "scenario",
            "operations",
            "ops/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "errors",
            "vs baseline",
            "other CPU",
        ];
        let mut lines: Vec<[String; 10]> = Vec::new();
        for row in &self.rows {
            if !row.is_measured() {
                let why = row.note.clone().unwrap_or_else(|| "n/a".into());
                lines.push([
                    row.label.clone(),
                    why,
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ]);
                continue;
            }
            lines.push([
                row.label.clone(),
                row.operations.to_string(),
                format!("{:.0}", row.ops_per_sec),
                format!("{:.2}", row.p50_ms),
                format!("{:.2}", row.p90_ms),
                format!("{:.2}", row.p99_ms),
                format!("{:.2}", row.max_ms),
                row.errors.to_string(),
                row.ratio_to_baseline
                    .map(|ratio| format!("{:.1}%", ratio * 100.0))
                    .unwrap_or_else(|| "-".into()),
                row.others_cpu
                    .map(|share| format!("{:.0}%", share * 100.0))
                    .unwrap_or_else(|| "-".into()),
            ]);
        }
        let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
        for line in &lines {
            // A skipped row's note spans the numeric columns: do not widen them for it.
            let measured = !line[2].is_empty();
            for (index, cell) in line.iter().enumerate() {
                if measured || index == 0 {
                    widths[index] = widths[index].max(cell.chars().count());
                }
            }
        }
        let format_line = |cells: &[String]| {
            let mut text = String::new();
            for (index, cell) in cells.iter().enumerate() {
                if index == 0 {
                    let _ = write!(text, "{cell:<width$}", width = widths[0]);
                } else {
                    let _ = write!(text, "  {cell:>width$}", width = widths[index]);
                }
            }
            text.trim_end().to_owned()
        };
        let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
        let _ = writeln!(out, "{}", format_line(&header));
        let _ = writeln!(
            out,
            "{}",
            "-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1))
        );
        for line in &lines {
            if line[2].is_empty() {
                let _ = writeln!(out, "{:<width$}  {}", line[0], line[1], width = widths[0]);
            } else {
                let _ = writeln!(out, "{}", format_line(line));
            }
        }
        for row in &self.rows {
            if let Some(note) = row.note.as_ref().filter(|_| row.is_measured()) {
                let _ = writeln!(out, "  {}: {note}", row.label);
            }
            if let Some(error) = &row.first_error {
                let _ = writeln!(out, "  {}: first error: {error}", row.label);
            }
        }
        let _ = writeln!(
            out,
            "  (other CPU: the share of this machine's CPU that other processes took while the row ran)"
        );
        if !self.targets.is_empty() {
            let _ = writeln!(out, "\ntargets (this machine):");
            for target in &self.targets {
                let verdict = match target.met {
                    Some(true) => "met   ",
                    Some(false) => "MISSED",
                    None => "not run",
                };
                let _ = writeln!(out, "  [{verdict}] {}: {}", target.goal, target.measured);
            }
        }
        if !self.notes.is_empty() {
            let _ = writeln!(out, "\nnotes:");
            for note in &self.notes {
                let _ = writeln!(out, "  {note}");
            }
        }
        out
    }
}

fn not_run(goal: &str) -> Target {
    Target {
        goal: goal.to_owned(),
        measured: "its rows did not run".into(),
        met: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn measured(operations: u64, millis: u64, seconds: u64) -> Measured {
        let mut measured = Measured::default();
        for _ in 0..operations {
            measured.add(Ok(Duration::from_millis(millis)));
        }
        measured.elapsed = Duration::from_secs(seconds);
        measured
    }

    fn report(rows: Vec<Row>) -> Report {
        Report {
            concurrency: 64,
            budget: "1s each".into(),
            rows,
            targets: Vec::new(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn ratios_and_targets_follow_the_rows() {
        let mut report = report(vec![
            Row::measured(Scenario::Baseline, "baseline", &measured(1000, 1, 1)),
            Row::measured(Scenario::HistoryRead, "history-read", &measured(400, 2, 1)),
            Row::measured(
                Scenario::HistoryRead,
                "history-read open-loop 5000/s",
                &measured(400, 2, 1),
            ),
            Row::measured(
                Scenario::HistoryCreate,
                "history-create",
                &measured(100, 9, 1),
            ),
            Row::skipped(Scenario::Charge, "charge", "n/a (route not present)"),
        ]);
        report.fill_ratios();
        report.judge();
        assert_eq!(report.rows[1].ratio_to_baseline, Some(0.4));
        assert_eq!(report.rows[4].ratio_to_baseline, None);
        assert_eq!(report.targets[0].met, Some(true), "{:?}", report.targets[0]);
        assert_eq!(
            report.targets[1].met,
            Some(false),
            "{:?}",
            report.targets[1]
        );
        assert_eq!(report.targets[2].met, None);
        let text = report.render();
        assert!(text.contains("charge"), "{text}");
        assert!(text.contains("n/a (route not present)"), "{text}");
        assert!(text.contains("40.0%"), "{text}");
        assert!(text.contains("MISSED"), "{text}");
    }
}
