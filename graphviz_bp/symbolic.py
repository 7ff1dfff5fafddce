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
>>> deriv = derive(losses.autoencoder())
>>> deriv.text(deriv.node_expanded["W"])
'W x rᵀ + W r xᵀ'
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from .engine import Graph
from .errors import GraphvizBPError
from .graph import arguments
from .literals import COMPARISONS, read_index, read_literal
from .ops import OPS, operator_op
from .printing import to_expr, to_latex, to_text
from .simplify import add_all, simplify
from .terms import AST_TOKENS, IDENTITY, ONE, Apply, Facts, Grad, Name, Num, Term

__all__ = ["Derivation", "derive", "instantiate", "symmetric_nodes", "term_params", "definition"]


def symmetric_nodes(G: nx.MultiDiGraph) -> frozenset:
    """Nodes whose value is a symmetric matrix by construction (A Aᵀ, sums, K⁻¹, I, …)."""
    found = set()
    for n in nx.topological_sort(G):
        attrs = G.nodes[n]
        shape = attrs["shape"]
        if len(shape) != 2 or shape[0] != shape[1]:
            continue
        if attrs["kind"] == "const":
            value = np.asarray(attrs["value"])
            if np.array_equal(value, value.T):
                found.add(n)
            continue
        if attrs["kind"] != "op":
            continue
        args = [u for u, _, _, _ in arguments(G, n)]
        scalar = [not G.nodes[u]["shape"] for u in args]
        sym = [u in found for u in args]
        op = attrs["op"]
        if op == "matmul":
            a, b = args
            found.update([n] if _is_transpose_of(G, b, a) or _is_transpose_of(G, a, b) else [])
        elif op in ("add", "sub", "mul"):
            if all(s or c for s, c in zip(sym, scalar)):
                found.add(n)
        elif op == "div":
            if sym[0] and (sym[1] or scalar[1]):
                found.add(n)
        elif (op in ("inv", "transpose") or OPS[op].elementwise) and all(
                s or c for s, c in zip(sym, scalar)):
            found.add(n)
    return frozenset(found)


def _is_transpose_of(G, t, a) -> bool:
    attrs = G.nodes[t]
    return attrs["kind"] == "op" and attrs["op"] == "transpose" and next(iter(G.predecessors(t))) == a


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
    gradient_names: set = field(default_factory=set)   # unnamed nodes written as ∂L/∂node
    instances: dict = field(default_factory=dict)      # (u, v, slot) → (the rule's instance
    #   before symmetry was used, the symmetric nodes it used), where that changed the step

    def text(self, term: Term) -> str:
        return to_text(term, self.labels, self.facts.scalars)

    def latex(self, term: Term) -> str:
        return to_latex(term, self.labels, self.facts.scalars)

    @staticmethod
    def expr(term: Term) -> str:
        return to_expr(term)


def instantiate(template: str, bindings: dict, params: dict | None = None,
                numbers: dict | None = None, facts: "Facts | None" = None,
                sizes_of: dict | None = None) -> Term:
    """The term of a rule ``template`` of the op table, simplified.

    ``bindings`` maps the template's names (``g``, ``out``, ``a``, ``b``) to terms,
    ``params`` the op's parameters (``axis``, ``p``) to values, and ``numbers`` gives
    ``size(x)`` and ``rows(x)`` for the bound names: ``{("size", "b"): 4}``.
    """
    params, numbers, sizes_of = params or {}, numbers or {}, sizes_of or {}

    def operator(node, arity: int) -> str:
        op = operator_op(AST_TOKENS[type(node)], arity)
        return op.name

    def build(node):
        if isinstance(node, ast.Expression):
            return build(node.body)
        if isinstance(node, ast.Constant):
            return Num(float(node.value))
        if isinstance(node, ast.Name):
            if node.id in bindings:
                return bindings[node.id]
            return Num(float(params[node.id]))
        if isinstance(node, ast.UnaryOp):
            return Apply(operator(node.op, 1), (build(node.operand),))
        if isinstance(node, ast.Attribute):
            return Apply(operator_op("." + node.attr, 1).name, (build(node.value),))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            op = operator_op("**", 1)
            (exponent,) = op.params
            return Apply(op.name, (build(node.left),), ((exponent, build(node.right)),))
        if isinstance(node, ast.BinOp):
            return Apply(operator(node.op, 2), (build(node.left), build(node.right)))
        if isinstance(node, ast.Call):
            fn = node.func.id
            if fn in ("size", "rows"):
                number = numbers[(fn, node.args[0].id)]
                if isinstance(number, (Name, Num)):
                    return number
                if number is None:  # no one size has this count: the count of the term
                    return Apply(fn, (build(node.args[0]),))
                return Num(float(number))
            keywords = []
            for k in node.keywords:
                value = params[k.value.id] if isinstance(k.value, ast.Name) else read_literal(k.value)
                keywords.append((k.arg, value))
            if fn == IDENTITY:
                size = build(node.args[0])
                if isinstance(size, Name):  # eye(N): the count is a named size
                    return Apply(IDENTITY, (), (("n", int(sizes_of[size.id])), ("size", size.id)))
                if isinstance(size, Apply):  # rows(a) of no one size: its number
                    inner = node.args[0]
                    size = Num(float(numbers[("number", inner.func.id, inner.args[0].id)]))
                return Apply(IDENTITY, (), (("n", int(size.value)),))
            return Apply(fn, tuple(build(a) for a in node.args), tuple(keywords))
        if isinstance(node, ast.Subscript):  # g[:, :3]
            return Apply("getitem", (build(node.value),), (("index", read_index(node.slice)),))
        if isinstance(node, ast.Compare) and len(node.ops) == 1:  # a != 0
            test = COMPARISONS[type(node.ops[0])]
            return Apply("compare", (build(node.left), build(node.comparators[0])), (("test", test),))
        raise ValueError(f"rule template {template!r}: cannot read {ast.dump(node)}")

    term = build(ast.parse(template, mode="eval"))
    return simplify(term, facts or Facts())
#: Largest term that writes an unnamed intermediate out (counted with repeats); a larger
#: one is written by its node id, as a person names a long subexpression.
MAX_VALUE_SIZE = 12


def _value_terms(G: nx.MultiDiGraph, sizes: dict | None = None) -> dict:
    terms, term_sizes = {}, {}
    for n in nx.topological_sort(G):
        attrs = G.nodes[n]
        term_sizes[n] = 1
        if attrs["named"]:
            terms[n] = Name(n)
        elif attrs["kind"] == "const":
            value = np.asarray(attrs["value"])
            if value.ndim == 0:
                terms[n] = Num(float(value))
            elif value.ndim == 2 and value.shape[0] == value.shape[1] and np.array_equal(value, np.eye(len(value))):
                size = _named("rows", value.shape, sizes or {})
                named = (("size", size.id),) if isinstance(size, Name) else ()
                terms[n] = Apply(IDENTITY, (), (("n", len(value)), *named))
            else:
                terms[n] = Name(n)  # an unnamed array: its id, which claims know too
        else:
            size = 1 + sum(term_sizes[u] for u, _, _, _ in arguments(G, n))
            if size > MAX_VALUE_SIZE:  # a chain or a shared subgraph would nest without end
                terms[n] = Name(n)
            else:
                terms[n], term_sizes[n] = definition(G, n, terms), size
    return terms


def definition(G: nx.MultiDiGraph, n, values: dict) -> Apply:
    """The term op node ``n`` computes, from its arguments' terms in ``values``."""
    attrs = G.nodes[n]
    args = tuple(values[u] for u, _, _, _ in arguments(G, n))
    return Apply(attrs["op"], args, term_params(attrs))


def term_params(node: dict) -> tuple:
    """An op node's parameters as a term's: an exponent is a number term (it is printed)."""
    params = node["params"]
    if OPS[node["op"]].operator == "**":
        return tuple((k, Num(float(v))) for k, v in params.items())
    return tuple((k, v) for k, v in params.items() if v is not None)


def _use_names(term: Term, definitions: dict) -> Term:
    """Write every subterm that a named node computes as that node's name (inv(K) → Kinv)."""
    if term in definitions:
        return definitions[term]
    if isinstance(term, Apply):
        return Apply(term.op, tuple(_use_names(a, definitions) for a in term.args), term.params)
    return term


def _unbroadcast(term: Term, produced: tuple, wanted: tuple) -> Term:
    """Sum ``term`` (of shape ``produced``) over the broadcast axes, to shape ``wanted``."""
    if produced == wanted:
        return term
    if not wanted:
        return Apply("sum", (term,))
    for _ in range(len(produced) - len(wanted)):
        term = Apply("sum", (term,), (("axis", 0),))
    produced = produced[len(produced) - len(wanted):]
    for i, (have, want) in enumerate(zip(produced, wanted)):
        if want == 1 and have != 1:
            term = Apply("expand", (Apply("sum", (term,), (("axis", i),)),), (("axis", i),))
    return term


#: Largest written-out formula kept, in term nodes; beyond it ``expanded`` holds None.
MAX_EXPANDED_SIZE = 400


def _size(t: Term, memo: dict) -> int:
    """Term nodes counted with repeats (a shared subterm counts each time), without
    walking a shared subterm twice."""
    if not isinstance(t, Apply):
        return 1
    if t not in memo:
        memo[t] = 1 + sum(_size(a, memo) for a in t.args)
    return memo[t]


def derive(g: Graph, expanded: bool = True, sizes: dict | None = None) -> Derivation:
    """Every edge's and node's gradient formula: local, and expanded unless told not to.

    An expanded formula larger than :data:`MAX_EXPANDED_SIZE` term nodes (a deep net
    written out in full) is not built: it is None, and so is everything upstream of it.
    ``sizes`` names the loss's sizes (``{"N": 4, "D": 3}``; by default the graph's own,
    ``G.graph["sizes"]``, which built-ins and sources set): a count taken from the shapes
    is written by the name of the one size it is, or as the count of its term.
    """
    try:
        return _derive(g, expanded, g.nx.graph.get("sizes", {}) if sizes is None else sizes)
    except RecursionError:
        raise GraphvizBPError("this graph is too deep to derive symbolically") from None


def _derive(g: Graph, expanded: bool, sizes: dict) -> Derivation:
    G = g.nx
    shapes = {n: tuple(attrs["shape"]) for n, attrs in G.nodes(data=True)}
    scalars = frozenset(n for n, shape in shapes.items() if not shape)
    facts = Facts(symmetric_nodes(G), scalars, shapes)
    deriv = Derivation(g, facts, _value_terms(G, sizes),
                       labels={n: attrs["label"] for n, attrs in G.nodes(data=True) if attrs["label"]})
    loss = G.graph["loss"]
    loss_shape = G.nodes[loss]["shape"]
    seed = ONE if not loss_shape else Apply("ones_like", (deriv.value[loss],))
    definitions, term_sizes = {}, {}
    for n, node in G.nodes(data=True):
        if node["named"] and node["kind"] == "op":
            definitions.setdefault(simplify(definition(G, n, deriv.value), facts), Name(n))

    def finish(term: Term) -> Term:
        return simplify(_use_names(simplify(term, facts), definitions), facts)

    for n in reversed(list(nx.topological_sort(G))):
        out_edges = [(n, v, k) for _, v, k, flows in G.out_edges(n, keys=True, data="flows") if flows]
        if n == loss:
            deriv.node_local[n] = seed
            deriv.node_expanded[n] = seed if expanded else None
        elif out_edges:
            deriv.node_local[n] = finish(add_all([deriv.edge_local[e] for e in out_edges], facts))
            parts = [deriv.edge_expanded.get(e) for e in out_edges]
            deriv.node_expanded[n] = None if None in parts else finish(add_all(parts, facts))
        else:
            continue
        node = G.nodes[n]
        if node["kind"] != "op":
            continue
        op = OPS[node["op"]]
        in_edges = arguments(G, n)
        arg_shapes = [G.nodes[u]["shape"] for u, _, _, _ in in_edges]
        rules = op.rules(*arg_shapes, **node["params"])
        # ∂L/∂n is written as itself where n is named, or where writing it out would nest
        # the whole chain below n into every formula above it (a residual chain doubles).
        spelled_out = _size(deriv.node_local[n], term_sizes) > MAX_VALUE_SIZE
        if spelled_out and not node["named"]:
            deriv.gradient_names.add(n)
        named_upstream = (node["named"] or spelled_out) and not isinstance(deriv.node_local[n], Num)
        upstream_local = seed if n == loss else (Grad(n) if named_upstream else deriv.node_local[n])
        upstream_expanded = deriv.node_expanded.get(n) if expanded else None
        if upstream_expanded is not None and _size(upstream_expanded, term_sizes) > MAX_EXPANDED_SIZE:
            upstream_expanded = None
        slot_names = ("a", "b", "c")
        bindings = {slot_names[i]: deriv.value[u] for i, (u, _, _, _) in enumerate(in_edges)}
        bindings["out"] = deriv.value[n]
        counted = [*zip(slot_names, arg_shapes), ("out", node["shape"])]
        numbers = {(fn, key): _named(fn, shape, sizes) for key, shape in counted
                   for fn in ("size", "rows")}
        numbers.update({("number", fn, key): _number(fn, shape) for key, shape in counted
                        for fn in ("size", "rows")})
        for (u, _, k, edge), rule in zip(in_edges, rules):
            if not edge["flows"]:
                continue
            produced = node["shape"] if op.broadcasts else G.nodes[u]["shape"]
            for target, upstream in ((deriv.edge_local, upstream_local),
                                     (deriv.edge_expanded, upstream_expanded)):
                if upstream is None:
                    target[(u, n, k)] = None
                    continue
                term = instantiate(rule, {**bindings, "g": upstream}, node["params"], numbers,
                                   facts, sizes)
                target[(u, n, k)] = finish(_unbroadcast(term, produced, G.nodes[u]["shape"]))
            generic = instantiate(rule, {"g": Name("g"), "out": Name("out"),
                                         **{s: Name(s) for s in slot_names}},
                                  node["params"], numbers, None, sizes)
            deriv.rule_used[(u, n, k)] = to_text(generic)
            # The rule's instance before what is known of symmetric matrices is used: the
            # step then shows K⁻ᵀ becoming K⁻¹, and why.
            plain = Facts(frozenset(), facts.scalars, facts.shapes)
            instance = simplify(_use_names(instantiate(rule, {**bindings, "g": upstream_local},
                                                       node["params"], numbers, plain, sizes),
                                           definitions), plain)
            if deriv.edge_local[(u, n, k)] is not None and instance != deriv.edge_local[(u, n, k)]:
                used = sorted(m for m in facts.symmetric if _mentions(instance, m))
                if used:
                    deriv.instances[(u, n, k)] = (instance, tuple(used))
    return deriv


def _mentions(t: Term, name: str) -> bool:
    if isinstance(t, Name):
        return t.id == name
    return isinstance(t, Apply) and any(_mentions(a, name) for a in t.args)


def _named(fn: str, shape: tuple, sizes: dict):
    """A count taken from a shape, as a formula writes it: the number itself for a loss
    without sizes; else the name of the one size it is, when it is one axis's length and
    exactly one size has that value (a batch of N rows divides by N, not by 4); else None,
    for the count of the term itself (size(Z) for the N·C entries of Z)."""
    number = _number(fn, shape)
    if not sizes or number == 1:
        return number
    axes = [n for n in (shape[:1] if fn == "rows" else shape) if n != 1]
    named = [k for k, v in sizes.items()  # sizes are integers; a constant c = 3 is not one
             if isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v == number]
    if len(axes) == 1 and len(named) == 1:
        return Name(named[0])
    return None


def _number(fn: str, shape: tuple):
    if fn == "size":
        return math.prod(shape)
    return shape[0] if shape else 1
