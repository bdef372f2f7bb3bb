//! `redline check`: one pass over the watches, now.

use super::{Context, Failure, Outcome, runtime};
use crate::check::{CheckResult, run_checks};
use crate::config::Watch;
use crate::report::{json_line, terminal};
use std::io::{IsTerminal, Write};

pub fn run(
    ctx: &Context,
    names: &[String],
    json: bool,
    concurrency: usize,
    notify_wait: Option<std::time::Duration>,
    quiet: bool,
) -> Outcome {
    let config = ctx.load_config()?;
    if config.watches.is_empty() {
        return Err(Failure::Usage(format!(
            "no watches configured in {}",
            ctx.config_path.display()
        )));
    }
    let mut store = ctx.open_store()?;
    let all = crate::daemon::all_watches(&store, &config)?;
    let watches: Vec<Watch> = if names.is_empty() {
        all
    } else {
        let mut picked = Vec::new();
        for n in names {
            match all.iter().find(|w| &w.name == n) {
                Some(w) => picked.push(w.clone()),
                None => {
                    let known: Vec<&str> = all.iter().map(|w| w.name.as_str()).collect();
                    return Err(Failure::Usage(format!(
                        "no watch named `{n}` in {} (configured: {})",
                        ctx.config_path.display(),
                        known.join(", ")
                    )));
                }
            }
        }
        picked
    };
    let fetcher = ctx.fetcher()?;
    let rt = runtime()?;
    let style = ctx.style;
    let stdout = std::io::stdout();
    // A progress line on stderr, only for a person at a terminal.
    let progress = !quiet && std::io::stderr().is_terminal();
    let total = watches.len();
    let mut done = 0usize;
    // Only counted: a large pass keeps no result once it is printed.
    let mut tallied = Tally::default();
    rt.block_on(run_checks(
        &mut store,
        &fetcher,
        &watches,
        concurrency,
        |r| {
            tallied.add(&r);
            done += 1;
            if progress {
                eprint!("\r\x1b[2K");
            }
            let mut out = stdout.lock();
            let text = if json {
                format!("{}\n", json_line(&r))
            } else {
                terminal::render_result(&r, style)
            };
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
            if progress && done < total {
                eprint!("[{done}/{total}] checking…");
            }
        },
    ));
    if progress {
        eprint!("\r\x1b[2K");
    }
    if !json {
        println!("{tallied}");
    }
    if let Some(wait) = notify_wait
        && !config.notifiers.is_empty()
    {
        super::alerts::deliver_for(&rt, &mut store, &config.notifiers, &ctx.delivery, wait)?;
    }
    Ok(())
}

/// Outcomes counted: "checked 3 watches: 1 changed, 1 unchanged, 1 first
/// capture, 0 errors".
#[derive(Debug, Default)]
pub struct Tally {
    checked: usize,
    changed: usize,
    unchanged: usize,
    first_capture: usize,
    errors: usize,
}

impl Tally {
    pub fn add(&mut self, r: &CheckResult) {
        self.checked += 1;
        match r.outcome {
            "changed" => self.changed += 1,
            "unchanged" => self.unchanged += 1,
            "first_capture" => self.first_capture += 1,
            "error" => self.errors += 1,
            _ => {}
        }
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "checked {} watch{}: {} changed, {} unchanged, {} first capture, {} error{}",
            self.checked,
            if self.checked == 1 { "" } else { "es" },
            self.changed,
            self.unchanged,
            self.first_capture,
            self.errors,
            if self.errors == 1 { "" } else { "s" }
        )
    }
}
