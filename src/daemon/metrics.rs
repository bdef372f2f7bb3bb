//! Counters for `/metrics`, in the Prometheus text format.

use crate::check::CheckResult;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Upper bounds (seconds) of the fetch latency histogram's buckets.
const BUCKETS: [f64; 9] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Debug, Default, Clone)]
pub struct Metrics {
    checks: BTreeMap<String, u64>,
    changes: BTreeMap<String, u64>,
    /// Cumulative counts per bucket, then +Inf.
    latency: [u64; BUCKETS.len() + 1],
    latency_sum_ms: u64,
    pub queue_depth: usize,
    pub in_flight: usize,
    pub alerts_sent: u64,
    pub alerts_failed: u64,
    pub alerts_pending: usize,
}

impl Metrics {
    pub fn record(&mut self, r: &CheckResult, ms: u64) {
        *self.checks.entry(r.outcome.to_string()).or_default() += 1;
        for c in &r.changes {
            *self.changes.entry(c.kind().to_string()).or_default() += 1;
        }
        let secs = ms as f64 / 1000.0;
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.latency[i] += 1;
            }
        }
        self.latency[BUCKETS.len()] += 1;
        self.latency_sum_ms += ms;
    }

    /// The Prometheus exposition text.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# HELP redline_checks_total Checks finished, by outcome."
        );
        let _ = writeln!(s, "# TYPE redline_checks_total counter");
        for outcome in ["first_capture", "unchanged", "changed", "error"] {
            let n = self.checks.get(outcome).copied().unwrap_or(0);
            let _ = writeln!(s, "redline_checks_total{{outcome=\"{outcome}\"}} {n}");
        }
        let _ = writeln!(s, "# HELP redline_changes_total Changes reported, by type.");
        let _ = writeln!(s, "# TYPE redline_changes_total counter");
        for (kind, n) in &self.changes {
            let _ = writeln!(s, "redline_changes_total{{type=\"{kind}\"}} {n}");
        }
        let _ = writeln!(
            s,
            "# HELP redline_fetch_duration_seconds Time to fetch a page, retries included."
        );
        let _ = writeln!(s, "# TYPE redline_fetch_duration_seconds histogram");
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                s,
                "redline_fetch_duration_seconds_bucket{{le=\"{b}\"}} {}",
                self.latency[i]
            );
        }
        let count = self.latency[BUCKETS.len()];
        let _ = writeln!(
            s,
            "redline_fetch_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            s,
            "redline_fetch_duration_seconds_sum {}",
            self.latency_sum_ms as f64 / 1000.0
        );
        let _ = writeln!(s, "redline_fetch_duration_seconds_count {count}");
        let _ = writeln!(
            s,
            "# HELP redline_queue_depth Watches waiting in the schedule."
        );
        let _ = writeln!(s, "# TYPE redline_queue_depth gauge");
        let _ = writeln!(s, "redline_queue_depth {}", self.queue_depth);
        let _ = writeln!(s, "# HELP redline_checks_in_flight Checks running now.");
        let _ = writeln!(s, "# TYPE redline_checks_in_flight gauge");
        let _ = writeln!(s, "redline_checks_in_flight {}", self.in_flight);
        let _ = writeln!(
            s,
            "# HELP redline_alerts_pending Alerts waiting in the outbox."
        );
        let _ = writeln!(s, "# TYPE redline_alerts_pending gauge");
        let _ = writeln!(s, "redline_alerts_pending {}", self.alerts_pending);
        let _ = writeln!(
            s,
            "# HELP redline_alerts_total Alerts delivered or given up on."
        );
        let _ = writeln!(s, "# TYPE redline_alerts_total counter");
        let _ = writeln!(
            s,
            "redline_alerts_total{{result=\"delivered\"}} {}",
            self.alerts_sent
        );
        let _ = writeln!(
            s,
            "redline_alerts_total{{result=\"failed\"}} {}",
            self.alerts_failed
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Change;

    #[test]
    fn counts_and_histogram() {
        let mut m = Metrics::default();
        let mut r = CheckResult {
            watch: "w".into(),
            url: "u".into(),
            checked_at: "t".into(),
            outcome: "changed",
            http_status: Some(200),
            version: Some(2),
            previous_version: Some(1),
            changes: vec![Change::PageGone { status: 404 }],
            error: None,
            summary: String::new(),
            significance: None,
            alert: true,
            retry_after: None,
            duration_ms: 0,
        };
        m.record(&r, 80);
        r.outcome = "unchanged";
        r.changes.clear();
        m.record(&r, 3000);
        let text = m.render();
        for line in [
            "redline_checks_total{outcome=\"changed\"} 1",
            "redline_checks_total{outcome=\"unchanged\"} 1",
            "redline_checks_total{outcome=\"error\"} 0",
            "redline_changes_total{type=\"page_gone\"} 1",
            "redline_fetch_duration_seconds_bucket{le=\"0.1\"} 1",
            "redline_fetch_duration_seconds_bucket{le=\"5\"} 2",
            "redline_fetch_duration_seconds_bucket{le=\"+Inf\"} 2",
            "redline_fetch_duration_seconds_count 2",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}:\n{text}");
        }
    }
}
