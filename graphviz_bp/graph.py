"""Building a loss: the numpy-style handle, its functions, and the networkx graph it becomes.

A loss is written with :class:`Expr` handles, as with numpy arrays::

    >>> import numpy as np
    >>> import graphviz_bp as bp
    >>> W = bp.param("W", np.ones((2, 3)))
    >>> x = bp.data("x", np.ones((3, 1)))
    >>> r = (W.T @ (W @ x) - x).named("r")
    >>> G = bp.to_networkx(0.5 * bp.sumsq(r))
    >>> G.nodes["W"]["kind"], G.out_degree("W")
    ('param', 2)

Every operation checks shapes as it is written (``ShapeError`` names both shapes);
values are computed later by the engine.

Graph schema
------------
:func:`to_networkx` returns a ``networkx.MultiDiGraph``. Edges go from an argument to
the operation that uses it; the graph attribute ``G.graph["loss"]`` is the loss node's id.

Node ids are the names people gave (``W``, ``K``, ``z1``); unnamed operations and
literals get ids made from a counter in construction order (``matmul_3``, ``const_5``),
so the same loss gives the same ids on every run.

Node attributes:

``kind``
    ``"param"`` (trainable, has a gradient), ``"input"`` (data, has a gradient),
    ``"const"`` (no gradient: numbers, labels, ``eye``) or ``"op"``.
``op``
    the operation's name in :data:`graphviz_bp.ops.OPS` (op nodes), else ``None``.
``params``
    the op's static parameters (``{"axis": 0}``), else ``{}``.
``label``
    display name: the given label or name; ``""`` for unnamed operations.
``named``
    True when a person named the node (leaves and named intermediates).
``shape``
    tuple of ints, known when the graph is built.
``value``
    forward value: a float64 numpy array, or a numpy float for shape ``()``
    (integer arrays for labels). Set on leaves when built, on ops by the engine.
``grad``
    ∂L/∂node, the total: the sum of the node's out-edges' ``grad``; ``None`` for nodes
    no gradient reaches (consts and what is computed from consts only). Set by the engine.
``multipath``
    True when a node reaches the loss along more than one edge a gradient flows back
    along, so its gradient is a sum of several contributions.
``check``
    the verdict of the last :func:`graphviz_bp.checking.check` marked on the graph
    (:func:`~graphviz_bp.checking.mark`): ``"ok"``, ``"failed"``, or ``None`` (not
    checked). Op nodes carry their VJP's check, leaves their gradient's.

Edge attributes (one edge per argument slot; the edge key is the slot, so ``x * x``
has two edges from ``x``, keys 0 and 1):

``slot``
    argument position in the consuming op.
``value``
    the forward value carried: the source node's value (the same object, not a copy).
``grad``
    the gradient flowing back along this edge alone, summed to the source's shape:
    this path's contribution to the source's ``grad``; ``None`` where no gradient flows.
``flows``
    True when a gradient flows back along this edge: its source is a param or input
    leaf or computed from one, its slot has a VJP (labels have none), and its target
    receives a gradient from the loss. Set when the graph is made.
``check``
    the verdict of the VJP along this edge, checked alone (as on nodes).
``path``
    for the out-edges of a ``multipath`` node that a gradient flows along, their number
    1, 2, … in edge order, which figures, reports and derivations all mark ①, ②, …;
    else ``None``.

:func:`mark_gradient_flow` sets ``flows``, ``path`` and ``multipath``; :func:`arguments`
gives an op node's argument edges in slot order.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import networkx as nx
import numpy as np

from .errors import GraphvizBPError, NameConflictError, ShapeError
from .limits import check_size
from .literals import Slice
from .ops import BINARY_SYNTAX, OPS, UNARY_SYNTAX

__all__ = [
    "Expr",
    "param",
    "data",
    "const",
    "eye",
    "apply",
    "as_expr",
    "to_networkx",
    "FUNCTIONS",
    "COMPOSITES",
    "LEAF_KINDS",
    "gradient_edges",
    "mark_gradient_flow",
    "arguments",
    "path_mark",
]

LEAF_KINDS = ("param", "input", "const")

class Expr:
    """A node of a loss being written: a leaf, or an op applied to other ``Expr``.

    Supports ``+ - * / @ **``, unary minus and ``.T`` with numpy's meaning (``*`` is
    elementwise), broadcasting included. Python numbers and numpy arrays mixed in
    become ``const`` leaves.
    """

    __slots__ = ("kind", "op", "args", "params", "shape", "value", "name", "label")
    __array_priority__ = 1000  # numpy array on the left: numpy defers to Expr's operators

    def __init__(self, kind, *, op=None, args=(), params=None, shape=(), value=None,
                 name=None, label=None):
        self.kind = kind
        self.op = op
        self.args = tuple(args)
        self.params = dict(params or {})
        self.shape = tuple(shape)
        self.value = value
        self.name = name
        self.label = label

    def named(self, name: str, label: str | None = None) -> "Expr":
        """Give this intermediate a name (its node id) and optionally a display label."""
        _check_name(name)
        if self.name is not None and self.name != name:
            raise NameConflictError(f"node is already named {self.name!r}, cannot rename it {name!r}")
        self.name = name
        if label is not None:
            self.label = label
        return self

    @property
    def ndim(self) -> int:
        return len(self.shape)

    # +, -, *, /, @, unary -, ** and .T are attached below from the op table's ``operator``.

    def __pos__(self):
        return self

    def __rpow__(self, base):
        raise GraphvizBPError("a number ** an expression is not supported; write exp(x * log(a))")

    def __bool__(self):
        raise GraphvizBPError("an expression has no truth value until it is evaluated")

    def __repr__(self):
        what = self.op if self.kind == "op" else self.kind
        return f"<Expr {self.name or '(unnamed)'}: {what} {self.shape}>"


def _check_name(name) -> None:
    if not isinstance(name, str) or not name.isidentifier():
        raise GraphvizBPError(f"a node name must be an identifier such as 'W1' or 'z2', got {name!r}")


def _leaf(kind: str, name: str, value, label: str | None) -> Expr:
    _check_name(name)
    array = np.asarray(value)
    if kind != "const" or not np.issubdtype(array.dtype, np.integer):
        try:
            array = np.array(array, dtype=np.float64)
        except (TypeError, ValueError):
            raise GraphvizBPError(f"leaf {name!r}: value is not numeric") from None
    else:
        array = array.copy()
    check_size(array.shape, f"leaf {name!r}")
    if array.ndim == 0 and array.dtype == np.float64:
        array = array[()]
    return Expr(kind, shape=np.shape(array), value=array, name=name, label=label)


def param(name: str, value, label: str | None = None) -> Expr:
    """A trainable leaf (a weight): it gets a gradient. ``value`` is copied as float64."""
    return _leaf("param", name, value, label)


def data(name: str, value, label: str | None = None) -> Expr:
    """An input leaf (data such as ``x`` or ``Y``): it gets a gradient too."""
    return _leaf("input", name, value, label)


def const(name: str, value, label: str | None = None) -> Expr:
    """A leaf without a gradient: a number such as α, or integer class labels."""
    return _leaf("const", name, value, label)


def eye(n: int, name: str | None = None) -> Expr:
    """The n×n identity, a ``const`` leaf drawn as I."""
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1:
        raise GraphvizBPError(f"eye(n) needs a positive integer n, got {n!r}")
    check_size((n, n), f"eye({n})")
    return Expr("const", shape=(int(n), int(n)), value=np.eye(int(n)), name=name, label="I")


def as_expr(x) -> Expr:
    """``x`` itself if it is an Expr, else a const leaf holding the number or array."""
    if isinstance(x, Expr):
        return x
    if isinstance(x, (numbers.Real, np.ndarray, np.generic)) and not isinstance(x, bool):
        try:
            array = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError):
            raise GraphvizBPError(f"cannot use an array of {np.asarray(x).dtype} in a loss; "
                                  "use real numbers") from None
        check_size(array.shape, "a constant array")
        label = _number_label(array)
        return Expr("const", shape=array.shape, value=array[()] if array.ndim == 0 else array,
                    label=label)
    raise GraphvizBPError(f"cannot use a {type(x).__name__} in a loss; use numbers, arrays or Expr")


def _number_label(array: np.ndarray) -> str:
    if array.ndim == 0:
        return f"{float(array):.6g}"
    return "×".join(map(str, array.shape)) + " array"


def apply(opname: str, *args, **params) -> Expr:
    """Apply an op of the table to ``args``; the shape is checked here."""
    op = OPS[opname]
    if len(args) != op.arity:
        raise GraphvizBPError(f"{opname} takes {op.arity} argument(s), got {len(args)}")
    unknown = set(params) - set(op.params)
    if unknown:
        raise GraphvizBPError(f"{opname} has no parameter {sorted(unknown)[0]!r}")
    args = tuple(as_expr(a) for a in args)
    full = {**op.params, **{k: _hashable(v) for k, v in params.items()}}
    try:
        shape = op.shape(*(a.shape for a in args), **full)
    except ShapeError as err:
        located = ShapeError(f"{_call_text(opname, args)}: {err}")
        located.detail = str(err)  # without the node names, for messages that quote source
        raise located from None
    except (TypeError, ValueError, IndexError) as err:  # a parameter of the wrong kind
        given = ", ".join(f"{k}={v!r}" for k, v in params.items()) or "its defaults"
        raise GraphvizBPError(f"{_call_text(opname, args)}: parameters {given} do not fit "
                              f"({err})") from None
    check_size(shape, _call_text(opname, args))
    return Expr("op", op=opname, args=args, params=full, shape=shape)


def _hashable(value):
    """A parameter as the graph keeps it: lists as tuples, numpy integers as ints, Python
    slices as :class:`~graphviz_bp.literals.Slice` (formulas holding it are hashed)."""
    if isinstance(value, Slice):
        return value
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, slice):
        return Slice(value.start, value.stop, value.step)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _call_text(opname: str, args) -> str:
    return f"{opname}({', '.join(a.name or a.label or a.op or '?' for a in args)})"


def _binary_method(opname: str, reflected: bool):
    if reflected:
        return lambda self, other: apply(opname, other, self)
    return lambda self, other: apply(opname, self, other)


def _power_method(opname: str):
    (exponent_name,) = OPS[opname].params

    def power(self, exponent):
        if isinstance(exponent, Expr) or not isinstance(exponent, numbers.Real):
            raise GraphvizBPError(
                f"** takes a number as exponent, got {type(exponent).__name__}; "
                "write exp(b * log(a)) for a variable exponent"
            )
        return apply(opname, self, **{exponent_name: float(exponent)})

    return power


def _attach_operators() -> None:
    """Give :class:`Expr` the Python operators that the op table's stanzas name."""
    for op in OPS.values():
        if op.operator == "**":
            Expr.__pow__ = _power_method(op.name)
        elif op.operator in BINARY_SYNTAX and op.arity == 2:
            _, method, reflected = BINARY_SYNTAX[op.operator]
            setattr(Expr, method, _binary_method(op.name, False))
            setattr(Expr, reflected, _binary_method(op.name, True))
        elif op.operator == ".T":
            Expr.T = property(lambda self, name=op.name: apply(name, self), doc=op.doc)
        elif op.operator in UNARY_SYNTAX:
            _, method = UNARY_SYNTAX[op.operator]
            setattr(Expr, method, lambda self, name=op.name: apply(name, self))


_attach_operators()


def _function(opname: str):
    op = OPS[opname]
    names = ("a", "b", "c")[: op.arity]

    def function(*args, **params):
        return apply(opname, *args, **params)

    function.__name__ = opname
    function.__qualname__ = opname
    function.__doc__ = f"{op.doc}  (drawn as {op.display()}; arguments: {', '.join(names)})"
    return function


#: Functions of the loss language that are not one op: ``eye``, and those that build
#: several (``concatenate`` of a list, ``stack``, ``split``, ``arange``; see :mod:`.arrays`).
COMPOSITES: dict = {"eye": eye}


class _Functions(Mapping):
    """The functions of the loss language by name: every op of the table that no operator
    spells, plus the :data:`COMPOSITES`. Read from the table when asked, so an op defined
    later is a function at once."""

    def __init__(self):
        self._made: dict = {}

    def __getitem__(self, name):
        if name in COMPOSITES:
            return COMPOSITES[name]
        op = OPS.get(name)
        if op is None or not op.is_function:
            raise KeyError(name)
        if self._made.get(name, (None,))[0] is not op:
            self._made[name] = (op, _function(name))
        return self._made[name][1]

    def __iter__(self):
        yield from (name for name, op in OPS.items() if op.is_function and name not in COMPOSITES)
        yield from COMPOSITES

    def __len__(self):
        return sum(1 for _ in self)


#: The functions of the loss language, by name (the expression language uses the same).
FUNCTIONS = _Functions()


def to_networkx(loss: Expr) -> nx.MultiDiGraph:
    """The MultiDiGraph of ``loss`` and everything it is computed from (schema above).

    Nodes are inserted in a topological order (arguments before the ops using them,
    in argument order), so iterating ``G`` walks the computation forwards.
    """
    if not isinstance(loss, Expr):
        raise GraphvizBPError(f"a loss must be an Expr, got {type(loss).__name__}")
    G = nx.MultiDiGraph()
    ids: dict[int, str] = {}  # id() only keys this walk; node ids never depend on it
    by_name: dict[str, Expr] = {}
    counter = 0

    # Iterative post-order: deep nets and long expressions exceed Python's recursion limit.
    stack = [(loss, False)]
    order: list[Expr] = []
    while stack:
        node, expanded = stack.pop()
        if id(node) in ids:
            continue
        if expanded:
            ids[id(node)] = ""
            order.append(node)
            continue
        stack.append((node, True))
        for arg in reversed(node.args):
            if id(arg) not in ids:
                stack.append((arg, False))

    for e in order:
        if e.name is not None:
            if e.name in by_name and by_name[e.name] is not e:
                raise NameConflictError(f"two different nodes are named {e.name!r}")
            by_name[e.name] = e
    taken = set(by_name)
    for e in order:
        if e.name is not None:
            node_id = e.name
        else:
            while True:
                counter += 1
                node_id = f"{e.op or 'const'}_{counter}"
                if node_id not in taken:
                    break
            taken.add(node_id)
        ids[id(e)] = node_id
        G.add_node(node_id, kind=e.kind, op=e.op, params=dict(e.params),
                   label=e.label or e.name or "",
                   named=e.name is not None, shape=e.shape, value=e.value, grad=None,
                   multipath=False, check=None)
        for slot, arg in enumerate(e.args):
            G.add_edge(ids[id(arg)], node_id, key=slot, slot=slot, value=None, grad=None,
                       flows=False, path=None, check=None)

    G.graph["loss"] = ids[id(loss)]
    mark_gradient_flow(G)
    return G


def arguments(G: nx.MultiDiGraph, node) -> list[tuple]:
    """The argument edges ``(u, node, slot, attrs)`` of an op node, in slot order."""
    return sorted(G.in_edges(node, keys=True, data=True), key=lambda edge: edge[2])


#: Marks of the paths of a node reached along several edges: ① ② … (then again).
PATH_MARKS = "①②③④⑤⑥⑦⑧⑨⑩"


def path_mark(number: int) -> str:
    """The mark of path ``number`` (from 1), as figures, reports and derivations write it."""
    return PATH_MARKS[(number - 1) % len(PATH_MARKS)]


def mark_gradient_flow(G: nx.MultiDiGraph) -> None:
    """Set the edge attributes ``flows`` and ``path`` and the node attribute ``multipath``.

    A gradient flows back along edge ``(u, v, slot)`` when ``u`` is a param or input leaf
    or computed from one, the op of ``v`` has a VJP for that slot, and ``v`` itself
    receives a gradient from the loss (so ``x`` in ``step(2 * x)`` receives none).
    """
    order = list(nx.topological_sort(G))
    loss = G.graph["loss"]

    def differentiable(u, v, slot) -> bool:
        return G.nodes[v]["kind"] == "op" and OPS[G.nodes[v]["op"]].vjp[slot] is not None

    computed_from_leaves = set()
    for n in order:
        if G.nodes[n]["kind"] in ("param", "input") or any(
                u in computed_from_leaves and differentiable(u, n, k)
                for u, _, k in G.in_edges(n, keys=True)):
            computed_from_leaves.add(n)
    flowing, receives = set(), {loss}
    for n in reversed(order):
        if n not in receives:
            continue
        for u, _, k in G.in_edges(n, keys=True):
            if u in computed_from_leaves and differentiable(u, n, k):
                flowing.add((u, n, k))
                receives.add(u)
    for u, v, k, attrs in G.edges(keys=True, data=True):
        attrs["flows"], attrs["path"] = (u, v, k) in flowing, None
    for n in G:
        out = [attrs for _, _, attrs in G.out_edges(n, data=True) if attrs["flows"]]
        G.nodes[n]["multipath"] = len(out) > 1
        if len(out) > 1:
            for number, attrs in enumerate(out, start=1):
                attrs["path"] = number


def gradient_edges(G: nx.MultiDiGraph) -> set[tuple[str, str, int]]:
    """The edges ``(u, v, slot)`` a gradient flows back along (see :func:`mark_gradient_flow`)."""
    return {(u, v, k) for u, v, k, flows in G.edges(keys=True, data="flows") if flows}
