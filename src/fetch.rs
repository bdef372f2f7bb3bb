//! HTTP: one GET per check, redirects followed by hand so the whole chain
//! is recorded, a cap on body size, timeouts on connect and on the whole
//! exchange.

use crate::model::{Hop, Response};
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
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            connect_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(30),
            max_body: 10 * 1024 * 1024,
            max_redirects: 10,
            user_agent: USER_AGENT.to_string(),
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
}

/// A reusable HTTP client.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    opts: FetchOptions,
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
        let client = reqwest::Client::builder()
            .user_agent(opts.user_agent.clone())
            .connect_timeout(opts.connect_timeout)
            .timeout(opts.total_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Fetcher { client, opts })
    }

    /// GET `url`, following redirects, within the total timeout.
    pub async fn fetch(&self, url: &str) -> Result<Response, FetchError> {
        let limit = self.opts.total_timeout;
        match tokio::time::timeout(limit, self.fetch_inner(url)).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout(limit)),
        }
    }

    async fn fetch_inner(&self, url: &str) -> Result<Response, FetchError> {
        let start = Instant::now();
        let mut current = reqwest::Url::parse(url)
            .map_err(|e| FetchError::Request(format!("invalid URL: {e}")))?;
        let mut redirects: Vec<Hop> = Vec::new();
        loop {
            let resp = self
                .client
                .get(current.clone())
                .send()
                .await
                .map_err(|e| self.classify(&e))?;
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
        let mut body = Vec::new();
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
            FetchError::Timeout(self.opts.total_timeout)
        } else {
            FetchError::Request(error_chain(e))
        }
    }
}
