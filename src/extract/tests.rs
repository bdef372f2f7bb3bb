use super::*;
use crate::model::BlockKind::*;
use proptest::prelude::*;

fn html_response(body: &str) -> Response {
    Response {
        requested_url: "http://127.0.0.1/".into(),
        final_url: "http://127.0.0.1/".into(),
        redirects: vec![],
        status: 200,
        headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
        body: body.as_bytes().to_vec(),
        elapsed_ms: 0,
    }
}

fn rules(select: &[&str], ignore: &[&str], ignore_text: &[&str]) -> Rules {
    let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    Rules::compile(&owned(select), &owned(ignore), &owned(ignore_text), false).unwrap()
}

fn texts(page: &Page) -> Vec<(BlockKind, &str)> {
    page.blocks
        .iter()
        .map(|b| (b.kind, b.text.as_str()))
        .collect()
}

#[test]
fn blocks_by_kind_with_whitespace_normalised() {
    let page = extract(
        &html_response(
            "<html><head><title> The  Title </title></head><body>\
             <h1>Heading\n one</h1><p>First   <b>bold</b>\tpara.</p>\
             <ul><li>one</li><li>two <a href=x>link</a></li></ul>\
             <table><tr><th>Date</th><th>Title</th></tr><tr><td>Dec 5</td><td><p>Item</p></td></tr></table>\
             <pre>line 1\n  line   2</pre><div>loose text</div></body></html>",
        ),
        &Rules::default(),
    );
    assert_eq!(page.title.as_deref(), Some("The Title"));
    assert_eq!(
        texts(&page),
        vec![
            (Heading, "Heading one"),
            (Paragraph, "First bold para."),
            (ListItem, "one"),
            (ListItem, "two link"),
            (TableRow, "Date | Title"),
            (TableRow, "Dec 5 | Item"),
            (Preformatted, "line 1"),
            (Preformatted, "line 2"),
            (Paragraph, "loose text"),
        ]
    );
    assert_eq!(page.mime, "text/html");
}

#[test]
fn invisible_content_never_counts() {
    let page = extract(
        &html_response(
            "<html><head><meta name=csrf content=abc><style>p{}</style></head><body>\
             <!-- generated in 0.0123s --><script>var nonce='r4nd0m';</script>\
             <noscript>enable js</noscript><template><p>tpl</p></template>\
             <form><input type=hidden name=token value=xyz><button>Go</button></form>\
             <p hidden>hidden attr</p><p style=\"display: none\">styled away</p>\
             <p aria-hidden=\"true\">icon</p><p title=\"attr text\">Visible</p></body></html>",
        ),
        &Rules::default(),
    );
    assert_eq!(texts(&page), vec![(Paragraph, "Visible")]);
}

#[test]
fn br_splits_blocks_and_nested_lists_stay_separate() {
    let page = extract(
        &html_response(
            "<p>MR KIRBY: Hello.<br>QUESTION: Hi.</p><ul><li>outer<ul><li>inner</li></ul></li></ul>",
        ),
        &Rules::default(),
    );
    assert_eq!(
        texts(&page),
        vec![
            (Paragraph, "MR KIRBY: Hello."),
            (Paragraph, "QUESTION: Hi."),
            (ListItem, "outer"),
            (ListItem, "inner"),
        ]
    );
}

#[test]
fn select_keeps_only_selected_parts_in_document_order() {
    let html = "<div id=nav><p>Menu</p></div><div id=main><p>Body</p><div class=inner><p>Nested</p></div></div><p class=foot>Foot</p>";
    let page = extract(
        &html_response(html),
        &rules(&[".foot", "#main", ".inner"], &[], &[]),
    );
    assert_eq!(
        texts(&page),
        vec![
            (Paragraph, "Body"),
            (Paragraph, "Nested"),
            (Paragraph, "Foot")
        ]
    );
}

#[test]
fn ignore_removes_parts_and_ignore_text_removes_matches() {
    let html = "<title>Page - Last checked: 10:00</title><p>Keep me</p><div class=share>Share this</div>\
                <p>Last checked: 12:01:02</p><p>Visits: 12 today</p>";
    let page = extract(
        &html_response(html),
        &rules(&[], &[".share"], &["Last checked: .*", r"\d+ today"]),
    );
    assert_eq!(page.title.as_deref(), Some("Page -"));
    assert_eq!(
        texts(&page),
        vec![(Paragraph, "Keep me"), (Paragraph, "Visits:")]
    );
}

#[test]
fn windows_1252_body_decoded_from_header() {
    let mut resp = html_response("");
    resp.headers = vec![(
        "content-type".into(),
        "text/html; charset=windows-1252".into(),
    )];
    resp.body = b"<p>Caf\xe9 \x93Cr\xe8me\x94</p>".to_vec();
    let page = extract(&resp, &Rules::default());
    assert_eq!(texts(&page), vec![(Paragraph, "Café “Crème”")]);
}

#[test]
fn binary_bodies_are_hashed_even_when_labelled_html() {
    let mut resp = html_response("");
    resp.body = b"%PDF-1.7\n\x00\x01binary".to_vec();
    let page = extract(&resp, &Rules::default());
    assert!(page.blocks.is_empty());
    assert_eq!(
        page.body_sha256.as_deref(),
        Some(sha256_hex(&resp.body).as_str())
    );
    assert_eq!(page.body_size, resp.body.len() as u64);

    resp.headers = vec![("content-type".into(), "image/png".into())];
    resp.body = vec![1, 2, 3];
    let page = extract(&resp, &Rules::default());
    assert_eq!(page.mime, "image/png");
    assert!(page.body_sha256.is_some());
}

#[test]
fn plain_text_is_split_into_lines() {
    let mut resp = html_response("first line\n\n  second   line \n");
    resp.headers = vec![("content-type".into(), "text/plain".into())];
    let page = extract(&resp, &Rules::default());
    assert_eq!(
        texts(&page),
        vec![(Paragraph, "first line"), (Paragraph, "second line")]
    );
}

#[test]
fn deeply_nested_markup_does_not_overflow() {
    let depth = 3_000;
    let html = format!("{}deep{}", "<div>".repeat(depth), "</div>".repeat(depth));
    let page = extract(&html_response(&html), &Rules::default());
    assert_eq!(texts(&page), vec![(Paragraph, "deep")]);
}

#[test]
fn fingerprint_depends_on_every_rule() {
    let a = rules(&["#main"], &[], &[]).fingerprint;
    assert_eq!(a, rules(&["#main"], &[], &[]).fingerprint);
    assert_ne!(a, rules(&[], &["#main"], &[]).fingerprint);
    assert_ne!(a, rules(&["#main"], &[], &["x"]).fingerprint);
    assert_eq!(a.len(), 16);
    assert!(
        Rules::compile(&["p:::x".into()], &[], &[], false)
            .unwrap_err()
            .contains("p:::x")
    );
}

#[test]
fn sha256_hex_known_value() {
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

proptest! {
    #[test]
    fn extraction_never_panics_on_arbitrary_bytes(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mut resp = html_response("");
        resp.body = body;
        let page = extract(&resp, &Rules::default());
        for b in &page.blocks {
            prop_assert!(!b.text.is_empty());
            prop_assert_eq!(b.text.trim(), b.text.as_str());
        }
    }

    #[test]
    fn extraction_never_panics_on_tag_soup(parts in proptest::collection::vec(
        prop_oneof![
            Just("<p>".to_string()), Just("</p>".to_string()), Just("<tr>".to_string()),
            Just("<td>".to_string()), Just("</tr>".to_string()), Just("<br>".to_string()),
            Just("<pre>".to_string()), Just("</pre>".to_string()), Just("<script>".to_string()),
            Just("<li>".to_string()), Just("<!--".to_string()), Just("-->".to_string()),
            "[a-z \n]{0,8}",
        ], 0..60)) {
        let page = extract(&html_response(&parts.concat()), &Rules::default());
        for b in &page.blocks {
            prop_assert!(!b.text.is_empty());
            prop_assert!(!b.text.contains("  "));
        }
    }
}

proptest! {
    /// The attribute lookup finds what scraper's `Element::attr` finds,
    /// namespaced attributes (SVG's `xlink:href`) included.
    #[test]
    fn attribute_lookup_agrees_with_scraper(attrs in proptest::collection::vec(
        (
            proptest::sample::select(vec!["href", "xlink:href", "xmlns", "style", "HIDDEN", "aria-hidden", "role", "data-x"]),
            "[a-z]{0,3}",
        ),
        0..5,
    ), svg in any::<bool>()) {
        let attrs: String = attrs.iter().map(|(n, v)| format!(" {n}=\"{v}\"")).collect();
        let html = if svg {
            format!("<svg><a{attrs}>x</a></svg>")
        } else {
            format!("<p{attrs}>x</p>")
        };
        let doc = scraper::Html::parse_fragment(&html);
        for e in doc.tree.nodes().filter_map(scraper::ElementRef::wrap) {
            for name in ["href", "xlink:href", "xmlns", "style", "hidden", "aria-hidden", "role", "data-x", "id"] {
                prop_assert_eq!(attr(e.value(), name), e.value().attr(name), "{} in {}", name, html);
            }
        }
    }
}

#[test]
fn rules_read_back_from_their_source_are_the_same_rules() {
    let r = rules(&["#main"], &[".share"], &[r"\d+ views"]);
    let back = Rules::from_source(&r.source).unwrap();
    assert_eq!(
        (back.fingerprint.as_str(), back.source.as_str()),
        (r.fingerprint.as_str(), r.source.as_str())
    );
    let html = html_response(
        "<div class=share>Share 3</div><div id=main><p>Read 12 views of the release.</p><p class=share>x</p></div><p>Other</p>",
    );
    assert_eq!(extract(&html, &back), extract(&html, &r));
    assert_eq!(extract(&html, &back).text(), "Read of the release.\n");
    // Reading as a feed is part of the rules, and of their fingerprint.
    let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let feed = Rules::compile(
        &owned(&["#main"]),
        &owned(&[".share"]),
        &owned(&[r"\d+ views"]),
        true,
    )
    .unwrap();
    assert_ne!(feed.fingerprint, r.fingerprint);
    let back = Rules::from_source(&feed.source).unwrap();
    assert!(back.feed);
    assert_eq!(back.fingerprint, feed.fingerprint);
    // The fingerprint is the hash it always was (archives name versions by
    // it): of `[EXTRACTOR_VERSION, select, ignore, ignore_text, feed]`.
    let old_way = |select: &[&str], feed: bool| {
        let none: [&str; 0] = [];
        let src = serde_json::json!([EXTRACTOR_VERSION, select, none, none, feed]).to_string();
        crate::extract::sha256_hex(src.as_bytes())[..16].to_string()
    };
    assert_eq!(r.fingerprint.len(), 16);
    assert_eq!(
        rules(&["#a", "p[title=\"q\"]"], &[], &[]).fingerprint,
        old_way(&["#a", "p[title=\"q\"]"], false)
    );
    assert_eq!(feed.fingerprint.len(), 16);
    let f = Rules::compile(&[], &[], &[], true).unwrap();
    assert_eq!(f.fingerprint, old_way(&[], true));
    // The default rules' fingerprint, as archives since the first name it.
    assert_eq!(Rules::default().fingerprint, "28d780d5eb61cb69");
    // The default rules are the rules of no selectors.
    assert_eq!(
        Rules::default().fingerprint,
        rules(&[], &[], &[]).fingerprint
    );
    assert!(
        Rules::from_source("[1, 2")
            .unwrap_err()
            .contains("not readable")
    );
    assert!(
        Rules::from_source(r#"[["::bad"], [], [], false]"#)
            .unwrap_err()
            .contains("invalid CSS selector")
    );
}
