//! The exact quantile of sorted samples, with the rank rule of
//! `HistogramSnapshot::quantile`: the value of rank `ceil(q * n)` (at
//! least 1), what the accuracy tests hold the histograms to.

/// The exact `q`-quantile of `sorted` (not empty, in increasing order).
pub fn exact<T: Copy>(sorted: &[T], q: f64) -> T {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}
