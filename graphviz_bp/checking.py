"""The whole check of a loss: every op alone, the composition, and leaf by leaf where cheap.

    >>> import graphviz_bp as bp
    >>> from graphviz_bp import losses
    >>> checked = bp.check(losses.fc_net(hidden_dims=[4] * 50))
    >>> checked.ok, checked.per_leaf, len(checked.ops)
    (True, False, 256)

Each op's VJP checked alone (:func:`~graphviz_bp.opcheck.check_ops`) says which rule is
wrong, at a cost linear in the number of nodes; the composition along random directions
(:func:`~graphviz_bp.composition.check_composition`) catches what no single op shows. The
familiar leaf-by-leaf report (:func:`~graphviz_bp.gradcheck.check_gradients`) is added
when it is cheap: its cost is leaves × depth. Otherwise each leaf's gradient is judged by
the ops between it and the loss (method ``"ops"``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import networkx as nx
import numpy as np

from .engine import Graph
from .errors import GraphvizBPError
from .gradcheck import FIRST_STEP, GradientCheck, _unreached_note, check_gradients, leaf_names
from .composition import CompositionCheck, check_composition
from .opcheck import EdgeCheck, OpCheck, check_ops

__all__ = ["Checked", "check", "mark", "per_leaf_cost", "PER_LEAF_BUDGET"]

#: Leaf-by-leaf checks are made when they cost at most this many forward passes of the
#: whole loss (the ops' own checks and the composition cost about 40) ...
PER_LEAF_BUDGET = 60
#: ... or, in a small graph (no array over SMALL_ARRAY entries), this many op evaluations:
#: milliseconds, whatever the depth.
SMALL_GRAPH_EVALUATIONS, SMALL_ARRAY = 10_000, 1_000


@dataclass(frozen=True)
class Checked:
    """What :func:`check` found: each leaf's gradient, each op, and the composition."""

    gradients: list[GradientCheck]
    ops: list[OpCheck]
    composition: CompositionCheck | None
    per_leaf: bool  # whether the leaves were checked one by one against the whole loss

    @property
    def ok(self) -> bool:
        return (all(r.ok for r in self.gradients) and all(o.ok for o in self.ops)
                and (self.composition is None or self.composition.ok))

    @property
    def failing_ops(self) -> list[OpCheck]:
        """The ops whose VJP fails its own check, in graph order (nearest the leaves first)."""
        return [o for o in self.ops if not o.ok]

    def first_failure(self) -> tuple[OpCheck, EdgeCheck] | None:
        """The first failing op in graph order and its first failing edge."""
        failing = self.failing_ops
        return (failing[0], failing[0].failing[0]) if failing else None


def per_leaf_cost(g: Graph, names, max_entries: int = 64, directions: int = 4,
                  samples: int = 8) -> float:
    """About how many forward passes of the whole loss the leaf-by-leaf check costs.

    A leaf of n ≤ ``max_entries`` entries takes 4n evaluations of what lies below it,
    a larger one 4 (directions + samples); what lies below a leaf is bounded by the ops
    after its first use in graph order. Work is counted in ops, as if all cost alike.
    """
    G = g.nx
    ops = [n for n in nx.topological_sort(G) if G.nodes[n]["kind"] == "op"]
    if not ops:
        return 0.0
    position = {n: i for i, n in enumerate(ops)}
    total = 0
    for name in names:
        first = min((position[v] for v in G.successors(name)), default=len(ops))
        size = int(np.prod(G.nodes[name]["shape"], dtype=np.int64))
        points = 4 * (size if size <= max_entries else directions + samples)
        total += points * (len(ops) - first)
    return total / len(ops)


def _per_leaf_is_cheap(g: Graph, names) -> bool:
    passes = per_leaf_cost(g, names)
    if passes <= PER_LEAF_BUDGET:
        return True
    G = g.nx
    ops = sum(1 for n in G if G.nodes[n]["kind"] == "op")
    largest = max(int(np.prod(G.nodes[n]["shape"], dtype=np.int64)) for n in G)
    return largest <= SMALL_ARRAY and passes * ops <= SMALL_GRAPH_EVALUATIONS


def check(g: Graph, wrt=None, *, per_leaf: bool | None = None, seed: int = 0,
          directions: int = 2) -> Checked:
    """Check backprop on an evaluated graph: every op alone, the composition along
    ``directions`` random directions, and the gradient of each leaf (``wrt``: a name or
    names; default every param and input leaf).

    ``per_leaf`` chooses how leaves are judged: ``True`` against finite differences of
    the whole loss, one leaf at a time (entry by entry for small leaves); ``False`` by
    the ops on their way to the loss (linear in the graph's size); ``None`` (default)
    leaf by leaf when that costs at most :data:`PER_LEAF_BUDGET` forward passes, or
    :data:`SMALL_GRAPH_EVALUATIONS` op evaluations in a graph of small arrays.

    A leaf is judged by its ops when every op on its way to the loss passes its own,
    resolved check. Where that cannot vouch for it (an op there could not be checked
    alone, or the composition fails and no failing op explains the leaf), the leaf is
    checked against the whole loss after all, and where even that cannot resolve it (a
    loss of 10¹² varying by 1), it fails with a note saying why: a gradient no check
    could see is never called right. The graph is left as it was found; :func:`mark`
    then writes the verdicts on it for a figure.
    """
    if not isinstance(g, Graph):
        raise GraphvizBPError(f"check takes an evaluated Graph, got {type(g).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise GraphvizBPError(f"seed must be a non-negative integer, got {seed!r}")
    if g.nx.nodes[g.loss_id]["grad"] is None:
        raise GraphvizBPError("the graph has no gradients yet: evaluate it first (g.evaluate())")
    if isinstance(directions, bool) or not isinstance(directions, (int, np.integer)) or directions < 1:
        raise GraphvizBPError(f"directions must be a positive integer, got {directions!r}")
    names = leaf_names(g, wrt)
    ops = check_ops(g, directions=directions, seed=seed)
    composition = check_composition(g, directions=directions, seed=seed)
    if per_leaf is None:
        per_leaf = _per_leaf_is_cheap(g, names)
    below = _below(g, ops)
    writer = next((o for o in ops for e in o.edges if e.in_place), None)
    if writer is not None:  # shared arrays written over: no op vouches for any leaf
        below = {n: replace(b, failing=b.failing or writer.node,
                            failing_op=b.failing_op or writer.op) for n, b in below.items()}
    if per_leaf:
        trusted = composition is None or (composition.ok and composition.resolved)
        checked_ops = {o.node for o in ops}
        gradients = [r if r.resolved or not trusted else
                     _judged_by_ops(r, below[r.wrt], len(nx.descendants(g.nx, r.wrt) & checked_ops))
                     for r in check_gradients(g, names, seed=seed)]
        return Checked(gradients, ops, composition, True)
    # A composition that fails, or that could not be checked, leaves the engine's sums
    # unconfirmed: the ops alone cannot vouch for a leaf then.
    composition_unsure = composition is not None and not (composition.ok and composition.resolved)
    judged, unsure = {}, []
    for name in names:
        b = below[name]
        if b.failing is None and (b.unsure is not None or composition_unsure):
            unsure.append(name)  # the ops cannot vouch for it: the whole loss must
        else:
            judged[name] = _by_ops(g, name, b)
    if unsure:
        if per_leaf_cost(g, unsure) <= 10 * PER_LEAF_BUDGET or _per_leaf_is_cheap(g, unsure):
            for r in check_gradients(g, unsure, seed=seed):
                judged[r.wrt] = r
        else:
            for name in unsure:
                b = below[name]
                why = (f"the op {b.unsure!r} on its way to the loss could not be checked alone"
                       if b.unsure else "the whole loss along random directions disagrees "
                       "with backprop" if not composition.ok else
                       "the whole loss along random directions could not be checked")
                judged[name] = replace(
                    _by_ops(g, name, b), ok=False,
                    note=f"not confirmed: {why}, and checking the leaf against the whole "
                         "loss costs too much here (--per-leaf does it)")
    return Checked([judged[n] for n in names], ops, composition, False)


@dataclass(frozen=True)
class _Below:
    """The op checks below a node: the worst error, the first failing op, and an op that
    could not be checked alone."""

    worst: float = 0.0
    failing: str | None = None
    failing_op: str | None = None
    checked: bool = False  # whether any op below was checked
    unsure: str | None = None


def _below(g: Graph, ops: list[OpCheck]) -> dict[str, _Below]:
    """For every node, what the checks of the ops below it found (one sweep, O(edges))."""
    G = g.nx
    by_node = {o.node: o for o in ops}
    found: dict[str, _Below] = {}
    for n in reversed(list(nx.topological_sort(G))):
        worst, failing, failing_op, checked, unsure = 0.0, None, None, False, None
        own = by_node.get(n)
        if own is not None:
            checked = True
            if np.isfinite(own.max_rel_error):
                worst = own.max_rel_error
            if not own.ok:
                failing, failing_op = n, own.op
            elif not own.resolved:
                unsure = n
        for v in G.successors(n):
            b = found[v]
            worst, checked = max(worst, b.worst), checked or b.checked
            if failing is None and b.failing is not None:
                failing, failing_op = b.failing, b.failing_op
            unsure = unsure or b.unsure
        found[n] = _Below(worst, failing, failing_op, checked, unsure)
    return found


def _by_ops(g: Graph, name: str, below: _Below) -> GradientCheck:
    """A leaf's gradient judged by the ops between it and the loss, each checked alone."""
    reaches = g.grad(name) is not None
    ok = below.failing is None
    if not ok:
        note = (f"the op {below.failing!r} ({below.failing_op}) on its way to the loss "
                "fails its own check")
    elif not reaches:
        note = _unreached_note(g, name, True)
    else:
        note = None
    return GradientCheck(name, tuple(g.nx.nodes[name]["shape"]), "ops", below.worst, ok,
                         FIRST_STEP, 0.0, note, reaches)


def _judged_by_ops(result: GradientCheck, below: _Below, count: int) -> GradientCheck:
    """A leaf the whole loss's differences cannot resolve passes when all its ops do, each
    resolved alone."""
    if below.failing is not None or below.unsure is not None or not below.checked:
        return result
    return replace(result, ok=True,
                   note=f"{result.note}; the {count} op(s) on its way to the loss, "
                        "each checked alone, pass")


def mark(g: Graph, checked: Checked) -> None:
    """Write the verdicts on the graph (node and edge attribute ``check``), for a figure:
    op nodes and their argument edges by their own checks, leaves by their gradient's."""
    G = g.nx
    for n in G:
        G.nodes[n]["check"] = None
    for _, _, attrs in G.edges(data=True):
        attrs["check"] = None
    for o in checked.ops:
        G.nodes[o.node]["check"] = "ok" if o.ok else "failed"
        for e in o.edges:
            if e.resolved or not e.ok:
                G.edges[e.source, o.node, e.slot]["check"] = "ok" if e.ok else "failed"
    for r in checked.gradients:
        G.nodes[r.wrt]["check"] = "ok" if r.ok else "failed"
