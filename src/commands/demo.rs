//! `redline demo`: the main job on recorded pages served from loopback,
//! with a temporary archive. Needs no network and finishes in seconds.

use super::{Context, Failure, Outcome, runtime};
use crate::check::{CheckResult, run_checks};
use crate::config::{Watch, parse_sources};
use crate::fetch::{FetchOptions, Fetcher};
use crate::report::terminal::{Style, render_result};
use crate::serve::{Reply, SiteServer};
use crate::store::Store;
use std::path::PathBuf;

const STATEMENT: [&str; 2] = [
    include_str!("../../snapshots/state-car-statement/v1.html"),
    include_str!("../../snapshots/state-car-statement/v2.html"),
];
const BRIEFING: [&str; 2] = [
    include_str!("../../snapshots/briefing-2013-12-05/v1.html"),
    include_str!("../../snapshots/briefing-2013-12-05/v2.html"),
];
const BLOG: [&str; 2] = [
    include_str!("../../snapshots/blog-car-peacekeepers/v1.html"),
    include_str!("../../snapshots/blog-car-peacekeepers/v2.html"),
];

const STATEMENT_PATH: &str = "/r/pa/prs/ps/2013/12/218349.htm";
const STATEMENT_ARCHIVE_PATH: &str = "/2009-2017/r/pa/prs/ps/2013/12/218349.htm";
const BRIEFING_PATH: &str = "/r/pa/prs/dpb/2013/12/218300.htm";
const BLOG_PATH: &str = "/2013/12/07/us-to-support-peacekeepers-in-car/";

/// A recorded page with this step's rotating noise filled in.
fn page(template: &str, step: usize) -> Reply {
    let nonce = format!(
        "{:016x}",
        (step as u64 + 7).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    );
    let timing = format!("0.{:03}s", 100 + step * 37);
    Reply::dynamic_html(
        template
            .replace("{{NONCE}}", &nonce)
            .replace("{{TIMING}}", &timing),
    )
}

struct Step {
    explain: &'static str,
    statement: Reply,
    briefing: Reply,
    blog: Reply,
}

fn steps(server: &SiteServer) -> Vec<Step> {
    vec![
        Step {
            explain: "First capture: redline fetches three pages and archives each one as version 1 (raw response and extracted text).",
            statement: page(STATEMENT[0], 1),
            briefing: page(BRIEFING[0], 1),
            blog: page(BLOG[0], 1),
        },
        Step {
            explain: "The pages are fetched again. Invisible noise rotated (script nonces, hidden form tokens, timing comments) and the statement's visible \"Page refreshed at\" time moved: redline re-fetched it, saw that line change on its own, learned to ignore it, and reports nothing.",
            statement: page(STATEMENT[0], 2),
            briefing: page(BRIEFING[0], 2),
            blog: page(BLOG[0], 2),
        },
        Step {
            explain: "The State Department quietly edits the dollar figure in its press statement: one sentence edited, shown word by word.",
            statement: page(STATEMENT[1], 3),
            briefing: page(BRIEFING[0], 3),
            blog: page(BLOG[0], 3),
        },
        Step {
            explain: "A day later the briefing transcript's \"[inaudible]\" is corrected.",
            statement: page(STATEMENT[1], 4),
            briefing: page(BRIEFING[1], 4),
            blog: page(BLOG[0], 4),
        },
        Step {
            explain: "The blog post gains a pingback from another site and a reader comment.",
            statement: page(STATEMENT[1], 5),
            briefing: page(BRIEFING[1], 5),
            blog: page(BLOG[1], 5),
        },
        Step {
            explain: "The press statement moves to the 2009-2017 archive (a redirect), and the briefing page disappears (404).",
            statement: Reply::redirect(301, &server.url(STATEMENT_ARCHIVE_PATH)),
            briefing: Reply::status(404),
            blog: page(BLOG[1], 6),
        },
    ]
}

fn demo_watches(server: &SiteServer) -> Result<Vec<Watch>, Failure> {
    let toml = format!(
        r##"cron = "*/30 * * * *"

[[watch]]
name = "car-support"
url = "{statement}"
select = ["#centerblock"]
confirm_delay = "100ms"

[[watch]]
name = "briefing-2013-12-05"
url = "{briefing}"
confirm_delay = "100ms"

[[watch]]
name = "blog-car-peacekeepers"
url = "{blog}"
confirm_delay = "100ms"
"##,
        statement = server.url(STATEMENT_PATH),
        briefing = server.url(BRIEFING_PATH),
        blog = server.url(BLOG_PATH),
    );
    parse_sources(&[(PathBuf::from("demo.toml"), toml)])
        .map(|c| c.watches)
        .map_err(|e| Failure::Other(format!("demo config: {e}")))
}

pub fn run(ctx: &Context) -> Outcome {
    let style = ctx.style;
    let server = SiteServer::start()?;
    let watches = demo_watches(&server)?;
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(&dir.path().join("demo.db"))?;
    let fetcher = Fetcher::new(FetchOptions::default())?;
    let rt = runtime()?;
    let bold = |s: &str| {
        if style.color {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };

    println!(
        "{}",
        bold(
            "redline demo: three recorded pages served from 127.0.0.1, checked in six steps, archived in a temporary SQLite file."
        )
    );
    for (i, step) in steps(&server).into_iter().enumerate() {
        server.set(STATEMENT_PATH, step.statement);
        server.set(STATEMENT_ARCHIVE_PATH, page(STATEMENT[1], i + 1));
        server.set(BRIEFING_PATH, step.briefing);
        server.set(BLOG_PATH, step.blog);
        println!("\n{} {}", bold(&format!("Step {}.", i + 1)), step.explain);
        let mut results: Vec<CheckResult> = Vec::new();
        rt.block_on(run_checks(&mut store, &fetcher, &watches, 4, |r| {
            results.push(r)
        }));
        results.sort_by_key(|r| watches.iter().position(|w| w.name == r.watch));
        for r in &results {
            print!("{}", render_result(r, style));
        }
        if i == 1 {
            for learned in store.volatile_rules("car-support")? {
                println!(
                    "  (learned for car-support: ignore {}; see `redline show car-support --volatile`)",
                    learned.rule.describe()
                );
            }
        }
    }
    print_history(&store, "car-support", style)?;
    println!(
        "\nTo watch real pages, list them in schedules/*.toml (see schedules/ for State Department and blog examples), then run\n  redline check            # one pass now; add --json for scripts\n  redline log NAME         # a page's history\n  redline diff NAME        # what changed in its latest version"
    );
    Ok(())
}

fn print_history(store: &Store, name: &str, style: Style) -> Outcome {
    let bold = |s: &str| {
        if style.color {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    println!(
        "\n{} (what `redline log {name}` shows):",
        bold("The archive keeps every version")
    );
    for v in store.versions(name)? {
        println!(
            "  v{}  HTTP {}  {}",
            v.number,
            v.status,
            v.summary.unwrap_or_else(|| "first capture".into())
        );
    }
    Ok(())
}
