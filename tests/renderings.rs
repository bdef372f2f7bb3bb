//! Snapshots of every rendering: inline, side-by-side and unified diffs,
//! reader responses, empty and huge diffs, with colours on and off, and the
//! HTML report and email. Review changes with `cargo insta review` (or
//! `INSTA_UPDATE=always cargo test --test renderings` and read the diff).

use redline::model::{Change, FeedEntry, ReaderResponse, ResponseKind};
use redline::notify::{Alert, render};
use redline::report::html::report_page;
use redline::report::terminal::{Style, render_changes, side_by_side, unified_patch};
use redline::store::ReportRow;

const PLAIN: Style = Style { color: false };
const COLOUR: Style = Style { color: true };

fn edits() -> Vec<Change> {
    vec![
        Change::TitleChanged {
            before: Some("U.S. Support to Peacekeepers".into()),
            after: Some("U.S. Support to Peacekeepers in the Central African Republic".into()),
        },
        Change::TextEdited {
            block: 8,
            old_block: 8,
            before: "To help end the violence, the United States is providing $40 million to support the African Union-led International Support Mission in the Central African Republic (MISCA) and French forces working to restore security.".into(),
            after: "To help end the violence, the United States is providing $60 million to support the African Union-led International Support Mission in the Central African Republic (MISCA) and French forces working to restore security.".into(),
        },
        Change::TextAdded { block: 10, text: "The Department will continue to monitor the situation closely.".into() },
        Change::TextRemoved { block: 11, text: "Related: Remarks at the Security Council".into() },
    ]
}

fn responses() -> Vec<Change> {
    let item = |id: &str, kind, author: &str, url: &str, text: &str| ReaderResponse {
        id: id.into(),
        kind,
        author: Some(author.into()),
        url: Some(url.into()),
        date: Some("2013-12-08T09:30:00+00:00".into()),
        text: text.into(),
    };
    vec![
        Change::PingbackAdded(item(
            "comment-415",
            ResponseKind::Pingback,
            "CAR Latest-France Cuts Forces, Africa Union Steps In",
            "https://example.org/2013/12/08/car-latest/",
            "CAR Latest-France Cuts Forces, Africa Union Steps In",
        )),
        Change::CommentAdded(item(
            "comment-416",
            ResponseKind::Comment,
            "Laura",
            "https://laura.example.net/",
            "Daniel – the statement now says $60 million.",
        )),
        Change::CommentEdited {
            item: item(
                "comment-412",
                ResponseKind::Comment,
                "Daniel",
                "https://daniel.example.net/",
                "Is the $60 million new money?",
            ),
            before: "Is the $40 million new money?".into(),
        },
        Change::TrackbackRemoved(item(
            "comment-417",
            ResponseKind::Trackback,
            "Roundup",
            "https://t.example/r",
            "Roundup",
        )),
        Change::EntryAdded(FeedEntry {
            id: "218349".into(),
            title: "U.S. Support to Peacekeepers".into(),
            link: Some("https://www.state.gov/r/218349".into()),
            date: Some("Sat, 07 Dec 2013 12:00:00 GMT".into()),
        }),
        Change::PageGone { status: 404 },
        Change::Redirected {
            from: "https://a.gov/x".into(),
            to: "https://a.gov/archive/x".into(),
        },
        Change::FetchFailing {
            failures: 3,
            error: "HTTP 503 Service Unavailable".into(),
        },
    ]
}

#[test]
fn inline_plain_and_colour() {
    insta::assert_snapshot!("inline_plain", render_changes(&edits(), PLAIN));
    insta::assert_snapshot!("inline_colour", render_changes(&edits(), COLOUR));
}

#[test]
fn side_by_side_plain_and_colour() {
    insta::assert_snapshot!("side_by_side_plain", side_by_side(&edits(), 100, PLAIN));
    insta::assert_snapshot!(
        "side_by_side_colour",
        side_by_side(&edits()[1..2], 80, COLOUR)
    );
}

#[test]
fn unified() {
    let old = "U.S. Support to Peacekeepers\nThe United States is providing $40 million.\nSecond.\nThird.\nFourth.\nFifth.\n";
    let new = "U.S. Support to Peacekeepers\nThe United States is providing $60 million.\nSecond.\nThird.\nFourth.\nFifth.\nSixth, new.\n";
    insta::assert_snapshot!("unified", unified_patch("a/car v1", "b/car v2", old, new));
}

#[test]
fn responses_as_items() {
    insta::assert_snapshot!("responses_plain", render_changes(&responses(), PLAIN));
    insta::assert_snapshot!("responses_colour", render_changes(&responses(), COLOUR));
}

#[test]
fn empty_and_huge() {
    insta::assert_snapshot!("empty", format!("[{}]", render_changes(&[], PLAIN)));
    let huge: Vec<Change> = (1..=40)
        .map(|i| Change::TextAdded {
            block: i,
            text: format!(
                "Paragraph {i}: {}",
                "lorem ipsum dolor sit amet ".repeat(30)
            ),
        })
        .collect();
    let out = render_changes(&huge, PLAIN);
    // Every block is listed; each long one is cut in the terminal (the
    // archive and JSON keep it whole).
    assert_eq!(out.lines().count(), 40);
    insta::assert_snapshot!(
        "huge_first_lines",
        out.lines().take(3).collect::<Vec<_>>().join("\n")
    );
}

fn alert(changes: Vec<Change>) -> Alert {
    Alert {
        schema_version: 1,
        idempotency_key: "redline-0123456789abcdef".into(),
        watch: "car-support".into(),
        url: "https://2009-2017.state.gov/r/pa/prs/ps/2013/12/218349.htm".into(),
        checked_at: "2026-11-29T10:00:00.000Z".into(),
        version: Some(2),
        previous_version: Some(1),
        summary: redline::summary::summarize(&changes),
        significance: Some("major".into()),
        diff: render::unified_diff("car-support", &changes),
        changes,
    }
}

#[test]
fn email_and_chat() {
    let a = alert(edits());
    insta::assert_snapshot!(
        "email_subject",
        render::email_subject(std::slice::from_ref(&a))
    );
    insta::assert_snapshot!("email_text", render::email_text(std::slice::from_ref(&a)));
    insta::assert_snapshot!("email_html", render::email_html(std::slice::from_ref(&a)));
    insta::assert_snapshot!(
        "slack",
        render::webhook_body(
            redline::notify::WebhookFormat::Slack,
            std::slice::from_ref(&a)
        )
    );
}

#[test]
fn html_report() {
    let row = ReportRow {
        id: 1,
        watch: "car-support".into(),
        url: "https://2009-2017.state.gov/r/pa/prs/ps/2013/12/218349.htm".into(),
        created_at: "2026-11-29T10:00:00.000Z".into(),
        version: Some(2),
        summary: redline::summary::summarize(&edits()),
        significance: Some("major".into()),
        changes: edits(),
    };
    insta::assert_snapshot!("html_report", report_page(&[row], "redline: changes"));
}
