"""Drawing an evaluated graph with Graphviz: DOT source, then SVG, PDF or PNG.

This module only reads the graph (values and gradients the engine put there); it
computes no mathematics. Everything about how a figure looks is in :data:`STYLE`.

Legend of a figure:

- blue boxes are parameters, green boxes inputs, grey text constants, white ellipses
  operations (their symbol, and their name when they have one); the loss has a double
  border;
- on each edge, the forward value carried (black) above the gradient flowing back along
  that edge alone (red, marked ∇);
- a node reached along several paths is orange with a thick border; its out-edges are
  numbered ①, ②, … in their own colours, and the node shows its gradient as the sum of
  those contributions (∇W = ① + ②) with the total;
- a node or edge whose value or gradient holds NaN or ±Inf is red.

Two engines draw: ``"bundled"`` (default), the Graphviz inside pygraphviz's wheels,
in-process with no system package; and ``"system"``, the ``dot`` on PATH through the
``graphviz`` package.
"""

from __future__ import annotations

import html
import os
import re
import unicodedata
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path

import graphviz
import networkx as nx
import numpy as np

from .engine import has_nonfinite
from .errors import EngineNotFoundError, RenderError
from .graph import path_mark

__all__ = ["to_dot", "render", "draw", "SHOWS", "FORMATS", "ENGINES", "STYLE", "RenderWarning",
           "compact_note", "COMPACT_NODES", "FOLD_NODES"]

#: What a figure can show; ``show`` is one of these or a comma list of the first three.
SHOWS = ("values", "gradients", "formulas", "all", "structure")
FORMATS = ("svg", "pdf", "png", "dot")
ENGINES = ("bundled", "system")
SUFFIXES = {".svg": "svg", ".pdf": "pdf", ".png": "png", ".gv": "dot", ".dot": "dot"}

#: Largest array written out in full on an edge; larger ones show shape and range.
INLINE_ENTRIES = 30
#: Largest array written out in full in a tooltip; larger ones are summarized by numpy.
TOOLTIP_ENTRIES = 1000
#: Past this many nodes a figure is drawn compact: annotations move from the edges into
#: tooltips (edge labels become extra nodes of the layout, its slowest part), tooltips
#: are summarized, and the layout's search is limited.
COMPACT_NODES = 400
#: Past this many nodes, runs of four or more alike layers fold into one box (see
#: :func:`folds`): a column of hundreds of alike layers is read by nobody, and as a PNG
#: it outgrows the largest image Cairo draws (32767 pixels).
FOLD_NODES = 150
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
    "value_color": "#222222",
    "grad_color": "#c62828",
    "muted_color": "#777777",
    "path_colors": ("#1565c0", "#6a1b9a", "#00838f", "#8d6e63", "#ad1457", "#2e7d32"),
}



class RenderWarning(UserWarning):
    """A message Graphviz printed while drawing (not shown on the terminal)."""


# ---------------------------------------------------------------- text formatting


#: Longest label drawn in full; a longer one is shortened with … (the tooltip has it all).
LABEL_LENGTH = 40


def visible(text: str) -> str:
    """``text`` with control and format characters (newlines, bidi overrides) written as
    escapes, so that a label shows literally and cannot reorder or hide what follows."""
    return "".join(c if unicodedata.category(c) not in ("Cc", "Cf") or c == "\u200d"
                   else ("\\n" if c == "\n" else f"\\u{ord(c):04x}") for c in str(text))


def shorten(text: str) -> str:
    text = visible(text)
    return text if len(text) <= LABEL_LENGTH else text[: LABEL_LENGTH - 1] + "…"


def _html(text: str) -> str:
    """Text for an HTML-like label: markup characters escaped; brackets too (Graphviz
    2.43's label lexer rejects a cell holding a lone ``]``); backslashes doubled, since
    Graphviz expands ``\\N`` and ``\\G`` to the node's and graph's names even there."""
    text = html.escape(visible(text).replace("\\", "\\\\"))
    return text.replace("[", "&#91;").replace("]", "&#93;")


def _num(x: float, digits: int) -> str:
    if not np.isfinite(x):
        return str(x)
    text = f"{x:.{digits}g}"
    return "0" if text == "-0" else text.replace("-", "−")


def _shape_text(shape) -> str:
    return "×".join(map(str, shape)) if shape else "scalar"


def _matrix_cells(array: np.ndarray) -> list[list[str]] | None:
    """Rows of formatted entries for a small array, or None when it is too large."""
    if array.size > INLINE_ENTRIES or array.ndim > 2:
        return None
    if array.ndim == 0:
        return [[_num(float(array), 4)]]
    if array.ndim == 1:
        return [[_num(float(v), 3) for v in array]]
    return [[_num(float(v), 3) for v in row] for row in array]


def _html_block(array, color: str, prefix: str) -> str:
    """Table rows showing ``array`` in ``color``: in full when small, else shape and range."""
    array = np.asarray(array)

    def cell(text: str, align: str = "RIGHT") -> str:
        return f'<TD ALIGN="{align}"><FONT COLOR="{color}">{_html(text)}</FONT></TD>'

    def table(rows: list[str]) -> str:
        return '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">' \
            + "".join(rows) + "</TABLE>"

    cells = _matrix_cells(array)
    if cells is None:
        finite = array[np.isfinite(array)]
        span = f" [{_num(float(finite.min()), 3)}, {_num(float(finite.max()), 3)}]" if finite.size else ""
        return table([f"<TR>{cell(prefix + _shape_text(array.shape) + span, 'LEFT')}</TR>"])
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


def _tooltip_array(value, compact: bool = False) -> str:
    if value is None:
        return "none"
    array = np.asarray(value)
    if array.ndim == 0:
        return repr(array.item())
    if compact:
        return np.array2string(array, precision=4, threshold=8, edgeitems=2, max_line_width=120)
    return np.array2string(array, precision=17, floatmode="unique", threshold=TOOLTIP_ENTRIES,
                           max_line_width=120)


_INDEXED = re.compile(r"^(.*?)(\d+)(\D*)$")


def _stem_and_index(G, n) -> tuple[str, int] | None:
    """("W#", 3) for a named node W3, ("layer#_W", 3) for layer3_W: the name with its last
    number taken out, and that number. None for unnamed nodes and names without one."""
    match = _INDEXED.match(str(n)) if G.nodes[n]["named"] else None
    return (f"{match.group(1)}#{match.group(3)}", int(match.group(2))) if match else None


def layers(G) -> dict[str, int]:
    """The layer of each node of a net whose nodes are named by layer (W1, b1, Z1, H1, …,
    or layer1_W, layer1_b, …).

    A named node is in layer k when its name's last number is k and the rest of its name
    (its stem) comes with at least three numbers; an unnamed op joins the layer of its
    first consumer that has one, else of its first argument that has one. Nodes outside
    any layer are left out.
    """
    indexed = {n: found for n in G if (found := _stem_and_index(G, n))}
    counts: dict[str, set] = {}
    for stem, k in indexed.values():
        counts.setdefault(stem, set()).add(k)
    layer = {n: k for n, (stem, k) in indexed.items() if len(counts[stem]) >= 3}
    for n in reversed(list(nx.topological_sort(G))):  # consumers first
        if n not in layer and not G.nodes[n]["named"]:
            found = [layer[v] for v in G.successors(n) if v in layer]
            if found:
                layer[n] = min(found)
    for n in nx.topological_sort(G):  # then producers
        if n not in layer and not G.nodes[n]["named"]:
            found = [layer[u] for u in G.predecessors(n) if u in layer]
            if found:
                layer[n] = max(found)
    return layer


def folds(G) -> dict[str, str]:
    """Nodes folded into a box, mapped to the box's id: the interior of every run of four or
    more consecutive layers that are alike (same stems, ops and shapes)."""
    layer = layers(G)
    members: dict[int, list] = {}
    for n, k in layer.items():
        members.setdefault(k, []).append(n)

    def role(n):  # a named node by its stem, an unnamed one by its op
        found = _stem_and_index(G, n)
        return found[0] if found else G.nodes[n]["op"] or G.nodes[n]["kind"]

    def signature(k):
        return sorted((role(n), G.nodes[n]["shape"]) for n in members[k])

    folded, ks = {}, sorted(members)
    start = 0
    while start < len(ks):
        end = start
        while (end + 1 < len(ks) and ks[end + 1] == ks[end] + 1
               and signature(ks[end + 1]) == signature(ks[start])):
            end += 1
        if end - start + 1 >= 4:
            box = f"fold_{ks[start + 1]}_{ks[end - 1]}"
            for k in ks[start + 1:end]:
                for n in members[k]:
                    folded[n] = box
        start = end + 1
    return folded


def is_compact(g, compact: bool | None = None) -> bool:
    """Whether the figure of ``g`` is drawn compact (``None``: past :data:`COMPACT_NODES`)."""
    return g.nx.number_of_nodes() > COMPACT_NODES if compact is None else bool(compact)


def folded_nodes(g, compact: bool | None = None) -> dict[str, str]:
    """:func:`folds` where the figure folds: past :data:`FOLD_NODES` nodes or when asked
    compact (``compact=False`` draws every layer)."""
    fold = g.nx.number_of_nodes() > FOLD_NODES if compact is None else bool(compact)
    return folds(g.nx) if fold else {}


def compact_note(g, compact: bool | None = None) -> str | None:
    """The one line that says what a compact or folded figure leaves out, or None."""
    boxes = sorted(set(folded_nodes(g, compact).values()), key=lambda b: int(b.split("_")[1]))
    folded = "; ".join(f"layers {b.split('_')[1]}–{b.split('_')[2]} folded into one box"
                       for b in boxes)
    nodes = g.nx.number_of_nodes()
    if is_compact(g, compact):
        why = f"more than {COMPACT_NODES} nodes" if compact is None else "as asked"
        return (f"{nodes} nodes: values, gradients and formulas are in the tooltips instead "
                f"of on the edges, summarized{'; ' + folded if folded else ''} ({why}; "
                "inspect shows every number)")
    if folded:
        why = f"more than {FOLD_NODES} nodes" if compact is None else "as asked"
        return f"{nodes} nodes: {folded} ({why}; --no-compact draws every layer)"
    return None


def _plain(lines: list[str]) -> str:
    """A plain (non-HTML) attribute with lines: backslashes made literal, \\n between lines."""
    return graphviz.nohtml("\\n".join(line.replace("\\", "\\\\") for line in lines))


# ---------------------------------------------------------------- DOT


def _check_choice(kind: str, value, allowed) -> None:
    if value not in allowed:
        raise RenderError(f"unknown {kind}: {value!r} (must be one of {', '.join(allowed)})")


def parse_show(show: str) -> frozenset:
    """``"values,formulas"`` → {"values", "formulas"}; ``all`` is values and gradients,
    ``structure`` nothing but the graph."""
    parts = set()
    for part in (p.strip() for p in str(show).split(",")):
        _check_choice("show", part, SHOWS)
        parts |= {"all": {"values", "gradients"}, "structure": set()}.get(part, {part})
    return frozenset(parts)


def to_dot(g, show: str = "all", compact: bool | None = None) -> str:
    """The DOT source of the figure of an evaluated graph (byte-identical on every run).

    ``show`` is ``all`` (values and gradients, the default), ``values``, ``gradients``,
    ``formulas`` (each edge's gradient as a formula), ``structure`` (the computational
    graph alone, as drawn in a hand-written solution), or a comma list such as
    ``values,formulas``. ``compact`` (default: past :data:`COMPACT_NODES` nodes) keeps
    the edges bare and summarizes tooltips, so that large graphs lay out in seconds;
    runs of alike layers fold into one box marked ×N (see :func:`folds`) past
    :data:`FOLD_NODES` nodes or when ``compact`` is true; ``compact=False`` draws all.
    """
    parts = parse_show(show)
    from .ops import OPS

    G = g.nx
    folded = folded_nodes(g, compact)
    compact = is_compact(g, compact)
    show_values = "values" in parts and not compact
    show_grads = "gradients" in parts and not compact
    formulas = _Formulas(g) if "formulas" in parts and not compact else None
    graph_attr = {**STYLE["graph"], **(COMPACT_LAYOUT if compact else {})}
    dot = graphviz.Digraph(name="backprop", graph_attr=graph_attr,
                           node_attr=STYLE["node"], edge_attr=STYLE["edge"])
    loss = G.graph["loss"]
    path_number = {}  # (u, v, slot) -> 1, 2, ... for out-edges of multipath nodes
    for n, d in G.nodes(data=True):
        if d["multipath"]:
            flowing = [(u, v, k) for u, v, k, e in G.out_edges(n, keys=True, data=True)
                       if e["grad"] is not None]
            for i, key in enumerate(flowing, start=1):
                path_number[key] = i

    for box in sorted(set(folded.values()), key=lambda b: int(b.split("_")[1])):
        first, last = (int(x) for x in box.split("_")[1:])
        count = last - first + 1
        dot.node(box, label=f"×{count}\nlayers {first}–{last}\nlike layer {first - 1}",
                 id=f"node-{box}", tooltip=_plain([f"{count} layers alike folded into one box: "
                                                    f"{first} to {last}"]), **STYLE["fold"])

    for n, d in G.nodes(data=True):
        if n in folded:
            continue
        kind = d["kind"]
        attrs = dict(STYLE[kind])
        classes = ["leaf", kind] if kind != "op" else ["op", d["op"]]
        rows = []
        if kind == "op":
            symbol = OPS[d["op"]].display(d["params"])
            rows.append(f'<FONT POINT-SIZE="15">{_html(symbol)}</FONT>')
            if d["label"]:
                rows.append(f'<B>{_html(shorten(d["label"]))}</B>')
        elif kind == "const" and not d["shape"] and d["named"]:
            text = f'{shorten(d["label"] or n)} = {_num(float(d["value"]), 4)}'
            rows.append(f'<B>{_html(text)}</B>')
        else:
            rows.append(f'<B>{_html(shorten(d["label"] or n))}</B>')
            if kind != "const" or d["shape"]:
                rows.append(f'<FONT POINT-SIZE="9" COLOR="{STYLE["muted_color"]}">'
                            f'{_html(_shape_text(d["shape"]))}</FONT>')
        if n == loss:
            attrs.update(STYLE["loss"])
            classes.append("loss")
            if show_values:
                rows.append(_html_block(d["value"], STYLE["value_color"], "= "))
        if d["multipath"]:
            attrs.update(STYLE["multipath"])
            classes.append("multipath")
            marks = " + ".join(path_mark(i) for (u, _, _), i in
                               sorted(path_number.items(), key=lambda t: t[1]) if u == n)
            total = f"∇{shorten(d['label'] or n)} = {marks}"
            if formulas is not None:
                total += f" = {formulas.node(n)}"
            if show_grads or formulas is not None:
                rows.append(f'<FONT COLOR="{STYLE["grad_color"]}">{_html(total)}</FONT>')
            if show_grads:
                rows.append(_html_block(d["grad"], STYLE["grad_color"], "= "))
        if has_nonfinite(d["value"]) or has_nonfinite(d["grad"]):
            attrs.update(STYLE["nonfinite"])
            if attrs.get("shape") == "box":
                attrs["style"] = "rounded,filled"
            classes.append("nonfinite")
        attrs["label"] = _label(rows)
        attrs["class"] = " ".join(classes)
        attrs["id"] = f"node-{n}"
        attrs["tooltip"] = _plain(_node_tooltip(n, d, compact))
        dot.node(n, **attrs)

    drawn_fold_edges = set()
    for u, v, k, e in G.edges(keys=True, data=True):
        if u in folded or v in folded:  # one plain edge stands for all that cross a box
            ends = (folded.get(u, u), folded.get(v, v))
            if ends[0] != ends[1] and ends not in drawn_fold_edges:
                drawn_fold_edges.add(ends)
                dot.edge(*ends, id=f"edge-{ends[0]}-{ends[1]}-fold", **{"class": "path fold"})
            continue
        attrs = {}
        classes = ["path"]
        number = path_number.get((u, v, k))
        grad_color = STYLE["grad_color"]
        if number is not None:
            classes.append("multipath-path")
            grad_color = STYLE["path_colors"][(number - 1) % len(STYLE["path_colors"])]
            attrs.update(color=grad_color, penwidth="2")
        if e["grad"] is None:
            classes.append("no-grad")
        if has_nonfinite(e["value"]) or has_nonfinite(e["grad"]):
            attrs.update(STYLE["nonfinite_edge"])
            classes.append("nonfinite")
        rows = []
        scalar_const = G.nodes[u]["kind"] == "const" and not G.nodes[u]["shape"]
        if show_values and e["value"] is not None and not scalar_const:  # the node shows it
            rows.append(_html_block(e["value"], STYLE["value_color"], ""))
        mark = path_mark(number) + " " if number else ""
        if show_grads and e["grad"] is not None:
            rows.append(_html_block(e["grad"], grad_color, f"{mark}∇ "))
        if formulas is not None and e["grad"] is not None:
            prefix = "" if show_grads else f"{mark}∇ = "
            rows.append(f'<FONT COLOR="{html.escape(grad_color)}">'
                        f'{_html(prefix + formulas.edge((u, v, k)))}</FONT>')
        if rows:
            attrs["label"] = _label(rows)
        attrs["class"] = " ".join(classes)
        attrs["id"] = f"edge-{u}-{v}-{k}"
        tooltip = _plain(_edge_tooltip(u, v, k, e, compact))
        attrs["tooltip"] = tooltip
        attrs["labeltooltip"] = tooltip
        dot.edge(u, v, **attrs)
    return dot.source


class _Formulas:
    """The derivation's local formulas as the figure prints them."""

    def __init__(self, g):
        from .symbolic import derive  # only figures with formulas need the derivation

        self.derivation = derive(g, expanded=False)
        self.labels = {n: shorten(label) for n, label in self.derivation.labels.items()}

    def _text(self, term) -> str:
        from .terms import to_text

        return to_text(term, self.labels, self.derivation.facts.scalars)

    def edge(self, key) -> str:
        return self._text(self.derivation.edge_local[key])

    def node(self, n) -> str:
        return self._text(self.derivation.node_local[n])


def _node_tooltip(n, d, compact: bool = False) -> list[str]:
    what = d["op"] if d["kind"] == "op" else d["kind"]
    label = f" “{visible(d['label'])}”" if d["label"] and d["label"] != n else ""
    lines = [f"{n}{label} ({what}, shape {_shape_text(d['shape'])})", "value =",
             *_tooltip_array(d["value"], compact).splitlines()]
    if d["grad"] is not None:
        lines += ["∇ (total) =", *_tooltip_array(d["grad"], compact).splitlines()]
    return lines


def _edge_tooltip(u, v, k, e, compact: bool = False) -> list[str]:
    lines = [f"{u} → {v} (argument {k})", "value =",
             *_tooltip_array(e["value"], compact).splitlines()]
    if e["grad"] is not None:
        lines += ["∇ along this edge =", *_tooltip_array(e["grad"], compact).splitlines()]
    return lines


# ---------------------------------------------------------------- drawing


@contextmanager
def _captured_stderr():
    """Capture what C libraries write to file descriptor 2 (fontconfig complains there).

    Yields a function that returns what was written so far.
    """
    with tempfile.TemporaryFile(mode="w+b") as sink:
        try:
            saved = os.dup(2)
        except OSError:  # no stderr at all
            yield lambda: ""
            return

        def printed() -> str:
            sink.seek(0)
            return sink.read().decode(errors="replace")

        os.dup2(sink.fileno(), 2)
        try:
            yield printed
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def draw(source: str, fmt: str = "svg", engine: str = "bundled") -> bytes:
    """Lay out DOT ``source`` and draw it as ``fmt`` (svg, pdf, png) with ``engine``."""
    _check_choice("format", fmt, FORMATS)
    _check_choice("engine", engine, ENGINES)
    if fmt == "dot":
        return source.encode()
    if engine == "system":
        try:
            return graphviz.Source(source).pipe(format=fmt)
        except graphviz.ExecutableNotFound:
            raise EngineNotFoundError(
                "the system engine needs Graphviz's `dot` on PATH: install Graphviz "
                "(apt-get install graphviz, brew install graphviz, …) or use the bundled engine"
            ) from None
        except graphviz.CalledProcessError as err:
            lines = err.stderr.decode(errors="replace").strip().splitlines() or ["no message"]
            more = f" (and {len(lines) - 1} more lines)" if len(lines) > 1 else ""
            raise RenderError(f"dot failed: {lines[0].strip()}{more}") from None
    try:
        import pygraphviz
    except ImportError:
        raise EngineNotFoundError(
            "the bundled engine needs pygraphviz>=2: pip install 'pygraphviz>=2' "
            "(or use --engine system with Graphviz installed)"
        ) from None
    with _captured_stderr() as printed:
        try:
            graph = pygraphviz.AGraph(string=source)
            data = graph.draw(format=fmt, prog="dot")
        except Exception as err:  # pygraphviz raises bare exceptions for layout failures
            raise RenderError(f"Graphviz failed to draw the figure: {err}") from None
        messages = [line for line in printed().splitlines()
                    if line.strip() and "Fontconfig" not in line]
    for line in messages:
        warnings.warn(line, RenderWarning, stacklevel=2)
    return data


def format_of(path, fmt: str | None = None) -> str:
    """The output format: ``fmt`` if given, else from the suffix of ``path``."""
    if fmt is not None:
        _check_choice("format", fmt, FORMATS)
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise RenderError(f"cannot tell the format from {str(path)!r}: use a suffix "
                          f"({', '.join(SUFFIXES)}) or give the format")
    return SUFFIXES[suffix]


def write_atomically(path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise RenderError(f"cannot write {str(path)!r}: folder {str(folder)!r} does not exist")
    try:
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise RenderError(f"cannot write {str(path)!r}: {err.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def render(g, path, *, show: str = "all", engine: str = "bundled", format: str | None = None,
           compact: bool | None = None) -> Path:
    """Draw evaluated graph ``g`` into ``path``; the format comes from the suffix.

    >>> from graphviz_bp import losses, render
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "autoencoder.svg"
    >>> render(losses.autoencoder(), out).read_text().count('class="node')
    9
    """
    fmt = format_of(path, format)
    data = draw(to_dot(g, show=show, compact=compact), fmt, engine)
    write_atomically(path, data)
    return Path(path)
