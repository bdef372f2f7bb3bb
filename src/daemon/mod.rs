//! `redline run`: the long-running service.
//!
//! One task owns the archive (the single writer) and a due-time queue of
//! watches; fetches run concurrently on the runtime, bounded globally and
//! per host (see `fetch`), and their results come back to the owner to be
//! recorded, one transaction each. Signals: SIGINT/SIGTERM stop taking
//! work and finish or abandon in-flight checks within a grace period;
//! SIGHUP (or a change under `--config`) reloads the watch list.

mod http;
pub mod metrics;

use crate::check::{CheckResult, Confirming, Fetched, Held, Step, fetch_job, process, request};
use crate::config::{self, Config, Watch};
use crate::fetch::{Fetcher, Request};
use crate::notify::{DeliveryOptions, Notifier};
use crate::store::Store;
use anyhow::{Context as _, Result, anyhow};
use chrono::{DateTime, Utc};
use metrics::Metrics;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::task::JoinSet;
use tracing::{error, info, warn};

/// How the daemon runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Run what is due once and exit.
    pub once: bool,
    /// Serve `/healthz` and `/metrics` here.
    pub listen: Option<SocketAddr>,
    /// How long in-flight checks may finish after a stop signal.
    pub grace: Duration,
    /// Overdue watches at startup are spread over this window.
    pub spread: Duration,
    /// Up to this much random delay is added to each scheduled run.
    pub jitter: Duration,
    /// Fetches in flight at most.
    pub concurrency: usize,
    /// How often files under `--config` are looked at for changes.
    pub reload_poll: Duration,
    /// A failing watch's runs back off up to this far apart.
    pub max_backoff: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            once: false,
            listen: None,
            grace: Duration::from_secs(10),
            spread: Duration::from_secs(60),
            jitter: Duration::ZERO,
            concurrency: 16,
            reload_poll: Duration::from_secs(2),
            max_backoff: Duration::from_secs(6 * 3600),
        }
    }
}

/// One archive, one daemon: an exclusive lock on `<archive>.lock`.
pub struct ArchiveLock {
    _file: std::fs::File,
    pub path: PathBuf,
}

/// Take the daemon lock of an archive, or say who holds it.
pub fn lock_archive(db: &Path) -> Result<ArchiveLock> {
    let mut path = db.as_os_str().to_owned();
    path.push(".lock");
    let path = PathBuf::from(path);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(ArchiveLock { _file: file, path }),
        Err(std::fs::TryLockError::WouldBlock) => Err(anyhow!(
            "another redline daemon is already running on {} (lock {} is held); stop it first, or use --db for another archive",
            db.display(),
            path.display()
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(anyhow!("cannot lock {}: {e}", path.display())),
    }
}

/// A fingerprint of the config files (paths, sizes, modification times),
/// to notice edits without a file-watching dependency.
fn config_signature(path: &Path) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    // A vanished path is a change too: the next reload reports it.
    let files = config::config_files(path).unwrap_or_else(|_| vec![path.to_path_buf()]);
    files
        .into_iter()
        .map(|p| {
            let meta = std::fs::metadata(&p).ok();
            let len = meta.as_ref().map_or(0, |m| m.len());
            let modified = meta.and_then(|m| m.modified().ok());
            (p, len, modified)
        })
        .collect()
}

/// The configured watches plus the pages their feeds track.
pub fn all_watches(store: &Store, config: &Config) -> Result<Vec<Watch>> {
    let mut watches = config.watches.clone();
    for (name, url, feed) in store.tracked()? {
        if watches.iter().any(|w| w.name == name) {
            continue;
        }
        if let Some(parent) = config.watch(&feed) {
            let mut child = parent.tracked_child(&url);
            child.name = name;
            watches.push(child);
        }
    }
    Ok(watches)
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// When a watch is next due, given when it was last checked.
pub fn next_run(
    watch: &Watch,
    last_checked: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    match last_checked {
        None => now,
        Some(t) => watch
            .schedule
            .next_after(t)
            .unwrap_or(now + chrono::Duration::days(365)),
    }
}

/// When a watch is due, from its last check in the archive (an unreadable
/// archive makes it due now).
pub fn due_at(store: &Store, watch: &Watch, now: DateTime<Utc>) -> DateTime<Utc> {
    let last = store
        .last_checked(&watch.name)
        .ok()
        .flatten()
        .and_then(|t| parse_time(&t));
    next_run(watch, last, now)
}

/// Up to `n` of random delay.
fn jitter(n: Duration, salt: &str) -> Duration {
    Duration::from_millis(crate::fetch::jitter(n.as_millis() as u64, salt))
}

/// A failing watch's next run: its schedule's interval doubled for every
/// failure after the first, up to `cap`, and never before the schedule.
pub fn backoff_next(
    now: DateTime<Utc>,
    scheduled: DateTime<Utc>,
    failures: usize,
    cap: Duration,
) -> DateTime<Utc> {
    let interval = (scheduled - now)
        .to_std()
        .unwrap_or(Duration::from_secs(60));
    let factor = 1u32 << (failures.max(1) - 1).min(16) as u32;
    let backoff = interval.saturating_mul(factor).min(cap.max(interval));
    scheduled.max(now + to_chrono(backoff))
}

fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

struct Entry {
    watch: Watch,
    /// Bumped when the watch is edited or rescheduled: queue items of an
    /// older generation are stale.
    generation: u64,
    in_flight: bool,
}

/// A finished fetch on its way back to the archive owner: keyed by the
/// watch's name and the generation it was started under.
/// A finished fetch, keyed by watch name, generation and host budget key.
type Done = Fetched<(String, u64, String)>;

struct Daemon {
    store: Store,
    fetcher: Fetcher,
    opts: Options,
    config_path: PathBuf,
    entries: HashMap<String, Entry>,
    queue: BinaryHeap<Reverse<(DateTime<Utc>, u64, String)>>,
    set: JoinSet<Done>,
    /// Checks started and not finished, per host budget key.
    per_host: HashMap<String, usize>,
    metrics: Arc<Mutex<Metrics>>,
    next_generation: u64,
    notifiers: Vec<Notifier>,
    delivery: DeliveryOptions,
    /// Checks recorded in the open group commit, reported once committed.
    group: crate::check::GroupCommit,
    /// Confirmations waiting: unpacked within an allowance, packed beyond.
    held: Held,
    /// Alerts being sent (the loop keeps checking meanwhile), and what the
    /// round has come to so far.
    sending: crate::notify::Sending,
    round: crate::notify::Delivered,
}

impl Daemon {
    /// Commit the open group, then log and count its checks (as errors
    /// when the commit failed: nothing of them was kept).
    fn commit_pending(&mut self) {
        let metrics = &self.metrics;
        self.group.commit(&mut self.store, &mut |r| {
            log_result(&r, r.duration_ms);
            if let Ok(mut m) = metrics.lock() {
                m.record(&r, r.duration_ms);
            }
        });
    }

    fn generation(&mut self) -> u64 {
        self.next_generation += 1;
        self.next_generation
    }

    fn schedule_at(&mut self, name: &str, at: DateTime<Utc>) {
        let generation = self.generation();
        if let Some(e) = self.entries.get_mut(name) {
            e.generation = generation;
            self.queue.push(Reverse((at, generation, name.to_string())));
        }
    }

    /// Put watches in the queue; overdue ones are spread over the window.
    fn add_watches(&mut self, watches: Vec<Watch>, now: DateTime<Utc>) {
        let mut overdue = Vec::new();
        for w in watches {
            let next = due_at(&self.store, &w, now);
            let name = w.name.clone();
            self.entries.insert(
                name.clone(),
                Entry {
                    watch: w,
                    generation: 0,
                    in_flight: false,
                },
            );
            if next <= now {
                overdue.push(name);
            } else {
                self.schedule_at(&name, next);
            }
        }
        overdue.sort();
        let n = overdue.len().max(1) as u32;
        for (i, name) in overdue.into_iter().enumerate() {
            let offset = self.opts.spread * i as u32 / n;
            self.schedule_at(&name, now + to_chrono(offset));
        }
    }

    fn spawn(&mut self, name: &str, req: Request, first: Option<Confirming>) {
        let Some(entry) = self.entries.get_mut(name) else {
            return;
        };
        entry.in_flight = true;
        let host = Fetcher::host_key(&entry.watch.url);
        *self.per_host.entry(host.clone()).or_default() += 1;
        let key = (name.to_string(), entry.generation, host);
        self.set
            .spawn(fetch_job(self.fetcher.clone(), key, req, first));
    }

    /// Start every queued check that is due. The fetcher bounds requests
    /// on the wire (`concurrency`); here, checks started are bounded too,
    /// and a host that already has twice its budget started waits, so a
    /// slow or hanging site never keeps other sites' checks from starting.
    fn start_due(&mut self) {
        let now = Utc::now();
        let per_host_cap = self.fetcher.per_host() * 2;
        let mut deferred = Vec::new();
        while self.set.len() < self.opts.concurrency.max(1) * 4 {
            let Some(Reverse((at, generation, name))) = self.queue.peek().cloned() else {
                break;
            };
            if at > now {
                break;
            }
            self.queue.pop();
            let Some(entry) = self.entries.get(&name) else {
                continue;
            };
            if entry.generation != generation || entry.in_flight {
                continue;
            }
            let host = Fetcher::host_key(&entry.watch.url);
            if self.per_host.get(&host).copied().unwrap_or(0) >= per_host_cap {
                deferred.push(Reverse((at, generation, name)));
                // Bounded work per call, however long one host's backlog.
                if deferred.len() >= 1024 {
                    break;
                }
                continue;
            }
            let req = request(&self.store, &entry.watch, true);
            self.spawn(&name, req, None);
        }
        // Still due: they start as their hosts' checks finish.
        self.queue.extend(deferred);
        if let Ok(mut m) = self.metrics.lock() {
            m.queue_depth = self.queue.len();
            m.in_flight = self.set.len();
        }
    }

    /// Record a finished fetch and schedule the watch's next run.
    fn finish(&mut self, mut done: Done) {
        self.held.back(&mut done);
        let (name, generation, host) = done.key.clone();
        if let Some(n) = self.per_host.get_mut(&host) {
            *n = n.saturating_sub(1);
        }
        let Some(entry) = self.entries.get(&name) else {
            return; // removed by a reload while in flight
        };
        let watch = entry.watch.clone();
        self.group.open(&mut self.store);
        match process(
            &mut self.store,
            &watch,
            done.result,
            done.first,
            &done.checked_at,
            done.ms,
        ) {
            Step::Confirm { mut first, delay } => {
                // Bounded like a pass's: beyond an allowance, packed.
                self.held.hold(&mut first);
                let req = request(&self.store, &watch, false);
                self.spawn(&name, req, Some((first, delay, done.checked_at)));
            }
            Step::Done(r) => {
                let tracked = if watch.track_new {
                    crate::check::track_entries(&mut self.store, &watch, &r)
                } else {
                    Vec::new()
                };
                if let Some(e) = self.entries.get_mut(&name) {
                    e.in_flight = false;
                }
                // A reload changed the watch while it was in flight: its
                // new schedule already stands.
                if self
                    .entries
                    .get(&name)
                    .is_some_and(|e| e.generation == generation)
                {
                    let next = self.next_after_result(&watch, &r);
                    self.schedule_at(&name, next);
                }
                let now = Utc::now();
                for child in tracked {
                    info!(watch = %child.name, url = %child.url, "tracking a new feed entry");
                    self.add_watches(vec![child], now);
                }
                // Logged and counted once committed.
                self.group.push(r);
            }
        }
    }

    /// The next run: the schedule's, later when the watch keeps failing or
    /// the server asked for a pause, plus jitter.
    fn next_after_result(&self, watch: &Watch, r: &CheckResult) -> DateTime<Utc> {
        let now = Utc::now();
        let mut next = watch
            .schedule
            .next_after(now)
            .unwrap_or(now + chrono::Duration::days(365));
        if r.outcome == "error" {
            let failures = self
                .store
                .consecutive_errors(&watch.name)
                .unwrap_or(1)
                .max(1) as u32;
            let interval = (next - now).to_std().unwrap_or(Duration::from_secs(60));
            let backoff = interval
                .saturating_mul(1u32 << (failures - 1).min(16))
                .min(self.opts.max_backoff);
            next = next.max(now + to_chrono(backoff));
        }
        if let Some(pause) = r.retry_after {
            next = next.max(now + to_chrono(pause));
        }
        next + to_chrono(jitter(self.opts.jitter, &watch.name))
    }

    /// Apply a new configuration: added watches are scheduled, removed ones
    /// dropped, edited ones rescheduled with their new settings.
    fn reload(&mut self) {
        let config = match config::load(&self.config_path) {
            Ok(c) => c,
            Err(e) => {
                error!("config reload failed; the previous configuration keeps running:\n{e}");
                return;
            }
        };
        self.notifiers = config.notifiers.clone();
        let watches = match all_watches(&self.store, &config) {
            Ok(w) => w,
            Err(e) => {
                error!("config reload failed: {e:#}");
                return;
            }
        };
        let now = Utc::now();
        let names: Vec<String> = watches.iter().map(|w| w.name.clone()).collect();
        let removed: Vec<String> = self
            .entries
            .keys()
            .filter(|n| !names.contains(n))
            .cloned()
            .collect();
        for n in &removed {
            self.entries.remove(n);
        }
        let mut added = Vec::new();
        let mut edited = 0;
        for w in watches {
            let next = due_at(&self.store, &w, now);
            match self.entries.get_mut(&w.name) {
                None => added.push(w),
                Some(e) if !same_watch(&e.watch, &w) => {
                    let name = w.name.clone();
                    e.watch = w;
                    edited += 1;
                    self.schedule_at(&name, next.max(now));
                }
                Some(_) => {}
            }
        }
        let n_added = added.len();
        self.add_watches(added, now);
        info!(
            added = n_added,
            removed = removed.len(),
            edited,
            watches = self.entries.len(),
            "configuration reloaded"
        );
    }
}

/// Whether two definitions of a watch would check the same way.
fn same_watch(a: &Watch, b: &Watch) -> bool {
    a.url == b.url
        && a.rules.fingerprint == b.rules.fingerprint
        && a.schedule.expr() == b.schedule.expr()
        && a.schedule.zone() == b.schedule.zone()
        && a.min_significance == b.min_significance
        && a.confirm == b.confirm
        && a.compare_last == b.compare_last
        && a.track_new == b.track_new
        && a.robots == b.robots
        && a.insecure_tls == b.insecure_tls
        && a.private_redirects == b.private_redirects
        && a.keep_versions == b.keep_versions
        && a.keep_days == b.keep_days
        && a.failing_after == b.failing_after
}

/// One log event per check, inside a `check` span carrying the watch, URL,
/// status and duration.
pub fn log_result(r: &CheckResult, ms: u64) {
    let status = r
        .http_status
        .map_or_else(|| "-".to_string(), |s| s.to_string());
    let span = tracing::info_span!("check", watch = %r.watch, url = %r.url, status = %status, duration_ms = ms);
    let _entered = span.enter();
    let outcome = r.outcome;
    match outcome {
        "error" => {
            warn!(watch = %r.watch, url = %r.url, status = %status, duration_ms = ms, outcome, error = r.error.as_deref().unwrap_or(""), "check failed")
        }
        "changed" => {
            info!(watch = %r.watch, url = %r.url, status = %status, duration_ms = ms, outcome, version = r.version, summary = %r.summary, significance = r.significance.map(|s| s.as_str()).unwrap_or(""), "changed")
        }
        _ => {
            info!(watch = %r.watch, url = %r.url, status = %status, duration_ms = ms, outcome, "checked")
        }
    }
}

/// Run what is due now, once (for cron jobs and systemd timers).
pub async fn run_once(
    store: &mut Store,
    fetcher: &Fetcher,
    watches: &[Watch],
    notifiers: &[Notifier],
    delivery: &DeliveryOptions,
    concurrency: usize,
) -> Vec<CheckResult> {
    let now = Utc::now();
    let due: Vec<Watch> = watches
        .iter()
        .filter(|w| due_at(store, w, now) <= now)
        .cloned()
        .collect();
    info!(
        due = due.len(),
        watches = watches.len(),
        "one pass over what is due"
    );
    let mut results = Vec::new();
    crate::check::run_checks(store, fetcher, &due, concurrency, |r| {
        log_result(&r, r.duration_ms);
        results.push(r);
    })
    .await;
    // Also what earlier runs left in the outbox (a crash, a receiver down).
    if !notifiers.is_empty() {
        match crate::notify::deliver(store, notifiers, delivery).await {
            Ok(d) => info!(
                sent = d.sent,
                retrying = d.retrying,
                failed = d.failed,
                "alerts"
            ),
            Err(e) => error!("alert delivery: {e:#}"),
        }
    }
    results
}

/// Run the service until a stop signal.
pub async fn run(
    store: Store,
    fetcher: Fetcher,
    config_path: PathBuf,
    watches: Vec<Watch>,
    notifiers: Vec<Notifier>,
    delivery: DeliveryOptions,
    opts: Options,
) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut sigterm = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut sigint = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let mut sighup = signal(SignalKind::hangup()).context("cannot listen for SIGHUP")?;
    let metrics = Arc::new(Mutex::new(Metrics::default()));
    let d_db = store.path().to_path_buf();
    if let Some(addr) = opts.listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let bound = listener.local_addr()?;
        info!(address = %bound, "serving /healthz and /metrics");
        tokio::spawn(http::serve(listener, metrics.clone(), d_db.clone()));
    }
    let mut d = Daemon {
        store,
        // The concurrency bound is on requests on the wire.
        fetcher: fetcher.with_in_flight(opts.concurrency),
        config_path: config_path.clone(),
        entries: HashMap::new(),
        queue: BinaryHeap::new(),
        set: JoinSet::new(),
        per_host: HashMap::new(),
        metrics,
        next_generation: 0,
        notifiers,
        delivery,
        opts: opts.clone(),
        group: crate::check::GroupCommit::default(),
        held: Held::default(),
        sending: JoinSet::new(),
        round: crate::notify::Delivered::default(),
    };
    d.add_watches(watches, Utc::now());
    info!(watches = d.entries.len(), "redline is running");
    let mut signature = config_signature(&config_path);
    let mut poll = tokio::time::interval(opts.reload_poll);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut outbox = tokio::time::interval(Duration::from_secs(1));
    outbox.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        d.start_due();
        let left = d.group.left(&d.store);
        if left.is_some_and(|left| left.is_zero() || d.set.is_empty()) {
            d.commit_pending();
        }
        let sleep = d
            .queue
            .peek()
            .map(|Reverse((at, _, _))| (*at - Utc::now()).to_std().unwrap_or(Duration::ZERO))
            .unwrap_or(Duration::from_secs(3600))
            .min(Duration::from_secs(3600))
            .min(d.group.left(&d.store).unwrap_or(Duration::MAX));
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            Some(joined) = d.set.join_next(), if !d.set.is_empty() => {
                if let Ok(done) = joined {
                    d.finish(done);
                }
            }
            _ = sigterm.recv() => { info!("SIGTERM: stopping"); break; }
            _ = sigint.recv() => { info!("SIGINT: stopping"); break; }
            _ = sighup.recv() => { info!("SIGHUP: reloading the configuration"); d.reload(); signature = config_signature(&config_path); }
            _ = outbox.tick() => d.start_sending(),
            Some(joined) = d.sending.join_next(), if !d.sending.is_empty() => d.sent(joined),
            _ = poll.tick() => {
                let now_sig = config_signature(&config_path);
                if now_sig != signature {
                    info!("configuration changed on disk: reloading");
                    signature = now_sig;
                    d.reload();
                }
            }
        }
    }
    // Stop taking work; let in-flight checks finish within the grace period.
    let in_flight = d.set.len();
    if in_flight > 0 {
        info!(
            in_flight,
            grace_s = opts.grace.as_secs_f64(),
            "waiting for checks in flight"
        );
    }
    let deadline = tokio::time::Instant::now() + opts.grace;
    loop {
        match tokio::time::timeout_at(deadline, d.set.join_next()).await {
            // A confirmation would start new work: record what came back.
            Ok(Some(Ok(done))) => d.finish_without_confirming(Done {
                first: None,
                ..done
            }),
            Ok(Some(Err(_))) => {}
            Ok(None) => break,
            Err(_) => {
                warn!(
                    abandoned = d.set.len(),
                    "grace period over: abandoning checks in flight (nothing of them is recorded)"
                );
                d.set.abort_all();
                break;
            }
        }
    }
    // What is being sent, and what was recorded while stopping, may still
    // go out (each send bounded by the delivery timeout).
    d.deliver_all().await;
    info!("stopped; the archive is consistent");
    Ok(())
}

impl Daemon {
    /// Start sending what is due in the outbox (committing the open group
    /// first: no alert goes out for a check not yet in the archive),
    /// unless a round is still under way: its alerts are still pending, and
    /// must not go out twice. Sends run beside the loop, so a receiver that
    /// hangs until the timeout holds up no check.
    fn start_sending(&mut self) {
        if self.notifiers.is_empty() || !self.sending.is_empty() {
            return;
        }
        self.commit_pending();
        match crate::notify::start_sending(&self.store, &self.notifiers, &self.delivery) {
            Ok(sending) => self.sending = sending,
            Err(e) => error!("alert delivery: {e:#}"),
        }
    }

    /// Record what sending a batch came to; once the round is over, say
    /// what it came to.
    fn sent(&mut self, joined: Result<crate::notify::Sent, tokio::task::JoinError>) {
        let Ok((alerts, outcome)) = joined else {
            return;
        };
        if let Err(e) = crate::notify::settle(
            &mut self.store,
            &self.delivery,
            alerts,
            &outcome,
            &mut self.round,
        ) {
            error!("alert delivery: {e:#}");
        }
        if !self.sending.is_empty() {
            return;
        }
        let r = std::mem::take(&mut self.round);
        if r.sent + r.retrying + r.failed > 0 {
            info!(
                sent = r.sent,
                retrying = r.retrying,
                failed = r.failed,
                "alerts"
            );
        }
        if let Ok(mut m) = self.metrics.lock() {
            m.alerts_sent += r.sent as u64;
            m.alerts_failed += r.failed as u64;
            m.alerts_pending = self.store.count_alerts("pending").unwrap_or(0);
        }
    }

    /// Finish the round under way, then send what is still due.
    async fn deliver_all(&mut self) {
        for _ in 0..2 {
            if self.sending.is_empty() {
                self.start_sending();
            }
            while let Some(joined) = self.sending.join_next().await {
                self.sent(joined);
            }
        }
    }

    /// Record a result during shutdown: no confirming re-fetch is started.
    fn finish_without_confirming(&mut self, done: Done) {
        let Some(entry) = self.entries.get(&done.key.0) else {
            return;
        };
        let mut watch = entry.watch.clone();
        watch.confirm = None;
        if let Step::Done(r) = process(
            &mut self.store,
            &watch,
            done.result,
            None,
            &done.checked_at,
            done.ms,
        ) {
            // Logged once committed (stopping ends with a delivery round).
            self.group.push(r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn failing_watches_back_off_up_to_a_cap() {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 29, 10, 0, 0)
            .single()
            .unwrap();
        let sched = now + chrono::Duration::minutes(5);
        let cap = Duration::from_secs(3600);
        let minutes = |f| (backoff_next(now, sched, f, cap) - now).num_minutes();
        assert_eq!(minutes(1), 5);
        assert_eq!(minutes(2), 10);
        assert_eq!(minutes(3), 20);
        assert_eq!(minutes(5), 60, "capped");
        assert_eq!(minutes(40), 60, "no overflow");
    }
}
