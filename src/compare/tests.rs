use super::*;
use crate::model::{Block, BlockKind};
use proptest::prelude::*;

fn page(blocks: &[&str]) -> Page {
    Page {
        title: Some("T".into()),
        blocks: blocks
            .iter()
            .map(|t| Block::new(BlockKind::Paragraph, *t))
            .collect(),
        mime: "text/html".into(),
        ..Page::default()
    }
}

const P1: &str =
    "The United States is providing $40 million to support the African-led peacekeeping mission.";
const P1B: &str =
    "The United States is providing $60 million to support the African-led peacekeeping mission.";

#[test]
fn identical_pages_have_no_changes() {
    let p = page(&["a b", "c d", "a b"]);
    assert!(compare(&p, &p).is_empty());
}

#[test]
fn one_edited_sentence_is_one_text_edited() {
    let old = page(&["Intro.", P1, "Closing."]);
    let new = page(&["Intro.", P1B, "Closing."]);
    assert_eq!(
        compare(&old, &new),
        vec![Change::TextEdited {
            block: 2,
            old_block: 2,
            before: P1.into(),
            after: P1B.into()
        }]
    );
}

#[test]
fn added_and_removed_paragraphs() {
    let old = page(&["one", "two", "three"]);
    let new = page(&["one", "three", "four is new"]);
    assert_eq!(
        compare(&old, &new),
        vec![
            Change::TextRemoved {
                block: 2,
                text: "two".into()
            },
            Change::TextAdded {
                block: 3,
                text: "four is new".into()
            },
        ]
    );
}

#[test]
fn repeated_identical_paragraphs_do_not_confuse_alignment() {
    let old = page(&[
        "Read more",
        "First story text here.",
        "Read more",
        P1,
        "Read more",
        "Last.",
    ]);
    let new = page(&[
        "Read more",
        "First story text here.",
        "Read more",
        P1B,
        "Read more",
        "Last.",
    ]);
    assert_eq!(
        compare(&old, &new),
        vec![Change::TextEdited {
            block: 4,
            old_block: 4,
            before: P1.into(),
            after: P1B.into()
        }]
    );
    // A repeated paragraph inserted next to its twin is one addition (of
    // either twin: both readings are right).
    let new2 = page(&[
        "Read more",
        "First story text here.",
        "Read more",
        "Read more",
        P1,
        "Read more",
        "Last.",
    ]);
    let changes = compare(&old, &new2);
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert!(
        matches!(&changes[0], Change::TextAdded { block: 3 | 4, text } if text == "Read more"),
        "{changes:?}"
    );
}

#[test]
fn replaced_hunk_pairs_edits_and_reports_the_rest() {
    let old = page(&[
        "keep",
        "alpha beta gamma delta",
        "totally unrelated words here",
        "end",
    ]);
    let new = page(&[
        "keep",
        "brand new paragraph entirely",
        "alpha beta gamma epsilon",
        "end",
    ]);
    assert_eq!(
        compare(&old, &new),
        vec![
            Change::TextAdded {
                block: 2,
                text: "brand new paragraph entirely".into()
            },
            Change::TextEdited {
                block: 3,
                old_block: 2,
                before: "alpha beta gamma delta".into(),
                after: "alpha beta gamma epsilon".into()
            },
            Change::TextRemoved {
                block: 3,
                text: "totally unrelated words here".into()
            },
        ]
    );
}

#[test]
fn title_and_opaque_content() {
    let mut old = page(&[]);
    let mut new = page(&[]);
    new.title = Some("New".into());
    assert_eq!(
        compare(&old, &new),
        vec![Change::TitleChanged {
            before: Some("T".into()),
            after: Some("New".into())
        }]
    );
    old.title = new.title.clone();
    old.body_sha256 = Some("aa".into());
    old.body_size = 3;
    new.body_sha256 = Some("bb".into());
    new.body_size = 4;
    new.mime = "application/pdf".into();
    assert_eq!(
        compare(&old, &new),
        vec![Change::ContentChanged {
            mime: "application/pdf".into(),
            before_sha256: Some("aa".into()),
            after_sha256: Some("bb".into()),
            before_size: 3,
            after_size: 4
        }]
    );
}

#[test]
fn total_rewrite_of_a_large_page_is_bounded() {
    let old: Vec<String> = (0..5000)
        .map(|i| format!("old paragraph number {i} with words"))
        .collect();
    let new: Vec<String> = (0..5000)
        .map(|i| format!("fresh text {i} entirely different"))
        .collect();
    let o: Vec<&str> = old.iter().map(String::as_str).collect();
    let n: Vec<&str> = new.iter().map(String::as_str).collect();
    let changes = compare_blocks(&o, &n);
    // Every old block is accounted for as removed or edited, every new one
    // as added or edited.
    let removed = changes
        .iter()
        .filter(|c| matches!(c, Change::TextRemoved { .. }))
        .count();
    let added = changes
        .iter()
        .filter(|c| matches!(c, Change::TextAdded { .. }))
        .count();
    let edited = changes
        .iter()
        .filter(|c| matches!(c, Change::TextEdited { .. }))
        .count();
    assert_eq!(removed + edited, 5000);
    assert_eq!(added + edited, 5000);
}

/// Rebuild the new block list from the old one and the reported changes.
fn apply(old: &[&str], new_len: usize, changes: &[Change]) -> Vec<String> {
    apply_text_changes(old, new_len, changes).expect("the changes fit the old text")
}

fn block_list() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(
        prop_oneof![
            Just("Read more".to_string()),
            Just("alpha beta gamma".to_string()),
            Just("alpha beta delta".to_string()),
            "[a-c]{1,3}( [a-c]{1,3}){0,4}",
        ],
        0..25,
    )
}

proptest! {
    #[test]
    fn compare_with_itself_is_empty(blocks in block_list()) {
        let refs: Vec<&str> = blocks.iter().map(String::as_str).collect();
        let p = page(&refs);
        prop_assert!(compare(&p, &p).is_empty());
    }

    #[test]
    fn applying_changes_reconstructs_the_new_text(old in block_list(), new in block_list()) {
        let o: Vec<&str> = old.iter().map(String::as_str).collect();
        let n: Vec<&str> = new.iter().map(String::as_str).collect();
        let changes = compare_blocks(&o, &n);
        prop_assert_eq!(apply(&o, n.len(), &changes), new);
    }
}
