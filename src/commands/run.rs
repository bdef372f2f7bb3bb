//! `redline run` and `redline schedule`.

use super::{Context, Failure, Outcome, runtime};
use crate::cli::LogFormat;
use crate::daemon::{self, Options, all_watches, lock_archive, next_run};
use chrono::{DateTime, Utc};

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("REDLINE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (tests in one process) is harmless.
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Human => builder.with_ansi(false).with_target(false).try_init(),
    };
}

pub fn run(ctx: &Context, opts: Options, log_format: LogFormat) -> Outcome {
    init_logging(log_format);
    let config = ctx.load_config()?;
    let _lock = lock_archive(&ctx.db_path).map_err(|e| Failure::Other(format!("{e:#}")))?;
    let mut store = ctx.open_store()?;
    let watches = all_watches(&store, &config)?;
    let notifiers = config.notifiers.clone();
    // The watches are all the daemon needs (and at 50,000 watches a second
    // copy is felt).
    drop(config);
    if watches.is_empty() {
        return Err(Failure::Usage(format!(
            "no watches configured in {}",
            ctx.config_path.display()
        )));
    }
    let fetcher = ctx.fetcher()?;
    let rt = runtime()?;
    if opts.once {
        let concurrency = opts.concurrency;
        let results = rt.block_on(daemon::run_once(
            &mut store,
            &fetcher,
            &watches,
            &notifiers,
            &ctx.delivery,
            concurrency,
        ));
        tracing::info!(checked = results.len(), "pass done");
        return Ok(());
    }
    rt.block_on(daemon::run(
        store,
        fetcher,
        ctx.config_path.clone(),
        watches,
        notifiers,
        ctx.delivery.clone(),
        opts,
    ))?;
    Ok(())
}

pub fn schedule(ctx: &Context, json: bool) -> Outcome {
    let config = ctx.load_config()?;
    let store = ctx.open_store()?;
    let watches = all_watches(&store, &config)?;
    let now = Utc::now();
    let width = watches
        .iter()
        .map(|w| w.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = String::new();
    if !json {
        out.push_str(&format!(
            "{:<width$}  {:<25}  {:<20}  LAST CHECK\n",
            "NAME", "NEXT RUN", "SCHEDULE"
        ));
    }
    for w in &watches {
        let last = store.last_checked(&w.name)?;
        let last_t = last
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        let next = next_run(w, last_t, now);
        let next_s = next.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        if json {
            let v = serde_json::json!({
                "watch": w.name, "url": w.url, "schedule": w.schedule.expr(), "timezone": w.schedule.zone(),
                "next_run": next_s, "due": next <= now, "last_checked": last,
            });
            out.push_str(&format!("{v}\n"));
        } else {
            let next_s = if next <= now {
                format!("{next_s} (due)")
            } else {
                next_s
            };
            out.push_str(&format!(
                "{:<width$}  {:<25}  {:<20}  {}\n",
                w.name,
                next_s,
                w.schedule.expr(),
                last.unwrap_or_else(|| "never".into())
            ));
        }
    }
    print!("{out}");
    Ok(())
}
