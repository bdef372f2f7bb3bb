//! Standard crontab expressions, translated for the `cron` crate.
//!
//! redline accepts what people write in a crontab: 5 fields
//! (`min hour dom month dow`) with Unix day-of-week numbering (0–7, Sunday
//! is 0 and 7, or names), 6 fields with seconds first, and the `@hourly`
//! family. The `cron` crate wants 6–7 fields with Quartz numbering (Sunday
//! is 1), and ANDs day-of-month with day-of-week where crontab ORs them
//! when both are restricted; this module bridges both differences.

use chrono::{DateTime, Utc};
use std::str::FromStr;

/// A parsed schedule: when a watch is due.
#[derive(Debug, Clone)]
pub struct Schedule {
    expr: String,
    /// More than one when crontab's day-of-month OR day-of-week applies.
    parts: Vec<cron::Schedule>,
    /// The zone the expression's times are in (UTC when `None`).
    tz: Option<chrono_tz::Tz>,
}

const DAY_NAMES: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

impl Schedule {
    /// Parse a crontab expression. The error says what is wrong in words a
    /// crontab user knows.
    pub fn parse(expr: &str) -> Result<Schedule, String> {
        let trimmed = expr.trim();
        let expanded = match trimmed.to_ascii_lowercase().as_str() {
            "@yearly" | "@annually" => "0 0 1 1 *".to_string(),
            "@monthly" => "0 0 1 * *".to_string(),
            "@weekly" => "0 0 * * 0".to_string(),
            "@daily" | "@midnight" => "0 0 * * *".to_string(),
            "@hourly" => "0 * * * *".to_string(),
            s if s.starts_with('@') => {
                return Err(format!(
                    "unknown shortcut `{trimmed}` (use @yearly, @monthly, @weekly, @daily or @hourly)"
                ));
            }
            _ => trimmed.to_string(),
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        let (sec, rest) = match fields.len() {
            5 => ("0", &fields[..]),
            6 => (fields[0], &fields[1..]),
            n => {
                return Err(format!(
                    "expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, found {n}"
                ));
            }
        };
        let (min, hour, dom, month, dow) = (rest[0], rest[1], rest[2], rest[3], rest[4]);
        check_range(sec, "second", 0, 59)?;
        check_range(min, "minute", 0, 59)?;
        check_range(hour, "hour", 0, 23)?;
        check_range(dom, "day of month", 1, 31)?;
        check_range(month, "month", 1, 12)?;
        let quartz_dow = translate_dow(dow)?;
        let unrestricted = |f: &str| f.starts_with('*') || f == "?";
        let variants: Vec<(String, String)> = if !unrestricted(dom) && !unrestricted(dow) {
            // crontab: run when either day field matches.
            vec![(dom.to_string(), "*".into()), ("*".into(), quartz_dow)]
        } else {
            vec![(dom.to_string(), quartz_dow)]
        };
        let mut parts = Vec::new();
        for (d, w) in variants {
            let q = format!("{sec} {min} {hour} {d} {month} {w}");
            let s = cron::Schedule::from_str(&q).map_err(|e| {
                // The crate's message points at its own rewritten form
                // over several lines: keep its last, explaining line.
                let e = e.to_string();
                let why = e.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
                format!("invalid cron expression `{trimmed}`: {}", why.trim())
            })?;
            parts.push(s);
        }
        Ok(Schedule {
            expr: trimmed.to_string(),
            parts,
            tz: None,
        })
    }

    /// The same schedule read in an IANA time zone ("America/New_York").
    pub fn in_zone(mut self, zone: &str) -> Result<Schedule, String> {
        let tz: chrono_tz::Tz = zone
            .parse()
            .map_err(|_| format!("unknown time zone `{zone}` (use an IANA name such as \"America/New_York\" or \"UTC\")"))?;
        self.tz = Some(tz);
        Ok(self)
    }

    /// The time zone, when one was given.
    pub fn zone(&self) -> Option<&str> {
        self.tz.as_ref().map(|t| t.name())
    }

    /// The expression as the user wrote it.
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// The first run strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self.tz {
            None => self.parts.iter().filter_map(|s| s.after(&t).next()).min(),
            Some(tz) => {
                let local = t.with_timezone(&tz);
                self.parts
                    .iter()
                    .filter_map(|s| s.after(&local).next())
                    .map(|n| n.with_timezone(&Utc))
                    .min()
            }
        }
    }
}

fn day_number(s: &str) -> Result<u32, String> {
    if let Some(i) = DAY_NAMES.iter().position(|d| d.eq_ignore_ascii_case(s)) {
        return Ok(i as u32);
    }
    match s.parse::<u32>() {
        Ok(n) if n <= 7 => Ok(n),
        _ => Err(format!(
            "invalid day of week `{s}` (use 0-7, Sunday being 0 or 7, or sun..sat)"
        )),
    }
}

/// Every number in a field (lists, ranges, steps) within `lo..=hi`;
/// names (month and day names) are left to the parser.
fn check_range(field: &str, what: &str, lo: u32, hi: u32) -> Result<(), String> {
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (item, None),
        };
        if let Some(step) = step
            && !step.parse::<u32>().is_ok_and(|n| n > 0)
        {
            return Err(format!("invalid step `/{step}` in the {what} field"));
        }
        for n in range.split('-') {
            if n == "*" || n == "?" || n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            match n.parse::<u32>() {
                Ok(v) if (lo..=hi).contains(&v) => {}
                _ => return Err(format!("invalid {what} `{n}` (use {lo}-{hi})")),
            }
        }
    }
    Ok(())
}

/// Unix day-of-week field → Quartz day-of-week field (Sunday = 1).
fn translate_dow(field: &str) -> Result<String, String> {
    if field == "*" || field == "?" {
        return Ok("*".into());
    }
    let mut days = [false; 7];
    for item in field.split(',') {
        let (base, step) = match item.split_once('/') {
            Some((b, s)) => {
                let step = s
                    .parse::<u32>()
                    .ok()
                    .filter(|&s| s > 0)
                    .ok_or_else(|| format!("invalid step `{s}` in day of week `{field}`"))?;
                (b, step)
            }
            None => (item, 1),
        };
        let (lo, hi) = if base == "*" || base == "?" {
            (0, 6)
        } else if let Some((a, b)) = base.split_once('-') {
            (day_number(a)?, day_number(b)?)
        } else {
            let d = day_number(base)?;
            // `a/step` runs from a to the end of the week.
            (d, if item.contains('/') { 6 } else { d })
        };
        if lo > hi {
            return Err(format!("day-of-week range `{base}` runs backwards"));
        }
        let mut d = lo;
        while d <= hi {
            days[(d % 7) as usize] = true;
            d += step;
        }
    }
    if days.iter().all(|&d| d) {
        return Ok("*".into());
    }
    let list: Vec<String> = (0..7)
        .filter(|&d| days[d])
        .map(|d| (d + 1).to_string())
        .collect();
    Ok(list.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single().unwrap()
    }

    #[test]
    fn next_run_table() {
        // 2026-11-28 is a Saturday.
        let from = at(2026, 11, 28, 12, 0);
        let table: &[(&str, DateTime<Utc>)] = &[
            ("*/30 * * * *", at(2026, 11, 28, 12, 30)),
            ("0 9 * * 1-5", at(2026, 11, 30, 9, 0)),
            ("0 9 * * mon-fri", at(2026, 11, 30, 9, 0)),
            ("0 0 * * 0", at(2026, 11, 29, 0, 0)),
            ("0 0 * * 7", at(2026, 11, 29, 0, 0)),
            ("0 0 * * SUN", at(2026, 11, 29, 0, 0)),
            ("0 18 * * 6", at(2026, 11, 28, 18, 0)),
            ("0 8 * * 5-7", at(2026, 11, 29, 8, 0)),
            ("0 8 * * */2", at(2026, 11, 29, 8, 0)),
            ("@hourly", at(2026, 11, 28, 13, 0)),
            ("@daily", at(2026, 11, 29, 0, 0)),
            ("@weekly", at(2026, 11, 29, 0, 0)),
            ("@monthly", at(2026, 12, 1, 0, 0)),
            ("@yearly", at(2027, 1, 1, 0, 0)),
            ("15 10 1 * *", at(2026, 12, 1, 10, 15)),
            // Day of month OR day of week, as crontab does: the 1st, or a Monday.
            ("0 0 1 * 1", at(2026, 11, 30, 0, 0)),
            ("0 0 5 * 3", at(2026, 12, 2, 0, 0)),
            ("0 12 * dec *", at(2026, 12, 1, 12, 0)),
        ];
        for (expr, want) in table {
            let s = Schedule::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
            assert_eq!(s.next_after(from), Some(*want), "{expr}");
        }
    }

    #[test]
    fn six_fields_have_seconds_first() {
        let s = Schedule::parse("30 */5 * * * *").unwrap();
        let from = Utc
            .with_ymd_and_hms(2026, 11, 28, 12, 0, 0)
            .single()
            .unwrap();
        let want = Utc
            .with_ymd_and_hms(2026, 11, 28, 12, 0, 30)
            .single()
            .unwrap();
        assert_eq!(s.next_after(from), Some(want));
    }

    #[test]
    fn errors_explain() {
        for (expr, needle) in [
            ("* * *", "expected 5 fields"),
            ("0 0 * * 8", "invalid day of week `8`"),
            ("0 0 * * funday", "invalid day of week `funday`"),
            ("0 0 * * 5-1", "runs backwards"),
            ("@reboot", "unknown shortcut"),
            ("61 * * * *", "invalid minute `61` (use 0-59)"),
            ("0 24 * * *", "invalid hour `24` (use 0-23)"),
            ("0 0 0 * *", "invalid day of month `0` (use 1-31)"),
            ("0 0 1 13 *", "invalid month `13` (use 1-12)"),
            ("0 */0 * * *", "invalid step `/0` in the hour field"),
            ("0 0 * foo *", "invalid cron expression"),
            ("0 0 * * 1/0", "invalid step"),
        ] {
            let err = Schedule::parse(expr).unwrap_err();
            assert!(err.contains(needle), "{expr}: {err}");
        }
    }

    #[test]
    fn time_zones_and_dst_edges() {
        let ny = |e: &str| {
            Schedule::parse(e)
                .unwrap()
                .in_zone("America/New_York")
                .unwrap()
        };
        // 09:00 in New York is 14:00 UTC in winter, 13:00 in summer.
        let s = ny("0 9 * * mon-fri");
        assert_eq!(
            s.next_after(at(2026, 11, 28, 12, 0)),
            Some(at(2026, 11, 30, 14, 0))
        );
        assert_eq!(
            s.next_after(at(2026, 6, 5, 12, 0)),
            Some(at(2026, 6, 5, 13, 0))
        );
        // Spring forward (2026-03-08): 02:30 does not exist that day.
        let s = ny("30 2 * * *");
        let next = s.next_after(at(2026, 3, 8, 5, 0)).unwrap();
        assert!(
            next > at(2026, 3, 8, 5, 0) && next <= at(2026, 3, 9, 6, 30),
            "{next}"
        );
        // Fall back (2026-11-01): 01:30 happens twice; the run is not lost.
        let s = ny("30 1 * * *");
        let first = s.next_after(at(2026, 11, 1, 4, 0)).unwrap();
        assert!(
            first == at(2026, 11, 1, 5, 30) || first == at(2026, 11, 1, 6, 30),
            "{first}"
        );
        // Midnight in Tokyo is 15:00 UTC the day before.
        let tokyo = Schedule::parse("@daily")
            .unwrap()
            .in_zone("Asia/Tokyo")
            .unwrap();
        assert_eq!(
            tokyo.next_after(at(2026, 11, 28, 12, 0)),
            Some(at(2026, 11, 28, 15, 0))
        );
        assert_eq!(tokyo.zone(), Some("Asia/Tokyo"));
        assert!(
            Schedule::parse("@daily")
                .unwrap()
                .in_zone("Mars/Olympus")
                .unwrap_err()
                .contains("unknown time zone")
        );
    }

    #[test]
    fn dow_translation() {
        assert_eq!(translate_dow("0").unwrap(), "1");
        assert_eq!(translate_dow("7").unwrap(), "1");
        assert_eq!(translate_dow("1-5").unwrap(), "2,3,4,5,6");
        assert_eq!(translate_dow("0-6").unwrap(), "*");
        assert_eq!(translate_dow("sat,sun").unwrap(), "1,7");
    }
}
