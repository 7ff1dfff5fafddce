"""Forward and reverse passes over a loss graph, keeping every edge's gradient contribution.

:class:`Graph` is the evaluated loss people work with::

    >>> import numpy as np
    >>> import graphviz_bp as bp
    >>> x = bp.data("x", np.array([1.0, 2.0]))
    >>> g = bp.Graph(bp.sum(x * x))
    >>> g.loss
    5.0
    >>> g.grad("x")            # two edges from x, one per slot: x + x
    array([2., 4.])
    >>> [edge["grad"].tolist() for _, _, edge in g.nx.out_edges("x", data=True)]
    [[1.0, 2.0], [1.0, 2.0]]
"""

from __future__ import annotations

import functools
import math

import networkx as nx
import numpy as np

from .errors import GraphvizBPError, NumericalError, ShapeError, UnknownNameError, did_you_mean
from .graph import Expr, arguments, gradient_edges, mark_gradient_flow, to_networkx
from .ops import OPS, summing_to

__all__ = ["Graph", "value_of", "has_nonfinite"]


class _Step:
    """One node, compiled for the passes: its op, its node dict, its argument edges.

    Everything the passes would otherwise look up again on every evaluation (the VJP of
    each slot, whether its result needs summing over broadcast axes) is decided here once.
    """

    __slots__ = ("node", "attrs", "op", "forward", "finish", "arg_edges", "arg_attrs",
                 "grad_slots", "out_edges")

    def __init__(self, G, node, flowing):
        self.node = node
        self.attrs = G.nodes[node]
        self.op = op = OPS[self.attrs["op"]] if self.attrs["kind"] == "op" else None
        params = self.attrs["params"]
        # Parameters bound once: no keyword unpacking on every evaluation.
        self.forward = (None if op is None else
                        functools.partial(op.forward, **params) if params else op.forward)
        out_shape = self.attrs["shape"]
        self.finish = _number if out_shape == () else None
        in_edges = arguments(G, node)
        self.arg_attrs = [G.nodes[u] for u, _, _, _ in in_edges]
        self.arg_edges = [edge for _, _, _, edge in in_edges]
        vjps = list(op.vjp) if op else []
        if op and op.reuses and (sibling := _computed_from(G, in_edges[0][0], op.reuses[0])):
            vjps[0] = _reusing(op.reuses[1], G.nodes[sibling])
        # One (vjp, edge dict, finish, sole) per slot a gradient flows through. ``finish``
        # makes the VJP's result the argument's gradient: a sum back to the argument's
        # shape where it was broadcast, a number for a scalar, or nothing. ``sole`` is the
        # argument's node dict when this edge is its only way to the loss: the
        # contribution is then its gradient too, and no sum is needed.
        self.grad_slots = []
        for k, (u, _, _, edge) in enumerate(in_edges):
            if (u, node, k) not in flowing:
                continue
            shape = G.nodes[u]["shape"]
            if op.broadcasts and shape != out_shape:
                finish = summing_to(shape, out_shape)
            else:
                finish = _number if shape == () else None
            sole = G.nodes[u] if len(_flowing_out(G, u, flowing)) == 1 else None
            vjp = functools.partial(vjps[k], **params) if params else vjps[k]
            self.grad_slots.append((vjp, edge, finish, sole))
        # the edges whose contributions sum to this node's gradient (when there are several)
        out_edges = _flowing_out(G, node, flowing)
        self.out_edges = out_edges if len(out_edges) > 1 else []


def _computed_from(G, node, op_name: str):
    """A node of the graph that applies op ``op_name`` to ``node`` alone, if there is one."""
    for _, v in G.out_edges(node):
        if G.nodes[v].get("op") == op_name and G.in_degree(v) == 1:
            return v
    return None


def _reusing(vjp, source: dict):
    """The VJP of an op that reuses ``source``'s value (see ``reuses`` in :mod:`.ops`)."""
    return lambda g, out, a, **params: vjp(g, out, a, source["value"], **params)


def _flowing_out(G, node, flowing) -> list[dict]:
    return [edge for u, v, k, edge in G.out_edges(node, keys=True, data=True) if (u, v, k) in flowing]


def _number(value):
    """A scalar result as a number rather than a 0-d array."""
    return value[()] if type(value) is np.ndarray else value


class Graph:
    """An evaluated loss: the networkx graph plus the forward and reverse passes over it.

    ``Graph(loss)`` takes an :class:`Expr` (or a MultiDiGraph following the schema of
    :mod:`graphviz_bp.graph`) and evaluates it. Afterwards ``g.loss`` is the loss,
    ``g.value(name)`` and ``g.grad(name)`` read nodes, and ``g.set(name, array)``
    followed by ``g.evaluate()`` recomputes both passes (the pass plan is compiled once).
    """

    def __init__(self, loss, *, evaluate: bool = True):
        G = to_networkx(loss) if isinstance(loss, Expr) else loss
        if not isinstance(G, nx.MultiDiGraph) or "loss" not in G.graph:
            raise GraphvizBPError("Graph() takes an Expr or a MultiDiGraph with G.graph['loss']")
        self.nx = G
        self.loss_id = G.graph["loss"]
        for _, value in G.nodes(data="value"):
            if type(value) is np.ndarray:  # values are read, never written: set() replaces them
                value.flags.writeable = False
        mark_gradient_flow(G)  # a graph made elsewhere may not carry the marks yet
        flowing = gradient_edges(G)
        order = list(G) if _is_topological(G) else list(nx.topological_sort(G))
        self._steps = [_Step(G, n, flowing) for n in order]
        self._op_steps = [s for s in self._steps if s.op is not None]
        self._step_of = {s.node: s for s in self._op_steps}
        self._backward_steps = [s for s in reversed(self._steps) if s.grad_slots or s.out_edges]
        self._loss_attrs = G.nodes[self.loss_id]
        self._scalar_loss = math.prod(self._loss_attrs["shape"]) == 1
        self._grad_holders = [G.edges[e] for e in flowing]
        for step in self._steps:  # nodes no gradient reaches keep grad None for good
            if step.node == self.loss_id or _flowing_out(G, step.node, flowing):
                self._grad_holders.append(step.attrs)
            else:
                step.attrs["grad"] = None
        self._downstream: dict[str, list[_Step]] = {}
        if evaluate:
            self.evaluate()

    # ------------------------------------------------------------ reading

    @property
    def output(self):
        """The value of the output node (the loss, or any array for a forward-only graph)."""
        return self.nx.nodes[self.loss_id]["value"]

    @property
    def loss(self) -> float:
        """The loss value (a Python float)."""
        return float(np.asarray(self.nx.nodes[self.loss_id]["value"]).reshape(()))

    def _node(self, name: str) -> dict:
        try:
            return self.nx.nodes[name]
        except KeyError:
            hint = did_you_mean(str(name), [str(n) for n in self.nx])
            raise UnknownNameError(f"no node named {name!r} in this graph{hint}") from None

    def value(self, name: str):
        """The forward value of node ``name``."""
        return self._node(name)["value"]

    def grad(self, name: str):
        """∂L/∂``name``, the sum over the node's out-edges (``None`` for consts)."""
        return self._node(name)["grad"]

    def leaves(self, *kinds: str) -> list[str]:
        """Leaf ids in graph order, of the given kinds (default: those with a gradient)."""
        kinds = kinds or ("param", "input")
        return [n for n, k in self.nx.nodes(data="kind") if k in kinds]

    def vjps(self, name: str) -> dict:
        """The VJPs the reverse pass applies at op node ``name``, by argument slot: each a
        function of ``(g, out, *args)`` giving that argument's gradient, summed back to its
        shape where it was broadcast. Only slots a gradient flows back through appear."""
        self._node(name)
        step = self._step_of.get(name)
        if step is None:
            return {}

        def applied(vjp, finish):
            return vjp if finish is None else lambda *a: finish(vjp(*a))

        return {edge["slot"]: applied(vjp, finish) for vjp, edge, finish, _ in step.grad_slots}

    def set(self, name: str, value) -> None:
        """Replace a leaf's value (same shape); call :meth:`evaluate` to recompute."""
        attrs = self._node(name)
        if attrs["kind"] == "op":
            raise GraphvizBPError(f"{name!r} is computed by {attrs['op']}; only leaves can be set")
        old = np.asarray(attrs["value"])
        try:
            given = np.asarray(value)
            array = given.astype(old.dtype)
        except (TypeError, ValueError):
            raise GraphvizBPError(f"{name!r} holds numbers; got {type(value).__name__}") from None
        if old.dtype.kind in "iu" and not np.array_equal(array, given):
            raise GraphvizBPError(f"{name!r} holds integer labels; got {value!r}")
        if array.shape != attrs["shape"]:
            raise ShapeError(f"{name!r} has shape {attrs['shape']}, got a value of shape {array.shape}")
        if array.ndim:
            array.flags.writeable = False
        attrs["value"] = array[()] if array.ndim == 0 else array

    # ------------------------------------------------------------ the passes

    def evaluate(self) -> "Graph":
        """Forward, then reverse mode; returns ``self``."""
        self.forward()
        self.backward()
        return self

    def forward(self, changed: str | None = None):
        """Recompute the forward values (only downstream of leaf ``changed`` if given).

        Returns the output's value: the loss.
        """
        steps = self._op_steps if changed is None else self._downstream_of(changed)
        with np.errstate(all="ignore"):  # NaN and Inf are reported, not warned about
            for step in steps:
                args = [a["value"] for a in step.arg_attrs]
                for edge, value in zip(step.arg_edges, args):
                    edge["value"] = value
                try:
                    out = step.forward(*args)
                except NumericalError as err:
                    raise NumericalError(f"node {step.node!r}: {err}") from None
                if type(out) is np.ndarray:
                    out.flags.writeable = False  # an op that writes into its input fails there
                step.attrs["value"] = out if step.finish is None else step.finish(out)
        return self.output

    def backward(self) -> None:
        """Reverse mode: each edge's contribution, each node's total (their sum)."""
        loss = self._loss_attrs
        if not self._scalar_loss:
            raise ShapeError(f"the loss must be a scalar to differentiate, got shape {loss['shape']}")
        # The last pass's gradients are let go first: their memory is then reused while
        # still in cache, rather than new memory being touched (1.36 → 1.21 ms on a
        # 256×1024 autoencoder, where every gradient of W is 2 MiB).
        for holder in self._grad_holders:
            holder["grad"] = None
        loss["grad"] = 1.0 if loss["shape"] == () else np.ones(loss["shape"])
        with np.errstate(all="ignore"):
            for step in self._backward_steps:
                attrs = step.attrs
                out_edges = step.out_edges
                if out_edges:
                    total = out_edges[0]["grad"]
                    for edge in out_edges[1:]:
                        total = total + edge["grad"]
                    if type(total) is np.ndarray:
                        total.flags.writeable = False
                    attrs["grad"] = total
                if not step.grad_slots:
                    continue
                g, out = attrs["grad"], attrs["value"]
                args = [a["value"] for a in step.arg_attrs]
                for vjp, edge, finish, sole in step.grad_slots:
                    try:
                        contribution = vjp(g, out, *args)
                    except NumericalError as err:
                        raise NumericalError(f"node {step.node!r} (backward): {err}") from None
                    if finish is not None:
                        contribution = finish(contribution)
                    if type(contribution) is np.ndarray:
                        contribution.flags.writeable = False  # the next VJP gets it as g
                    edge["grad"] = contribution
                    if sole is not None:
                        sole["grad"] = contribution

    def kinks(self, changed: str | None = None) -> list:
        """Which side of its kink each input entry of every op with kinks lies on (relu,
        abs, max, step, a comparison, a custom op's ``kinks``).

        Two evaluations with different patterns lie on different smooth pieces of the loss.
        """
        steps = self._steps if changed is None else self._downstream_of(changed)
        return [s.op.kinks(*(a["value"] for a in s.arg_attrs), **s.attrs["params"])
                for s in steps if s.op is not None and s.op.kinks is not None]

    def _downstream_of(self, leaf: str) -> list:
        if leaf not in self._downstream:
            self._node(leaf)
            below = nx.descendants(self.nx, leaf)
            self._downstream[leaf] = [s for s in self._op_steps if s.node in below]
        return self._downstream[leaf]

    def first_nonfinite(self) -> tuple[str | None, str | None]:
        """Where a NaN or an infinity first appears: (node going forwards, node going backwards).

        Forwards is in topological order (a leaf given a NaN counts); backwards, in the
        order the reverse pass reaches nodes. None where every number is finite.
        """
        forward = next((s.node for s in self._steps if has_nonfinite(s.attrs["value"])), None)
        backward = next((s.node for s in reversed(self._steps)
                         if has_nonfinite(s.attrs["grad"])), None)
        return forward, backward

    #: How a notebook shows a graph: a function of the graph giving SVG text. The drawing
    #: module sets it when imported; the engine itself draws nothing and needs no drawing
    #: package.
    display = None

    def _repr_svg_(self) -> str | None:
        return None if Graph.display is None else Graph.display(self)

    def __repr__(self):
        return f"<Graph loss={self.loss_id!r} nodes={self.nx.number_of_nodes()} value={self.loss:.6g}>"


def has_nonfinite(value) -> bool:
    """True for a float array or number holding NaN or ±Inf (None and integers: False)."""
    if value is None:
        return False
    array = np.asarray(value)
    return bool(np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)))


def value_of(expr: Expr):
    """The forward value of ``expr`` (any shape): no gradient is computed."""
    g = Graph(expr, evaluate=False)
    g.forward()
    return g.output


def _is_topological(G: nx.MultiDiGraph) -> bool:
    seen = set()
    for n in G:
        if any(u not in seen for u in G.predecessors(n)):
            return False
        seen.add(n)
    return True
