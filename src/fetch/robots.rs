//! robots.txt: which paths a user agent may fetch, and how slowly.
//!
//! The group for the most specific matching user agent applies (else `*`);
//! the longest matching `Allow`/`Disallow` rule wins (Allow on ties);
//! `*` and `$` in paths are understood; `Crawl-delay` is read.

use std::time::Duration;

#[derive(Debug, Clone, Default, PartialEq)]
struct Group {
    agents: Vec<String>,
    /// (allow, pattern)
    rules: Vec<(bool, String)>,
    crawl_delay: Option<Duration>,
}

/// A parsed robots.txt.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Robots {
    groups: Vec<Group>,
    /// The server could not give its robots.txt (5xx, 429): RFC 9309 says
    /// to assume complete disallow. Why, when so.
    unreachable: Option<String>,
    /// Worth asking again soon (unreachable, or a network error).
    provisional: bool,
}

/// The verdict for one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Disallowed by this rule.
    Disallowed(String),
}

impl Robots {
    /// Everything allowed (no robots.txt: a 4xx answer).
    pub fn allow_all() -> Robots {
        Robots::default()
    }

    /// Everything allowed for now: robots.txt could not be fetched at all
    /// (the page's own fetch will say why); asked again soon.
    pub fn allow_for_now() -> Robots {
        Robots {
            provisional: true,
            ..Robots::default()
        }
    }

    /// Nothing allowed for now: the server failed to give its robots.txt
    /// (`why`: its status), RFC 9309 section 2.3.1.4; asked again soon.
    pub fn unreachable(why: String) -> Robots {
        Robots {
            unreachable: Some(why),
            provisional: true,
            ..Robots::default()
        }
    }

    /// Whether to ask again soon rather than keep this for a day.
    pub fn provisional(&self) -> bool {
        self.provisional
    }

    pub fn parse(text: &str) -> Robots {
        let mut groups: Vec<Group> = Vec::new();
        let mut current: Option<Group> = None;
        let mut last_was_agent = false;
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let key = key.trim().to_ascii_lowercase();
            let value = value.trim();
            match key.as_str() {
                "user-agent" => {
                    if !last_was_agent {
                        if let Some(g) = current.take() {
                            groups.push(g);
                        }
                        current = Some(Group::default());
                    }
                    if let Some(g) = current.as_mut() {
                        g.agents.push(value.to_ascii_lowercase());
                    }
                    last_was_agent = true;
                }
                "allow" | "disallow" => {
                    last_was_agent = false;
                    if let Some(g) = current.as_mut()
                        && !(key == "disallow" && value.is_empty())
                    {
                        g.rules.push((key == "allow", value.to_string()));
                    }
                }
                "crawl-delay" => {
                    last_was_agent = false;
                    if let Some(g) = current.as_mut()
                        && let Ok(secs) = value.parse::<f64>()
                        && secs.is_finite()
                        && secs >= 0.0
                    {
                        g.crawl_delay = Some(Duration::from_secs_f64(secs.min(3600.0)));
                    }
                }
                _ => last_was_agent = false,
            }
        }
        if let Some(g) = current {
            groups.push(g);
        }
        Robots {
            groups,
            ..Robots::default()
        }
    }

    /// The group that applies to `agent` (its product token, e.g. "redline").
    fn group(&self, agent: &str) -> Option<&Group> {
        let agent = agent.to_ascii_lowercase();
        self.groups
            .iter()
            .filter(|g| {
                g.agents
                    .iter()
                    .any(|a| a != "*" && agent.contains(a.as_str()))
            })
            .max_by_key(|g| g.agents.iter().map(String::len).max().unwrap_or(0))
            .or_else(|| {
                self.groups
                    .iter()
                    .find(|g| g.agents.iter().any(|a| a == "*"))
            })
    }

    /// May `agent` fetch `path` (path and query of the URL)?
    pub fn check(&self, agent: &str, path: &str) -> Verdict {
        if let Some(why) = &self.unreachable {
            return Verdict::Disallowed(format!(
                "it could not be read: {why}; until it can, nothing may be fetched (RFC 9309)"
            ));
        }
        let Some(g) = self.group(agent) else {
            return Verdict::Allowed;
        };
        let best = g
            .rules
            .iter()
            .filter(|(_, pat)| matches(pat, path))
            .max_by_key(|(allow, pat)| (pat.len(), *allow));
        match best {
            Some((false, pat)) => Verdict::Disallowed(format!("Disallow: {pat}")),
            _ => Verdict::Allowed,
        }
    }

    /// The Crawl-delay that applies to `agent`, if any.
    pub fn crawl_delay(&self, agent: &str) -> Option<Duration> {
        self.group(agent).and_then(|g| g.crawl_delay)
    }
}

/// robots.txt path matching: a prefix match where `*` matches any run of
/// characters and a trailing `$` anchors the end.
fn matches(pattern: &str, path: &str) -> bool {
    let (pattern, anchored) = match pattern.strip_suffix('$') {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    let parts: Vec<&str> = pattern.split('*').collect();
    let first = parts[0];
    if !path.starts_with(first) {
        return false;
    }
    let mut pos = first.len();
    if parts.len() == 1 {
        return !anchored || pos == path.len();
    }
    let rest = &parts[1..];
    for (i, part) in rest.iter().enumerate() {
        if anchored && i == rest.len() - 1 {
            return path.len() - pos >= part.len() && path[pos..].ends_with(part);
        }
        match path[pos..].find(part) {
            Some(j) => pos += j + part.len(),
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const TXT: &str = "# comment\nUser-agent: *\nDisallow: /private/\nAllow: /private/public\nDisallow: /*.pdf$\nCrawl-delay: 2\n\nUser-agent: redline\nUser-agent: otherbot\nDisallow: /no-redline\nCrawl-delay: 0.5\n\nUser-agent: badbot\nDisallow: /\n";

    #[test]
    fn specific_group_wins_over_star() {
        let r = Robots::parse(TXT);
        assert_eq!(
            r.check("redline/0.1.0 (web page change monitor)", "/no-redline/x"),
            Verdict::Disallowed("Disallow: /no-redline".into())
        );
        assert_eq!(
            r.check("redline/0.1.0", "/private/x"),
            Verdict::Allowed,
            "the redline group replaces *"
        );
        assert_eq!(
            r.crawl_delay("redline/0.1.0"),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            r.check("somebot", "/private/x"),
            Verdict::Disallowed("Disallow: /private/".into())
        );
        assert_eq!(r.check("somebot", "/private/public/page"), Verdict::Allowed);
        assert_eq!(r.crawl_delay("somebot"), Some(Duration::from_secs(2)));
        assert_eq!(
            r.check("badbot", "/anything"),
            Verdict::Disallowed("Disallow: /".into())
        );
    }

    #[test]
    fn wildcards_and_anchors() {
        assert!(matches("/*.pdf$", "/docs/a.pdf"));
        assert!(!matches("/*.pdf$", "/docs/a.pdf?x=1"));
        assert!(matches("/a*b", "/a/x/b/c"));
        assert!(!matches("/a*b", "/a/x/c"));
        assert!(matches("/", "/anything"));
        assert!(matches("/exact$", "/exact"));
        assert!(!matches("/exact$", "/exact/more"));
        let r = Robots::parse("User-agent: *\nDisallow: /*.pdf$\n");
        assert_eq!(
            r.check("x", "/a.pdf"),
            Verdict::Disallowed("Disallow: /*.pdf$".into())
        );
        assert_eq!(r.check("x", "/a.pdf.html"), Verdict::Allowed);
    }

    #[test]
    fn empty_or_garbage_allows_everything() {
        for txt in [
            "",
            "garbage\n\u{0}\nDisallow: /x\n",
            "User-agent: *\nDisallow:\n",
        ] {
            assert_eq!(
                Robots::parse(txt).check("redline", "/x"),
                Verdict::Allowed,
                "{txt:?}"
            );
        }
    }

    #[test]
    fn an_unreachable_robots_txt_allows_nothing_for_now() {
        let r = Robots::unreachable("HTTP 503".into());
        assert_eq!(
            r.check("redline", "/any/page"),
            Verdict::Disallowed(
                "it could not be read: HTTP 503; until it can, nothing may be fetched (RFC 9309)"
                    .into()
            )
        );
        assert!(r.provisional());
        assert_eq!(r.crawl_delay("redline"), None);
        // A missing one allows everything and is kept; a network failure
        // allows (the page's fetch reports it) but is asked again soon.
        assert!(!Robots::allow_all().provisional());
        assert!(Robots::allow_for_now().provisional());
        assert_eq!(
            Robots::allow_for_now().check("redline", "/x"),
            Verdict::Allowed
        );
        assert!(!Robots::parse("User-agent: *\nDisallow: /p\n").provisional());
    }
}
