//! What a page says about itself: canonical URL, published and modified
//! dates (meta tags, `time` elements, JSON-LD) and feed links.

use super::text::normalize;
use crate::model::Meta;
use scraper::{ElementRef, Html};
use serde_json::Value;

/// What the CSS selectors in the tests' `SELECTORS` match, element by
/// element, so that one walk over the document finds all of it. `rel` and
/// `type` values compare ASCII case-insensitively on HTML elements, as
/// CSS does in an HTML document.
mod is {
    use crate::extract::attr;
    use scraper::ElementRef;

    const HTML: &str = "http://www.w3.org/1999/xhtml";

    fn eq(e: &ElementRef, a: &str, b: &str) -> bool {
        if &*e.value().name.ns == HTML {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    }

    /// `[name~=word]` for a name compared case-insensitively in HTML.
    fn has_word(e: &ElementRef, name: &str, word: &str) -> bool {
        attr(e.value(), name).is_some_and(|v| {
            v.split([' ', '\t', '\n', '\r', '\x0C'])
                .any(|w| eq(e, w, word))
        })
    }

    fn named(e: &ElementRef, name: &str) -> bool {
        e.value().name() == name
    }

    /// `link[rel~=canonical][href]`
    pub fn canonical(e: &ElementRef) -> bool {
        named(e, "link") && attr(e.value(), "href").is_some() && has_word(e, "rel", "canonical")
    }

    /// `link[rel~=alternate][type="application/rss+xml"][href]`, or Atom.
    pub fn feed(e: &ElementRef) -> bool {
        named(e, "link")
            && attr(e.value(), "href").is_some()
            && has_word(e, "rel", "alternate")
            && attr(e.value(), "type").is_some_and(|t| {
                eq(e, t, "application/rss+xml") || eq(e, t, "application/atom+xml")
            })
    }

    /// `meta[content]`
    pub fn meta(e: &ElementRef) -> bool {
        named(e, "meta") && attr(e.value(), "content").is_some()
    }

    /// `[itemprop=datePublished], [itemprop=dateModified]`
    pub fn dated_itemprop(e: &ElementRef) -> bool {
        matches!(
            attr(e.value(), "itemprop"),
            Some("datePublished" | "dateModified")
        )
    }

    /// `article time[datetime], time[pubdate][datetime]`
    pub fn time(e: &ElementRef) -> bool {
        named(e, "time")
            && attr(e.value(), "datetime").is_some()
            && (attr(e.value(), "pubdate").is_some()
                || e.ancestors()
                    .filter_map(ElementRef::wrap)
                    .any(|a| named(&a, "article")))
    }

    /// `script[type="application/ld+json"]`
    pub fn json_ld(e: &ElementRef) -> bool {
        named(e, "script")
            && attr(e.value(), "type").is_some_and(|t| eq(e, t, "application/ld+json"))
    }
}

/// The elements [`read`] looks at, each kind in document order, from one
/// walk over the document.
#[derive(Default)]
struct Found<'a> {
    canonical: Option<ElementRef<'a>>,
    feeds: Vec<ElementRef<'a>>,
    metas: Vec<ElementRef<'a>>,
    itemprops: Vec<ElementRef<'a>>,
    json_ld: Vec<ElementRef<'a>>,
    time: Option<ElementRef<'a>>,
}

fn find(doc: &Html) -> Found<'_> {
    let mut f = Found::default();
    for e in super::html::elements(doc) {
        if f.canonical.is_none() && is::canonical(&e) {
            f.canonical = Some(e);
        }
        if is::feed(&e) {
            f.feeds.push(e);
        }
        if is::meta(&e) {
            f.metas.push(e);
        }
        if is::dated_itemprop(&e) {
            f.itemprops.push(e);
        }
        if is::json_ld(&e) {
            f.json_ld.push(e);
        }
        if f.time.is_none() && is::time(&e) {
            f.time = Some(e);
        }
    }
    f
}

const PUBLISHED_META: &[&str] = &[
    "article:published_time",
    "og:published_time",
    "datepublished",
    "date",
    "dc.date",
    "dc.date.issued",
    "dcterms.issued",
    "dcterms.created",
    "pubdate",
    "publish-date",
    "publishdate",
    "sailthru.date",
    "parsely-pub-date",
];
const MODIFIED_META: &[&str] = &[
    "article:modified_time",
    "og:updated_time",
    "datemodified",
    "dc.date.modified",
    "dcterms.modified",
    "last-modified",
    "lastmod",
];

/// Find `key` anywhere in a JSON-LD value (objects, arrays, `@graph`).
fn json_find(v: &Value, key: &str) -> Option<String> {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(s)) = m.get(key) {
                return Some(s.clone());
            }
            m.values().find_map(|x| json_find(x, key))
        }
        Value::Array(a) => a.iter().find_map(|x| json_find(x, key)),
        _ => None,
    }
}

fn absolute(base: Option<&reqwest::Url>, href: &str) -> String {
    base.and_then(|b| b.join(href.trim()).ok())
        .map_or_else(|| href.trim().to_string(), |u| u.to_string())
}

/// Read the page's metadata. `base` resolves relative links.
pub fn read(doc: &Html, base: Option<&reqwest::Url>) -> Meta {
    let found = find(doc);
    let mut meta = Meta {
        canonical: found
            .canonical
            .and_then(|e| e.value().attr("href"))
            .map(|h| absolute(base, h)),
        ..Meta::default()
    };
    for e in found.feeds {
        if let Some(h) = e.value().attr("href") {
            let u = absolute(base, h);
            if !meta.feeds.contains(&u) {
                meta.feeds.push(u);
            }
        }
    }
    for e in found.metas {
        let v = e.value();
        let key = v
            .attr("property")
            .or(v.attr("name"))
            .or(v.attr("itemprop"))
            .unwrap_or("")
            .to_ascii_lowercase();
        let content = normalize(v.attr("content").unwrap_or(""));
        if content.is_empty() {
            continue;
        }
        if meta.published.is_none() && PUBLISHED_META.contains(&key.as_str()) {
            meta.published = Some(content);
        } else if meta.modified.is_none() && MODIFIED_META.contains(&key.as_str()) {
            meta.modified = Some(content);
        }
    }
    for e in found.itemprops {
        let v = e.value();
        let value = v
            .attr("datetime")
            .or(v.attr("content"))
            .map(normalize)
            .unwrap_or_else(|| normalize(&e.text().collect::<String>()));
        if value.is_empty() {
            continue;
        }
        match v.attr("itemprop") {
            Some("datePublished") if meta.published.is_none() => meta.published = Some(value),
            Some("dateModified") if meta.modified.is_none() => meta.modified = Some(value),
            _ => {}
        }
    }
    if meta.published.is_none() || meta.modified.is_none() {
        for e in found.json_ld {
            let Ok(v) = serde_json::from_str::<Value>(&e.text().collect::<String>()) else {
                continue;
            };
            if meta.published.is_none() {
                meta.published = json_find(&v, "datePublished");
            }
            if meta.modified.is_none() {
                meta.modified = json_find(&v, "dateModified");
            }
        }
    }
    if meta.published.is_none() {
        meta.published = found
            .time
            .and_then(|e| e.value().attr("datetime"))
            .map(normalize)
            .filter(|s| !s.is_empty());
    }
    meta
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use scraper::Selector;

    /// Each predicate of [`is`] with the selector it stands for.
    #[allow(clippy::type_complexity)]
    const SELECTORS: &[(fn(&ElementRef) -> bool, &str)] = &[
        (is::canonical, "link[rel~=canonical][href]"),
        (
            is::feed,
            "link[rel~=alternate][type=\"application/rss+xml\"][href], link[rel~=alternate][type=\"application/atom+xml\"][href]",
        ),
        (is::meta, "meta[content]"),
        (
            is::dated_itemprop,
            "[itemprop=datePublished], [itemprop=dateModified]",
        ),
        (is::time, "article time[datetime], time[pubdate][datetime]"),
        (is::json_ld, "script[type=\"application/ld+json\"]"),
    ];

    fn attribute() -> impl Strategy<Value = String> {
        let name = proptest::sample::select(vec![
            "rel", "type", "href", "content", "itemprop", "datetime", "pubdate", "REL",
        ]);
        let value = proptest::sample::select(vec![
            "canonical",
            "Canonical alternate",
            "alternate",
            " alternate\tnofollow",
            "application/rss+xml",
            "Application/Atom+XML",
            "application/ld+json",
            "datePublished",
            "datepublished",
            "dateModified",
            "",
        ]);
        (name, value).prop_map(|(n, v)| format!(" {n}=\"{v}\""))
    }

    proptest! {
        /// One walk finds exactly what each selector finds, in its order.
        #[test]
        fn the_walk_finds_what_the_selectors_find(parts in proptest::collection::vec(
            (
                proptest::sample::select(vec!["link", "meta", "script", "time", "article", "span", "svg", "LINK"]),
                proptest::collection::vec(attribute(), 0..4),
                0usize..2,
            ),
            1..20,
        )) {
            let mut html = String::from("<!DOCTYPE html><html><head>");
            for (tag, attrs, close) in &parts {
                html.push_str(&format!("<{tag}{}>", attrs.concat()));
                if *close == 1 {
                    html.push_str(&format!("x</{tag}>"));
                }
            }
            let doc = Html::parse_document(&html);
            for (is, css) in SELECTORS {
                let selector = Selector::parse(css).unwrap();
                let by_selector: Vec<_> = doc.select(&selector).map(|e| e.id()).collect();
                let by_walk: Vec<_> = super::super::html::elements(&doc).filter(|e| is(e)).map(|e| e.id()).collect();
                prop_assert_eq!(by_selector, by_walk, "{} in {}", css, html);
            }
        }
    }

    #[test]
    fn meta_tags_links_and_json_ld() {
        let doc = Html::parse_document(
            r#"<html><head><link rel="canonical" href="/r/pa/prs/ps/2013/12/218349.htm">
            <link rel="alternate" type="application/rss+xml" href="/feed/"><link rel="alternate" type="application/atom+xml" href="https://x.gov/atom">
            <meta property="article:published_time" content="2013-12-07T12:00:00Z">
            <script type="application/ld+json">{"@graph":[{"@type":"WebPage","dateModified":"2013-12-08T09:00:00Z"}]}</script>
            </head><body><article><time datetime="2001-01-01">old</time></article></body></html>"#,
        );
        let base = reqwest::Url::parse("https://2009-2017.state.gov/x/y.htm").ok();
        let m = read(&doc, base.as_ref());
        assert_eq!(
            m.canonical.as_deref(),
            Some("https://2009-2017.state.gov/r/pa/prs/ps/2013/12/218349.htm")
        );
        assert_eq!(
            m.feeds,
            vec!["https://2009-2017.state.gov/feed/", "https://x.gov/atom"]
        );
        assert_eq!(m.published.as_deref(), Some("2013-12-07T12:00:00Z"));
        assert_eq!(m.modified.as_deref(), Some("2013-12-08T09:00:00Z"));
    }

    #[test]
    fn time_element_and_itemprop_fallbacks() {
        let doc = Html::parse_document(
            r#"<article><span itemprop="dateModified" content="2013-12-09"></span><time datetime="2013-12-05T10:00">Dec 5</time></article>"#,
        );
        let m = read(&doc, None);
        assert_eq!(m.published.as_deref(), Some("2013-12-05T10:00"));
        assert_eq!(m.modified.as_deref(), Some("2013-12-09"));
        assert!(m.canonical.is_none() && m.feeds.is_empty());
    }
}
