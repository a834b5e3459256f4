"""Small server-side SVG charts for the dashboard: a monthly bar chart with its axes labelled,
written by hand (no JavaScript, no chart library).

Accessible: the ``<svg>`` has ``role="img"``, a ``<title>`` (the figure) and a ``<desc>`` that
reads every month's value in words, so a screen reader gets the series a sighted reader sees;
each bar carries its own ``<title>`` (a tooltip). A month without a value (no denominator)
has no bar and is said "n/a". Values are Decimal: only the bar's height is a float.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

WIDTH, HEIGHT = 360, 160
LEFT, RIGHT, TOP, BOTTOM = 52, 8, 10, 28
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Bar:
    #: ``YYYY-MM``
    month: str
    value: Decimal | None
    #: the value as people read it (``42.9%``, ``3.4 days``, ``n/a``)
    text: str


def month_label(month: str) -> str:
    """``2026-03`` -> ``Mar 26``."""
    return f"{_MONTHS[int(month[5:]) - 1]} {month[2:4]}"


def _scale_top(values: Sequence[Decimal]) -> Decimal:
    """The axis maximum: the largest value (1 for rates at most 1, at least something > 0)."""
    largest = max(values, default=Decimal(0))
    return largest if largest > 0 else Decimal(1)


def bar_chart(title: str, bars: Sequence[Bar], *, axis_top_text: str,
              element_id: str) -> str:
    """An SVG bar chart of ``bars`` (one per month), its y axis from 0 to the largest value
    (labelled ``axis_top_text`` there and ``0`` at the bottom), months along the x axis."""
    known = [bar.value for bar in bars if bar.value is not None and bar.value > 0]
    top = _scale_top(known)
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    slot = plot_width / max(len(bars), 1)
    words = "; ".join(f"{month_label(bar.month)}: {bar.text}" for bar in bars)
    title_id, desc_id = f"{element_id}-title", f"{element_id}-desc"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(element_id)}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{escape(title_id)} {escape(desc_id)}">',
        f'<title id="{escape(title_id)}">{escape(title)} by month</title>',
        f'<desc id="{escape(desc_id)}">{escape(words)}</desc>',
        # the axes, and their labels: 0 and the top value on y, the months on x
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_height}" />',
        f'<line class="axis" x1="{LEFT}" y1="{TOP + plot_height}" x2="{WIDTH - RIGHT}" '
        f'y2="{TOP + plot_height}" />',
        f'<text class="tick" x="{LEFT - 4}" y="{TOP + 8}" text-anchor="end">'
        f'{escape(axis_top_text)}</text>',
        f'<text class="tick" x="{LEFT - 4}" y="{TOP + plot_height}" text-anchor="end">0</text>',
    ]
    every = 1 if len(bars) <= 6 else 2  # a label every other month when there are many
    for index, bar in enumerate(bars):
        x = LEFT + index * slot
        if bar.value is not None and bar.value > 0:
            height = float(min(bar.value, top) / top) * plot_height
            parts.append(
                f'<rect class="bar" x="{x + slot * 0.15:.1f}" y="{TOP + plot_height - height:.1f}"'
                f' width="{slot * 0.7:.1f}" height="{height:.1f}">'
                f'<title>{escape(month_label(bar.month))}: {escape(bar.text)}</title></rect>')
        elif bar.value is None:
            parts.append(f'<text class="na" x="{x + slot / 2:.1f}" y="{TOP + plot_height - 4}" '
                         f'text-anchor="middle">n/a</text>')
        if (len(bars) - 1 - index) % every == 0:  # counted from the last: it is labelled
            parts.append(f'<text class="tick" x="{x + slot / 2:.1f}" y="{HEIGHT - 8}" '
                         f'text-anchor="middle">{escape(month_label(bar.month))}</text>')
    parts.append("</svg>")
    return "".join(parts)
