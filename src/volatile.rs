//! Visible text that changes on its own (timestamps, counters, "generated
//! at", rotating promos), learned per watch from two back-to-back fetches
//! and kept out of comparisons. Pure.

use crate::compare::compare_blocks;
use crate::model::{Block, Change, Page};
use serde::{Deserialize, Serialize};

/// How a volatile block is recognised.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "match", rename_all = "snake_case")]
pub enum VolatileRule {
    /// A block that starts with `prefix` and ends with `suffix` (whole
    /// words), e.g. "Generated at" …
    Pattern { prefix: String, suffix: String },
    /// This exact block (a rotating promo seen in one fetch only).
    Exact { text: String },
    /// The block right after the block whose text is `anchor` (a slot
    /// whose content rotates entirely).
    After { anchor: String },
}

/// A pattern must cover at least this share of a block's words, so that a
/// common opening word ("The") never makes real paragraphs volatile.
const MIN_PATTERN_SHARE: f64 = 0.3;

impl VolatileRule {
    /// Whether `block` (at `index` in `blocks`) is volatile under this rule.
    fn matches(&self, blocks: &[Block], index: usize) -> bool {
        let text = blocks[index].text.as_str();
        match self {
            VolatileRule::Pattern { prefix, suffix } => {
                let words: Vec<&str> = text.split(' ').collect();
                let p: Vec<&str> = prefix.split(' ').filter(|w| !w.is_empty()).collect();
                let s: Vec<&str> = suffix.split(' ').filter(|w| !w.is_empty()).collect();
                words.len() > p.len() + s.len() && words.starts_with(&p) && words.ends_with(&s)
            }
            VolatileRule::Exact { text: t } => t == text,
            VolatileRule::After { anchor } => index > 0 && blocks[index - 1].text == *anchor,
        }
    }

    /// Whether a block whose whole text is `text` is volatile under this
    /// rule, where that can be told from the text alone (not for `After`).
    pub fn matches_text(&self, text: &str) -> bool {
        match self {
            VolatileRule::After { .. } => false,
            _ => self.matches(&[Block::new(crate::model::BlockKind::Paragraph, text)], 0),
        }
    }

    /// How the rule reads for people.
    pub fn describe(&self) -> String {
        match self {
            VolatileRule::Pattern { prefix, suffix } if suffix.is_empty() => {
                format!("blocks starting “{prefix} …”")
            }
            VolatileRule::Pattern { prefix, suffix } if prefix.is_empty() => {
                format!("blocks ending “… {suffix}”")
            }
            VolatileRule::Pattern { prefix, suffix } => {
                format!("blocks like “{prefix} … {suffix}”")
            }
            VolatileRule::Exact { text } => format!("the block “{text}”"),
            VolatileRule::After { anchor } => format!("the block after “{anchor}”"),
        }
    }
}

/// A copy of `page` without its volatile blocks.
pub fn strip(page: &Page, rules: &[VolatileRule]) -> Page {
    if rules.is_empty() {
        return page.clone();
    }
    let blocks = &page.blocks;
    let kept = (0..blocks.len())
        .filter(|&i| !rules.iter().any(|r| r.matches(blocks, i)))
        .map(|i| blocks[i].clone())
        .collect();
    Page {
        blocks: kept,
        ..page.clone()
    }
}

fn common_prefix<'a>(a: &[&'a str], b: &[&str]) -> Vec<&'a str> {
    a.iter()
        .zip(b)
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| *x)
        .collect()
}

/// The rules that explain the differences between two fetches made moments
/// apart (which can only be noise).
pub fn learn(first: &Page, second: &Page) -> Vec<VolatileRule> {
    let a: Vec<&str> = first.blocks.iter().map(|b| b.text.as_str()).collect();
    let b: Vec<&str> = second.blocks.iter().map(|b| b.text.as_str()).collect();
    let mut rules = Vec::new();
    let changes = compare_blocks(&a, &b);
    // Predecessors of removed blocks: a block removed and another added
    // after the same predecessor is one slot whose content rotates.
    let removed_after: Vec<Option<&str>> = changes
        .iter()
        .filter_map(|c| match c {
            Change::TextRemoved { block, .. } => {
                Some(if *block > 1 { Some(a[block - 2]) } else { None })
            }
            _ => None,
        })
        .collect();
    for change in changes.clone() {
        let rule = match change {
            Change::TextEdited {
                block,
                before,
                after,
                ..
            } => {
                let bw: Vec<&str> = before.split(' ').collect();
                let aw: Vec<&str> = after.split(' ').collect();
                let prefix = common_prefix(&bw, &aw);
                let rest_b: Vec<&str> = bw[prefix.len()..].iter().rev().copied().collect();
                let rest_a: Vec<&str> = aw[prefix.len()..].iter().rev().copied().collect();
                let mut suffix = common_prefix(&rest_b, &rest_a);
                suffix.reverse();
                let covered = (prefix.len() + suffix.len()) as f64 / bw.len().max(aw.len()) as f64;
                if !prefix.is_empty() || !suffix.is_empty() {
                    if covered >= MIN_PATTERN_SHARE {
                        Some(VolatileRule::Pattern {
                            prefix: prefix.join(" "),
                            suffix: suffix.join(" "),
                        })
                    } else {
                        anchor(&b, block - 1)
                    }
                } else {
                    anchor(&b, block - 1)
                }
            }
            Change::TextAdded { block, text } => {
                let pred = if block > 1 { Some(b[block - 2]) } else { None };
                match pred {
                    Some(p) if removed_after.contains(&Some(p)) => anchor(&b, block - 1),
                    _ => Some(VolatileRule::Exact { text }),
                }
            }
            Change::TextRemoved { block, text } => {
                let pred = if block > 1 { Some(a[block - 2]) } else { None };
                let slot = pred.is_some()
                    && changes.iter().any(|c| matches!(c, Change::TextAdded { block: nb, .. } if *nb > 1 && Some(b[nb - 2]) == pred));
                if slot {
                    None
                } else {
                    Some(VolatileRule::Exact { text })
                }
            }
            _ => None,
        };
        if let Some(r) = rule
            && !rules.contains(&r)
        {
            rules.push(r);
        }
    }
    rules
}

/// A rule for the slot at `index`: the block after its predecessor, or an
/// exact rule when it has none.
fn anchor(blocks: &[&str], index: usize) -> Option<VolatileRule> {
    if index > 0 {
        Some(VolatileRule::After {
            anchor: blocks[index - 1].to_string(),
        })
    } else {
        blocks.get(index).map(|t| VolatileRule::Exact {
            text: t.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::BlockKind;

    fn page(blocks: &[&str]) -> Page {
        Page {
            blocks: blocks
                .iter()
                .map(|t| Block::new(BlockKind::Paragraph, *t))
                .collect(),
            ..Page::default()
        }
    }

    #[test]
    fn timestamps_and_counters_become_patterns() {
        let a = page(&[
            "Intro text here.",
            "Page generated at 10:31:02 UTC",
            "Visitors today: 1,234",
            "Body.",
        ]);
        let b = page(&[
            "Intro text here.",
            "Page generated at 10:31:04 UTC",
            "Visitors today: 1,236",
            "Body.",
        ]);
        let rules = learn(&a, &b);
        assert_eq!(
            rules,
            vec![
                VolatileRule::Pattern {
                    prefix: "Page generated at".into(),
                    suffix: "UTC".into()
                },
                VolatileRule::Pattern {
                    prefix: "Visitors today:".into(),
                    suffix: "".into()
                },
            ]
        );
        let later = page(&[
            "Intro text here.",
            "Page generated at 11:00:00 UTC",
            "Visitors today: 2,000",
            "Body.",
            "New para.",
        ]);
        assert_eq!(
            strip(&later, &rules)
                .blocks
                .iter()
                .map(|b| b.text.as_str())
                .collect::<Vec<_>>(),
            vec!["Intro text here.", "Body.", "New para."]
        );
    }

    #[test]
    fn a_rotating_slot_is_anchored_and_a_common_word_is_not_a_pattern() {
        let a = page(&[
            "Featured",
            "The quick brown fox jumps over the lazy dog today",
            "Body.",
        ]);
        let b = page(&[
            "Featured",
            "The markets rallied on news of a ceasefire in the region",
            "Body.",
        ]);
        let rules = learn(&a, &b);
        assert_eq!(
            rules,
            vec![VolatileRule::After {
                anchor: "Featured".into()
            }]
        );
        // A real paragraph starting with "The" elsewhere is untouched.
        let p = page(&["Body.", "The United States is providing $60 million."]);
        assert_eq!(strip(&p, &rules).blocks.len(), 2);
    }

    #[test]
    fn identical_fetches_learn_nothing_and_describe_reads_well() {
        let a = page(&["x", "y"]);
        assert!(learn(&a, &a).is_empty());
        assert_eq!(
            VolatileRule::Pattern {
                prefix: "Generated at".into(),
                suffix: "".into()
            }
            .describe(),
            "blocks starting “Generated at …”"
        );
        let r = learn(&page(&["a", "Promo one"]), &page(&["a"]));
        assert_eq!(
            r,
            vec![VolatileRule::Exact {
                text: "Promo one".into()
            }]
        );
    }
}
