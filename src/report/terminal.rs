//! Human-readable reports: a header and summary per changed watch, then
//! each change, with edited blocks shown as a word-level inline diff.

use crate::check::CheckResult;
use crate::model::{Change, ReaderResponse, ResponseKind, host_of};
use similar::{Algorithm, ChangeTag, TextDiff};
use std::time::{Duration, Instant};

/// How output is decorated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
}

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const DEL: &str = "\x1b[31;9m";
const INS: &str = "\x1b[32;1m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// Unchanged runs longer than this many words are trimmed in edits.
const CONTEXT_WORDS: usize = 6;
/// Added or removed blocks longer than this are cut in terminal output
/// (the archive and JSON keep them whole).
const MAX_BLOCK_CHARS: usize = 400;

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("{code}{s}{RESET}")
        } else {
            s.to_string()
        }
    }
}

fn cut(s: &str) -> String {
    if s.chars().count() <= MAX_BLOCK_CHARS {
        return s.to_string();
    }
    let mut out: String = s.chars().take(MAX_BLOCK_CHARS).collect();
    out.push('…');
    out
}

/// An inline word diff of two texts: removed words `[-like this-]` and added
/// words `{+like this+}` (or in colour), long unchanged runs trimmed.
pub fn word_diff(before: &str, after: &str, style: Style) -> String {
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Patience)
        .deadline(Instant::now() + Duration::from_millis(50))
        .diff_words(before, after);
    // Group consecutive tokens by tag.
    let mut runs: Vec<(ChangeTag, String)> = Vec::new();
    for ch in diff.iter_all_changes() {
        let tag = ch.tag();
        let v = ch.value();
        match runs.last_mut() {
            Some((t, s)) if *t == tag => s.push_str(v),
            _ => runs.push((tag, v.to_string())),
        }
    }
    let n = runs.len();
    let mut out = String::new();
    for (i, (tag, text)) in runs.iter().enumerate() {
        match tag {
            ChangeTag::Equal => out.push_str(&trim_context(text, i == 0, i + 1 == n)),
            tag => {
                let t = text.trim();
                if t.is_empty() {
                    continue;
                }
                if text.starts_with(' ') && !out.is_empty() && !out.ends_with(' ') {
                    out.push(' ');
                }
                let deleted = *tag == ChangeTag::Delete;
                out.push_str(&match (style.color, deleted) {
                    (true, true) => style.paint(DEL, t),
                    (true, false) => style.paint(INS, t),
                    (false, true) => format!("[-{t}-]"),
                    (false, false) => format!("{{+{t}+}}"),
                });
                if text.ends_with(' ') {
                    out.push(' ');
                }
            }
        }
    }
    out.trim().to_string()
}

/// Keep a few words of context on the sides of an unchanged run.
fn trim_context(text: &str, at_start: bool, at_end: bool) -> String {
    let words: Vec<&str> = text.split(' ').filter(|w| !w.is_empty()).collect();
    let lead = if text.starts_with(' ') { " " } else { "" };
    let trail = if text.ends_with(' ') { " " } else { "" };
    let keep_front = if at_start { 0 } else { CONTEXT_WORDS };
    let keep_back = if at_end { 0 } else { CONTEXT_WORDS };
    if words.len() <= keep_front + keep_back + 2 {
        return text.to_string();
    }
    let mut s = String::from(lead);
    if keep_front > 0 {
        s.push_str(&words[..keep_front].join(" "));
        s.push(' ');
    }
    s.push('…');
    if keep_back > 0 {
        s.push(' ');
        s.push_str(&words[words.len() - keep_back..].join(" "));
    }
    s.push_str(trail);
    s
}

/// "comment by Laura" / "pingback from example.org".
fn who(r: &ReaderResponse) -> String {
    match r.kind {
        ResponseKind::Comment => match &r.author {
            Some(a) => format!("comment by {a}"),
            None => "comment".to_string(),
        },
        kind => {
            let label = if kind == ResponseKind::Pingback {
                "pingback"
            } else {
                "trackback"
            };
            match r.url.as_deref().and_then(host_of) {
                Some(h) => format!("{label} from {h}"),
                None => label.to_string(),
            }
        }
    }
}

/// A response as one line: who, and what they said (shortened).
fn describe(r: &ReaderResponse) -> String {
    let mut text: String = r.text.chars().take(120).collect();
    if r.text.chars().count() > 120 {
        text.push('…');
    }
    format!("{}: '{text}'", who(r))
}

/// One line per change, indented.
pub fn render_changes(changes: &[Change], style: Style) -> String {
    let mut out = String::new();
    for c in changes {
        let line = match c {
            Change::TextEdited {
                block,
                before,
                after,
                ..
            } => {
                format!(
                    "{} ¶{block}  {}",
                    style.paint(BOLD, "~"),
                    word_diff(before, after, style)
                )
            }
            Change::TextAdded { block, text } => {
                style.paint(GREEN, &format!("+ ¶{block}  {}", cut(text)))
            }
            Change::TextRemoved { block, text } => {
                style.paint(RED, &format!("- ¶{block}  {}", cut(text)))
            }
            Change::TitleChanged { before, after } => format!(
                "{} title  {}",
                style.paint(BOLD, "~"),
                word_diff(
                    before.as_deref().unwrap_or(""),
                    after.as_deref().unwrap_or(""),
                    style
                )
            ),
            Change::ContentChanged {
                mime,
                before_size,
                after_size,
                ..
            } => format!(
                "{} content changed ({mime}, {before_size} → {after_size} bytes)",
                style.paint(BOLD, "≠")
            ),
            Change::PageGone { status } => {
                style.paint(RED, &format!("✗ page gone (HTTP {status})"))
            }
            Change::PageBack { status } => {
                style.paint(GREEN, &format!("✓ page back (HTTP {status})"))
            }
            Change::Redirected { from, to } => format!("→ redirected: {from} → {to}"),
            Change::CommentAdded(r) | Change::PingbackAdded(r) | Change::TrackbackAdded(r) => {
                style.paint(GREEN, &format!("+ {}", describe(r)))
            }
            Change::CommentRemoved(r)
            | Change::PingbackRemoved(r)
            | Change::TrackbackRemoved(r) => style.paint(RED, &format!("- {}", describe(r))),
            Change::FetchFailing { failures, error } => style.paint(
                RED,
                &format!("! failing: {failures} checks in a row ({error})"),
            ),
            Change::FetchRecovered { failures } => style.paint(
                GREEN,
                &format!("✓ answering again after {failures} failed checks"),
            ),
            Change::EntryAdded(e) => style.paint(
                GREEN,
                &format!(
                    "+ entry: '{}'{}{}",
                    e.title,
                    e.date
                        .as_deref()
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default(),
                    e.link
                        .as_deref()
                        .map(|l| format!(" {l}"))
                        .unwrap_or_default()
                ),
            ),
            Change::CommentEdited { item, before } => format!(
                "{} {}: {}",
                style.paint(BOLD, "~"),
                who(item),
                word_diff(before, &item.text, style)
            ),
        };
        out.push_str("  ");
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// A standard unified diff of two texts (one block per line), which
/// `patch` and other tools understand.
pub fn unified_patch(old_label: &str, new_label: &str, old: &str, new: &str) -> String {
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Patience)
        .deadline(Instant::now() + Duration::from_secs(2))
        .diff_lines(old, new);
    diff.unified_diff()
        .context_radius(3)
        .header(old_label, new_label)
        .to_string()
}

/// Wrap `text` into lines of at most `width` characters (words kept whole
/// unless longer than a line).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(8);
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ') {
        let mut word = word.to_string();
        while word.chars().count() > width {
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            if !cur.is_empty() {
                lines.push(std::mem::take(&mut cur));
            }
            lines.push(head);
        }
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(&word);
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

/// Changes in two columns, before | after, within `width` characters.
pub fn side_by_side(changes: &[Change], width: usize, style: Style) -> String {
    let col = (width.max(40) - 3) / 2;
    let mut out = String::new();
    let pad = |s: &str| {
        let n = s.chars().count();
        format!("{s}{}", " ".repeat(col.saturating_sub(n)))
    };
    out.push_str(&format!("{} │ {}\n", pad("before"), "after"));
    out.push_str(&format!("{}─┼─{}\n", "─".repeat(col), "─".repeat(col)));
    for c in changes {
        let (left, right, label) = match c {
            Change::TextEdited {
                block,
                before,
                after,
                ..
            } => (before.clone(), after.clone(), format!("¶{block}")),
            Change::TextAdded { block, text } => (String::new(), text.clone(), format!("¶{block}")),
            Change::TextRemoved { block, text } => {
                (text.clone(), String::new(), format!("¶{block}"))
            }
            Change::TitleChanged { before, after } => (
                before.clone().unwrap_or_default(),
                after.clone().unwrap_or_default(),
                "title".into(),
            ),
            other => (
                String::new(),
                crate::summary::summarize(std::slice::from_ref(other)),
                other.kind().into(),
            ),
        };
        let l = wrap(&left, col);
        let r = wrap(&right, col);
        out.push_str(&format!("{}\n", style.paint(DIM, &label)));
        for i in 0..l.len().max(r.len()) {
            let ls = l.get(i).map(String::as_str).unwrap_or("");
            let rs = r.get(i).map(String::as_str).unwrap_or("");
            let (ls_p, rs_p) = (style.paint(RED, &pad(ls)), style.paint(GREEN, rs));
            out.push_str(&format!("{ls_p} │ {rs_p}\n"));
        }
    }
    out
}

/// The human report of one check: a block for changes, a line otherwise.
pub fn render_result(r: &CheckResult, style: Style) -> String {
    match r.outcome {
        "changed" => {
            let versions = match (r.previous_version, r.version) {
                (Some(p), Some(v)) => format!("v{p} → v{v}"),
                (_, Some(v)) => format!("v{v}"),
                _ => String::new(),
            };
            format!(
                "{} {}  {}  {}\n  {}\n{}",
                style.paint(BOLD, "●"),
                style.paint(BOLD, &r.watch),
                versions,
                style.paint(DIM, &r.url),
                r.summary,
                render_changes(&r.changes, style)
            )
        }
        "first_capture" => {
            let extra = if r.changes.is_empty() {
                String::new()
            } else {
                format!(" — {}", r.summary)
            };
            format!(
                "{} {}  first capture, v{}{extra}  {}\n",
                style.paint(GREEN, "+"),
                r.watch,
                r.version.unwrap_or(1),
                style.paint(DIM, &r.url)
            )
        }
        "unchanged" => format!(
            "{} {}  unchanged (v{})\n",
            style.paint(DIM, "="),
            r.watch,
            r.version.unwrap_or(0)
        ),
        _ => format!(
            "{} {}  error: {}  {}\n",
            style.paint(RED, "!"),
            r.watch,
            r.error.as_deref().unwrap_or("unknown error"),
            style.paint(DIM, &r.url)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: Style = Style { color: false };

    #[test]
    fn word_diff_marks_only_changed_words() {
        assert_eq!(
            word_diff(
                "The United States is providing $40 million in support.",
                "The United States is providing $60 million in support.",
                PLAIN
            ),
            "The United States is providing [-$40-]{+$60+} million in support."
        );
    }

    #[test]
    fn word_diff_trims_long_context() {
        let before = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen OLD end";
        let after = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen NEW end";
        assert_eq!(
            word_diff(before, after, PLAIN),
            "… nine ten eleven twelve thirteen fourteen [-OLD-]{+NEW+} end"
        );
    }

    #[test]
    fn colour_uses_ansi_and_plain_does_not() {
        let c = word_diff("a b", "a c", Style { color: true });
        assert!(
            c.contains("\x1b[31;9mb\x1b[0m") && c.contains("\x1b[32;1mc\x1b[0m"),
            "{c:?}"
        );
        assert!(!render_changes(&[Change::PageGone { status: 404 }], PLAIN).contains('\x1b'));
    }

    #[test]
    fn unified_patch_is_standard() {
        let p = unified_patch(
            "a/car v1",
            "b/car v2",
            "one\ntwo\nthree\n",
            "one\n2\nthree\n",
        );
        assert_eq!(
            p,
            "--- a/car v1\n+++ b/car v2\n@@ -1,3 +1,3 @@\n one\n-two\n+2\n three\n"
        );
    }

    #[test]
    fn side_by_side_columns() {
        let out = side_by_side(
            &[Change::TextEdited {
                block: 2,
                old_block: 2,
                before: "old words here".into(),
                after: "new words here".into(),
            }],
            40,
            PLAIN,
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "before             │ after");
        assert_eq!(lines[2], "¶2");
        assert_eq!(lines[3], "old words here     │ new words here");
        assert!(lines.iter().all(|l| l.chars().count() <= 40), "{out}");
    }

    #[test]
    fn wrap_keeps_words_and_cuts_long_ones() {
        assert_eq!(wrap("aaa bbb ccc", 8), vec!["aaa bbb", "ccc"]);
        assert_eq!(wrap("abcdefghijkl", 8), vec!["abcdefgh", "ijkl"]);
        assert_eq!(wrap("", 8), vec![""]);
    }

    #[test]
    fn changed_result_block() {
        let r = CheckResult {
            watch: "car".into(),
            url: "http://x/".into(),
            checked_at: "t".into(),
            outcome: "changed",
            http_status: Some(200),
            version: Some(2),
            previous_version: Some(1),
            changes: vec![
                Change::TextAdded {
                    block: 4,
                    text: "New para.".into(),
                },
                Change::Redirected {
                    from: "http://x/".into(),
                    to: "http://y/".into(),
                },
            ],
            error: None,
            summary: "1 block added; now redirects to http://y/".into(),
            significance: None,
            alert: true,
            retry_after: None,
            duration_ms: 0,
        };
        assert_eq!(
            render_result(&r, PLAIN),
            "● car  v1 → v2  http://x/\n  1 block added; now redirects to http://y/\n  + ¶4  New para.\n  → redirected: http://x/ → http://y/\n"
        );
    }
}
