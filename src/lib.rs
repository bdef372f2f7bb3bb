//! redline: watch web pages, keep every version in a SQLite archive, and
//! report what changed.
//!
//! The pipeline is `config → fetch → extract → compare → store → report`;
//! `extract` and `compare` are pure, everything with side effects lives at
//! the edges.

pub mod check;
pub mod cli;
pub mod commands;
pub mod compare;
pub mod config;
pub mod daemon;
pub mod extract;
pub mod fetch;
pub mod fuzzing;
pub mod model;
pub mod notify;
pub mod report;
pub mod schedule;
pub mod serve;
pub mod store;
pub mod summary;
pub mod volatile;
pub mod warc;
