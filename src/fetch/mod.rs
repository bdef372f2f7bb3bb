//! HTTP: one GET per check, redirects followed by hand so the whole chain
//! is recorded, a cap on body size, timeouts on connect and on the whole
//! exchange. [`Fetcher::get`] adds politeness: robots.txt, a budget per
//! host, conditional requests, retries with backoff, and `Retry-After`.

pub mod hosts;
pub mod robots;

use crate::model::{Hop, Response};
use hosts::Hosts;
use robots::{Robots, Verdict};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The User-Agent redline sends unless told otherwise.
pub const USER_AGENT: &str = concat!(
    "redline/",
    env!("CARGO_PKG_VERSION"),
    " (web page change monitor)"
);

/// Fetch settings.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    pub connect_timeout: Duration,
    /// Bound on the whole check, redirects and body included.
    pub total_timeout: Duration,
    /// Bodies larger than this are refused (after decompression).
    pub max_body: usize,
    pub max_redirects: usize,
    pub user_agent: String,
    /// A contact address sent as the `From` header.
    pub from: Option<String>,
    /// At most this many requests to one host at once.
    pub per_host: usize,
    /// Requests to one host start at least this far apart (longer when its
    /// robots.txt asks for a Crawl-delay).
    pub host_interval: Duration,
    /// Retries of a transient failure (timeout, reset, 5xx, 429) within a
    /// check.
    pub retries: u32,
    /// The first retry waits about this long; each next one twice as long.
    pub backoff: Duration,
    /// A `Retry-After` up to this long is waited out within the check;
    /// longer ones end the check (the daemon then waits before the next).
    pub max_retry_wait: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            connect_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(30),
            max_body: 10 * 1024 * 1024,
            max_redirects: 10,
            user_agent: USER_AGENT.to_string(),
            from: None,
            per_host: 2,
            host_interval: Duration::from_millis(250),
            retries: 2,
            backoff: Duration::from_millis(500),
            max_retry_wait: Duration::from_secs(10),
        }
    }
}

/// Why a fetch produced no response.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FetchError {
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Request(String),
    #[error("body larger than the {0} byte limit")]
    TooLarge(usize),
    #[error("more than {0} redirects")]
    TooManyRedirects(usize),
    #[error("redirect loop at {0}")]
    RedirectLoop(String),
    #[error("redirect to unsupported location `{0}`")]
    BadRedirect(String),
    #[error(
        "redirect to non-routable address `{0}` refused; set private_redirects = true on the watch if it is meant to go there"
    )]
    PrivateRedirect(String),
    #[error(
        "blocked by robots.txt ({0}); set robots = false on the watch if you may read it anyway"
    )]
    Robots(String),
}

/// What the last response said about its version, for a conditional
/// request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// One polite request.
#[derive(Debug, Clone)]
pub struct Request {
    pub url: String,
    pub validators: Validators,
    /// Obey robots.txt (the default; a watch may opt out).
    pub robots: bool,
    /// Accept any TLS certificate (self-signed, expired, wrong name): only
    /// when the watch says so explicitly.
    pub insecure_tls: bool,
    /// Follow redirects to loopback, private and link-local addresses even
    /// from a URL that is not itself on such an address.
    pub private_redirects: bool,
}

impl Request {
    /// A plain request: robots.txt obeyed, certificates verified, no
    /// redirects into private networks.
    pub fn new(url: impl Into<String>) -> Request {
        Request {
            url: url.into(),
            validators: Validators::default(),
            robots: true,
            insecure_tls: false,
            private_redirects: false,
        }
    }
}

/// Where an address leads, for the redirect policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Public,
    Loopback,
    Private,
    LinkLocal,
    /// Unspecified, broadcast, multicast, documentation ranges.
    Unroutable,
}

/// The reach of a URL's host. Names are public except `localhost`
/// (resolving names here would not stop DNS rebinding anyway).
pub fn reach(url: &reqwest::Url) -> Reach {
    use std::net::IpAddr;
    let Some(host) = url.host_str() else {
        return Reach::Unroutable;
    };
    let ip: IpAddr = match host.trim_start_matches('[').trim_end_matches(']').parse() {
        Ok(ip) => ip,
        Err(_) => {
            let d = host.trim_end_matches('.').to_ascii_lowercase();
            return if d == "localhost" || d.ends_with(".localhost") {
                Reach::Loopback
            } else {
                Reach::Public
            };
        }
    };
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            if a.is_loopback() {
                Reach::Loopback
            } else if a.is_private() || (o[0] == 100 && (64..128).contains(&o[1])) {
                Reach::Private
            } else if a.is_link_local() {
                Reach::LinkLocal
            } else if a.is_unspecified()
                || a.is_broadcast()
                || a.is_multicast()
                || a.is_documentation()
                || o[0] == 0
            {
                Reach::Unroutable
            } else {
                Reach::Public
            }
        }
        IpAddr::V6(a) => {
            let first = a.segments()[0];
            if a.is_loopback() {
                Reach::Loopback
            } else if first & 0xfe00 == 0xfc00 {
                Reach::Private
            } else if first & 0xffc0 == 0xfe80 {
                Reach::LinkLocal
            } else if a.is_unspecified() || a.is_multicast() {
                Reach::Unroutable
            } else {
                Reach::Public
            }
        }
    }
}

/// robots.txt per origin, refreshed daily.
type RobotsCache = HashMap<String, (Instant, Arc<tokio::sync::OnceCell<Robots>>)>;

const ROBOTS_TTL: Duration = Duration::from_secs(24 * 3600);

/// A robots.txt that could not be read is asked for again after this.
const ROBOTS_RETRY: Duration = Duration::from_secs(10 * 60);

/// A status saying the server cannot answer now (5xx, 429): retried for a
/// page, and for robots.txt a reason to fetch nothing yet.
fn server_failing(status: u16) -> bool {
    status == 429 || status >= 500
}

/// A number in 0..n that differs from call to call (jitter; no need for
/// real randomness).
pub fn jitter(n: u64, salt: &str) -> u64 {
    if n == 0 {
        return 0;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ nanos;
    for b in salt.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h % n
}

/// Seconds or an HTTP date in a `Retry-After` header.
pub fn retry_after(resp: &Response) -> Option<Duration> {
    let v = resp.header("retry-after")?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let secs = (when.timestamp() - chrono::Utc::now().timestamp()).max(0);
    Some(Duration::from_secs(secs as u64))
}

/// A reusable HTTP client (cheap to clone: clones share the host budgets
/// and the robots.txt cache).
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    /// For watches that accept any certificate (`insecure_tls`).
    insecure_client: reqwest::Client,
    /// Requests on the wire at once, across hosts. Taken after the host's
    /// turn, so checks queued behind a slow host never hold a place that a
    /// check of another host could use.
    wire: Option<Arc<tokio::sync::Semaphore>>,
    opts: FetchOptions,
    hosts: Arc<Hosts>,
    robots: Arc<Mutex<RobotsCache>>,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

/// The error and every cause below it, on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

impl Fetcher {
    pub fn new(opts: FetchOptions) -> anyhow::Result<Fetcher> {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(from) = &opts.from {
            headers.insert(
                reqwest::header::FROM,
                reqwest::header::HeaderValue::from_str(from)?,
            );
        }
        let builder = || {
            reqwest::Client::builder()
                .user_agent(opts.user_agent.clone())
                .default_headers(headers.clone())
                .connect_timeout(opts.connect_timeout)
                .timeout(opts.total_timeout)
                .redirect(reqwest::redirect::Policy::none())
        };
        let client = builder().build()?;
        let insecure_client = builder().danger_accept_invalid_certs(true).build()?;
        Ok(Fetcher {
            client,
            insecure_client,
            wire: None,
            hosts: Arc::new(Hosts::new(opts.per_host, opts.host_interval)),
            robots: Arc::new(Mutex::new(HashMap::new())),
            opts,
        })
    }

    /// The same fetcher (sharing host budgets and robots.txt) with at most
    /// `n` requests on the wire at once.
    pub fn with_in_flight(&self, n: usize) -> Fetcher {
        Fetcher {
            wire: Some(Arc::new(tokio::sync::Semaphore::new(n.max(1)))),
            ..self.clone()
        }
    }

    /// The key of a URL's host budget (`host:port`).
    pub fn host_key(url: &str) -> String {
        match reqwest::Url::parse(url) {
            Ok(u) => format!(
                "{}:{}",
                u.host_str().unwrap_or(""),
                u.port_or_known_default().unwrap_or(0)
            ),
            Err(_) => String::new(),
        }
    }

    /// The most requests to one host at once.
    pub fn per_host(&self) -> usize {
        self.opts.per_host.max(1)
    }

    /// GET `url`, following redirects, within the total timeout: one
    /// attempt, no politeness (see [`Fetcher::get`]).
    pub async fn fetch(&self, url: &str) -> Result<Response, FetchError> {
        self.attempt(&Request::new(url)).await
    }

    async fn attempt(&self, req: &Request) -> Result<Response, FetchError> {
        let limit = self.opts.total_timeout;
        match tokio::time::timeout(limit, self.fetch_inner(req)).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout(limit)),
        }
    }

    /// A polite GET: robots.txt obeyed (unless the request opts out), the
    /// host's budget respected, validators sent, transient failures retried
    /// with exponential backoff and jitter, short `Retry-After`s waited out.
    pub async fn get(&self, req: &Request) -> Result<Response, FetchError> {
        self.get_holding(req).await.0
    }

    /// [`Fetcher::get`], handing back the place on the wire the response
    /// took: whoever holds it keeps the body in memory, so holding it until
    /// the response is processed bounds the bodies in flight or waiting.
    pub async fn get_holding(
        &self,
        req: &Request,
    ) -> (
        Result<Response, FetchError>,
        Option<tokio::sync::OwnedSemaphorePermit>,
    ) {
        let mut held = None;
        let result = self.get_inner(req, &mut held).await;
        (result, held)
    }

    async fn get_inner(
        &self,
        req: &Request,
        held: &mut Option<tokio::sync::OwnedSemaphorePermit>,
    ) -> Result<Response, FetchError> {
        let url = reqwest::Url::parse(&req.url)
            .map_err(|e| FetchError::Request(format!("invalid URL: {e}")))?;
        let host = url.host_str().unwrap_or("").to_string();
        let host_key = format!("{host}:{}", url.port_or_known_default().unwrap_or(0));
        let wire = self.wire.clone();
        let on_the_wire = || async {
            match &wire {
                Some(sem) => sem.clone().acquire_owned().await.ok(),
                None => None,
            }
        };
        if req.robots {
            let robots = self.robots_for(req, &url, &host_key).await;
            let mut path = url.path().to_string();
            if let Some(q) = url.query() {
                path.push('?');
                path.push_str(q);
            }
            if let Verdict::Disallowed(rule) = robots.check(&self.opts.user_agent, &path) {
                return Err(FetchError::Robots(rule));
            }
        }
        let mut attempt = 0u32;
        loop {
            // Never wait for a host's turn while holding a place on the
            // wire (others holding turns wait for places: a deadlock).
            *held = None;
            let result = {
                let _turn = self.hosts.turn(&host_key).await;
                *held = on_the_wire().await;
                self.attempt(req).await
            };
            let transient = match &result {
                Ok(r) => server_failing(r.status),
                Err(FetchError::Timeout(_)) => true,
                Err(FetchError::Request(msg)) => {
                    let m = msg.to_ascii_lowercase();
                    m.contains("reset")
                        || m.contains("closed")
                        || m.contains("broken pipe")
                        || m.contains("incomplete")
                }
                Err(_) => false,
            };
            if !transient || attempt >= self.opts.retries {
                return result;
            }
            let wait = match &result {
                Ok(r) if r.status == 429 || r.status == 503 => match retry_after(r) {
                    Some(d) if d > self.opts.max_retry_wait => return result,
                    Some(d) => d,
                    None => self.backoff(attempt, &req.url),
                },
                _ => self.backoff(attempt, &req.url),
            };
            *held = None;
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// Exponential backoff with up to 100% jitter.
    fn backoff(&self, attempt: u32, salt: &str) -> Duration {
        let base = self.opts.backoff.saturating_mul(1u32 << attempt.min(10));
        base + Duration::from_millis(jitter(base.as_millis() as u64, salt))
    }

    /// The robots.txt of a URL's origin, fetched once a day.
    async fn robots_for(&self, req: &Request, url: &reqwest::Url, host_key: &str) -> Robots {
        let origin = url.origin().ascii_serialization();
        let cell = {
            let mut cache = self.robots.lock().unwrap_or_else(|e| e.into_inner());
            let fresh = cache
                .get(&origin)
                .filter(|(at, c)| {
                    let ttl = match c.get() {
                        Some(r) if r.provisional() => ROBOTS_RETRY,
                        _ => ROBOTS_TTL,
                    };
                    at.elapsed() < ttl
                })
                .map(|(_, c)| c.clone());
            match fresh {
                Some(c) => c,
                None => {
                    let c = Arc::new(tokio::sync::OnceCell::new());
                    cache.insert(origin.clone(), (Instant::now(), c.clone()));
                    c
                }
            }
        };
        let robots = cell
            .get_or_init(|| async {
                let _turn = self.hosts.turn(host_key).await;
                let robots_req = Request {
                    url: format!("{origin}/robots.txt"),
                    ..req.clone()
                };
                match self.attempt(&robots_req).await {
                    Ok(r) if r.status == 200 => Robots::parse(&String::from_utf8_lossy(&r.body)),
                    // The server failing to answer: assume complete
                    // disallow until it can (RFC 9309 2.3.1.4).
                    Ok(r) if server_failing(r.status) => {
                        Robots::unreachable(format!("HTTP {}", r.status))
                    }
                    // No robots.txt (4xx, RFC 9309 2.3.1.3): everything
                    // is allowed.
                    Ok(_) => Robots::allow_all(),
                    // No answer at all: the page's own fetch says why.
                    Err(_) => Robots::allow_for_now(),
                }
            })
            .await
            .clone();
        self.hosts
            .set_crawl_delay(host_key, robots.crawl_delay(&self.opts.user_agent));
        robots
    }

    async fn fetch_inner(&self, req: &Request) -> Result<Response, FetchError> {
        let (url, validators) = (req.url.as_str(), &req.validators);
        let start = Instant::now();
        let mut current = reqwest::Url::parse(url)
            .map_err(|e| FetchError::Request(format!("invalid URL: {e}")))?;
        let origin_reach = reach(&current);
        let client = if req.insecure_tls {
            &self.insecure_client
        } else {
            &self.client
        };
        let mut redirects: Vec<Hop> = Vec::new();
        loop {
            let mut request = client.get(current.clone());
            // Validators belong to the URL they came from: the first one.
            if redirects.is_empty() {
                if let Some(etag) = &validators.etag {
                    request = request.header(reqwest::header::IF_NONE_MATCH, etag);
                }
                if let Some(lm) = &validators.last_modified {
                    request = request.header(reqwest::header::IF_MODIFIED_SINCE, lm);
                }
            }
            let resp = request.send().await.map_err(|e| self.classify(&e))?;
            let status = resp.status();
            let location = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            if status.is_redirection()
                && status != reqwest::StatusCode::NOT_MODIFIED
                && let Some(loc) = location
            {
                let next = current
                    .join(&loc)
                    .map_err(|_| FetchError::BadRedirect(loc.clone()))?;
                if !matches!(next.scheme(), "http" | "https") {
                    return Err(FetchError::BadRedirect(loc));
                }
                // A public page must not send redline into a private network
                // (cloud metadata endpoints, routers, the machine itself).
                let to = reach(&next);
                if to != Reach::Public && to != origin_reach && !req.private_redirects {
                    return Err(FetchError::PrivateRedirect(next.to_string()));
                }
                redirects.push(Hop {
                    url: current.to_string(),
                    status: status.as_u16(),
                });
                if redirects.iter().any(|h| h.url == next.as_str()) {
                    return Err(FetchError::RedirectLoop(next.to_string()));
                }
                if redirects.len() > self.opts.max_redirects {
                    return Err(FetchError::TooManyRedirects(self.opts.max_redirects));
                }
                current = next;
                continue;
            }
            let headers = resp
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let body = self.read_body(resp).await?;
            return Ok(Response {
                requested_url: url.to_string(),
                final_url: current.to_string(),
                redirects,
                status: status.as_u16(),
                headers,
                body,
                elapsed_ms: start.elapsed().as_millis() as u64,
            });
        }
    }

    async fn read_body(&self, mut resp: reqwest::Response) -> Result<Vec<u8>, FetchError> {
        let cap = self.opts.max_body;
        if resp.content_length().is_some_and(|n| n > cap as u64) {
            return Err(FetchError::TooLarge(cap));
        }
        // Room for the announced length up front (no copying as it grows).
        let announced = resp.content_length().map_or(0, |n| n as usize);
        let mut body = Vec::with_capacity(announced.min(cap));
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.classify(&e))? {
            if body.len() + chunk.len() > cap {
                return Err(FetchError::TooLarge(cap));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn classify(&self, e: &reqwest::Error) -> FetchError {
        if e.is_timeout() {
            return FetchError::Timeout(self.opts.total_timeout);
        }
        let chain = error_chain(e);
        let lower = chain.to_ascii_lowercase();
        if lower.contains("certificate") {
            FetchError::Request(format!(
                "TLS certificate not accepted ({chain}); if this server is known to use a self-signed or otherwise invalid certificate, set insecure_tls = true on the watch"
            ))
        } else if lower.contains("dns error") || lower.contains("failed to lookup address") {
            FetchError::Request(format!("cannot resolve the host name ({chain})"))
        } else {
            FetchError::Request(chain)
        }
    }
}

#[cfg(test)]
mod reach_tests {
    use super::*;

    #[test]
    fn addresses_are_classed_by_where_they_lead() {
        let r = |u: &str| reach(&reqwest::Url::parse(u).unwrap());
        assert_eq!(r("https://www.state.gov/x"), Reach::Public);
        assert_eq!(r("http://8.8.8.8/"), Reach::Public);
        assert_eq!(r("http://127.0.0.1:8080/"), Reach::Loopback);
        assert_eq!(r("http://127.9.9.9/"), Reach::Loopback);
        assert_eq!(r("http://localhost/"), Reach::Loopback);
        assert_eq!(r("http://api.localhost./"), Reach::Loopback);
        assert_eq!(r("http://[::1]/"), Reach::Loopback);
        assert_eq!(r("http://[::ffff:127.0.0.1]/"), Reach::Loopback);
        assert_eq!(r("http://10.1.2.3/"), Reach::Private);
        assert_eq!(r("http://172.16.0.1/"), Reach::Private);
        assert_eq!(r("http://192.168.1.1/"), Reach::Private);
        assert_eq!(r("http://100.64.0.1/"), Reach::Private);
        assert_eq!(r("http://[fd00::1]/"), Reach::Private);
        assert_eq!(r("http://169.254.169.254/"), Reach::LinkLocal);
        assert_eq!(r("http://[fe80::1]/"), Reach::LinkLocal);
        assert_eq!(r("http://0.0.0.0/"), Reach::Unroutable);
        assert_eq!(r("http://224.0.0.1/"), Reach::Unroutable);
        assert_eq!(r("http://[::]/"), Reach::Unroutable);
        assert_eq!(r("http://172.32.0.1/"), Reach::Public);
    }
}
