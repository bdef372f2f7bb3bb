//! Shared set-up for the integration tests: a real HTTP server on loopback,
//! a temporary config and a temporary SQLite archive, and the real binary.
#![allow(dead_code)]

use assert_cmd::Command;
use redline::serve::{Reply, SiteServer};
use serde_json::Value;
use std::path::PathBuf;
use tempfile::TempDir;

pub struct Env {
    pub dir: TempDir,
    pub server: SiteServer,
    pub config: PathBuf,
    pub db: PathBuf,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("schedules");
        std::fs::create_dir(&config).unwrap();
        let db = dir.path().join("archive.db");
        Env {
            server: SiteServer::start().unwrap(),
            dir,
            config,
            db,
        }
    }

    /// Write `schedules/watches.toml`; `{base}` becomes the server's URL.
    pub fn config(&self, toml: &str) {
        let text = toml.replace("{base}", &self.server.url(""));
        std::fs::write(self.config.join("watches.toml"), text).unwrap();
    }

    pub fn serve(&self, path: &str, reply: Reply) {
        self.server.set(path, reply);
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("redline").unwrap();
        c.arg("--config")
            .arg(&self.config)
            .arg("--db")
            .arg(&self.db);
        c.env_remove("REDLINE_DB").env_remove("NO_COLOR");
        c
    }

    /// What `redline ARGS…` prints on stdout.
    pub fn stdout(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    }

    /// `redline check --json [names]`: one parsed object per line, with the
    /// assertion that stdout holds nothing else.
    pub fn check(&self, names: &[&str]) -> Vec<Value> {
        let out = self
            .cmd()
            .arg("check")
            .arg("--json")
            .args(names)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "check failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }

    /// Check one watch and return its object.
    pub fn check_one(&self, name: &str) -> Value {
        let mut v = self.check(&[name]);
        assert_eq!(v.len(), 1, "{v:?}");
        v.remove(0)
    }
}

pub fn page(title: &str, paragraphs: &[&str]) -> String {
    let mut s =
        format!("<!DOCTYPE html><html><head><title>{title}</title></head><body><div id=\"main\">");
    for p in paragraphs {
        s.push_str(&format!("<p>{p}</p>\n"));
    }
    s.push_str("</div></body></html>");
    s
}
