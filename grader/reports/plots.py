"""Inline SVG plots: training curves beside the reference's, the class's
score histogram, and small bars for rates.

Every plot is plain SVG markup inside the page (no script, no external
file, no style attribute, so the page's Content-Security-Policy holds).
Every piece of text is escaped here; numbers are formatted here. Each plot
has a ``<title>`` and a ``<desc>`` saying in words what it shows, and the
pages put the same numbers in a table beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

STUDENT_COLOUR = "#1d5fb4"
"""blue, 6.3:1 on white"""
REFERENCE_COLOUR = "#a34a00"
"""brown-orange, 5.6:1 on white; also dashed, so colour is not the only cue"""
INK = "#333333"
GRID = "#d9d9d9"
BAR_COLOUR = "#2f6fb8"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"


def number(value: float) -> str:
    """A short, exact-enough label: 4 significant digits, no float noise."""
    if value == 0:
        return "0"
    text = f"{value:.4g}"
    return text.replace("e+0", "e").replace("e-0", "e-").replace("e+", "e")


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high], about ``count`` of them."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0, 1.0]
    if high <= low:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = magnitude * 10
    for factor in (1, 2, 2.5, 5, 10):
        if factor * magnitude >= raw:
            step = factor * magnitude
            break
    start = math.floor(low / step + 1e-9) * step
    stop = math.ceil(high / step - 1e-9) * step
    steps = round((stop - start) / step)
    return [round(start + i * step, 12) for i in range(steps + 1)]


@dataclass(frozen=True)
class _Axis:
    """Maps values to pixels, linearly or on a log scale."""

    low: float
    high: float
    start: float
    end: float
    log: bool = False

    def __call__(self, value: float) -> float:
        if self.log:
            value, low, high = math.log10(value), math.log10(self.low), math.log10(self.high)
        else:
            low, high = self.low, self.high
        if high == low:
            return (self.start + self.end) / 2
        return self.start + (value - low) / (high - low) * (self.end - self.start)


def _gridlines(ticks: list[float], y: _Axis, left: float, right: float) -> list[str]:
    """A horizontal line and its label at each tick of the value axis."""
    body = []
    for tick in ticks:
        ty = y(tick)
        body.append(
            f'<line x1="{left}" x2="{right}" y1="{ty:.1f}" y2="{ty:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        body.append(_text(left - 6, ty + 4, number(tick), anchor="end"))
    return body


def _text(x: float, y: float, content: str, *, anchor: str = "middle", size: int = 13) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="{INK}">{escape(content)}</text>'
    )


def _svg(width: int, height: int, title_id: str, title: str, desc: str, body: list[str]) -> Markup:
    head = (
        f'<svg class="plot" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-labelledby="{escape(title_id)}-t {escape(title_id)}-d" '
        f'font-family="{FONT}" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{escape(title_id)}-t">{escape(title)}</title>'
        f'<desc id="{escape(title_id)}-d">{escape(desc)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")


def _finite(values: Sequence[float]) -> list[float]:
    return [v for v in values if math.isfinite(v)]


def _segments(
    values: Sequence[float], x: _Axis, y: _Axis, every: int
) -> list[list[tuple[float, float]]]:
    """Polyline pieces: a non-finite value (or one a log scale cannot show) breaks the line."""
    pieces: list[list[tuple[float, float]]] = [[]]
    for i, value in enumerate(values):
        if not math.isfinite(value) or (y.log and value <= 0):
            if pieces[-1]:
                pieces.append([])
            continue
        pieces[-1].append((x(1 + i * every), y(value)))
    return [p for p in pieces if p]


def curve_chart(
    label: str,
    student: Sequence[float],
    reference: Sequence[float],
    *,
    plot_id: str,
    every: int = 1,
) -> Markup:
    """The student's curve (solid blue, round markers) beside the reference's
    (dashed orange, square markers), per epoch or step, as inline SVG;
    ``every``: the values are those of every n-th epoch."""
    width, height = 440, 250
    left, right, top, bottom = 56, 14, 14, 64
    finite = _finite(list(student) + list(reference))
    epochs = 1 + (max(len(student), len(reference), 1) - 1) * every
    low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
    log = bool(finite) and low > 0 and high / low >= 100
    if log:
        ticks = [
            10.0**p for p in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
        ]
        if len(ticks) == 1:
            ticks.append(ticks[0] * 10)
    else:
        ticks = nice_ticks(low, high)
    x = _Axis(1, epochs, left, width - right)
    y = _Axis(ticks[0], ticks[-1], height - bottom, top, log=log)
    body = _gridlines(ticks, y, left, width - right)
    step = max(1, math.ceil(epochs / 8))
    for epoch in range(1, epochs + 1, step):
        body.append(_text(x(epoch), height - bottom + 16, str(epoch)))
    body.append(
        f'<line x1="{left}" x2="{width - right}" y1="{height - bottom}" y2="{height - bottom}" '
        f'stroke="{INK}" stroke-width="1"/>'
    )
    body.append(_text((left + width - right) / 2, height - bottom + 32, "epoch"))
    lines = (
        (reference, REFERENCE_COLOUR, ' stroke-dasharray="6 4"', "square"),
        (student, STUDENT_COLOUR, "", "circle"),
    )
    for values, colour, dash, marker in lines:
        for piece in _segments(values, x, y, every):
            points = " ".join(f"{px:.1f},{py:.1f}" for px, py in piece)
            body.append(
                f'<polyline points="{points}" fill="none" stroke="{colour}" '
                f'stroke-width="2.5"{dash}/>'
            )
            if len(values) <= 40:
                body.extend(_marker(marker, px, py, colour) for px, py in piece)
    legend_y = height - 12
    body.append(
        f'<line x1="{left}" x2="{left + 28}" y1="{legend_y - 4}" y2="{legend_y - 4}" '
        f'stroke="{STUDENT_COLOUR}" stroke-width="2.5"/>'
        + _marker("circle", left + 14, legend_y - 4, STUDENT_COLOUR)
        + _text(left + 34, legend_y, "yours", anchor="start")
    )
    ref_x = left + 110
    body.append(
        f'<line x1="{ref_x}" x2="{ref_x + 28}" y1="{legend_y - 4}" y2="{legend_y - 4}" '
        f'stroke="{REFERENCE_COLOUR}" stroke-width="2.5" stroke-dasharray="6 4"/>'
        + _marker("square", ref_x + 14, legend_y - 4, REFERENCE_COLOUR)
        + _text(ref_x + 34, legend_y, "reference", anchor="start")
    )
    if log:
        body.append(_text(width - right, legend_y, "log scale", anchor="end"))
    title = f"{label}: your curve and the reference's"
    desc = curve_summary(label, student, reference, every=every)
    return _svg(width, height, plot_id, title, desc, body)


def _marker(kind: str, x: float, y: float, colour: str) -> str:
    if kind == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>'
    return f'<rect x="{x - 3:.1f}" y="{y - 3:.1f}" width="6" height="6" fill="{colour}"/>'


def curve_summary(
    label: str, student: Sequence[float], reference: Sequence[float], *, every: int = 1
) -> str:
    """The plot in words: last values, and where a curve stopped being a number."""

    def last(values: Sequence[float]) -> str:
        if not values:
            return "no values"
        bad = next((i for i, v in enumerate(values) if not math.isfinite(v)), None)
        if bad is not None:
            return f"{number(values[bad])} from epoch {1 + bad * every}"
        return f"{number(values[-1])} after {1 + (len(values) - 1) * every} epochs"

    return f"{label}: yours {last(student)}; reference {last(reference)}."


def histogram(counts: Sequence[int], labels: Sequence[str], *, plot_id: str, title: str) -> Markup:
    """Vertical bars with their counts written on them, one per bin."""
    width, height = 560, 240
    left, right, top, bottom = 40, 10, 18, 46
    most = max(counts, default=0)
    ticks = [t for t in nice_ticks(0, max(most, 1), 4) if t == int(t)]
    y = _Axis(0, ticks[-1], height - bottom, top)
    band = (width - left - right) / max(len(counts), 1)
    body = _gridlines(ticks, y, left, width - right)
    for i, (count, label) in enumerate(zip(counts, labels, strict=True)):
        bx = left + i * band + 3
        top_y = y(count)
        if count:
            body.append(
                f'<rect x="{bx:.1f}" y="{top_y:.1f}" width="{band - 6:.1f}" '
                f'height="{height - bottom - top_y:.1f}" fill="{BAR_COLOUR}"/>'
            )
            body.append(_text(bx + (band - 6) / 2, top_y - 4, str(count)))
        body.append(_text(bx + (band - 6) / 2, height - bottom + 15, label, size=11))
    body.append(
        f'<line x1="{left}" x2="{width - right}" y1="{height - bottom}" y2="{height - bottom}" '
        f'stroke="{INK}" stroke-width="1"/>'
    )
    body.append(_text((left + width - right) / 2, height - 8, "score (% of the points)"))
    desc = "; ".join(f"{label}: {count}" for count, label in zip(counts, labels, strict=True))
    return _svg(width, height, plot_id, title, f"Submissions per score range. {desc}.", body)


def rate_bar(fraction: float) -> Markup:
    """A small decorative bar for a rate; the number is always written beside it."""
    fraction = min(max(fraction, 0.0), 1.0)
    filled = round(100 * fraction, 1)
    return Markup(
        '<svg class="bar" viewBox="0 0 100 10" width="100" height="10" aria-hidden="true" '
        'focusable="false" xmlns="http://www.w3.org/2000/svg">'
        f'<rect width="100" height="10" fill="#e3e3e3"/>'
        f'<rect width="{filled}" height="10" fill="{BAR_COLOUR}"/></svg>'
    )
