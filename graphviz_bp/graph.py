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
    True when a node with a gradient reaches the loss along more than one edge, so its
    gradient is a sum of several contributions.

Edge attributes (one edge per argument slot; the edge key is the slot, so ``x * x``
has two edges from ``x``, keys 0 and 1):

``slot``
    argument position in the consuming op.
``value``
    the forward value carried: the source node's value (the same object, not a copy).
``grad``
    the gradient flowing back along this edge alone, summed to the source's shape:
    this path's contribution to the source's ``grad``; ``None`` where no gradient flows.
"""

from __future__ import annotations

import math
import numbers

import networkx as nx
import numpy as np

from .errors import GraphvizBPError, NameConflictError, ShapeError
from .ops import OPS

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
    "LEAF_KINDS",
    "gradient_edges",
    "path_mark",
    "MAX_ENTRIES",
    "check_size",
]

LEAF_KINDS = ("param", "input", "const")

#: Most entries any node may have; a larger result is refused while the graph is built,
#: before anything is allocated (5·10⁷ float64 entries are 400 MB). The command line
#: raises it with ``--max-entries``.
MAX_ENTRIES = 50_000_000


def check_size(shape, what: str) -> None:
    """Refuse a node of ``shape`` larger than :data:`MAX_ENTRIES`, naming ``what``."""
    entries = math.prod(shape)
    if entries > MAX_ENTRIES:
        raise ShapeError(f"{what} would have {entries:,} entries, more than the limit of "
                         f"{MAX_ENTRIES:,} (raise it with --max-entries or graphviz_bp.graph.MAX_ENTRIES)")


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
    def T(self) -> "Expr":
        return apply("transpose", self)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __add__(self, other):
        return apply("add", self, other)

    def __radd__(self, other):
        return apply("add", other, self)

    def __sub__(self, other):
        return apply("sub", self, other)

    def __rsub__(self, other):
        return apply("sub", other, self)

    def __mul__(self, other):
        return apply("mul", self, other)

    def __rmul__(self, other):
        return apply("mul", other, self)

    def __truediv__(self, other):
        return apply("div", self, other)

    def __rtruediv__(self, other):
        return apply("div", other, self)

    def __matmul__(self, other):
        return apply("matmul", self, other)

    def __rmatmul__(self, other):
        return apply("matmul", other, self)

    def __neg__(self):
        return apply("neg", self)

    def __pos__(self):
        return self

    def __pow__(self, exponent):
        if isinstance(exponent, Expr) or not isinstance(exponent, numbers.Real):
            raise GraphvizBPError(
                f"** takes a number as exponent, got {type(exponent).__name__}; "
                "write exp(b * log(a)) for a variable exponent"
            )
        return apply("pow", self, p=float(exponent))

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
    if isinstance(x, (numbers.Number, np.ndarray, np.generic)) and not isinstance(x, bool):
        array = np.asarray(x, dtype=np.float64)
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
    full = {**op.params, **params}
    try:
        shape = op.shape(*(a.shape for a in args), **full)
    except ShapeError as err:
        raise ShapeError(f"{_call_text(opname, args)}: {err}") from None
    check_size(shape, _call_text(opname, args))
    return Expr("op", op=opname, args=args, params=full, shape=shape)


def _call_text(opname: str, args) -> str:
    return f"{opname}({', '.join(a.name or a.label or a.op or '?' for a in args)})"


def _function(opname: str):
    op = OPS[opname]
    names = ("a", "b")[: op.arity]

    def function(*args, **params):
        return apply(opname, *args, **params)

    function.__name__ = opname
    function.__qualname__ = opname
    function.__doc__ = f"{op.doc}  (drawn as {op.display()}; arguments: {', '.join(names)})"
    return function


#: The functions of the loss language, by name: every op of the table that is not an
#: operator, plus ``eye``. The expression language uses the same table.
FUNCTIONS = {name: _function(name) for name in OPS
             if name not in ("add", "sub", "mul", "div", "neg", "pow", "matmul", "transpose")}
FUNCTIONS["eye"] = eye


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
                   multipath=False)
        for slot, arg in enumerate(e.args):
            G.add_edge(ids[id(arg)], node_id, key=slot, slot=slot, value=None, grad=None)

    G.graph["loss"] = ids[id(loss)]
    _mark_multipath(G)
    return G


#: Marks of the paths of a node reached along several edges: ① ② … (then again).
PATH_MARKS = "①②③④⑤⑥⑦⑧⑨⑩"


def path_mark(number: int) -> str:
    """The mark of path ``number`` (from 1), as figures, reports and derivations write it."""
    return PATH_MARKS[(number - 1) % len(PATH_MARKS)]


def gradient_edges(G: nx.MultiDiGraph) -> set[tuple[str, str, int]]:
    """The edges ``(u, v, slot)`` a gradient flows back along.

    A gradient flows from ``v`` into ``u`` when ``u`` is a param or input leaf, or is
    computed from one, and the op of ``v`` has a VJP for that slot (labels have none).
    """
    carries, edges = set(), set()
    for n in nx.topological_sort(G):
        nd = G.nodes[n]
        if nd["kind"] in ("param", "input"):
            carries.add(n)
        for u, _, k in G.in_edges(n, keys=True):
            if u in carries and OPS[nd["op"]].vjp[k] is not None:
                edges.add((u, n, k))
                carries.add(n)
    return edges


def _mark_multipath(G: nx.MultiDiGraph) -> None:
    flowing = gradient_edges(G)
    for n in G:
        G.nodes[n]["multipath"] = len([e for e in G.out_edges(n, keys=True) if e in flowing]) > 1
