//! Every figure renders from a small fixture: the PNG has the figure's size and is not blank,
//! the SVG parses and names the services; the HTML report has every section and figure.

use std::path::PathBuf;

use holoscale_reports::{
    DependencyGraph, EdgeKind, EpochPoint, ErrorBars, Figure, Heatmaps, IterationPoint, Matrix,
    Placement, Predictions, Rendered, Report, ServiceSeries, Table, TrainingCurves, to_png, to_svg,
};
use ndarray::Array2;

const SERVICES: [&str; 5] = [
    "frontend",
    "cartservice",
    "checkoutservice",
    "paymentservice",
    "emailservice",
];

fn services() -> Vec<String> {
    SERVICES.iter().map(|s| s.to_string()).collect()
}

/// Where rendered fixtures go: `HOLOSCALE_FIGURE_DIR` to look at them, else a temp dir.
fn out_dir() -> (PathBuf, Option<tempfile::TempDir>) {
    match std::env::var_os("HOLOSCALE_FIGURE_DIR") {
        Some(d) => {
            std::fs::create_dir_all(&d).unwrap();
            (PathBuf::from(d), None)
        }
        None => {
            let t = tempfile::tempdir().unwrap();
            (t.path().to_path_buf(), Some(t))
        }
    }
}

struct Pixels {
    width: u32,
    height: u32,
    non_white: f64,
    colours: usize,
}

fn decode(png_bytes: &[u8]) -> Pixels {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let px: Vec<[u8; 3]> = buf[..info.buffer_size()]
        .chunks(3)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    let non_white = px.iter().filter(|p| **p != [255, 255, 255]).count() as f64 / px.len() as f64;
    let mut colours: Vec<[u8; 3]> = px.clone();
    colours.sort_unstable();
    colours.dedup();
    Pixels {
        width: info.width,
        height: info.height,
        non_white,
        colours: colours.len(),
    }
}

/// Renders `fig`, checks the PNG and the SVG, writes both, returns the SVG.
fn check<F: Figure>(fig: &F, stem: &str, names: &[&str]) -> String {
    let png = to_png(fig).unwrap();
    let p = decode(&png);
    assert_eq!((p.width, p.height), fig.size(), "{stem}: PNG size");
    assert!(
        p.non_white > 0.01 && p.non_white < 0.9,
        "{stem}: {:.3} of the pixels are not white",
        p.non_white
    );
    assert!(p.colours > 20, "{stem}: only {} colours", p.colours);
    let svg = to_svg(fig).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let text: String = doc
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join("\n");
    for name in names {
        assert!(text.contains(name), "{stem}: SVG text lacks `{name}`");
    }
    let (dir, _keep) = out_dir();
    Rendered::of(fig, stem).unwrap().write(&dir).unwrap();
    svg
}

fn ring(n: usize, shift: usize) -> Array2<f64> {
    Array2::from_shape_fn((n, n), |(i, j)| {
        if i == j {
            0.5
        } else if (i + shift) % n == j || (j + shift) % n == i {
            0.3 + 0.1 * i as f64
        } else {
            0.0
        }
    })
}

#[test]
fn heatmaps_render_with_names() {
    let fig = Heatmaps {
        panels: ["invocation", "OD", "CC", "learned"]
            .iter()
            .enumerate()
            .map(|(k, t)| Matrix {
                title: t.to_string(),
                services: services(),
                values: ring(5, k + 1),
            })
            .collect(),
    };
    check(&fig, "heatmaps", &SERVICES);
    // Two columns of panels, two rows.
    let (w, h) = fig.size();
    assert!(w > h / 2, "{w}x{h}");
}

#[test]
fn heatmaps_refuse_mismatched_panels() {
    let fig = Heatmaps {
        panels: vec![Matrix {
            title: "learned".into(),
            services: services(),
            values: Array2::zeros((4, 4)),
        }],
    };
    let e = to_png(&fig).unwrap_err().to_string();
    assert!(e.contains("learned") && e.contains("5x5"), "{e}");
}

fn fixture_graph() -> DependencyGraph {
    // frontend → cart, frontend → checkout, checkout → payment; learned keeps two calls,
    // adds checkout–email (planted latent) and cart–payment (not planted); the planted
    // frontend–email is missed.
    let mut learned = Array2::zeros((5, 5));
    for (a, b, w) in [(0, 1, 0.4), (0, 2, 0.2), (2, 4, 0.8), (1, 3, 0.1)] {
        learned[[a, b]] = w;
        learned[[b, a]] = w / 2.0;
    }
    DependencyGraph {
        services: services(),
        calls: vec![(0, 1), (0, 2), (2, 3)],
        learned: Some(learned),
        latent: vec![(4, 2), (0, 4)],
        max_learned: 10,
        placement: Placement::Auto,
    }
}

#[test]
fn graph_edges_have_the_right_kinds_and_weights() {
    let g = fixture_graph();
    let edges = g.edges();
    let find = |a: usize, b: usize| {
        edges
            .iter()
            .find(|e| (e.a, e.b) == (a, b) || (e.a, e.b) == (b, a))
            .unwrap_or_else(|| panic!("no edge {a}-{b}"))
    };
    assert_eq!(find(0, 1).kind, EdgeKind::Call);
    assert!((find(0, 1).weight - 0.5).abs() < 1e-12); // 0.4 / 0.8
    assert_eq!(find(2, 3).kind, EdgeKind::CallDropped);
    assert_eq!(find(2, 3).weight, 0.0);
    assert_eq!(find(2, 4).kind, EdgeKind::LatentFound);
    assert_eq!(find(2, 4).weight, 1.0);
    assert_eq!(find(1, 3).kind, EdgeKind::Learned);
    assert!((find(1, 3).weight - 0.125).abs() < 1e-12);
    assert_eq!(find(0, 4).kind, EdgeKind::LatentMissed);
    assert_eq!(edges.len(), 6);
    // With at most zero plain learned edges, cart–payment goes, the planted one stays.
    let g0 = DependencyGraph {
        max_learned: 0,
        ..fixture_graph()
    };
    assert!(g0.edges().iter().all(|e| e.kind != EdgeKind::Learned));
    assert!(g0.edges().iter().any(|e| e.kind == EdgeKind::LatentFound));
}

#[test]
fn call_depths_follow_the_calls() {
    let g = fixture_graph();
    assert_eq!(g.depths(), vec![Some(0), Some(1), Some(1), Some(2), None]);
    // A cycle without an entry still gets depths.
    let c = DependencyGraph {
        calls: vec![(1, 2), (2, 1), (2, 3)],
        ..fixture_graph()
    };
    assert_eq!(c.depths(), vec![None, Some(1), Some(0), Some(1), None]);
    // The longest path counts: frontend → cart → payment and frontend → payment put
    // payment at depth 2, so no call runs within a column.
    let l = DependencyGraph {
        calls: vec![(0, 1), (1, 3), (0, 3)],
        ..fixture_graph()
    };
    assert_eq!(l.depths(), vec![Some(0), Some(1), None, Some(2), None]);
}

#[test]
fn graph_renders_layered_and_on_a_circle() {
    let g = fixture_graph();
    check(&g, "graph", &SERVICES);
    let circle = DependencyGraph {
        placement: Placement::Circle,
        ..fixture_graph()
    };
    check(&circle, "graph-circle", &SERVICES);
    assert_ne!(g.size(), circle.size());
}

#[test]
fn graph_of_fifty_services_stays_legible() {
    // 50 services in a tree of fan-out 7: every label box must not overlap another one.
    let services: Vec<String> = (0..50).map(|i| format!("service-number-{i:02}")).collect();
    let calls: Vec<(usize, usize)> = (1..50).map(|i| ((i - 1) / 7, i)).collect();
    let g = DependencyGraph {
        services,
        calls,
        learned: None,
        latent: vec![],
        max_learned: 0,
        placement: Placement::Auto,
    };
    let names: Vec<String> = (0..50).map(|i| format!("service-number-{i:02}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let svg = check(&g, "graph-50", &refs);
    assert_no_label_overlap(&svg, "service-number");
    let layered = DependencyGraph {
        placement: Placement::Layered,
        ..g
    };
    let svg = check(&layered, "graph-50-layered", &refs);
    assert_no_label_overlap(&svg, "service-number");
}

/// No two labels starting with `prefix` overlap (boxes from the SVG text position, anchor,
/// and a generous 0.6 em per character).
fn assert_no_label_overlap(svg: &str, prefix: &str) {
    let doc = roxmltree::Document::parse(svg).unwrap();
    let boxes: Vec<(f64, f64, f64, f64)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter(|n| n.text().is_some_and(|t| t.trim().starts_with(prefix)))
        .map(|n| {
            let num = |a: &str| n.attribute(a).unwrap().parse::<f64>().unwrap();
            let (x, y, size) = (num("x"), num("y"), num("font-size"));
            let w = n.text().unwrap().trim().chars().count() as f64 * 0.6 * size;
            let x0 = if n.attribute("text-anchor") == Some("end") {
                x - w
            } else {
                x
            };
            (x0, x0 + w, y - size / 2.0, y + size / 2.0)
        })
        .collect();
    assert_eq!(boxes.len(), 50);
    for (i, a) in boxes.iter().enumerate() {
        for b in &boxes[i + 1..] {
            let overlap = a.0 < b.1 && b.0 < a.1 && a.2 < b.3 && b.2 < a.3;
            assert!(!overlap, "labels overlap: {a:?} {b:?}");
        }
    }
}

#[test]
fn predictions_render_small_multiples() {
    let series = SERVICES
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let hours: Vec<f64> = (0..120).map(|t| 40.0 + t as f64 / 120.0).collect();
            let actual: Vec<f64> = hours
                .iter()
                .map(|h| 2.0 + k as f64 + (h * 6.0).sin())
                .collect();
            let predicted: Vec<f64> = actual.iter().map(|a| a + 0.3).collect();
            let replicas = predicted.iter().map(|p| p.round()).collect();
            ServiceSeries {
                service: s.to_string(),
                hours,
                actual,
                predicted,
                replicas,
            }
        })
        .collect();
    let fig = Predictions {
        target: "optimal_replicas".into(),
        model: "stgcn".into(),
        series,
    };
    check(&fig, "predictions", &SERVICES);
    assert_eq!(fig.size(), (4 * 330, 58 + 2 * 190));
}

#[test]
fn curves_render_with_and_without_em() {
    let epochs: Vec<EpochPoint> = (1..=12)
        .map(|e| EpochPoint {
            epoch: e,
            train_loss: 1.0 / e as f64,
            val_loss: 1.2 / e as f64 + 0.05,
            val_mae: 0.5 / e as f64 + 0.1,
        })
        .collect();
    let iterations = (1..=4)
        .map(|i| IterationPoint {
            iteration: i,
            val_mae: 0.3 / i as f64,
            set_losses: (0..i.min(3)).map(|k| 0.2 + 0.05 * k as f64).collect(),
            edges: 14 + i,
            new_edges: i,
        })
        .collect();
    let plain = TrainingCurves {
        target: "optimal_replicas".into(),
        epochs: epochs.clone(),
        iterations: vec![],
    };
    check(&plain, "curves", &["training", "validation"]);
    let em = TrainingCurves {
        iterations,
        ..plain.clone()
    };
    check(&em, "curves-em", &["set member", "new edges"]);
    assert_eq!(em.size().1, 2 * plain.size().1);
}

#[test]
fn error_bars_render() {
    let models = vec!["stgcn".to_string(), "persistence".into(), "gru".into()];
    let mut groups = vec!["all".to_string()];
    groups.extend(services());
    let values = Array2::from_shape_fn((3, 6), |(m, g)| 0.1 + 0.05 * m as f64 + 0.02 * g as f64);
    let mut fig = ErrorBars {
        metric: "MAE".into(),
        target: "optimal_replicas".into(),
        models,
        groups,
        values,
    };
    fig.values[[2, 3]] = f64::NAN;
    check(&fig, "errors", &SERVICES);
    let svg = to_svg(&fig).unwrap();
    assert!(svg.contains("n/a"));
}

#[test]
fn html_report_has_every_section_and_figure() {
    let fig = |stem: &str| holoscale_reports::FigureEntry {
        title: format!("{stem} title"),
        caption: format!("how to read {stem}"),
        rendered: Rendered::of(&fixture_graph(), stem).unwrap(),
    };
    let report = Report {
        title: "holoscale report <demo>".into(),
        subtitle: "test".into(),
        configuration: vec![("model".into(), "stgcn".into())],
        data: vec![("services".into(), "5".into())],
        metrics: vec![Table {
            caption: "overall".into(),
            header: vec!["model".into(), "MAE".into()],
            rows: vec![vec!["stgcn".into(), "0.123".into()]],
        }],
        figures: vec![fig("graph"), fig("graph-again")],
        latent: Table {
            caption: String::new(),
            header: vec!["a".into(), "b".into(), "weight".into()],
            rows: vec![vec![
                "checkoutservice".into(),
                "emailservice".into(),
                "1".into(),
            ]],
        },
        capture: Some(Table {
            caption: "capture".into(),
            header: vec!["against".into(), "jaccard".into()],
            rows: vec![vec!["OD".into(), "0.5".into()]],
        }),
        notes: vec!["a note".into()],
        scaling: None,
    };
    let html = report.to_html();
    for id in holoscale_reports::html::SECTIONS {
        assert!(html.contains(&format!("<section id=\"{id}\">")), "{id}");
    }
    assert!(
        !html.contains("id=\"scaling\""),
        "no scaling section without one"
    );
    // With a scaler comparison, it opens the report, before the configuration.
    let mut with = report.clone();
    with.scaling = Some((
        "deepscaler against hpa".into(),
        Table {
            caption: String::new(),
            header: vec!["scaler".into(), "violations %".into()],
            rows: vec![vec!["deepscaler".into(), "1.2".into()]],
        },
    ));
    let html2 = with.to_html();
    let (a, b) = (
        html2.find("<section id=\"scaling\">").unwrap(),
        html2.find("<section id=\"configuration\">").unwrap(),
    );
    assert!(a < b && html2.contains("deepscaler against hpa"));
    assert_eq!(html.matches("src=\"data:image/png;base64,").count(), 2);
    assert!(html.contains("holoscale report &lt;demo&gt;"));
    assert!(html.contains("<td class=\"n\">0.123</td>"));
    assert!(!html.contains("http://") && !html.contains("https://"));
    let dir = tempfile::tempdir().unwrap();
    let path = report.write(dir.path()).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), html);
    for f in [
        "graph.png",
        "graph.svg",
        "graph-again.png",
        "graph-again.svg",
    ] {
        assert!(dir.path().join(f).is_file(), "{f}");
    }
}

#[test]
fn colour_scale_and_ticks() {
    use holoscale_reports::style::{blues, shorten};
    assert_eq!(blues(0.0), plotters::style::RGBColor(255, 255, 255));
    assert_eq!(blues(1.0), plotters::style::RGBColor(8, 48, 107));
    assert_eq!(blues(f64::NAN), blues(0.0));
    assert_eq!(shorten("ts-travel-plan-service", 11), "ts-tr…rvice");
    assert_eq!(shorten("cart", 11), "cart");
    // About five round steps: 0.43 → 0.1, 2.2 → 0.5, 7 → 2, 12 → 2.5; nothing to show → 1.
    use holoscale_reports::bars::tick_step;
    for (max, step) in [(0.43, 0.1), (2.2, 0.5), (7.0, 2.0), (12.0, 2.5), (0.0, 1.0)] {
        assert!(
            (tick_step(max) - step).abs() < 1e-12,
            "{max}: {}",
            tick_step(max)
        );
    }
}
