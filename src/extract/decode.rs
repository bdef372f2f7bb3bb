//! Turning body bytes into text: charset from the BOM, the Content-Type
//! header, then `<meta charset>` / `http-equiv`, defaulting to UTF-8.
//!
//! A byte-order mark wins over every label, as in browsers (WHATWG
//! "decode"): a BOM is unambiguous, labels are often wrong.

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};
use regex::bytes::Regex;
use std::sync::LazyLock;

/// How many leading bytes are searched for a `<meta>` charset declaration.
const META_PRESCAN: usize = 4096;

static META_CHARSET: LazyLock<Regex> = LazyLock::new(|| {
    // Both `<meta charset="x">` and `<meta http-equiv="Content-Type"
    // content="text/html; charset=x">` carry `charset=` inside the tag.
    Regex::new(r#"(?i-u)<meta\s[^>]*?charset\s*=\s*["']?\s*([a-z0-9_:.+-]+)"#)
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

static XML_ENCODING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i-u)^\s*<\?xml[^>]*?encoding\s*=\s*["']([a-z0-9_:.+-]+)"#)
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

/// The encoding an XML declaration names, if any.
pub fn xml_encoding(body: &[u8]) -> Option<&'static Encoding> {
    let head = &body[..body.len().min(256)];
    let label = XML_ENCODING.captures(head)?.get(1)?.as_bytes();
    Encoding::for_label(label).filter(|e| *e != UTF_16LE && *e != UTF_16BE)
}

/// The charset parameter of a Content-Type header value, if any.
pub fn header_charset(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches(|c| c == '"' || c == '\''))
    })
}

/// The encoding declared by a `<meta>` tag near the start of an HTML body.
pub fn meta_charset(body: &[u8]) -> Option<&'static Encoding> {
    let head = &body[..body.len().min(META_PRESCAN)];
    let label = META_CHARSET.captures(head)?.get(1)?.as_bytes();
    let enc = Encoding::for_label(label)?;
    // A document that could be read as ASCII to find this tag is not UTF-16.
    if enc == UTF_16LE || enc == UTF_16BE {
        return Some(UTF_8);
    }
    // x-user-defined is treated as windows-1252 by browsers.
    if enc.name() == "x-user-defined" {
        return Some(WINDOWS_1252);
    }
    Some(enc)
}

/// Which encoding a body is in, given its Content-Type header value.
pub fn sniff(body: &[u8], content_type: Option<&str>, is_html: bool) -> &'static Encoding {
    if let Some((enc, _)) = Encoding::for_bom(body) {
        return enc;
    }
    if let Some(enc) = content_type
        .and_then(header_charset)
        .and_then(|l| Encoding::for_label(l.as_bytes()))
    {
        return enc;
    }
    if is_html && let Some(enc) = meta_charset(body) {
        return enc;
    }
    if !is_html && let Some(enc) = xml_encoding(body) {
        return enc;
    }
    UTF_8
}

/// Decode a body to text. Malformed sequences become U+FFFD; never fails.
pub fn decode(
    body: &[u8],
    content_type: Option<&str>,
    is_html: bool,
) -> (String, &'static Encoding) {
    let enc = sniff(body, content_type, is_html);
    let (text, used, _had_errors) = enc.decode(body);
    (text.into_owned(), used)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_charset_parsing() {
        assert_eq!(
            header_charset("text/html; charset=ISO-8859-1"),
            Some("ISO-8859-1")
        );
        assert_eq!(header_charset("text/html;charset=\"utf-8\""), Some("utf-8"));
        assert_eq!(header_charset("text/html"), None);
        assert_eq!(
            header_charset("text/html; q=1; CHARSET = koi8-r"),
            Some("koi8-r")
        );
    }

    #[test]
    fn windows_1252_from_header() {
        let body = b"<p>Caf\xe9 \x93quoted\x94 \x80</p>";
        let (text, enc) = decode(body, Some("text/html; charset=windows-1252"), true);
        assert_eq!(enc, WINDOWS_1252);
        assert_eq!(text, "<p>Café “quoted” €</p>");
    }

    #[test]
    fn meta_charset_used_when_header_has_none() {
        let body = b"<html><head><meta charset=\"windows-1252\"></head><p>na\xefve</p>";
        let (text, _) = decode(body, Some("text/html"), true);
        assert!(text.contains("naïve"), "{text}");
        let body2 = b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\"><p>\xe9t\xe9</p>";
        let (text2, _) = decode(body2, None, true);
        assert!(text2.contains("été"), "{text2}");
    }

    #[test]
    fn header_beats_meta_and_bom_beats_header() {
        let body = b"<meta charset=\"windows-1252\"><p>\xc3\xa9</p>";
        let (text, _) = decode(body, Some("text/html; charset=utf-8"), true);
        assert!(text.contains("<p>é</p>"), "{text}");
        let bom = b"\xef\xbb\xbf<p>\xc3\xa9</p>";
        let (text, enc) = decode(bom, Some("text/html; charset=windows-1252"), true);
        assert_eq!(enc, UTF_8);
        assert_eq!(text, "<p>é</p>");
    }

    #[test]
    fn default_is_utf8_and_invalid_bytes_do_not_fail() {
        let (text, enc) = decode(b"<p>ok \xff end</p>", None, true);
        assert_eq!(enc, UTF_8);
        assert_eq!(text, "<p>ok \u{fffd} end</p>");
    }

    #[test]
    fn xml_declaration_names_the_encoding() {
        let body =
            b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss><title>\xe9t\xe9</title></rss>";
        let (text, _) = decode(body, Some("application/rss+xml"), false);
        assert!(text.contains("été"), "{text}");
    }

    #[test]
    fn meta_utf16_label_means_utf8() {
        assert_eq!(meta_charset(b"<meta charset=utf-16>"), Some(UTF_8));
        assert_eq!(meta_charset(b"<meta charset=bogus-charset>"), None);
    }
}
