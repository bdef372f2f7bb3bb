//! Visible text of an HTML document as a list of blocks.
//!
//! The walk is iterative (no recursion), so deeply nested markup cannot
//! overflow the stack.

use super::NodeSet;
use super::Rules;
use super::attr;
use super::text::normalize;
use crate::model::{Block, BlockKind, ReaderResponse};
use ego_tree::NodeId;
use ego_tree::iter::Edge;
use regex::Regex;
use scraper::{ElementRef, Html, Node, Selector};
use std::sync::LazyLock;

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

/// Whether an element starts a block of its own.
pub(super) fn is_block(name: &str) -> bool {
    block_kind(name).is_some()
}

/// The response area's furniture: never part of the main text, whether or
/// not the page has responses yet (so the first comment does not make
/// "Leave a Reply" disappear from the text). Elements with one of these
/// ids ...
const COMMENT_AREA_IDS: &[&str] = &["comments", "respond", "commentform", "disqus_thread"];
/// ... or one of these classes (both compared exactly, as CSS selectors
/// do in a document that is not in quirks mode).
const COMMENT_AREA_CLASSES: &[&str] = &[
    "comments-area",
    "comment-respond",
    "comment-form",
    "comments-title",
    "comment-reply-title",
    "commentlist",
    "comment-list",
    "ping-list",
    "pinglist",
    "trackback-list",
    "wp-block-comments",
    "wp-block-post-comments",
    "wp-block-comment-template",
    "wp-block-post-comments-form",
    "nocomments",
    "no-comments",
];

/// Whether an element is response-area furniture: what the selector list
/// `#comments, .comments-area, …` matches, in one look at its id and
/// classes rather than twenty selector matches.
fn comment_area(e: &scraper::node::Element) -> bool {
    e.id().is_some_and(|id| COMMENT_AREA_IDS.contains(&id))
        || e.classes().any(|c| COMMENT_AREA_CLASSES.contains(&c))
}

fn re(s: &str) -> Regex {
    Regex::new(s).unwrap_or_else(|e| unreachable!("static regex {s}: {e}"))
}

const COUNT_WORD: &str =
    r"(\d+|no|one|two|three|four|five|six|seven|eight|nine|ten|ein|eine|zwei|drei|keine)";
const RESPONSE_WORD: &str = r"(responses?|comments?|thoughts?|replies|reply|reactions?|pingbacks?|trackbacks?|kommentare?|antworten|gedanken|reaktionen|comentarios?|respuestas?|commentaires?|réponses?|commenti)";

/// A count inside a short meta line: "Posted in Africa | 3 Comments".
/// A block it starts is only a response count or heading: "One response
/// to “Post”", "2 Comments", "12 thoughts on …".
static INLINE_COUNT: LazyLock<Regex> =
    LazyLock::new(|| re(&format!(r"(?i)\b{COUNT_WORD}\s+{RESPONSE_WORD}\b")));
/// Calls to respond, login prompts and closed notices.
static RESPOND_BLOCK: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^(leave a (reply|comment|response)|post a comment|add a comment|join the discussion|cancel reply|comments are (closed|disabled)\.?|you must be logged in to post a comment\.?|log in to (reply|comment)|logged in as .{1,80}\. log out\??|schreibe einen kommentar|kommentar (verfassen|schreiben)|hinterlasse einen kommentar|kommentare sind geschlossen\.?|deja un comentario|laisser un commentaire)$",
    )
});

/// The most characters [`RESPOND_BLOCK`] matches ("logged in as " with
/// 80 more, ". log out?").
const RESPOND_MAX_CHARS: usize = 103;

/// Drop the response area's own furniture from main-text blocks.
fn drop_furniture(blocks: &mut Vec<Block>) {
    // At most `n` characters (no more bytes than that is quicker to see).
    let at_most = |t: &str, n: usize| t.len() <= n || t.chars().count() <= n;
    blocks.retain_mut(|b| {
        if !at_most(&b.text, 200) {
            return true;
        }
        // One search answers both: a block is only a count when the first
        // count in it starts it (a count begins with a word character, so
        // `\b` holds at the start).
        let count = INLINE_COUNT.find(&b.text);
        if count.is_some_and(|m| m.start() == 0)
            || (at_most(&b.text, RESPOND_MAX_CHARS) && RESPOND_BLOCK.is_match(&b.text))
        {
            return false;
        }
        if count.is_some() {
            b.text = normalize(&INLINE_COUNT.replace_all(&b.text, "$2"));
        }
        true
    });
}

/// Hidden by the author: the `hidden` attribute, `aria-hidden`, or an
/// inline style that hides it.
fn is_hidden(el: &scraper::node::Element) -> bool {
    if attr(el, "hidden").is_some() || attr(el, "aria-hidden") == Some("true") {
        return true;
    }
    if el.name() == "input" {
        return true;
    }
    attr(el, "style").is_some_and(|style| {
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
        // Only whitespace (between blocks, often): no block, nothing to
        // normalise.
        if self.buf.bytes().all(|c| c.is_ascii_whitespace()) {
            self.buf.clear();
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

/// The elements `doc.select(…)` looks at, in the order it does.
pub(super) fn elements(doc: &Html) -> impl Iterator<Item = ElementRef<'_>> {
    doc.tree
        .nodes()
        .filter_map(ElementRef::wrap)
        .filter(|e| e.parent().is_some())
}

fn matching_ids(doc: &Html, selectors: &[Selector]) -> NodeSet {
    selectors
        .iter()
        .flat_map(|s| doc.select(s).map(|e| e.id()))
        .collect()
}

/// What an HTML document says.
pub struct HtmlPage {
    pub title: Option<String>,
    pub meta: crate::model::Meta,
    pub blocks: Vec<Block>,
    pub responses: Vec<ReaderResponse>,
}

/// Whether `el` is, or is inside, one of `set`.
fn within(el: &ElementRef, set: &NodeSet) -> bool {
    set.contains(&el.id()) || el.ancestors().any(|a| set.contains(&a.id()))
}

/// Title, visible text blocks and reader responses of an HTML document.
pub fn extract_html(src: &str, base: Option<&reqwest::Url>, rules: &Rules) -> HtmlPage {
    let doc = Html::parse_document(src);
    let title = title(&doc);
    let meta = super::meta::read(&doc, base);
    let user_ignored = matching_ids(&doc, &rules.ignore);
    let (found, items) = super::responses::find(&doc);
    let mut ignored = user_ignored.clone();
    ignored.extend(items.iter().copied());
    ignored.extend(
        elements(&doc)
            .filter(|e| comment_area(e.value()))
            .map(|e| e.id()),
    );

    let roots: Vec<ElementRef> = if rules.select.is_empty() {
        // `select` always wins; without it, the page's own content.
        let content = super::content::select(&doc, &ignored);
        ignored.extend(content.drop);
        match content.roots {
            Some(ids) => ids
                .into_iter()
                .filter_map(|id| doc.tree.get(id).and_then(ElementRef::wrap))
                .collect(),
            None => vec![doc.root_element()],
        }
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
    // Responses count where the user's rules let text count.
    let selected: NodeSet = roots.iter().map(|r| r.id()).collect();
    let responses: Vec<ReaderResponse> = found
        .into_iter()
        .filter(|(id, _)| {
            doc.tree
                .get(*id)
                .and_then(ElementRef::wrap)
                .is_some_and(|e| {
                    (rules.select.is_empty() || within(&e, &selected)) && !within(&e, &user_ignored)
                })
        })
        .map(|(_, r)| r)
        .collect();
    for root in roots {
        walk(*root, &ignored, &mut w);
        w.flush();
        w.kinds.clear();
        w.row_depth = 0;
    }
    drop_furniture(&mut w.blocks);
    HtmlPage {
        title,
        meta,
        blocks: w.blocks,
        responses,
    }
}

fn walk(root: ego_tree::NodeRef<'_, Node>, ignored: &NodeSet, w: &mut Walker) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The CSS selector list the hand matcher stands for.
    fn comment_area_selector() -> Selector {
        let list: Vec<String> = COMMENT_AREA_IDS
            .iter()
            .map(|i| format!("#{i}"))
            .chain(COMMENT_AREA_CLASSES.iter().map(|c| format!(".{c}")))
            .collect();
        Selector::parse(&list.join(", ")).unwrap()
    }

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            proptest::sample::select(COMMENT_AREA_IDS).prop_map(str::to_string),
            proptest::sample::select(COMMENT_AREA_CLASSES).prop_map(str::to_string),
            Just("Comments".to_string()),
            Just("comment".to_string()),
            Just("comments-area-2".to_string()),
            Just("entry-content".to_string()),
            "[a-z-]{1,6}",
        ]
    }

    /// The pattern of a block that is only a count, which `drop_furniture`
    /// tells from where `INLINE_COUNT` first matches.
    static COUNT_BLOCK: LazyLock<Regex> =
        LazyLock::new(|| re(&format!(r"(?i)^{COUNT_WORD}\s+{RESPONSE_WORD}\b")));

    fn count_text() -> impl Strategy<Value = String> {
        let word = prop_oneof![
            Just("3"),
            Just("12"),
            Just("One"),
            Just("no"),
            Just("ZWEI"),
            Just("x1"),
            Just("Tno"),
            Just("comments"),
            Just("Response"),
            Just("thoughts"),
            Just("réponses"),
            Just("on"),
            Just("“Post”"),
            Just("|"),
            Just("Posted"),
            Just("é"),
        ];
        (
            proptest::collection::vec(word, 0..6),
            proptest::collection::vec(prop_oneof![Just(" "), Just(""), Just("\u{a0}")], 6),
        )
            .prop_map(|(words, gaps)| {
                words
                    .iter()
                    .zip(&gaps)
                    .map(|(w, g)| format!("{w}{g}"))
                    .collect()
            })
    }

    #[test]
    fn furniture_is_dropped_and_inline_counts_cut() {
        let block = |t: &str| Block::new(BlockKind::Paragraph, t.to_string());
        let mut blocks = vec![
            block("12 thoughts on “Press release”"),
            block("Posted in Africa | 3 Comments"),
            block("Leave a Reply"),
            block("Logged in as Jane Doe. Log out?"),
            block("The Secretary spoke with 3 counterparts."),
        ];
        drop_furniture(&mut blocks);
        let texts: Vec<&str> = blocks.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "Posted in Africa | Comments",
                "The Secretary spoke with 3 counterparts."
            ]
        );
        // The bound is the longest text the respond pattern matches.
        let longest = format!("Logged in as {}. Log out?", "é".repeat(80));
        assert_eq!(longest.chars().count(), RESPOND_MAX_CHARS);
        assert!(RESPOND_BLOCK.is_match(&longest));
        assert!(!RESPOND_BLOCK.is_match(&format!("Logged in as {}. Log out?", "é".repeat(81))));
    }

    proptest! {
        /// A block is only a count exactly when the first inline count
        /// starts it.
        #[test]
        fn a_count_block_is_an_inline_count_at_the_start(t in count_text()) {
            prop_assert_eq!(
                COUNT_BLOCK.is_match(&t),
                INLINE_COUNT.find(&t).is_some_and(|m| m.start() == 0),
                "{:?}", t
            );
        }

        /// The hand matcher picks exactly the elements the selector list does.
        #[test]
        fn comment_area_matches_as_the_selector_list_does(divs in proptest::collection::vec(
            (proptest::option::of(name()), proptest::collection::vec(name(), 0..3), 0usize..3),
            1..25,
        )) {
            let mut html = String::from("<!DOCTYPE html><html><body>");
            for (id, classes, close) in &divs {
                html.push_str("<div");
                if let Some(id) = id {
                    html.push_str(&format!(" id=\"{id}\""));
                }
                if !classes.is_empty() {
                    html.push_str(&format!(" class=\" {}\t\"", classes.join("  ")));
                }
                html.push_str(">x");
                html.push_str(&"</div>".repeat(*close));
            }
            let doc = Html::parse_document(&html);
            let by_selector: Vec<NodeId> = doc.select(&comment_area_selector()).map(|e| e.id()).collect();
            let by_hand: Vec<NodeId> = elements(&doc).filter(|e| comment_area(e.value())).map(|e| e.id()).collect();
            prop_assert_eq!(by_selector, by_hand);
        }
    }
}
