//! `redline review`: unseen changes on the left, the selected diff on the
//! right. The state and its key handling are plain data; drawing goes to
//! any ratatui backend (the terminal, or a test buffer).

use super::terminal::{Style as TextStyle, render_changes, side_by_side};
use crate::store::ReportRow;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph, Wrap};

/// How the selected report's diff is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffView {
    Inline,
    SideBySide,
}

/// A key, as the review screen understands them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Up,
    Down,
    Enter,
    Esc,
    Tab,
    Backspace,
    Char(char),
}

/// What the caller should do after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    None,
    Quit,
    /// Record in the archive that this report was seen.
    MarkSeen(i64),
    /// Open this URL in a browser.
    Open(String),
}

/// The review screen's state.
pub struct Review {
    all: Vec<ReportRow>,
    /// Indexes into `all` that pass the filter and are unseen.
    visible: Vec<usize>,
    seen: Vec<bool>,
    pub selected: usize,
    pub view: DiffView,
    /// The filter (watch name or change kind) and whether it is being typed.
    pub filter: String,
    pub typing: bool,
    pub status: String,
}

impl Review {
    pub fn new(rows: Vec<ReportRow>) -> Review {
        let seen = vec![false; rows.len()];
        let mut r = Review {
            all: rows,
            visible: Vec::new(),
            seen,
            selected: 0,
            view: DiffView::Inline,
            filter: String::new(),
            typing: false,
            status: String::new(),
        };
        r.refilter();
        r
    }

    fn matches(&self, row: &ReportRow) -> bool {
        let f = self.filter.trim();
        if f.is_empty() {
            return true;
        }
        let wanted = [f.to_string()];
        row.watch.contains(f)
            || row
                .changes
                .iter()
                .any(|c| crate::notify::wanted(c, &wanted) || c.kind().starts_with(f))
    }

    fn refilter(&mut self) {
        self.visible = (0..self.all.len())
            .filter(|&i| !self.seen[i] && self.matches(&self.all[i]))
            .collect();
        self.selected = self.selected.min(self.visible.len().saturating_sub(1));
    }

    /// The report under the cursor.
    pub fn current(&self) -> Option<&ReportRow> {
        self.visible.get(self.selected).map(|&i| &self.all[i])
    }

    /// The watches of the listed reports, top to bottom.
    pub fn listed(&self) -> Vec<&str> {
        self.visible
            .iter()
            .map(|&i| self.all[i].watch.as_str())
            .collect()
    }

    pub fn handle(&mut self, key: Key) -> Action {
        if self.typing {
            match key {
                Key::Enter | Key::Esc => {
                    if key == Key::Esc {
                        self.filter.clear();
                    }
                    self.typing = false;
                    self.refilter();
                }
                Key::Backspace => {
                    self.filter.pop();
                }
                Key::Char(c) => self.filter.push(c),
                _ => {}
            }
            return Action::None;
        }
        match key {
            Key::Char('q') | Key::Esc => Action::Quit,
            Key::Down | Key::Char('j') => {
                if self.selected + 1 < self.visible.len() {
                    self.selected += 1;
                }
                Action::None
            }
            Key::Up | Key::Char('k') => {
                self.selected = self.selected.saturating_sub(1);
                Action::None
            }
            Key::Tab | Key::Char('v') => {
                self.view = match self.view {
                    DiffView::Inline => DiffView::SideBySide,
                    DiffView::SideBySide => DiffView::Inline,
                };
                Action::None
            }
            Key::Char('/') => {
                self.typing = true;
                self.filter.clear();
                Action::None
            }
            Key::Char('o') | Key::Enter => match self.current() {
                Some(r) => Action::Open(r.url.clone()),
                None => Action::None,
            },
            Key::Char(' ') | Key::Char('s') => {
                let Some(&i) = self.visible.get(self.selected) else {
                    return Action::None;
                };
                self.seen[i] = true;
                let id = self.all[i].id;
                self.status = format!("marked {} as seen", self.all[i].watch);
                self.refilter();
                Action::MarkSeen(id)
            }
            _ => Action::None,
        }
    }

    /// Draw the screen into `frame` (works down to 80×24).
    pub fn draw(&self, frame: &mut Frame) {
        let area = frame.area();
        let [main, footer] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(38), Constraint::Percentage(62)])
                .areas(main);

        let items: Vec<ListItem> = self
            .visible
            .iter()
            .map(|&i| {
                let r = &self.all[i];
                ListItem::new(vec![
                    Line::from(Span::styled(
                        r.watch.clone(),
                        Style::default().add_modifier(Modifier::BOLD),
                    )),
                    Line::from(format!("  {}", r.summary)),
                ])
            })
            .collect();
        let title = if self.filter.is_empty() {
            format!(" unseen changes ({}) ", self.visible.len())
        } else {
            format!(
                " unseen changes ({}) · {} ",
                self.visible.len(),
                self.filter
            )
        };
        let list = List::new(items)
            .block(Block::default().borders(Borders::ALL).title(title))
            .highlight_style(Style::default().add_modifier(Modifier::REVERSED))
            .highlight_symbol("> ");
        let mut state = ListState::default();
        if !self.visible.is_empty() {
            state.select(Some(self.selected));
        }
        frame.render_stateful_widget(list, left, &mut state);

        let plain = TextStyle { color: false };
        let (title, body) = match self.current() {
            None => (
                " diff ".to_string(),
                "Nothing to review: every change has been seen.".to_string(),
            ),
            Some(r) => {
                let width = right.width.saturating_sub(2) as usize;
                let diff = match self.view {
                    DiffView::Inline => render_changes(&r.changes, plain),
                    DiffView::SideBySide => side_by_side(&r.changes, width.max(40), plain),
                };
                (
                    format!(
                        " {} · v{} · {} ",
                        r.watch,
                        r.version.unwrap_or(0),
                        r.created_at
                    ),
                    format!("{}\n{}\n\n{diff}", r.url, r.summary),
                )
            }
        };
        let para = Paragraph::new(body)
            .block(Block::default().borders(Borders::ALL).title(title))
            .wrap(Wrap { trim: false });
        frame.render_widget(para, right);

        let help = if self.typing {
            format!(
                "filter (watch or kind): {}▏ Enter apply · Esc clear",
                self.filter
            )
        } else if !self.status.is_empty() {
            format!(
                "{} · j/k move · space seen · o open · v view · / filter · q quit",
                self.status
            )
        } else {
            "j/k move · space seen · o open · v inline/side-by-side · / filter · q quit".to_string()
        };
        frame.render_widget(Paragraph::new(help), footer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Change;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn row(id: i64, watch: &str, changes: Vec<Change>) -> ReportRow {
        ReportRow {
            id,
            watch: watch.into(),
            url: format!("https://example.gov/{watch}"),
            created_at: "2026-11-29T10:00:00.000Z".into(),
            version: Some(2),
            summary: crate::summary::summarize(&changes),
            significance: Some("major".into()),
            changes,
        }
    }

    fn sample() -> Review {
        Review::new(vec![
            row(
                3,
                "car-support",
                vec![Change::TextEdited {
                    block: 8,
                    old_block: 8,
                    before: "providing $40 million".into(),
                    after: "providing $60 million".into(),
                }],
            ),
            row(
                2,
                "briefing",
                vec![Change::TitleChanged {
                    before: Some("A".into()),
                    after: Some("B".into()),
                }],
            ),
            row(
                1,
                "blog",
                vec![Change::TextAdded {
                    block: 1,
                    text: "New paragraph.".into(),
                }],
            ),
        ])
    }

    fn screen(r: &Review) -> String {
        let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
        t.draw(|f| r.draw(f)).unwrap();
        let buf = t.backend().buffer().clone();
        let mut s = String::new();
        for y in 0..buf.area.height {
            for x in 0..buf.area.width {
                s.push_str(buf[(x, y)].symbol());
            }
            s.push('\n');
        }
        s
    }

    #[test]
    fn renders_list_and_diff_in_80_by_24() {
        let r = sample();
        let s = screen(&r);
        assert!(s.contains("unseen changes (3)"), "{s}");
        assert!(s.contains("> car-support"), "{s}");
        assert!(s.contains("[-$40-]{+$60+}"), "{s}");
        assert!(s.contains("j/k move"), "{s}");
        assert_eq!(s.lines().count(), 24);
        assert!(s.lines().all(|l| l.chars().count() == 80));
    }

    #[test]
    fn keys_move_mark_filter_switch_and_open() {
        let mut r = sample();
        assert_eq!(r.handle(Key::Char('j')), Action::None);
        assert_eq!(r.current().unwrap().watch, "briefing");
        assert_eq!(r.handle(Key::Down), Action::None);
        assert_eq!(r.handle(Key::Down), Action::None, "stays on the last");
        assert_eq!(r.current().unwrap().watch, "blog");
        assert_eq!(r.handle(Key::Up), Action::None);
        assert_eq!(r.handle(Key::Char(' ')), Action::MarkSeen(2));
        assert_eq!(r.listed(), vec!["car-support", "blog"]);
        assert!(screen(&r).contains("marked briefing as seen"));
        assert_eq!(
            r.handle(Key::Char('o')),
            Action::Open("https://example.gov/blog".into())
        );

        r.handle(Key::Char('v'));
        assert_eq!(r.view, DiffView::SideBySide);
        assert!(screen(&r).contains("before"), "side-by-side shows columns");

        r.handle(Key::Char('/'));
        for c in "car".chars() {
            r.handle(Key::Char(c));
        }
        assert!(screen(&r).contains("filter (watch or kind): car"));
        r.handle(Key::Enter);
        assert_eq!(r.listed(), vec!["car-support"]);
        r.handle(Key::Char('/'));
        for c in "text".chars() {
            r.handle(Key::Char(c));
        }
        r.handle(Key::Enter);
        assert_eq!(r.listed(), vec!["car-support", "blog"], "filter by kind");
        r.handle(Key::Char('/'));
        r.handle(Key::Esc);
        assert_eq!(r.listed().len(), 2);
        assert_eq!(r.handle(Key::Char('q')), Action::Quit);
    }

    #[test]
    fn empty_review_says_so() {
        let r = Review::new(vec![]);
        assert!(screen(&r).contains("Nothing to review"));
    }
}
