//! Renderings of checks and changes for people (terminal) and scripts
//! (JSON lines).

pub mod html;
pub mod review;
pub mod terminal;

use crate::check::CheckResult;

/// One line of `check --json`.
pub fn json_line(r: &CheckResult) -> String {
    serde_json::to_string(r)
        .unwrap_or_else(|e| format!("{{\"error\":\"cannot serialise result: {e}\"}}"))
}
