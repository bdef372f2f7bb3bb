//! WARC/1.1 (ISO 28500): writing records (one gzip member each, so any
//! record can be read on its own from its offset) and reading them back,
//! compressed or not, from redline or from other archivers (Heritrix, wget,
//! Wayback Machine downloads).

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::io::{BufRead, Read, Write};

/// A record's digest as WARC writes it: `sha256:` and base32.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", base32(&Sha256::digest(bytes)))
}

/// RFC 4648 base32, upper case, padded.
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    for chunk in bytes.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = u64::from_be_bytes([0, 0, 0, buf[0], buf[1], buf[2], buf[3], buf[4]]);
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < chars {
                let idx = ((n >> (35 - 5 * i)) & 31) as usize;
                out.push(ALPHABET[idx] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A record identifier (`<urn:uuid:…>`) derived from what the record is, so
/// exporting the same archive twice gives the same identifiers.
pub fn record_id(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    let d = h.finalize();
    let hex: String = d[..16].iter().map(|b| format!("{b:02x}")).collect();
    // Shaped as a version 8 (custom) UUID.
    format!(
        "<urn:uuid:{}-{}-8{}-{}-{}>",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// One record to write.
#[derive(Debug, Clone)]
pub struct OutRecord<'a> {
    pub kind: &'a str,
    pub id: String,
    pub date: &'a str,
    pub target_uri: Option<&'a str>,
    pub content_type: &'a str,
    /// Further header fields, in order.
    pub fields: Vec<(&'static str, String)>,
    pub block: &'a [u8],
}

/// Writes records, each as its own gzip member, and tracks offsets.
pub struct Writer<W: Write> {
    out: W,
    offset: u64,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W) -> Writer<W> {
        Writer { out, offset: 0 }
    }

    /// Write a record; returns the offset and compressed length of its gzip
    /// member (what a CDXJ index points at).
    pub fn write(&mut self, r: &OutRecord) -> std::io::Result<(u64, u64)> {
        let mut head = String::with_capacity(512);
        head.push_str("WARC/1.1\r\n");
        head.push_str(&format!("WARC-Type: {}\r\n", r.kind));
        head.push_str(&format!("WARC-Record-ID: {}\r\n", r.id));
        head.push_str(&format!("WARC-Date: {}\r\n", r.date));
        if let Some(uri) = r.target_uri {
            head.push_str(&format!("WARC-Target-URI: {uri}\r\n"));
        }
        for (k, v) in &r.fields {
            // Field values never carry line breaks (they would end the field).
            let v: String = v.chars().filter(|c| *c != '\r' && *c != '\n').collect();
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str(&format!("WARC-Block-Digest: {}\r\n", digest(r.block)));
        head.push_str(&format!("Content-Type: {}\r\n", r.content_type));
        head.push_str(&format!("Content-Length: {}\r\n\r\n", r.block.len()));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(head.as_bytes())?;
        gz.write_all(r.block)?;
        gz.write_all(b"\r\n\r\n")?;
        let member = gz.finish()?;
        self.out.write_all(&member)?;
        let at = self.offset;
        self.offset += member.len() as u64;
        Ok((at, member.len() as u64))
    }

    pub fn finish(mut self) -> std::io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// A record as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InRecord {
    pub version: String,
    /// Header fields in order, names as written.
    pub fields: Vec<(String, String)>,
    pub block: Vec<u8>,
}

impl InRecord {
    /// The first value of a field (names compare case-insensitively).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn kind(&self) -> &str {
        self.field("WARC-Type").unwrap_or("")
    }
}

/// Records bigger than this are refused (a WARC from elsewhere may hold
/// videos; a monitored page never is that big).
pub const MAX_RECORD: u64 = 256 * 1024 * 1024;

/// Reads records one after another from a WARC stream, gzip-compressed
/// (per record or whole) or not.
pub struct Reader {
    input: Box<dyn BufRead>,
    /// The number of the next record (from 1), for messages.
    pub n: usize,
}

impl Reader {
    pub fn open(path: &std::path::Path) -> Result<Reader> {
        let file =
            std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let mut buf = std::io::BufReader::with_capacity(1 << 16, file);
        let gzip = buf.fill_buf()?.starts_with(&[0x1f, 0x8b]);
        let input: Box<dyn BufRead> = if gzip {
            Box::new(std::io::BufReader::with_capacity(
                1 << 16,
                flate2::bufread::MultiGzDecoder::new(buf),
            ))
        } else {
            Box::new(buf)
        };
        Ok(Reader { input, n: 1 })
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Reader {
        let gzip = bytes.starts_with(&[0x1f, 0x8b]);
        let cursor = std::io::Cursor::new(bytes);
        let input: Box<dyn BufRead> = if gzip {
            Box::new(std::io::BufReader::new(
                flate2::bufread::MultiGzDecoder::new(cursor),
            ))
        } else {
            Box::new(cursor)
        };
        Reader { input, n: 1 }
    }

    /// The next record, `None` at the end. An error names the record.
    pub fn next_record(&mut self) -> Result<Option<InRecord>> {
        let n = self.n;
        let r = self
            .read_one()
            .with_context(|| format!("WARC record {n}"))?;
        self.n += 1;
        Ok(r)
    }

    fn read_line(&mut self, line: &mut Vec<u8>) -> Result<usize> {
        line.clear();
        let got = (&mut self.input).take(64 * 1024).read_until(b'\n', line)?;
        if got > 0 && !line.ends_with(b"\n") && got == 64 * 1024 {
            bail!("header line longer than 64 KiB");
        }
        Ok(got)
    }

    fn read_one(&mut self) -> Result<Option<InRecord>> {
        let mut line = Vec::new();
        // Skip blank lines between records.
        loop {
            if self.read_line(&mut line)? == 0 {
                return Ok(None);
            }
            if !line.iter().all(|b| b.is_ascii_whitespace()) {
                break;
            }
        }
        let first = String::from_utf8_lossy(&line).trim().to_string();
        let Some(version) = first.strip_prefix("WARC/") else {
            bail!("expected `WARC/1.x`, found `{}`", truncate(&first, 40));
        };
        let version = version.to_string();
        let mut fields: Vec<(String, String)> = Vec::new();
        loop {
            if self.read_line(&mut line)? == 0 {
                bail!("the file ends inside the record's header");
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\r', '\n']);
            if text.is_empty() {
                break;
            }
            if text.starts_with([' ', '\t']) {
                // A folded continuation line.
                if let Some(last) = fields.last_mut() {
                    last.1.push(' ');
                    last.1.push_str(text.trim());
                }
                continue;
            }
            let Some((k, v)) = text.split_once(':') else {
                bail!("header line without a colon: `{}`", truncate(text, 60));
            };
            fields.push((k.trim().to_string(), v.trim().to_string()));
            if fields.len() > 1000 {
                bail!("more than 1000 header fields");
            }
        }
        let len: u64 = fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Content-Length"))
            .map(|(_, v)| v.parse::<u64>())
            .transpose()
            .context("Content-Length is not a number")?
            .ok_or_else(|| anyhow::anyhow!("no Content-Length"))?;
        if len > MAX_RECORD {
            bail!("a {len}-byte record is over the {MAX_RECORD}-byte limit");
        }
        let mut block = Vec::with_capacity(len.min(1 << 20) as usize);
        (&mut self.input).take(len).read_to_end(&mut block)?;
        if (block.len() as u64) < len {
            bail!("truncated: {} of {len} bytes of content", block.len());
        }
        Ok(Some(InRecord {
            version,
            fields,
            block,
        }))
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// An HTTP message inside a record's block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpMessage {
    pub status: u16,
    /// Header names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Split an `application/http; msgtype=response` block into status,
/// headers and body, undoing chunked transfer coding and gzip/deflate
/// content coding (archivers keep bodies as they came over the wire; redline
/// keeps them as the page was). Those two headers are dropped.
pub fn parse_http_response(block: &[u8]) -> Result<HttpMessage> {
    let end = find(block, b"\r\n\r\n")
        .map(|i| (i, i + 4))
        .or_else(|| find(block, b"\n\n").map(|i| (i, i + 2)))
        .unwrap_or((block.len(), block.len()));
    let head = String::from_utf8_lossy(&block[..end.0]);
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.split_whitespace();
    let proto = parts.next().unwrap_or_default();
    if !proto.starts_with("HTTP/") {
        bail!("not an HTTP response: `{}`", truncate(status_line, 40));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .filter(|s| (100..600).contains(s))
        .ok_or_else(|| anyhow::anyhow!("bad status line `{}`", truncate(status_line, 40)))?;
    let mut headers = Vec::new();
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let mut body = block[end.1..].to_vec();
    let has = |name: &str, value: &str| {
        headers
            .iter()
            .any(|(k, v)| k == name && v.to_ascii_lowercase().contains(value))
    };
    if has("transfer-encoding", "chunked") {
        body = dechunk(&body).context("bad chunked encoding")?;
    }
    if has("content-encoding", "gzip") {
        body = inflate(flate2::read::MultiGzDecoder::new(&body[..]))?;
    } else if has("content-encoding", "deflate") {
        body = inflate(flate2::read::ZlibDecoder::new(&body[..]))
            .or_else(|_| inflate(flate2::read::DeflateDecoder::new(&body[..])))?;
    }
    let decoded = has("content-encoding", "gzip") || has("content-encoding", "deflate");
    headers.retain(|(k, _)| k != "transfer-encoding" && !(decoded && k == "content-encoding"));
    Ok(HttpMessage {
        status,
        headers,
        body,
    })
}

fn inflate(r: impl Read) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    r.take(MAX_RECORD).read_to_end(&mut out)?;
    Ok(out)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn dechunk(mut b: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = find(b, b"\r\n") else {
            bail!("chunk size line not terminated");
        };
        let size_text = String::from_utf8_lossy(&b[..eol]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .with_context(|| format!("bad chunk size `{}`", truncate(size_text, 20)))?;
        b = &b[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if b.len() < size {
            bail!("chunk of {size} bytes, {} left", b.len());
        }
        out.extend_from_slice(&b[..size]);
        b = b.get(size..).unwrap_or_default();
        b = b.strip_prefix(b"\r\n").unwrap_or(b);
    }
}

/// The SURT form of a URL for CDXJ sorting: host labels reversed
/// (`www.` dropped), then `)` and the path and query, lower case.
pub fn surt(url: &str) -> String {
    let Ok(u) = reqwest::Url::parse(url) else {
        return url.to_ascii_lowercase();
    };
    let host = u.host_str().unwrap_or_default().to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    let mut key = if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        host.to_string()
    } else {
        host.split('.').rev().collect::<Vec<_>>().join(",")
    };
    if let Some(port) = u.port() {
        key.push_str(&format!(":{port}"));
    }
    key.push(')');
    key.push_str(u.path());
    if let Some(q) = u.query() {
        key.push('?');
        key.push_str(q);
    }
    key.to_ascii_lowercase()
}

/// A WARC date (`2026-11-29T12:00:00.123Z`) as a CDX timestamp
/// (`20261129120000`).
pub fn cdx_timestamp(date: &str) -> String {
    date.chars()
        .filter(|c| c.is_ascii_digit())
        .take(14)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc4648_vectors() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "MY======");
        assert_eq!(base32(b"fo"), "MZXQ====");
        assert_eq!(base32(b"foo"), "MZXW6===");
        assert_eq!(base32(b"foob"), "MZXW6YQ=");
        assert_eq!(base32(b"fooba"), "MZXW6YTB");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI======");
    }

    #[test]
    fn records_written_are_read_back_field_for_field() {
        let mut w = Writer::new(Vec::new());
        let block = b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\n\r\n<p>hi</p>\n";
        let (o1, l1) = w
            .write(&OutRecord {
                kind: "response",
                id: record_id(&["a"]),
                date: "2026-11-29T12:00:00.123Z",
                target_uri: Some("https://example.org/a"),
                content_type: "application/http; msgtype=response",
                fields: vec![("WARC-Payload-Digest", digest(b"<p>hi</p>\n"))],
                block,
            })
            .unwrap();
        let (o2, _) = w
            .write(&OutRecord {
                kind: "metadata",
                id: record_id(&["b"]),
                date: "2026-11-29T12:00:00.123Z",
                target_uri: None,
                content_type: "application/json",
                fields: vec![("X-Evil", "a\r\nWARC-Type: x".into())],
                block: b"{}",
            })
            .unwrap();
        assert_eq!((o1, o2), (0, l1));
        let bytes = w.finish().unwrap();
        let mut r = Reader::from_bytes(bytes);
        let a = r.next_record().unwrap().unwrap();
        assert_eq!(a.version, "1.1");
        assert_eq!(a.kind(), "response");
        assert_eq!(a.block, block);
        assert_eq!(a.field("warc-block-digest").unwrap(), digest(block));
        let b = r.next_record().unwrap().unwrap();
        assert_eq!(b.kind(), "metadata");
        assert_eq!(b.field("X-Evil"), Some("aWARC-Type: x"));
        assert!(r.next_record().unwrap().is_none());
        let http = parse_http_response(&a.block).unwrap();
        assert_eq!(http.status, 200);
        assert_eq!(http.body, b"<p>hi</p>\n");
        assert_eq!(
            http.headers,
            vec![("content-type".to_string(), "text/html".to_string())]
        );
    }

    #[test]
    fn wire_form_bodies_are_decoded() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"hello world").unwrap();
        let z = gz.finish().unwrap();
        let mut chunked = format!("{:x}\r\n", 4).into_bytes();
        chunked.extend_from_slice(&z[..4]);
        chunked.extend_from_slice(format!("\r\n{:x};ext=1\r\n", z.len() - 4).as_bytes());
        chunked.extend_from_slice(&z[4..]);
        chunked.extend_from_slice(b"\r\n0\r\n\r\n");
        let mut block = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\nX-A: b\r\n\r\n".to_vec();
        block.extend_from_slice(&chunked);
        let m = parse_http_response(&block).unwrap();
        assert_eq!(m.body, b"hello world");
        assert_eq!(m.headers, vec![("x-a".to_string(), "b".to_string())]);
        assert!(parse_http_response(b"GET / HTTP/1.1\r\n\r\n").is_err());
        assert!(
            parse_http_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
                .is_err()
        );
    }

    #[test]
    fn broken_files_give_errors_naming_the_record() {
        let mut r = Reader::from_bytes(b"WARC/1.1\r\nWARC-Type: x\r\n\r\n".to_vec());
        let e = format!("{:#}", r.next_record().unwrap_err());
        assert!(
            e.contains("WARC record 1") && e.contains("no Content-Length"),
            "{e}"
        );
        let mut r = Reader::from_bytes(b"WARC/1.0\r\nContent-Length: 10\r\n\r\nabc".to_vec());
        let e = format!("{:#}", r.next_record().unwrap_err());
        assert!(e.contains("truncated: 3 of 10"), "{e}");
        let mut r = Reader::from_bytes(b"<html>".to_vec());
        assert!(format!("{:#}", r.next_record().unwrap_err()).contains("expected `WARC/1.x`"));
        let mut r = Reader::from_bytes(Vec::new());
        assert!(r.next_record().unwrap().is_none());
    }

    #[test]
    fn surt_and_timestamps() {
        assert_eq!(
            surt("https://www.State.gov/releases/x?y=1"),
            "gov,state)/releases/x?y=1"
        );
        assert_eq!(surt("http://127.0.0.1:8080/a"), "127.0.0.1:8080)/a");
        assert_eq!(cdx_timestamp("2026-11-29T12:03:04.567Z"), "20261129120304");
    }
}
