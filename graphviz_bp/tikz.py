"""A figure as TikZ, for a paper: Graphviz's layout, labels in LaTeX math, colours named.

The file is a ``standalone`` document: ``pdflatex fig.tex`` makes the figure alone, and
``\\usepackage{tikz}`` and ``\\usepackage{standalone}`` in a paper's preamble let
``\\input{fig.tex}`` place it there in the paper's own fonts. It draws the graph's
structure as the solutions of a course do: leaves and ops, the loss with a double
border, and the nodes reached along several paths in orange, with their paths numbered
and coloured as in every other figure.
"""

from __future__ import annotations

import re

from .drawing import WRITERS, layout
from .captions import drawn_symbol, inlined
from .dot import STYLE, to_dot
from .quoting import shorten

__all__ = ["to_tikz"]

#: The drawn symbols of the op table, as LaTeX math: longest first.
_SYMBOLS = [("(·)⁻¹(·)", r"(\cdot)^{-1}(\cdot)"), ("(·)ᵀ", r"(\cdot)^{\top}"),
            ("(·)⁻¹", r"(\cdot)^{-1}"), ("‖·‖²", r"\|\cdot\|^{2}"), ("log|·|", r"\log|\cdot|"),
            ("[·>0]", r"[\cdot>0]"), ("|·|", r"|\cdot|"), ("log σ", r"\log\sigma"), ("·", r"\cdot"),
            ("ᵀ", r"^{\top}"), ("⁻¹", r"^{-1}"), ("²", r"^{2}"), ("³", r"^{3}"), ("σ", r"\sigma"),
            ("Σ", r"\Sigma"), ("⊙", r"\odot"), ("⊗", r"\otimes"), ("÷", r"\div"), ("√", r"\surd"),
            ("−", "-"), ("@", r"\cdot"), ("𝟙", r"\mathbf{1}"), ("α", r"\alpha"), ("β", r"\beta"),
            ("γ", r"\gamma"), ("λ", r"\lambda"), ("μ", r"\mu"), ("×", r"\times"), ("…", r"\dots")]
_SUBSCRIPT = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
_SPECIAL = {"\\": r"\backslash ", "{": r"\{", "}": r"\}", "_": r"\_", "#": r"\#", "%": r"\%",
            "&": r"\&", "$": r"\$", "^": r"\hat{}", "~": r"\sim "}


def _math(text: str) -> str:
    """A drawn label (Unicode) as LaTeX math: symbols as macros, words upright,
    subscript digits as subscripts."""
    out, i = [], 0
    while i < len(text):
        for symbol, latex in _SYMBOLS:
            if text.startswith(symbol, i):
                out.append(latex + " ")
                i += len(symbol)
                break
        else:
            word = re.match(r"[A-Za-z][A-Za-z]+", text[i:])
            digits = re.match(r"[₀-₉]+", text[i:])
            if word:
                out.append(rf"\mathrm{{{word.group()}}}")
                i += word.end()
            elif digits:
                out.append(f"_{{{digits.group().translate(_SUBSCRIPT)}}}")
                i += digits.end()
            else:
                char = text[i]
                out.append(_SPECIAL.get(char, char if ord(char) < 128 else ""))
                i += 1
    return "".join(out).strip()


def _colour(name: str) -> str:
    """A Graphviz colour (#rrggbb or a name Graphviz knows) as LaTeX's HTML colour model."""
    return {"white": "FFFFFF", "black": "000000"}.get(name, name.lstrip("#").upper())


def _node_label(G, attrs, n) -> str:
    name = _math(shorten(attrs["label"] or n))
    if attrs["kind"] == "op":
        symbol = _math(drawn_symbol(G, n, inlined(G)))
        return f"${symbol}$" + (rf"\\ $\mathbf{{{name}}}$" if attrs["label"] else "")
    return f"${name}$"


def to_tikz(g, compact: bool | None = None, **_figure_options) -> str:
    """The figure of evaluated graph ``g`` as a standalone LaTeX document drawing it in
    TikZ, at the positions Graphviz gives the structure view (other options of a figure,
    ``show`` or ``values``, do not apply to it)."""
    G = g.nx
    nodes, edges = layout(to_dot(g, show="structure", compact=compact))
    ids = {f"node-{n}": n for n in G}
    edge_ids = {f"edge-{u}-{v}-{k}": (u, v, k) for u, v, k in G.edges(keys=True)}
    colours = {"param": STYLE["param"], "input": STYLE["input"], "op": STYLE["op"],
               "multipath": STYLE["multipath"]}
    # after \begin{document}: a paper \input-ing the file (with the standalone package)
    # skips its preamble, and still gets the libraries and colours
    lines = [r"\documentclass[tikz, border=2pt]{standalone}", r"\begin{document}",
             r"\usetikzlibrary{arrows.meta, shapes.geometric}"]
    for kind, style in colours.items():
        lines.append(rf"\definecolor{{{kind}fill}}{{HTML}}{{{_colour(style['fillcolor'])}}}")
        lines.append(rf"\definecolor{{{kind}line}}{{HTML}}{{{_colour(style['color'])}}}")
    for i, colour in enumerate(STYLE["path_colors"], start=1):
        lines.append(rf"\definecolor{{path{i}}}{{HTML}}{{{_colour(colour)}}}")
    lines.append(rf"\definecolor{{edge}}{{HTML}}{{{_colour(STYLE['edge']['color'])}}}")
    lines += [
        r"\begin{tikzpicture}[x=1pt, y=1pt, font=\small,",
        r"  leaf/.style={rectangle, rounded corners=3pt, draw, align=center, inner sep=3pt},",
        r"  op/.style={ellipse, draw=opline, fill=opfill, align=center, inner sep=1pt},",
        r"  const/.style={align=center, text=black!70},",
        r"  loss/.style={double, double distance=1.2pt},",
        r"  fold/.style={rectangle, draw, dashed, align=center},",
        r"  arrow/.style={-{Stealth[length=4pt]}, draw=edge}]"]
    for node_id, (x, y, _, _) in sorted(nodes.items()):
        n = ids.get(node_id)
        if n is None:  # a folded box of alike layers
            lines.append(rf"\node[fold] ({_key(node_id)}) at ({x:.1f}, {y:.1f}) {{layers folded}};")
            continue
        attrs = G.nodes[n]
        kind = attrs["kind"]
        style = [kind] if kind in ("op", "const") else ["leaf", f"draw={kind}line", f"fill={kind}fill"]
        if attrs["multipath"]:
            style += ["draw=multipathline", "fill=multipathfill", "very thick"]
        if n == G.graph["loss"]:
            style.append("loss")
        lines.append(rf"\node[{', '.join(style)}] ({_key(node_id)}) at ({x:.1f}, {y:.1f}) "
                     f"{{{_node_label(G, attrs, n)}}};")
    for edge_id, points, _ in edges:
        key = edge_ids.get(edge_id)
        number = G.edges[key]["path"] if key else None
        style = ["arrow"]
        if number:
            colour = f"path{(number - 1) % len(STYLE['path_colors']) + 1}"
            dash = STYLE["path_styles"][(number - 1) % len(STYLE["path_styles"])]
            style += [f"draw={colour}", "thick"] + ([dash] if dash in ("dashed", "dotted") else [])
        # from node to node, bent as Graphviz's spline leaves and enters them: TikZ ends
        # the curve at each node's own border, which is smaller than Graphviz's label
        ends = _edge_ends(edge_id, key, nodes)
        if ends is None or len(points) < 4:
            continue
        (a, b), (c, d) = points[1], points[-2]
        path = f"({ends[0]}) .. controls ({a:.1f}, {b:.1f}) and ({c:.1f}, {d:.1f}) .. ({ends[1]})"
        mark = ""
        if number:
            mark = (rf" node[pos=0.5, fill=white, inner sep=0.5pt, text={colour}]"
                    rf" {{\scriptsize\textcircled{{{number}}}}}")
        lines.append(rf"\draw[{', '.join(style)}] {path}{mark};")
    lines += [r"\end{tikzpicture}", r"\end{document}", ""]
    return "\n".join(lines)


def _edge_ends(edge_id: str, key, nodes) -> tuple[str, str] | None:
    """The TikZ names of an edge's two nodes (folded boxes included)."""
    if key is not None:
        u, v, _ = key
        return _key(f"node-{u}"), _key(f"node-{v}")
    inner = edge_id.removeprefix("edge-").removesuffix("-fold")
    for known in nodes:  # a fold box's id holds hyphens: match the known ends
        first = known.removeprefix("node-")
        if inner.startswith(first + "-") and f"node-{inner[len(first) + 1:]}" in nodes:
            return _key(known), _key(f"node-{inner[len(first) + 1:]}")
    return None


def _key(node_id: str) -> str:
    """A TikZ node name: letters, digits and hyphens only."""
    return re.sub(r"[^A-Za-z0-9-]", "-", node_id)


WRITERS["tex"] = to_tikz  # render(g, "fig.tex") writes this; drawing itself imports no TikZ
