//! Page understanding end to end: reader responses as items, the page's own
//! content without site chrome. Hand-made fixtures, exact change lists.

mod common;

use common::Env;
use redline::serve::Reply;
use serde_json::{Value, json};

#[derive(Clone)]
struct Item {
    id: u32,
    kind: &'static str,
    author: &'static str,
    url: &'static str,
    text: &'static str,
    replies: Vec<Item>,
}

fn comment(id: u32, author: &'static str, text: &'static str) -> Item {
    Item {
        id,
        kind: "comment",
        author,
        url: "",
        text,
        replies: vec![],
    }
}

fn ping(id: u32, kind: &'static str, title: &'static str, url: &'static str) -> Item {
    Item {
        id,
        kind,
        author: title,
        url,
        text: title,
        replies: vec![],
    }
}

fn render(items: &[Item], depth: usize) -> String {
    let mut s = String::new();
    for it in items {
        if it.kind == "comment" {
            s.push_str(&format!(
                "<li id=\"comment-{id}\" class=\"comment even depth-{depth}\"><article id=\"div-comment-{id}\" class=\"comment-body\">\
                 <footer class=\"comment-meta\"><div class=\"comment-author vcard\"><b class=\"fn\"><a href=\"https://{a}.example.net/\" class=\"url\">{a}</a></b> <span class=\"says\">says:</span></div>\
                 <div class=\"comment-metadata\"><a href=\"#comment-{id}\"><time datetime=\"2013-12-0{d}T10:00:00+00:00\">December {d}, 2013</time></a></div></footer>\
                 <div class=\"comment-content\"><p>{t}</p></div><div class=\"reply\"><a class=\"comment-reply-link\" href=\"#\" aria-label=\"Reply to {a}\">Reply</a></div></article>",
                id = it.id,
                a = it.author,
                d = 1 + it.id % 8,
                t = it.text
            ));
            if !it.replies.is_empty() {
                s.push_str(&format!(
                    "<ol class=\"children\">{}</ol>",
                    render(&it.replies, depth + 1)
                ));
            }
            s.push_str("</li>\n");
        } else {
            let label = if it.kind == "pingback" {
                "Pingback"
            } else {
                "Trackback"
            };
            s.push_str(&format!(
                "<li id=\"comment-{id}\" class=\"{k} odd depth-{depth}\"><div class=\"comment-body\">{label}: <a href=\"{u}\" class=\"url\" rel=\"external nofollow ugc\">{t}</a> <span class=\"edit-link\"></span></div></li>\n",
                id = it.id,
                k = it.kind,
                u = it.url,
                t = it.text
            ));
        }
    }
    s
}

fn count(items: &[Item]) -> usize {
    items.iter().map(|i| 1 + count(&i.replies)).sum()
}

/// A WordPress post page with a site menu, sidebar, footer and responses.
fn blog(menu: &str, items: &[Item]) -> String {
    let n = count(items);
    let heading = match n {
        0 => String::new(),
        1 => "<h2 class=\"comments-title\">One response to &ldquo;US to Support Peacekeepers in CAR&rdquo;</h2>".into(),
        n => format!("<h2 class=\"comments-title\">{n} responses to &ldquo;US to Support Peacekeepers in CAR&rdquo;</h2>"),
    };
    format!(
        "<!DOCTYPE html><html><head><title>US to Support Peacekeepers in CAR | Africa Policy Watch</title></head><body>\
         <header id=\"masthead\" class=\"site-header\"><p class=\"site-title\">Africa Policy Watch</p>\
         <nav class=\"main-navigation\"><ul>{menu}</ul></nav></header>\
         <div id=\"content\" class=\"site-content\"><main id=\"main\" class=\"site-main\">\
         <article id=\"post-1127\" class=\"post-1127 post type-post\"><header class=\"entry-header\"><h1 class=\"entry-title\">US to Support Peacekeepers in CAR</h1>\
         <div class=\"entry-meta\"><span class=\"posted-on\">December 7, 2013</span> <span class=\"comments-link\"><a href=\"#comments\">{n} Comments</a></span></div></header>\
         <div class=\"entry-content\"><p>Secretary Kerry announced today that the United States will provide $40 million to support the African Union peacekeeping mission in the Central African Republic.</p>\
         <p>The money will mostly go to airlifting Burundian troops and equipping them, according to the State Department's press statement.</p>\
         <p>It is a welcome step, but the mission will need far more than transport to protect civilians outside Bangui.</p></div></article>\
         <div id=\"comments\" class=\"comments-area\">{heading}<ol class=\"comment-list\">{list}</ol>\
         <div id=\"respond\" class=\"comment-respond\"><h3 id=\"reply-title\" class=\"comment-reply-title\">Leave a Reply</h3>\
         <form id=\"commentform\" class=\"comment-form\"><p class=\"must-log-in\">You must be logged in to post a comment.</p></form></div></div>\
         </main><aside id=\"secondary\" class=\"widget-area\"><section class=\"widget widget_recent_entries\"><h2>Recent Posts</h2><ul><li><a href=\"/x\">Another post</a></li></ul></section></aside></div>\
         <footer id=\"colophon\" class=\"site-footer\"><p>Proudly powered by WordPress</p></footer></body></html>",
        list = render(items, 1)
    )
}

const MENU: &str = "<li><a href=\"/\">Home</a></li><li><a href=\"/about\">About</a></li>";

fn setup(env: &Env) {
    env.config("[[watch]]\nname = \"blog\"\nurl = \"{base}/post\"\n");
}

fn changes_after(env: &Env, before: &str, after: &str) -> Value {
    env.serve("/post", Reply::html(before.to_string()));
    let first = env.check_one("blog");
    assert_eq!(first["outcome"], "first_capture", "{first}");
    env.serve("/post", Reply::html(after.to_string()));
    env.check_one("blog")
}

fn daniel() -> Item {
    comment(
        412,
        "Daniel",
        "Is the $40 million new money, or was it already budgeted?",
    )
}

const PING_URL: &str = "https://example.org/2013/12/08/car-latest-france-cuts-forces/";
const PING_TITLE: &str = "CAR Latest-France Cuts Forces, Africa Union Steps In";

#[test]
fn a_new_pingback_is_exactly_one_pingback_added() {
    let env = Env::new();
    setup(&env);
    let v = changes_after(
        &env,
        &blog(MENU, &[daniel()]),
        &blog(
            MENU,
            &[daniel(), ping(415, "pingback", PING_TITLE, PING_URL)],
        ),
    );
    assert_eq!(v["outcome"], "changed");
    assert_eq!(
        v["changes"],
        json!([{"type": "pingback_added", "id": "comment-415", "kind": "pingback", "author": PING_TITLE,
                "url": PING_URL, "date": null, "text": PING_TITLE}])
    );
}

#[test]
fn a_new_comment_is_comment_added_and_never_text() {
    let env = Env::new();
    setup(&env);
    let laura = comment(416, "Laura", "The statement now says $60 million.");
    let v = changes_after(&env, &blog(MENU, &[]), &blog(MENU, &[daniel(), laura]));
    assert_eq!(
        v["changes"],
        json!([
            {"type": "comment_added", "id": "comment-412", "kind": "comment", "author": "Daniel",
             "url": "https://Daniel.example.net/", "date": "2013-12-05T10:00:00+00:00",
             "text": "Is the $40 million new money, or was it already budgeted?"},
            {"type": "comment_added", "id": "comment-416", "kind": "comment", "author": "Laura",
             "url": "https://Laura.example.net/", "date": "2013-12-01T10:00:00+00:00",
             "text": "The statement now says $60 million."}
        ])
    );
}

#[test]
fn removed_and_edited_responses() {
    let env = Env::new();
    setup(&env);
    let edited = comment(
        412,
        "Daniel",
        "Is the $60 million new money, or was it already budgeted?",
    );
    let v = changes_after(
        &env,
        &blog(
            MENU,
            &[
                daniel(),
                ping(415, "pingback", PING_TITLE, PING_URL),
                ping(417, "trackback", "Roundup", "https://t.example/r"),
            ],
        ),
        &blog(MENU, &[edited]),
    );
    let types: Vec<&str> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        vec!["comment_edited", "pingback_removed", "trackback_removed"],
        "{v}"
    );
    let edit = &v["changes"][0];
    assert_eq!(edit["id"], "comment-412");
    assert_eq!(
        edit["before"],
        "Is the $40 million new money, or was it already budgeted?"
    );
    assert_eq!(
        edit["text"],
        "Is the $60 million new money, or was it already budgeted?"
    );
    assert_eq!(v["changes"][2]["url"], "https://t.example/r");
}

#[test]
fn a_new_trackback_is_trackback_added() {
    let env = Env::new();
    setup(&env);
    let v = changes_after(
        &env,
        &blog(MENU, &[daniel()]),
        &blog(
            MENU,
            &[
                daniel(),
                ping(
                    420,
                    "trackback",
                    "Weekly roundup",
                    "https://t.example/roundup",
                ),
            ],
        ),
    );
    let types: Vec<&str> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["trackback_added"], "{v}");
}

#[test]
fn reordered_or_newly_threaded_responses_are_not_a_change() {
    let env = Env::new();
    setup(&env);
    let a = comment(1, "Ann", "First point about the mission.");
    let b = comment(2, "Bob", "A reply to Ann about funding.");
    let c = ping(3, "pingback", PING_TITLE, PING_URL);
    let mut threaded = a.clone();
    threaded.replies = vec![b.clone()];
    let v = changes_after(
        &env,
        &blog(MENU, &[a.clone(), b.clone(), c.clone()]),
        &blog(MENU, &[c, threaded]),
    );
    assert_eq!(v["outcome"], "unchanged", "{v}");
}

#[test]
fn a_site_wide_menu_edit_is_not_a_change() {
    let env = Env::new();
    setup(&env);
    let menu2 = "<li><a href=\"/\">Home</a></li><li><a href=\"/about\">About us</a></li><li><a href=\"/donate\">Donate</a></li>";
    let v = changes_after(&env, &blog(MENU, &[daniel()]), &blog(menu2, &[daniel()]));
    assert_eq!(v["outcome"], "unchanged", "{v}");
}

#[test]
fn the_post_text_is_kept_and_responses_are_items() {
    let env = Env::new();
    setup(&env);
    env.serve(
        "/post",
        Reply::html(blog(
            MENU,
            &[daniel(), ping(415, "pingback", PING_TITLE, PING_URL)],
        )),
    );
    env.check_one("blog");
    let out = env.cmd().args(["show", "blog"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Secretary Kerry announced today"), "{text}");
    for chrome in [
        "Home",
        "Proudly powered",
        "Recent Posts",
        "Leave a Reply",
        "responses to",
        "must be logged in",
        "Daniel",
    ] {
        assert!(
            !text.contains(chrome),
            "{chrome:?} should not be in the text:\n{text}"
        );
    }
}

/// A listing page: a table of press releases inside site chrome.
fn listing(rows: &[(&str, &str)]) -> String {
    let mut body = String::new();
    for (date, title) in rows {
        body.push_str(&format!(
            "<tr><td>{date}</td><td><a href=\"/r/{date}\">{title}</a></td></tr>"
        ));
    }
    format!(
        "<html><head><title>Press Releases</title></head><body><nav><a href=\"/\">Home</a> <a href=\"/s\">Secretary</a></nav>\
         <div id=\"main\"><h1>Press Releases: December 2013</h1><table class=\"listing\">{body}</table></div>\
         <footer class=\"site-footer\">U.S. Department of State</footer></body></html>"
    )
}

#[test]
fn a_new_entry_on_a_listing_page_is_text_added() {
    let env = Env::new();
    env.config("[[watch]]\nname = \"releases\"\nurl = \"{base}/releases\"\n");
    let old = [
        ("2013-12-05", "Violence in the Central African Republic"),
        ("2013-12-04", "Travel to Moldova"),
    ];
    env.serve("/releases", Reply::html(listing(&old)));
    env.check_one("releases");
    let mut new = vec![(
        "2013-12-07",
        "U.S. Support to Peacekeepers in the Central African Republic",
    )];
    new.extend_from_slice(&old);
    env.serve("/releases", Reply::html(listing(&new)));
    let v = env.check_one("releases");
    assert_eq!(
        v["changes"],
        json!([{"type": "text_added", "block": 2,
                "text": "2013-12-07 | U.S. Support to Peacekeepers in the Central African Republic"}])
    );
}

#[test]
fn select_wins_over_automatic_extraction() {
    let env = Env::new();
    env.config("[[watch]]\nname = \"blog\"\nurl = \"{base}/post\"\nselect = [\"#masthead\"]\n");
    env.serve("/post", Reply::html(blog(MENU, &[daniel()])));
    env.check_one("blog");
    let menu2 = "<li><a href=\"/\">Home</a></li><li><a href=\"/news\">News</a></li>";
    env.serve("/post", Reply::html(blog(menu2, &[daniel()])));
    let v = env.check_one("blog");
    // The user asked for the header: its menu edit is reported, and the
    // comments outside the selection are not tracked.
    assert_eq!(
        v["changes"],
        json!([
            {"type": "text_removed", "block": 3, "text": "About"},
            {"type": "text_added", "block": 3, "text": "News"}
        ])
    );
}
