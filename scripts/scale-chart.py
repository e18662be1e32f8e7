#!/usr/bin/env python3
"""Draws docs/bench-scale.svg from `roster bench --scale … --json` reports: the p50 of
each read at each size (one line per read, one mark per run), and the enrollment rate.
Usage: scripts/scale-chart.py docs/bench-scale-run*.json > docs/bench-scale.svg"""
import json, math, sys

READS = [("site_list_100", "machine.list, a site, 100", "#1f77b4"),
         ("empty_site_list", "machine.list, empty site", "#2ca02c"),
         ("machine_get", "machine.get", "#9467bd"),
         ("user_list_100", "user.list, 100", "#ff7f0e"),
         ("tenant_user_list", "user.list, a tenant of 3", "#8c564b"),
         ("audit_action_100", "audit.query, action, 100", "#d62728"),
         ("tenant_audit_100", "audit.query, a tenant, 100", "#e377c2")]
runs = [json.load(open(p))["scale"] for p in sys.argv[1:]]
W, H, L, R, T, B = 760, 420, 70, 230, 40, 50
sizes = sorted({s["machines"] for run in runs for s in run})
xs = {n: L + (W - L - R) * (math.log10(n) - math.log10(sizes[0])) /
      max(math.log10(sizes[-1]) - math.log10(sizes[0]), 1e-9) for n in sizes}
ymax = max(s[k]["p50_us"] for run in runs for s in run for k, _, _ in READS if k in s) / 1000 * 1.15
y = lambda ms: T + (H - T - B) * (1 - ms / ymax)
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
       f'<text x="{L}" y="20" font-size="14">p50 per read as the store grows ({len(runs)} runs; lower is better)</text>',
       f'<line x1="{L}" y1="{H-B}" x2="{W-R}" y2="{H-B}" stroke="#000"/>',
       f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H-B}" stroke="#000"/>']
for n in sizes:
    out.append(f'<text x="{xs[n]:.0f}" y="{H-B+18}" text-anchor="middle">{n:,} machines</text>')
step = max(1, round(ymax / 5))
for v in range(0, int(ymax) + 1, step):
    out.append(f'<line x1="{L-4}" y1="{y(v):.0f}" x2="{W-R}" y2="{y(v):.0f}" stroke="#ddd"/>')
    out.append(f'<text x="{L-8}" y="{y(v)+4:.0f}" text-anchor="end">{v} ms</text>')
for i, (k, label, color) in enumerate(READS):
    for run in runs:
        if any(k not in s for s in run):
            continue
        pts = " ".join(f'{xs[s["machines"]]:.0f},{y(s[k]["p50_us"]/1000):.0f}' for s in run)
        out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="1.5" opacity="0.8"/>')
        for s in run:
            out.append(f'<circle cx="{xs[s["machines"]]:.0f}" cy="{y(s[k]["p50_us"]/1000):.0f}" r="3" fill="{color}"/>')
    out.append(f'<rect x="{W-R+15}" y="{T+i*22}" width="12" height="12" fill="{color}"/>')
    out.append(f'<text x="{W-R+32}" y="{T+i*22+11}">{label}</text>')
out.append("</svg>")
print("\n".join(out))
