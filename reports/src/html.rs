//! The self-contained HTML report: configuration, data summary, metric tables, the figures
//! (embedded as PNG data URIs) and the learned dependencies that are not calls.

use std::path::{Path, PathBuf};

use base64::Engine;

use crate::error::Result;
use crate::figure::{Rendered, write_atomic};

/// A table of text cells.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Caption above the table.
    pub caption: String,
    /// Column names.
    pub header: Vec<String>,
    /// Rows; each as long as `header`.
    pub rows: Vec<Vec<String>>,
}

/// A rendered figure with its text.
#[derive(Debug, Clone)]
pub struct FigureEntry {
    /// Heading.
    pub title: String,
    /// What the figure shows and how to read it.
    pub caption: String,
    /// The PNG and SVG.
    pub rendered: Rendered,
}

/// Everything the report shows. Sections: `configuration`, `data`, `metrics`, `figures`,
/// `dependencies` (each an element id in the HTML).
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Page title.
    pub title: String,
    /// One line under the title (what was run, when).
    pub subtitle: String,
    /// Settings of the run, as (name, value).
    pub configuration: Vec<(String, String)>,
    /// Summary of the telemetry, as (name, value).
    pub data: Vec<(String, String)>,
    /// Metric tables.
    pub metrics: Vec<Table>,
    /// Figures, in order.
    pub figures: Vec<FigureEntry>,
    /// Learned dependencies that are not calls.
    pub latent: Table,
    /// Dependency-capture scores (Jaccard, F1 against a truth), if computed.
    pub capture: Option<Table>,
    /// Remarks (warnings of the run, what was left out).
    pub notes: Vec<String>,
    /// Scalers driven by the model against others (the demo's last stage), shown first
    /// when present, with a paragraph saying what ran.
    pub scaling: Option<(String, Table)>,
}

/// Element ids of the report's sections, in order.
pub const SECTIONS: [&str; 5] = [
    "configuration",
    "data",
    "metrics",
    "figures",
    "dependencies",
];

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1200px;padding:1.5em;color:#1e1e1e;line-height:1.45}\
h1{margin-bottom:.1em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}\
.sub{color:#666;margin-top:0}nav a{margin-right:1em}\
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left}\
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}caption{text-align:left;font-weight:600;padding:.3em 0}\
figure{margin:1em 0 2em}figure img{max-width:100%;height:auto;border:1px solid #eee}figcaption{color:#444;max-width:80em}\
.note{background:#fff8e1;border-left:4px solid #e6a700;padding:.4em .8em;margin:.5em 0}";

fn kv_table(rows: &[(String, String)]) -> String {
    let mut out = String::from("<table>\n");
    for (k, v) in rows {
        out.push_str(&format!(
            "<tr><th>{}</th><td>{}</td></tr>\n",
            escape(k),
            escape(v)
        ));
    }
    out.push_str("</table>\n");
    out
}

fn numeric(s: &str) -> bool {
    !s.is_empty() && s.parse::<f64>().is_ok()
}

fn table(t: &Table) -> String {
    let mut out = String::from("<table>\n");
    if !t.caption.is_empty() {
        out.push_str(&format!("<caption>{}</caption>\n", escape(&t.caption)));
    }
    out.push_str("<tr>");
    for h in &t.header {
        out.push_str(&format!("<th>{}</th>", escape(h)));
    }
    out.push_str("</tr>\n");
    for r in &t.rows {
        out.push_str("<tr>");
        for c in r {
            let class = if numeric(c) { " class=\"n\"" } else { "" };
            out.push_str(&format!("<td{class}>{}</td>", escape(c)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    out
}

/// One section of a [`Page`]: a heading, an introduction, settings, tables and figures,
/// in that order.
#[derive(Debug, Clone, Default)]
pub struct Section {
    /// Element id (`table`, `figures`).
    pub id: String,
    /// Heading.
    pub heading: String,
    /// Paragraph under the heading (empty for none).
    pub intro: String,
    /// (name, value) rows.
    pub settings: Vec<(String, String)>,
    /// Tables.
    pub tables: Vec<Table>,
    /// Figures.
    pub figures: Vec<FigureEntry>,
}

/// A self-contained HTML page of free sections (the scaler evaluation's), in the style of
/// [`Report`].
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// Page title.
    pub title: String,
    /// One line under the title.
    pub subtitle: String,
    /// Remarks shown above the sections.
    pub notes: Vec<String>,
    /// The sections, in order (the navigation links them).
    pub sections: Vec<Section>,
}

fn figure_html(f: &FigureEntry) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let (w, hgt) = f.rendered.size;
    format!(
        "<figure id=\"fig-{stem}\">\n<h3>{title}</h3>\n<img alt=\"{title}\" width=\"{w}\" height=\"{hgt}\" src=\"data:image/png;base64,{data}\">\n<figcaption>{caption}</figcaption>\n</figure>\n",
        stem = escape(&f.rendered.stem),
        title = escape(&f.title),
        data = b64.encode(&f.rendered.png),
        caption = escape(&f.caption),
    )
}

impl Page {
    /// The page as one HTML document (images as PNG data URIs).
    pub fn to_html(&self) -> String {
        let mut h = String::new();
        h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        h.push_str(&format!("<title>{}</title>\n", escape(&self.title)));
        h.push_str(&format!("<style>{CSS}</style>\n</head>\n<body>\n"));
        h.push_str(&format!(
            "<h1>{}</h1>\n<p class=\"sub\">{}</p>\n<nav>",
            escape(&self.title),
            escape(&self.subtitle)
        ));
        for s in &self.sections {
            h.push_str(&format!(
                "<a href=\"#{}\">{}</a>",
                escape(&s.id),
                escape(&s.heading)
            ));
        }
        h.push_str("</nav>\n");
        for n in &self.notes {
            h.push_str(&format!("<p class=\"note\">{}</p>\n", escape(n)));
        }
        for s in &self.sections {
            h.push_str(&format!(
                "<section id=\"{}\">\n<h2>{}</h2>\n",
                escape(&s.id),
                escape(&s.heading)
            ));
            if !s.intro.is_empty() {
                h.push_str(&format!("<p>{}</p>\n", escape(&s.intro)));
            }
            if !s.settings.is_empty() {
                h.push_str(&kv_table(&s.settings));
            }
            for t in &s.tables {
                h.push_str(&table(t));
            }
            for f in &s.figures {
                h.push_str(&figure_html(f));
            }
            h.push_str("</section>\n");
        }
        h.push_str("</body>\n</html>\n");
        h
    }
}

impl Report {
    /// The report as one HTML document; images are PNG data URIs, so the file needs no
    /// network and no other file.
    pub fn to_html(&self) -> String {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut h = String::new();
        h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        h.push_str(&format!("<title>{}</title>\n", escape(&self.title)));
        h.push_str(&format!("<style>{CSS}</style>\n</head>\n<body>\n"));
        h.push_str(&format!(
            "<h1>{}</h1>\n<p class=\"sub\">{}</p>\n",
            escape(&self.title),
            escape(&self.subtitle)
        ));
        h.push_str("<nav>");
        if self.scaling.is_some() {
            h.push_str("<a href=\"#scaling\">Scaling</a>");
        }
        h.push_str("<a href=\"#configuration\">Configuration</a><a href=\"#data\">Data</a><a href=\"#metrics\">Metrics</a><a href=\"#figures\">Figures</a><a href=\"#dependencies\">Dependencies</a></nav>\n");
        for n in &self.notes {
            h.push_str(&format!("<p class=\"note\">{}</p>\n", escape(n)));
        }
        if let Some((intro, t)) = &self.scaling {
            h.push_str("<section id=\"scaling\">\n<h2>Scaling</h2>\n");
            h.push_str(&format!("<p>{}</p>\n", escape(intro)));
            h.push_str(&table(t));
            h.push_str("</section>\n");
        }
        h.push_str("<section id=\"configuration\">\n<h2>Configuration</h2>\n<p>The settings the model was trained with and the options of this report.</p>\n");
        h.push_str(&kv_table(&self.configuration));
        h.push_str("</section>\n<section id=\"data\">\n<h2>Data</h2>\n<p>The telemetry the report evaluates on.</p>\n");
        h.push_str(&kv_table(&self.data));
        h.push_str("</section>\n<section id=\"metrics\">\n<h2>Metrics</h2>\n<p>Errors on the test split, every model on the same windows: MAE and RMSE where the truth is non-zero, MAPE (%) where it exceeds 0.5.</p>\n");
        for t in &self.metrics {
            h.push_str(&table(t));
        }
        h.push_str("</section>\n<section id=\"figures\">\n<h2>Figures</h2>\n");
        for f in &self.figures {
            let (w, hgt) = f.rendered.size;
            h.push_str(&format!(
                "<figure id=\"fig-{stem}\">\n<h3>{title}</h3>\n<img alt=\"{title}\" width=\"{w}\" height=\"{hgt}\" src=\"data:image/png;base64,{data}\">\n<figcaption>{caption} (Also as <code>{stem}.svg</code> and <code>{stem}.png</code> beside this file.)</figcaption>\n</figure>\n",
                stem = escape(&f.rendered.stem),
                title = escape(&f.title),
                data = b64.encode(&f.rendered.png),
                caption = escape(&f.caption),
            ));
        }
        h.push_str("</section>\n<section id=\"dependencies\">\n<h2>Dependencies</h2>\n<h3>Latent dependencies found</h3>\n<p>Edges of the learned affinity between services that do not call each other, strongest first.</p>\n");
        if self.latent.rows.is_empty() {
            h.push_str("<p>The learned graph has no edge that is not a call.</p>\n");
        } else {
            h.push_str(&table(&self.latent));
        }
        if let Some(c) = &self.capture {
            h.push_str("<h3>Dependency capture</h3>\n");
            h.push_str(&table(c));
        }
        h.push_str("</section>\n</body>\n</html>\n");
        h
    }

    /// Writes `report.html` and every figure as PNG and SVG into `dir` (created if needed);
    /// returns the path of the HTML file. Each file goes through a temporary file renamed
    /// into place.
    pub fn write(&self, dir: &Path) -> Result<PathBuf> {
        std::fs::create_dir_all(dir).map_err(|source| crate::Error::Io {
            path: dir.to_path_buf(),
            action: "create directory",
            source,
        })?;
        for f in &self.figures {
            f.rendered.write(dir)?;
        }
        let path = dir.join("report.html");
        write_atomic(&path, self.to_html().as_bytes())?;
        Ok(path)
    }
}

#[cfg(test)]
mod page_tests {
    use super::*;

    #[test]
    fn a_page_holds_its_sections_in_order_and_escapes_text() {
        let page = Page {
            title: "Scalers on <shop>".into(),
            subtitle: "one day".into(),
            notes: vec!["oracle & co".into()],
            sections: vec![
                Section {
                    id: "table".into(),
                    heading: "Table".into(),
                    tables: vec![Table {
                        caption: "c".into(),
                        header: vec!["scaler".into(), "violations %".into()],
                        rows: vec![vec!["hpa".into(), "1.5".into()]],
                    }],
                    ..Section::default()
                },
                Section {
                    id: "settings".into(),
                    heading: "Settings".into(),
                    intro: "what ran".into(),
                    settings: vec![("interval".into(), "15 s".into())],
                    ..Section::default()
                },
            ],
        };
        let html = page.to_html();
        assert!(html.contains("<title>Scalers on &lt;shop&gt;</title>"));
        assert!(html.contains("oracle &amp; co"));
        let (t, s) = (
            html.find("id=\"table\"").unwrap(),
            html.find("id=\"settings\"").unwrap(),
        );
        assert!(t < s, "sections keep their order");
        assert!(html.contains("<a href=\"#table\">Table</a><a href=\"#settings\">Settings</a>"));
        assert!(html.contains("<td class=\"n\">1.5</td>"));
        assert!(html.contains("<th>interval</th><td>15 s</td>"));
    }
}
