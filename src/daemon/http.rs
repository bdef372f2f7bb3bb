//! `--listen`: `/healthz`, `/metrics` and `/feed.atom` over plain HTTP/1.1.

use super::metrics::Metrics;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub async fn serve(listener: TcpListener, metrics: Arc<Mutex<Metrics>>, db: std::path::PathBuf) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let metrics = metrics.clone();
        let db = db.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(
                std::time::Duration::from_secs(10),
                answer(stream, metrics, db),
            )
            .await;
        });
    }
}

/// The Atom feed, from a reading connection of its own (the daemon's
/// connection belongs to its writer).
fn atom(db: &std::path::Path) -> Result<String, String> {
    let store = crate::store::Store::open(db).map_err(|e| format!("{e:#}"))?;
    let rows = store
        .reports(None, None, 100)
        .map_err(|e| format!("{e:#}"))?;
    Ok(crate::report::html::atom_feed(&rows, None))
}

async fn answer(
    mut stream: TcpStream,
    metrics: Arc<Mutex<Metrics>>,
    db: std::path::PathBuf,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 4096];
    let mut len = 0;
    while !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") && len < buf.len() {
        let n = stream.read(&mut buf[len..]).await?;
        if n == 0 {
            break;
        }
        len += n;
    }
    let head = String::from_utf8_lossy(&buf[..len]);
    let path = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("/");
    let (status, ctype, body) = match path {
        "/healthz" => ("200 OK", "text/plain", "ok\n".to_string()),
        "/metrics" => (
            "200 OK",
            "text/plain; version=0.0.4",
            metrics.lock().map(|m| m.render()).unwrap_or_default(),
        ),
        "/feed.atom" => match tokio::task::spawn_blocking(move || atom(&db)).await {
            Ok(Ok(feed)) => ("200 OK", "application/atom+xml; charset=utf-8", feed),
            Ok(Err(e)) => ("500 Internal Server Error", "text/plain", format!("{e}\n")),
            Err(e) => ("500 Internal Server Error", "text/plain", format!("{e}\n")),
        },
        _ => ("404 Not Found", "text/plain", "not found\n".to_string()),
    };
    let out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(out.as_bytes()).await?;
    stream.shutdown().await
}
