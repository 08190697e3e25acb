"""The capacity chart as inline SVG drawn on the server: no chart library, no script, nothing from a CDN.

Two panels (read above, write below), one line per resource (the table and each GSI), consumed units
per second over the report's periods; a dashed line for provisioned capacity when the table has one
(an on-demand table's 40,000-unit maximum would flatten every real line, so it is left out).
"""

from __future__ import annotations

from html import escape

from ddbkit.ops.capacity import DIMENSIONS, CapacityReport

__all__ = ["capacity_svg"]

_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
_W, _PANEL, _LEFT, _RIGHT, _TOP = 760, 170, 60, 180, 24


def _fmt(value: float) -> str:
    return f"{value:.3g}" if value < 1000 else f"{value:,.0f}"


def capacity_svg(report: CapacityReport) -> str:
    """``<svg>`` markup of ``report``: consumed (and provisioned) units per second per period."""
    height = _TOP + 2 * (_PANEL + 40)
    plot_w = _W - _LEFT - _RIGHT
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" id="capacity-chart" role="img" width="{_W}" '
           f'height="{height}" viewBox="0 0 {_W} {height}" font-family="sans-serif" font-size="11">',
           f'<title>{escape(report.table)}: consumed capacity per {report.period}-second period</title>']
    n = max(1, len(report.table_usage.periods))
    for p, dim in enumerate(DIMENSIONS):
        top = _TOP + p * (_PANEL + 40)
        series: list[tuple[str, list[float], bool]] = []
        for res in report.resources:
            series.append((f"{res.label} consumed", [x.rate(dim) for x in res.periods], False))
            caps = [x.capacity(dim) for x in res.periods]
            if res.basis == "provisioned" and any(c is not None for c in caps):
                series.append((f"{res.label} provisioned", [c or 0.0 for c in caps], True))
        peak = max([v for _, vals, _ in series for v in vals] + [0.0])
        top_value = peak * 1.15 if peak > 0 else 1.0
        out.append(f'<text x="{_LEFT}" y="{top - 8}" font-weight="bold">{dim} units/s</text>')
        out.append(f'<rect x="{_LEFT}" y="{top}" width="{plot_w}" height="{_PANEL}" fill="#fafafa" '
                   f'stroke="#ccc"/>')
        for frac in (0.0, 0.5, 1.0):
            y = top + _PANEL - frac * _PANEL
            out.append(f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(frac * top_value)}</text>')
        for i, per in enumerate(report.table_usage.periods):
            if i % max(1, n // 6) == 0:
                x = _LEFT + (i + 0.5) * plot_w / n
                out.append(f'<text x="{x:.1f}" y="{top + _PANEL + 14}" text-anchor="middle">'
                           f'{per.start:%H:%M}</text>')
        for s, (label, vals, dashed) in enumerate(series):
            colour = _COLOURS[(s if not dashed else s - 1) % len(_COLOURS)]
            pts = " ".join(f"{_LEFT + (i + 0.5) * plot_w / n:.1f},{top + _PANEL - v / top_value * _PANEL:.1f}"
                           for i, v in enumerate(vals))
            dash = ' stroke-dasharray="5,4"' if dashed else ""
            out.append(f'<polyline class="series" data-label="{escape(label)}" fill="none" stroke="{colour}" '
                       f'stroke-width="2"{dash} points="{pts}"/>')
            ly = top + 12 + s * 16
            out.append(f'<line x1="{_W - _RIGHT + 10}" y1="{ly - 4}" x2="{_W - _RIGHT + 30}" y2="{ly - 4}" '
                       f'stroke="{colour}" stroke-width="2"{dash}/>')
            out.append(f'<text x="{_W - _RIGHT + 34}" y="{ly}">{escape(label)}</text>')
    out.append("</svg>")
    return "".join(out)
