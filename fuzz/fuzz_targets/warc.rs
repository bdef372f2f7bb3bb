#![no_main]
//! See redline::fuzzing::warc_bytes for the input format and the properties checked.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| redline::fuzzing::warc_bytes(data));
