//! Reading the archive: `log`, `diff`, `show`, `watches`.

use super::{Context, Failure, Outcome};
use crate::check::diff_versions;
use crate::model::BlockKind;
use crate::report::terminal::render_changes;
use crate::store::{Store, Version};
use crate::summary::summarize;
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

pub fn log(ctx: &Context, name: &str) -> Outcome {
    let store = ctx.open_store()?;
    let versions = versions_of(&store, name)?;
    let checks = store.checks(name)?;
    let mut out = String::new();
    out.push_str(&format!(
        "{name}  {}\n",
        versions.last().map_or("", |v| v.requested_url.as_str())
    ));
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
        out.push_str(&format!(
            "  v{:<4} {}  {}  {}\n",
            v.number, v.created_at, v.status, what
        ));
    }
    if let Some(last) = checks.last() {
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
    print!("{out}");
    Ok(())
}

pub fn diff(ctx: &Context, name: &str, from: Option<i64>, to: Option<i64>, json: bool) -> Outcome {
    let store = ctx.open_store()?;
    let versions = versions_of(&store, name)?;
    let latest = versions.last().map_or(1, |v| v.number);
    let (from_n, to_n) = match (from, to) {
        (Some(f), Some(t)) => (f, t),
        (Some(f), None) => (f, latest),
        _ => (latest - 1, latest),
    };
    if versions.len() < 2 && from.is_none() {
        return Err(Failure::Other(format!(
            "`{name}` has only one version so far"
        )));
    }
    let (a, b) = (pick(&versions, from_n, name)?, pick(&versions, to_n, name)?);
    let rules = current_rules(ctx, name);
    let changes = diff_versions(&store, &a, &b, rules.as_ref())?;
    if json {
        let v = serde_json::json!({"watch": name, "from": a.number, "to": b.number, "changes": changes});
        println!("{v}");
        return Ok(());
    }
    print!(
        "{name}  v{} ({}) → v{} ({})\n  {}\n{}",
        a.number,
        a.created_at,
        b.number,
        b.created_at,
        summarize(&changes),
        render_changes(&changes, ctx.style)
    );
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

pub fn watches(ctx: &Context) -> Outcome {
    let config = ctx.load_config()?;
    let store = ctx.open_store()?;
    let summaries = store.watch_summaries()?;
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
