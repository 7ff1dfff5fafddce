"""Symbolic backprop: every edge's gradient as a formula, built from the op table's rules.

:func:`derive` walks an evaluated graph backwards and gives, for every edge a gradient
flows along and for every node with a gradient, two formulas:

``local``
    in terms of the named nodes' values and ``grad(NAME)`` of the next *named* node
    downstream (what a person writes step by step: ∂L/∂W₂ = ∂L/∂z₂ h₁ᵀ);
``expanded``
    with every upstream gradient written out, in terms of node values only (the closed
    form at the end of a derivation: ∂L/∂W = W r xᵀ + W x rᵀ); None where it would be
    too long to be of use (deep nets).

Names are node ids; an unnamed intermediate appears as the expression that computes it.
The formulas print in the expression language, so ``check --claim`` reads them back, and
a test evaluates every one against the numeric gradient of its edge.

>>> from graphviz_bp import losses
>>> d = derive(losses.autoencoder())
>>> d.text(d.node_expanded["W"])
'W x rᵀ + W r xᵀ'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from .engine import Graph
from .errors import GraphvizBPError
from .graph import gradient_edges
from .ops import OPS
from .terms import ONE, Facts, Grad, Name, Num, Op, Term, add_all, instantiate, simplify, to_expr, to_latex, to_text

__all__ = ["Derivation", "derive", "symmetric_nodes", "term_params"]

_ELEMENTWISE = {"neg", "exp", "log", "sqrt", "abs", "sigmoid", "swish", "relu", "tanh", "pow"}


def symmetric_nodes(G: nx.MultiDiGraph) -> frozenset:
    """Nodes whose value is a symmetric matrix by construction (A Aᵀ, sums, K⁻¹, I, …)."""
    found = set()
    for n in nx.topological_sort(G):
        d = G.nodes[n]
        shape = d["shape"]
        if len(shape) != 2 or shape[0] != shape[1]:
            continue
        if d["kind"] == "const":
            value = np.asarray(d["value"])
            if np.array_equal(value, value.T):
                found.add(n)
            continue
        if d["kind"] != "op":
            continue
        args = [u for u, _, _ in sorted(G.in_edges(n, keys=True), key=lambda e: e[2])]
        scalar = [not G.nodes[u]["shape"] for u in args]
        sym = [u in found for u in args]
        op = d["op"]
        if op == "matmul":
            a, b = args
            found.update([n] if _is_transpose_of(G, b, a) or _is_transpose_of(G, a, b) else [])
        elif op in ("add", "sub", "mul"):
            if all(s or c for s, c in zip(sym, scalar)):
                found.add(n)
        elif op == "div":
            if sym[0] and (sym[1] or scalar[1]):
                found.add(n)
        elif op in ("inv", "transpose", *_ELEMENTWISE) and sym[0]:
            found.add(n)
    return frozenset(found)


def _is_transpose_of(G, t, a) -> bool:
    d = G.nodes[t]
    return d["kind"] == "op" and d["op"] == "transpose" and next(iter(G.predecessors(t))) == a


@dataclass
class Derivation:
    """The formulas of one graph (see the module docstring)."""

    graph: Graph
    facts: Facts
    value: dict = field(default_factory=dict)          # node → its value as a term
    edge_local: dict = field(default_factory=dict)     # (u, v, slot) → term
    edge_expanded: dict = field(default_factory=dict)
    node_local: dict = field(default_factory=dict)     # node → term (sum over its edges)
    node_expanded: dict = field(default_factory=dict)
    rule_used: dict = field(default_factory=dict)      # (u, v, slot) → the op's rule, as text
    labels: dict = field(default_factory=dict)         # node → its display label

    def text(self, term: Term) -> str:
        return to_text(term, self.labels, self.facts.scalars)

    def latex(self, term: Term) -> str:
        return to_latex(term, self.labels, self.facts.scalars)

    @staticmethod
    def expr(term: Term) -> str:
        return to_expr(term)


def _value_terms(G: nx.MultiDiGraph) -> dict:
    terms = {}
    for n in nx.topological_sort(G):
        d = G.nodes[n]
        if d["named"]:
            terms[n] = Name(n)
        elif d["kind"] == "const":
            value = np.asarray(d["value"])
            if value.ndim == 0:
                terms[n] = Num(float(value))
            elif value.ndim == 2 and value.shape[0] == value.shape[1] and np.array_equal(value, np.eye(len(value))):
                terms[n] = Op("eye", (), (("n", len(value)),))
            else:
                terms[n] = Name(n)  # an unnamed array: its id, which claims know too
        else:
            args = [terms[u] for u, _, _ in sorted(G.in_edges(n, keys=True), key=lambda e: e[2])]
            terms[n] = Op(d["op"], tuple(args), term_params(d))
    return terms


def term_params(node: dict) -> tuple:
    params = node["params"]
    if node["op"] == "pow":
        return (("p", Num(float(params["p"]))),)
    return tuple((k, v) for k, v in params.items() if v is not None)


def _use_names(term: Term, definitions: dict) -> Term:
    """Write every subterm that a named node computes as that node's name (inv(K) → Kinv)."""
    if term in definitions:
        return definitions[term]
    if isinstance(term, Op):
        return Op(term.op, tuple(_use_names(a, definitions) for a in term.args), term.params)
    return term


def _unbroadcast(term: Term, produced: tuple, wanted: tuple) -> Term:
    """Sum ``term`` (of shape ``produced``) over the broadcast axes, to shape ``wanted``."""
    if produced == wanted:
        return term
    if not wanted:
        return Op("sum", (term,))
    for _ in range(len(produced) - len(wanted)):
        term = Op("sum", (term,), (("axis", 0),))
    produced = produced[len(produced) - len(wanted):]
    for i, (have, want) in enumerate(zip(produced, wanted)):
        if want == 1 and have != 1:
            term = Op("expand", (Op("sum", (term,), (("axis", i),)),), (("axis", i),))
    return term


#: Largest written-out formula kept, in term nodes; beyond it ``expanded`` holds None.
MAX_EXPANDED_SIZE = 400


def _size(t: Term) -> int:
    return 1 + sum(_size(a) for a in t.args) if isinstance(t, Op) else 1


def derive(g: Graph, expanded: bool = True) -> Derivation:
    """Every edge's and node's gradient formula: local, and expanded unless told not to.

    An expanded formula larger than :data:`MAX_EXPANDED_SIZE` term nodes (a deep net
    written out in full) is not built: it is None, and so is everything upstream of it.
    """
    try:
        return _derive(g, expanded)
    except RecursionError:
        raise GraphvizBPError("this graph is too deep to derive symbolically") from None


def _derive(g: Graph, expanded: bool) -> Derivation:
    G = g.nx
    flowing = gradient_edges(G)
    shapes = {n: tuple(d["shape"]) for n, d in G.nodes(data=True)}
    scalars = frozenset(n for n, shape in shapes.items() if not shape)
    facts = Facts(symmetric_nodes(G), scalars, shapes)
    d = Derivation(g, facts, _value_terms(G),
                   labels={n: a["label"] for n, a in G.nodes(data=True) if a["label"]})
    loss = G.graph["loss"]
    loss_shape = G.nodes[loss]["shape"]
    seed = ONE if not loss_shape else Op("ones_like", (d.value[loss],))
    definitions = {}
    for n, node in G.nodes(data=True):
        if node["named"] and node["kind"] == "op":
            args = [d.value[u] for u, _, _ in sorted(G.in_edges(n, keys=True), key=lambda e: e[2])]
            defining = simplify(Op(node["op"], tuple(args), term_params(node)), facts)
            definitions.setdefault(defining, Name(n))

    def finish(term: Term) -> Term:
        return simplify(_use_names(simplify(term, facts), definitions), facts)

    order = list(reversed(list(nx.topological_sort(G))))
    for n in order:
        out_edges = [(n, v, k) for _, v, k in G.out_edges(n, keys=True) if (n, v, k) in flowing]
        if n == loss:
            d.node_local[n] = seed
            d.node_expanded[n] = seed if expanded else None
        elif out_edges:
            d.node_local[n] = finish(add_all([d.edge_local[e] for e in out_edges], facts))
            parts = [d.edge_expanded.get(e) for e in out_edges]
            d.node_expanded[n] = None if None in parts else finish(add_all(parts, facts))
        else:
            continue
        node = G.nodes[n]
        if node["kind"] != "op":
            continue
        op = OPS[node["op"]]
        in_edges = sorted(G.in_edges(n, keys=True), key=lambda e: e[2])
        shapes = [G.nodes[u]["shape"] for u, _, _ in in_edges]
        rules = op.rules(*shapes, **node["params"])
        named_upstream = node["named"] and not isinstance(d.node_local[n], Num)
        upstream_local = seed if n == loss else (Grad(n) if named_upstream else d.node_local[n])
        upstream_expanded = d.node_expanded.get(n) if expanded else None
        if upstream_expanded is not None and _size(upstream_expanded) > MAX_EXPANDED_SIZE:
            upstream_expanded = None
        names = ("a", "b")
        bindings = {names[i]: d.value[u] for i, (u, _, _) in enumerate(in_edges)}
        bindings["out"] = d.value[n]
        numbers = {(fn, key): _number(fn, shape) for key, shape in
                   [*zip(names, shapes), ("out", node["shape"])] for fn in ("size", "rows")}
        for (u, _, k), rule in zip(in_edges, rules):
            if (u, n, k) not in flowing:
                continue
            produced = node["shape"] if op.broadcasts else G.nodes[u]["shape"]
            for target, upstream in ((d.edge_local, upstream_local),
                                     (d.edge_expanded, upstream_expanded)):
                if upstream is None:
                    target[(u, n, k)] = None
                    continue
                term = instantiate(rule, {**bindings, "g": upstream}, node["params"], numbers, facts)
                target[(u, n, k)] = finish(_unbroadcast(term, produced, G.nodes[u]["shape"]))
            generic = instantiate(rule, {"g": Name("g"), "out": Name("out"), "a": Name("a"),
                                         "b": Name("b")}, node["params"], numbers)
            d.rule_used[(u, n, k)] = to_text(generic)
    return d


def _number(fn: str, shape: tuple):
    if fn == "size":
        return math.prod(shape)
    return shape[0] if shape else 1
