//! The command tree, in one place.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// redline watches web pages, keeps every version in a SQLite archive, and
/// tells you what changed.
#[derive(Debug, Parser)]
#[command(name = "redline", version, about, long_about = None)]
pub struct Cli {
    /// A watch list: a TOML file or a directory of *.toml files
    /// [default: ./schedules when it exists, else the platform config dir]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// The archive (SQLite file) [default: $REDLINE_DB, else the platform data dir]
    #[arg(long, global = true, value_name = "PATH", env = "REDLINE_DB")]
    pub db: Option<PathBuf>,

    /// When to colour output (NO_COLOR is honoured with `auto`)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// The User-Agent header redline sends
    #[arg(long, global = true, value_name = "TEXT")]
    pub user_agent: Option<String>,

    /// A contact address sent as the From header, so site owners can reach you
    #[arg(long, global = true, value_name = "EMAIL")]
    pub from: Option<String>,

    /// At most this many requests to one host at once
    #[arg(long, global = true, value_name = "N", default_value_t = 2)]
    pub per_host: usize,

    /// Delivery attempts before an alert is marked failed
    #[arg(long, global = true, value_name = "N", default_value_t = 8)]
    pub alert_attempts: u32,

    /// The first alert retry waits this long, each next one twice as long
    #[arg(long, global = true, value_name = "DURATION", default_value = "30s", value_parser = parse_duration_arg)]
    pub alert_backoff: std::time::Duration,

    /// Requests to one host start at least this far apart (robots.txt
    /// Crawl-delay can make it longer)
    #[arg(long, global = true, value_name = "DURATION", default_value = "250ms", value_parser = parse_duration_arg)]
    pub host_interval: std::time::Duration,

    /// Bound on one fetch, redirects and body included (retries get their
    /// own)
    #[arg(long, global = true, value_name = "DURATION", default_value = "30s", value_parser = parse_duration_arg)]
    pub timeout: std::time::Duration,

    /// Retries of a transient failure (timeout, reset, 5xx, 429) within a
    /// check
    #[arg(long, global = true, value_name = "N", default_value_t = 2)]
    pub retries: u32,

    #[command(subcommand)]
    pub command: Command,
}

/// "500ms", "2s", "5m", "1h".
pub fn parse_duration_arg(s: &str) -> Result<std::time::Duration, String> {
    crate::config::parse_duration(s)
        .ok_or_else(|| format!("`{s}` is not a duration (write e.g. 500ms, 2s, 5m, 1h)"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fetch every (or the named) watch now, archive, compare and report
    Check {
        /// Only these watches
        names: Vec<String>,
        /// One JSON object per watch per line on stdout, nothing else
        #[arg(long)]
        json: bool,
        /// How many pages to fetch at once
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Queue alerts but do not send them now (the daemon, or the next
        /// check, sends them)
        #[arg(long)]
        no_notify: bool,
        /// No progress line on the terminal
        #[arg(long, short)]
        quiet: bool,
        /// How long to wait for alerts to be delivered before exiting
        #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration_arg)]
        notify_wait: std::time::Duration,
    },
    /// The version history of a watch
    Log {
        name: String,
        /// One JSON object per version per line
        #[arg(long)]
        json: bool,
    },
    /// Recent change reports across all watches, newest first
    Changes {
        /// Only reports from this recent period (e.g. 24h, 7d)
        #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
        since: Option<std::time::Duration>,
        /// Only this watch
        #[arg(long, value_name = "NAME")]
        watch: Option<String>,
        /// Only reports with changes of this kind (text, title, comments,
        /// pingbacks, gone, back, entries, failing)
        #[arg(long)]
        kind: Option<String>,
        /// At most this many reports
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// One JSON object per report per line
        #[arg(long)]
        json: bool,
    },
    /// Review unseen changes in an interactive terminal screen
    Review,
    /// Check the archive: re-hash every blob, resolve every reference
    Verify,
    /// Apply retention (keep_versions, keep_days) to every configured
    /// watch and give unused space back to the file system
    Gc {
        /// Rewrite the whole file (VACUUM): also gives back the space of
        /// half-empty pages, as after `reprocess` dropped the pages an
        /// older archive stored. Needs free disk about the archive's size.
        #[arg(long)]
        full: bool,
    },
    /// Write captures to a WARC/1.1 file (one gzip member per record) with
    /// a CDXJ index beside it (FILE.cdxj)
    Export {
        /// The WARC file to write (conventionally *.warc.gz)
        #[arg(long, value_name = "FILE")]
        warc: std::path::PathBuf,
        /// Only these watches [default: all in the archive]
        names: Vec<String>,
        /// Only captures from this recent period (e.g. 30d)
        #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
        since: Option<std::time::Duration>,
    },
    /// Back-fill watches' history from the captures in a WARC file (e.g. a
    /// Wayback Machine download), in capture order
    Import {
        /// The WARC file to read (gzip-compressed or not)
        #[arg(long, value_name = "FILE")]
        warc: std::path::PathBuf,
        /// Import every capture into this watch [default: the configured
        /// watch whose URL the capture is of]
        #[arg(long, value_name = "NAME")]
        watch: Option<String>,
    },
    /// A Memento timemap (RFC 7089, link format) of a watch's captures
    Timemap { name: String },
    /// Re-derive stored pages from the archived raw bodies with the current
    /// rules (after a select/ignore edit or a better extractor)
    Reprocess {
        /// Only these watches [default: every configured watch]
        names: Vec<String>,
    },
    /// A self-contained HTML page of the changes in a period
    Report {
        /// Write the page here
        #[arg(long, value_name = "FILE")]
        html: std::path::PathBuf,
        /// The period (e.g. 24h, 7d) [default: everything]
        #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
        since: Option<std::time::Duration>,
    },
    /// An Atom feed of recent changes on stdout (the daemon serves it at
    /// /feed.atom with --listen)
    Feed {
        /// The period (e.g. 7d) [default: the latest reports]
        #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
        since: Option<std::time::Duration>,
        /// At most this many entries
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Shell completions on stdout
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// The manual page (roff) on stdout
    Man,
    /// The changes between two versions (default: the latest two)
    Diff {
        name: String,
        /// The older version [default: the one before TO]
        #[arg(id = "from_version", value_name = "FROM")]
        from: Option<i64>,
        /// The newer version [default: the latest]
        #[arg(id = "to_version", value_name = "TO")]
        to: Option<i64>,
        /// The changes as JSON
        #[arg(long, conflicts_with_all = ["unified", "side_by_side"])]
        json: bool,
        /// A standard unified diff of the text (for patch and other tools)
        #[arg(long, conflicts_with = "side_by_side")]
        unified: bool,
        /// Before and after in two columns
        #[arg(long)]
        side_by_side: bool,
        /// Compare the version current at this time (a date, 2013-12-07, or
        /// RFC 3339) with the one before it
        #[arg(long, value_name = "TIME", conflicts_with_all = ["from_version", "since"])]
        at: Option<String>,
        /// Compare the version current this long ago (e.g. 7d) with the latest
        #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg, conflicts_with = "from_version")]
        since: Option<std::time::Duration>,
        /// Width of --side-by-side output
        #[arg(long, default_value_t = 120)]
        width: usize,
    },
    /// The archived text of a version (default: the latest)
    Show {
        name: String,
        version: Option<i64>,
        /// Print the archived response body exactly as received
        #[arg(long, conflicts_with = "volatile")]
        raw: bool,
        /// List the text redline learned to ignore on this page because it
        /// changes on its own (timestamps, counters, rotating slots)
        #[arg(long)]
        volatile: bool,
    },
    /// The configured watches with their last check and version count
    Watches {
        /// One JSON object per watch per line
        #[arg(long)]
        json: bool,
    },
    /// Run redline on recorded pages served from loopback, with a
    /// temporary archive: no network, no setup
    Demo,
    /// The background service: check every watch on its schedule until
    /// stopped (SIGINT/SIGTERM); SIGHUP or an edit under --config reloads
    Run {
        /// Check what is due now, once, and exit (for cron and systemd timers)
        #[arg(long)]
        once: bool,
        /// Serve /healthz and Prometheus /metrics on this address (e.g. 127.0.0.1:9464)
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
        /// How long checks in flight may finish after a stop signal
        #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration_arg)]
        grace: std::time::Duration,
        /// Spread watches that are overdue at startup over this window
        #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration_arg)]
        spread: std::time::Duration,
        /// Add up to this much random delay to every scheduled run
        #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_duration_arg)]
        jitter: std::time::Duration,
        /// How many pages to fetch at once
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Log lines for people or for machines
        #[arg(long, value_enum, default_value_t = LogFormat::Human)]
        log_format: LogFormat,
    },
    /// Alerts: pending, delivered and failed (newest first)
    Alerts {
        #[command(subcommand)]
        action: Option<AlertsAction>,
        /// Only alerts with this status
        #[arg(long, value_parser = ["pending", "delivered", "failed"])]
        status: Option<String>,
        /// One JSON object per alert per line
        #[arg(long)]
        json: bool,
    },
    /// Notifiers
    Notify {
        #[command(subcommand)]
        action: NotifyAction,
    },
    /// The next scheduled run of each watch
    Schedule {
        /// One JSON object per watch per line
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AlertsAction {
    /// Queue failed alerts again, due now
    Retry,
    /// Send what is due now
    Deliver,
}

#[derive(Debug, Subcommand)]
pub enum NotifyAction {
    /// Send a test message through a notifier
    Test { name: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_parse() {
        assert_eq!(
            parse_duration_arg("250ms"),
            Ok(std::time::Duration::from_millis(250))
        );
        assert!(
            parse_duration_arg("soon")
                .unwrap_err()
                .contains("not a duration")
        );
    }
}
