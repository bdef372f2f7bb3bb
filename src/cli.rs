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

    #[command(subcommand)]
    pub command: Command,
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
    },
    /// The version history of a watch
    Log { name: String },
    /// The changes between two versions (default: the latest two)
    Diff {
        name: String,
        /// The older version [default: the one before TO]
        from: Option<i64>,
        /// The newer version [default: the latest]
        to: Option<i64>,
        /// The changes as JSON
        #[arg(long)]
        json: bool,
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
    Watches,
    /// Run redline on recorded pages served from loopback, with a
    /// temporary archive: no network, no setup
    Demo,
}
