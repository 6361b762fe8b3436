//! A small hand-written SVG chart writer: grouped bars (linear or log
//! scale) and lines over a numeric x axis, each value with a min–max
//! whisker, optional threshold lines, "n/a" where a contender has no such
//! value, round tick values, and a caption saying what is drawn.

use std::fmt::Write;

const W: f64 = 800.0;
const H: f64 = 500.0;
const RIGHT: f64 = 180.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 150.0;
/// Width of one character of the 12 px font, roughly, for layout.
const CHAR_W: f64 = 7.0;
const COLORS: [&str; 6] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1",
];
const LIMIT_COLOR: &str = "#d62728";

/// One value with its spread (`lo`..`hi`), as drawn by a whisker.
#[derive(Clone, Copy, Debug)]
pub struct Point {
    pub median: f64,
    pub lo: f64,
    pub hi: f64,
}

/// One named series; `None` draws "n/a" (the contender has no such
/// operation).
pub struct Series {
    pub name: String,
    pub values: Vec<Option<Point>>,
}

/// What every chart has.
pub struct Chart<'a> {
    pub title: &'a str,
    pub y_label: &'a str,
    /// Below the plot: what the bars or points and whiskers are.
    pub caption: &'a str,
    pub log: bool,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A tick label: a round number written short ("200M", "1.5k", "0.02").
pub fn tick_label(v: f64) -> String {
    let a = v.abs();
    let (scaled, suffix) = if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    // Round ticks need at most 3 significant digits; trailing zeros go.
    let s = format!("{scaled:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}{suffix}")
}

/// A round step for about `n` intervals over `0..max`: 1, 2 or 5 × 10^k.
fn nice_step(max: f64, n: f64) -> f64 {
    let raw = max / n;
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

struct Scale {
    log: bool,
    lo: f64,
    hi: f64,
    step: f64,
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
            (min, max) = (1.0, 10.0);
        }
        if log {
            let lo = 10f64.powf(min.log10().floor());
            let hi = 10f64.powf(max.log10().ceil().max(lo.log10() + 1.0));
            Scale {
                log,
                lo,
                hi,
                step: 10.0,
            }
        } else {
            let step = nice_step(max, 5.0);
            Scale {
                log,
                lo: 0.0,
                hi: (max / step).ceil().max(1.0) * step,
                step,
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
        let mut t = Vec::new();
        let mut k = 0.0;
        loop {
            let v = if self.log {
                self.lo * self.step.powf(k)
            } else {
                self.step * k
            };
            if v > self.hi * 1.0001 {
                return t;
            }
            t.push(v);
            k += 1.0;
        }
    }
}

/// The scale of everything drawn: medians, whiskers and thresholds.
fn scale_of(series: &[Series], limits: &[f64], log: bool) -> Scale {
    Scale::new(
        series
            .iter()
            .flat_map(|s| {
                s.values
                    .iter()
                    .flatten()
                    .flat_map(|p| [p.median, p.lo, p.hi])
            })
            .chain(limits.iter().copied()),
        log,
    )
}

/// Title, axes, ticks and the y label, placed left of the widest tick
/// label; returns the x where the plot starts.
fn frame(out: &mut String, chart: &Chart<'_>, scale: &Scale) -> f64 {
    let ticks: Vec<(f64, String)> = scale
        .ticks()
        .into_iter()
        .map(|t| (t, tick_label(t)))
        .collect();
    let widest = ticks
        .iter()
        .map(|(_, l)| l.chars().count())
        .max()
        .unwrap_or(1) as f64;
    // y label (rotated, 12 px tall) | gap | tick labels | 6 px | axis
    let left = 24.0 + 8.0 + widest * CHAR_W + 6.0;
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{:.1}" y="22" text-anchor="middle" font-size="15">{}</text>
<text transform="translate(16,{:.1}) rotate(-90)" text-anchor="middle">{}</text>
"#,
        (left + W - RIGHT) / 2.0,
        esc(chart.title),
        (TOP + H - BOTTOM) / 2.0,
        esc(chart.y_label)
    );
    for (t, label) in &ticks {
        let y = scale.y(*t);
        let _ = writeln!(
            out,
            r##"<line x1="{left:.1}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{label}</text>"##,
            W - RIGHT,
            left - 6.0,
            y + 4.0,
        );
    }
    let _ = writeln!(
        out,
        r#"<line x1="{left:.1}" y1="{TOP}" x2="{left:.1}" y2="{0}" stroke="black"/><line x1="{left:.1}" y1="{0}" x2="{1}" y2="{0}" stroke="black"/>"#,
        H - BOTTOM,
        W - RIGHT
    );
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{}" text-anchor="middle" fill="#444">{}</text>"##,
        (left + W - RIGHT) / 2.0,
        H - 10.0,
        esc(chart.caption)
    );
    left
}

/// The series' names, when there are two or more (one series is named by
/// the title and axis).
fn legend(out: &mut String, series: &[Series]) {
    if series.len() < 2 {
        return;
    }
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
    let (top, bottom) = (scale.y(p.hi), scale.y(p.lo));
    let _ = writeln!(
        out,
        r#"<line x1="{x:.1}" y1="{top:.1}" x2="{x:.1}" y2="{bottom:.1}" stroke="black"/><line x1="{:.1}" y1="{top:.1}" x2="{:.1}" y2="{top:.1}" stroke="black"/><line x1="{:.1}" y1="{bottom:.1}" x2="{:.1}" y2="{bottom:.1}" stroke="black"/>"#,
        x - 3.0,
        x + 3.0,
        x - 3.0,
        x + 3.0
    );
}

/// A dashed threshold line from `x1` to `x2` at `value`, labelled.
fn limit(out: &mut String, scale: &Scale, x1: f64, x2: f64, value: f64, label: &str) {
    let y = scale.y(value);
    let _ = writeln!(
        out,
        r#"<line x1="{x1:.1}" y1="{y:.1}" x2="{x2:.1}" y2="{y:.1}" stroke="{LIMIT_COLOR}" stroke-width="1.5" stroke-dasharray="6,4"/><text x="{:.1}" y="{:.1}" fill="{LIMIT_COLOR}" font-size="11">{}</text>"#,
        x1 + 2.0,
        y - 4.0,
        esc(label)
    );
}

/// Grouped bars: one group per category, one bar per series, whiskers from
/// `lo` to `hi`; `limits[c]`, if any, is category `c`'s threshold.
pub fn bars(
    chart: &Chart<'_>,
    categories: &[String],
    series: &[Series],
    limits: &[Option<f64>],
) -> String {
    let drawn: Vec<f64> = limits.iter().flatten().copied().collect();
    let scale = scale_of(series, &drawn, chart.log);
    let mut out = String::new();
    let left = frame(&mut out, chart, &scale);
    let plot_w = W - left - RIGHT;
    let group_w = plot_w / categories.len().max(1) as f64;
    let bar_w = group_w * 0.8 / series.len().max(1) as f64;
    for (c, cat) in categories.iter().enumerate() {
        let gx = left + c as f64 * group_w + group_w * 0.1;
        for (i, s) in series.iter().enumerate() {
            let x = gx + i as f64 * bar_w;
            match s.values.get(c).copied().flatten() {
                Some(p) => {
                    let y = scale.y(p.median);
                    let _ = writeln!(
                        out,
                        r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}: {}</title></rect>"#,
                        bar_w * 0.9,
                        (H - BOTTOM - y).max(0.0),
                        COLORS[i % COLORS.len()],
                        esc(&s.name),
                        tick_label(p.median)
                    );
                    whisker(&mut out, x + bar_w * 0.45, &scale, p);
                }
                None => {
                    let _ = writeln!(
                        out,
                        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10" fill="#666">n/a</text>"##,
                        x + bar_w * 0.45,
                        H - BOTTOM - 4.0
                    );
                }
            }
        }
        if let Some(Some(v)) = limits.get(c) {
            limit(
                &mut out,
                &scale,
                gx - group_w * 0.05,
                gx + group_w * 0.85,
                *v,
                &format!("limit {}", tick_label(*v)),
            );
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
/// values), whiskers from `lo` to `hi`, and a threshold across the plot.
pub fn lines(
    chart: &Chart<'_>,
    x_label: &str,
    xs: &[f64],
    series: &[Series],
    threshold: Option<f64>,
) -> String {
    let drawn: Vec<f64> = threshold.into_iter().collect();
    let scale = scale_of(series, &drawn, chart.log);
    let mut out = String::new();
    let left = frame(&mut out, chart, &scale);
    let plot_w = W - left - RIGHT;
    let step = plot_w / xs.len().max(1) as f64;
    let px = |i: usize| left + step * (i as f64 + 0.5);
    for (i, x) in xs.iter().enumerate() {
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            px(i),
            H - BOTTOM + 18.0,
            tick_label(*x)
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
        left + plot_w / 2.0,
        H - BOTTOM + 44.0,
        esc(x_label)
    );
    if let Some(v) = threshold {
        limit(
            &mut out,
            &scale,
            left,
            W - RIGHT,
            v,
            &format!("limit {}", tick_label(v)),
        );
    }
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
                    tick_label(p.median)
                );
                whisker(&mut out, px(j), &scale, *p);
            }
        }
    }
    legend(&mut out, series);
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round() {
        let s = Scale::new([197_249_000.0].into_iter(), false);
        let labels: Vec<String> = s.ticks().into_iter().map(tick_label).collect();
        assert_eq!(labels, ["0", "50M", "100M", "150M", "200M"]);
        let s = Scale::new([3.2, 870.0].into_iter(), true);
        let labels: Vec<String> = s.ticks().into_iter().map(tick_label).collect();
        assert_eq!(labels, ["1", "10", "100", "1k"]);
        assert_eq!(tick_label(0.02), "0.02");
        assert_eq!(tick_label(1_500.0), "1.5k");
    }
}
