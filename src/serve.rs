//! A small HTTP/1.1 server on loopback that serves recorded page versions.
//! `redline demo` uses it, and so do the integration tests: what a route
//! answers can be swapped while the server runs.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::thread;
use std::time::Duration;

/// What a route answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Replace `{{SEQ}}` in the body with a number that grows with every
    /// request, and `{{TIME}}` with a clock time (HH:MM:SS) that moves a
    /// second per request (a page whose visible text changes on its own).
    pub dynamic: bool,
    /// Wait this long before answering (a slow server).
    pub delay: Duration,
}

impl Reply {
    /// A 200 with an HTML body.
    pub fn html(body: impl Into<Vec<u8>>) -> Reply {
        Reply::with_type(200, "text/html; charset=utf-8", body)
    }

    pub fn with_type(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
            dynamic: false,
            delay: Duration::ZERO,
        }
    }

    /// A redirect to `location`.
    pub fn redirect(status: u16, location: &str) -> Reply {
        Reply {
            status,
            headers: vec![("Location".into(), location.into())],
            body: Vec::new(),
            dynamic: false,
            delay: Duration::ZERO,
        }
    }

    /// The same reply, answered after `delay`.
    pub fn delayed(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }

    /// The same reply with one more header.
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// An HTML page in which `{{SEQ}}` counts requests.
    pub fn dynamic_html(template: impl Into<Vec<u8>>) -> Reply {
        Reply {
            dynamic: true,
            ..Reply::html(template)
        }
    }

    /// A plain-text error page with this status.
    pub fn status(status: u16) -> Reply {
        Reply::with_type(status, "text/plain", format!("status {status}\n"))
    }
}

/// Each path's replies: served in turn, the last one from then on.
type Routes = Arc<RwLock<HashMap<String, (Vec<Reply>, usize)>>>;
/// Each request's path, raw head, arrival time and body.
type Hits = Arc<std::sync::Mutex<Vec<(String, String, std::time::Instant, Vec<u8>)>>>;

/// A running server; stops when dropped.
pub struct SiteServer {
    addr: SocketAddr,
    routes: Routes,
    hits: Hits,
    stop: Arc<AtomicBool>,
}

impl SiteServer {
    /// Listen on an ephemeral port of 127.0.0.1.
    pub fn start() -> std::io::Result<SiteServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let routes: Routes = Arc::default();
        let hits: Hits = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (r, h, s) = (routes.clone(), hits.clone(), stop.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = conn {
                    let (r, h) = (r.clone(), h.clone());
                    thread::spawn(move || {
                        let _ = serve_one(stream, &r, &h);
                    });
                }
            }
        });
        Ok(SiteServer {
            addr,
            routes,
            hits,
            stop,
        })
    }

    /// `http://127.0.0.1:PORT` + path.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The paths requested so far, in order.
    pub fn hits(&self) -> Vec<String> {
        self.requests().into_iter().map(|(p, _)| p).collect()
    }

    /// The requests so far: path and raw request head.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.hits
            .lock()
            .map(|h| {
                h.iter()
                    .map(|(p, head, _, _)| (p.clone(), head.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The head and body of each request for `path` (a webhook receiver).
    pub fn received(&self, path: &str) -> Vec<(String, Vec<u8>)> {
        self.hits
            .lock()
            .map(|h| {
                h.iter()
                    .filter(|(p, _, _, _)| p == path)
                    .map(|(_, head, _, b)| (head.clone(), b.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// When each request for `path` arrived.
    pub fn times(&self, path: &str) -> Vec<std::time::Instant> {
        self.hits
            .lock()
            .map(|h| {
                h.iter()
                    .filter(|(p, _, _, _)| p == path)
                    .map(|(_, _, t, _)| *t)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Make `path` answer `reply` from now on.
    pub fn set(&self, path: &str, reply: Reply) {
        self.set_sequence(path, vec![reply]);
    }

    /// Make `path` answer these replies in turn, then the last one for
    /// good (a server that fails, then recovers).
    pub fn set_sequence(&self, path: &str, replies: Vec<Reply>) {
        if let Ok(mut m) = self.routes.write() {
            m.insert(path.to_string(), (replies, 0));
        }
    }
}

impl Drop for SiteServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        429 => "Too Many Requests",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        404 => "Not Found",
        410 => "Gone",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Serve the requests of one connection, keeping it open between them
/// (as most web servers do) until the client closes it, asks for `close`,
/// or stays idle for 5 s.
fn serve_one(mut stream: TcpStream, routes: &Routes, hits: &Hits) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_nodelay(true)?;
    while serve_request(&mut stream, routes, hits)? {}
    Ok(())
}

/// One request and its reply; `true` when the connection stays open.
fn serve_request(stream: &mut TcpStream, routes: &Routes, hits: &Hits) -> std::io::Result<bool> {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 || head.len() > 64 * 1024 {
            return Ok(false);
        }
        head.extend_from_slice(&buf[..n]);
    }
    let split = head
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(head.len(), |i| i + 4);
    let mut body = head.split_off(split);
    let head = String::from_utf8_lossy(&head).into_owned();
    let length = head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        })
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0)
        .min(10 * 1024 * 1024);
    while body.len() < length {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    let close = head.lines().any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("connection") && v.trim().eq_ignore_ascii_case("close")
        })
    });
    let mut parts = head.lines().next().unwrap_or("").split_whitespace();
    let method = parts.next().unwrap_or("GET").to_string();
    let path = parts.next().unwrap_or("/").to_string();
    if let Ok(mut h) = hits.lock() {
        h.push((path.clone(), head.clone(), std::time::Instant::now(), body));
    }
    let mut reply = routes
        .write()
        .ok()
        .and_then(|mut m| {
            let (replies, next) = m.get_mut(&path)?;
            let r = replies
                .get((*next).min(replies.len().saturating_sub(1)))
                .cloned();
            *next += 1;
            r
        })
        .unwrap_or_else(|| Reply::status(404));
    // Conditional requests: a matching ETag is answered 304.
    let etag = reply
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("etag"))
        .map(|(_, v)| v.clone());
    let if_none_match = head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.trim().eq_ignore_ascii_case("if-none-match"))
        })
        .map(|(_, v)| v.trim().to_string());
    if etag.is_some() && etag == if_none_match {
        reply = Reply {
            status: 304,
            headers: reply
                .headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("etag"))
                .cloned()
                .collect(),
            body: Vec::new(),
            dynamic: false,
            delay: Duration::ZERO,
        };
    }
    if reply.dynamic {
        let seq = hits.lock().map(|h| h.len()).unwrap_or(0);
        let time = format!(
            "{:02}:{:02}:{:02}",
            (10 + seq / 3600) % 24,
            seq / 60 % 60,
            seq % 60
        );
        let body = String::from_utf8_lossy(&reply.body)
            .replace("{{SEQ}}", &seq.to_string())
            .replace("{{TIME}}", &time);
        reply.body = body.into_bytes();
    }
    if !reply.delay.is_zero() {
        thread::sleep(reply.delay);
    }
    let mut out = format!("HTTP/1.1 {} {}\r\n", reply.status, reason(reply.status));
    for (k, v) in &reply.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: {}\r\n\r\n",
        reply.body.len(),
        if close { "close" } else { "keep-alive" }
    ));
    // One write: a head and a body written apart would wait on Nagle's
    // algorithm and the client's delayed ACK on a kept-alive connection.
    let mut out = out.into_bytes();
    if method != "HEAD" {
        out.extend_from_slice(&reply.body);
    }
    stream.write_all(&out)?;
    stream.flush()?;
    Ok(!close)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(addr: &str, path: &str) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn dynamic_replies_count_requests() {
        let srv = SiteServer::start().unwrap();
        srv.set("/d", Reply::dynamic_html("seq={{SEQ}}"));
        srv.set("/t", Reply::dynamic_html("at {{TIME}}"));
        srv.set("/s", Reply::html("seq={{SEQ}}"));
        let addr = srv.url("").trim_start_matches("http://").to_string();
        let a = get(&addr, "/d");
        let b = get(&addr, "/d");
        assert!(a.ends_with("seq=1") && b.ends_with("seq=2"), "{a} / {b}");
        assert!(get(&addr, "/s").ends_with("seq={{SEQ}}"));
        assert!(get(&addr, "/t").ends_with("at 10:00:04"));
        assert_eq!(srv.hits(), vec!["/d", "/d", "/s", "/t"]);
    }
}
