//! The page's own content: site chrome (navigation, headers, footers,
//! sidebars, share buttons, related links) is dropped, and where the page
//! clearly has an article body, only that body is kept.
//!
//! Where the choice is unclear the page keeps more rather than less: a
//! listing, a transcript or a fact sheet is kept whole, minus its chrome.

use super::{NodeMap, NodeSet};
use ego_tree::NodeId;
use ego_tree::iter::Edge;
use regex::Regex;
use scraper::{ElementRef, Html, Node};
use std::sync::LazyLock;

fn re(s: &str) -> Regex {
    Regex::new(s).unwrap_or_else(|e| unreachable!("static regex {s}: {e}"))
}

/// Class or id words that mark chrome, whatever the element holds.
const STRONG_WORDS: &[&str] = &[
    "nav",
    "navbar",
    "navigation",
    "menu",
    "menus",
    "breadcrumb",
    "breadcrumbs",
    "sidebar",
    "sidenav",
    "masthead",
    "footer",
    "header",
    "share",
    "sharing",
    "social",
    "socials",
    "sharedaddy",
    "newsletter",
    "subscribe",
    "subscription",
    "cookie",
    "cookies",
    "consent",
    "gdpr",
    "advert",
    "advertisement",
    "ads",
    "ad",
    "sponsor",
    "sponsored",
    "skip",
    "skiplink",
    "toolbar",
    "pagination",
    "pager",
    "signup",
    "login",
    "outbrain",
    "taboola",
];
/// Class or id words that mark chrome only when the element reads like it:
/// mostly links, or little text ("widget" also names content blocks in
/// some site builders).
const WEAK_WORDS: &[&str] = &[
    "related",
    "recommended",
    "banner",
    "promo",
    "widget",
    "widgets",
    "popup",
    "modal",
    "overlay",
    "search",
    "tags",
    "tagcloud",
    "print",
    "utility",
    "popular",
    "trending",
    "caption",
    "credit",
    "credits",
    "gallery",
    "slideshow",
    "meta",
    "byline",
    "author",
    "date",
    "timestamp",
];
/// Class or id words that mark content, and protect an element.
const CONTENT_WORDS: &[&str] = &[
    "article",
    "articlebody",
    "story",
    "entry",
    "post",
    "content",
    "main",
    "body",
    "text",
    "blog",
    "hentry",
    "transcript",
    "release",
    "press",
];

/// What one class or id token says: the last word that means something
/// decides ("post-tags" is tags, "entry-content" is content).
fn classify_token(token: &str) -> Option<Chrome> {
    for w in token.split(['-', '_']).rev() {
        let w = w.to_ascii_lowercase();
        if STRONG_WORDS.contains(&w.as_str()) {
            return Some(Chrome::Strong);
        }
        if WEAK_WORDS.contains(&w.as_str()) {
            return Some(Chrome::Weak);
        }
        if CONTENT_WORDS.contains(&w.as_str()) {
            return Some(Chrome::No);
        }
    }
    None
}

/// Markers of an article body.
static BODY_MARK: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^(entry-content|post-content|post-body|article-body|articlebody|article__body|article-content|article__content|story-body|story-content|storycontent|body-text|article-text|post-entry|single-content|td-post-content|field--name-body|c-entry-content|rich-text|caas-body|paywall)$",
    )
});
static POSITIVE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)article|body|content|entry|hentry|h-entry|main|page|pagination|post|text|blog|story")
});
static NEGATIVE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)-ad-|hidden|^hid$| hid$| hid |^hid |banner|combx|comment|com-|contact|footer|gdpr|masthead|media|meta|outbrain|promo|related|scroll|share|shoutbox|sidebar|skyscraper|sponsor|shopping|tags|widget",
    )
});

/// The words of an element's id and classes.
fn name_tokens<'a>(el: &ElementRef<'a>) -> impl Iterator<Item = &'a str> {
    let v = el.value();
    v.id()
        .into_iter()
        .chain(v.classes())
        .flat_map(str::split_whitespace)
}

/// How sure a name is that an element is chrome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chrome {
    No,
    Weak,
    Strong,
}

/// Whether an element is site chrome by its tag, role or names.
fn is_chrome(el: &ElementRef, in_article: bool) -> Chrome {
    let v = el.value();
    match v.name() {
        "nav" | "aside" | "figure" | "figcaption" => return Chrome::Strong,
        "header" | "footer" if !in_article => return Chrome::Strong,
        "body" | "html" | "main" | "article" => return Chrome::No,
        _ => {}
    }
    if let Some(role) = super::attr(v, "role")
        && matches!(
            role,
            "navigation"
                | "banner"
                | "contentinfo"
                | "complementary"
                | "search"
                | "menu"
                | "menubar"
                | "dialog"
                | "alertdialog"
        )
    {
        return Chrome::Strong;
    }
    let (mut strong, mut weak) = (false, false);
    for verdict in name_tokens(el).filter_map(classify_token) {
        match verdict {
            // A content name protects the element.
            Chrome::No => return Chrome::No,
            Chrome::Strong => strong = true,
            Chrome::Weak => weak = true,
        }
    }
    if strong {
        Chrome::Strong
    } else if weak {
        Chrome::Weak
    } else {
        Chrome::No
    }
}

/// An element holding more than this share of the page's text is never
/// chrome, whatever its name says: dropping it would lose the page.
const CHROME_MAX_SHARE: f64 = 0.35;

/// The chrome elements of a document (their subtrees are dropped), and the
/// stats of the document without `excluded` they were judged by.
fn chrome(doc: &Html, excluded: &NodeSet) -> (NodeSet, StatsMap) {
    let mut out = NodeSet::default();
    let stats = StatsMap::new(doc, excluded);
    let (page_text, _, _) = stats.get(&doc.root_element());
    let mut stack: Vec<(ElementRef, bool)> = vec![(doc.root_element(), false)];
    while let Some((el, in_article)) = stack.pop() {
        if excluded.contains(&el.id()) {
            continue;
        }
        let verdict = is_chrome(&el, in_article);
        if verdict != Chrome::No {
            let (len, link, _) = stats.get(&el);
            let small = (len as f64) <= CHROME_MAX_SHARE * page_text as f64;
            let reads_like_chrome = verdict == Chrome::Strong || len < 100 || link * 5 > len * 2;
            if small && reads_like_chrome {
                out.insert(el.id());
                continue;
            }
        }
        let inside = in_article || matches!(el.value().name(), "article" | "main");
        for c in el.child_elements() {
            stack.push((c, inside));
        }
    }
    (out, stats)
}

/// Visible text, link text and comma counts of an element's subtree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Stats {
    text: usize,
    link: usize,
    commas: usize,
}

/// Stats of every element, computed in one bottom-up pass; subtrees in
/// `skip` (and invisible elements) count nothing.
struct StatsMap(NodeMap<Stats>);

impl StatsMap {
    fn new(doc: &Html, skip: &NodeSet) -> StatsMap {
        let mut map: NodeMap<Stats> = NodeMap::default();
        // Open elements: (id, accumulated stats, inside a link).
        let mut stack: Vec<(NodeId, Stats, bool)> = Vec::new();
        let mut skipping: Option<NodeId> = None;
        for edge in doc.tree.root().traverse() {
            match edge {
                Edge::Open(n) => {
                    if skipping.is_some() {
                        continue;
                    }
                    match n.value() {
                        Node::Element(e) => {
                            if skip.contains(&n.id())
                                || matches!(e.name(), "script" | "style" | "noscript" | "template")
                            {
                                skipping = Some(n.id());
                                continue;
                            }
                            let in_link = e.name() == "a" || stack.last().is_some_and(|s| s.2);
                            stack.push((n.id(), Stats::default(), in_link));
                        }
                        Node::Text(t) => {
                            if let Some(top) = stack.last_mut() {
                                let len = t.trim().chars().count();
                                top.1.text += len;
                                top.1.commas += memchr::memchr_iter(b',', t.as_bytes()).count();
                                if top.2 {
                                    top.1.link += len;
                                }
                            }
                        }
                        _ => {}
                    }
                }
                Edge::Close(n) => {
                    if let Some(id) = skipping {
                        if id == n.id() {
                            skipping = None;
                        }
                        continue;
                    }
                    if n.value().is_element()
                        && let Some((id, st, _)) = stack.pop()
                    {
                        if let Some(parent) = stack.last_mut() {
                            parent.1.text += st.text;
                            parent.1.link += st.link;
                            parent.1.commas += st.commas;
                        }
                        map.insert(id, st);
                    }
                }
            }
        }
        StatsMap(map)
    }

    /// These stats with the subtrees of `roots` left out too: what [`new`]
    /// gives skipping them as well, without another walk over the whole
    /// document. `roots` are the chrome found with these stats: none is
    /// inside another or inside what these stats skip.
    ///
    /// [`new`]: StatsMap::new
    fn without(mut self, doc: &Html, roots: &NodeSet) -> StatsMap {
        for id in roots {
            let (Some(node), Some(st)) = (doc.tree.get(*id), self.0.get(id).copied()) else {
                // Inside a script or template: never counted.
                continue;
            };
            for a in node.ancestors() {
                if let Some(s) = self.0.get_mut(&a.id()) {
                    s.text = s.text.saturating_sub(st.text);
                    s.link = s.link.saturating_sub(st.link);
                    s.commas = s.commas.saturating_sub(st.commas);
                }
            }
            for d in node.descendants() {
                self.0.remove(&d.id());
            }
        }
        self
    }

    fn get(&self, el: &ElementRef) -> (usize, usize, usize) {
        self.0
            .get(&el.id())
            .map_or((0, 0, 0), |s| (s.text, s.link, s.commas))
    }
}

fn class_weight(el: &ElementRef) -> f64 {
    let mut w = 0.0;
    for s in [
        el.value().id().unwrap_or(""),
        &el.value().classes().collect::<Vec<_>>().join(" "),
    ] {
        if s.is_empty() {
            continue;
        }
        if NEGATIVE.is_match(s) {
            w -= 25.0;
        }
        if POSITIVE.is_match(s) {
            w += 25.0;
        }
    }
    w
}

fn base_score(el: &ElementRef) -> f64 {
    let tag = match el.value().name() {
        "div" | "article" | "main" | "section" => 5.0,
        "pre" | "td" | "blockquote" => 3.0,
        "address" | "ol" | "ul" | "dl" | "dd" | "dt" | "li" | "form" => -3.0,
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "th" => -5.0,
        _ => 0.0,
    };
    tag + class_weight(el)
}

/// A candidate scoring at least this is article prose (several real
/// paragraphs).
const PROSE_SCORE: f64 = 25.0;

/// The subtrees that hold the page's own content, in document order, and
/// the chrome inside them to drop. `None`: keep the whole page (minus
/// chrome).
pub struct Content {
    pub roots: Option<Vec<NodeId>>,
    pub drop: NodeSet,
}

/// Choose the content of a document. `excluded` are subtrees already kept
/// out of the text (reader responses, ignored parts).
pub fn select(doc: &Html, excluded: &NodeSet) -> Content {
    let (mut drop, stats) = chrome(doc, excluded);
    let stats = stats.without(doc, &drop);
    drop.extend(excluded.iter().copied());
    let root = doc.root_element();
    let (page_text, page_links, _) = stats.get(&root);

    // Readability-style scoring: paragraphs give points to their ancestors.
    let mut scores: NodeMap<f64> = NodeMap::default();
    let mut order: Vec<NodeId> = Vec::new();
    for p in root.descendent_elements() {
        if !matches!(
            p.value().name(),
            "p" | "pre" | "td" | "blockquote" | "li" | "dd"
        ) {
            continue;
        }
        if p.ancestors().any(|a| drop.contains(&a.id())) || drop.contains(&p.id()) {
            continue;
        }
        let (len, link, commas) = stats.get(&p);
        if len < 25 || link * 2 > len {
            continue;
        }
        let score = 1.0 + commas as f64 + (len as f64 / 100.0).min(3.0);
        for (level, a) in p
            .ancestors()
            .filter_map(ElementRef::wrap)
            .take(5)
            .enumerate()
        {
            if matches!(a.value().name(), "body" | "html") {
                break;
            }
            let entry = scores.entry(a.id()).or_insert_with(|| {
                order.push(a.id());
                base_score(&a)
            });
            *entry += match level {
                0 => score,
                1 => score / 2.0,
                n => score / (n as f64 * 3.0),
            };
        }
    }
    let mut best: Option<(NodeId, f64, usize, usize)> = None;
    for id in &order {
        let Some(el) = doc.tree.get(*id).and_then(ElementRef::wrap) else {
            continue;
        };
        let (len, link, _) = stats.get(&el);
        if len == 0 {
            continue;
        }
        let s = scores.get(id).copied().unwrap_or(0.0) * (1.0 - link as f64 / len as f64);
        if best.is_none_or(|(_, b, _, _)| s > b) {
            best = Some((*id, s, len, link));
        }
    }

    // Explicit article body markers (all of them: some sites split the
    // body into several), when they hold real text.
    let is_marked = |e: &ElementRef| {
        e.value().classes().any(|c| BODY_MARK.is_match(c))
            || super::attr(e.value(), "itemprop") == Some("articleBody")
    };
    let marked: Vec<ElementRef> = root
        .descendent_elements()
        .filter(|e| !drop.contains(&e.id()) && is_marked(e))
        .filter(|e| {
            !e.ancestors()
                .filter_map(ElementRef::wrap)
                .any(|a| is_marked(&a))
        })
        .collect();
    let marker_of = |e: &ElementRef| -> String {
        e.value()
            .classes()
            .find(|c| BODY_MARK.is_match(c))
            .map_or_else(|| "itemprop".to_string(), str::to_ascii_lowercase)
    };
    // The first one, with its near relatives under the same marker.
    if let Some(first) = marked.first() {
        let key = marker_of(first);
        // Near relatives: a common ancestor within three levels.
        let near: NodeSet = first.ancestors().take(3).map(|a| a.id()).collect();
        let group: Vec<&ElementRef> = marked
            .iter()
            .filter(|m| {
                m.id() == first.id()
                    || (marker_of(m) == key
                        && m.ancestors().take(3).any(|a| near.contains(&a.id())))
            })
            .collect();
        let len: usize = group.iter().map(|m| stats.get(m).0).sum();
        if len >= 300 && len * 5 >= page_text {
            return Content {
                roots: Some(group.iter().map(|m| m.id()).collect()),
                drop,
            };
        }
    }

    let Some((top, top_score, top_len, top_links)) = best else {
        return Content { roots: None, drop };
    };
    let Some(top_el) = doc.tree.get(top).and_then(ElementRef::wrap) else {
        return Content { roots: None, drop };
    };
    // Sure enough when the candidate holds a good share of the page's text,
    // or is real prose while the rest of the page is mostly links (teasers,
    // menus). Otherwise keep the page (a listing, a service page).
    let rest = page_text.saturating_sub(top_len);
    let rest_links = page_links.saturating_sub(top_links);
    let prose_among_links = top_score >= PROSE_SCORE && rest_links * 2 >= rest;
    if top_len < 300 || !(top_len * 3 >= page_text || prose_among_links) {
        return Content { roots: None, drop };
    }
    // Siblings that belong with the top candidate.
    let threshold = (top_score * 0.2).max(10.0);
    let mut roots = Vec::new();
    if let Some(parent) = top_el.parent().and_then(ElementRef::wrap) {
        for sib in parent.child_elements() {
            if sib.id() == top {
                roots.push(sib.id());
                continue;
            }
            if drop.contains(&sib.id()) {
                continue;
            }
            let s = scores.get(&sib.id()).copied().unwrap_or(0.0);
            let (len, link, _) = stats.get(&sib);
            let density = if len == 0 {
                1.0
            } else {
                link as f64 / len as f64
            };
            let text = sib.text().collect::<String>();
            let keep = s >= threshold
                || (sib.value().name() == "p" && len > 80 && density < 0.25)
                || (sib.value().name() == "p"
                    && len <= 80
                    && len > 0
                    && density == 0.0
                    && text.contains(". "));
            if keep {
                roots.push(sib.id());
            }
        }
    } else {
        roots.push(top);
    }
    Content {
        roots: Some(roots),
        drop,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Taking the chrome out of the stats afterwards gives what a walk
        /// skipping it from the start gives.
        #[test]
        fn stats_without_chrome_are_stats_skipping_it(parts in proptest::collection::vec(
            prop_oneof![
                Just("<nav>"), Just("</nav>"), Just("<footer>"), Just("</footer>"), Just("<aside class=\"x\">"),
                Just("</aside>"), Just("<div class=\"x\">"), Just("<div>"), Just("</div>"), Just("<a href=/>"),
                Just("</a>"), Just("<p>"), Just("</p>"), Just("<script>1,2</script>"), Just("<noscript><nav>n</nav></noscript>"),
                Just("<article>"), Just("</article>"), Just("words, more words "), Just("menu"),
                Just("<div class=\"sidebar\">"), Just("<ul class=\"menu\"><li>a, b</li></ul>"),
            ],
            0..40,
        )) {
            let doc = Html::parse_document(&parts.concat());
            let excluded: NodeSet = doc
                .tree
                .nodes()
                .filter_map(ElementRef::wrap)
                .filter(|e| e.value().has_class("x", scraper::CaseSensitivity::CaseSensitive))
                .map(|e| e.id())
                .collect();
            let (chrome, stats) = chrome(&doc, &excluded);
            let mut skip = chrome.clone();
            skip.extend(excluded.iter().copied());
            prop_assert_eq!(stats.without(&doc, &chrome).0, StatsMap::new(&doc, &skip).0);
        }
    }
}
