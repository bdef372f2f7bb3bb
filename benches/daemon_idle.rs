//! The daemon's footprint with many watches: memory and CPU while idle.
//!
//!   cargo bench --bench daemon_idle             # 10,000 and 50,000 watches
//!   cargo bench --bench daemon_idle -- 2000     # other sizes
//!
//! For each size: a loopback server answers every page (with an ETag), the
//! daemon captures all watches as fast as it may (`--spread 0s`, no host
//! interval: all pages are on one host), then sits idle (daily schedule);
//! we sample its resident memory and CPU time from /proc. Linux only.

use redline::serve::{Reply, SiteServer};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn proc_stat(pid: u32) -> Option<(f64, u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the name.
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((ticks / 100.0, kb("VmRSS:")?, kb("VmHWM:")?))
}

fn metrics(addr: &str) -> String {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return String::new();
    };
    let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

fn first_captures(addr: &str) -> u64 {
    metrics(addr)
        .lines()
        .find(|l| l.starts_with("redline_checks_total{outcome=\"first_capture\"}"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn run(n: usize) -> String {
    let server = SiteServer::start().expect("server");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("watches.toml");
    let mut toml = String::from("cron = \"0 0 * * *\"\n");
    for i in 0..n {
        let path = format!("/p/{i}");
        server.set(
            &path,
            Reply::html(format!("<html><title>Page {i}</title><body><p>Press release number {i}, as published.</p></body></html>"))
                .header("ETag", &format!("\"{i}\"")),
        );
        toml.push_str(&format!(
            "[[watch]]\nname = \"w{i}\"\nurl = \"{}\"\nrobots = false\n",
            server.url(&path)
        ));
    }
    std::fs::write(&config, toml).expect("config");
    let db = dir.path().join("archive.db");
    let t0 = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_redline"))
        .arg("--config")
        .arg(&config)
        .arg("--db")
        .arg(&db)
        .args(["--per-host", "32", "--host-interval", "0ms"])
        .args([
            "run",
            "--spread",
            "0s",
            "--concurrency",
            "32",
            "--listen",
            "127.0.0.1:0",
        ])
        .env("REDLINE_LOG", "warn,redline::daemon=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("redline");
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("address=") && tx.send(line).is_err() {
                break;
            }
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the daemon listens");
    let addr = line
        .split("address=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or("")
        .to_string();
    // Capture everything (bounded wait).
    while first_captures(&addr) < n as u64 && t0.elapsed() < Duration::from_secs(1800) {
        std::thread::sleep(Duration::from_millis(500));
    }
    let captured = first_captures(&addr);
    let capture_s = t0.elapsed().as_secs_f64();
    let after_capture = proc_stat(pid).expect("proc");
    // Idle: nothing is due until tomorrow.
    std::thread::sleep(Duration::from_secs(5));
    let idle_start = proc_stat(pid).expect("proc");
    let idle = Duration::from_secs(30);
    std::thread::sleep(idle);
    let idle_end = proc_stat(pid).expect("proc");
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = child.wait();
    let idle_cpu = idle_end.0 - idle_start.0;
    format!(
        "| {n} | {captured} | {capture_s:.1} s | {:.1} s | {:.0} MB | {:.0} MB | {:.2} s in {} s ({:.2}% of a core) |",
        after_capture.0,
        idle_end.1 as f64 / 1024.0,
        idle_end.2 as f64 / 1024.0,
        idle_cpu,
        idle.as_secs(),
        100.0 * idle_cpu / idle.as_secs_f64()
    )
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![10_000, 50_000]
    } else {
        sizes
    };
    println!(
        "| watches | captured | time to capture all (from start) | CPU (from start) | RSS idle | peak RSS | CPU while idle |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---|");
    for n in sizes {
        println!("{}", run(n));
    }
}
