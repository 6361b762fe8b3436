//! Minimal hand-written SVG charts: grouped bars (linear or log scale) with
//! min–max whiskers, and lines over a numeric x axis.

use std::fmt::Write;

const W: f64 = 760.0;
const H: f64 = 460.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 110.0;
const COLORS: [&str; 6] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1",
];

/// One value with its spread (`lo`..`hi`), as drawn by a whisker.
#[derive(Clone, Copy, Debug)]
pub struct Point {
    pub median: f64,
    pub lo: f64,
    pub hi: f64,
}

/// One named series; `None` leaves a gap (the peer does not have that
/// operation).
pub struct Series {
    pub name: String,
    pub values: Vec<Option<Point>>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn fmt_tick(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.3}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.3}M", v / 1e6)
    } else if a >= 1e3 {
        format!("{:.3}k", v / 1e3)
    } else if a >= 0.001 || a == 0.0 {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{v:.3e}")
    }
    .replace(".000", "")
}

struct Scale {
    log: bool,
    lo: f64,
    hi: f64,
}

impl Scale {
    fn new(values: impl Iterator<Item = f64>, log: bool) -> Scale {
        let mut max = f64::MIN_POSITIVE;
        let mut min = f64::MAX;
        for v in values.filter(|v| v.is_finite() && *v > 0.0) {
            max = max.max(v);
            min = min.min(v);
        }
        if min > max {
            min = 1.0;
            max = 10.0;
        }
        if log {
            Scale {
                log,
                lo: 10f64.powf(min.log10().floor()),
                hi: 10f64.powf(max.log10().ceil().max(min.log10().floor() + 1.0)),
            }
        } else {
            Scale {
                log,
                lo: 0.0,
                hi: max * 1.1,
            }
        }
    }

    /// Pixel y of value `v`.
    fn y(&self, v: f64) -> f64 {
        let plot_h = H - TOP - BOTTOM;
        let f = if self.log {
            let v = v.max(self.lo);
            (v.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            v / self.hi
        };
        H - BOTTOM - f.clamp(0.0, 1.0) * plot_h
    }

    fn ticks(&self) -> Vec<f64> {
        if self.log {
            let mut t = Vec::new();
            let mut v = self.lo;
            while v <= self.hi * 1.0001 {
                t.push(v);
                v *= 10.0;
            }
            t
        } else {
            (0..=5).map(|i| self.hi * i as f64 / 5.0).collect()
        }
    }
}

fn frame(out: &mut String, title: &str, y_label: &str, scale: &Scale) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{}" y="22" text-anchor="middle" font-size="15">{}</text>
<text transform="translate(16,{}) rotate(-90)" text-anchor="middle">{}</text>
"#,
        (LEFT + W - RIGHT) / 2.0,
        esc(title),
        (TOP + H - BOTTOM) / 2.0,
        esc(y_label)
    );
    for t in scale.ticks() {
        let y = scale.y(t);
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            fmt_tick(t)
        );
    }
    let _ = writeln!(
        out,
        r#"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{}" stroke="black"/><line x1="{LEFT}" y1="{0}" x2="{1}" y2="{0}" stroke="black"/>"#,
        H - BOTTOM,
        W - RIGHT
    );
}

fn legend(out: &mut String, series: &[Series]) {
    for (i, s) in series.iter().enumerate() {
        let y = TOP + 10.0 + i as f64 * 20.0;
        let _ = writeln!(
            out,
            r#"<rect x="{}" y="{}" width="12" height="12" fill="{}"/><text x="{}" y="{}">{}</text>"#,
            W - RIGHT + 12.0,
            y - 10.0,
            COLORS[i % COLORS.len()],
            W - RIGHT + 30.0,
            y,
            esc(&s.name)
        );
    }
}

fn whisker(out: &mut String, x: f64, scale: &Scale, p: Point) {
    let _ = writeln!(
        out,
        r#"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="black"/>"#,
        scale.y(p.lo),
        scale.y(p.hi)
    );
}

/// Grouped bars: one group per category, one bar per series, whiskers from
/// `lo` to `hi`.
pub fn bars(
    title: &str,
    y_label: &str,
    categories: &[String],
    series: &[Series],
    log: bool,
) -> String {
    let scale = Scale::new(
        series.iter().flat_map(|s| {
            s.values
                .iter()
                .flatten()
                .flat_map(|p| [p.median, p.hi, p.lo])
        }),
        log,
    );
    let mut out = String::new();
    frame(&mut out, title, y_label, &scale);
    let plot_w = W - LEFT - RIGHT;
    let group_w = plot_w / categories.len().max(1) as f64;
    let bar_w = group_w * 0.8 / series.len().max(1) as f64;
    for (c, cat) in categories.iter().enumerate() {
        let gx = LEFT + c as f64 * group_w + group_w * 0.1;
        for (i, s) in series.iter().enumerate() {
            if let Some(Some(p)) = s.values.get(c) {
                let x = gx + i as f64 * bar_w;
                let y = scale.y(p.median);
                let _ = writeln!(
                    out,
                    r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}: {}</title></rect>"#,
                    bar_w * 0.9,
                    (H - BOTTOM - y).max(0.0),
                    COLORS[i % COLORS.len()],
                    esc(&s.name),
                    fmt_tick(p.median)
                );
                whisker(&mut out, x + bar_w * 0.45, &scale, *p);
            }
        }
        let _ = writeln!(
            out,
            r#"<text transform="translate({:.1},{}) rotate(30)" text-anchor="start">{}</text>"#,
            gx + group_w * 0.3,
            H - BOTTOM + 14.0,
            esc(cat)
        );
    }
    legend(&mut out, series);
    out.push_str("</svg>\n");
    out
}

/// Lines over numeric `xs` (drawn at equal spacing, labelled with their
/// values), whiskers from `lo` to `hi`.
pub fn lines(title: &str, x_label: &str, y_label: &str, xs: &[f64], series: &[Series]) -> String {
    let scale = Scale::new(
        series
            .iter()
            .flat_map(|s| s.values.iter().flatten().flat_map(|p| [p.median, p.hi])),
        false,
    );
    let mut out = String::new();
    frame(&mut out, title, y_label, &scale);
    let plot_w = W - LEFT - RIGHT;
    let step = plot_w / xs.len().max(1) as f64;
    let px = |i: usize| LEFT + step * (i as f64 + 0.5);
    for (i, x) in xs.iter().enumerate() {
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            px(i),
            H - BOTTOM + 18.0,
            fmt_tick(*x)
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
        LEFT + plot_w / 2.0,
        H - BOTTOM + 44.0,
        esc(x_label)
    );
    for (i, s) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let pts: Vec<String> = s
            .values
            .iter()
            .enumerate()
            .filter_map(|(j, p)| p.map(|p| format!("{:.1},{:.1}", px(j), scale.y(p.median))))
            .collect();
        let _ = writeln!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"#,
            pts.join(" ")
        );
        for (j, p) in s.values.iter().enumerate() {
            if let Some(p) = p {
                let _ = writeln!(
                    out,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{color}"><title>{}</title></circle>"#,
                    px(j),
                    scale.y(p.median),
                    fmt_tick(p.median)
                );
                whisker(&mut out, px(j), &scale, *p);
            }
        }
    }
    legend(&mut out, series);
    out.push_str("</svg>\n");
    out
}
