use super::*;
use crate::config::parse_sources;
use std::path::PathBuf;

fn watch(extra: &str) -> Watch {
    let src = format!(
        "[[watch]]\nname = \"w\"\nurl = \"http://127.0.0.1:1/a\"\nconfirm = false\n{extra}"
    );
    parse_sources(&[(PathBuf::from("t.toml"), src)])
        .unwrap()
        .watches
        .remove(0)
}

fn resp(status: u16, body: &str, final_url: &str) -> Response {
    Response {
        requested_url: "http://127.0.0.1:1/a".into(),
        final_url: final_url.into(),
        redirects: vec![],
        status,
        headers: vec![("content-type".into(), "text/html".into())],
        body: body.as_bytes().to_vec(),
        elapsed_ms: 1,
    }
}

const A: &str = "http://127.0.0.1:1/a";

fn run(store: &mut Store, w: &Watch, r: Response) -> CheckResult {
    match process(store, w, Ok(r), None, &now_rfc3339(), 1) {
        Step::Done(r) => r,
        Step::Confirm { .. } => panic!("confirmation is off in these tests"),
    }
}

/// `r` processed for a watch that confirms changes: held for its
/// confirmation.
fn held_for_confirmation(store: &mut Store, w: &Watch, r: Response) -> Unconfirmed {
    match process(store, w, Ok(r), None, &now_rfc3339(), 1) {
        Step::Confirm { first, .. } => first,
        Step::Done(r) => panic!("not held for confirmation: {r:?}"),
    }
}

/// The confirming fetch `second` of `first`, processed.
fn confirmed_by(
    store: &mut Store,
    w: &Watch,
    second: Result<Response, String>,
    first: Option<Unconfirmed>,
) -> CheckResult {
    match process(store, w, second, first, &now_rfc3339(), 1) {
        Step::Done(r) => r,
        Step::Confirm { .. } => panic!("confirmed once"),
    }
}

#[test]
fn lifecycle_first_unchanged_edit_gone_back_redirect() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("a.db")).unwrap();
    let w = watch("");

    let r = run(
        &mut store,
        &w,
        resp(200, "<title>T</title><p>One two three four.</p>", A),
    );
    assert_eq!(
        (r.outcome, r.version, r.previous_version),
        ("first_capture", Some(1), None)
    );
    assert!(r.changes.is_empty());

    // Only invisible noise differs.
    let r = run(
        &mut store,
        &w,
        resp(
            200,
            "<title>T</title><!-- 3ms --><p>One two three four.</p><script>n=1</script>",
            A,
        ),
    );
    assert_eq!(
        (r.outcome, r.version, r.previous_version),
        ("unchanged", Some(1), None)
    );

    let r = run(
        &mut store,
        &w,
        resp(200, "<title>T</title><p>One two three five.</p>", A),
    );
    assert_eq!(
        (r.outcome, r.version, r.previous_version),
        ("changed", Some(2), Some(1))
    );
    assert_eq!(
        r.changes,
        vec![Change::TextEdited {
            block: 1,
            old_block: 1,
            before: "One two three four.".into(),
            after: "One two three five.".into()
        }]
    );

    let r = run(&mut store, &w, resp(404, "Not found", A));
    assert_eq!((r.outcome, r.version), ("changed", Some(3)));
    assert_eq!(r.changes, vec![Change::PageGone { status: 404 }]);
    let r = run(&mut store, &w, resp(404, "Not found", A));
    assert_eq!((r.outcome, r.version), ("unchanged", Some(3)));

    // Back, compared against the last good version (2), not the gone one.
    let r = run(
        &mut store,
        &w,
        resp(
            200,
            "<title>T</title><p>One two three five.</p><p>New.</p>",
            A,
        ),
    );
    assert_eq!(
        (r.outcome, r.version, r.previous_version),
        ("changed", Some(4), Some(3))
    );
    assert_eq!(
        r.changes,
        vec![
            Change::PageBack { status: 200 },
            Change::TextAdded {
                block: 2,
                text: "New.".into()
            }
        ]
    );

    let r = run(
        &mut store,
        &w,
        resp(
            200,
            "<title>T</title><p>One two three five.</p><p>New.</p>",
            "http://127.0.0.1:1/b",
        ),
    );
    assert_eq!(
        r.changes,
        vec![Change::Redirected {
            from: A.into(),
            to: "http://127.0.0.1:1/b".into()
        }]
    );

    let r = run(&mut store, &w, resp(503, "busy", A));
    assert_eq!(
        (r.outcome, r.http_status, r.version),
        ("error", Some(503), Some(5))
    );
    assert_eq!(r.error.as_deref(), Some("HTTP 503 Service Unavailable"));

    let Step::Done(r) = process(
        &mut store,
        &w,
        Err("connection refused".into()),
        None,
        &now_rfc3339(),
        1,
    ) else {
        panic!("an error needs no confirmation")
    };
    assert_eq!(
        (r.outcome, r.http_status, r.error.as_deref()),
        ("error", None, Some("connection refused"))
    );

    // The archive kept a row per check and a report per change.
    assert_eq!(store.checks("w").unwrap().len(), 9);
    let versions = store.versions("w").unwrap();
    assert_eq!(
        versions.iter().map(|v| v.number).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    assert!(versions[2].gone);
    assert_eq!(store.report_changes(&versions[1]).unwrap().len(), 1);
    assert_eq!(
        versions[1].summary.as_deref(),
        Some("1 block edited in ¶1: \"four.\" → \"five.\"")
    );
}

#[test]
fn rule_edit_is_not_reported_as_a_page_edit() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("a.db")).unwrap();
    let body = "<p>Keep this paragraph.</p><div class=share>Share on social</div>";
    let r = run(&mut store, &watch(""), resp(200, body, A));
    assert_eq!(r.outcome, "first_capture");
    // The user adds an ignore rule: the stored page is re-derived from the
    // raw body under the new rules, so nothing is reported.
    let w2 = watch("ignore = [\".share\"]\n");
    let r = run(&mut store, &w2, resp(200, body, A));
    assert_eq!((r.outcome, r.changes.len()), ("unchanged", 0), "{r:?}");
}

#[test]
fn first_capture_of_a_gone_page() {
    let prior = Prior::default();
    let d = decide(&prior, None, &resp(410, "", A), &Rules::default(), &[]);
    assert_eq!(d.outcome, Outcome::FirstCapture);
    assert_eq!(d.changes, vec![Change::PageGone { status: 410 }]);
    assert_eq!(d.new_version, Some(None));
}

#[test]
fn the_cheap_path_is_taken_only_when_its_judgement_stands() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("a.db")).unwrap();
    let w = watch("");
    let body = |nonce: &str, text: &str| {
        format!("<title>T</title><script>var n='{nonce}'</script><p>{text}</p><!-- {nonce} -->")
    };
    let cheap = |store: &Store, w: &Watch, r: &Response| {
        let prior = store.prior(&w.name).unwrap();
        only_noise_since_last(store, w, &prior, r, &[])
            .unwrap()
            .0
            .is_some()
    };
    // Nothing archived yet: the full path.
    assert!(!cheap(&store, &w, &resp(200, &body("a", "One."), A)));
    run(&mut store, &w, resp(200, &body("a", "One."), A));
    // Only a nonce and a comment differ from the last response.
    let noise = resp(200, &body("b", "One."), A);
    assert!(cheap(&store, &w, &noise));
    assert_eq!(run(&mut store, &w, noise).outcome, "unchanged");
    // Against the response just kept (nonce "b"), "c" is noise again.
    assert!(cheap(&store, &w, &resp(200, &body("c", "One."), A)));
    // A visible edit, another status, another final URL or content type:
    // the full path.
    assert!(!cheap(&store, &w, &resp(200, &body("c", "Two."), A)));
    assert!(!cheap(&store, &w, &resp(203, &body("c", "One."), A)));
    assert!(!cheap(
        &store,
        &w,
        &resp(200, &body("c", "One."), "http://127.0.0.1:1/b")
    ));
    let mut typed = resp(200, &body("c", "One."), A);
    typed.headers[0].1 = "text/html; charset=windows-1252".into();
    assert!(!cheap(&store, &w, &typed));
    // Under other rules the earlier judgement does not hold.
    let other = watch("ignore = [\"script\"]");
    assert!(!cheap(&store, &other, &resp(200, &body("c", "One."), A)));
    // Feeds always take the full path.
    let feed = watch("kind = \"feed\"");
    assert!(!cheap(&store, &feed, &resp(200, &body("c", "One."), A)));
}

#[test]
fn host_queue_hands_out_round_robin_within_each_hosts_cap() {
    let mut q = HostQueue::new(2);
    for i in 0..5 {
        q.push("slow:80".into(), i);
    }
    q.push("fast:80".into(), 10);
    q.push("fast:80".into(), 11);
    // Turns alternate between hosts; the slow one stops at its cap of 2.
    assert_eq!(q.next(), Some(0));
    assert_eq!(q.next(), Some(10));
    assert_eq!(q.next(), Some(1));
    assert_eq!(q.next(), Some(11));
    assert_eq!(q.next(), None);
    // One slow check finishes: the next slow one may start.
    q.done("slow:80");
    assert_eq!(q.next(), Some(2));
    assert_eq!(q.next(), None);
    // Lost counts never stall the pass.
    q.unstick();
    assert_eq!(q.next(), Some(3));
    assert_eq!(q.next(), Some(4));
    assert_eq!(q.next(), None);
}

#[test]
fn a_waiting_confirmation_is_held_compressed_and_restored_exactly() {
    let body = format!(
        "<html><body><main>{}</main></body></html>",
        "<p>The Department announced new assistance today.</p>".repeat(200)
    );
    let r = resp(200, &body, A);
    let page = extract(&r, &Rules::default());
    let decision = Decision {
        outcome: Outcome::Changed,
        changes: vec![],
        new_version: Some(Some(page.clone())),
        error: None,
    };
    let mut u = Unconfirmed {
        response: r.clone(),
        decision: Some(Box::new(decision.clone())),
        packed: None,
        packed_page: None,
        page_json: None,
        held_plain: 0,
        unshown: None,
    };
    u.pack();
    assert!(u.response.body.len() * 10 < body.len(), "held compressed");
    assert!(u.packed_page.is_some());
    u.unpack().unwrap();
    assert_eq!(u.response, r);
    // The held JSON is the page's own (it is stored as is) ...
    assert_eq!(u.page_json, Some(serde_json::to_vec(&page).unwrap()));
    // ... and the page is read back from it only when asked for.
    let mut held = *u.decision.clone().unwrap();
    assert_eq!(held.new_version, Some(Some(Page::default())));
    held_page(&mut held, u.page_json.as_deref()).unwrap();
    assert_eq!(held, decision);
    // A page that was never packed is left as it is.
    let mut whole = decision.clone();
    held_page(&mut whole, Some(b"not json")).unwrap();
    assert_eq!(whole, decision);
    // A second unpack changes nothing.
    u.unpack().unwrap();
    assert_eq!(u.response.body, body.as_bytes());
    assert_eq!(u.page_json, Some(serde_json::to_vec(&page).unwrap()));
}

#[test]
fn text_is_shown_unless_the_page_json_lacks_it() {
    let json = r#"{"title":"Briefing","blocks":[{"text":"say \"hi\" to 10:31"}]}"#;
    assert!(shown_in(Some(json.as_bytes()), "10:31"));
    assert!(!shown_in(Some(json.as_bytes()), "Served by node 3"));
    // Text JSON escapes cannot be looked up as is: taken as shown.
    assert!(shown_in(Some(json.as_bytes()), "say \"hi\""));
    assert!(shown_in(Some(json.as_bytes()), "tab\there"));
    // An unknown page shows everything.
    assert!(shown_in(None, "Served by node 3"));
}

#[test]
fn a_text_is_remembered_as_unshown_only_when_no_digit_variant_is_shown() {
    let json = br#"{"title":"Release","blocks":[{"kind":"paragraph","text":"Updated at 09:00:00 by the press office."}]}"#;
    let mut masked_page = None;
    let mut learned = Vec::new();
    // Not on the page, and nothing masking alike is: remembered.
    let t = "Page generated at 10:31:22";
    assert!(!shown_in(Some(json), t));
    learn_unshown(json, &mut masked_page, mask_digits(t), &mut learned);
    assert_eq!(learned, ["Page generated at 00:00:00"]);
    // Not on the page either, but a variant differing in its digits is:
    // remembering it would hide a change to the shown one.
    let t = "Updated at 10:31:22";
    assert!(!shown_in(Some(json), t));
    learn_unshown(json, &mut masked_page, mask_digits(t), &mut learned);
    assert_eq!(learned, ["Page generated at 00:00:00"]);
    assert!(shown_in(Some(json), "Updated at 09:00:00"));
    assert_eq!(mask_digits("$1,250 on 2026-11-29"), "$0,000 on 0000-00-00");
}

proptest::proptest! {
    /// What is remembered is exact: every text masking alike is not in the
    /// page, so the memo answers as searching the page would.
    #[test]
    fn a_remembered_text_answers_as_the_page_would(
        json in "[ab01 :]{0,60}",
        text in "[ab01 :]{1,8}",
        digits in proptest::collection::vec(0u8..10, 8),
    ) {
        let mut learned = Vec::new();
        learn_unshown(json.as_bytes(), &mut None, mask_digits(&text), &mut learned);
        let variant: String = text
            .chars()
            .zip(&digits)
            .map(|(c, d)| if c.is_ascii_digit() { char::from(b'0' + d) } else { c })
            .collect();
        proptest::prop_assert_eq!(mask_digits(&variant), mask_digits(&text));
        if !learned.is_empty() {
            proptest::prop_assert!(!shown_in(Some(json.as_bytes()), &variant));
            proptest::prop_assert!(!shown_in(Some(json.as_bytes()), &text));
        }
    }
}

/// A 22 KB release and its page.
fn long_release() -> (Response, Page) {
    let body = "<p>The Department announced new assistance today.</p>".repeat(400);
    let r = resp(
        200,
        &format!("<html><body><main>{body}</main></body></html>"),
        A,
    );
    let page = extract(&r, &Rules::default());
    (r, page)
}

/// `r`, found to be a change (with `new_version`), waiting for its
/// confirmation.
fn waiting_change(r: &Response, new_version: Option<Option<Page>>) -> Unconfirmed {
    Unconfirmed {
        response: r.clone(),
        decision: Some(Box::new(Decision {
            outcome: Outcome::Changed,
            changes: vec![],
            new_version,
            error: None,
        })),
        packed: None,
        packed_page: None,
        page_json: None,
        held_plain: 0,
        unshown: None,
    }
}

#[test]
fn confirmations_wait_unpacked_within_an_allowance_and_packed_beyond_it() {
    let (r, page) = long_release();
    let waiting = || waiting_change(&r, Some(Some(page.clone())));
    // Body and page: about twice the body each.
    let size = 2 * r.body.len();
    let mut held = Held::new(size * 2 + size / 2);
    let (mut a, mut b, mut c) = (waiting(), waiting(), waiting());
    held.hold(&mut a);
    held.hold(&mut b);
    held.hold(&mut c);
    assert_eq!((a.held_plain, b.held_plain, c.held_plain), (size, size, 0));
    assert_eq!(a.response, r, "held as it was");
    assert!(a.packed.is_none() && a.packed_page.is_none());
    assert!(
        c.packed.is_some() && c.packed_page.is_some(),
        "past the allowance: packed"
    );
    // Back from its wait, the first makes room for the next.
    held.release(&a);
    let mut d = waiting();
    held.hold(&mut d);
    assert_eq!(d.held_plain, size);
    assert!(d.packed.is_none());
    // A packed one gives back nothing it did not take.
    held.release(&c);
    let mut e = waiting();
    held.hold(&mut e);
    assert!(e.packed.is_some());
}

#[test]
fn at_most_so_many_confirmations_wait_with_their_decision() {
    let r = resp(200, "<p>Short.</p>", A);
    let waiting = || waiting_change(&r, None);
    let mut held = Held::new(HELD_PLAIN);
    let mut all: Vec<Unconfirmed> = (0..CARRIED_DECISIONS).map(|_| waiting()).collect();
    for u in &mut all {
        held.hold(u);
    }
    assert!(all.iter().all(|u| u.decision.is_some()));
    // One more: it waits without, and is worked out again when back.
    let mut extra = waiting();
    held.hold(&mut extra);
    assert!(extra.decision.is_none());
    // Coming back without a decision frees nothing; with one, a place.
    held.release(&extra);
    let mut next = waiting();
    held.hold(&mut next);
    assert!(next.decision.is_none());
    held.release(&all[0]);
    let mut again = waiting();
    held.hold(&mut again);
    assert!(again.decision.is_some());
}

#[test]
fn a_packed_confirmation_comes_back_unpacked_and_a_damaged_one_fails_its_check() {
    let (r, page) = long_release();
    let waiting = || waiting_change(&r, Some(Some(page.clone())));
    let back = |first: Unconfirmed| Fetched {
        key: (),
        result: Ok(r.clone()),
        first: Some(first),
        checked_at: String::new(),
        ms: 0,
        slot: None,
    };
    // No allowance: everything waits packed (the daemon and passes alike).
    let mut held = Held::new(0);
    let mut u = waiting();
    held.hold(&mut u);
    assert!(u.packed.is_some() && u.response.body.len() < r.body.len() / 10);
    let mut f = back(u);
    held.back(&mut f);
    let first = f.first.as_ref().expect("still there");
    assert_eq!(first.response, r, "unpacked as it was");
    assert!(first.packed.is_none());
    assert_eq!(
        first.page_json.as_deref(),
        Some(serde_json::to_vec(&page).unwrap().as_slice())
    );
    assert!(f.result.is_ok());
    // Packed bytes damaged while waiting: the check fails, saying why.
    let mut u = waiting();
    held.hold(&mut u);
    u.response.body.truncate(4);
    let mut f = back(u);
    held.back(&mut f);
    assert!(f.first.is_none());
    assert!(
        matches!(&f.result, Err(e) if e.starts_with("cannot restore the first response")),
        "{:?}",
        f.result
    );
}

#[test]
fn a_confirmed_change_held_packed_learns_only_what_its_page_does_not_show() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("a.db")).unwrap();
    let mut w = watch("");
    w.confirm = Some(Duration::from_millis(1));
    let body = |figure: u32, time: &str| {
        resp(
            200,
            &format!(
                "<html><head><title>Release 7</title></head><body><main><h1>Release 7</h1>\
                 <p>The United States is providing ${figure} million to support the mission.</p>\
                 <p>Funding will support training and logistics over the coming year.</p></main>\
                 <footer><p>Page generated at {time}</p></footer></body></html>"
            ),
            A,
        )
    };
    assert_eq!(
        run(&mut store, &w, body(40, "10:00:01")).outcome,
        "first_capture"
    );
    let learned = |store: &Store| store.versions("w").unwrap().last().unwrap().unshown.clone();
    assert_eq!(
        learned(&store).as_deref(),
        Some("Page generated at 00:00:00")
    );
    // The figure changes: confirmed by a second fetch, the first response
    // waiting packed meanwhile (its page an empty stand-in).
    let mut first = held_for_confirmation(&mut store, &w, body(45, "10:05:00"));
    let mut held = Held::new(0);
    held.hold(&mut first);
    assert!(first.packed_page.is_some());
    let mut back = Fetched {
        key: (),
        result: Ok(body(45, "10:05:02")),
        first: Some(first),
        checked_at: now_rfc3339(),
        ms: 1,
        slot: None,
    };
    held.back(&mut back);
    let done = confirmed_by(&mut store, &w, back.result, back.first);
    assert_eq!(done.outcome, "changed");
    assert!(done.summary.contains("$45 million"), "{}", done.summary);
    // The shown figure's paragraph is not taken for hidden text.
    assert_eq!(
        learned(&store).as_deref(),
        Some("Page generated at 00:00:00")
    );
    let v2 = store.version("w", 2).unwrap().unwrap();
    let page = store.page(&v2).unwrap().unwrap();
    assert!(page.text().contains("$45 million"), "{page:?}");
    // So a later figure change still counts. Confirmed without waiting
    // packed, the page's texts tell the moved "generated at" line apart:
    // the first response stands, as extracted.
    let first = held_for_confirmation(&mut store, &w, body(50, "10:10:00"));
    assert!(first.packed_page.is_none() && first.page_json.is_none());
    let done = confirmed_by(&mut store, &w, Ok(body(50, "10:10:03")), Some(first));
    assert_eq!(done.outcome, "changed");
    let v3 = store.version("w", 3).unwrap().unwrap();
    let raw = store.raw_response(v3.response_id).unwrap();
    assert_eq!(raw.response.body, body(50, "10:10:00").body);
}
