//! What each command does. `run` maps results to exit statuses: 0 when the
//! work ran, 2 for usage and config errors, 1 for anything else.

mod alerts;
mod archive;
mod check;
mod demo;
mod history;
mod run;

use crate::cli::{Cli, ColorChoice, Command};
use crate::config::{self, Config};
use crate::fetch::{FetchOptions, Fetcher};
use crate::report::terminal::Style;
use crate::store::{self, Store};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// A command's failure, with the exit status it maps to.
#[derive(Debug)]
pub enum Failure {
    /// Usage or configuration: exit 2.
    Usage(String),
    /// Anything else: exit 1.
    Other(String),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Other(format!("{e:#}"))
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Other(e.to_string())
    }
}

pub type Outcome = Result<(), Failure>;

/// Global options every command can use.
pub struct Context {
    pub config_path: PathBuf,
    pub db_path: PathBuf,
    pub style: Style,
    pub fetch: FetchOptions,
    pub delivery: crate::notify::DeliveryOptions,
}

impl Context {
    pub fn fetcher(&self) -> Result<Fetcher, Failure> {
        Fetcher::new(self.fetch.clone())
            .map_err(|e| Failure::Usage(format!("fetch settings: {e:#}")))
    }

    pub fn load_config(&self) -> Result<Config, Failure> {
        config::load(&self.config_path).map_err(|e| Failure::Usage(e.to_string()))
    }

    pub fn open_store(&self) -> Result<Store, Failure> {
        Store::open(&self.db_path).map_err(Failure::from)
    }
}

fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    let ctx = Context {
        config_path: cli.config.clone().unwrap_or_else(config::default_path),
        db_path: cli.db.clone().unwrap_or_else(store::default_path),
        style: Style {
            color: use_color(cli.color),
        },
        fetch: FetchOptions {
            user_agent: cli
                .user_agent
                .clone()
                .unwrap_or_else(|| crate::fetch::USER_AGENT.to_string()),
            from: cli.from.clone(),
            per_host: cli.per_host,
            host_interval: cli.host_interval,
            total_timeout: cli.timeout,
            connect_timeout: cli.timeout.min(FetchOptions::default().connect_timeout),
            retries: cli.retries,
            ..FetchOptions::default()
        },
        delivery: crate::notify::DeliveryOptions {
            attempts: cli.alert_attempts.max(1),
            backoff: cli.alert_backoff,
            ..crate::notify::DeliveryOptions::default()
        },
    };
    let result = match cli.command {
        Command::Check {
            names,
            json,
            concurrency,
            no_notify,
            notify_wait,
            quiet,
        } => check::run(
            &ctx,
            &names,
            json,
            concurrency,
            (!no_notify).then_some(notify_wait),
            quiet,
        ),
        Command::Alerts {
            action,
            status,
            json,
        } => alerts::alerts(&ctx, action, status.as_deref(), json),
        Command::Notify {
            action: crate::cli::NotifyAction::Test { name },
        } => alerts::test(&ctx, &name),
        Command::Log { name, json } => history::log(&ctx, &name, json),
        Command::Diff {
            name,
            from,
            to,
            json,
            unified,
            side_by_side,
            at,
            since,
            width,
        } => {
            let mode = if json {
                history::DiffMode::Json
            } else if unified {
                history::DiffMode::Unified
            } else if side_by_side {
                history::DiffMode::SideBySide(width)
            } else {
                history::DiffMode::Inline
            };
            let pick = match (at, since) {
                (Some(t), _) => history::Pick::At(t),
                (None, Some(d)) => history::Pick::Since(d),
                (None, None) => history::Pick::Numbers(from, to),
            };
            history::diff(&ctx, &name, pick, mode)
        }
        Command::Changes {
            since,
            watch,
            kind,
            limit,
            json,
        } => history::changes(&ctx, since, watch.as_deref(), kind.as_deref(), limit, json),
        Command::Review => history::review(&ctx),
        Command::Verify => history::verify(&ctx),
        Command::Gc { full } => archive::gc(&ctx, full),
        Command::Export { warc, names, since } => archive::export(&ctx, &warc, &names, since),
        Command::Import { warc, watch } => archive::import(&ctx, &warc, watch.as_deref()),
        Command::Timemap { name } => history::timemap(&ctx, &name),
        Command::Reprocess { names } => history::reprocess(&ctx, &names),
        Command::Report { html, since } => history::report(&ctx, &html, since),
        Command::Feed { since, limit } => history::feed(&ctx, since, limit),
        Command::Completions { shell } => {
            let mut cmd = <crate::cli::Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "redline", &mut std::io::stdout());
            Ok(())
        }
        Command::Man => {
            let cmd = <crate::cli::Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(cmd)
                .render(&mut std::io::stdout())
                .map_err(Failure::from)
        }
        Command::Show {
            name,
            version: _,
            raw: _,
            volatile: true,
        } => history::volatile(&ctx, &name),
        Command::Show {
            name, version, raw, ..
        } => history::show(&ctx, &name, version, raw),
        Command::Watches { json } => history::watches(&ctx, json),
        Command::Demo => demo::run(&ctx),
        Command::Run {
            once,
            listen,
            grace,
            spread,
            jitter,
            concurrency,
            log_format,
        } => run::run(
            &ctx,
            crate::daemon::Options {
                once,
                listen,
                grace,
                spread,
                jitter,
                concurrency,
                ..crate::daemon::Options::default()
            },
            log_format,
        ),
        Command::Schedule { json } => run::schedule(&ctx, json),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
        Err(Failure::Other(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(1)
        }
    }
}

/// Print `text`, through `$PAGER` (default `less -R`) when stdout is a
/// terminal and the text is longer than a screen.
pub fn page_out(text: &str) -> Outcome {
    use std::io::Write;
    let long = text.lines().count() > 40;
    if long && std::io::stdout().is_terminal() {
        let pager = std::env::var("PAGER")
            .ok()
            .filter(|p| !p.trim().is_empty())
            .unwrap_or_else(|| "less -R".into());
        let mut parts = pager.split_whitespace();
        if let Some(prog) = parts.next()
            && let Ok(mut child) = std::process::Command::new(prog)
                .args(parts)
                .stdin(std::process::Stdio::piped())
                .spawn()
        {
            if let Some(mut stdin) = child.stdin.take() {
                // A pager quit early closes the pipe: not an error.
                let _ = stdin.write_all(text.as_bytes());
            }
            let _ = child.wait();
            return Ok(());
        }
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(Failure::from),
    }
}

/// The runtime of the commands that fetch: one thread. The archive is
/// written from one task anyway, fetching is I/O, and tasks never hop
/// between threads (a profile showed a third of a pass in the kernel,
/// much of it waking worker threads).
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Failure::from)
}
