//! The cheap path: tell, without parsing either document into a tree,
//! that a new body differs from the previous one only where no reader can
//! see it. A tokenizer splits both bodies into tags, text, comments and raw
//! text (scripts, styles); when the two token lists line up one to one and
//! every difference is invisible (a comment, a script, a nonce or hidden
//! input value, a block of text the watch has learned is volatile), the
//! page is unchanged and full extraction is skipped.
//!
//! It only ever answers "certainly the same" or "don't know": any other
//! difference, a different number of tokens, a non-HTML body, sends the
//! check down the full path. Pure.

use super::text::normalize;
use crate::volatile::VolatileRule;
use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok<'a> {
    /// `<name attrs>`: the whole tag.
    Start {
        name: &'a [u8],
        raw: &'a [u8],
    },
    End {
        name: &'a [u8],
    },
    Text(&'a [u8]),
    Comment(&'a [u8]),
    /// The content of a raw-text element (script, style, …).
    Raw {
        parent: &'a [u8],
        text: &'a [u8],
    },
    /// `<!DOCTYPE …>`, `<?…>`.
    Other(&'a [u8]),
}

/// Whether `name` is one of `names` (ASCII case ignored).
fn one_of(name: &[u8], names: &[&str]) -> bool {
    names
        .iter()
        .any(|n| n.as_bytes().eq_ignore_ascii_case(name))
}

/// Elements whose content is raw text, never markup. `title` is one, but
/// its text is compared (the page's title), so its changes count.
fn raw_text_element(name: &[u8]) -> bool {
    one_of(
        name,
        &[
            "script", "style", "textarea", "title", "xmp", "noscript", "iframe", "noembed",
            "noframes",
        ],
    )
}

/// Raw-text elements whose content is never visible text.
fn invisible_raw(name: &[u8]) -> bool {
    !name.eq_ignore_ascii_case(b"title")
}

/// Elements whose attributes never reach the extracted page (hidden
/// inputs, metadata, scripts).
fn attributes_invisible(name: &[u8]) -> bool {
    one_of(
        name,
        &["input", "meta", "link", "script", "style", "noscript"],
    )
}

/// Attributes that never reach the extracted page on any element.
fn invisible_attribute(name: &[u8]) -> bool {
    name.get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"data-"))
        || one_of(name, &["nonce", "integrity", "value", "csrf", "csrf-token"])
}

/// Elements whose lone text child is a block of its own: the extractor's
/// block elements, except table structure (text directly in a table is
/// moved out of it by the parser; cells are joined into their row's block)
/// and void elements.
fn block_element(name: &[u8]) -> bool {
    let Ok(name) = std::str::from_utf8(name) else {
        return false;
    };
    let name = name.to_ascii_lowercase();
    super::html::is_block(&name)
        && !matches!(
            name.as_str(),
            "table" | "thead" | "tbody" | "tfoot" | "tr" | "caption" | "br" | "hr"
        )
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

/// Where `</name` starts in `hay`, ASCII case ignored.
fn find_close(hay: &[u8], name: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = memchr::memmem::find(&hay[from..], b"</") {
        let at = from + i;
        if hay
            .get(at + 2..at + 2 + name.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(name))
        {
            return Some(at);
        }
        from = at + 2;
    }
    None
}

/// The end of a tag starting at `b[0] == '<'`: the index after its `>`,
/// quotes respected.
fn tag_end(b: &[u8]) -> usize {
    let mut i = 1;
    while let Some(j) = memchr::memchr3(b'>', b'"', b'\'', b.get(i..).unwrap_or_default()) {
        let at = i + j;
        match b[at] {
            b'>' => return at + 1,
            q => match memchr::memchr(q, &b[at + 1..]) {
                Some(k) => i = at + 1 + k + 1,
                None => return b.len(),
            },
        }
    }
    b.len()
}

#[cfg(test)]
fn tokenize(b: &[u8]) -> Vec<Tok<'_>> {
    spans(b).into_iter().map(|(t, _)| t).collect()
}

/// Tokens with the byte range each covers.
type Spans<'a> = Vec<(Tok<'a>, Range<usize>)>;

/// Tokens with the byte range each covers; the ranges tile the input.
fn spans(b: &[u8]) -> Spans<'_> {
    let mut out = Vec::with_capacity(b.len() / 32);
    let (mut i, mut raw_of) = (0, None);
    while i < b.len() || raw_of.is_some() {
        let (t, len) = token_at(b, i, raw_of);
        raw_of = raw_after(&t);
        out.push((t, i..i + len));
        i += len;
    }
    out
}

/// The token at `b[i..]`, and its length, when `raw_of` is the raw-text
/// element (if any) whose content comes next. It is decided by its own
/// bytes, those of the token after it and one byte more, never further
/// (or by the end of the input): [`walk`] relies on that.
#[inline(always)]
fn token_at<'a>(b: &'a [u8], i: usize, raw_of: Option<&'a [u8]>) -> (Tok<'a>, usize) {
    let rest = &b[i.min(b.len())..];
    if let Some(parent) = raw_of {
        let len = find_close(rest, parent).unwrap_or(rest.len());
        return (
            Tok::Raw {
                parent,
                text: &rest[..len],
            },
            len,
        );
    }
    if rest.first() != Some(&b'<') {
        let end = memchr::memchr(b'<', rest).unwrap_or(rest.len());
        return (Tok::Text(&rest[..end]), end);
    }
    if rest.starts_with(b"<!--") {
        let end = find(&rest[4..], b"-->").map_or(rest.len(), |e| e + 7);
        return (Tok::Comment(&rest[..end]), end);
    }
    let next = rest.get(1).copied().unwrap_or(0);
    if next == b'!' || next == b'?' {
        let end = memchr::memchr(b'>', rest).map_or(rest.len(), |e| e + 1);
        return (Tok::Other(&rest[..end]), end);
    }
    let closing = next == b'/';
    let name_start = if closing { 2 } else { 1 };
    let name_len = rest[name_start.min(rest.len())..]
        .iter()
        .position(|c| !c.is_ascii_alphanumeric() && *c != b'-' && *c != b':')
        .unwrap_or(rest.len() - name_start.min(rest.len()));
    if name_len == 0 || !rest[name_start].is_ascii_alphabetic() {
        // A lone `<`: text.
        return (Tok::Text(&rest[..1]), 1);
    }
    let name = &rest[name_start..name_start + name_len];
    let end = tag_end(rest);
    if closing {
        (Tok::End { name }, end)
    } else {
        (
            Tok::Start {
                name,
                raw: &rest[..end],
            },
            end,
        )
    }
}

/// The raw-text element whose content follows `t`, if `t` opens one.
fn raw_after<'a>(t: &Tok<'a>) -> Option<&'a [u8]> {
    match *t {
        Tok::Start { name, raw } if raw_text_element(name) && !raw.ends_with(b"/>") => Some(name),
        _ => None,
    }
}

/// How many leading bytes `a` and `b` share.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    for step in [256, 16] {
        while i + step <= n && a[i..i + step] == b[i..i + step] {
            i += step;
        }
    }
    i + a[i..n]
        .iter()
        .zip(&b[i..n])
        .take_while(|(x, y)| x == y)
        .count()
}

/// Walk `new`'s tokens (`ys`, from [`spans`]) against `old`'s, one to
/// one, calling `differ(j, old's token, its range)` for each token `ys[j]`
/// whose bytes differ from its counterpart's; `false` from it ends the
/// walk. Also `false` when the two token lists differ in length.
///
/// `old` is tokenized only around differences: a token of `new` that lies,
/// with the token after it and one byte more, inside a stretch both bodies
/// share byte for byte is the same token in `old` when the tokenizer is in
/// the same state there (see [`token_at`]), so most of `old` is passed over
/// by comparing bytes in bulk.
fn walk<'a>(
    old: &'a [u8],
    new: &'a [u8],
    ys: &[(Tok<'a>, Range<usize>)],
    differ: &mut dyn FnMut(usize, Tok<'a>, Range<usize>) -> bool,
) -> bool {
    // `ys[j]`'s counterpart starts at `a` in `old`, with `raw_of` as the
    // tokenizer's state there; `old[a..a + same]` is known to equal the
    // bytes of `new` from `ys[j]` on.
    let (mut a, mut raw_of, mut same) = (0, None, 0);
    let mut j = 0;
    while let Some((_, rb)) = ys.get(j) {
        // The same bytes make the same token only from the same state.
        let state = j.checked_sub(1).and_then(|k| raw_after(&ys[k].0));
        // What must be shared: this token, the next and one byte more (a
        // lone `<` is told from `</x` by its third byte), or the rest of
        // both bodies when that reaches the end.
        let (need, both_end) = match ys.get(j + 1) {
            Some((_, next)) if next.end < new.len() => (next.end + 1 - rb.start, true),
            _ => (
                new.len() - rb.start,
                old.len().saturating_sub(a) == new.len() - rb.start,
            ),
        };
        if same < need {
            same = common_prefix(&old[a.min(old.len())..], &new[rb.start..]);
        }
        if same >= need && both_end && raw_of == state {
            // This token is shared, and so is every one after it that
            // lies, with its next token and a byte, inside the stretch.
            let limit = rb.start + same;
            let mut k = j + 1;
            while ys.get(k + 1).is_some_and(|(_, next)| next.end < limit) {
                k += 1;
            }
            let skipped = ys[k - 1].1.end - rb.start;
            raw_of = raw_after(&ys[k - 1].0);
            a += skipped;
            same -= skipped;
            j = k;
            continue;
        }
        if a >= old.len() && raw_of.is_none() {
            // `old` has fewer tokens.
            return false;
        }
        let (ta, len) = token_at(old, a, raw_of);
        let ra = a..a + len;
        raw_of = raw_after(&ta);
        if old[ra.clone()] != new[rb.clone()] && !differ(j, ta, ra) {
            return false;
        }
        a += len;
        same = 0;
        j += 1;
    }
    a >= old.len() && raw_of.is_none()
}

/// A patch turning `old` into `new`, when their token lists line up and
/// the differing tokens are small next to the body (noise: nonces,
/// timestamps, counters): `(offset, removed length, inserted bytes)`, in
/// order. `None` when a patch would not pay.
pub fn patch(old: &[u8], new: &[u8]) -> Option<Vec<u8>> {
    let ys = spans(new);
    let mut p = PatchBuilder::new(new.len(), old.len());
    let lined_up = walk(old, new, &ys, &mut |j, _, ra| {
        p.push(ra.start, ra.len(), &new[ys[j].1.clone()]);
        true
    });
    if lined_up { p.finish() } else { None }
}

/// Apply a [`patch`] to the body it was made from; `None` when the patch
/// does not fit it (a damaged archive).
pub fn apply_patch(old: &[u8], patch: &[u8]) -> Option<Vec<u8>> {
    let pieces = pieces(old, patch)?;
    let mut out = Vec::with_capacity(pieces.iter().map(|p| p.len()).sum());
    for p in pieces {
        out.extend_from_slice(p);
    }
    Some(out)
}

/// Whether `patch` turns `old` into exactly `new`: [`apply_patch`]
/// compared with `new`, without building the result.
pub fn patch_rebuilds(old: &[u8], patch: &[u8], new: &[u8]) -> bool {
    let Some(pieces) = pieces(old, patch) else {
        return false;
    };
    let mut rest = new;
    for p in pieces {
        match rest.split_at_checked(p.len()) {
            Some((head, tail)) if head == p => rest = tail,
            _ => return false,
        }
    }
    rest.is_empty()
}

/// What a patch makes of `old`, in order: stretches of `old` and the
/// bytes put between them. `None` when the patch does not fit `old`.
fn pieces<'a>(old: &'a [u8], patch: &'a [u8]) -> Option<Vec<&'a [u8]>> {
    let mut out = Vec::new();
    let (mut at, mut p) = (0usize, patch);
    let word = |p: &[u8], i: usize| -> Option<usize> {
        let b: [u8; 4] = p.get(i..i + 4)?.try_into().ok()?;
        Some(u32::from_le_bytes(b) as usize)
    };
    while !p.is_empty() {
        let (offset, removed, inserted) = (word(p, 0)?, word(p, 4)?, word(p, 8)?);
        if offset < at {
            return None;
        }
        out.push(old.get(at..offset)?);
        out.push(p.get(12..12 + inserted)?);
        at = offset.checked_add(removed)?;
        p = &p[12 + inserted..];
    }
    out.push(old.get(at..)?);
    Some(out)
}

/// A start tag's attributes as (name, value) pairs, in order.
fn attributes(raw: &[u8]) -> Vec<(&[u8], &[u8])> {
    let inner = raw
        .strip_prefix(b"<")
        .unwrap_or(raw)
        .strip_suffix(b">")
        .unwrap_or(raw);
    let mut i = inner
        .iter()
        .position(|c| c.is_ascii_whitespace() || *c == b'/')
        .unwrap_or(inner.len());
    let mut out = Vec::new();
    while i < inner.len() {
        while i < inner.len() && (inner[i].is_ascii_whitespace() || inner[i] == b'/') {
            i += 1;
        }
        let start = i;
        while i < inner.len()
            && !inner[i].is_ascii_whitespace()
            && inner[i] != b'='
            && inner[i] != b'/'
        {
            i += 1;
        }
        let name = &inner[start..i];
        let mut value: &[u8] = b"";
        if i < inner.len() && inner[i] == b'=' {
            i += 1;
            match inner.get(i) {
                Some(&q) if q == b'"' || q == b'\'' => {
                    let end = inner[i + 1..]
                        .iter()
                        .position(|&c| c == q)
                        .map_or(inner.len(), |e| i + 1 + e);
                    value = &inner[i + 1..end];
                    i = (end + 1).min(inner.len());
                }
                _ => {
                    let end = inner[i..]
                        .iter()
                        .position(|c| c.is_ascii_whitespace())
                        .map_or(inner.len(), |e| i + e);
                    value = &inner[i..end];
                    i = end;
                }
            }
        }
        if !name.is_empty() {
            out.push((name, value));
        }
    }
    out
}

fn tags_equivalent(name: &[u8], a: &[u8], b: &[u8]) -> bool {
    if attributes_invisible(name) {
        return true;
    }
    let (x, y) = (attributes(a), attributes(b));
    x.len() == y.len()
        && x.iter().zip(&y).all(|((n1, v1), (n2, v2))| {
            n1.eq_ignore_ascii_case(n2) && (v1 == v2 || invisible_attribute(n1))
        })
}

/// Only ASCII digits differ, position for position ("10:31:05" →
/// "10:32:17"): word and character counts, and so every statistic content
/// selection relies on, stay the same.
fn digits_only(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x == y || (x.is_ascii_digit() && y.is_ascii_digit()))
}

/// Equal length, with whitespace and punctuation in the same places: only
/// letters and digits differ.
fn same_shape(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x == y || (x.is_ascii_alphanumeric() && y.is_ascii_alphanumeric()))
}

/// Whether a text token's change is invisible: the same once whitespace is
/// normalised; the lone text of a block both before and after matching one
/// of the watch's volatile rules; or digits changing in text that the
/// current version does not show at all (`shown` says whether it does).
fn text_equivalent(
    before: Option<&Tok>,
    after: Option<&Tok>,
    a: &[u8],
    b: &[u8],
    volatile: &[VolatileRule],
    shown: &mut dyn FnMut(&str) -> bool,
) -> bool {
    // Whitespace runs count as one space, but whether there is space at
    // either end matters: it separates this text from its inline neighbours.
    let collapse = |t: &[u8]| -> Vec<u8> {
        let mut out = Vec::with_capacity(t.len());
        for &c in t {
            if c.is_ascii_whitespace() {
                if out.last() != Some(&b' ') {
                    out.push(b' ');
                }
            } else {
                out.push(c);
            }
        }
        out
    };
    if collapse(a) == collapse(b) {
        return true;
    }
    let (ta, tb) = (
        normalize(&String::from_utf8_lossy(a)),
        normalize(&String::from_utf8_lossy(b)),
    );
    let isolated = match (before, after) {
        (Some(Tok::Start { name: open, .. }), Some(Tok::End { name: close })) => {
            open.eq_ignore_ascii_case(close) && block_element(open)
        }
        _ => false,
    };
    // Same shape as well: content selection weighs text by its length and
    // words, so a volatile block that grows could change what is selected.
    if isolated
        && same_shape(a, b)
        && volatile
            .iter()
            .any(|r| r.matches_text(&ta) && r.matches_text(&tb))
    {
        return true;
    }
    // Plain ASCII without entities reads the same in every ASCII-compatible
    // encoding, so it can be looked up in the decoded page.
    let plain = |t: &[u8]| t.iter().all(|c| c.is_ascii() && *c != b'&');
    digits_only(a, b) && plain(a) && !ta.is_empty() && !shown(&ta)
}

/// Whether `new` differs from `old` only in ways the extracted page (after
/// removing the watch's volatile blocks) cannot show. `false` means "not
/// known", never "changed".
///
/// `shown(text)` says whether the page extracted from `old` shows `text`
/// (anywhere: title, blocks, responses); it is asked only about text whose
/// digits changed, and answering `true` is always safe.
pub fn only_invisible_changes(
    old: &[u8],
    new: &[u8],
    volatile: &[VolatileRule],
    shown: &mut dyn FnMut(&str) -> bool,
) -> bool {
    changes(old, new, volatile, shown).is_ok()
}

/// The texts of `body` whose digits the cheap path may ask about (see
/// [`only_invisible_changes`]): each plain-ASCII, entity-free text with a digit,
/// as it is in the body (not yet normalised), in document order.
pub fn digit_texts(body: &[u8]) -> Vec<&str> {
    digit_texts_in(&spans(body))
}

/// [`digit_texts`] of a body tokenized already.
fn digit_texts_in<'a>(spans: &[(Tok<'a>, Range<usize>)]) -> Vec<&'a str> {
    let plain = |t: &[u8]| t.is_ascii() && memchr::memchr(b'&', t).is_none();
    // Without a branch per byte (most texts have no digit, or one late).
    let has_digit = |t: &[u8]| t.iter().fold(false, |f, c| f | c.is_ascii_digit());
    let mut out = Vec::new();
    for &(t, _) in spans {
        if let Tok::Text(x) = t
            && has_digit(x)
            && plain(x)
            && let Ok(text) = std::str::from_utf8(x)
        {
            out.push(text);
        }
    }
    out
}

/// What the cheap path found: the new body differs invisibly, and here is
/// a [`patch`] from the old body to it (when one pays).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invisible {
    pub patch: Option<Vec<u8>>,
}

/// [`only_invisible_changes`], also giving the patch, from one walk over
/// the two token lists; when the change is visible, the [`digit_texts`]
/// of `new` instead, from the tokens the walk had (what the new version's
/// page does not show is worked out from them).
pub fn invisible_or_digit_texts<'a>(
    old: &[u8],
    new: &'a [u8],
    volatile: &[VolatileRule],
    shown: &mut dyn FnMut(&str) -> bool,
) -> Result<Invisible, Vec<&'a str>> {
    changes(old, new, volatile, shown).map_err(|tokens| match tokens {
        Some(ys) => digit_texts_in(&ys),
        None => digit_texts(new),
    })
}

/// The walk of [`invisible_or_digit_texts`]; a visible change gives the
/// new body's tokens, when it was tokenized.
fn changes<'a>(
    old: &[u8],
    new: &'a [u8],
    volatile: &[VolatileRule],
    shown: &mut dyn FnMut(&str) -> bool,
) -> Result<Invisible, Option<Spans<'a>>> {
    if old == new {
        return Ok(Invisible {
            patch: Some(Vec::new()),
        });
    }
    // Not an ASCII-compatible encoding (UTF-16): don't guess.
    let nul = |b: &[u8]| b.iter().take(4096).filter(|&&c| c == 0).count() > 8;
    if nul(old) || nul(new) {
        return Err(None);
    }
    let ys = spans(new);
    let mut patch = PatchBuilder::new(new.len(), old.len());
    let invisible = walk(old, new, &ys, &mut |j, ta, ra| {
        let (tb, rb) = (ys[j].0, ys[j].1.clone());
        let same = ta == tb
            || match (ta, tb) {
                (Tok::Comment(_), Tok::Comment(_)) => true,
                (Tok::Raw { parent: p, .. }, Tok::Raw { parent: q, .. }) => {
                    p.eq_ignore_ascii_case(q) && invisible_raw(p)
                }
                (Tok::Start { name: n, raw: x }, Tok::Start { name: m, raw: y }) => {
                    n.eq_ignore_ascii_case(m) && tags_equivalent(n, x, y)
                }
                (Tok::Text(x), Tok::Text(y)) => text_equivalent(
                    j.checked_sub(1).and_then(|k| ys.get(k)).map(|t| &t.0),
                    ys.get(j + 1).map(|t| &t.0),
                    x,
                    y,
                    volatile,
                    shown,
                ),
                _ => false,
            };
        if same {
            patch.push(ra.start, ra.len(), &new[rb]);
        }
        same
    });
    if invisible {
        Ok(Invisible {
            patch: patch.finish(),
        })
    } else {
        Err(Some(ys))
    }
}

/// Builds a [`patch`]; gives up (quietly) once it stops paying.
struct PatchBuilder {
    out: Vec<u8>,
    limit: usize,
    ok: bool,
}

impl PatchBuilder {
    fn new(new_len: usize, old_len: usize) -> PatchBuilder {
        PatchBuilder {
            out: Vec::new(),
            limit: new_len / 8,
            ok: old_len >= 1024,
        }
    }

    fn push(&mut self, offset: usize, removed: usize, inserted: &[u8]) {
        if !self.ok {
            return;
        }
        let (Ok(o), Ok(r), Ok(n)) = (
            u32::try_from(offset),
            u32::try_from(removed),
            u32::try_from(inserted.len()),
        ) else {
            self.ok = false;
            return;
        };
        self.out.extend_from_slice(&o.to_le_bytes());
        self.out.extend_from_slice(&r.to_le_bytes());
        self.out.extend_from_slice(&n.to_le_bytes());
        self.out.extend_from_slice(inserted);
        if self.out.len() > self.limit {
            self.ok = false;
        }
    }

    fn finish(self) -> Option<Vec<u8>> {
        self.ok.then_some(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_texts_are_the_plain_texts_with_a_digit_in_document_order() {
        let body = b"<html><head><title>Release 7</title><script>var n = 42;</script></head>\
            <body data-x=9><!-- 2026 --><p>No digits here.</p><p>Page generated at  10:00:01 </p>\
            <p>Caf\xc3\xa9 3</p><p>Fish &amp; 4 chips</p><div>Updated <b>3 May</b></div>\
            <textarea>5</textarea></body></html>";
        assert_eq!(digit_texts(body), ["Page generated at  10:00:01 ", "3 May"]);
        assert!(digit_texts(b"").is_empty());
        assert!(digit_texts(b"<p>1").len() == 1);
    }

    #[test]
    fn a_visible_change_hands_back_the_new_bodys_digit_texts() {
        let old = b"<p>Total: 40 million</p><!-- 1 --><p>Page generated at 10:00</p>";
        let noise = b"<p>Total: 40 million</p><!-- 2 --><p>Page generated at 10:00</p>";
        let edit = b"<p>Total: 45 million</p><!-- 2 --><p>Page generated at 10:01</p>";
        let mut shown = |_: &str| true;
        assert!(invisible_or_digit_texts(old, noise, &[], &mut shown).is_ok());
        assert_eq!(
            invisible_or_digit_texts(old, edit, &[], &mut shown),
            Err(vec!["Total: 45 million", "Page generated at 10:01"])
        );
        assert_eq!(
            digit_texts(edit),
            ["Total: 45 million", "Page generated at 10:01"]
        );
        // Not tokenized (UTF-16): found by a walk of their own.
        let utf16: Vec<u8> = "<p>1</p>"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .chain([0; 10])
            .collect();
        assert_eq!(
            invisible_or_digit_texts(old, &utf16, &[], &mut shown),
            Err(digit_texts(&utf16))
        );
    }
    use crate::compare::compare;
    use crate::extract::{Rules, extract};
    use crate::model::Response;
    use crate::volatile::strip;
    use proptest::prelude::*;

    fn page(nonce: &str, seq: &str, amount: &str, comment: &str) -> String {
        format!(
            "<!DOCTYPE html><html><head><title>Release</title><script nonce=\"{nonce}\">var t='{nonce}';</script>\
             <meta name=\"csrf-token\" content=\"{nonce}\"></head><body><main><article>\
             <h1>Release</h1><div class=\"entry-content\"><p>The United States will provide {amount} in aid.</p>\
             <p>We call on all parties to respect the ceasefire.</p></div></article>\
             <form><input type=\"hidden\" name=\"token\" value=\"{nonce}\"></form>\
             <p class=\"generated\">Page generated at 10:31:{seq}</p>\
             <div data-ts=\"{seq}\">Footer</div><!-- rendered in 0.{seq}s -->{comment}</main></body></html>"
        )
    }

    fn rule() -> Vec<VolatileRule> {
        vec![VolatileRule::Pattern {
            prefix: "Page generated at".into(),
            suffix: String::new(),
        }]
    }

    #[test]
    fn nonces_comments_hidden_values_and_volatile_lines_are_invisible() {
        let a = page("abc123", "01", "$40 million", "");
        let b = page("zz9977", "59", "$40 million", "");
        // (the timestamp keeps its shape: see `same_shape`)
        assert!(only_invisible_changes(
            a.as_bytes(),
            b.as_bytes(),
            &rule(),
            &mut |_| true
        ));
        // Without the learned rule the visible timestamp is a difference.
        assert!(!only_invisible_changes(
            a.as_bytes(),
            b.as_bytes(),
            &[],
            &mut |_| true
        ));
    }

    #[test]
    fn digits_change_invisibly_only_in_text_the_page_does_not_show() {
        let a = b"<p>Views: 14 today</p><p>Price \xe95</p><p>Price &euro;5</p>";
        let b = b"<p>Views: 15 today</p><p>Price \xe96</p><p>Price &euro;6</p>";
        // Nothing of it is shown: only the ASCII, entity-free text counts.
        assert!(!only_invisible_changes(a, b, &[], &mut |_| false));
        let only_views = |x: &[u8], y: &[u8]| only_invisible_changes(x, y, &[], &mut |_| false);
        assert!(only_views(
            b"<p>Views: 14 today</p>",
            b"<p>Views: 15 today</p>"
        ));
        assert!(!only_views(
            b"<p>Views: 14 today</p>",
            b"<p>Views: 150 today</p>"
        ));
        assert!(!only_views(b"<p>Price \xe95</p>", b"<p>Price \xe96</p>"));
        assert!(!only_views(
            b"<p>Price &euro;5</p>",
            b"<p>Price &euro;6</p>"
        ));
        // Shown on the page: a real edit.
        assert!(!only_invisible_changes(
            b"<p>Views: 14 today</p>",
            b"<p>Views: 15 today</p>",
            &[],
            &mut |t| t == "Views: 14 today"
        ));
    }

    #[test]
    fn visible_edits_are_never_called_invisible() {
        let a = page("abc", "01", "$40 million", "");
        for b in [
            page("abc", "01", "$60 million", ""),
            page("abc", "01", "$40 million", "<p>New paragraph.</p>"),
            page(
                "abc",
                "01",
                "$40 million",
                "<li id=\"comment-9\">A comment</li>",
            ),
            a.replace("<title>Release</title>", "<title>Release (updated)</title>"),
            a.replace("class=\"entry-content\"", "class=\"entry\""),
            a.replace("<p>We call", "<p>We  call"),
        ] {
            let same = only_invisible_changes(a.as_bytes(), b.as_bytes(), &rule(), &mut |_| true);
            // Whitespace alone is invisible; everything else is not.
            assert_eq!(same, b.contains("We  call"), "{b}");
        }
        // A volatile-looking line that is not a block of its own.
        let x = "<p>Intro <b>Page generated at 10:31:01</b> and $40 million</p>";
        let y = "<p>Intro <b>Page generated at 10:31:02</b> and $40 million</p>";
        assert!(!only_invisible_changes(
            x.as_bytes(),
            y.as_bytes(),
            &rule(),
            &mut |_| true
        ));
        // A table cell is not a block of its own: cells join their row.
        let x = "<table><tr><td>Build</td><td>Page generated at 10:31:01</td></tr></table>";
        let y = "<table><tr><td>Build</td><td>Page generated at 10:31:02</td></tr></table>";
        assert!(!only_invisible_changes(
            x.as_bytes(),
            y.as_bytes(),
            &rule(),
            &mut |_| true
        ));
        // UTF-16 is not guessed at.
        let u: Vec<u8> = "<p>a</p>"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let mut v = u.clone();
        v[3] = b'b';
        assert!(!only_invisible_changes(&u, &v, &[], &mut |_| true));
    }

    #[test]
    fn patches_rebuild_the_new_body_exactly() {
        let long =
            |p: String| p.replace("<h1>", &"<p>A paragraph of the release.</p>\n".repeat(200));
        let a = long(page("abc123", "01", "$40 million", ""));
        let b = long(page("zz9977xx", "59", "$40 million", ""));
        let p = patch(a.as_bytes(), b.as_bytes()).unwrap();
        assert!(p.len() < 400, "{}", p.len());
        assert_eq!(apply_patch(a.as_bytes(), &p).unwrap(), b.as_bytes());
        // Structure changed: no patch.
        let c = long(page("abc123", "01", "$40 million", "<p>new</p>"));
        assert!(patch(a.as_bytes(), &c.into_bytes()).is_none());
        // A patch that does not fit its base is refused, not applied.
        assert!(apply_patch(b"short", &p).is_none());
        assert!(apply_patch(a.as_bytes(), &p[..5]).is_none());
    }

    #[test]
    fn tokenizer_handles_raw_text_comments_and_broken_markup() {
        let t = tokenize(b"<p a='>'>x</p><script>if (a<b) {}</script><!-- c --><!x>< y<");
        assert_eq!(
            t,
            vec![
                Tok::Start {
                    name: b"p",
                    raw: b"<p a='>'>"
                },
                Tok::Text(b"x"),
                Tok::End { name: b"p" },
                Tok::Start {
                    name: b"script",
                    raw: b"<script>"
                },
                Tok::Raw {
                    parent: b"script",
                    text: b"if (a<b) {}"
                },
                Tok::End { name: b"script" },
                Tok::Comment(b"<!-- c -->"),
                Tok::Other(b"<!x>"),
                Tok::Text(b"<"),
                Tok::Text(b" y"),
                Tok::Text(b"<"),
            ]
        );
        assert_eq!(
            attributes(b"<input type=hidden name=\"a b\" value='x' disabled>"),
            vec![
                (&b"type"[..], &b"hidden"[..]),
                (b"name", b"a b"),
                (b"value", b"x"),
                (b"disabled", b""),
            ]
        );
    }

    fn html(body: &str) -> Response {
        Response {
            requested_url: "http://x/".into(),
            final_url: "http://x/".into(),
            redirects: vec![],
            status: 200,
            headers: vec![("content-type".into(), "text/html".into())],
            body: body.as_bytes().to_vec(),
            elapsed_ms: 0,
        }
    }

    /// A piece of markup: a template and the variable part put into it.
    fn render(kind: usize, param: &str) -> String {
        match kind % 13 {
            0 => format!("<p>{param}</p>"),
            1 => format!("<div class=\"entry-content\"><p>{param}</p></div>"),
            2 => format!("<li id=\"comment-1\" class=\"comment\"><p>{param}</p></li>"),
            3 => format!("<script>var n='{param}';</script>"),
            4 => format!("<!-- {param} -->"),
            5 => format!("<input type=hidden name=t value=\"{param}\">"),
            6 => format!("<p>Page generated at 10:31:{param}</p>"),
            7 => format!("<b>{param}</b>"),
            8 => format!("<div data-x=\"{param}\">fixed</div>"),
            9 => format!("<a href=\"/{param}\">link</a>"),
            10 => format!("<title>{param}</title>"),
            11 => format!(
                "<footer><p>Views: {:02} today</p></footer>",
                param.len() * 7 % 100
            ),
            _ => param.to_string(),
        }
    }

    fn param() -> impl Strategy<Value = String> {
        "[a-z$0-9 ]{0,8}"
    }

    /// A page of rendered fragments, and the page with some of them
    /// edited: mostly the same kind of markup with another value.
    fn page_and_edit(
        frags: &[(usize, String)],
        edits: Vec<(usize, String, usize)>,
    ) -> (String, String) {
        let a: String = frags.iter().map(|(k, p)| render(*k, p)).collect();
        let mut changed = frags.to_vec();
        for (at, p, kind) in edits {
            let i = at % changed.len();
            if kind < 13 {
                changed[i].0 = kind;
            }
            changed[i].1 = p;
        }
        let b: String = changed.iter().map(|(k, p)| render(*k, p)).collect();
        (a, b)
    }

    /// The differing token pairs of two bodies tokenized whole, when
    /// their token lists line up: what [`walk`] must report.
    fn differing_pairs<'a>(
        old: &'a [u8],
        new: &'a [u8],
    ) -> Option<Vec<(usize, Tok<'a>, Range<usize>)>> {
        let (xs, ys) = (spans(old), spans(new));
        (xs.len() == ys.len()).then(|| {
            xs.into_iter()
                .zip(&ys)
                .enumerate()
                .filter(|(_, ((_, ra), (_, rb)))| old[ra.clone()] != new[rb.clone()])
                .map(|(j, ((ta, ra), _))| (j, ta, ra))
                .collect()
        })
    }

    fn walked<'a>(old: &'a [u8], new: &'a [u8]) -> Option<Vec<(usize, Tok<'a>, Range<usize>)>> {
        let ys = spans(new);
        let mut seen = Vec::new();
        walk(old, new, &ys, &mut |j, t, r| {
            seen.push((j, t, r));
            true
        })
        .then_some(seen)
    }

    #[test]
    fn the_walk_looks_a_byte_past_the_next_token() {
        // `</<`: a lone `<`, the text `/`, then a tag; `</t>`: an end tag.
        // The two share `</`, all of the first two tokens of `</<x`.
        for (old, new) in [
            ("</t>x<b>", "</<x<b>"),
            ("</<x<b>", "</t>x<b>"),
            ("a</<p>b", "a</p>b"),
        ] {
            assert_eq!(
                walked(old.as_bytes(), new.as_bytes()),
                differing_pairs(old.as_bytes(), new.as_bytes()),
                "{old} → {new}"
            );
        }
        // Same bytes after the state differs (`<title>` opens raw text).
        let (old, new) = ("<p></p><title></title>", " <p></p><title></title>");
        assert_eq!(walked(old.as_bytes(), new.as_bytes()), None);
    }

    fn soup() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![
                Just(b"<".to_vec()),
                Just(b">".to_vec()),
                Just(b"</".to_vec()),
                Just(b"<!--".to_vec()),
                Just(b"-->".to_vec()),
                Just(b"<script>".to_vec()),
                Just(b"</SCRIPT >".to_vec()),
                Just(b"<p class='a>b'>".to_vec()),
                Just(b"\"".to_vec()),
                Just(b"<!x>".to_vec()),
                Just(b"<title>".to_vec()),
                Just(b"</title".to_vec()),
                Just(b"<script/>".to_vec()),
                Just(b"<1".to_vec()),
                Just(b"<a-".to_vec()),
                Just(b"text ".to_vec()),
                proptest::collection::vec(any::<u8>(), 0..4),
            ],
            0..30,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        /// Passing over shared stretches finds exactly the differences a
        /// token-by-token comparison of both whole bodies finds.
        #[test]
        fn the_walk_finds_what_whole_tokenizing_finds(
            old in soup(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), 0usize..4, soup()), 0..3),
        ) {
            let mut new = old.clone();
            for (at, cut, with) in edits {
                let i = at.index(new.len() + 1);
                let j = (i + cut).min(new.len());
                new.splice(i..j, with);
            }
            prop_assert_eq!(walked(&old, &new), differing_pairs(&old, &new));
        }

        /// The same on pages of real markup.
        #[test]
        fn the_walk_finds_what_whole_tokenizing_finds_on_pages(
            frags in proptest::collection::vec((0usize..13, param()), 1..30),
            edits in proptest::collection::vec((0usize..30, param(), 0usize..52), 0..4),
        ) {
            let (a, b) = page_and_edit(&frags, edits);
            prop_assert_eq!(walked(a.as_bytes(), b.as_bytes()), differing_pairs(a.as_bytes(), b.as_bytes()));
        }

        /// Tokens cover any input exactly, in order, each non-empty but
        /// the content of a raw-text element.
        #[test]
        fn token_ranges_tile_the_input(body in soup()) {
            let mut at = 0;
            for (t, r) in spans(&body) {
                prop_assert_eq!(r.start, at);
                prop_assert!(r.end <= body.len());
                let raw = matches!(t, Tok::Raw { .. });
                prop_assert!(!r.is_empty() || raw);
                at = r.end;
            }
            prop_assert_eq!(at, body.len());
        }

        /// A patch, when one is made, rebuilds the new body byte for byte.
        #[test]
        fn patches_round_trip(
            frags in proptest::collection::vec((0usize..13, param()), 1..30),
            edits in proptest::collection::vec((0usize..30, param(), 0usize..52), 1..4),
        ) {
            let pad = "<p>Common text of the page, long enough to make patching pay.</p>".repeat(60);
            let (a, b) = page_and_edit(&frags, edits);
            let (a, b) = (pad.clone() + &a, pad + &b);
            if let Some(p) = patch(a.as_bytes(), b.as_bytes()) {
                prop_assert!(patch_rebuilds(a.as_bytes(), &p, b.as_bytes()));
                // Not any other body: one byte more, or one byte changed.
                let longer = format!("{}x", b);
                prop_assert!(!patch_rebuilds(a.as_bytes(), &p, longer.as_bytes()));
                let mut other = b.clone().into_bytes();
                if let Some(last) = other.last_mut() {
                    *last ^= 1;
                    prop_assert!(!patch_rebuilds(a.as_bytes(), &p, &other));
                }
                prop_assert_eq!(apply_patch(a.as_bytes(), &p), Some(b.into_bytes()));
            }
        }

        /// Whenever the cheap path says "invisible", full extraction and
        /// comparison (volatile blocks removed) agree: nothing changed.
        #[test]
        fn invisible_means_the_full_path_sees_no_change(
            frags in proptest::collection::vec((0usize..13, param()), 1..30),
            edits in proptest::collection::vec((0usize..30, param(), 0usize..52), 1..4),
        ) {
            let (a, b) = page_and_edit(&frags, edits);
            let rules = rule();
            let full_a = extract(&html(&a), &Rules::default());
            let json = serde_json::to_string(&full_a).unwrap();
            let mut shown = |t: &str| json.contains(t);
            if let Ok(found) = invisible_or_digit_texts(a.as_bytes(), b.as_bytes(), &rules, &mut shown) {
                if let Some(p) = &found.patch {
                    prop_assert_eq!(apply_patch(a.as_bytes(), p), Some(b.clone().into_bytes()));
                }
                let pa = strip(&full_a, &rules);
                let pb = strip(&extract(&html(&b), &Rules::default()), &rules);
                prop_assert!(compare(&pa, &pb).is_empty(), "{a}\n{b}");
                prop_assert_eq!(pa.title, pb.title);
            }
        }
    }
}
