use super::*;
use proptest::prelude::*;

fn parse(src: &str) -> Result<Config, ConfigErrors> {
    parse_sources(&[(PathBuf::from("schedules/state.toml"), src.to_string())])
}

fn one_error(src: &str) -> String {
    let errs = parse(src).expect_err("config should be rejected");
    assert_eq!(errs.0.len(), 1, "{errs}");
    errs.0[0].to_string()
}

#[test]
fn full_watch_parses() {
    let cfg = parse(
        r##"cron = "*/30 * * * *"

[[watch]]
name = "car-support"
url = "https://2009-2017.state.gov/r/pa/prs/ps/2013/12/218349.htm"
select = ["#centerblock"]
ignore = ["#related", ".share"]
ignore_text = ['Last checked: .*']

[[watch]]
url = "https://www.state.gov/press-releases/?page=2"
cron = "0 9 * * mon-fri"
"##,
    )
    .unwrap();
    assert_eq!(cfg.watches.len(), 2);
    let w = &cfg.watches[0];
    assert_eq!(w.name, "car-support");
    assert_eq!(w.line, 3);
    assert_eq!(w.rules.select.len(), 1);
    assert_eq!(w.rules.ignore.len(), 2);
    assert_eq!(w.rules.ignore_text.len(), 1);
    assert_eq!(w.schedule.expr(), "*/30 * * * *");
    let w2 = &cfg.watches[1];
    assert_eq!(w2.name, "www.state.gov-press-releases-page-2");
    assert_eq!(w2.schedule.expr(), "0 9 * * mon-fri");
}

#[test]
fn default_schedule_is_hourly() {
    let cfg = parse("[[watch]]\nurl = \"http://127.0.0.1:8080/a\"\n").unwrap();
    assert_eq!(cfg.watches[0].schedule.expr(), DEFAULT_CRON);
    assert_eq!(cfg.watches[0].name, "127.0.0.1-a");
}

#[test]
fn unknown_key_names_line_and_suggests() {
    let msg = one_error("[[watch]]\nurl = \"https://a.gov/\"\nignore_txt = [\"x\"]\n");
    assert_eq!(
        msg,
        "schedules/state.toml:3:1: unknown key `ignore_txt` in [[watch]]\n  help: did you mean `ignore_text`?"
    );
    let msg = one_error("crn = \"@hourly\"\n");
    assert_eq!(
        msg,
        "schedules/state.toml:1:1: unknown key `crn` at top level\n  help: did you mean `cron`?"
    );
}

#[test]
fn wrong_type_names_key() {
    let msg = one_error("[[watch]]\nurl = \"https://a.gov/\"\nselect = 3\n");
    assert!(
        msg.starts_with("schedules/state.toml:3:10: key `select`: "),
        "{msg}"
    );
    assert!(msg.contains("invalid type"), "{msg}");
}

#[test]
fn missing_url() {
    let msg = one_error("[[watch]]\nname = \"x\"\n");
    assert!(
        msg.starts_with("schedules/state.toml:1:1: missing key `url`"),
        "{msg}"
    );
}

#[test]
fn bad_values_are_reported_with_their_location() {
    let errs = parse(
        r#"[[watch]]
name = "a"
url = "not a url"

[[watch]]
name = "b"
url = "ftp://example.org/file"
select = ["p:::bad"]
ignore_text = ['(unclosed']
cron = "0 0 * * 9"
"#,
    )
    .unwrap_err();
    let lines: Vec<String> = errs
        .0
        .iter()
        .map(|e| e.to_string().lines().next().unwrap().to_string())
        .collect();
    assert_eq!(lines.len(), 5, "{errs}");
    assert!(
        lines[0].starts_with("schedules/state.toml:3:7: key `url`: invalid URL `not a url`"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with(
            "schedules/state.toml:7:7: key `url`: `ftp://example.org/file` is not an http(s) URL"
        ),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("schedules/state.toml:10:8: key `cron`: invalid day of week `9`"),
        "{}",
        lines[2]
    );
    assert!(
        lines[3]
            .starts_with("schedules/state.toml:8:11: key `select`: invalid CSS selector `p:::bad`"),
        "{}",
        lines[3]
    );
    assert!(
        lines[4].starts_with(
            "schedules/state.toml:9:16: key `ignore_text`: invalid regular expression `(unclosed`"
        ),
        "{}",
        lines[4]
    );
}

#[test]
fn duplicate_names_across_files() {
    let errs = parse_sources(&[
        (
            PathBuf::from("a.toml"),
            "[[watch]]\nname = \"x\"\nurl = \"https://a.gov/\"\n".into(),
        ),
        (
            PathBuf::from("b.toml"),
            "\n[[watch]]\nname = \"x\"\nurl = \"https://b.gov/\"\n".into(),
        ),
    ])
    .unwrap_err();
    assert_eq!(errs.0.len(), 1);
    assert_eq!(
        errs.0[0].to_string().lines().next().unwrap(),
        "b.toml:3:8: duplicate watch name `x` (first defined at a.toml:1)"
    );
}

#[test]
fn toml_syntax_error_has_location() {
    let msg = one_error("[[watch]]\nurl = \"https://a.gov/\n");
    assert!(msg.starts_with("schedules/state.toml:2:"), "{msg}");
}

#[test]
fn load_reads_directories_in_order_and_reports_missing_paths() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("b.toml"),
        "[[watch]]\nname = \"b\"\nurl = \"https://b.gov/\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("a.toml"),
        "[[watch]]\nname = \"a\"\nurl = \"https://a.gov/\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not config").unwrap();
    let cfg = load(dir.path()).unwrap();
    let names: Vec<&str> = cfg.watches.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, vec!["a", "b"]);
    let err = load(&dir.path().join("missing")).unwrap_err();
    assert!(
        err.to_string().contains("no such file or directory"),
        "{err}"
    );
}

#[test]
fn edit_distance_and_suggestions() {
    assert_eq!(closest("selct", WATCH_KEYS), Some("select"));
    assert_eq!(closest("zzzzzz", WATCH_KEYS), None);
}

proptest! {
    #[test]
    fn parsing_never_panics(src in "[\\[\\]a-z_=\"'\\n #.*/0-9-]{0,200}") {
        let _ = parse(&src);
    }
}

#[test]
fn time_zones_apply_per_file_and_per_watch() {
    let cfg = parse(
        "timezone = \"America/New_York\"\ncron = \"0 9 * * *\"\n[[watch]]\nname = \"a\"\nurl = \"https://a.gov/\"\n\n[[watch]]\nname = \"b\"\nurl = \"https://b.gov/\"\ntimezone = \"Europe/Paris\"\n",
    )
    .unwrap();
    assert_eq!(cfg.watches[0].schedule.zone(), Some("America/New_York"));
    assert_eq!(cfg.watches[1].schedule.zone(), Some("Europe/Paris"));
    let msg = one_error("timezone = \"Moon/Base\"\n[[watch]]\nurl = \"https://a.gov/\"\n");
    assert!(
        msg.starts_with("schedules/state.toml:1:12: key `timezone`: unknown time zone `Moon/Base`"),
        "{msg}"
    );
}

#[test]
fn retention_is_inherited_from_the_file_and_checked() {
    let cfg = parse(
        r#"keep_versions = 50
keep_days = 365

[[watch]]
url = "https://example.org/a"

[[watch]]
url = "https://example.org/b"
keep_versions = 5
"#,
    )
    .unwrap();
    assert_eq!(
        (cfg.watches[0].keep_versions, cfg.watches[0].keep_days),
        (Some(50), Some(365))
    );
    assert_eq!(
        (cfg.watches[1].keep_versions, cfg.watches[1].keep_days),
        (Some(5), Some(365))
    );
    let none = parse("[[watch]]\nurl = \"https://example.org/a\"\n").unwrap();
    assert_eq!(
        (none.watches[0].keep_versions, none.watches[0].keep_days),
        (None, None)
    );
    assert_eq!(
        one_error("keep_versions = 0\n[[watch]]\nurl = \"https://example.org/a\"\n"),
        "schedules/state.toml:1:17: key `keep_versions`: 0 is out of range\n  help: use a number of versions from 1 to 1000000 (the first and the latest are always kept)"
    );
    assert_eq!(
        one_error("[[watch]]\nurl = \"https://example.org/a\"\nkeep_days = -3\n"),
        "schedules/state.toml:3:13: key `keep_days`: -3 is out of range\n  help: use a number of days from 1 to 1000000"
    );
}

/// Every kind of mistake in a config file, with the exact message a user
/// sees: file, line, column, the problem, and how to fix it.
#[test]
fn every_malformed_config_gets_an_exact_message() {
    let cases: &[(&str, &str)] = &[
        (
            "[[watch]]\nurl = \"https://a.gov/\"\nignre = 1\n",
            "w.toml:3:1: unknown key `ignre` in [[watch]]\n  help: did you mean `ignore`?",
        ),
        (
            "[[watch]]\nurl = \"https://a.gov/\"\nselect = 3\n",
            "w.toml:3:10: key `select`: invalid type: integer `3`, expected a sequence",
        ),
        (
            "[[watch]]\nname = \"x\"\n",
            "w.toml:1:1: missing key `url`\n  help: every [[watch]] needs a `url`",
        ),
        (
            "[[watch]]\nurl = \"https://a.gov/\"\ncron = \"61 * * * *\"\n",
            "w.toml:3:8: key `cron`: invalid minute `61` (use 0-59)\n  help: use standard crontab syntax, e.g. \"*/30 * * * *\", \"0 9 * * mon-fri\" or \"@hourly\"",
        ),
        (
            "[[watch]]\nurl = \"https://a.gov/\"\nignore_text = [\"(unclosed\"]\n",
            "w.toml:3:16: key `ignore_text`: invalid regular expression `(unclosed`: unclosed group\n  help: in TOML, write regexes in single quotes ('\\d+') so backslashes stay as they are",
        ),
        (
            "[[watch]]\nurl = \"https://a.gov/\"\nselect = [\"p:::bad\"]\n",
            "w.toml:3:11: key `select`: invalid CSS selector `p:::bad`: Missing pseudoelement identity\n  help: selectors look like \"#main\", \".share\" or \"div.content > p\"",
        ),
        (
            "[[watch]]\nurl = \"https://a.gov/\"\n[[watch]]\nurl = \"https://a.gov/\"\n",
            "w.toml:4:7: duplicate watch name `a.gov` (first defined at {dir}/w.toml:1)\n  help: watch names identify history and must be unique across all files; add a distinct `name`",
        ),
        (
            "[[watch]]\nurl = \"https://a.gov/\"\nnotify = [\"ops\"]\n",
            "w.toml:3:11: key `notify`: no notifier named `ops`\n  help: define it in a [notify.NAME] table",
        ),
        (
            "[notify.ops]\ntype = \"pigeon\"\n",
            "w.toml:2:8: [notify.ops]: key `type`: unknown notifier type `pigeon`\n  help: use \"email\" or \"webhook\"",
        ),
        (
            "[[watch]]\nurl = \"https://a.gov/\"\ntimezone = \"Mars/Olympus\"\n",
            "w.toml:3:12: key `timezone`: unknown time zone `Mars/Olympus` (use an IANA name such as \"America/New_York\" or \"UTC\")",
        ),
        (
            "[[watch]]\nurl = \"https://a.gov/\n",
            "w.toml:2:22: key `url`: invalid basic string, expected `\"`",
        ),
        (
            "cron = \"@daily\"\n# caf\u{1}\n",
            "w.toml:2:6: invalid comment character, expected printable characters",
        ),
        (
            "cron = \"@daily\"\n[[watch]]\nurl = \"https://a.gov/\"\nkeep_days = 0\n",
            "w.toml:4:13: key `keep_days`: 0 is out of range\n  help: use a number of days from 1 to 1000000",
        ),
    ];
    for (src, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("w.toml"), src).unwrap();
        let err = load(dir.path()).unwrap_err().to_string();
        let expected = format!(
            "{}/{}",
            dir.path().display(),
            expected.replace("{dir}", &dir.path().display().to_string())
        );
        assert_eq!(err, expected, "for:\n{src}");
    }
    // Files that cannot be read at all, or are not text.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    std::fs::write(dir.path().join("a.toml"), b"cron = \"@daily\"\n# caf\xe9\n").unwrap();
    std::fs::create_dir(dir.path().join("b.toml")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("/nonexistent/redline.toml", dir.path().join("c.toml")).unwrap();
    let err = load(dir.path()).unwrap_err().to_string();
    let mut expected = vec![
        format!("{d}/a.toml:2:6: not UTF-8 text (byte 0xe9)\n  help: save the file as UTF-8"),
        format!("{d}/b.toml: cannot read file: Is a directory (os error 21)"),
    ];
    if cfg!(unix) {
        expected.push(format!(
            "{d}/c.toml: cannot read file: No such file or directory (os error 2)"
        ));
    }
    for e in &expected {
        assert!(err.contains(e.as_str()), "missing `{e}` in:\n{err}");
    }
    assert_eq!(
        err.lines().filter(|l| l.starts_with(&d)).count(),
        expected.len(),
        "{err}"
    );
}
