"""Charts as inline SVG, drawn on the server: no script, no asset, nothing to download.

Each function returns safe markup; every text it embeds is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

#: Series colours, distinguishable and calm; cycled when there are more series.
PALETTE = ("#2563eb", "#0d9488", "#d97706", "#7c3aed", "#db2777", "#4b5563", "#65a30d")
_AXIS = "#9ca3af"
_TEXT = "#374151"
_FONT = 'font-family="inherit" font-size="11"'


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _nice_max(value: int) -> int:
    """A round axis maximum at or above ``value`` (1, 2, 5 x 10^n)."""
    if value <= 0:
        return 1
    magnitude = int(10 ** math.floor(math.log10(value)))
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def stacked_bars(
    days: Sequence[date], series: dict[str, list[int]], *, title: str, y_title: str = ""
) -> SafeString:
    """Vertical bars per day, one stacked segment per series (e.g. per lab); ``y_title``
    names the vertical axis, written along it."""
    width, height, left, bottom, top = 1000, 260, 58, 28, 12
    plot_w, plot_h = width - left - 10, height - bottom - top
    totals = [sum(values[i] for values in series.values()) for i in range(len(days))]
    peak = _nice_max(max(totals, default=0))
    slot = plot_w / max(len(days), 1)
    bar_w = slot * 0.68
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    if y_title:
        middle = top + plot_h / 2
        parts.append(
            f'<text class="axis-title" x="12" y="{middle:.1f}" text-anchor="middle" '
            f'transform="rotate(-90 12 {middle:.1f})" fill="{_TEXT}" {_FONT}>'
            f"{escape(y_title)}</text>"
        )
    for tick in range(5):
        value = peak * tick / 4
        y = top + plot_h - plot_h * tick / 4
        parts.append(
            f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#e5e7eb" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{_AXIS}" {_FONT}>'
            f"{value:g}</text>"
        )
    for i, day in enumerate(days):
        x = left + slot * i + (slot - bar_w) / 2
        y = top + plot_h
        for index, (name, values) in enumerate(series.items()):
            if not values[i]:
                continue
            h = plot_h * values[i] / peak
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{colour(index)}"><title>{escape(name)}: {values[i]} on '
                f"{day:%d %b}</title></rect>"
            )
        if len(days) <= 16 or i % 2 == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{height - 10}" text-anchor="middle" '
                f'fill="{_AXIS}" {_FONT}>{day:%d %b}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every interpolated text is escaped


def horizontal_bars(
    items: Sequence[tuple[str, float]], *, title: str, unit: str = "", fill: str = PALETTE[0]
) -> SafeString:
    """One labelled horizontal bar per item, value printed at its end."""
    row, label_w, width = 26, 150, 400
    height = max(row * len(items), row) + 6
    peak = max((value for _, value in items), default=0) or 1
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i, (label, value) in enumerate(items):
        y = 4 + i * row
        bar = (width - label_w - 60) * value / peak
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" fill="{_TEXT}" '
            f'font-size="12">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{max(bar, 2):.1f}" height="16" rx="3" '
            f'fill="{fill}"/>'
            f'<text x="{label_w + bar + 6:.1f}" y="{y + 15}" fill="{_TEXT}" '
            f'font-size="12">{value:g}{escape(unit)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every interpolated text is escaped


def ring(part: int, whole: int, *, title: str, fill: str = PALETTE[1]) -> SafeString:
    """A ring showing part/whole, with the percentage in its middle."""
    share = part / whole if whole else 0.0
    radius, stroke = 52, 16
    circumference = 2 * math.pi * radius
    dash = circumference * share
    return mark_safe(  # every interpolated text is escaped
        f'<svg class="chart ring" viewBox="0 0 140 140" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
        f'<circle cx="70" cy="70" r="{radius}" fill="none" stroke="#e5e7eb" '
        f'stroke-width="{stroke}"/>'
        f'<circle cx="70" cy="70" r="{radius}" fill="none" stroke="{fill}" '
        f'stroke-width="{stroke}" stroke-dasharray="{dash:.1f} {circumference:.1f}" '
        f'transform="rotate(-90 70 70)" stroke-linecap="butt"/>'
        f'<text x="70" y="76" text-anchor="middle" font-size="22" font-weight="600" '
        f'fill="{_TEXT}">{share:.0%}</text></svg>'
    )
