"""The DOT source of a figure: what a figure shows and how it looks, read from the graph.

This module only reads the graph (values and gradients the engine put there); it computes
no mathematics. Everything about how a figure looks is in :data:`STYLE`.

Legend of a figure:

- blue boxes are parameters, green boxes inputs, grey text constants, white ellipses
  operations (their symbol, and their name when they have one); the loss has a double
  border;
- on each edge, the forward value carried (black) above the gradient flowing back along
  that edge alone (red, marked ∇);
- a node reached along several paths is orange with a thick border; its out-edges are
  numbered ①, ②, … in their own colours, and the node shows its gradient as the sum of
  those contributions (∇W = ① + ②) with the total;
- a node or edge whose value or gradient holds NaN or ±Inf is red;
- a dashed box marked ×N stands for N alike layers folded (see :mod:`.folding`);
- after ``check --render``: an op whose VJP failed its own check, the edge along which
  it sends a wrong gradient, and a leaf whose gradient failed are red and marked ✗; ops
  and edges that passed their own check are a subtle green.
"""

from __future__ import annotations

import html
from typing import NamedTuple

import graphviz
import numpy as np

from .engine import has_nonfinite
from .errors import RenderError, check_choice
from .folding import folded_nodes, is_compact
from .captions import drawn_symbol, inlined, written_out
from .graph import path_mark
from .heatmap import VALUE_MODES, heatmap
from .layered import LAYERED_NODES, layered_positions
from .ops import OPS
from .quoting import (array_text, html_text, number, plain_lines, shape_text, shorten,
                      visible)

__all__ = ["to_dot", "parse_show", "SHOWS", "STYLE", "INLINE_ENTRIES", "INLINE_VECTOR",
           "TOOLTIP_ENTRIES", "HIGHLIGHTS"]

#: What a figure can show; ``show`` is one of these or a comma list of the first three.
SHOWS = ("values", "gradients", "formulas", "all", "structure")

#: Largest array written out in full on an edge, and largest vector (its numbers run on
#: one line); larger ones are drawn as heatmaps, or show shape and range.
INLINE_ENTRIES, INLINE_VECTOR = 30, 12
#: Largest array written out in full in a tooltip; larger ones show their corners.
TOOLTIP_ENTRIES = 1000
COMPACT_LAYOUT = {"nslimit": "2", "nslimit1": "2", "mclimit": "0.5"}

STYLE = {
    "graph": {"rankdir": "TB", "nodesep": "0.35", "ranksep": "0.4", "fontname": "DejaVu Sans",
              "bgcolor": "white", "pad": "0.2"},
    "node": {"fontname": "DejaVu Sans", "fontsize": "13", "penwidth": "1.2", "margin": "0.08,0.04"},
    "edge": {"fontname": "DejaVu Sans", "fontsize": "10", "arrowsize": "0.7", "color": "#555555"},
    "param": {"shape": "box", "style": "rounded,filled", "fillcolor": "#d6e6f7", "color": "#3a6ea5"},
    "input": {"shape": "box", "style": "rounded,filled", "fillcolor": "#dcefd9", "color": "#4a8a3f"},
    "const": {"shape": "plaintext", "fontcolor": "#555555"},
    "op": {"shape": "ellipse", "style": "filled", "fillcolor": "white", "color": "#333333"},
    "loss": {"peripheries": "2"},
    "multipath": {"style": "rounded,filled", "fillcolor": "#ffe0b2", "color": "#e65100",
                  "penwidth": "2.6"},
    "nonfinite": {"style": "filled", "fillcolor": "#ffcdd2", "color": "#b71c1c", "penwidth": "2.6"},
    "fold": {"shape": "box3d", "style": "dashed", "color": "#555555", "fontcolor": "#333333",
             "class": "fold"},
    "nonfinite_edge": {"color": "#b71c1c", "penwidth": "2.2", "fontcolor": "#b71c1c"},
    "check_failed": {"fillcolor": "#ffebee", "color": "#c62828", "penwidth": "3"},
    "check_ok": {"fillcolor": "#eef7ee", "color": "#5b9a5b"},
    "check_failed_edge": {"color": "#c62828", "penwidth": "2.6", "style": "bold"},
    "check_ok_edge": {"color": "#8fbf8f"},
    "value_color": "#222222",
    "grad_color": "#c62828",
    "muted_color": "#777777",
    # Okabe and Ito's colours, told apart by colour-blind readers too, the darker ones
    # first (edge text is written in them); a line style each, for greyscale print
    "path_colors": ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9"),
    "path_styles": ("solid", "dashed", "dotted", "bold", "dashed", "dotted"),
}


def parse_show(show: str) -> frozenset:
    """``"values,formulas"`` → {"values", "formulas"}; ``all`` is values and gradients,
    ``structure`` nothing but the graph."""
    parts = set()
    for part in (p.strip() for p in str(show).split(",")):
        check_choice("show", part, SHOWS, RenderError)
        parts |= {"all": {"values", "gradients"}, "structure": set()}.get(part, {part})
    return frozenset(parts)


# ---------------------------------------------------------------- labels


def _matrix_cells(array: np.ndarray) -> list[list[str]] | None:
    """Rows of formatted entries for a small array, or None when it is too large."""
    if array.size > INLINE_ENTRIES or array.ndim > 2:
        return None
    if array.ndim == 0:
        return [[number(float(array), 4)]]
    finite = array[np.isfinite(array)]
    scale = float(np.max(np.abs(finite))) if finite.size else 0.0
    rows = array.reshape(1, -1) if array.ndim == 1 else array
    return [[number(float(v), 3, scale) for v in row] for row in rows]


def _written(array: np.ndarray, mode: str) -> str:
    """How ``array`` is written in ``mode``: numbers, heatmap or summary."""
    if array.ndim == 0 or array.size <= 1:
        return "numbers"
    few = array.size <= (INLINE_VECTOR if max(array.shape) == array.size else INLINE_ENTRIES)
    if not np.issubdtype(array.dtype, np.floating):  # labels and indices: not a quantity
        return "numbers" if few and array.ndim <= 2 and mode != "summary" else "summary"
    if mode in ("summary", "heatmap"):
        return mode
    if few and array.ndim <= 2:
        return "numbers"
    return "heatmap" if mode == "auto" else "summary"


#: What marks a heatmap's table among labels (its grid's frame colour).
_HEATMAP = 'COLOR="#bbbbbb"'


def _html_block(array, color: str, prefix: str, mode: str = "auto") -> str:
    """Table rows showing ``array`` in ``color``: in full when small, else as a heatmap or
    shape and range (see :func:`_written`)."""
    array = np.asarray(array)
    written = _written(array, mode)
    if written == "heatmap":
        return heatmap(array, prefix, color)

    def cell(text: str, align: str = "RIGHT") -> str:
        return f'<TD ALIGN="{align}"><FONT COLOR="{color}">{html_text(text)}</FONT></TD>'

    def table(rows: list[str]) -> str:
        return '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">' \
            + "".join(rows) + "</TABLE>"

    cells = _matrix_cells(array) if written == "numbers" else None
    if cells is None:
        finite = array[np.isfinite(array)]
        span = (f" [{number(float(finite.min()), 3)}, {number(float(finite.max()), 3)}]"
                if finite.size else "")
        return table([f"<TR>{cell(prefix + shape_text(array.shape) + span, 'LEFT')}</TR>"])
    if array.ndim == 0:
        return table([f"<TR>{cell(prefix + cells[0][0], 'LEFT')}</TR>"])
    close = "]"
    if array.ndim == 2 and array.shape[1] == 1 and array.shape[0] > 1:
        cells, close = [[row[0] for row in cells]], "]ᵀ"  # a column reads best transposed
    rows = []
    for i, row in enumerate(cells):
        lead = cell((prefix if i == 0 else "") + "[")
        entries = "".join(cell(("\u2002" if j else "") + c) for j, c in enumerate(row))
        rows.append("<TR>" + lead + entries + cell(close, "LEFT") + "</TR>")
    return table(rows)


def _label(blocks: list[str]) -> str:
    """An HTML-like label stacking ``blocks`` (inner tables or text) in one column."""
    return ('<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="1" CELLPADDING="0">'
            + "".join(f"<TR><TD>{b}</TD></TR>" for b in blocks) + "</TABLE>>")


def _tooltip_array(value, compact: bool = False) -> list[str]:
    if value is None:
        return ["none"]
    if compact:
        return array_text(value, digits=4, edge=2).splitlines()
    edge = None if np.size(value) <= TOOLTIP_ENTRIES else 3
    return array_text(value, edge=edge).splitlines()


def _node_tooltip(n, attrs, compact: bool = False) -> list[str]:
    what = attrs["op"] if attrs["kind"] == "op" else attrs["kind"]
    label = f" “{visible(attrs['label'])}”" if attrs["label"] and attrs["label"] != n else ""
    lines = [f"{n}{label} ({what}, shape {shape_text(attrs['shape'])})", "value =",
             *_tooltip_array(attrs["value"], compact)]
    if attrs["grad"] is not None:
        lines += ["∇ (total) =", *_tooltip_array(attrs["grad"], compact)]
    return lines


def _edge_tooltip(u, v, k, attrs, compact: bool = False) -> list[str]:
    lines = [f"{u} → {v} (argument {k})", "value =", *_tooltip_array(attrs["value"], compact)]
    if attrs["grad"] is not None:
        lines += ["∇ along this edge =", *_tooltip_array(attrs["grad"], compact)]
    return lines


#: Longest formula drawn on an edge or a node; a longer one ends in … (the tooltip has it).
FORMULA_LENGTH = 60


def _cut(formula: str) -> str:
    return formula if len(formula) <= FORMULA_LENGTH else formula[:FORMULA_LENGTH - 1] + "…"


class _Formulas:
    """The derivation's local formulas as the figure prints them."""

    def __init__(self, g):
        from .printing import to_text
        from .symbolic import derive  # only figures with formulas need the derivation

        self.derivation = derive(g, expanded=False)
        self.labels = {n: shorten(label) for n, label in self.derivation.labels.items()}
        self._to_text = to_text

    def _text(self, term) -> str:
        return self._to_text(term, self.labels, self.derivation.facts.scalars)

    def edge(self, key) -> str:
        return self._text(self.derivation.edge_local[key])

    def node(self, n) -> str:
        return self._text(self.derivation.node_local[n])


# ---------------------------------------------------------------- the figure


class _View(NamedTuple):
    """What a figure shows: values, gradients, formulas; compact; how arrays are written;
    which multi-path nodes are highlighted."""

    values: bool
    grads: bool
    formulas: "_Formulas | None"
    compact: bool
    arrays: str
    highlight: str = "all"
    inline: frozenset = frozenset()  # unnamed numbers drawn inside the op that takes them


#: Which nodes reached along several paths a figure highlights: every one, or params only
#: (for courses where data such as Y is not singled out).
HIGHLIGHTS = ("all", "params")


def _highlighted(G, n, view: "_View") -> bool:
    attrs = G.nodes[n]
    return bool(attrs["multipath"]) and (view.highlight == "all" or attrs["kind"] == "param")


def to_dot(g, show: str = "all", compact: bool | None = None, values: str = "auto",
           highlight: str = "all", fold: bool = True) -> str:
    """The DOT source of the figure of an evaluated graph (the same on every run and machine).

    ``show`` is ``all`` (values and gradients, the default), ``values``, ``gradients``,
    ``formulas`` (each edge's gradient as a formula), ``structure`` (the computational
    graph alone, as drawn in a hand-written solution), or a comma list such as
    ``values,formulas``. ``compact`` (default: past
    :data:`~graphviz_bp.folding.COMPACT_NODES` nodes) keeps the edges bare and summarizes
    tooltips, so that large graphs lay out in seconds; runs of alike layers fold into one
    box marked ×N past :data:`~graphviz_bp.folding.FOLD_NODES` nodes or when ``compact``
    is true; ``compact=False`` draws all. ``values`` says how arrays are written (see
    :data:`~graphviz_bp.heatmap.VALUE_MODES`): ``auto`` as numbers when they are few (at
    most :data:`INLINE_ENTRIES`, or :data:`INLINE_VECTOR` for a vector), else as a heatmap. ``highlight`` is ``all`` (every node
    reached along several paths is orange, its paths numbered and coloured) or ``params``
    (only parameters are). ``fold=False`` draws every layer of a figure that would fold,
    compact and placed level by level (:mod:`.layered`): ``dot`` can take minutes on
    the graphs that fold (an unrolled RNN of 60 steps took 27 s).
    """
    parts = parse_show(show)
    G = g.nx
    folded = folded_nodes(g, compact)
    unfolded = not fold and bool(folded)
    if unfolded:
        folded, compact = {}, True
    compact = is_compact(g, compact)
    show_values = "values" in parts and not compact
    show_grads = "gradients" in parts and not compact
    formulas = _Formulas(g) if "formulas" in parts else None  # on edges, or in tooltips
    check_choice("values", values, VALUE_MODES, RenderError)
    check_choice("highlight", highlight, HIGHLIGHTS, RenderError)
    view = _View(show_values, show_grads, formulas, compact, values, highlight, inlined(G))
    graph_attr = {**STYLE["graph"], **(COMPACT_LAYOUT if compact else {})}
    positions = None
    if unfolded or (not folded and G.number_of_nodes() > LAYERED_NODES):  # dot would take minutes
        positions = layered_positions(G, {n: _estimated_width(G, n) for n in G})
        graph_attr.update(layout="nop2", splines="line")
    dot = graphviz.Digraph(name="backprop", graph_attr=graph_attr,
                           node_attr=STYLE["node"], edge_attr=STYLE["edge"])
    loss = G.graph["loss"]

    for box in sorted(set(folded.values()), key=lambda box: box.first):
        inside = [n for n, b in folded.items() if b == box]
        broken = [n for n in inside if has_nonfinite(G.nodes[n]["value"])
                  or has_nonfinite(G.nodes[n]["grad"])]
        style = dict(STYLE["fold"])
        unit = "layers" if box.named else "blocks"
        lines = [f"{box.count} {unit} alike folded into one box: {box.first} to {box.last}"]
        failed = [n for n in inside if G.nodes[n].get("check") == "failed"]
        if broken:  # what is red must stay visible when folded
            style.update(STYLE["nonfinite"], shape="box3d", **{"class": "fold nonfinite"})
            lines.append(f"NaN or Inf inside, first at node {broken[0]!r}")
        elif failed:
            style.update(STYLE["check_failed"], shape="box3d", style="dashed,filled",
                         **{"class": "fold check-failed"})
            lines.append(f"a check failed inside, first at node {failed[0]!r}")
        dot.node(box.id, label=(f"×{box.count}\nlayers {box.first}–{box.last}\nlike layer {box.first - 1}"
                                if box.named else f"×{box.count}\nalike blocks\nlike the one above"),
                 id=f"node-{box.id}", tooltip=plain_lines(lines), **style)

    for n, attrs in G.nodes(data=True):
        if n not in folded and n not in view.inline:
            node_attrs = _node_attributes(G, n, attrs, loss, view)
            if positions is not None:
                node_attrs["pos"] = "{:.1f},{:.1f}!".format(*positions[n])
            dot.node(n, **node_attrs)

    drawn_fold_edges = set()
    for u, v, k, attrs in G.edges(keys=True, data=True):
        if u in view.inline:
            continue
        if u in folded or v in folded:  # one plain edge stands for all that cross a box
            ends = (folded[u].id if u in folded else u, folded[v].id if v in folded else v)
            if ends[0] != ends[1] and ends not in drawn_fold_edges:
                drawn_fold_edges.add(ends)
                dot.edge(*ends, id=f"edge-{ends[0]}-{ends[1]}-fold", **{"class": "path fold"})
            continue
        dot.edge(u, v, **_edge_attributes(G, u, v, k, attrs, view))
    return dot.source


def _estimated_width(G, n) -> float:
    """About how wide, in points, a node of a compact figure is drawn (for the layered
    layout, which places nodes before Graphviz measures them)."""
    attrs = G.nodes[n]
    texts = [shorten(attrs["label"] or n)]
    if attrs["kind"] == "op":
        texts.append(OPS[attrs["op"]].display(attrs["params"]))
    else:
        texts.append(shape_text(attrs["shape"]))
    return 8.0 * max(len(t) for t in texts) + (36 if attrs["kind"] == "op" else 20)


def _node_attributes(G, n, attrs, loss, view: "_View") -> dict:
    show_values, show_grads, formulas, compact = view.values, view.grads, view.formulas, view.compact
    kind = attrs["kind"]
    style = dict(STYLE[kind])
    classes = ["leaf", kind] if kind != "op" else ["op", attrs["op"]]
    rows = []
    if kind == "op":
        rows.append(f'<FONT POINT-SIZE="15">{html_text(drawn_symbol(G, n, view.inline))}</FONT>')
        if attrs["label"]:
            rows.append(f'<B>{html_text(shorten(attrs["label"]))}</B>')
        elif (written := written_out(G, n)) is not None:  # W x, Wᵀ: as the course prints it
            rows.append(f'<FONT POINT-SIZE="11" COLOR="{STYLE["muted_color"]}">'
                        f'{html_text(written)}</FONT>')
    elif kind == "const" and not attrs["shape"] and attrs["named"]:
        text = f'{shorten(attrs["label"] or n)} = {number(float(attrs["value"]), 4)}'
        rows.append(f'<B>{html_text(text)}</B>')
    else:
        rows.append(f'<B>{html_text(shorten(attrs["label"] or n))}</B>')
        if kind != "const" or attrs["shape"]:
            rows.append(f'<FONT POINT-SIZE="9" COLOR="{STYLE["muted_color"]}">'
                        f'{html_text(shape_text(attrs["shape"]))}</FONT>')
    if n == loss:
        style.update(STYLE["loss"])
        classes.append("loss")
        if show_values:
            rows.append(_html_block(attrs["value"], STYLE["value_color"], "= ", view.arrays))
    if _highlighted(G, n, view):
        style.update(STYLE["multipath"])
        classes.append("multipath")
        paths = sorted(e["path"] for _, _, e in G.out_edges(n, data=True) if e["path"])
        marks = [path_mark(p) for p in paths]
        if len(marks) > 6:  # an unrolled loop: the sum's first terms and its count
            marks = [*marks[:3], f"… ({len(marks)} paths)"]
        total = f"∇{shorten(attrs['label'] or n)} = {' + '.join(marks)}"
        if formulas is not None:
            total += f" = {_cut(formulas.node(n))}"
        if show_grads or formulas is not None:
            rows.append(f'<FONT COLOR="{STYLE["grad_color"]}">{html_text(total)}</FONT>')
        if show_grads:
            rows.append(_html_block(attrs["grad"], STYLE["grad_color"], "= ", view.arrays))
    verdict = attrs.get("check")
    if verdict is not None:
        if verdict == "failed" or kind == "op":  # a leaf that passed keeps its own colours
            style.update(STYLE[f"check_{verdict}"])
            style["style"] = "rounded,filled" if style.get("shape") == "box" else "filled"
        classes.append(f"check-{verdict}")
        if verdict == "failed":
            what = "its VJP fails its own check" if kind == "op" else "its gradient fails the check"
            rows.append(f'<FONT COLOR="{STYLE["check_failed"]["color"]}">✗ {what}</FONT>')
    if has_nonfinite(attrs["value"]) or has_nonfinite(attrs["grad"]):
        style.update(STYLE["nonfinite"])
        if style.get("shape") == "box":
            style["style"] = "rounded,filled"
        classes.append("nonfinite")
    style["label"] = _label(rows)
    style["class"] = " ".join(classes)
    style["id"] = f"node-{n}"
    lines = _node_tooltip(n, attrs, compact)
    if formulas is not None and attrs["grad"] is not None:
        lines.append(f"∇ = {formulas.node(n)}")
    style["tooltip"] = plain_lines(lines)
    return style


def _edge_attributes(G, u, v, k, attrs, view: "_View") -> dict:
    show_values, show_grads, formulas, compact = view.values, view.grads, view.formulas, view.compact
    style = {}
    classes = ["path"]
    number_ = attrs["path"]
    grad_color = STYLE["grad_color"]
    if number_ is not None and not _highlighted(G, u, view):
        number_ = None  # a sum the figure does not single out (--highlight params)
    if number_ is not None:
        classes.append("multipath-path")
        grad_color = STYLE["path_colors"][(number_ - 1) % len(STYLE["path_colors"])]
        style.update(color=grad_color, penwidth="2",
                     style=STYLE["path_styles"][(number_ - 1) % len(STYLE["path_styles"])])
    if not attrs["flows"]:
        classes.append("no-grad")
    verdict = attrs.get("check")
    if verdict == "failed" or (verdict == "ok" and number_ is None):
        style.update(STYLE[f"check_{verdict}_edge"])
        grad_color = style["color"] if verdict == "failed" else grad_color
    if verdict is not None:
        classes.append(f"check-{verdict}")
    if has_nonfinite(attrs["value"]) or has_nonfinite(attrs["grad"]):
        style.update(STYLE["nonfinite_edge"])
        classes.append("nonfinite")
    rows = []
    scalar_const = G.nodes[u]["kind"] == "const" and not G.nodes[u]["shape"]
    pair = []  # value and gradient: side by side where both are heatmaps
    if show_values and attrs["value"] is not None and not scalar_const:  # the node shows it
        pair.append(_html_block(attrs["value"], STYLE["value_color"], "", view.arrays))
    mark = path_mark(number_) + " " if number_ else ""
    if verdict == "failed":
        mark = "✗ " + mark
    if show_grads and attrs["grad"] is not None:
        pair.append(_html_block(attrs["grad"], grad_color, f"{mark}∇ ", view.arrays))
    if len(pair) == 2 and all(_HEATMAP in b for b in pair):
        rows.append('<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="6" CELLPADDING="0"><TR>'
                    + "".join(f'<TD VALIGN="TOP">{b}</TD>' for b in pair) + "</TR></TABLE>")
    else:
        rows += pair
    if formulas is not None and attrs["flows"] and not compact:
        prefix = "" if show_grads else f"{mark}∇ = "
        rows.append(f'<FONT COLOR="{html.escape(grad_color)}">'
                    f'{html_text(prefix + _cut(formulas.edge((u, v, k))))}</FONT>')
    if verdict == "failed" and not rows:
        rows.append(f'<FONT COLOR="{STYLE["check_failed_edge"]["color"]}">✗</FONT>')
    if rows:
        style["label"] = _label(rows)
    style["class"] = " ".join(classes)
    style["id"] = f"edge-{u}-{v}-{k}"
    lines = _edge_tooltip(u, v, k, attrs, compact)
    if verdict is not None:
        lines.append("the VJP along this edge " + ("FAILS its own check" if verdict == "failed"
                                                   else "passes its own check"))
    if formulas is not None and attrs["flows"]:  # whole, where the edge's label is cut
        lines.append(f"∇ along this edge = {formulas.edge((u, v, k))}")
    tooltip = plain_lines(lines)
    style["tooltip"] = tooltip
    style["labeltooltip"] = tooltip
    return style
