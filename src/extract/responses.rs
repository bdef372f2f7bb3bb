//! Reader responses (comments, pingbacks, trackbacks) as items.
//!
//! WordPress core marks every response with `comment_class()`: a type token
//! (`comment`, `pingback`, `trackback`) and, when `wp_list_comments()`
//! renders it, a `depth-N` token. An item is an `<li>` with a type token
//! inside a comment-list container (or a `<div>`/`<article>` with a type
//! token and `depth-N`, for `style=div` lists). Items without `depth-N` need
//! a container with a core class name, and a comment then also needs an id
//! `comment-N`; this keeps look-alikes (Stack Exchange, Blogger, Slashdot,
//! forums) out. Items in widgets ("recent comments") and second renderings
//! of the same comment are skipped.

use super::NodeSet;
use super::text::normalize;
use crate::model::{ReaderResponse, ResponseKind};
use ego_tree::NodeId;
use ego_tree::iter::Edge;
use regex::Regex;
use scraper::{ElementRef, Html, Node};
use std::collections::HashSet;
use std::sync::LazyLock;

fn re(s: &str) -> Regex {
    Regex::new(s).unwrap_or_else(|e| unreachable!("static regex {s}: {e}"))
}

static DEPTH: LazyLock<Regex> = LazyLock::new(|| re(r"^depth-(\d+)$"));
static ITEM_ID: LazyLock<Regex> = LazyLock::new(|| re(r"^(li-)?comment-?\d+$"));
static NUMBER_ID: LazyLock<Regex> = LazyLock::new(|| re(r"^(?:li-|div-)?comment-?(\d+)$"));
static CONTAINER: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)comment|ping"));
static SAYS: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)\s*\b(says|said|sagt|schreibt|meint|dice|dijo|dit|écrit|scrive|schreef|zegt)\s*:?\s*$")
});
static REPLY_TO: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^(reply to|antworte auf|antworten auf|auf|répondre à|responder a|rispondi a|antwoord op|odpowiedz)\s+(?:comment (?:to|by)\s+)?(?P<name>.+)$",
    )
});
static SPECIFIC_AUTHOR: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)author[-_]*(name|link)|^comment[-_]*name$|review__author"));
static GENERIC_AUTHOR: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)author|^comment[-_]*by$"));
/// Parts of an item that describe it rather than say something.
static META_CLASS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^(comment-meta|commentmetadata|comment-metadata|comment-author|vcard|reply|comment-reply-link|comment-edit-link|edit-link|avatar|says|comment-awaiting-moderation|comment-header|comment-footer|wp-block-comment-author-name|wp-block-comment-date|wp-block-comment-reply-link|wp-block-comment-edit-link)$",
    )
});

const CORE_CONTAINERS: &[&str] = &[
    "commentlist",
    "comment-list",
    "ping-list",
    "pinglist",
    "trackback-list",
    "wp-block-comment-template",
];
const CONTAINER_TAGS: &[&str] = &["ol", "ul", "div", "section", "article", "aside", "main"];

fn classes<'a>(el: &'a ElementRef) -> impl Iterator<Item = &'a str> + 'a {
    el.value().classes()
}

fn has_class(el: &ElementRef, name: &str) -> bool {
    classes(el).any(|c| c == name)
}

fn depth(el: &ElementRef) -> Option<u32> {
    classes(el).find_map(|c| DEPTH.captures(c).and_then(|m| m[1].parse().ok()))
}

fn type_token(el: &ElementRef) -> Option<ResponseKind> {
    let cls: Vec<&str> = classes(el).collect();
    if cls.contains(&"pingback") {
        Some(ResponseKind::Pingback)
    } else if cls.contains(&"trackback") {
        Some(ResponseKind::Trackback)
    } else if cls.contains(&"comment") {
        Some(ResponseKind::Comment)
    } else {
        None
    }
}

fn candidate(el: &ElementRef) -> Option<ResponseKind> {
    let kind = type_token(el)?;
    match el.value().name() {
        "li" => Some(kind),
        "div" | "article" if depth(el).is_some() => Some(kind),
        _ => None,
    }
}

fn in_container(el: &ElementRef, kind: ResponseKind) -> bool {
    let lenient = depth(el).is_some();
    if !lenient && kind == ResponseKind::Comment && !ITEM_ID.is_match(el.value().id().unwrap_or(""))
    {
        return false;
    }
    el.ancestors().filter_map(ElementRef::wrap).any(|a| {
        if !CONTAINER_TAGS.contains(&a.value().name()) {
            return false;
        }
        if lenient {
            classes(&a).any(|c| CONTAINER.is_match(c))
                || a.value().id().is_some_and(|i| CONTAINER.is_match(i))
        } else {
            classes(&a).any(|c| CORE_CONTAINERS.contains(&c))
        }
    })
}

fn in_widget(el: &ElementRef) -> bool {
    el.ancestors()
        .filter_map(ElementRef::wrap)
        .any(|a| !matches!(a.value().name(), "body" | "html") && has_class(&a, "widget"))
}

/// A `div`/`article` that only repeats the classes of the item around it.
fn is_inner_wrapper(el: &ElementRef, items: &NodeSet) -> bool {
    el.ancestors()
        .filter_map(ElementRef::wrap)
        .find(|a| items.contains(&a.id()))
        .is_some_and(|a| depth(&a) == depth(el))
}

/// The WordPress comment number of an item, from its id or the first id
/// inside it (before any nested item).
fn comment_number(el: &ElementRef) -> Option<String> {
    let from = |e: &ElementRef| {
        NUMBER_ID
            .captures(e.value().id()?)
            .map(|m| m[1].to_string())
    };
    if let Some(n) = from(el) {
        return Some(n);
    }
    for d in el.descendent_elements().skip(1) {
        if let Some(n) = from(&d) {
            return Some(n);
        }
        if candidate(&d).is_some() {
            break;
        }
    }
    None
}

/// The elements of an item that are its own (not those of nested items).
fn own_elements<'a>(item: &ElementRef<'a>, items: &NodeSet) -> Vec<ElementRef<'a>> {
    let mut out = Vec::new();
    let mut skip: Option<NodeId> = None;
    for edge in item.traverse() {
        match edge {
            Edge::Open(n) if skip.is_none() && n.id() != item.id() => {
                if let Some(e) = ElementRef::wrap(n) {
                    if items.contains(&e.id()) {
                        skip = Some(e.id());
                    } else {
                        out.push(e);
                    }
                }
            }
            Edge::Close(n) if skip == Some(n.id()) => skip = None,
            _ => {}
        }
    }
    out
}

fn text_of(el: &ElementRef) -> String {
    normalize(&el.text().collect::<String>())
}

fn clean_name(s: &str) -> String {
    let t = SAYS.replace(&normalize(s), "").to_string();
    t.trim_end_matches([' ', ',', ';', ':', '|', '-', '–', '—'])
        .trim()
        .to_string()
}

fn author_of(own: &[ElementRef]) -> Option<String> {
    for name in ["fn", "wp-block-comment-author-name"] {
        if let Some(e) = own.iter().find(|e| has_class(e, name)) {
            let n = clean_name(&text_of(e));
            if !n.is_empty() {
                return Some(n);
            }
        }
    }
    // Avatar and per-user classes (`comment-author-jane`) are not names.
    let excluded = |c: &str| {
        let c = c.to_ascii_lowercase();
        c.contains("avatar")
            || c.contains("bypostauthor")
            || (c.starts_with("comment-author-")
                && c != "comment-author-name"
                && c != "comment-author-link")
    };
    let author_like = |re: &Regex, e: &ElementRef| {
        classes(e).any(|c| !excluded(c) && re.is_match(c)) && !text_of(e).is_empty()
    };
    if let Some(e) = own.iter().find(|e| author_like(&SPECIFIC_AUTHOR, e)) {
        let n = clean_name(&text_of(e));
        if !n.is_empty() {
            return Some(n);
        }
    }
    if let Some(e) = own.iter().find(|e| author_like(&GENERIC_AUTHOR, e)) {
        for sub in e.descendent_elements().skip(1) {
            let tag = sub.value().name();
            if matches!(tag, "cite" | "strong" | "b") || (tag == "a" && has_class(&sub, "url")) {
                let n = clean_name(&text_of(&sub));
                if !n.is_empty() {
                    return Some(n);
                }
            }
        }
        let lead: String = e
            .children()
            .take_while(|c| c.value().is_text())
            .filter_map(|c| c.value().as_text().map(|t| t.to_string()))
            .collect();
        let n = clean_name(&lead);
        if !n.is_empty() {
            return Some(n);
        }
        let n = clean_name(&text_of(e));
        if !n.is_empty() {
            return Some(n);
        }
    }
    if let Some(n) = own
        .iter()
        .filter(|e| e.value().name() == "cite")
        .map(|e| clean_name(&text_of(e)))
        .find(|n| !n.is_empty())
    {
        return Some(n);
    }
    for a in own
        .iter()
        .filter(|e| e.value().name() == "a" && has_class(e, "comment-reply-link"))
    {
        for attr in ["data-replyto", "aria-label"] {
            if let Some(m) = a.value().attr(attr).and_then(|v| {
                REPLY_TO
                    .captures(&normalize(v))
                    .map(|m| m["name"].to_string())
            }) {
                let n = clean_name(&m);
                if !n.is_empty() {
                    return Some(n);
                }
            }
        }
    }
    own.iter()
        .filter(|e| matches!(e.value().name(), "h2" | "h3" | "h4" | "h5" | "h6"))
        .map(|e| clean_name(&text_of(e)))
        .find(|n| !n.is_empty())
}

fn href(e: &ElementRef) -> Option<String> {
    e.value()
        .attr("href")
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
}

/// A pingback's linking post: its title and address.
fn pingback_link(own: &[ElementRef]) -> (Option<String>, Option<String>) {
    if let Some(e) = own.iter().find(|e| has_class(e, "fn")) {
        let t = text_of(e);
        if !t.is_empty() {
            let link = if e.value().name() == "a" {
                href(e)
            } else {
                e.descendent_elements()
                    .find(|a| a.value().name() == "a")
                    .and_then(|a| href(&a))
            };
            return (Some(t), link);
        }
    }
    let links: Vec<&ElementRef> = own.iter().filter(|e| e.value().name() == "a").collect();
    if let Some(a) = links
        .iter()
        .find(|a| has_class(a, "url") && !text_of(a).is_empty())
    {
        return (Some(text_of(a)), href(a));
    }
    if let Some(a) = links.iter().find(|a| {
        !text_of(a).is_empty()
            && !has_class(a, "comment-edit-link")
            && !has_class(a, "comment-reply-link")
    }) {
        return (Some(text_of(a)), href(a));
    }
    (None, None)
}

fn author_link(own: &[ElementRef]) -> Option<String> {
    own.iter().find(|e| has_class(e, "fn")).and_then(|e| {
        if e.value().name() == "a" {
            href(e)
        } else {
            e.descendent_elements()
                .find(|a| a.value().name() == "a")
                .and_then(|a| href(&a))
        }
    })
}

fn date_of(own: &[ElementRef]) -> Option<String> {
    if let Some(t) = own.iter().find(|e| e.value().name() == "time") {
        return t
            .value()
            .attr("datetime")
            .map(str::to_string)
            .or_else(|| Some(text_of(t)));
    }
    own.iter()
        .find(|e| {
            classes(e).any(|c| {
                matches!(
                    c,
                    "comment-meta"
                        | "commentmetadata"
                        | "comment-metadata"
                        | "comment-date"
                        | "wp-block-comment-date"
                )
            })
        })
        .map(|e| {
            // The date link, without edit links or the author.
            e.descendent_elements()
                .find(|a| a.value().name() == "a" && !has_class(a, "comment-edit-link"))
                .map(|a| text_of(&a))
                .unwrap_or_else(|| text_of(e))
        })
        .filter(|d| !d.is_empty())
}

/// The words of a comment: its own text, without the parts that describe
/// it (author, date, reply and edit links) and without nested replies.
fn body_text(item: &ElementRef, items: &NodeSet) -> String {
    let mut out = String::new();
    let mut skip: Option<NodeId> = None;
    for edge in item.traverse() {
        match edge {
            Edge::Open(n) => {
                if skip.is_some() || n.id() == item.id() {
                    continue;
                }
                match n.value() {
                    Node::Text(t) => out.push_str(t),
                    Node::Element(el) => {
                        let skip_it = items.contains(&n.id())
                            || matches!(
                                el.name(),
                                "script" | "style" | "noscript" | "template" | "form" | "button"
                            )
                            || el.classes().any(|c| META_CLASS.is_match(c));
                        if skip_it {
                            skip = Some(n.id());
                        } else if super::html::is_block(el.name()) {
                            out.push(' ');
                        }
                    }
                    _ => {}
                }
            }
            Edge::Close(n) => {
                if skip == Some(n.id()) {
                    skip = None;
                }
            }
        }
    }
    normalize(&out)
}

/// Every reader response on the page, in document order, and the node ids
/// of the items (to keep them out of the main text).
pub fn find(doc: &Html) -> (Vec<(NodeId, ReaderResponse)>, NodeSet) {
    let mut found: Vec<(ElementRef, ResponseKind, Option<String>)> = Vec::new();
    let mut items: NodeSet = NodeSet::default();
    let mut numbers: HashSet<String> = HashSet::new();
    for el in doc.root_element().descendent_elements() {
        let Some(kind) = candidate(&el) else {
            continue;
        };
        if el.value().name() != "li" && is_inner_wrapper(&el, &items) {
            continue;
        }
        if !in_container(&el, kind) || in_widget(&el) {
            continue;
        }
        let number = comment_number(&el);
        if let Some(n) = &number
            && !numbers.insert(n.clone())
        {
            items.insert(el.id());
            continue;
        }
        items.insert(el.id());
        found.push((el, kind, number));
    }
    let mut out = Vec::with_capacity(found.len());
    let mut ids: HashSet<String> = HashSet::new();
    for (el, kind, number) in found {
        let own = own_elements(&el, &items);
        let (author, url, text) = match kind {
            ResponseKind::Comment => (author_of(&own), author_link(&own), body_text(&el, &items)),
            _ => {
                let (title, link) = pingback_link(&own);
                let text = title.clone().unwrap_or_else(|| body_text(&el, &items));
                (title, link, text)
            }
        };
        let date = date_of(&own);
        let mut id = match (&number, el.value().id()) {
            (Some(n), _) => format!("comment-{n}"),
            (None, Some(i)) if !i.is_empty() => i.to_string(),
            _ => {
                let key = format!(
                    "{kind:?}\u{1}{}\u{1}{}\u{1}{text}",
                    author.as_deref().unwrap_or(""),
                    url.as_deref().unwrap_or("")
                );
                format!("h-{}", &super::sha256_hex(key.as_bytes())[..12])
            }
        };
        // Ids are unique within a page, whatever the markup did.
        let base = id.clone();
        let mut k = 2;
        while !ids.insert(id.clone()) {
            id = format!("{base}~{k}");
            k += 1;
        }
        out.push((
            el.id(),
            ReaderResponse {
                id,
                kind,
                author,
                url,
                date,
                text,
            },
        ));
    }
    (out, items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(html: &str) -> Vec<ReaderResponse> {
        find(&Html::parse_document(html))
            .0
            .into_iter()
            .map(|(_, r)| r)
            .collect()
    }

    fn kinds(rs: &[ReaderResponse]) -> Vec<(ResponseKind, &str, Option<&str>)> {
        rs.iter()
            .map(|r| (r.kind, r.id.as_str(), r.author.as_deref()))
            .collect()
    }

    #[test]
    fn classic_list_with_threaded_replies_and_a_pingback() {
        let rs = items(
            r##"<ol class="commentlist">
            <li class="comment even depth-1" id="li-comment-7"><div id="comment-7"><div class="comment-author vcard"><cite class="fn">Ann</cite> <span class="says">says:</span></div>
              <div class="comment-meta commentmetadata"><a href="#c7">December 7, 2013 at 7:10 pm</a></div><p>First!</p>
              <ul class="children"><li class="comment odd depth-2" id="li-comment-8"><div id="comment-8"><cite class="fn">Bob</cite><p>Reply.</p></div></li></ul></div></li>
            <li class="pingback even depth-1" id="comment-9"><div class="comment-body">Pingback: <a href="https://example.org/x" class="url">Linking post</a></div></li>
            </ol>"##,
        );
        use ResponseKind::*;
        assert_eq!(
            kinds(&rs),
            vec![
                (Comment, "comment-7", Some("Ann")),
                (Comment, "comment-8", Some("Bob")),
                (Pingback, "comment-9", Some("Linking post"))
            ]
        );
        assert_eq!(
            rs[0].text, "First!",
            "nested replies and meta stay out of the parent's text"
        );
        assert_eq!(rs[0].date.as_deref(), Some("December 7, 2013 at 7:10 pm"));
        assert_eq!(rs[2].url.as_deref(), Some("https://example.org/x"));
    }

    #[test]
    fn block_theme_and_div_style_items() {
        let rs = items(
            r##"<ol class="wp-block-comment-template"><li id="comment-3" class="comment even thread-even depth-1">
              <div class="wp-block-comment-author-name"><a href="https://c.example">Cara</a></div>
              <div class="wp-block-comment-date"><time datetime="2024-01-02T03:04:05+00:00">January 2, 2024</time></div>
              <div class="wp-block-comment-content"><p>Block theme comment.</p></div></li></ol>
            <div class="comments"><div id="comment-5" class="comment byuser depth-1"><article class="comment-body depth-1 comment">
              <span class="comment-author"><b>Dee</b></span><div class="comment-content">Twenty Twenty style.</div></article></div></div>"##,
        );
        assert_eq!(rs.len(), 2, "{rs:?}");
        assert_eq!(
            (rs[0].author.as_deref(), rs[0].text.as_str()),
            (Some("Cara"), "Block theme comment.")
        );
        assert_eq!(rs[0].date.as_deref(), Some("2024-01-02T03:04:05+00:00"));
        assert_eq!(
            (rs[1].id.as_str(), rs[1].author.as_deref()),
            ("comment-5", Some("Dee"))
        );
    }

    #[test]
    fn look_alikes_widgets_and_duplicates_are_not_items() {
        // Stack Exchange: li.comment without a WordPress id or depth.
        assert!(items(r##"<ul class="comments-list"><li class="comment js-comment" id="c123">Q&A comment</li></ul>"##).is_empty());
        // A "recent comments" widget reusing the markup.
        assert!(
            items(r##"<aside class="widget"><ol class="commentlist"><li class="comment depth-1" id="comment-1">x</li></ol></aside>"##)
                .is_empty()
        );
        // A list rendered twice counts once.
        let twice = r##"<ol class="comment-list"><li class="comment depth-1" id="comment-4"><p>Once.</p></li></ol>
                       <ol class="comment-list"><li class="comment depth-1" id="comment-4"><p>Once.</p></li></ol>"##;
        assert_eq!(items(twice).len(), 1);
    }

    #[test]
    fn items_without_ids_get_content_hashes() {
        let html = r##"<ol class="commentlist"><li class="trackback depth-1"><a href="https://t.example/" class="url">Roundup</a></li></ol>"##;
        let a = items(html);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].kind, ResponseKind::Trackback);
        assert!(a[0].id.starts_with("h-"), "{}", a[0].id);
        assert_eq!(items(html)[0].id, a[0].id, "stable across parses");
    }
}
