"""A derivation written out as a person would: forward definitions, backward steps, results.

Three formats: ``text`` (Unicode), ``markdown`` (with ``$…$`` math) and ``latex`` (a
document that compiles with any LaTeX engine, using amsmath only).

>>> from graphviz_bp import losses
>>> print(write(losses.autoencoder(), "autoencoder").splitlines()[-2])
  ∇W = W x rᵀ + W r xᵀ
"""

from __future__ import annotations

import networkx as nx

from .engine import Graph
from .errors import GraphvizBPError
from .graph import path_mark
from .printing import latex_text, markdown_text, printable, to_latex, to_text
from .simplify import simplify
from .symbolic import Derivation, definition, derive
from .terms import Grad, Name

__all__ = ["write", "steps", "FORMATS"]

FORMATS = ("text", "markdown", "latex")
TOO_LONG = "too long to write out in full; see the steps above"


def steps(deriv: Derivation):
    """What a derivation says, independent of the notation: the forward definitions
    (node, term), the backward steps (who, parts, total, node), each part being (value of
    the consumer, its op, the rule, the contribution's term, the edge (u, v, slot)) in path
    order, and the results (leaf, term written out)."""
    G = deriv.graph.nx
    loss = G.graph["loss"]
    order = list(nx.topological_sort(G))
    # Named intermediates, and unnamed ones whose formulas write them by their node id
    # (they are too long to repeat): each is defined once, in order.
    forward = [(n, simplify(definition(G, n, deriv.value), deriv.facts)) for n in order
               if G.nodes[n]["kind"] == "op"
               and (G.nodes[n]["named"] or (n != loss and deriv.value[n] == Name(n)))]
    # Every step a hand derivation writes: each node a gradient reaches, named or not (an
    # unnamed one is called by what it computes: ∂L/∂(W x)).
    backward = []
    for n in reversed(order):
        if n == loss or n not in deriv.node_local:
            continue
        who = Name(n) if G.nodes[n]["named"] or n in deriv.gradient_names else deriv.value[n]
        parts = [(deriv.value[v], G.nodes[v]["op"], _rule(deriv, (n, v, k)),
                  deriv.edge_local[(n, v, k)], (n, v, k))
                 for _, v, k, flows in G.out_edges(n, keys=True, data="flows") if flows]
        backward.append((who, parts, deriv.node_local[n], n))
    leaves = [(n, deriv.node_expanded[n]) for n in deriv.graph.leaves() if n in deriv.node_local]
    return forward, backward, leaves


def _rule(deriv: Derivation, edge) -> str:
    """The rule of a step as text, with its instance where a symmetric matrix changed it:
    ``logdet rule g ⊙ a⁻¹ᵀ = −½ D K⁻¹ᵀ, K symmetric``."""
    rule = deriv.rule_used[edge]
    if edge in deriv.instances:
        instance, symmetric = deriv.instances[edge]
        rule += f" = {deriv.text(instance)}, {', '.join(deriv.text(Name(m)) for m in symmetric)} symmetric"
    return rule


def write(g: Graph, title: str, fmt: str = "text", sizes: dict | None = None) -> str:
    """The derivation of ``g``'s gradients in ``fmt`` (text, markdown or latex); counts
    are written by the names in ``sizes`` (see :func:`~graphviz_bp.symbolic.derive`)."""
    if fmt not in FORMATS:
        raise GraphvizBPError(f"unknown format: {fmt!r} (must be one of {', '.join(FORMATS)})")
    deriv = derive(g, sizes=sizes)
    forward, backward, leaves = steps(deriv)
    return {"text": _text, "markdown": _markdown, "latex": _latex}[fmt](
        deriv, title, g.loss_id, forward, backward, leaves)


def _text(deriv, title, loss, forward, backward, leaves) -> str:
    def show(term):
        return to_text(term, deriv.labels, deriv.facts.scalars)

    def grad(who):
        return show(Grad(who.id)) if isinstance(who, Name) else f"∂L/∂({show(who)})"

    lines = [f"Derivation of {printable(title)}", "", "Forward"]
    lines += [f"  {show(Name(n))} = {show(t)}" for n, t in forward if show(t) != show(Name(n))]
    lines += ["", "Backward, from the loss (∂L/∂" + show(Name(loss)) + " = 1)"]
    for n, parts, total, *_ in backward:
        if len(parts) == 1:
            value, op, rule, term, *_ = parts[0]
            lines.append(f"  {grad(n)} = {show(term)}    [into {show(value)}: {op} rule {rule}]")
            continue
        lines.append(f"  {grad(n)}: {show(n)} reaches the loss along {len(parts)} edges")
        for number, (value, op, rule, term, *_) in enumerate(parts, start=1):
            lines.append(f"    {path_mark(number)} into {show(value)} [{op} rule {rule}]: {show(term)}")
        marks = " + ".join(path_mark(i) for i in range(1, len(parts) + 1))
        lines.append(f"    {grad(n)} = {marks} = {show(total)}")
    lines += ["", "Result, written out"]
    lines += [f"  ∇{show(Name(n))} = {show(t) if t is not None else TOO_LONG}" for n, t in leaves]
    return "\n".join(lines) + "\n"


def _markdown(deriv, title, loss, forward, backward, leaves) -> str:
    def tex(term):
        return to_latex(term, deriv.labels, deriv.facts.scalars)

    def grad(who):
        return tex(Grad(who.id)) if isinstance(who, Name) else _latex_gradient(tex(who))

    lines = [f"## Derivation of {markdown_text(title)}", "", "**Forward**", ""]
    lines += [f"- ${tex(Name(n))} = {tex(t)}$" for n, t in forward if tex(t) != tex(Name(n))]
    lines += ["", f"**Backward**, from the loss ($\\partial L / \\partial {tex(Name(loss))} = 1$)", ""]
    for n, parts, total, *_ in backward:
        if len(parts) == 1:
            value, op, rule, term, *_ = parts[0]
            lines.append(f"- ${grad(n)} = {tex(term)}$ (into ${tex(value)}$, `{op}`)")
            continue
        lines.append(f"- ${tex(n)}$ reaches the loss along {len(parts)} edges:")
        for i, (value, op, _, term, *_) in enumerate(parts, start=1):
            lines.append(f"  {i}. into ${tex(value)}$ (`{op}`): ${tex(term)}$")
        lines.append(f"  - sum: ${grad(n)} = {tex(total)}$")
    lines += ["", "**Result**", ""]
    lines += [f"- $\\nabla_{{{tex(Name(n))}}} L = {tex(t)}$" if t is not None
              else f"- $\\nabla_{{{tex(Name(n))}}} L$: {TOO_LONG}" for n, t in leaves]
    return "\n".join(lines) + "\n"


def _latex(deriv, title, loss, forward, backward, leaves) -> str:
    def tex(term):
        return to_latex(term, deriv.labels, deriv.facts.scalars)

    def align(rows):
        return ["\\begin{align*}", " \\\\\n".join(rows), "\\end{align*}"]

    def grad(who):
        return tex(Grad(who.id)) if isinstance(who, Name) else _latex_gradient(tex(who))

    safe_title = latex_text(title)
    out = ["\\documentclass{article}", "\\usepackage{amsmath}", "\\usepackage{amssymb}",
           "\\begin{document}", f"\\section*{{Derivation of {safe_title}}}",
           "\\subsection*{Forward}"]
    out += align([f"{tex(Name(n))} &= {tex(t)}" for n, t in forward if tex(t) != tex(Name(n))]
                 or ["\\text{(no named intermediates)}"])
    out.append("\\subsection*{Backward}")
    rows = [f"\\frac{{\\partial L}}{{\\partial {tex(Name(loss))}}} &= 1"]
    for n, parts, total, *_ in backward:
        if len(parts) == 1:
            value, op, _, term, *_ = parts[0]
            rows.append(f"{grad(n)} &= {tex(term)} && \\text{{into }} {tex(value)}")
            continue
        for i, (value, _, _, term, *_) in enumerate(parts, start=1):
            rows.append(f"\\text{{path {i} of }} {tex(n)}: & {tex(term)} && "
                        f"\\text{{into }} {tex(value)}")
        rows.append(f"{grad(n)} &= {tex(total)} && \\text{{the sum of the {len(parts)} paths}}")
    out += align(rows)
    out.append("\\subsection*{Result}")
    out += align([f"\\nabla_{{{tex(Name(n))}}} L &= {tex(t)}" if t is not None
                  else f"\\nabla_{{{tex(Name(n))}}} L &: \\text{{{TOO_LONG}}}" for n, t in leaves])
    out.append("\\end{document}")
    return "\n".join(out) + "\n"


def _latex_gradient(tex: str) -> str:
    """∂L/∂(W x) in LaTeX, for an intermediate written by what it computes."""
    return rf"\frac{{\partial L}}{{\partial \left({tex}\right)}}"
