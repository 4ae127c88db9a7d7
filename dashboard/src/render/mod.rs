//! A small document model that every report builds once and renders three ways: Markdown,
//! self-contained HTML (inline SVG, inline CSS, no script, no network) and, through serde, JSON.
//!
//! Every string that can come from a plugin or a user (component names, parameter values,
//! error messages) passes through [`escape_html`] or [`escape_md`] here, and nowhere else
//! produces markup.

use std::collections::BTreeMap;

/// One block of a report.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A heading of level 2 or 3 (level 1 is the title).
    Heading(u8, String),
    /// A paragraph of plain text.
    Para(String),
    /// A bulleted list of plain-text items.
    List(Vec<String>),
    /// A table; every row has as many cells as the header.
    Table {
        /// Column headings.
        header: Vec<String>,
        /// Rows of cells.
        rows: Vec<Vec<String>>,
    },
    /// A chart, by its key in the chart set (the SVG file is `<key>.svg`).
    Chart {
        /// The chart key.
        key: String,
        /// Caption.
        caption: String,
    },
    /// A link to another report, by its file stem (`usage_report` → `usage_report.md|html`).
    Link {
        /// Text shown.
        text: String,
        /// File stem.
        stem: String,
    },
}

/// A rendered-once report document.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Doc {
    /// Title (level-1 heading).
    pub title: String,
    /// Body blocks.
    pub blocks: Vec<Block>,
}

impl Doc {
    /// A document with a title.
    pub fn new(title: impl Into<String>) -> Doc {
        Doc {
            title: title.into(),
            blocks: Vec::new(),
        }
    }

    /// Adds a level-2 heading.
    pub fn h2(&mut self, t: impl Into<String>) {
        self.blocks.push(Block::Heading(2, t.into()));
    }

    /// Adds a level-3 heading.
    pub fn h3(&mut self, t: impl Into<String>) {
        self.blocks.push(Block::Heading(3, t.into()));
    }

    /// Adds a paragraph.
    pub fn para(&mut self, t: impl Into<String>) {
        self.blocks.push(Block::Para(t.into()));
    }

    /// Adds a list.
    pub fn list(&mut self, items: Vec<String>) {
        self.blocks.push(Block::List(items));
    }

    /// Adds a table, or `empty` as a paragraph when there are no rows.
    pub fn table(&mut self, header: &[&str], rows: Vec<Vec<String>>, empty: &str) {
        if rows.is_empty() {
            if !empty.is_empty() {
                self.para(empty);
            }
        } else {
            self.blocks.push(Block::Table {
                header: header.iter().map(|s| s.to_string()).collect(),
                rows,
            });
        }
    }

    /// Adds a chart reference.
    pub fn chart(&mut self, key: &str, caption: &str) {
        self.blocks.push(Block::Chart {
            key: key.to_string(),
            caption: caption.to_string(),
        });
    }

    /// Markdown; charts become image links to `<chart_dir>/<key>.svg`.
    pub fn to_markdown(&self, chart_dir: &str) -> String {
        let mut out = format!("# {}\n\n", escape_md(&self.title));
        for b in &self.blocks {
            match b {
                Block::Heading(l, t) => out.push_str(&format!(
                    "{} {}\n\n",
                    "#".repeat(usize::from(*l)),
                    escape_md(t)
                )),
                Block::Para(t) => out.push_str(&format!("{}\n\n", escape_md(t))),
                Block::List(items) => {
                    for i in items {
                        out.push_str(&format!("- {}\n", escape_md(i)));
                    }
                    out.push('\n');
                }
                Block::Table { header, rows } => {
                    let cells = |r: &[String]| {
                        r.iter()
                            .map(|c| escape_md(c).replace('|', "\\|"))
                            .collect::<Vec<_>>()
                            .join(" | ")
                    };
                    out.push_str(&format!("| {} |\n", cells(header)));
                    out.push_str(&format!("|{}\n", " --- |".repeat(header.len())));
                    for r in rows {
                        out.push_str(&format!("| {} |\n", cells(r)));
                    }
                    out.push('\n');
                }
                Block::Chart { key, caption } => out.push_str(&format!(
                    "![{}]({chart_dir}/{key}.svg)\n\n",
                    escape_md(caption)
                )),
                Block::Link { text, stem } => {
                    out.push_str(&format!("- [{}]({stem}.md)\n\n", escape_md(text)))
                }
            }
        }
        out
    }

    /// The HTML body fragment; charts are inlined from `charts` (missing ones are skipped).
    pub fn to_html_fragment(&self, charts: &BTreeMap<String, String>) -> String {
        let mut out = format!("<h1>{}</h1>\n", escape_html(&self.title));
        for b in &self.blocks {
            match b {
                Block::Heading(l, t) => out.push_str(&format!("<h{l}>{}</h{l}>\n", escape_html(t))),
                Block::Para(t) => out.push_str(&format!("<p>{}</p>\n", escape_html(t))),
                Block::List(items) => {
                    out.push_str("<ul>\n");
                    for i in items {
                        out.push_str(&format!("<li>{}</li>\n", escape_html(i)));
                    }
                    out.push_str("</ul>\n");
                }
                Block::Table { header, rows } => {
                    out.push_str("<table>\n<thead><tr>");
                    for h in header {
                        out.push_str(&format!("<th>{}</th>", escape_html(h)));
                    }
                    out.push_str("</tr></thead>\n<tbody>\n");
                    for r in rows {
                        out.push_str("<tr>");
                        for c in r {
                            out.push_str(&format!("<td>{}</td>", escape_html(c)));
                        }
                        out.push_str("</tr>\n");
                    }
                    out.push_str("</tbody>\n</table>\n");
                }
                Block::Chart { key, caption } => {
                    if let Some(svg) = charts.get(key) {
                        out.push_str(&format!(
                            "<figure>{svg}<figcaption>{}</figcaption></figure>\n",
                            escape_html(caption)
                        ));
                    }
                }
                Block::Link { text, stem } => out.push_str(&format!(
                    "<p><a href=\"{}.html\">{}</a></p>\n",
                    escape_html(stem),
                    escape_html(text)
                )),
            }
        }
        out
    }
}

/// A whole self-contained HTML page around body fragments.
pub fn html_page(title: &str, fragments: &[String]) -> String {
    let mut out = String::with_capacity(fragments.iter().map(String::len).sum::<usize>() + 2048);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    // A content security policy that forbids every fetch and script: the page is readable
    // offline by construction, and injected markup could not run even if escaping failed.
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; img-src data:\">\n",
    );
    out.push_str(&format!(
        "<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        escape_html(title)
    ));
    for f in fragments {
        out.push_str("<section>\n");
        out.push_str(f);
        out.push_str("</section>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

const CSS: &str = "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;\
color:#222}table{border-collapse:collapse;margin:1em 0;font-size:0.9em}th,td{border:1px solid \
#ccc;padding:0.25em 0.5em;text-align:left}th{background:#f3f3f3}figure{margin:1em 0}\
figcaption{font-size:0.85em;color:#555}section{border-bottom:2px solid #ddd;padding-bottom:1em}";

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Escapes text for Markdown: characters that would start markup (`<`, `>`, `&`, emphasis,
/// code, links) are neutralised, and newlines become spaces so a cell stays on its line.
pub fn escape_md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_script_names_in_every_block() {
        let evil = "<script>alert(1)</script>";
        let mut d = Doc::new(evil);
        d.h2(evil);
        d.para(evil);
        d.list(vec![evil.into()]);
        d.table(&["name"], vec![vec![evil.into()]], "none");
        let html = html_page(evil, &[d.to_html_fragment(&BTreeMap::new())]);
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }

    #[test]
    fn markdown_escapes_markup_and_pipes() {
        let mut d = Doc::new("t");
        d.table(&["a"], vec![vec!["x|<b>_y_".into()]], "none");
        let md = d.to_markdown("charts");
        assert!(md.contains("x\\|&lt;b&gt;\\_y\\_"), "{md}");
        assert!(!md.contains("<b>"));
    }

    #[test]
    fn empty_table_becomes_its_message() {
        let mut d = Doc::new("t");
        d.table(&["a"], vec![], "No calls in this period.");
        assert!(d.to_markdown("c").contains("No calls in this period."));
    }
}
