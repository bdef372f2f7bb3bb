//! What alerts look like: a unified diff, webhook bodies (plain JSON, Slack,
//! Discord), and email (plain text and HTML with inline styles that survive
//! Gmail and Outlook, every page text escaped).

use super::Alert;
use crate::model::Change;
use serde_json::json;

/// The changes as a unified diff of the page's text.
pub fn unified_diff(watch: &str, changes: &[Change]) -> String {
    let mut out = format!("--- {watch} (before)\n+++ {watch} (after)\n");
    for c in changes {
        match c {
            Change::TextEdited {
                block,
                old_block,
                before,
                after,
            } => {
                out.push_str(&format!(
                    "@@ -{old_block} +{block} @@\n-{before}\n+{after}\n"
                ));
            }
            Change::TextAdded { block, text } => {
                out.push_str(&format!("@@ +{block} @@\n+{text}\n"))
            }
            Change::TextRemoved { block, text } => {
                out.push_str(&format!("@@ -{block} @@\n-{text}\n"))
            }
            Change::TitleChanged { before, after } => out.push_str(&format!(
                "@@ title @@\n-{}\n+{}\n",
                before.as_deref().unwrap_or(""),
                after.as_deref().unwrap_or("")
            )),
            other => out.push_str(&format!(
                "# {}\n",
                crate::summary::summarize(std::slice::from_ref(other))
            )),
        }
    }
    out
}

/// The webhook body for one alert or a digest of several.
pub fn webhook_body(format: super::WebhookFormat, alerts: &[Alert]) -> String {
    use super::WebhookFormat::*;
    match format {
        Json => match alerts {
            [one] => serde_json::to_string(one).unwrap_or_default(),
            many => json!({"schema_version": super::SCHEMA_VERSION, "digest": many}).to_string(),
        },
        Slack => json!({"text": chat_text(alerts, "*", "*")}).to_string(),
        Discord => json!({"content": chat_text(alerts, "**", "**")}).to_string(),
    }
}

/// A compact message for chat: a bold line per watch, its summary, and a
/// short diff in a code block.
fn chat_text(alerts: &[Alert], bold_open: &str, bold_close: &str) -> String {
    let mut s = String::new();
    for a in alerts {
        s.push_str(&format!(
            "{bold_open}{}{bold_close}: {}\n{}\n",
            a.watch, a.summary, a.url
        ));
        let diff: Vec<&str> = a.diff.lines().skip(2).take(12).collect();
        if !diff.is_empty() {
            // Chat code blocks end at ```: keep page text from closing them.
            let body = diff.join("\n").replace("```", "'''");
            s.push_str(&format!("```\n{}\n```\n", truncate(&body, 1500)));
        }
    }
    s
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max).collect();
    t.push('…');
    t
}

/// HTML-escape text (element content and attribute values).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The email subject: the watch and the summary (a digest counts watches).
pub fn email_subject(alerts: &[Alert]) -> String {
    match alerts {
        [one] => format!("[redline] {}: {}", one.watch, truncate(&one.summary, 150)),
        many => format!("[redline] digest: {} changed pages", many.len()),
    }
}

/// The plain-text part.
pub fn email_text(alerts: &[Alert]) -> String {
    let mut s = String::new();
    for a in alerts {
        s.push_str(&format!(
            "{}\n{}\nchecked {} (version {})\n\n{}\n\n{}\n",
            a.watch,
            a.url,
            a.checked_at,
            a.version.map_or_else(|| "-".to_string(), |v| v.to_string()),
            a.summary,
            a.diff
        ));
    }
    s.push_str("-- \nSent by redline. Every version is in your archive: `redline log NAME`.\n");
    s
}

const DEL: &str = "background-color:#ffebe9;color:#82071e;text-decoration:line-through;";
const INS: &str = "background-color:#dafbe1;color:#116329;font-weight:bold;";

/// Which words of an edit to show in HTML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Removed and added words, in place.
    Both,
    /// The text before, removed words marked.
    Before,
    /// The text after, added words marked.
    After,
}

/// An edit as HTML, words marked with inline styles (mail clients strip
/// `<ins>`/`<del>` styling and stylesheets); every word is escaped.
pub fn html_word_diff(
    before: &str,
    after: &str,
    side: Side,
    del_style: &str,
    ins_style: &str,
) -> String {
    let diff = similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Patience)
        .deadline(std::time::Instant::now() + std::time::Duration::from_millis(50))
        .diff_words(before, after);
    let mut s = String::new();
    for ch in diff.iter_all_changes() {
        let v = escape(ch.value());
        match (ch.tag(), side) {
            (similar::ChangeTag::Equal, _) => s.push_str(&v),
            (similar::ChangeTag::Delete, Side::Both | Side::Before) => {
                s.push_str(&format!("<span style=\"{del_style}\">{v}</span>"))
            }
            (similar::ChangeTag::Insert, Side::Both | Side::After) => {
                s.push_str(&format!("<span style=\"{ins_style}\">{v}</span>"))
            }
            _ => {}
        }
    }
    s
}

fn html_edit(before: &str, after: &str) -> String {
    html_word_diff(before, after, Side::Both, DEL, INS)
}

/// The HTML part.
pub fn email_html(alerts: &[Alert]) -> String {
    let mut s = String::from(
        "<!DOCTYPE html><html><body style=\"font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#1f2328;\">",
    );
    for a in alerts {
        s.push_str(&format!(
            "<h2 style=\"font-size:18px;margin:16px 0 4px 0;\">{}</h2><p style=\"margin:0 0 8px 0;color:#59636e;\"><a href=\"{}\" style=\"color:#0969da;\">{}</a> &middot; {}</p><p style=\"margin:0 0 12px 0;\"><strong>{}</strong></p>",
            escape(&a.watch),
            escape(&a.url),
            escape(&a.url),
            escape(&a.checked_at),
            escape(&a.summary)
        ));
        s.push_str("<table cellpadding=\"6\" cellspacing=\"0\" style=\"border-collapse:collapse;width:100%;\">");
        for c in &a.changes {
            let (label, body) = match c {
                Change::TextEdited {
                    block,
                    before,
                    after,
                    ..
                } => (format!("¶{block} edited"), html_edit(before, after)),
                Change::TextAdded { block, text } => (
                    format!("¶{block} added"),
                    format!("<span style=\"{INS}\">{}</span>", escape(text)),
                ),
                Change::TextRemoved { block, text } => (
                    format!("¶{block} removed"),
                    format!("<span style=\"{DEL}\">{}</span>", escape(text)),
                ),
                Change::CommentAdded(r) | Change::PingbackAdded(r) | Change::TrackbackAdded(r) => (
                    format!("new {}", c.kind().trim_end_matches("_added")),
                    format!(
                        "{}{}",
                        r.author
                            .as_deref()
                            .map(|a| format!("<strong>{}</strong>: ", escape(a)))
                            .unwrap_or_default(),
                        escape(&r.text)
                    ),
                ),
                other => (
                    other.kind().replace('_', " "),
                    escape(&crate::summary::summarize(std::slice::from_ref(other))),
                ),
            };
            s.push_str(&format!(
                "<tr><td style=\"border-top:1px solid #d1d9e0;vertical-align:top;white-space:nowrap;color:#59636e;\">{}</td><td style=\"border-top:1px solid #d1d9e0;\">{}</td></tr>",
                escape(&label),
                body
            ));
        }
        s.push_str("</table>");
    }
    s.push_str("<p style=\"color:#59636e;font-size:12px;margin-top:24px;\">Sent by redline. Every version is in your archive: <code>redline log NAME</code>.</p></body></html>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(changes: Vec<Change>) -> Alert {
        Alert {
            schema_version: 1,
            idempotency_key: "k".into(),
            watch: "car".into(),
            url: "https://x.gov/?a=1&b=2".into(),
            checked_at: "2026-11-29T10:00:00.000Z".into(),
            version: Some(2),
            previous_version: Some(1),
            summary: crate::summary::summarize(&changes),
            significance: Some("major".into()),
            diff: unified_diff("car", &changes),
            changes,
        }
    }

    #[test]
    fn html_escapes_hostile_page_text() {
        let a = alert(vec![Change::TextAdded {
            block: 1,
            text: "<script>alert('x')</script> & <img src=x onerror=y>".into(),
        }]);
        let html = email_html(&[a]);
        assert!(
            !html.contains("<script>") && !html.contains("<img"),
            "{html}"
        );
        assert!(
            html.contains(
                "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;img src=x onerror=y&gt;"
            ),
            "{html}"
        );
        assert!(
            html.contains("href=\"https://x.gov/?a=1&amp;b=2\""),
            "{html}"
        );
        assert!(
            !html.contains("<ins") && !html.contains("<del") && !html.contains("<style"),
            "inline styles only"
        );
    }

    #[test]
    fn edits_are_marked_word_by_word() {
        let a = alert(vec![Change::TextEdited {
            block: 3,
            old_block: 3,
            before: "providing $40 million".into(),
            after: "providing $60 million".into(),
        }]);
        let html = email_html(std::slice::from_ref(&a));
        assert!(
            html.contains(&format!("<span style=\"{DEL}\">$40</span>")),
            "{html}"
        );
        assert!(
            html.contains(&format!("<span style=\"{INS}\">$60</span>")),
            "{html}"
        );
        assert_eq!(
            a.diff,
            "--- car (before)\n+++ car (after)\n@@ -3 +3 @@\n-providing $40 million\n+providing $60 million\n"
        );
        assert_eq!(
            email_subject(&[a]),
            "[redline] car: 1 block edited in ¶3: \"$40 million\" → \"$60 million\""
        );
    }

    #[test]
    fn chat_formats() {
        let a = alert(vec![Change::TextAdded {
            block: 1,
            text: "code ``` fence".into(),
        }]);
        let slack: serde_json::Value = serde_json::from_str(&webhook_body(
            super::super::WebhookFormat::Slack,
            std::slice::from_ref(&a),
        ))
        .unwrap();
        let text = slack["text"].as_str().unwrap();
        assert!(text.starts_with("*car*: 1 block added\n"), "{text}");
        assert!(text.contains("+code ''' fence"), "{text}");
        let discord: serde_json::Value =
            serde_json::from_str(&webhook_body(super::super::WebhookFormat::Discord, &[a]))
                .unwrap();
        assert!(discord["content"].as_str().unwrap().starts_with("**car**"));
    }
}
