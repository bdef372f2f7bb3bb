//! `Page` × `Page` → typed changes. Pure: no I/O.
//!
//! Blocks are aligned first (patience diff over whole blocks, with a
//! deadline), then the blocks of each changed hunk are paired by word
//! overlap, so that one edited sentence is one `text_edited` rather than a
//! removal plus an addition. Word-level refinement is left to the renderers,
//! which only ever diff two single blocks.

use crate::model::{Change, Page, ReaderResponse, ResponseKind};
use similar::{Algorithm, DiffOp, capture_diff_deadline};
use std::collections::HashMap;
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// How long block alignment may take before similar falls back to a coarser
/// (still correct) diff.
const ALIGN_DEADLINE: Duration = Duration::from_millis(500);

/// Two blocks with at least this word overlap (Dice coefficient) are the
/// same block, edited.
const EDIT_SIMILARITY: f64 = 0.5;

/// Largest hunk (old blocks × new blocks) paired optimally; bigger hunks
/// are paired in order, which is linear.
const PAIRING_CELLS: usize = 10_000;

/// The changes that turn `old` into `new` (title, content, blocks).
pub fn compare(old: &Page, new: &Page) -> Vec<Change> {
    let mut changes = Vec::new();
    if old.title != new.title {
        changes.push(Change::TitleChanged {
            before: old.title.clone(),
            after: new.title.clone(),
        });
    }
    if (old.body_sha256.is_some() || new.body_sha256.is_some())
        && old.body_sha256 != new.body_sha256
    {
        changes.push(Change::ContentChanged {
            mime: new.mime.clone(),
            before_sha256: old.body_sha256.clone(),
            after_sha256: new.body_sha256.clone(),
            before_size: old.body_size,
            after_size: new.body_size,
        });
    }
    let old_texts: Vec<&str> = old.blocks.iter().map(|b| b.text.as_str()).collect();
    let new_texts: Vec<&str> = new.blocks.iter().map(|b| b.text.as_str()).collect();
    changes.extend(compare_blocks(&old_texts, &new_texts));
    changes.extend(compare_responses(&old.responses, &new.responses));
    // Feeds: new entries only (old ones fall off the end of every feed).
    let seen: HashSet<&str> = old.entries.iter().map(|e| e.id.as_str()).collect();
    changes.extend(
        new.entries
            .iter()
            .filter(|e| !seen.contains(e.id.as_str()))
            .map(|e| Change::EntryAdded(e.clone())),
    );
    changes
}

/// Reader responses matched by id (falling back to identical content), so
/// that reordering or re-threading a list is not a change.
pub fn compare_responses(old: &[ReaderResponse], new: &[ReaderResponse]) -> Vec<Change> {
    let old_by_id: HashMap<&str, &ReaderResponse> =
        old.iter().map(|r| (r.id.as_str(), r)).collect();
    let new_ids: HashSet<&str> = new.iter().map(|r| r.id.as_str()).collect();
    let same_content = |a: &ReaderResponse, b: &ReaderResponse| {
        a.kind == b.kind && a.text == b.text && a.author == b.author
    };
    // Old items whose id vanished, available for a content match.
    let mut orphans: Vec<&ReaderResponse> = old
        .iter()
        .filter(|r| !new_ids.contains(r.id.as_str()))
        .collect();
    let mut out = Vec::new();
    for r in new {
        match old_by_id.get(r.id.as_str()) {
            Some(o) if o.kind == r.kind => {
                if o.text != r.text {
                    out.push(Change::CommentEdited {
                        item: r.clone(),
                        before: o.text.clone(),
                    });
                }
            }
            _ => {
                if let Some(pos) = orphans.iter().position(|o| same_content(o, r)) {
                    orphans.remove(pos);
                    continue;
                }
                out.push(match r.kind {
                    ResponseKind::Comment => Change::CommentAdded(r.clone()),
                    ResponseKind::Pingback => Change::PingbackAdded(r.clone()),
                    ResponseKind::Trackback => Change::TrackbackAdded(r.clone()),
                });
            }
        }
    }
    // Items whose id is still there under another kind count as removed too.
    let retyped = old
        .iter()
        .filter(|o| new.iter().any(|r| r.id == o.id && r.kind != o.kind));
    for o in orphans.into_iter().chain(retyped) {
        out.push(match o.kind {
            ResponseKind::Comment => Change::CommentRemoved(o.clone()),
            ResponseKind::Pingback => Change::PingbackRemoved(o.clone()),
            ResponseKind::Trackback => Change::TrackbackRemoved(o.clone()),
        });
    }
    out
}

/// Rebuild the new list of block texts from the old one and the text
/// changes reported between them (what makes a report a faithful record of
/// the edit). `None` when the changes do not fit `old`.
pub fn apply_text_changes(old: &[&str], new_len: usize, changes: &[Change]) -> Option<Vec<String>> {
    let mut slots: Vec<Option<String>> = vec![None; new_len];
    let mut consumed = vec![false; old.len()];
    for c in changes {
        match c {
            Change::TextAdded { block, text } => {
                *slots.get_mut(block.checked_sub(1)?)? = Some(text.clone());
            }
            Change::TextEdited {
                block,
                old_block,
                before,
                after,
            } => {
                let i = old_block.checked_sub(1)?;
                if old.get(i)? != before {
                    return None;
                }
                *consumed.get_mut(i)? = true;
                *slots.get_mut(block.checked_sub(1)?)? = Some(after.clone());
            }
            Change::TextRemoved { block, text } => {
                let i = block.checked_sub(1)?;
                if old.get(i)? != text {
                    return None;
                }
                *consumed.get_mut(i)? = true;
            }
            _ => return None,
        }
    }
    let mut kept = old
        .iter()
        .zip(consumed)
        .filter(|(_, c)| !c)
        .map(|(t, _)| t.to_string());
    Some(
        slots
            .into_iter()
            .map(|s| s.or_else(|| kept.next()).unwrap_or_default())
            .collect(),
    )
}

/// Block-level changes between two lists of block texts.
pub fn compare_blocks(old: &[&str], new: &[&str]) -> Vec<Change> {
    let deadline = Instant::now() + ALIGN_DEADLINE;
    // Only the stretch between the common beginning and end is aligned:
    // most edits touch a few blocks of hundreds.
    let head = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let tail = old[head..]
        .iter()
        .rev()
        .zip(new[head..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let ops = capture_diff_deadline(
        Algorithm::Patience,
        old,
        head..old.len() - tail,
        new,
        head..new.len() - tail,
        Some(deadline),
    );
    let mut out = Vec::new();
    for op in ops {
        match op {
            DiffOp::Equal { .. } => {}
            DiffOp::Delete {
                old_index, old_len, ..
            } => removed(&mut out, old, old_index..old_index + old_len),
            DiffOp::Insert {
                new_index, new_len, ..
            } => added(&mut out, new, new_index..new_index + new_len),
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => replaced(
                &mut out,
                old,
                old_index..old_index + old_len,
                new,
                new_index..new_index + new_len,
            ),
        }
    }
    out
}

fn removed(out: &mut Vec<Change>, old: &[&str], range: std::ops::Range<usize>) {
    for i in range {
        out.push(Change::TextRemoved {
            block: i + 1,
            text: old[i].to_string(),
        });
    }
}

fn added(out: &mut Vec<Change>, new: &[&str], range: std::ops::Range<usize>) {
    for j in range {
        out.push(Change::TextAdded {
            block: j + 1,
            text: new[j].to_string(),
        });
    }
}

/// A hunk where blocks `old[o]` were replaced by `new[n]`: pair the blocks
/// that are edits of each other, keeping order, and report the rest as
/// removed or added.
fn replaced(
    out: &mut Vec<Change>,
    old: &[&str],
    o: std::ops::Range<usize>,
    new: &[&str],
    n: std::ops::Range<usize>,
) {
    let old_words: Vec<WordBag> = o.clone().map(|i| WordBag::new(old[i])).collect();
    let new_words: Vec<WordBag> = n.clone().map(|j| WordBag::new(new[j])).collect();
    let pairs = if old_words.len() * new_words.len() <= PAIRING_CELLS {
        best_pairs(&old_words, &new_words)
    } else {
        in_order_pairs(&old_words, &new_words)
    };
    // Walk both sides in order, emitting unpaired blocks before each pair.
    let (mut i, mut j) = (0, 0);
    for (pi, pj) in pairs
        .into_iter()
        .chain(std::iter::once((old_words.len(), new_words.len())))
    {
        removed(out, old, o.start + i..o.start + pi);
        added(out, new, n.start + j..n.start + pj);
        if pi < old_words.len() && pj < new_words.len() {
            out.push(Change::TextEdited {
                block: n.start + pj + 1,
                old_block: o.start + pi + 1,
                before: old[o.start + pi].to_string(),
                after: new[n.start + pj].to_string(),
            });
        }
        i = pi + 1;
        j = pj + 1;
    }
}

/// A block's words as a multiset, for overlap scoring.
struct WordBag<'a> {
    counts: HashMap<&'a str, u32>,
    total: u32,
}

impl<'a> WordBag<'a> {
    fn new(text: &'a str) -> Self {
        let mut counts = HashMap::new();
        let mut total = 0;
        for w in text.split_whitespace() {
            *counts.entry(w).or_insert(0) += 1;
            total += 1;
        }
        WordBag { counts, total }
    }

    /// Dice coefficient of the two word multisets, in 0..=1.
    fn similarity(&self, other: &WordBag) -> f64 {
        if self.total + other.total == 0 {
            return 1.0;
        }
        let (small, large) = if self.counts.len() <= other.counts.len() {
            (self, other)
        } else {
            (other, self)
        };
        let common: u32 = small
            .counts
            .iter()
            .map(|(w, c)| (*c).min(large.counts.get(w).copied().unwrap_or(0)))
            .sum();
        2.0 * f64::from(common) / f64::from(self.total + other.total)
    }
}

/// The order-preserving pairing with the greatest total similarity, over
/// pairs at least `EDIT_SIMILARITY` alike (dynamic programming).
fn best_pairs(old: &[WordBag], new: &[WordBag]) -> Vec<(usize, usize)> {
    let (m, k) = (old.len(), new.len());
    let w = k + 1;
    let mut score = vec![0.0f64; (m + 1) * w];
    for i in (0..m).rev() {
        for j in (0..k).rev() {
            let skip = score[(i + 1) * w + j].max(score[i * w + j + 1]);
            let s = old[i].similarity(&new[j]);
            let take = if s >= EDIT_SIMILARITY {
                s + score[(i + 1) * w + j + 1]
            } else {
                0.0
            };
            score[i * w + j] = skip.max(take);
        }
    }
    let mut pairs = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < m && j < k {
        let s = old[i].similarity(&new[j]);
        if s >= EDIT_SIMILARITY && score[i * w + j] == s + score[(i + 1) * w + j + 1] {
            pairs.push((i, j));
            i += 1;
            j += 1;
        } else if score[i * w + j] == score[(i + 1) * w + j] {
            i += 1;
        } else {
            j += 1;
        }
    }
    pairs
}

/// Linear fallback for huge hunks: pair blocks position by position while
/// they are alike.
fn in_order_pairs(old: &[WordBag], new: &[WordBag]) -> Vec<(usize, usize)> {
    (0..old.len().min(new.len()))
        .filter(|&i| old[i].similarity(&new[i]) >= EDIT_SIMILARITY)
        .map(|i| (i, i))
        .collect()
}

#[cfg(test)]
mod tests;
