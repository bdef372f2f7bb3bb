//! Visible text of an HTML document as a list of blocks.
//!
//! The walk is iterative (no recursion), so deeply nested markup cannot
//! overflow the stack.

use super::Rules;
use super::text::normalize;
use crate::model::{Block, BlockKind};
use ego_tree::NodeId;
use ego_tree::iter::Edge;
use scraper::{ElementRef, Html, Node, Selector};
use std::collections::HashSet;

/// Elements whose content is never visible text.
fn is_invisible_element(name: &str) -> bool {
    matches!(
        name,
        "script"
            | "style"
            | "template"
            | "noscript"
            | "head"
            | "meta"
            | "link"
            | "iframe"
            | "object"
            | "embed"
            | "svg"
            | "math"
            | "canvas"
            | "select"
            | "textarea"
            | "button"
            | "input"
            | "audio"
            | "video"
    )
}

/// The kind of block an element starts, or `None` for inline elements.
fn block_kind(name: &str) -> Option<BlockKind> {
    Some(match name {
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => BlockKind::Heading,
        "li" | "dt" | "dd" => BlockKind::ListItem,
        "tr" => BlockKind::TableRow,
        "pre" => BlockKind::Preformatted,
        "p" | "div" | "section" | "article" | "main" | "header" | "footer" | "nav" | "aside"
        | "ul" | "ol" | "dl" | "table" | "thead" | "tbody" | "tfoot" | "caption" | "blockquote"
        | "figure" | "figcaption" | "form" | "fieldset" | "legend" | "address" | "hr" | "br"
        | "details" | "summary" | "center" | "body" | "html" | "hgroup" | "menu" => {
            BlockKind::Paragraph
        }
        _ => return None,
    })
}

/// Hidden by the author: the `hidden` attribute, `aria-hidden`, or an
/// inline style that hides it.
fn is_hidden(el: &scraper::node::Element) -> bool {
    if el.attr("hidden").is_some() || el.attr("aria-hidden") == Some("true") {
        return true;
    }
    if el.name() == "input" {
        return true;
    }
    el.attr("style").is_some_and(|style| {
        let s: String = style
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        s.contains("display:none") || s.contains("visibility:hidden")
    })
}

struct Walker {
    blocks: Vec<Block>,
    buf: String,
    /// Kinds of the open block elements, innermost last.
    kinds: Vec<BlockKind>,
    /// How many table rows are open: inside a row, cells are joined on one
    /// line and nested blocks do not split it.
    row_depth: usize,
    /// Whether the current row already has a cell.
    row_has_cell: bool,
}

impl Walker {
    fn kind(&self) -> BlockKind {
        self.kinds.last().copied().unwrap_or(BlockKind::Paragraph)
    }

    fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let kind = self.kind();
        if kind == BlockKind::Preformatted {
            for line in self.buf.lines() {
                let t = normalize(line);
                if !t.is_empty() {
                    self.blocks.push(Block::new(kind, t));
                }
            }
        } else {
            let t = normalize(&self.buf);
            if !t.is_empty() {
                self.blocks.push(Block::new(kind, t));
            }
        }
        self.buf.clear();
    }

    fn open(&mut self, name: &str) {
        if self.row_depth > 0 {
            match name {
                "tr" => self.row_depth += 1,
                "td" | "th" => {
                    if self.row_has_cell {
                        self.buf.push_str(" | ");
                    }
                    self.row_has_cell = true;
                }
                _ if block_kind(name).is_some() => self.buf.push(' '),
                _ => {}
            }
            return;
        }
        let Some(kind) = block_kind(name) else {
            return;
        };
        self.flush();
        if name == "tr" {
            self.row_depth = 1;
            self.row_has_cell = false;
        }
        if name != "br" && name != "hr" {
            self.kinds.push(kind);
        }
    }

    fn close(&mut self, name: &str) {
        if self.row_depth > 0 {
            if name == "tr" {
                self.row_depth -= 1;
                if self.row_depth == 0 {
                    self.flush();
                    self.kinds.pop();
                }
            } else if block_kind(name).is_some() {
                self.buf.push(' ');
            }
            return;
        }
        if block_kind(name).is_some() && name != "br" && name != "hr" {
            self.flush();
            self.kinds.pop();
        }
    }
}

fn matching_ids(doc: &Html, selectors: &[Selector]) -> HashSet<NodeId> {
    selectors
        .iter()
        .flat_map(|s| doc.select(s).map(|e| e.id()))
        .collect()
}

/// Title and visible text blocks of an HTML document.
pub fn extract_html(src: &str, rules: &Rules) -> (Option<String>, Vec<Block>) {
    let doc = Html::parse_document(src);
    let title = title(&doc);
    let ignored = matching_ids(&doc, &rules.ignore);

    let roots: Vec<ElementRef> = if rules.select.is_empty() {
        vec![doc.root_element()]
    } else {
        let selected = matching_ids(&doc, &rules.select);
        // Document order, and a selected element inside another selected
        // one is already covered by its ancestor.
        doc.root_element()
            .descendent_elements()
            .filter(|e| selected.contains(&e.id()))
            .filter(|e| !e.ancestors().any(|a| selected.contains(&a.id())))
            .collect()
    };

    let mut w = Walker {
        blocks: Vec::new(),
        buf: String::new(),
        kinds: Vec::new(),
        row_depth: 0,
        row_has_cell: false,
    };
    for root in roots {
        walk(*root, &ignored, &mut w);
        w.flush();
        w.kinds.clear();
        w.row_depth = 0;
    }
    (title, w.blocks)
}

fn walk(root: ego_tree::NodeRef<'_, Node>, ignored: &HashSet<NodeId>, w: &mut Walker) {
    // While `skipping` is set, everything up to the close of that node is
    // invisible or ignored.
    let mut skipping: Option<NodeId> = None;
    for edge in root.traverse() {
        match edge {
            Edge::Open(node) => {
                if skipping.is_some() {
                    continue;
                }
                match node.value() {
                    Node::Text(t) => w.buf.push_str(t),
                    Node::Element(el) => {
                        let name = el.name();
                        if is_invisible_element(name)
                            || is_hidden(el)
                            || ignored.contains(&node.id())
                        {
                            skipping = Some(node.id());
                        } else {
                            w.open(name);
                        }
                    }
                    _ => {}
                }
            }
            Edge::Close(node) => {
                if let Some(id) = skipping {
                    if id == node.id() {
                        skipping = None;
                    }
                    continue;
                }
                if let Node::Element(el) = node.value() {
                    w.close(el.name());
                }
            }
        }
    }
}

fn title(doc: &Html) -> Option<String> {
    let sel = Selector::parse("title").ok()?;
    let t = doc.select(&sel).next()?;
    let text = normalize(&t.text().collect::<String>());
    (!text.is_empty()).then_some(text)
}
