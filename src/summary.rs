//! What a report means to a person: a one-line summary and a significance
//! level. Pure.
//!
//! Significance: `minor` for whitespace, punctuation, case or a typo;
//! `major` for changed numbers, names, dates, added or removed paragraphs,
//! a title change, a page gone, back or replaced; `moderate` for other
//! edits, reader responses and redirects.

use crate::model::{Change, ReaderResponse, ResponseKind, host_of};
use serde::{Deserialize, Serialize};
use similar::{Algorithm, ChangeTag, TextDiff};
use std::time::{Duration, Instant};

/// How much a change matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Significance {
    Minor,
    Moderate,
    Major,
}

impl Significance {
    pub fn as_str(self) -> &'static str {
        match self {
            Significance::Minor => "minor",
            Significance::Moderate => "moderate",
            Significance::Major => "major",
        }
    }

    pub fn parse(s: &str) -> Option<Significance> {
        match s {
            "minor" => Some(Significance::Minor),
            "moderate" => Some(Significance::Moderate),
            "major" => Some(Significance::Major),
            _ => None,
        }
    }
}

const MONTHS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// The first run of removed and inserted words of an edit, with one word of
/// following context, and every changed word.
struct WordChange {
    removed: String,
    inserted: String,
    changed: Vec<String>,
    /// Whether a changed word starts a sentence (its capital proves nothing).
    first_word_changed: bool,
}

fn word_change(before: &str, after: &str) -> WordChange {
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Patience)
        .deadline(Instant::now() + Duration::from_millis(20))
        .diff_words(before, after);
    let mut changed = Vec::new();
    let (mut removed, mut inserted) = (String::new(), String::new());
    // 0: before the first run, 1: inside it, 2: after it (want context), 3: done.
    let mut state = 0;
    let mut first_word_changed = false;
    for (i, ch) in diff.iter_all_changes().enumerate() {
        let v = ch.value();
        match ch.tag() {
            ChangeTag::Equal => {
                if state == 1 && !v.trim().is_empty() {
                    removed.push_str(v);
                    inserted.push_str(v);
                    state = 3;
                } else if state == 1 {
                    removed.push_str(v);
                    inserted.push_str(v);
                }
            }
            tag => {
                if !v.trim().is_empty() {
                    changed.push(v.to_string());
                    if i == 0 {
                        first_word_changed = true;
                    }
                }
                if state <= 1 {
                    state = 1;
                    if tag == ChangeTag::Delete {
                        removed.push_str(v);
                    } else {
                        inserted.push_str(v);
                    }
                }
            }
        }
    }
    WordChange {
        removed: removed.trim().to_string(),
        inserted: inserted.trim().to_string(),
        changed,
        first_word_changed,
    }
}

/// Lower-case letters and digits only.
fn bare(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn edit_significance(before: &str, after: &str) -> Significance {
    if bare(before) == bare(after) {
        return Significance::Minor;
    }
    let wc = word_change(before, after);
    let words = || {
        wc.changed
            .iter()
            .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
    };
    if words().any(|w| w.chars().any(|c| c.is_ascii_digit())) {
        return Significance::Major;
    }
    if words().any(|w| MONTHS.contains(&w.to_lowercase().as_str())) {
        return Significance::Major;
    }
    let capitalised = words().enumerate().any(|(i, w)| {
        w.chars().next().is_some_and(char::is_uppercase) && !(i == 0 && wc.first_word_changed)
    });
    if capitalised {
        return Significance::Major;
    }
    // A one-word typo fix.
    let (r, i) = (bare(&wc.removed), bare(&wc.inserted));
    if wc.changed.len() <= 2
        && !r.is_empty()
        && !i.is_empty()
        && crate::extract::text::edit_distance(&r, &i) <= 2
    {
        return Significance::Minor;
    }
    Significance::Moderate
}

/// How much one change matters.
pub fn significance(c: &Change) -> Significance {
    match c {
        Change::TextEdited { before, after, .. } => edit_significance(before, after),
        Change::TextAdded { .. }
        | Change::TextRemoved { .. }
        | Change::TitleChanged { .. }
        | Change::ContentChanged { .. }
        | Change::PageGone { .. }
        | Change::PageBack { .. }
        | Change::FetchFailing { .. } => Significance::Major,
        Change::FetchRecovered { .. } => Significance::Moderate,
        Change::Redirected { .. }
        | Change::CommentAdded(_)
        | Change::CommentRemoved(_)
        | Change::CommentEdited { .. }
        | Change::EntryAdded(_)
        | Change::PingbackAdded(_)
        | Change::PingbackRemoved(_)
        | Change::TrackbackAdded(_)
        | Change::TrackbackRemoved(_) => Significance::Moderate,
    }
}

/// How much a report matters: its most significant change.
pub fn report_significance(changes: &[Change]) -> Option<Significance> {
    changes.iter().map(significance).max()
}

fn quote(s: &str) -> String {
    let mut q: String = s.chars().take(60).collect();
    if s.chars().count() > 60 {
        q.push('…');
    }
    format!("\"{q}\"")
}

/// A one-line human summary, e.g. `1 block edited in ¶3: "$40 million" →
/// "$60 million"; 1 new pingback from example.org`.
pub fn summarize(changes: &[Change]) -> String {
    let n = |f: fn(&Change) -> bool| changes.iter().filter(|c| f(c)).count();
    let plural =
        |k: usize, one: &str, many: &str| format!("{k} {}", if k == 1 { one } else { many });
    let mut parts: Vec<String> = Vec::new();
    let edits: Vec<&Change> = changes
        .iter()
        .filter(|c| matches!(c, Change::TextEdited { .. }))
        .collect();
    match edits.as_slice() {
        [] => {}
        [
            Change::TextEdited {
                block,
                before,
                after,
                ..
            },
        ] => {
            let wc = word_change(before, after);
            let what = match (wc.removed.is_empty(), wc.inserted.is_empty()) {
                (false, false) => format!(": {} → {}", quote(&wc.removed), quote(&wc.inserted)),
                (true, false) => format!(": added {}", quote(&wc.inserted)),
                (false, true) => format!(": removed {}", quote(&wc.removed)),
                (true, true) => String::new(),
            };
            parts.push(format!("1 block edited in ¶{block}{what}"));
        }
        many => parts.push(format!("{} blocks edited", many.len())),
    }
    for (k, what) in [
        (n(|c| matches!(c, Change::TextAdded { .. })), "added"),
        (n(|c| matches!(c, Change::TextRemoved { .. })), "removed"),
    ] {
        if k > 0 {
            parts.push(format!("{} {what}", plural(k, "block", "blocks")));
        }
    }
    let entries: Vec<&str> = changes
        .iter()
        .filter_map(|c| match c {
            Change::EntryAdded(e) => Some(e.title.as_str()),
            _ => None,
        })
        .collect();
    match entries.as_slice() {
        [] => {}
        [t] => parts.push(format!("1 new entry: {}", quote(t))),
        many => parts.push(format!("{} new entries", many.len())),
    }
    // Responses: one phrase per kind of change; a single new pingback or
    // trackback names the site that linked.
    for (kind, one, many) in [
        ("comment_added", "new comment", "new comments"),
        ("comment_edited", "comment edited", "comments edited"),
        ("comment_removed", "comment removed", "comments removed"),
        ("pingback_added", "new pingback", "new pingbacks"),
        ("pingback_removed", "pingback removed", "pingbacks removed"),
        ("trackback_added", "new trackback", "new trackbacks"),
        (
            "trackback_removed",
            "trackback removed",
            "trackbacks removed",
        ),
    ] {
        let items: Vec<&ReaderResponse> = changes
            .iter()
            .filter(|c| c.kind() == kind)
            .filter_map(Change::response)
            .collect();
        match items.as_slice() {
            [] => {}
            [r] if r.kind != ResponseKind::Comment && kind.ends_with("_added") => {
                match r.url.as_deref().and_then(host_of) {
                    Some(h) => parts.push(format!("1 {one} from {h}")),
                    None => parts.push(format!("1 {one}")),
                }
            }
            _ => parts.push(plural(items.len(), one, many)),
        }
    }
    for c in changes {
        match c {
            Change::TitleChanged { .. } => parts.push("title changed".into()),
            Change::ContentChanged { mime, .. } => parts.push(format!("content changed ({mime})")),
            Change::PageGone { status } => parts.push(format!("page gone (HTTP {status})")),
            Change::PageBack { status } => parts.push(format!("page back (HTTP {status})")),
            Change::Redirected { to, .. } => parts.push(format!("now redirects to {to}")),
            Change::FetchFailing { failures, error } => {
                parts.push(format!("failing: {failures} checks in a row ({error})"))
            }
            Change::FetchRecovered { failures } => {
                parts.push(format!("answering again after {failures} failed checks"))
            }
            _ => {}
        }
    }
    if parts.is_empty() {
        "no changes".into()
    } else {
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(before: &str, after: &str) -> Change {
        Change::TextEdited {
            block: 3,
            old_block: 3,
            before: before.into(),
            after: after.into(),
        }
    }

    fn ping(url: &str) -> Change {
        Change::PingbackAdded(ReaderResponse {
            id: "comment-9".into(),
            kind: ResponseKind::Pingback,
            author: Some("t".into()),
            url: Some(url.into()),
            date: None,
            text: "t".into(),
        })
    }

    #[test]
    fn summary_names_the_edit_and_the_linking_site() {
        let s = summarize(&[
            edit(
                "The United States is providing $40 million to support MISCA.",
                "The United States is providing $60 million to support MISCA.",
            ),
            ping("https://www.example.org/2013/12/08/car/"),
        ]);
        assert_eq!(
            s,
            "1 block edited in ¶3: \"$40 million\" → \"$60 million\"; 1 new pingback from example.org"
        );
        assert_eq!(summarize(&[]), "no changes");
        assert_eq!(
            summarize(&[
                edit("a b c", "a x c"),
                edit("d e f", "d y f"),
                Change::TextAdded {
                    block: 4,
                    text: "n".into()
                },
                Change::PageGone { status: 410 },
            ]),
            "2 blocks edited; 1 block added; page gone (HTTP 410)"
        );
        assert_eq!(
            summarize(&[ping("https://a.example/1"), ping("https://b.example/2")]),
            "2 new pingbacks"
        );
    }

    #[test]
    fn significance_levels() {
        use Significance::*;
        let cases = [
            ("The mission is underway.", "The mission is underway", Minor),
            (
                "the mission is underway.",
                "The Mission is underway.",
                Minor,
            ),
            (
                "The mission is  underway.",
                "The mission is underway.",
                Minor,
            ),
            (
                "The misison is underway.",
                "The mission is underway.",
                Minor,
            ),
            ("It costs $40 million.", "It costs $60 million.", Major),
            (
                "Signed on Tuesday by the minister.",
                "Signed on Wednesday by the minister.",
                Major,
            ),
            (
                "Remarks by the Secretary Kerry today.",
                "Remarks by the Secretary Blinken today.",
                Major,
            ),
            (
                "We are deeply concerned by the violence.",
                "We are gravely alarmed by the violence.",
                Moderate,
            ),
        ];
        for (b, a, want) in cases {
            assert_eq!(significance(&edit(b, a)), want, "{b} → {a}");
        }
        assert_eq!(
            significance(&Change::TextAdded {
                block: 1,
                text: "x".into()
            }),
            Major
        );
        assert_eq!(significance(&ping("https://a/")), Moderate);
        assert_eq!(
            report_significance(&[edit("a b", "a b."), ping("https://a/")]),
            Some(Moderate)
        );
        assert_eq!(report_significance(&[]), None);
    }
}
