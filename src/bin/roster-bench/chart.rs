//! The latency chart (`--chart`): an SVG of the register latency distributions.

use std::time::Duration;

use crate::measure::percentiles;
use crate::register::ModeResult;

/// An SVG chart: the cumulative distribution of sequential register latency, roster
/// against the raw floor, for each sync mode measured.
pub(crate) fn chart(d: &ModeResult, always: Option<&ModeResult>) -> String {
    let mut series: Vec<(&str, &str, &[Duration])> = vec![
        (
            "roster register (sync default)",
            "#d62728",
            &d.register_samples,
        ),
        ("raw floor (sync default)", "#1f77b4", &d.floor_samples),
    ];
    if let Some(a) = always {
        series.push((
            "roster register (sync always)",
            "#ff9896",
            &a.register_samples,
        ));
        series.push(("raw floor (sync always)", "#aec7e8", &a.floor_samples));
    }
    let max_us = series
        .iter()
        .flat_map(|(_, _, s)| s.iter())
        .map(|d| d.as_micros() as f64)
        .fold(1.0, f64::max);
    let p99_cap = series
        .iter()
        .map(|(_, _, s)| percentiles(s).p99_us as f64)
        .fold(1.0, f64::max)
        .min(max_us)
        * 1.2;
    let (w, h, left, bottom, top, right) = (760.0, 420.0, 70.0, 50.0, 30.0, 20.0);
    let x = |us: f64| left + (us.min(p99_cap) / p99_cap) * (w - left - right);
    let y = |q: f64| top + (1.0 - q) * (h - top - bottom);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{}" y="18" text-anchor="middle" font-size="14">Sequential register latency, cumulative distribution (same run)</text>
<line x1="{left}" y1="{}" x2="{}" y2="{}" stroke="black"/>
<line x1="{left}" y1="{top}" x2="{left}" y2="{}" stroke="black"/>
"#,
        w / 2.0,
        h - bottom,
        w - right,
        h - bottom,
        h - bottom
    );
    for i in 0..=5 {
        let us = p99_cap * f64::from(i) / 5.0;
        svg.push_str(&format!(
            r##"<text x="{:.1}" y="{}" text-anchor="middle">{:.0}</text><line x1="{:.1}" y1="{top}" x2="{:.1}" y2="{}" stroke="#eee"/>
"##,
            x(us), h - bottom + 16.0, us, x(us), x(us), h - bottom
        ));
        let q = f64::from(i) / 5.0;
        svg.push_str(&format!(
            r#"<text x="{}" y="{:.1}" text-anchor="end">{:.0}%</text>
"#,
            left - 6.0,
            y(q) + 4.0,
            q * 100.0
        ));
    }
    svg.push_str(&format!(
        r#"<text x="{}" y="{}" text-anchor="middle">latency (µs)</text>
"#,
        (left + w - right) / 2.0,
        h - 12.0
    ));
    for (n, (label, color, samples)) in series.iter().enumerate() {
        let mut v: Vec<f64> = samples.iter().map(|d| d.as_micros() as f64).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        let pts: Vec<String> = v
            .iter()
            .enumerate()
            .map(|(i, us)| format!("{:.1},{:.1}", x(*us), y((i + 1) as f64 / v.len() as f64)))
            .collect();
        svg.push_str(&format!(
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>
"#,
            pts.join(" ")
        ));
        let ly = top + 16.0 + 16.0 * n as f64;
        svg.push_str(&format!(
            r#"<line x1="{}" y1="{ly}" x2="{}" y2="{ly}" stroke="{color}" stroke-width="3"/><text x="{}" y="{}">{label}</text>
"#,
            w - 260.0, w - 235.0, w - 228.0, ly + 4.0
        ));
    }
    svg.push_str("</svg>\n");
    svg
}
