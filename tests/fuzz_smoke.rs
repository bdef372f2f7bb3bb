//! The fuzz targets' entry points (`redline::fuzzing`, also driven by
//! libFuzzer under `fuzz/`) on stable Rust: seeds from `snapshots/` and
//! `schedules/`, plus a bounded number of deterministic mutations of them.
//! A panic is a bug found.

use redline::fuzzing::{compare_bytes, config_bytes, extract_bytes, warc_bytes};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One mutation of `seed`, sometimes spliced with `other`.
fn mutate(rng: &mut Rng, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(7) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 => {
                let junk: Vec<u8> = (0..rng.below(16)).map(|_| rng.next() as u8).collect();
                v.splice(at..at, junk);
            }
            2 => {
                let end = (at + rng.below(256)).min(v.len());
                v.drain(at..end);
            }
            3 => v.truncate(at),
            4 => {
                let tags: &[&[u8]] = &[
                    b"<div>",
                    b"</p>",
                    b"<!--",
                    b"<script>",
                    b"]]>",
                    b"&#x",
                    b"<li class=\"comment\">",
                    b"\xff",
                    b"\r\n\r\n",
                    b"[[watch]]\n",
                    b"= \"",
                ];
                let t = tags[rng.below(tags.len())];
                v.splice(at..at, t.iter().copied());
            }
            5 if !other.is_empty() => {
                let from = rng.below(other.len());
                let end = (from + rng.below(512)).min(other.len());
                v.splice(at..at, other[from..end].iter().copied());
            }
            _ => {
                let end = (at + rng.below(64)).min(v.len());
                let dup = v[at..end].to_vec();
                v.splice(at..at, dup);
            }
        }
    }
    v
}

fn seeds(dir: &str, ext: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut stack = vec![root];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == ext) {
                let mut bytes = std::fs::read(&p).unwrap();
                bytes.truncate(64 * 1024);
                out.push(bytes);
            }
        }
    }
    out.sort();
    assert!(!out.is_empty(), "no seeds in {dir}");
    out
}

fn run(target: fn(&[u8]), seeds: &[Vec<u8>], rounds: usize, salt: u64) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ salt);
    for s in seeds {
        target(s);
    }
    target(b"");
    for _ in 0..rounds {
        let a = &seeds[rng.below(seeds.len())];
        let b = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, a, b);
        target(&input);
    }
}

#[test]
fn extractor_survives_mutated_pages() {
    let pages = seeds("snapshots", "html");
    let labelled: Vec<Vec<u8>> = pages
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut v = vec![i as u8];
            v.extend_from_slice(p);
            v
        })
        .collect();
    run(extract_bytes, &labelled, 150, 1);
}

#[test]
fn comparer_survives_mutated_page_pairs() {
    let pages = seeds("snapshots", "html");
    let pairs: Vec<Vec<u8>> = pages
        .windows(2)
        .map(|w| {
            let mut v = w[0].clone();
            v.push(0xff);
            v.extend_from_slice(&w[1]);
            v
        })
        .collect();
    run(compare_bytes, &pairs, 100, 2);
}

#[test]
fn config_parser_survives_mutated_configs() {
    run(config_bytes, &seeds("schedules", "toml"), 1000, 3);
}

#[test]
fn warc_reader_survives_mutated_files() {
    let mut w = redline::warc::Writer::new(Vec::new());
    let block = b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    w.write(&redline::warc::OutRecord {
        kind: "response",
        id: redline::warc::record_id(&["seed"]),
        date: "2026-11-29T12:00:00Z",
        target_uri: Some("https://www.state.gov/"),
        content_type: "application/http; msgtype=response",
        fields: vec![],
        block,
    })
    .unwrap();
    let gz = w.finish().unwrap();
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&gz[..]), &mut plain)
        .unwrap();
    run(warc_bytes, &[gz, plain], 1000, 4);
}
