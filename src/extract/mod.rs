//! `Response` → `Page`: decode the body, keep the visible text as blocks,
//! apply the watch's `select`, `ignore` and `ignore_text` rules.
//!
//! Pure: no I/O, no clock, no randomness. Never panics on any input.

mod content;
pub mod decode;
pub mod feed;
mod html;
mod meta;
pub mod quick;
mod responses;
pub mod text;

use crate::model::{Block, BlockKind, Page, Response};
use regex::Regex;
use scraper::Selector;
use sha2::{Digest, Sha256};

/// Bump when extraction changes what it produces for the same input, so
/// stored pages are re-derived from their raw bodies instead of trusted.
pub const EXTRACTOR_VERSION: u32 = 2;

/// A watch's compiled extraction rules.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Identifies these rules and the extractor version: a stored page
    /// extracted under another fingerprint is re-derived before comparing.
    pub fingerprint: String,
    /// The rules as written (see [`source`]): the archive keeps it beside
    /// the versions extracted under them, to derive their pages again.
    pub source: String,
    /// Keep only these parts of the page (empty: the whole page).
    pub select: Vec<Selector>,
    /// Drop these parts before comparing.
    pub ignore: Vec<Selector>,
    /// Remove text matching these from every block and the title.
    pub ignore_text: Vec<Regex>,
    /// Read the body as an RSS/Atom feed whatever its type says
    /// (`kind = "feed"`); feeds with a feed type are read as feeds anyway.
    pub feed: bool,
}

impl Rules {
    /// Compile rules from their source strings (`feed`: read the body as a
    /// feed). Errors name the rule.
    pub fn compile(
        select: &[String],
        ignore: &[String],
        ignore_text: &[String],
        feed: bool,
    ) -> Result<Rules, String> {
        let sel =
            |s: &String| Selector::parse(s).map_err(|e| format!("invalid CSS selector `{s}`: {e}"));
        let source = source(select, ignore, ignore_text, feed);
        Ok(Rules {
            fingerprint: fingerprint_of_source(&source),
            source,
            select: select.iter().map(sel).collect::<Result<_, _>>()?,
            ignore: ignore.iter().map(sel).collect::<Result<_, _>>()?,
            ignore_text: ignore_text
                .iter()
                .map(|r| {
                    Regex::new(r).map_err(|e| format!("invalid regular expression `{r}`: {e}"))
                })
                .collect::<Result<_, _>>()?,
            feed,
        })
    }

    /// The rules a [`source`] text describes (as the archive keeps them).
    pub fn from_source(text: &str) -> Result<Rules, String> {
        type Parts = (Vec<String>, Vec<String>, Vec<String>, bool);
        let (select, ignore, ignore_text, feed): Parts = serde_json::from_str(text)
            .map_err(|e| format!("extraction rules `{text}` are not readable: {e}"))?;
        Rules::compile(&select, &ignore, &ignore_text, feed)
    }
}

/// The default rules: the whole page, nothing ignored.
impl Default for Rules {
    fn default() -> Rules {
        let source = source(&[], &[], &[], false);
        Rules {
            fingerprint: fingerprint_of_source(&source),
            source,
            select: Vec::new(),
            ignore: Vec::new(),
            ignore_text: Vec::new(),
            feed: false,
        }
    }
}

/// The rule sources as one JSON text, `[select, ignore, ignore_text, feed]`.
pub fn source(select: &[String], ignore: &[String], ignore_text: &[String], feed: bool) -> String {
    serde_json::json!([select, ignore, ignore_text, feed]).to_string()
}

/// A short stable hash of the rule sources (as [`source`] writes them)
/// and the extractor version: of `[EXTRACTOR_VERSION, select, ignore,
/// ignore_text, feed]`.
pub fn fingerprint_of_source(source: &str) -> String {
    let rest = source.strip_prefix('[').unwrap_or(source);
    let src = format!("[{EXTRACTOR_VERSION},{rest}");
    sha256_hex(src.as_bytes())[..16].to_string()
}

/// How a body is interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    Html,
    Feed,
    PlainText,
    Opaque,
}

fn body_kind(mime: &str, body: &[u8], force_feed: bool) -> BodyKind {
    let head = &body[..body.len().min(1024)];
    // Binary content is binary whatever its label says.
    if head.contains(&0) || head.starts_with(b"%PDF-") || head.starts_with(b"\x89PNG") {
        return BodyKind::Opaque;
    }
    if force_feed {
        return BodyKind::Feed;
    }
    match mime {
        "application/rss+xml"
        | "application/atom+xml"
        | "application/rdf+xml"
        | "application/feed+json" => BodyKind::Feed,
        "application/xml" | "text/xml" if feed::looks_like_feed(&String::from_utf8_lossy(head)) => {
            BodyKind::Feed
        }
        "text/html" | "application/xhtml+xml" => BodyKind::Html,
        "text/plain" => BodyKind::PlainText,
        "" => {
            let start = String::from_utf8_lossy(head)
                .trim_start()
                .to_ascii_lowercase();
            if start.starts_with("<!doctype html") || start.starts_with("<html") {
                BodyKind::Html
            } else if feed::looks_like_feed(&start) {
                BodyKind::Feed
            } else {
                BodyKind::Opaque
            }
        }
        _ => BodyKind::Opaque,
    }
}

/// Hashes a tree node's id (a small integer) with one multiplication:
/// the default SipHash showed in the profile of extraction, which keeps
/// sets and maps of nodes.
#[derive(Default, Clone, Copy)]
pub struct NodeHasher(u64);

impl std::hash::Hasher for NodeHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

/// A set of tree nodes.
pub type NodeSet =
    std::collections::HashSet<ego_tree::NodeId, std::hash::BuildHasherDefault<NodeHasher>>;
/// A map keyed by tree node.
pub type NodeMap<V> =
    std::collections::HashMap<ego_tree::NodeId, V, std::hash::BuildHasherDefault<NodeHasher>>;

/// An attribute's value as `Element::attr` finds it (an attribute in no
/// namespace), by a look along the element's few attributes rather than
/// interning the name first.
fn attr<'a>(e: &'a scraper::node::Element, name: &str) -> Option<&'a str> {
    e.attrs
        .iter()
        .find(|(q, _)| q.prefix.is_none() && q.ns.is_empty() && &*q.local == name)
        .map(|(_, v)| &**v)
}

/// SHA-256 of some bytes.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Lower-case hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&sha256(bytes))
}

/// Bytes in lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// Interpret a response: the page redline compares.
pub fn extract(resp: &Response, rules: &Rules) -> Page {
    let mime = resp.mime();
    let kind = body_kind(&mime, &resp.body, rules.feed);
    let mut page = Page {
        mime: if mime.is_empty() && kind == BodyKind::Html {
            "text/html".into()
        } else {
            mime.clone()
        },
        body_size: resp.body.len() as u64,
        ..Page::default()
    };
    match kind {
        BodyKind::Html => {
            let (src, _) = decode::decode(&resp.body, resp.header("content-type"), true);
            let base = reqwest::Url::parse(&resp.final_url).ok();
            let h = html::extract_html(&src, base.as_ref(), rules);
            page.title = h.title;
            page.meta = h.meta;
            page.blocks = h.blocks;
            page.responses = h.responses;
        }
        BodyKind::Feed => {
            let (src, _) = decode::decode(&resp.body, resp.header("content-type"), false);
            let f = feed::parse(&src);
            page.title = f.title;
            page.entries = f.entries;
        }
        BodyKind::PlainText => {
            let (src, _) = decode::decode(&resp.body, resp.header("content-type"), false);
            page.blocks = src
                .lines()
                .map(text::normalize)
                .filter(|l| !l.is_empty())
                .map(|l| Block::new(BlockKind::Paragraph, l))
                .collect();
        }
        BodyKind::Opaque => {
            page.body_sha256 = Some(sha256_hex(&resp.body));
        }
    }
    apply_ignore_text(&mut page, &rules.ignore_text);
    page
}

/// Remove text matching any of `patterns` from the title and every block;
/// blocks left empty disappear.
fn apply_ignore_text(page: &mut Page, patterns: &[Regex]) {
    if patterns.is_empty() {
        return;
    }
    let scrub = |s: &str| -> String {
        let mut out = s.to_string();
        for re in patterns {
            if re.is_match(&out) {
                out = re.replace_all(&out, "").into_owned();
            }
        }
        text::normalize(&out)
    };
    page.title = page.title.as_deref().map(scrub).filter(|t| !t.is_empty());
    for b in &mut page.blocks {
        b.text = scrub(&b.text);
    }
    page.blocks.retain(|b| !b.text.is_empty());
}

#[cfg(test)]
mod tests;
