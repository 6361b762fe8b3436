//! Figures and their spread: medians, percentiles, min–max over runs, and
//! how numbers are written.

use serde::Serialize;

/// One measured figure: the median over runs and its min–max.
#[derive(Clone, Debug, Serialize)]
pub struct Figure {
    pub name: String,
    pub unit: String,
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub runs: usize,
}

impl Figure {
    /// The median and min–max of `values` (one per run).
    pub fn of(name: impl Into<String>, unit: &str, values: &[f64]) -> Figure {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        let (median, min, max) = if v.is_empty() {
            (0.0, 0.0, 0.0)
        } else {
            (percentile(&v, 0.5), v[0], v[v.len() - 1])
        };
        Figure {
            name: name.into(),
            unit: unit.to_string(),
            median,
            min,
            max,
            runs: v.len(),
        }
    }

    /// The median and min–max, as a chart draws them.
    pub fn point(&self) -> crate::svg::Point {
        crate::svg::Point {
            median: self.median,
            lo: self.min,
            hi: self.max,
        }
    }

    /// As `"1.23 (1.20–1.31) unit"`.
    pub fn show(&self) -> String {
        format!(
            "{} ({}–{}) {}",
            num(self.median),
            num(self.min),
            num(self.max),
            self.unit
        )
    }
}

/// A readable number: whole numbers without decimals and with thousands
/// separators ("1,500", "7"), large values rounded to whole ones, 3
/// significant digits for small ones.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    if v.abs() >= 10_000.0 || v.fract() == 0.0 {
        let s = format!("{:.0}", v.abs());
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        return if v < 0.0 { format!("-{out}") } else { out };
    }
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else if v.abs() >= 0.1 || v == 0.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

/// The `q` percentile of sorted `v` (nearest rank, interpolated).
pub fn percentile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let pos = q * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// Sorted copy.
pub fn sorted(v: &[f64]) -> Vec<f64> {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v
}
