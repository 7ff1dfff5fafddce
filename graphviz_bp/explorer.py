"""The explorer: one self-contained HTML page to click through a graph and step through
its backward pass.

The page holds three things and loads nothing else (its Content-Security-Policy forbids
it): the figure, as the SVG Graphviz draws for :func:`~graphviz_bp.drawing.render` (node
groups keep their ids, ``node-W``); the ``inspect --json`` document in
``<script type="application/json" id="graph-data">``; and what the page adds to it
(``id="explorer-data"``): the order of the passes (:func:`walk_order`), every node's name and definition,
every edge's rule and formula, the derivation's steps and the folded boxes. The script
and style are the files of ``assets/``, written inline.

>>> from graphviz_bp import losses
>>> text = page(losses.autoencoder(), "autoencoder")
>>> text.count('<script type="application/json"'), "<link" in text or " src=" in text
(2, False)
"""

from __future__ import annotations

import html
import numbers
import re
from importlib import resources
from pathlib import Path

import networkx as nx

from .captions import drawn_symbol, inlined, written_out
from .derivation import steps
from .dot import STYLE, to_dot
from .errors import GraphvizBPError, RenderError
from .drawing import WRITERS, draw, graph_of, write_atomically
from .folding import folded_nodes
from .graph import arguments, path_mark
from .heatmap import NAN_COLOR, PALETTE
from .layered import LAYERED_NODES
from .printing import printable
from .report import inspect_data, to_json
from .symbolic import definition, derive
from .terms import Grad, Name

__all__ = ["page", "explore", "Explorer", "explorer_data", "UNFOLDED_NODES", "NAME_LENGTH"]

#: A folded figure's boxes expand on click into the figure drawn unfolded (compact, level
#: by level), which the page carries too up to this many nodes; past it, a box lists the
#: nodes it holds.
UNFOLDED_NODES = 2 * LAYERED_NODES
#: The longest name an unnamed node is called by (what it computes, cut short).
NAME_LENGTH = 48
#: What the page may load: nothing but itself (scripts and styles inline, images as data).
POLICY = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
          "img-src data:")


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath("assets", name).read_text(encoding="utf-8")


def _cut(text: str, length: int = NAME_LENGTH) -> str:
    return text if len(text) <= length else text[:length - 1] + "…"


def explorer_data(g, title: str, compact: bool | None = None) -> dict:
    """What the page adds to the ``inspect --json`` document (see the module docstring)."""
    G = g.nx
    try:
        deriv = derive(g)
    except GraphvizBPError:  # too deep to write out in full: the local formulas only
        deriv = derive(g, expanded=False)
    forward, backward, leaves = steps(deriv)
    inline, leaves_ = inlined(G), set(g.leaves())

    def name(n) -> str:  # as the figure captions it: W, W x, or what it computes
        if G.nodes[n]["named"]:
            return deriv.text(Name(n))
        caption = written_out(G, n) if G.nodes[n]["kind"] == "op" else None
        return _cut(caption or deriv.text(deriv.value[n]))

    def grad_name(n) -> str:
        return deriv.text(Grad(n)) if G.nodes[n]["named"] else f"∂L/∂({name(n)})"

    nodes = {}
    for n, attrs in G.nodes(data=True):
        node = {"name": name(n), "grad_name": grad_name(n), "drawn": n not in inline}
        if attrs["kind"] == "op":
            node["symbol"] = drawn_symbol(G, n, frozenset())
            node["definition"] = _cut(deriv.text(definition(G, n, deriv.value)), 400)
            node["params"] = {k: printable(str(v)) for k, v in attrs["params"].items()
                              if v is not None}
        if n in deriv.node_local:
            node["formula_text"] = deriv.text(deriv.node_local[n])
            expanded = deriv.node_expanded.get(n)
            if expanded is not None and n in leaves_:
                node["written_out"] = deriv.text(expanded)
        nodes[n] = node

    edges = []
    for u, v, k, flows in G.edges(keys=True, data="flows"):
        edge = {"source": u, "target": v, "slot": k}
        if flows and (u, v, k) in deriv.edge_local:
            edge.update(op=G.nodes[v]["op"], rule=deriv.rule_used[(u, v, k)],
                        formula_text=deriv.text(deriv.edge_local[(u, v, k)]))
        edges.append(edge)

    derivation = {
        "forward": [{"node": n, "text": f"{deriv.text(Name(n))} = {deriv.text(t)}"}
                    for n, t in forward if deriv.text(t) != deriv.text(Name(n))],
        "backward": [{"node": n, "grad": grad_name(n), "total": deriv.text(total),
                      "parts": [{"edge": list(edge), "into": _cut(deriv.text(value)), "op": op,
                                 "rule": rule, "term": deriv.text(term)}
                                for value, op, rule, term, edge in parts]}
                     for _, parts, total, n in backward],
        "result": [{"node": n, "text": f"∇{deriv.text(Name(n))} = "
                                       + (deriv.text(t) if t is not None else "too long to write out")}
                   for n, t in leaves],
    }

    folded = folded_nodes(g, compact)
    folds = {}
    for n, box in folded.items():
        folds.setdefault(box.id, {"count": box.count, "first": box.first, "last": box.last,
                                  "named": box.named, "nodes": []})["nodes"].append(n)
    order = walk_order(G)
    return {
        "title": printable(title), "loss": G.graph["loss"], "order": order,
        "nodes": nodes, "edges": edges, "derivation": derivation, "folds": folds,
        "fold_of": {n: box.id for n, box in folded.items()},
        "marks": {str(i): path_mark(i) for i in range(1, 1 + max(
            [p for _, _, p in G.edges(data="path") if p] or [0]))},
        "style": {"palette": PALETTE, "nan": NAN_COLOR, "paths": list(STYLE["path_colors"]),
                  "grad": STYLE["grad_color"]},
    }


def walk_order(G) -> list:
    """The nodes in the order a person computes them: each op right after its arguments,
    taken in slot order, from the loss down (a depth-first post-order); nodes that do not
    reach the loss follow, in topological order. Reversed, it is the backward pass."""
    loss, order, seen = G.graph["loss"], [], set()
    stack = [(loss, False)]
    while stack:
        n, expanded = stack.pop()
        if expanded:
            order.append(n)
        elif n not in seen:
            seen.add(n)
            stack.append((n, True))
            stack.extend((u, False) for u, _, _, _ in reversed(arguments(G, n)) if u not in seen)
    return order + [n for n in nx.topological_sort(G) if n not in seen]


_PROLOGUE = re.compile(r"\A.*?(?=<svg\b)", re.S)
_TITLE = re.compile(r"<title>.*?</title>\n?", re.S)


def _inline_svg(svg: bytes) -> str:
    """Graphviz's SVG as an element of the page: without its XML prologue and doctype, and
    without tooltips (the page's own panel shows what they said, in full)."""
    return _TITLE.sub("", _PROLOGUE.sub("", svg.decode(), count=1))


def _json_script(element_id: str, document: str) -> str:
    # "<" appears in JSON only inside strings, where "\\u003c" is the same character: no
    # "</script" or "<!--" of a user's text can end or change the element.
    safe = document.replace("<", "\\u003c")
    return f'<script type="application/json" id="{element_id}">{safe}</script>'


def page(g, title: str | None = None, *, show: str = "all", compact: bool | None = None,
         values: str = "auto", highlight: str = "all", engine: str = "bundled") -> str:
    """The explorer of evaluated graph ``g`` as one HTML document (a str).

    The figure is the one :func:`~graphviz_bp.drawing.render` draws with the same
    ``show``, ``compact``, ``values`` and ``highlight``; ``title`` names the loss (the
    ``source`` of the embedded ``inspect --json`` document).
    """
    g = graph_of(g)
    title = "graph" if title is None else str(title)
    options = dict(show=show, values=values, highlight=highlight)
    figure = _inline_svg(draw(to_dot(g, compact=compact, **options), "svg", engine))
    unfolded = ""
    if folded_nodes(g, compact) and g.nx.number_of_nodes() <= UNFOLDED_NODES:
        svg = draw(to_dot(g, compact=compact, fold=False, **options), "svg", engine)
        unfolded = f'<template id="figure-unfolded">{_inline_svg(svg)}</template>'
    graph_data = to_json(inspect_data(g, title))
    extra = to_json(explorer_data(g, title, compact))
    return _asset("explorer.html").format(
        title=html.escape(printable(title)), policy=POLICY, style=_asset("explorer.css"),
        figure=figure, unfolded=unfolded, graph_data=_json_script("graph-data", graph_data),
        explorer_data=_json_script("explorer-data", extra), script=_asset("explorer.js"))


def _write_page(g, *, title=None, show="all", compact=None, values="auto", highlight="all",
                engine="bundled", **_ignored) -> str:
    return page(g, title, show=show, compact=compact, values=values, highlight=highlight,
                engine=engine)


WRITERS["html"] = _write_page  # render(g, "loss.html") writes this


def _frame_height(height) -> int:
    if isinstance(height, bool) or not isinstance(height, numbers.Integral) or not 100 <= height <= 10_000:
        raise RenderError(f"height must be a whole number of pixels from 100 to 10000, got {height!r}")
    return int(height)


class Explorer:
    """The explorer of a graph: shown in a notebook (in a frame of its own, so the page's
    script and ids stay apart from the notebook's), saved with :meth:`save`."""

    def __init__(self, html_text: str, height: int = 640):
        self.html = html_text
        self.height = _frame_height(height)

    def _repr_html_(self) -> str:
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" sandbox="allow-scripts" '
                f'style="width: 100%; height: {self.height}px; border: 1px solid #ccc">'
                "</iframe>")

    def save(self, path):
        """Write the page to ``path`` (whole or not at all)."""
        write_atomically(path, self.html.encode())
        return Path(path)


def explore(g, title: str | None = None, height: int = 640, **options) -> Explorer:
    """The explorer of evaluated graph ``g`` (or of a loss ``Expr``): displayed by a
    notebook in a frame ``height`` pixels high, or saved as a page. ``options`` are those
    of :func:`page`."""
    height = _frame_height(height)  # refused before the work
    return Explorer(page(g, title, **options), height)
