//! Reading the archive: `log`, `diff`, `show`, `watches`.

use super::{Context, Failure, Outcome};
use crate::check::diff_versions;
use crate::model::BlockKind;
use crate::report::terminal::{render_changes, side_by_side, unified_patch};
use crate::store::{Store, Version};
use crate::summary::summarize;
use chrono::{DateTime, Utc};
use std::io::Write;

fn versions_of(store: &Store, name: &str) -> Result<Vec<Version>, Failure> {
    let versions = store.versions(name)?;
    if versions.is_empty() {
        return Err(Failure::Other(format!(
            "no archived versions of `{name}` in {} (run `redline check {name}` first)",
            store.path().display()
        )));
    }
    Ok(versions)
}

fn pick(versions: &[Version], number: i64, name: &str) -> Result<Version, Failure> {
    versions
        .iter()
        .find(|v| v.number == number)
        .cloned()
        .ok_or_else(|| {
            Failure::Usage(format!(
                "`{name}` has no version {number} (versions 1 to {})",
                versions.len()
            ))
        })
}

/// The watch's current rules, when the config can be read and has it.
fn current_rules(ctx: &Context, name: &str) -> Option<crate::extract::Rules> {
    let cfg = crate::config::load(&ctx.config_path).ok()?;
    cfg.watch(name).map(|w| w.rules.clone())
}

pub fn log(ctx: &Context, name: &str, json: bool) -> Outcome {
    let store = ctx.open_store()?;
    let versions = versions_of(&store, name)?;
    let checks = store.checks(name)?;
    // The checks made while each version was current, after the one that
    // created it: (unchanged, errors, last check time).
    let mut between: std::collections::HashMap<i64, (usize, usize, String)> =
        std::collections::HashMap::new();
    for c in &checks {
        let Some(v) = c.version else {
            continue;
        };
        if matches!(c.outcome.as_str(), "unchanged" | "error") {
            let e = between.entry(v).or_insert((0, 0, String::new()));
            if c.outcome == "error" {
                e.1 += 1;
            } else {
                e.0 += 1;
            }
            e.2 = c.checked_at.clone();
        }
    }
    let mut out = String::new();
    if !json {
        out.push_str(&format!(
            "{name}  {}\n",
            versions.last().map_or("", |v| v.requested_url.as_str())
        ));
    }
    for v in &versions {
        let what = if v.number == 1 {
            if v.gone {
                format!("first capture, page gone (HTTP {})", v.status)
            } else {
                "first capture".to_string()
            }
        } else {
            v.summary.clone().unwrap_or_else(|| summarize(&[]))
        };
        let (unchanged, errors, last) = between.get(&v.number).cloned().unwrap_or_default();
        if json {
            let o = serde_json::json!({
                "version": v.number, "created_at": v.created_at, "status": v.status, "gone": v.gone,
                "final_url": v.final_url, "summary": what, "imported": v.imported,
                "checks_after": {"unchanged": unchanged, "error": errors, "last": (!last.is_empty()).then_some(last)},
            });
            out.push_str(&format!("{o}\n"));
            continue;
        }
        out.push_str(&format!(
            "  v{:<4} {}  {}  {}{}\n",
            v.number,
            v.created_at,
            v.status,
            what,
            if v.imported.is_some() {
                "  (imported)"
            } else {
                ""
            }
        ));
        if unchanged + errors > 0 {
            let mut parts = Vec::new();
            if unchanged > 0 {
                parts.push(format!("{unchanged} unchanged"));
            }
            if errors > 0 {
                parts.push(format!("{errors} with errors"));
            }
            out.push_str(&format!(
                "        … {} check{}, last {last}\n",
                parts.join(", "),
                if unchanged + errors == 1 { "" } else { "s" }
            ));
        }
    }
    let pruned = store.pruned(name)?;
    if !json && !pruned.is_empty() {
        let numbers: Vec<String> = pruned.iter().map(|(n, _, _)| format!("v{n}")).collect();
        out.push_str(&format!("  pruned by retention: {}\n", numbers.join(", ")));
    }
    if let (Some(last), false) = (checks.last(), json) {
        let errors = checks.iter().filter(|c| c.outcome == "error").count();
        out.push_str(&format!(
            "  {} checks ({} with errors), last {} ({}{})\n",
            checks.len(),
            errors,
            last.checked_at,
            last.outcome.replace('_', " "),
            last.error
                .as_ref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        ));
    }
    super::page_out(&out)
}

/// How `diff` shows changes.
pub enum DiffMode {
    Inline,
    SideBySide(usize),
    Unified,
    Json,
}

/// How `diff` picks its two versions.
pub enum Pick {
    /// FROM and TO by number (default: the latest two).
    Numbers(Option<i64>, Option<i64>),
    /// The version current at this time, against the one before it.
    At(String),
    /// The version current this long ago, against the latest.
    Since(std::time::Duration),
}

/// The end of a `--at` time: a date means the end of that day (UTC).
fn parse_at(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    d.and_hms_opt(23, 59, 59).map(|t| t.and_utc())
}

/// The version current at `t`: the newest created at or before it.
fn current_at(versions: &[Version], t: DateTime<Utc>) -> Option<&Version> {
    versions.iter().rev().find(|v| {
        DateTime::parse_from_rfc3339(&v.created_at).is_ok_and(|c| c.with_timezone(&Utc) <= t)
    })
}

pub fn diff(ctx: &Context, name: &str, pick_by: Pick, mode: DiffMode) -> Outcome {
    let store = ctx.open_store()?;
    let versions = versions_of(&store, name)?;
    let latest = versions.last().map_or(1, |v| v.number);
    let (from_n, to_n) = match pick_by {
        Pick::Numbers(Some(f), Some(t)) => (f, t),
        Pick::Numbers(Some(f), None) => (f, latest),
        Pick::Numbers(None, _) => {
            if versions.len() < 2 {
                return Err(Failure::Other(format!(
                    "`{name}` has only one version so far"
                )));
            }
            (latest - 1, latest)
        }
        Pick::At(t) => {
            let when = parse_at(&t).ok_or_else(|| {
                Failure::Usage(format!(
                    "--at `{t}`: write a date (2013-12-07) or an RFC 3339 time"
                ))
            })?;
            let v = current_at(&versions, when)
                .ok_or_else(|| Failure::Other(format!("`{name}` had no version yet at {t}")))?;
            if v.number == 1 {
                return Err(Failure::Other(format!(
                    "the version of `{name}` current at {t} is its first"
                )));
            }
            (v.number - 1, v.number)
        }
        Pick::Since(d) => {
            let when = Utc::now() - chrono::Duration::from_std(d).unwrap_or_default();
            let v = current_at(&versions, when)
                .or(versions.first())
                .map_or(1, |v| v.number);
            (v, latest)
        }
    };
    let (a, b) = (pick(&versions, from_n, name)?, pick(&versions, to_n, name)?);
    let rules = current_rules(ctx, name);
    let changes = diff_versions(&store, &a, &b, rules.as_ref())?;
    let header = format!(
        "{name}  v{} ({}) → v{} ({})\n  {}\n",
        a.number,
        a.created_at,
        b.number,
        b.created_at,
        summarize(&changes)
    );
    let text = match mode {
        DiffMode::Json => {
            format!(
                "{}\n",
                serde_json::json!({"watch": name, "from": a.number, "to": b.number, "changes": changes})
            )
        }
        DiffMode::Inline => format!("{header}{}", render_changes(&changes, ctx.style)),
        DiffMode::SideBySide(width) => {
            format!("{header}{}", side_by_side(&changes, width, ctx.style))
        }
        DiffMode::Unified => {
            let text_of = |v: &Version| -> Result<String, Failure> {
                let page = match &rules {
                    Some(r) => crate::check::page_under_rules(&store, v, r)?,
                    None => store.page(v)?,
                };
                Ok(page.map(|p| p.text()).unwrap_or_default())
            };
            unified_patch(
                &format!("a/{name} v{} {}", a.number, a.created_at),
                &format!("b/{name} v{} {}", b.number, b.created_at),
                &text_of(&a)?,
                &text_of(&b)?,
            )
        }
    };
    super::page_out(&text)
}

/// Recent change reports across all watches.
pub fn changes(
    ctx: &Context,
    since: Option<std::time::Duration>,
    watch: Option<&str>,
    kind: Option<&str>,
    limit: usize,
    json: bool,
) -> Outcome {
    if let Some(k) = kind
        && !crate::notify::CATEGORIES.iter().any(|(n, _)| *n == k)
    {
        let names: Vec<&str> = crate::notify::CATEGORIES.iter().map(|(n, _)| *n).collect();
        return Err(Failure::Usage(format!(
            "--kind `{k}`: use one of {}",
            names.join(", ")
        )));
    }
    let store = ctx.open_store()?;
    let since = since.map(|d| {
        (Utc::now() - chrono::Duration::from_std(d).unwrap_or_default())
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    });
    // Filtering by kind happens after the query: fetch enough to fill `limit`.
    let fetch = if kind.is_some() {
        limit.saturating_mul(20).max(1000)
    } else {
        limit
    };
    let mut rows = store.reports(since.as_deref(), watch, fetch)?;
    if let Some(k) = kind {
        let wanted = [k.to_string()];
        rows.retain(|r| r.changes.iter().any(|c| crate::notify::wanted(c, &wanted)));
    }
    rows.truncate(limit);
    let mut out = String::new();
    for r in &rows {
        if json {
            out.push_str(&serde_json::to_string(r).unwrap_or_default());
            out.push('\n');
        } else {
            out.push_str(&format!(
                "{}  {}  v{}  [{}]  {}\n",
                r.created_at,
                r.watch,
                r.version.map_or_else(|| "-".to_string(), |v| v.to_string()),
                r.significance.as_deref().unwrap_or("-"),
                r.summary
            ));
        }
    }
    if rows.is_empty() && !json {
        out.push_str("no changes reported in this period\n");
    }
    super::page_out(&out)
}

fn since_time(since: Option<std::time::Duration>) -> Option<String> {
    since.map(|d| {
        (Utc::now() - chrono::Duration::from_std(d).unwrap_or_default())
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    })
}

pub fn report(
    ctx: &Context,
    file: &std::path::Path,
    since: Option<std::time::Duration>,
) -> Outcome {
    let store = ctx.open_store()?;
    let rows = store.reports(since_time(since).as_deref(), None, 100_000)?;
    let title = match since {
        Some(d) => format!("redline: changes in the last {}", humantime(d)),
        None => "redline: all changes".to_string(),
    };
    let page = crate::report::html::report_page(&rows, &title);
    std::fs::write(file, page)
        .map_err(|e| Failure::Other(format!("cannot write {}: {e}", file.display())))?;
    println!(
        "wrote {} change report(s) to {}",
        rows.len(),
        file.display()
    );
    Ok(())
}

fn humantime(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        _ if s.is_multiple_of(86_400) => format!("{} day(s)", s / 86_400),
        _ if s.is_multiple_of(3600) => format!("{} hour(s)", s / 3600),
        _ => format!("{} minute(s)", s / 60),
    }
}

pub fn review(ctx: &Context) -> Outcome {
    use crate::report::review::{Action, Key, Review};
    use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind};
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Failure::Usage(
            "review needs a terminal; for scripts use `redline changes --json`".into(),
        ));
    }
    let mut store = ctx.open_store()?;
    let mut review = Review::new(store.unseen_reports(10_000)?);
    let mut terminal = ratatui::try_init()
        .map_err(|e| Failure::Other(format!("cannot set up the terminal: {e}")))?;
    let result = (|| -> Outcome {
        loop {
            terminal.draw(|f| review.draw(f))?;
            let Event::Key(k) = event::read()? else {
                continue;
            };
            if k.kind != KeyEventKind::Press {
                continue;
            }
            let key = match k.code {
                KeyCode::Up => Key::Up,
                KeyCode::Down => Key::Down,
                KeyCode::Enter => Key::Enter,
                KeyCode::Esc => Key::Esc,
                KeyCode::Tab => Key::Tab,
                KeyCode::Backspace => Key::Backspace,
                KeyCode::Char(c) => Key::Char(c),
                _ => continue,
            };
            match review.handle(key) {
                Action::Quit => return Ok(()),
                Action::MarkSeen(id) => store.mark_seen(id, true)?,
                Action::Open(url) => {
                    let opener = if cfg!(target_os = "macos") {
                        "open"
                    } else {
                        "xdg-open"
                    };
                    review.status = match std::process::Command::new(opener)
                        .arg(&url)
                        .stdout(std::process::Stdio::null())
                        .stderr(std::process::Stdio::null())
                        .spawn()
                    {
                        Ok(_) => format!("opened {url}"),
                        Err(e) => format!("cannot open {url}: {e}"),
                    };
                }
                Action::None => {}
            }
        }
    })();
    ratatui::restore();
    result
}

pub fn verify(ctx: &Context) -> Outcome {
    let store = ctx.open_store()?;
    let problems = store.verify()?;
    if problems.is_empty() {
        println!("{}: ok", ctx.db_path.display());
        return Ok(());
    }
    for p in &problems {
        eprintln!("{p}");
    }
    Err(Failure::Other(format!(
        "{} problem(s) in {}",
        problems.len(),
        ctx.db_path.display()
    )))
}

/// An RFC 1123 date, as Memento wants.
fn http_date(rfc3339: &str) -> String {
    DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| {
            t.with_timezone(&Utc)
                .format("%a, %d %b %Y %H:%M:%S GMT")
                .to_string()
        })
        .unwrap_or_else(|_| rfc3339.to_string())
}

pub fn timemap(ctx: &Context, name: &str) -> Outcome {
    let store = ctx.open_store()?;
    let versions = versions_of(&store, name)?;
    let original = versions.last().map_or("", |v| v.requested_url.as_str());
    let first = versions
        .first()
        .map(|v| http_date(&v.created_at))
        .unwrap_or_default();
    let last = versions
        .last()
        .map(|v| http_date(&v.created_at))
        .unwrap_or_default();
    let mut lines = vec![
        format!("<{original}>; rel=\"original\""),
        format!(
            "<urn:redline:{name}>; rel=\"self\"; type=\"application/link-format\"; from=\"{first}\"; until=\"{last}\""
        ),
    ];
    let n = versions.len();
    for (i, v) in versions.iter().enumerate() {
        let rel = match (i, n) {
            (0, 1) => "first last memento",
            (0, _) => "first memento",
            (i, n) if i + 1 == n => "last memento",
            _ => "memento",
        };
        lines.push(format!(
            "<urn:redline:{name}:{}>; rel=\"{rel}\"; datetime=\"{}\"",
            v.number,
            http_date(&v.created_at)
        ));
    }
    println!("{}", lines.join(",\n"));
    Ok(())
}

pub fn reprocess(ctx: &Context, names: &[String]) -> Outcome {
    let config = ctx.load_config()?;
    let mut store = ctx.open_store()?;
    let watches: Vec<&crate::config::Watch> =
        if names.is_empty() {
            config.watches.iter().collect()
        } else {
            let mut v = Vec::new();
            for n in names {
                v.push(config.watch(n).ok_or_else(|| {
                    Failure::Usage(format!("no watch named `{n}` in the config"))
                })?);
            }
            v
        };
    let at = crate::check::now_rfc3339();
    for w in watches {
        let numbers = store.versions_to_rederive(&w.name, &w.rules)?;
        if numbers.is_empty() {
            println!("{}: up to date", w.name);
            continue;
        }
        store.rederive_pages(&w.name, &numbers, &w.rules, &at)?;
        println!(
            "{}: {} version(s) re-derived under the current rules",
            w.name,
            numbers.len()
        );
    }
    Ok(())
}

pub fn feed(ctx: &Context, since: Option<std::time::Duration>, limit: usize) -> Outcome {
    let store = ctx.open_store()?;
    let rows = store.reports(since_time(since).as_deref(), None, limit)?;
    print!("{}", crate::report::html::atom_feed(&rows, None));
    Ok(())
}

pub fn show(ctx: &Context, name: &str, version: Option<i64>, raw: bool) -> Outcome {
    let store = ctx.open_store()?;
    let versions = versions_of(&store, name)?;
    let v = match version {
        Some(n) => pick(&versions, n, name)?,
        None => versions
            .last()
            .cloned()
            .ok_or_else(|| Failure::Other("no versions".into()))?,
    };
    if raw {
        let r = store.raw_response(v.response_id)?;
        let mut out = std::io::stdout().lock();
        out.write_all(&r.response.body)?;
        out.flush()?;
        return Ok(());
    }
    let mut out = format!(
        "{name} v{}  {}  HTTP {}  {}\n",
        v.number, v.created_at, v.status, v.final_url
    );
    match store.page(&v)? {
        None => out.push_str(&format!("(page gone: HTTP {})\n", v.status)),
        Some(page) => {
            if let Some(t) = &page.title {
                out.push_str(&format!("title: {t}\n"));
            }
            let m = &page.meta;
            for (label, value) in [
                ("canonical", &m.canonical),
                ("published", &m.published),
                ("modified", &m.modified),
            ] {
                if let Some(v) = value {
                    out.push_str(&format!("{label}: {v}\n"));
                }
            }
            for f in &m.feeds {
                out.push_str(&format!("feed: {f}\n"));
            }
            if !page.responses.is_empty() {
                out.push_str(&format!("responses: {}\n", page.responses.len()));
            }
            if let Some(h) = &page.body_sha256 {
                out.push_str(&format!(
                    "({}, {} bytes, sha256 {h})\n",
                    page.mime, page.body_size
                ));
            }
            out.push('\n');
            for b in &page.blocks {
                let prefix = match b.kind {
                    BlockKind::Heading => "## ",
                    BlockKind::ListItem => "• ",
                    _ => "",
                };
                out.push_str(prefix);
                out.push_str(&b.text);
                out.push('\n');
            }
        }
    }
    print!("{out}");
    Ok(())
}

pub fn volatile(ctx: &Context, name: &str) -> Outcome {
    let store = ctx.open_store()?;
    versions_of(&store, name)?;
    let rules = store.volatile_rules(name)?;
    if rules.is_empty() {
        println!(
            "{name}: no volatile text learned (nothing on the page changed on its own between two fetches)"
        );
        return Ok(());
    }
    let mut out = format!("{name}: text ignored because it changes on its own\n");
    for r in rules {
        out.push_str(&format!(
            "  {}  (learned {}; the re-fetch showed: {})\n",
            r.rule.describe(),
            r.learned_at,
            r.example
        ));
    }
    print!("{out}");
    Ok(())
}

pub fn watches(ctx: &Context, json: bool) -> Outcome {
    let config = ctx.load_config()?;
    let store = ctx.open_store()?;
    let summaries = store.watch_summaries()?;
    if json {
        let mut out = String::new();
        for w in &config.watches {
            let s = summaries.iter().find(|s| s.name == w.name);
            let v = serde_json::json!({
                "watch": w.name, "url": w.url, "schedule": w.schedule.expr(),
                "versions": s.map_or(0, |s| s.versions), "checks": s.map_or(0, |s| s.checks),
                "last_checked": s.and_then(|s| s.last_checked.clone()),
                "last_outcome": s.and_then(|s| s.last_outcome.clone()),
            });
            out.push_str(&format!("{v}\n"));
        }
        print!("{out}");
        return Ok(());
    }
    let width = config
        .watches
        .iter()
        .map(|w| w.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = format!(
        "{:<width$}  {:>8}  {:<26}  {:<13}  URL\n",
        "NAME", "VERSIONS", "LAST CHECK", "OUTCOME"
    );
    for w in &config.watches {
        let s = summaries.iter().find(|s| s.name == w.name);
        out.push_str(&format!(
            "{:<width$}  {:>8}  {:<26}  {:<13}  {}\n",
            w.name,
            s.map_or(0, |s| s.versions),
            s.and_then(|s| s.last_checked.clone())
                .unwrap_or_else(|| "never".into()),
            s.and_then(|s| s.last_outcome.clone())
                .unwrap_or_else(|| "-".into()),
            w.url
        ));
    }
    print!("{out}");
    Ok(())
}
