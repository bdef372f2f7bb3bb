//! `schedules/*.toml` → watches, with errors that name the file, line and
//! key, and suggest the likely fix.

use crate::extract::Rules;
use crate::schedule::Schedule;
use crate::summary::Significance;
use regex::Regex;
use scraper::Selector;
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use toml::Spanned;

/// The schedule a file gets when it names none.
pub const DEFAULT_CRON: &str = "@hourly";

/// A tracked page.
#[derive(Debug, Clone)]
pub struct Watch {
    /// Stable identity: history follows the name, not the URL.
    pub name: String,
    pub url: String,
    pub rules: Rules,
    /// Shared by every watch with the same expression and zone.
    pub schedule: Arc<Schedule>,
    /// Changes below this significance are archived and reported but do
    /// not alert.
    pub min_significance: Significance,
    /// Re-fetch a page that seems to have changed after this delay, to
    /// tell real edits from text that changes on its own (`None`: don't).
    pub confirm: Option<std::time::Duration>,
    /// Compare with this many recent versions: a page flipping between
    /// states it had before is not reported.
    pub compare_last: usize,
    /// For feeds: archive each new entry's page as a watch of its own.
    pub track_new: bool,
    /// Obey robots.txt (default); false for pages the user may read anyway.
    pub robots: bool,
    /// Report `fetch_failing` after this many failed checks in a row.
    pub failing_after: usize,
    /// The notifiers this watch's alerts go to (all configured ones unless
    /// the watch names some).
    pub notify: Vec<String>,
    /// Only these kinds of change alert (`text`, `title`, `comments`,
    /// `pingbacks`, `gone`, `back`, `entries`, `failing`); empty: all.
    pub notify_on: Vec<String>,
    /// Accept any TLS certificate (self-signed, expired, wrong host).
    pub insecure_tls: bool,
    /// Follow redirects into loopback/private/link-local addresses.
    pub private_redirects: bool,
    /// Retention: keep at most this many versions (the first and the latest
    /// are always kept); `None`: all.
    pub keep_versions: Option<usize>,
    /// Retention: prune versions older than this many days (the first and
    /// the latest are always kept); `None`: forever.
    pub keep_days: Option<u64>,
    /// Where the watch is defined, for messages.
    pub file: PathBuf,
    pub line: usize,
}

/// Every watch from every file.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub watches: Vec<Watch>,
    /// `[notify.NAME]` tables from every file.
    pub notifiers: Vec<crate::notify::Notifier>,
    /// The files read, in order.
    pub files: Vec<PathBuf>,
}

impl Watch {
    /// The watch a feed starts for one of its entries' pages: named after
    /// the feed and the page, scheduled like the feed, default rules.
    pub fn tracked_child(&self, url: &str) -> Watch {
        let rules = Rules::default();
        Watch {
            name: format!("{}--{}", self.name, name_from_url(url)),
            url: url.to_string(),
            rules,
            schedule: self.schedule.clone(),
            min_significance: self.min_significance,
            confirm: Some(DEFAULT_CONFIRM_DELAY),
            compare_last: 1,
            track_new: false,
            robots: self.robots,
            failing_after: self.failing_after,
            notify: self.notify.clone(),
            notify_on: self.notify_on.clone(),
            insecure_tls: self.insecure_tls,
            private_redirects: self.private_redirects,
            keep_versions: self.keep_versions,
            keep_days: self.keep_days,
            file: self.file.clone(),
            line: self.line,
        }
    }
}

impl Config {
    pub fn watch(&self, name: &str) -> Option<&Watch> {
        self.watches.iter().find(|w| w.name == name)
    }
}

/// One problem in a config file, at a place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based; 0 when the problem is the file as a whole.
    pub line: usize,
    pub col: usize,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)?;
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.col,
                self.message
            )?;
        }
        if let Some(h) = &self.hint {
            write!(f, "\n  help: {h}")?;
        }
        Ok(())
    }
}

/// All the problems found; nothing is fetched while there are any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    cron: Option<Spanned<String>>,
    timezone: Option<Spanned<String>>,
    keep_versions: Option<Spanned<i64>>,
    keep_days: Option<Spanned<i64>>,
    #[serde(default)]
    notify: std::collections::BTreeMap<String, Spanned<RawNotifier>>,
    #[serde(default)]
    watch: Vec<Spanned<RawWatch>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNotifier {
    #[serde(rename = "type")]
    kind: Spanned<String>,
    smtp: Option<Spanned<String>>,
    starttls: Option<bool>,
    from: Option<Spanned<String>>,
    to: Option<Spanned<Vec<String>>>,
    username: Option<String>,
    password_env: Option<String>,
    url: Option<Spanned<String>>,
    format: Option<Spanned<String>>,
    secret_env: Option<String>,
    digest: Option<Spanned<String>>,
}

const NOTIFIER_KEYS: &[&str] = &[
    "type",
    "smtp",
    "starttls",
    "from",
    "to",
    "username",
    "password_env",
    "url",
    "format",
    "secret_env",
    "digest",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWatch {
    name: Option<Spanned<String>>,
    url: Spanned<String>,
    cron: Option<Spanned<String>>,
    #[serde(default)]
    select: Vec<Spanned<String>>,
    #[serde(default)]
    ignore: Vec<Spanned<String>>,
    #[serde(default)]
    ignore_text: Vec<Spanned<String>>,
    min_significance: Option<Spanned<String>>,
    timezone: Option<Spanned<String>>,
    kind: Option<Spanned<String>>,
    track_new: Option<Spanned<bool>>,
    robots: Option<Spanned<bool>>,
    failing_after: Option<Spanned<i64>>,
    notify: Option<Vec<Spanned<String>>>,
    notify_on: Option<Vec<Spanned<String>>>,
    confirm: Option<Spanned<bool>>,
    confirm_delay: Option<Spanned<String>>,
    compare_last: Option<Spanned<i64>>,
    keep_versions: Option<Spanned<i64>>,
    keep_days: Option<Spanned<i64>>,
    insecure_tls: Option<bool>,
    private_redirects: Option<bool>,
}

const FILE_KEYS: &[&str] = &[
    "cron",
    "timezone",
    "keep_versions",
    "keep_days",
    "notify",
    "watch",
];
const WATCH_KEYS: &[&str] = &[
    "name",
    "url",
    "cron",
    "select",
    "ignore",
    "ignore_text",
    "min_significance",
    "confirm",
    "confirm_delay",
    "compare_last",
    "timezone",
    "kind",
    "track_new",
    "robots",
    "failing_after",
    "notify",
    "notify_on",
    "keep_versions",
    "keep_days",
    "insecure_tls",
    "private_redirects",
];

/// Failed checks in a row before `fetch_failing` is reported.
pub const DEFAULT_FAILING_AFTER: usize = 3;

/// How long redline waits before re-fetching a page that seems to have
/// changed.
pub const DEFAULT_CONFIRM_DELAY: std::time::Duration = std::time::Duration::from_secs(1);

/// A duration like "500ms", "2s", "5m", "1h", "7d" or "2w".
pub fn parse_duration(s: &str) -> Option<std::time::Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok()?;
    let ms = match unit.trim() {
        "ms" => n,
        "s" => n.checked_mul(1000)?,
        "m" => n.checked_mul(60_000)?,
        "h" => n.checked_mul(3_600_000)?,
        "d" => n.checked_mul(86_400_000)?,
        "w" => n.checked_mul(7 * 86_400_000)?,
        _ => return None,
    };
    Some(std::time::Duration::from_millis(ms))
}

/// Where to look for config when `--config` is not given: `./schedules`
/// when it exists, else the platform config dir.
pub fn default_path() -> PathBuf {
    let local = PathBuf::from("schedules");
    if local.is_dir() {
        return local;
    }
    dirs::config_dir()
        .map(|d| d.join("redline"))
        .unwrap_or(local)
}

/// The config files under `path`: the file itself, or the `*.toml` files of
/// a directory, sorted. `Err(None)`: the path does not exist.
pub fn config_files(path: &Path) -> Result<Vec<PathBuf>, Option<std::io::Error>> {
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(Some)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            // Anything named *.toml is meant as config: one that cannot be
            // read (a dangling link, a directory) is reported, not skipped.
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        Ok(files)
    } else if path.exists() {
        Ok(vec![path.to_path_buf()])
    } else {
        Err(None)
    }
}

/// Load a TOML file, or every `*.toml` file of a directory (sorted).
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let whole = |message: String, hint: Option<String>| {
        ConfigErrors(vec![ConfigError {
            file: path.to_path_buf(),
            line: 0,
            col: 0,
            message,
            hint,
        }])
    };
    let files = config_files(path).map_err(|e| match e {
        Some(e) => whole(format!("cannot read directory: {e}"), None),
        None => whole(
            "no such file or directory".into(),
            Some("pass --config with a schedules directory or a .toml file (see schedules/ in the redline repository for examples)".into()),
        ),
    })?;
    let mut sources = Vec::new();
    let mut errors = Vec::new();
    for f in &files {
        match std::fs::read(f) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(s) => sources.push((f.clone(), s)),
                Err(e) => {
                    // Point at the first byte that is not UTF-8.
                    let at = e.utf8_error().valid_up_to();
                    let good = String::from_utf8_lossy(&e.as_bytes()[..at]);
                    let (line, col) = line_col(&good, good.len());
                    errors.push(ConfigError {
                        file: f.clone(),
                        line,
                        col,
                        message: format!(
                            "not UTF-8 text (byte 0x{:02x})",
                            e.as_bytes().get(at).copied().unwrap_or(0)
                        ),
                        hint: Some("save the file as UTF-8".into()),
                    });
                }
            },
            Err(e) => errors.push(ConfigError {
                file: f.clone(),
                line: 0,
                col: 0,
                message: format!("cannot read file: {e}"),
                hint: None,
            }),
        }
    }
    match parse_sources(&sources) {
        Ok(mut cfg) if errors.is_empty() => {
            cfg.files = files;
            Ok(cfg)
        }
        Ok(_) => Err(ConfigErrors(errors)),
        Err(ConfigErrors(more)) => {
            errors.extend(more);
            Err(ConfigErrors(errors))
        }
    }
}

/// Parse several files' text as one configuration (names are unique
/// across all of them).
pub fn parse_sources(sources: &[(PathBuf, String)]) -> Result<Config, ConfigErrors> {
    let mut errors = Vec::new();
    let mut watches: Vec<Watch> = Vec::new();
    let mut seen: HashMap<String, (PathBuf, usize)> = HashMap::new();
    let mut schedules: HashMap<(String, Option<String>), Arc<Schedule>> = HashMap::new();
    // Fingerprints by rule source: most watches share their rules.
    let mut fingerprints: HashMap<String, String> = HashMap::new();
    // Notifiers first: their names are global, and watches refer to them.
    let mut parsed: Vec<(&PathBuf, &String, RawFile)> = Vec::new();
    for (file, src) in sources {
        match toml::from_str::<RawFile>(src) {
            Ok(r) => parsed.push((file, src, r)),
            Err(e) => errors.push(toml_error(file, src, &e)),
        }
    }
    let mut notifiers: Vec<crate::notify::Notifier> = Vec::new();
    for (file, src, raw) in &parsed {
        for (name, n) in &raw.notify {
            let at = |span: std::ops::Range<usize>, message: String, hint: Option<String>| {
                let (line, col) = line_col(src, span.start);
                ConfigError {
                    file: (*file).clone(),
                    line,
                    col,
                    message,
                    hint,
                }
            };
            if notifiers.iter().any(|x| &x.name == name) {
                errors.push(at(
                    n.span(),
                    format!("duplicate notifier `{name}`"),
                    Some("notifier names are global across all files".into()),
                ));
                continue;
            }
            match notifier(name, n.get_ref()) {
                Ok(x) => notifiers.push(x),
                Err((span, message, hint)) => errors.push(at(
                    span.unwrap_or_else(|| n.span()),
                    format!("[notify.{name}]: {message}"),
                    hint,
                )),
            }
        }
    }
    for (file, src, raw) in &parsed {
        let (file, src) = (*file, *src);
        let lines = LineIndex::new(src);
        let at = |span: std::ops::Range<usize>, message: String, hint: Option<String>| {
            let (line, col) = line_col(src, span.start);
            ConfigError {
                file: file.clone(),
                line,
                col,
                message,
                hint,
            }
        };
        let file_cron = match &raw.cron {
            Some(c) => match Schedule::parse(c.get_ref()) {
                Ok(s) => Some(s),
                Err(msg) => {
                    errors.push(at(
                        c.span(),
                        format!("key `cron`: {msg}"),
                        Some(cron_hint()),
                    ));
                    None
                }
            },
            None => Schedule::parse(DEFAULT_CRON).ok(),
        };
        // Retention: a whole number in range, the watch's own or the file's.
        let mut retention = |n: Option<&Spanned<i64>>, key: &str, hint: &str| -> Option<usize> {
            let n = n?;
            match usize::try_from(*n.get_ref()) {
                Ok(k) if (1..=1_000_000).contains(&k) => Some(k),
                _ => {
                    errors.push(at(
                        n.span(),
                        format!("key `{key}`: {} is out of range", n.get_ref()),
                        Some(hint.into()),
                    ));
                    None
                }
            }
        };
        const KEEP_VERSIONS_HINT: &str =
            "use a number of versions from 1 to 1000000 (the first and the latest are always kept)";
        const KEEP_DAYS_HINT: &str = "use a number of days from 1 to 1000000";
        let file_keep_versions = retention(
            raw.keep_versions.as_ref(),
            "keep_versions",
            KEEP_VERSIONS_HINT,
        );
        let file_keep_days = retention(raw.keep_days.as_ref(), "keep_days", KEEP_DAYS_HINT);
        let watch_retention: Vec<(Option<usize>, Option<usize>)> = raw
            .watch
            .iter()
            .map(|w| {
                let w = w.get_ref();
                (
                    retention(
                        w.keep_versions.as_ref(),
                        "keep_versions",
                        KEEP_VERSIONS_HINT,
                    )
                    .or(file_keep_versions),
                    retention(w.keep_days.as_ref(), "keep_days", KEEP_DAYS_HINT).or(file_keep_days),
                )
            })
            .collect();
        for (w, (keep_versions, keep_days)) in raw.watch.iter().zip(watch_retention) {
            let wspan = w.span();
            let w = w.get_ref();
            let before = errors.len();
            let url = w.url.get_ref().trim().to_string();
            match reqwest::Url::parse(&url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
                Ok(u) => errors.push(at(
                    w.url.span(),
                    format!(
                        "key `url`: `{url}` is not an http(s) URL (scheme `{}`)",
                        u.scheme()
                    ),
                    Some("watch URLs start with http:// or https://".into()),
                )),
                Err(e) => errors.push(at(
                    w.url.span(),
                    format!("key `url`: invalid URL `{url}`: {e}"),
                    Some(
                        "write the full address, e.g. \"https://www.state.gov/press-releases/\""
                            .into(),
                    ),
                )),
            }
            let name = match &w.name {
                Some(n) => {
                    let n_str = n.get_ref().trim().to_string();
                    if n_str.is_empty() || n_str.chars().any(|c| c.is_control() || c == '/') {
                        errors.push(at(
                            n.span(),
                            format!("key `name`: `{n_str}` is not a usable name"),
                            Some("use letters, digits, dots, dashes and underscores".into()),
                        ));
                    }
                    (n_str, n.span())
                }
                None => (name_from_url(&url), w.url.span()),
            };
            let schedule = match &w.cron {
                Some(c) => match Schedule::parse(c.get_ref()) {
                    Ok(s) => Some(s),
                    Err(msg) => {
                        errors.push(at(
                            c.span(),
                            format!("key `cron`: {msg}"),
                            Some(cron_hint()),
                        ));
                        None
                    }
                },
                None => file_cron.clone(),
            };
            // The watch's zone, else the file's; times are UTC otherwise.
            let zone = w.timezone.as_ref().or(raw.timezone.as_ref());
            let schedule = match (schedule, zone) {
                (Some(s), Some(z)) => match s.in_zone(z.get_ref()) {
                    Ok(s) => Some(s),
                    Err(msg) => {
                        errors.push(at(z.span(), format!("key `timezone`: {msg}"), None));
                        None
                    }
                },
                (s, _) => s,
            };
            // One schedule object per distinct expression and zone: tens of
            // thousands of watches share a handful.
            let schedule = schedule.map(|s| {
                let key = (s.expr().to_string(), s.zone().map(str::to_string));
                schedules.entry(key).or_insert_with(|| Arc::new(s)).clone()
            });
            let mut rules = Rules {
                fingerprint: String::new(),
                source: String::new(),
                select: Vec::new(),
                ignore: Vec::new(),
                ignore_text: Vec::new(),
                feed: false,
            };
            for (key, list, out) in [
                ("select", &w.select, &mut rules.select),
                ("ignore", &w.ignore, &mut rules.ignore),
            ] {
                for s in list {
                    match Selector::parse(s.get_ref()) {
                        Ok(sel) => out.push(sel),
                        Err(e) => errors.push(at(
                            s.span(),
                            format!("key `{key}`: invalid CSS selector `{}`: {e}", s.get_ref()),
                            Some(
                                "selectors look like \"#main\", \".share\" or \"div.content > p\""
                                    .into(),
                            ),
                        )),
                    }
                }
            }
            for r in &w.ignore_text {
                match Regex::new(r.get_ref()) {
                    Ok(re) => rules.ignore_text.push(re),
                    Err(e) => errors.push(at(
                        r.span(),
                        format!("key `ignore_text`: invalid regular expression `{}`: {}", r.get_ref(), one_line(&e.to_string())),
                        Some("in TOML, write regexes in single quotes ('\\d+') so backslashes stay as they are".into()),
                    )),
                }
            }
            let min_significance = match &w.min_significance {
                None => Significance::Minor,
                Some(m) => match Significance::parse(m.get_ref()) {
                    Some(s) => s,
                    None => {
                        errors.push(at(
                            m.span(),
                            format!("key `min_significance`: unknown level `{}`", m.get_ref()),
                            Some("use \"minor\", \"moderate\" or \"major\"".into()),
                        ));
                        Significance::Minor
                    }
                },
            };
            let confirm = match (&w.confirm, &w.confirm_delay) {
                (Some(c), _) if !*c.get_ref() => None,
                (_, Some(d)) => match parse_duration(d.get_ref()) {
                    Some(d) if d <= std::time::Duration::from_secs(600) => Some(d),
                    _ => {
                        errors.push(at(
                            d.span(),
                            format!(
                                "key `confirm_delay`: `{}` is not a duration up to 10m",
                                d.get_ref()
                            ),
                            Some("write e.g. \"500ms\", \"2s\" or \"1m\"".into()),
                        ));
                        None
                    }
                },
                _ => Some(DEFAULT_CONFIRM_DELAY),
            };
            let compare_last = match &w.compare_last {
                None => 1,
                Some(n) => match usize::try_from(*n.get_ref()) {
                    Ok(k) if (1..=50).contains(&k) => k,
                    _ => {
                        errors.push(at(
                            n.span(),
                            format!("key `compare_last`: {} is out of range", n.get_ref()),
                            Some("use a number of versions from 1 to 50".into()),
                        ));
                        1
                    }
                },
            };
            let feed = match &w.kind {
                None => false,
                Some(k) => match k.get_ref().as_str() {
                    "page" => false,
                    "feed" => true,
                    other => {
                        errors.push(at(
                            k.span(),
                            format!("key `kind`: unknown kind `{other}`"),
                            Some(
                                "use \"page\" (the default) or \"feed\" for RSS/Atom feeds".into(),
                            ),
                        ));
                        false
                    }
                },
            };
            let track_new = w.track_new.as_ref().is_some_and(|t| *t.get_ref());
            if let Some(t) = &w.track_new
                && *t.get_ref()
                && !feed
            {
                errors.push(at(
                    t.span(),
                    "key `track_new`: only feeds have new entries to track".into(),
                    Some("add kind = \"feed\" to this watch".into()),
                ));
            }
            rules.feed = feed;
            let notify: Vec<String> = match &w.notify {
                None => notifiers.iter().map(|n| n.name.clone()).collect(),
                Some(list) => {
                    for n in list {
                        if !notifiers.iter().any(|x| &x.name == n.get_ref()) {
                            let known: Vec<&str> =
                                notifiers.iter().map(|x| x.name.as_str()).collect();
                            errors.push(at(
                                n.span(),
                                format!("key `notify`: no notifier named `{}`", n.get_ref()),
                                Some(if known.is_empty() {
                                    "define it in a [notify.NAME] table".to_string()
                                } else {
                                    format!("known notifiers: {}", known.join(", "))
                                }),
                            ));
                        }
                    }
                    list.iter().map(|n| n.get_ref().clone()).collect()
                }
            };
            let mut notify_on = Vec::new();
            for c in w.notify_on.iter().flatten() {
                if crate::notify::CATEGORIES
                    .iter()
                    .any(|(name, _)| name == c.get_ref())
                {
                    notify_on.push(c.get_ref().clone());
                } else {
                    let names: Vec<&str> =
                        crate::notify::CATEGORIES.iter().map(|(n, _)| *n).collect();
                    errors.push(at(
                        c.span(),
                        format!("key `notify_on`: unknown kind `{}`", c.get_ref()),
                        Some(format!("use some of: {}", names.join(", "))),
                    ));
                }
            }
            let failing_after = match &w.failing_after {
                None => DEFAULT_FAILING_AFTER,
                Some(n) => match usize::try_from(*n.get_ref()) {
                    Ok(k) if (1..=1000).contains(&k) => k,
                    _ => {
                        errors.push(at(
                            n.span(),
                            format!("key `failing_after`: {} is out of range", n.get_ref()),
                            Some("use a number of failed checks from 1 to 1000".into()),
                        ));
                        DEFAULT_FAILING_AFTER
                    }
                },
            };
            let strings =
                |v: &[Spanned<String>]| v.iter().map(|s| s.get_ref().clone()).collect::<Vec<_>>();
            let (select, ignore, ignore_text) = (
                strings(&w.select),
                strings(&w.ignore),
                strings(&w.ignore_text),
            );
            rules.source = crate::extract::source(&select, &ignore, &ignore_text, feed);
            rules.fingerprint = fingerprints
                .entry(rules.source.clone())
                .or_insert_with_key(|s| crate::extract::fingerprint_of_source(s))
                .clone();
            let line = lines.line_of(wspan.start);
            if let Some((pfile, pline)) = seen.get(&name.0) {
                errors.push(at(
                    name.1.clone(),
                    format!(
                        "duplicate watch name `{}` (first defined at {}:{})",
                        name.0,
                        pfile.display(),
                        pline
                    ),
                    Some("watch names identify history and must be unique across all files; add a distinct `name`".into()),
                ));
                continue;
            }
            seen.insert(name.0.clone(), (file.clone(), line));
            if errors.len() > before {
                continue;
            }
            if let Some(schedule) = schedule {
                watches.push(Watch {
                    name: name.0,
                    url,
                    rules,
                    schedule,
                    min_significance,
                    confirm,
                    compare_last,
                    track_new,
                    robots: w.robots.as_ref().is_none_or(|r| *r.get_ref()),
                    failing_after,
                    notify,
                    notify_on,
                    insecure_tls: w.insecure_tls.unwrap_or(false),
                    private_redirects: w.private_redirects.unwrap_or(false),
                    keep_versions,
                    keep_days: keep_days.map(|d| d as u64),
                    file: file.clone(),
                    line,
                });
            }
        }
    }
    if errors.is_empty() {
        Ok(Config {
            watches,
            notifiers,
            files: sources.iter().map(|(f, _)| f.clone()).collect(),
        })
    } else {
        Err(ConfigErrors(errors))
    }
}

type NotifierError = (Option<std::ops::Range<usize>>, String, Option<String>);

/// A `[notify.NAME]` table, checked.
fn notifier(name: &str, raw: &RawNotifier) -> Result<crate::notify::Notifier, NotifierError> {
    use crate::notify::{Channel, Notifier, WebhookFormat};
    let digest = match &raw.digest {
        None => None,
        Some(d) => Some(parse_duration(d.get_ref()).ok_or_else(|| {
            (
                Some(d.span()),
                format!("key `digest`: `{}` is not a duration", d.get_ref()),
                Some("write e.g. \"1h\" or \"30m\"".to_string()),
            )
        })?),
    };
    let need = |v: &Option<Spanned<String>>, key: &str| -> Result<String, NotifierError> {
        v.as_ref()
            .map(|s| s.get_ref().clone())
            .ok_or_else(|| (None, format!("missing key `{key}`"), None))
    };
    let channel = match raw.kind.get_ref().as_str() {
        "email" => {
            let smtp = need(&raw.smtp, "smtp")?;
            match reqwest::Url::parse(&smtp) {
                Ok(u) if matches!(u.scheme(), "smtp" | "smtps") && u.host_str().is_some() => {}
                _ => {
                    return Err((
                        raw.smtp.as_ref().map(|s| s.span()),
                        format!("key `smtp`: `{smtp}` is not an smtp:// or smtps:// URL"),
                        Some(
                            "e.g. \"smtp://127.0.0.1:2525\" or \"smtps://mail.example.org\"".into(),
                        ),
                    ));
                }
            }
            let from = need(&raw.from, "from")?;
            let to = raw
                .to
                .as_ref()
                .map(|t| t.get_ref().clone())
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    (
                        None,
                        "missing key `to` (a list of addresses)".to_string(),
                        None,
                    )
                })?;
            Channel::Email {
                smtp,
                starttls: raw.starttls.unwrap_or(false),
                from,
                to,
                username: raw.username.clone(),
                password_env: raw.password_env.clone(),
            }
        }
        "webhook" => {
            let url = need(&raw.url, "url")?;
            match reqwest::Url::parse(&url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                _ => {
                    return Err((
                        raw.url.as_ref().map(|s| s.span()),
                        format!("key `url`: `{url}` is not an http(s) URL"),
                        None,
                    ));
                }
            }
            let format = match raw.format.as_ref().map(|f| f.get_ref().as_str()) {
                None | Some("json") => WebhookFormat::Json,
                Some("slack") => WebhookFormat::Slack,
                Some("discord") => WebhookFormat::Discord,
                Some(other) => {
                    return Err((
                        raw.format.as_ref().map(|s| s.span()),
                        format!("key `format`: unknown format `{other}`"),
                        Some("use \"json\", \"slack\" or \"discord\"".into()),
                    ));
                }
            };
            Channel::Webhook {
                url,
                format,
                secret_env: raw.secret_env.clone(),
            }
        }
        other => {
            return Err((
                Some(raw.kind.span()),
                format!("key `type`: unknown notifier type `{other}`"),
                Some("use \"email\" or \"webhook\"".into()),
            ));
        }
    };
    Ok(Notifier {
        name: name.to_string(),
        channel,
        digest,
    })
}

fn cron_hint() -> String {
    "use standard crontab syntax, e.g. \"*/30 * * * *\", \"0 9 * * mon-fri\" or \"@hourly\"".into()
}

fn one_line(s: &str) -> String {
    let last = s.lines().last().unwrap_or(s).trim();
    last.strip_prefix("error: ").unwrap_or(last).to_string()
}

/// A watch name from its URL: host and path, with separators as dashes.
pub fn name_from_url(url: &str) -> String {
    let Ok(u) = reqwest::Url::parse(url) else {
        return url.to_string();
    };
    let mut s = u.host_str().unwrap_or("").to_string();
    s.push_str(u.path());
    if let Some(q) = u.query() {
        s.push('?');
        s.push_str(q);
    }
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// Where each line of a file starts, for turning many offsets into line
/// numbers without rescanning the file each time.
struct LineIndex(Vec<usize>);

impl LineIndex {
    fn new(src: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex(starts)
    }

    /// The 1-based line holding byte `offset`.
    fn line_of(&self, offset: usize) -> usize {
        self.0.partition_point(|&start| start <= offset)
    }
}

/// 1-based line and column of a byte offset.
fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = &src[..src.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    (line, col)
}

/// A TOML or schema error, rewritten with file, line, key and a hint.
fn toml_error(file: &Path, src: &str, e: &toml::de::Error) -> ConfigError {
    let (line, col) = e.span().map_or((0, 0), |s| line_col(src, s.start));
    let msg = e.message().trim().to_string();
    let in_watch = e
        .span()
        .is_some_and(|s| inside_table(src, s.start, "[[watch]]"));
    let (message, hint) = if let Some(key) = backticked(&msg, "unknown field `") {
        let in_notify = e
            .span()
            .is_some_and(|s| inside_table(src, s.start, "[notify."));
        let (what, known) = if in_notify {
            ("in a [notify.NAME] table", NOTIFIER_KEYS)
        } else if in_watch {
            ("in [[watch]]", WATCH_KEYS)
        } else {
            ("at top level", FILE_KEYS)
        };
        let hint = match closest(&key, known) {
            Some(k) => format!("did you mean `{k}`?"),
            None => format!("known keys here: {}", known.join(", ")),
        };
        (format!("unknown key `{key}` {what}"), Some(hint))
    } else if let Some(key) = backticked(&msg, "missing field `") {
        (
            format!("missing key `{key}`"),
            Some(format!("every [[watch]] needs a `{key}`")),
        )
    } else {
        let key = e
            .span()
            .and_then(|s| key_at(src, s.start))
            .map(|k| format!("key `{k}`: "))
            .unwrap_or_default();
        (format!("{key}{msg}"), None)
    };
    ConfigError {
        file: file.to_path_buf(),
        line,
        col,
        message,
        hint,
    }
}

fn backticked(msg: &str, prefix: &str) -> Option<String> {
    let rest = &msg[msg.find(prefix)? + prefix.len()..];
    Some(rest[..rest.find('`')?].to_string())
}

/// The key being assigned on the line holding `offset`, if any.
fn key_at(src: &str, offset: usize) -> Option<String> {
    let offset = src.floor_char_boundary(offset.min(src.len()));
    let start = src[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = src[start..].lines().next()?;
    let (k, _) = line.split_once('=')?;
    let k = k.trim().trim_matches('"');
    (!k.is_empty() && !k.starts_with('[')).then(|| k.to_string())
}

/// Whether the nearest table header above `offset` starts with `header`.
fn inside_table(src: &str, offset: usize, header: &str) -> bool {
    let offset = src.floor_char_boundary(offset.min(src.len()));
    src[..offset]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .is_some_and(|l| l.starts_with(header))
}

/// The known key closest to `key` by edit distance, if it is close.
fn closest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (crate::extract::text::edit_distance(key, k), *k))
        .filter(|(d, k)| *d <= (k.len() / 3).max(2))
        .min()
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod line_tests {
    use super::*;

    #[test]
    fn line_index_agrees_with_line_col() {
        let src = "a\nbb\n\nccc\nd";
        let idx = LineIndex::new(src);
        for offset in 0..=src.len() {
            assert_eq!(idx.line_of(offset), line_col(src, offset).0, "at {offset}");
        }
    }
}
