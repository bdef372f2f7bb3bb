//! RSS 2.0, RSS 1.0 (RDF) and Atom feeds as lists of entries.

use super::text::normalize;
use crate::model::FeedEntry;
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// What a feed says: its title and entries, in document order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Feed {
    pub title: Option<String>,
    pub entries: Vec<FeedEntry>,
}

/// Whether a body looks like a feed (by its first element).
pub fn looks_like_feed(src: &str) -> bool {
    let head: String = src
        .chars()
        .take(2048)
        .collect::<String>()
        .to_ascii_lowercase();
    let mut rest = head.as_str();
    // Skip the XML declaration, comments and processing instructions.
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        if rest.starts_with('?') || rest.starts_with('!') {
            continue;
        }
        return rest.starts_with("rss") || rest.starts_with("feed") || rest.starts_with("rdf:rdf");
    }
    false
}

#[derive(Default)]
struct Partial {
    id: String,
    title: String,
    link: String,
    date: String,
}

fn attr(e: &BytesStart, name: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

fn entity(name: &str) -> String {
    match name {
        "amp" => "&".into(),
        "lt" => "<".into(),
        "gt" => ">".into(),
        "quot" => "\"".into(),
        "apos" => "'".into(),
        "nbsp" => "\u{a0}".into(),
        other => {
            let num = other.strip_prefix('#');
            let code = num.and_then(|n| match n.strip_prefix(['x', 'X']) {
                Some(h) => u32::from_str_radix(h, 16).ok(),
                None => n.parse().ok(),
            });
            code.and_then(char::from_u32)
                .map_or_else(|| format!("&{other};"), String::from)
        }
    }
}

/// Parse a feed. Malformed XML ends the parse where it breaks: what was
/// read so far is kept.
pub fn parse(src: &str) -> Feed {
    let mut reader = Reader::from_str(src);
    let mut feed = Feed::default();
    let mut stack: Vec<String> = Vec::new();
    let mut entry: Option<Partial> = None;
    let mut feed_title = String::new();
    // Where text goes: the local name of the field being read.
    let field = |stack: &[String], in_entry: bool| -> Option<String> {
        let last = stack.last()?.as_str();
        if in_entry {
            return Some(last.to_string());
        }
        let parent = stack.len().checked_sub(2).map(|i| stack[i].as_str());
        (last == "title" && matches!(parent, Some("channel" | "feed")))
            .then(|| "feed-title".to_string())
    };
    let push_text =
        |stack: &[String], entry: &mut Option<Partial>, feed_title: &mut String, text: &str| {
            match field(stack, entry.is_some()).as_deref() {
                Some("feed-title") => feed_title.push_str(text),
                Some(f) => {
                    if let Some(e) = entry.as_mut() {
                        match f {
                            "title" => e.title.push_str(text),
                            "link" => e.link.push_str(text),
                            "guid" | "id" => e.id.push_str(text),
                            "pubDate" | "published" => e.date = text.to_string(),
                            "updated" | "date" | "issued" | "modified" if e.date.is_empty() => {
                                e.date = text.to_string()
                            }
                            _ => {}
                        }
                    }
                }
                None => {}
            }
        };
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if matches!(name.as_str(), "item" | "entry") {
                    entry = Some(Partial::default());
                }
                if name == "link"
                    && let Some(p) = entry.as_mut()
                    && let Some(href) = attr(&e, b"href")
                    && matches!(attr(&e, b"rel").as_deref(), None | Some("alternate"))
                {
                    p.link = href;
                }
                stack.push(name);
            }
            Ok(Event::Empty(e)) => {
                if e.local_name().as_ref() == b"link"
                    && let Some(p) = entry.as_mut()
                    && let Some(href) = attr(&e, b"href")
                    && matches!(attr(&e, b"rel").as_deref(), None | Some("alternate"))
                    && p.link.is_empty()
                {
                    p.link = href;
                }
            }
            Ok(Event::End(e)) => {
                let name = e.local_name();
                if matches!(name.as_ref(), b"item" | b"entry")
                    && let Some(p) = entry.take()
                {
                    let title = normalize(&p.title);
                    let link = normalize(&p.link);
                    let id = [normalize(&p.id), link.clone(), title.clone()]
                        .into_iter()
                        .find(|s| !s.is_empty())
                        .unwrap_or_default();
                    feed.entries.push(FeedEntry {
                        id,
                        title,
                        link: (!link.is_empty()).then_some(link),
                        date: Some(normalize(&p.date)).filter(|d| !d.is_empty()),
                    });
                }
                stack.pop();
            }
            Ok(Event::Text(t)) => {
                if let Ok(s) = t.decode() {
                    push_text(&stack, &mut entry, &mut feed_title, &s);
                }
            }
            Ok(Event::CData(c)) => {
                if let Ok(s) = c.decode() {
                    push_text(&stack, &mut entry, &mut feed_title, &s);
                }
            }
            Ok(Event::GeneralRef(r)) => {
                if let Ok(s) = r.decode() {
                    push_text(&stack, &mut entry, &mut feed_title, &entity(&s));
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    let t = normalize(&feed_title);
    feed.title = (!t.is_empty()).then_some(t);
    feed
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Press Releases &amp; Statements</title>
<link>https://www.state.gov/</link>
<item><title>U.S. Support to Peacekeepers in the Central African Republic</title>
<link>https://www.state.gov/r/pa/prs/ps/2013/12/218349.htm</link>
<guid isPermaLink="false">218349</guid><pubDate>Sat, 07 Dec 2013 12:00:00 GMT</pubDate></item>
<item><title><![CDATA[Travel to Moldova & Ukraine]]></title><link>https://www.state.gov/r/2</link></item>
</channel></rss>"#;

    const ATOM: &str = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title type="text">Comments on: US to Support Peacekeepers</title>
<entry><title>By: Daniel</title><link rel="alternate" href="https://blog.example/p/#comment-412"/><id>tag:blog,2013:412</id>
<updated>2013-12-07T19:10:00Z</updated><published>2013-12-07T19:00:00Z</published></entry>
<entry><title>Caf&#233; &#x2014; ok</title><link rel="self" href="https://self/"/><link href="https://blog.example/2"/></entry></feed>"#;

    #[test]
    fn rss_items() {
        assert!(looks_like_feed(RSS));
        let f = parse(RSS);
        assert_eq!(f.title.as_deref(), Some("Press Releases & Statements"));
        assert_eq!(
            f.entries,
            vec![
                FeedEntry {
                    id: "218349".into(),
                    title: "U.S. Support to Peacekeepers in the Central African Republic".into(),
                    link: Some("https://www.state.gov/r/pa/prs/ps/2013/12/218349.htm".into()),
                    date: Some("Sat, 07 Dec 2013 12:00:00 GMT".into()),
                },
                FeedEntry {
                    id: "https://www.state.gov/r/2".into(),
                    title: "Travel to Moldova & Ukraine".into(),
                    link: Some("https://www.state.gov/r/2".into()),
                    date: None,
                },
            ]
        );
    }

    #[test]
    fn atom_entries() {
        assert!(looks_like_feed(ATOM));
        let f = parse(ATOM);
        assert_eq!(
            f.title.as_deref(),
            Some("Comments on: US to Support Peacekeepers")
        );
        assert_eq!(f.entries.len(), 2);
        assert_eq!(f.entries[0].id, "tag:blog,2013:412");
        assert_eq!(
            f.entries[0].link.as_deref(),
            Some("https://blog.example/p/#comment-412")
        );
        assert_eq!(f.entries[0].date.as_deref(), Some("2013-12-07T19:00:00Z"));
        assert_eq!(f.entries[1].title, "Café — ok");
        assert_eq!(f.entries[1].link.as_deref(), Some("https://blog.example/2"));
    }

    #[test]
    fn html_and_garbage_are_not_feeds_and_do_not_panic() {
        assert!(!looks_like_feed(
            "<!DOCTYPE html><html><body>x</body></html>"
        ));
        let f = parse("<rss><channel><item><title>cut off");
        assert!(f.entries.is_empty());
        let _ = parse("\u{0}<<<>>>&&&;");
    }
}
