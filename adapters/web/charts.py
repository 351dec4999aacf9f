"""Charts as geometry for server-rendered SVG: numbers here, markup in the templates
(charts.html). No script runs in the browser; every chart comes with a sentence that
says what it shows and a table of its numbers, for screen readers and small screens."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.chains import Chain

# Drawn about as wide as it shows (a half-width card on a desktop, a phone's width), so
# that its 13-unit labels stay readable.
WIDTH, HEIGHT = 400, 170
LEFT, RIGHT, TOP, BOTTOM = 34, 22, 10, 24  # margins: y labels left, x labels below
X_LABELS = 4  # at most, under any chart


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    label: str  # the week, for the tooltip
    series: int  # which series: its colour


@dataclass(frozen=True)
class Tick:
    at: float  # x or y, in chart units
    label: str


@dataclass(frozen=True)
class BarChart:
    id: str
    title: str
    summary: str  # the text alternative
    width: int
    height: int
    left: float
    right: float
    bottom: float
    bars: list[Bar]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    series: list[str]
    rows: list[tuple[str, tuple[int, ...]]]  # the data table: label, one value per series


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 × 10ⁿ at or above `value` (at least 1): a round axis top."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def bar_chart(
    chart_id: str,
    title: str,
    summary: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
) -> BarChart:
    """Grouped bars: one slot per label, one bar per series in each slot."""
    count, kinds = len(labels), len(series)
    top = nice_ceiling(max((v for _, values in series for v in values), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(count, 1)
    gap = slot * (0.25 if count <= 16 else 0.15)
    bar_w = (slot - gap) / max(kinds, 1)
    bars = []
    for k, (_, values) in enumerate(series):
        for i, value in enumerate(values):
            height = plot_h * value / top
            bars.append(
                Bar(
                    x=round(LEFT + i * slot + gap / 2 + k * bar_w, 2),
                    y=round(TOP + plot_h - height, 2),
                    width=round(max(bar_w - 1, 1), 2),
                    height=round(height, 2),
                    value=value,
                    label=labels[i],
                    series=k,
                )
            )
    every = max(1, math.ceil(count / X_LABELS))
    x_ticks = [
        Tick(round(LEFT + i * slot + slot / 2, 2), labels[i])
        for i in range(count - 1, -1, -every)  # always label the newest week
    ]
    marks = (0, top // 2, top) if top % 2 == 0 else (0, top)
    y_ticks = [Tick(round(TOP + plot_h * (1 - m / top), 2), str(m)) for m in marks]
    rows = [(labels[i], tuple(values[i] for _, values in series)) for i in range(count)]
    return BarChart(
        id=chart_id,
        title=title,
        summary=summary,
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=WIDTH - RIGHT,
        bottom=TOP + plot_h,
        bars=bars,
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        series=[name for name, _ in series],
        rows=rows,
    )


# Chains as a graph.

NODE_W, NODE_H = 128, 30
COLUMN, ROW = 168, 48
PAD = 12
NAME_CHARS = 16


@dataclass(frozen=True)
class Node:
    x: float  # top-left corner
    y: float
    label: str


@dataclass(frozen=True)
class Edge:
    path: str  # SVG path data, in chart units
    label: str  # "A helped B"


@dataclass(frozen=True)
class Graph:
    title: str
    summary: str
    width: int
    height: int
    nodes: list[Node]
    edges: list[Edge]
    node_w: int = NODE_W
    node_h: int = NODE_H


def _short(name: str) -> str:
    return name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…"


def chain_graph(title: str, chains: Sequence[Chain], name_of: Callable[[str], str]) -> Graph:
    """Each person once, after everyone who helped them, and an arrow for every
    "helped"."""
    column = _columns(chains)
    # Each person on the row of the first chain they appear in: an arrow between two
    # people of one chain never crosses anyone else's box.
    row_of: dict[str, int] = {}
    for index, chain in enumerate(chains):
        for member in chain.members:
            row_of.setdefault(member, index)
    rows = {r: n for n, r in enumerate(sorted(set(row_of.values())))}
    place = {m: (PAD + column[m] * COLUMN, PAD + rows[row_of[m]] * ROW) for m in column}
    nodes = [Node(x, y, _short(name_of(m))) for m, (x, y) in place.items()]
    edges: dict[tuple[str, str], Edge] = {}
    for chain in chains:
        for a, b in zip(chain.members, chain.members[1:], strict=False):
            if (a, b) not in edges:
                edges[(a, b)] = Edge(
                    _arrow(place[a], place[b]), f"{name_of(a)} helped {name_of(b)}"
                )
    width = PAD * 2 + max(column.values(), default=0) * COLUMN + NODE_W
    height = PAD * 2 + (max(len(rows), 1) - 1) * ROW + NODE_H
    if any(place[b][0] <= place[a][0] for a, b in edges):
        height += ROW // 2  # room for the curves of steps back
    sentences = [
        ", who helped ".join(name_of(m) for m in chain.members).replace(
            ", who helped ", " helped ", 1
        )
        for chain in chains
    ]
    summary = "; ".join(sentences) + "." if sentences else "No chains."
    return Graph(title, summary, width, height, nodes, list(edges.values()))


def _columns(chains: Sequence[Chain]) -> dict[str, int]:
    """Each person's column: after everyone who helped them (longest path), so arrows
    point right; where help went round in a circle, the order of first appearance."""
    first: dict[str, int] = {}
    for chain in chains:
        for position, member in enumerate(chain.members):
            first.setdefault(member, position)
    edges = {(a, b) for c in chains for a, b in zip(c.members, c.members[1:], strict=False)}
    column = dict.fromkeys(first, 0)
    for _ in range(len(column) + 1):
        moved = False
        for a, b in edges:
            if column[b] <= column[a]:
                column[b], moved = column[a] + 1, True
        if not moved:
            return column
        if max(column.values()) >= len(column):  # a cycle keeps pushing: give up
            break
    return first


def _arrow(a: tuple[float, float], b: tuple[float, float]) -> str:
    """From the right edge of a's box to the left edge of b's; a step back (b in the
    same column or left of a) curves below the boxes."""
    (ax, ay), (bx, by) = a, b
    y1, y2 = ay + NODE_H / 2, by + NODE_H / 2
    if bx > ax:
        x1, x2 = ax + NODE_W, bx - 4
        mid = (x1 + x2) / 2
        return f"M{x1:g},{y1:g} C{mid:g},{y1:g} {mid:g},{y2:g} {x2:g},{y2:g}"
    x1, x2 = ax + NODE_W / 2, bx + NODE_W / 2
    low = max(ay, by) + NODE_H + ROW / 2 - 4
    return f"M{x1:g},{ay + NODE_H:g} C{x1:g},{low:g} {x2:g},{low:g} {x2:g},{by + NODE_H + 4:g}"
