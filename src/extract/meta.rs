//! What a page says about itself: canonical URL, published and modified
//! dates (meta tags, `time` elements, JSON-LD) and feed links.

use super::text::normalize;
use crate::model::Meta;
use scraper::{Html, Selector};
use serde_json::Value;
use std::sync::LazyLock;

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap_or_else(|e| unreachable!("static selector {s}: {e:?}"))
}

static CANONICAL: LazyLock<Selector> = LazyLock::new(|| sel("link[rel~=canonical][href]"));
static FEEDS: LazyLock<Selector> = LazyLock::new(|| {
    sel(
        "link[rel~=alternate][type=\"application/rss+xml\"][href], link[rel~=alternate][type=\"application/atom+xml\"][href]",
    )
});
static META: LazyLock<Selector> = LazyLock::new(|| sel("meta[content]"));
static ITEMPROP: LazyLock<Selector> =
    LazyLock::new(|| sel("[itemprop=datePublished], [itemprop=dateModified]"));
static TIME: LazyLock<Selector> =
    LazyLock::new(|| sel("article time[datetime], time[pubdate][datetime]"));
static JSON_LD: LazyLock<Selector> = LazyLock::new(|| sel("script[type=\"application/ld+json\"]"));

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
    let mut meta = Meta {
        canonical: doc
            .select(&CANONICAL)
            .next()
            .and_then(|e| e.value().attr("href"))
            .map(|h| absolute(base, h)),
        ..Meta::default()
    };
    for e in doc.select(&FEEDS) {
        if let Some(h) = e.value().attr("href") {
            let u = absolute(base, h);
            if !meta.feeds.contains(&u) {
                meta.feeds.push(u);
            }
        }
    }
    for e in doc.select(&META) {
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
    for e in doc.select(&ITEMPROP) {
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
        for e in doc.select(&JSON_LD) {
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
        meta.published = doc
            .select(&TIME)
            .next()
            .and_then(|e| e.value().attr("datetime"))
            .map(normalize)
            .filter(|s| !s.is_empty());
    }
    meta
}

#[cfg(test)]
mod tests {
    use super::*;

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
