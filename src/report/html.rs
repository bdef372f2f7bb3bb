//! A self-contained HTML report and an Atom feed of change reports. All
//! page text is escaped; the HTML page also forbids scripts outright
//! (Content-Security-Policy), so hostile page text can never run.

use crate::model::Change;
use crate::notify::render::{Side, escape, html_word_diff};
use crate::store::ReportRow;

const DEL: &str = "background:#ffebe9;color:#82071e;text-decoration:line-through;";
const INS: &str = "background:#dafbe1;color:#116329;";

/// Word-level marks for one side of an edit.
fn marked(before: &str, after: &str, side_after: bool) -> String {
    let side = if side_after {
        Side::After
    } else {
        Side::Before
    };
    html_word_diff(before, after, side, DEL, INS)
}

/// One change as a table row: what, before, after.
fn change_row(c: &Change) -> String {
    let (label, before, after) = match c {
        Change::TextEdited {
            block,
            before,
            after,
            ..
        } => (
            format!("¶{block}"),
            marked(before, after, false),
            marked(before, after, true),
        ),
        Change::TextAdded { block, text } => (
            format!("¶{block}"),
            String::new(),
            format!("<span style=\"{INS}\">{}</span>", escape(text)),
        ),
        Change::TextRemoved { block, text } => (
            format!("¶{block}"),
            format!("<span style=\"{DEL}\">{}</span>", escape(text)),
            String::new(),
        ),
        Change::TitleChanged { before, after } => (
            "title".to_string(),
            escape(before.as_deref().unwrap_or("")),
            escape(after.as_deref().unwrap_or("")),
        ),
        other => (
            other.kind().replace('_', " "),
            String::new(),
            escape(&crate::summary::summarize(std::slice::from_ref(other))),
        ),
    };
    format!(
        "<tr><th>{}</th><td>{before}</td><td>{after}</td></tr>",
        escape(&label)
    )
}

/// The report page: every change report in `rows`, with side-by-side diffs.
pub fn report_page(rows: &[ReportRow], title: &str) -> String {
    let mut s = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <title>{}</title><style>\
         body{{font-family:system-ui,Arial,sans-serif;margin:2em;color:#1f2328;max-width:80em}}\
         h2{{font-size:1.1em;margin:1.5em 0 .2em}} .meta{{color:#59636e;margin:0 0 .5em}}\
         table{{border-collapse:collapse;width:100%}} td,th{{border-top:1px solid #d1d9e0;padding:.4em;vertical-align:top;text-align:left}}\
         th{{color:#59636e;font-weight:normal;white-space:nowrap;width:4em}} td{{width:48%}}\
         </style></head><body><h1>{}</h1>",
        escape(title),
        escape(title)
    );
    if rows.is_empty() {
        s.push_str("<p>No changes in this period.</p>");
    }
    for r in rows {
        s.push_str(&format!(
            "<section><h2>{}</h2><p class=\"meta\"><a href=\"{}\">{}</a> · {} · version {} · {}</p><p><strong>{}</strong></p>\
             <table><tr><th></th><th>before</th><th>after</th></tr>",
            escape(&r.watch),
            escape(&r.url),
            escape(&r.url),
            escape(&r.created_at),
            r.version.map_or_else(|| "-".to_string(), |v| v.to_string()),
            escape(r.significance.as_deref().unwrap_or("-")),
            escape(&r.summary)
        ));
        for c in &r.changes {
            s.push_str(&change_row(c));
        }
        s.push_str("</table></section>");
    }
    s.push_str("</body></html>\n");
    s
}

/// An Atom feed (RFC 4287) with an entry per change report.
pub fn atom_feed(rows: &[ReportRow], self_url: Option<&str>) -> String {
    let updated = rows
        .first()
        .map(|r| r.created_at.clone())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string());
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n\
         <title>redline: changes</title>\n<id>urn:redline:changes</id>\n<updated>{}</updated>\n<generator>redline</generator>\n",
        escape(&updated)
    );
    if let Some(u) = self_url {
        s.push_str(&format!("<link rel=\"self\" href=\"{}\"/>\n", escape(u)));
    }
    for r in rows {
        let id = format!(
            "urn:redline:report:{}",
            &crate::extract::sha256_hex(format!("{}\u{1}{}", r.watch, r.created_at).as_bytes())
                [..32]
        );
        let mut html = format!("<p><strong>{}</strong></p><table>", escape(&r.summary));
        for c in &r.changes {
            html.push_str(&change_row(c));
        }
        html.push_str("</table>");
        s.push_str(&format!(
            "<entry>\n<id>{id}</id>\n<title>{}: {}</title>\n<updated>{}</updated>\n<link href=\"{}\"/>\n<author><name>redline</name></author>\n<content type=\"html\">{}</content>\n</entry>\n",
            escape(&r.watch),
            escape(&r.summary),
            escape(&r.created_at),
            escape(&r.url),
            escape(&html)
        ));
    }
    s.push_str("</feed>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(text: &str) -> ReportRow {
        ReportRow {
            id: 1,
            watch: "car <x>".into(),
            url: "https://x.gov/?a=1&b=2".into(),
            created_at: "2026-11-29T10:00:00.000Z".into(),
            version: Some(2),
            summary: "1 block added".into(),
            significance: Some("major".into()),
            changes: vec![Change::TextAdded {
                block: 1,
                text: text.into(),
            }],
        }
    }

    #[test]
    fn report_escapes_and_forbids_scripts() {
        let page = report_page(
            &[row("<script>alert(1)</script><img src=x onerror=alert(2)>")],
            "Changes",
        );
        assert!(
            !page.contains("<script>") && !page.contains("<img"),
            "{page}"
        );
        assert!(
            page.contains(
                "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
            )
        );
        assert!(page.contains("default-src 'none'"));
        assert!(page.contains("<h2>car &lt;x&gt;</h2>"));
        assert!(!page.contains("src=\"http"), "no external assets");
    }

    #[test]
    fn atom_feed_is_well_formed_and_escaped() {
        let feed = atom_feed(&[row("a < b & c")], Some("http://127.0.0.1/feed.atom"));
        assert!(feed.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">"));
        assert!(
            feed.contains("<title>car &lt;x&gt;: 1 block added</title>"),
            "{feed}"
        );
        // The entry's HTML is itself escaped inside the XML.
        assert!(feed.contains("a &amp;lt; b &amp;amp; c"), "{feed}");
        let parsed = crate::extract::feed::parse(&feed);
        assert_eq!(parsed.entries.len(), 1);
        assert_eq!(parsed.entries[0].title, "car <x>: 1 block added");
        assert_eq!(
            parsed.entries[0].link.as_deref(),
            Some("https://x.gov/?a=1&b=2")
        );
    }
}
