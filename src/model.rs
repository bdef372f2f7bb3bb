//! The plain types that travel along the pipeline: [`Response`] (what the
//! server said), [`Page`] (what it means) and [`Change`] (one typed
//! difference between two pages). The JSON forms of `Page` and `Change` are
//! stored in the archive and `Change` is a public contract (see README).

use serde::{Deserialize, Serialize};

/// One hop of a redirect chain: the URL that answered with a redirect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    pub url: String,
    pub status: u16,
}

/// What a server said, as received: the evidence the archive keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The URL redline asked for (the watch's URL).
    pub requested_url: String,
    /// The URL that finally answered, after redirects.
    pub final_url: String,
    /// Every redirect followed, in order.
    pub redirects: Vec<Hop>,
    pub status: u16,
    /// Header names lower-cased, values as received (lossy UTF-8), in order.
    pub headers: Vec<(String, String)>,
    /// The body bytes as received (after content-encoding is undone).
    pub body: Vec<u8>,
    pub elapsed_ms: u64,
}

impl Response {
    /// The first value of a header (names are compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The media type of the body, lower-cased, without parameters.
    pub fn mime(&self) -> String {
        self.header("content-type")
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default()
    }
}

/// What kind of block of text a [`Block`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockKind {
    Heading,
    Paragraph,
    ListItem,
    TableRow,
    Preformatted,
}

/// One unit of visible text: a paragraph, heading, list item or table row.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Block {
    pub kind: BlockKind,
    pub text: String,
}

impl Block {
    pub fn new(kind: BlockKind, text: impl Into<String>) -> Block {
        Block {
            kind,
            text: text.into(),
        }
    }
}

/// What kind of reader response an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseKind {
    Comment,
    Pingback,
    Trackback,
}

/// A comment, pingback or trackback under a post, as an item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReaderResponse {
    /// Stable id: the page's own (`comment-412`), else a hash of the content.
    pub id: String,
    pub kind: ResponseKind,
    /// The commenter, or the linking post's title for pingbacks.
    #[serde(default)]
    pub author: Option<String>,
    /// The commenter's link, or the linking post's address.
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub date: Option<String>,
    /// What the response says (a pingback: the linking post's title).
    pub text: String,
}

/// An entry of an RSS or Atom feed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FeedEntry {
    /// The entry's guid or id, else its link, else its title.
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub link: Option<String>,
    #[serde(default)]
    pub date: Option<String>,
}

/// What a response means: the part of it redline compares.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Page {
    /// The document title, whitespace-normalised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The visible text in document order, reader responses excluded.
    #[serde(default)]
    pub blocks: Vec<Block>,
    /// Comments, pingbacks and trackbacks, in document order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub responses: Vec<ReaderResponse>,
    /// Entries, when the page is a feed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<FeedEntry>,
    /// Media type of the body (`text/html`, `application/pdf`, ...).
    #[serde(default)]
    pub mime: String,
    /// For bodies that are not text: the SHA-256 of the raw body, which is
    /// then what gets compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_sha256: Option<String>,
    /// Size of the raw body in bytes.
    #[serde(default)]
    pub body_size: u64,
    /// What the page says about itself (not compared: informational).
    #[serde(default, skip_serializing_if = "Meta::is_empty")]
    pub meta: Meta,
}

/// A page's statements about itself: meta tags, `time` elements, JSON-LD.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Meta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// RSS/Atom feeds the page links to (absolute URLs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feeds: Vec<String>,
}

impl Meta {
    pub fn is_empty(&self) -> bool {
        self == &Meta::default()
    }
}

impl Page {
    /// The page as plain text, one block per paragraph.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for b in &self.blocks {
            out.push_str(&b.text);
            out.push('\n');
        }
        out
    }
}

/// One typed difference between two versions of a page.
///
/// Serialised with a `type` tag; block numbers are 1-based positions in the
/// version the block belongs to (the old version for removals, the new one
/// otherwise). New variants may be added; consumers should ignore types they
/// do not know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    TextAdded {
        block: usize,
        text: String,
    },
    TextRemoved {
        block: usize,
        text: String,
    },
    TextEdited {
        block: usize,
        /// Position of the edited block in the old version.
        old_block: usize,
        before: String,
        after: String,
    },
    TitleChanged {
        before: Option<String>,
        after: Option<String>,
    },
    /// A body that is not text (PDF, image, ...) changed.
    ContentChanged {
        mime: String,
        before_sha256: Option<String>,
        after_sha256: Option<String>,
        before_size: u64,
        after_size: u64,
    },
    /// The page answered 404 or 410.
    PageGone {
        status: u16,
    },
    /// The page answers again after being gone.
    PageBack {
        status: u16,
    },
    /// The same watched URL now ends at a different final URL.
    Redirected {
        from: String,
        to: String,
    },
    CommentAdded(ReaderResponse),
    CommentRemoved(ReaderResponse),
    /// A response kept its id but its text changed.
    CommentEdited {
        #[serde(flatten)]
        item: ReaderResponse,
        before: String,
    },
    /// A feed has a new entry.
    EntryAdded(FeedEntry),
    /// The watch failed this many checks in a row (reported once).
    FetchFailing {
        failures: usize,
        error: String,
    },
    /// The watch answers again after failing this many checks in a row.
    FetchRecovered {
        failures: usize,
    },
    PingbackAdded(ReaderResponse),
    PingbackRemoved(ReaderResponse),
    TrackbackAdded(ReaderResponse),
    TrackbackRemoved(ReaderResponse),
}

impl Change {
    /// The reader response a change is about, if it is about one.
    pub fn response(&self) -> Option<&ReaderResponse> {
        match self {
            Change::CommentAdded(r)
            | Change::CommentRemoved(r)
            | Change::PingbackAdded(r)
            | Change::PingbackRemoved(r)
            | Change::TrackbackAdded(r)
            | Change::TrackbackRemoved(r) => Some(r),
            Change::CommentEdited { item, .. } => Some(item),
            _ => None,
        }
    }

    /// The `type` tag of this change, as in its JSON form.
    pub fn kind(&self) -> &'static str {
        match self {
            Change::TextAdded { .. } => "text_added",
            Change::TextRemoved { .. } => "text_removed",
            Change::TextEdited { .. } => "text_edited",
            Change::TitleChanged { .. } => "title_changed",
            Change::ContentChanged { .. } => "content_changed",
            Change::PageGone { .. } => "page_gone",
            Change::PageBack { .. } => "page_back",
            Change::Redirected { .. } => "redirected",
            Change::CommentAdded(_) => "comment_added",
            Change::CommentRemoved(_) => "comment_removed",
            Change::CommentEdited { .. } => "comment_edited",
            Change::EntryAdded(_) => "entry_added",
            Change::FetchFailing { .. } => "fetch_failing",
            Change::FetchRecovered { .. } => "fetch_recovered",
            Change::PingbackAdded(_) => "pingback_added",
            Change::PingbackRemoved(_) => "pingback_removed",
            Change::TrackbackAdded(_) => "trackback_added",
            Change::TrackbackRemoved(_) => "trackback_removed",
        }
    }
}

/// The host of a URL, without `www.`.
pub fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let host = rest.split(['/', '?', '#']).next()?.rsplit('@').next()?;
    let host = host.split(':').next()?.trim_start_matches("www.");
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_json_uses_type_tag() {
        let c = Change::TextEdited {
            block: 3,
            old_block: 2,
            before: "a".into(),
            after: "b".into(),
        };
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type": "text_edited", "block": 3, "old_block": 2, "before": "a", "after": "b"})
        );
        assert_eq!(v["type"], c.kind());
        let back: Change = serde_json::from_value(v).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn kind_matches_serde_tag_for_every_variant() {
        let all = vec![
            Change::TextAdded {
                block: 1,
                text: "x".into(),
            },
            Change::TextRemoved {
                block: 1,
                text: "x".into(),
            },
            Change::TextEdited {
                block: 1,
                old_block: 1,
                before: "x".into(),
                after: "y".into(),
            },
            Change::TitleChanged {
                before: None,
                after: Some("t".into()),
            },
            Change::ContentChanged {
                mime: "application/pdf".into(),
                before_sha256: None,
                after_sha256: None,
                before_size: 1,
                after_size: 2,
            },
            Change::PageGone { status: 404 },
            Change::PageBack { status: 200 },
            Change::Redirected {
                from: "a".into(),
                to: "b".into(),
            },
        ];
        for c in all {
            let v = serde_json::to_value(&c).unwrap();
            assert_eq!(v["type"], c.kind());
        }
    }
}
