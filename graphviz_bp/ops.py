"""The table of operations: each op's forward, vector-Jacobian products, shape rule and symbol.

This module is the one place where the mathematics of an operation lives. Each stanza
declares, for one op:

``forward(*args, **params)``
    the value, from numpy inputs;
``vjp``
    one function per argument slot, ``vjp[i](g, out, *args, **params)``, giving the
    gradient that flows back into argument ``i`` when ``g`` = ∂L/∂out arrives, of the
    argument's shape. Ops that broadcast (shape rule ``broadcast_shape``) may return the
    broadcast shape instead; the engine sums it back (numpy broadcasting is undone in one
    place, ``summing_to``). A VJP runs only after its forward succeeded on the same
    arguments. ``None`` marks a slot no gradient flows through (integer labels);
``rule``
    the same VJP as a formula in the expression language (:mod:`graphviz_bp.expr`), one
    per slot, with the same names: ``g`` (∂L/∂out), ``out``, ``a``, ``b`` and the op's
    parameters; ``size(x)`` and ``rows(x)`` stand for numbers known from the shapes. A
    test evaluates every rule and compares it with ``vjp``, so the formulas shown to
    people check themselves. Ops whose rule depends on the arguments' ranks or on a
    parameter give a function of the argument shapes and parameters instead;
``shape(*arg_shapes, **params)``
    the output shape, raising :class:`ShapeError` with both shapes when they do not fit,
    so shape errors are found while the graph is built and before any value is computed;
``symbol``
    how the op is drawn in a figure (``{p}``-style fields are filled from the params);
``kinks``
    for ops that are not smooth (``relu``, ``abs``): which side of its kink each input
    entry lies on. A finite difference whose two ends see different sides crossed a
    kink and says nothing about the gradient; the gradient checker looks at this;
``reuses``
    for a one-argument op whose VJP needs what another op computes from the same
    argument (∂ log|K|/∂K = K⁻ᵀ needs K⁻¹): that op's name, and the VJP written with
    its value, ``vjp(g, out, a, value)``. When the graph computes that op of the same
    node anyway, the engine passes its value rather than computing it a second time;
``domain``
    per slot, the inputs the op is defined on: ``real``, ``positive``, ``nonzero``
    (real, kept away from a kink such as ``abs`` or ``relu`` at 0), ``spd`` (a symmetric
    positive-definite matrix), ``labels`` (integer class indices). Tests draw their
    random inputs from it.
"""

from __future__ import annotations

import functools
import math
import operator
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .errors import NumericalError, ShapeError

__all__ = ["Op", "OPS", "defop", "unbroadcast", "Shape"]

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Op:
    """One operation of the table (see the module docstring for the fields)."""

    name: str
    symbol: str
    forward: Callable
    vjp: tuple[Callable | None, ...]
    shape: Callable[..., Shape]
    domain: tuple[str, ...]
    doc: str
    params: dict = field(default_factory=dict)  # static parameters and their defaults
    kinks: Callable | None = None
    rule: tuple | Callable = ()
    reuses: tuple[str, Callable] | None = None

    def rules(self, *arg_shapes: Shape, **params) -> tuple[str | None, ...]:
        """The symbolic backward rule of each slot, for arguments of these shapes."""
        if callable(self.rule):
            return self.rule(*arg_shapes, **{**self.params, **params})
        return self.rule

    @property
    def arity(self) -> int:
        return len(self.vjp)

    @property
    def broadcasts(self) -> bool:
        """Whether arguments broadcast to the output (their gradients are then summed back)."""
        return self.shape is broadcast_shape

    def display(self, params: dict | None = None) -> str:
        """The symbol with this node's parameters filled in (``(·)^{p}`` -> ``(·)^3``)."""
        values = {**self.params, **(params or {})}
        return self.symbol.format(**{k: _short(v) for k, v in values.items()})


OPS: dict[str, Op] = {}


def defop(name, *, symbol, forward, vjp, rule, shape, domain, doc, params=None, kinks=None,
          reuses=None) -> Op:
    """Add one op to the table."""
    if name in OPS:
        raise ValueError(f"op {name!r} is defined twice")
    if len(domain) != len(vjp) or (not callable(rule) and len(rule) != len(vjp)):
        raise ValueError(f"op {name!r}: one domain entry and one rule per argument slot")
    if reuses is not None and (len(vjp) != 1 or reuses[0] not in OPS):
        raise ValueError(f"op {name!r}: reuses needs one argument and an op defined before it")
    op = Op(name, symbol, forward, tuple(vjp), shape, tuple(domain), doc, dict(params or {}),
            kinks, rule if callable(rule) else tuple(rule), reuses)
    OPS[name] = op
    return op


def _short(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def unbroadcast(grad, shape: Shape):
    """Sum ``grad`` over the axes numpy broadcast to, so that it has ``shape``."""
    grad = np.asarray(grad)
    if grad.shape == shape:
        return grad if grad.ndim else grad[()]
    return summing_to(shape, grad.shape)(grad)


def summing_to(shape: Shape, broadcast: Shape) -> Callable:
    """The function that sums a gradient of shape ``broadcast`` back to ``shape``.

    The axes are worked out once, so the engine pays one numpy reduction per pass.
    """
    extra = len(broadcast) - len(shape)
    axes = tuple(range(extra)) + tuple(extra + i for i, n in enumerate(shape)
                                       if n == 1 and broadcast[extra + i] != 1)
    if not shape:
        return lambda grad: np.add.reduce(grad, axis=None)
    return lambda grad: np.add.reduce(grad, axis=axes).reshape(shape)


# ---------------------------------------------------------------- shape rules


def _fmt(shape: Shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def same_shape(a: Shape, **_) -> Shape:
    return a


def broadcast_shape(a: Shape, b: Shape, **_) -> Shape:
    try:
        return tuple(np.broadcast_shapes(a, b))
    except ValueError:
        raise ShapeError(f"shapes {_fmt(a)} and {_fmt(b)} do not broadcast") from None


def matmul_shape(a: Shape, b: Shape, **_) -> Shape:
    for s in (a, b):
        if len(s) not in (1, 2):
            raise ShapeError(f"@ takes vectors and matrices, got shape {_fmt(s)}")
    if a[-1] != b[0]:
        raise ShapeError(
            f"shapes {_fmt(a)} and {_fmt(b)} do not fit for @ "
            f"({a[-1]} columns on the left, {b[0]} rows on the right)"
        )
    return a[:-1] + b[1:]


def transpose_shape(a: Shape, **_) -> Shape:
    return a[::-1]


def _check_axis(a: Shape, axis) -> int:
    if not -len(a) <= axis < len(a):
        raise ShapeError(f"axis {axis} is out of range for shape {_fmt(a)}")
    return axis % len(a)


def reduce_shape(a: Shape, axis=None, **_) -> Shape:
    if axis is None:
        return ()
    axis = _check_axis(a, axis)
    return a[:axis] + a[axis + 1 :]


def expand_shape(a: Shape, axis: int) -> Shape:
    if not -len(a) - 1 <= axis <= len(a):
        raise ShapeError(f"axis {axis} is out of range to expand shape {_fmt(a)}")
    axis = axis % (len(a) + 1)
    return a[:axis] + (1,) + a[axis:]


def scalar_shape(*_, **__) -> Shape:
    return ()


def along_axis_shape(a: Shape, axis=-1, **_) -> Shape:
    if not a:
        raise ShapeError("softmax needs at least one axis, got a scalar")
    _check_axis(a, axis)
    return a


def onehot_shape(logits: Shape, labels: Shape, axis=-1) -> Shape:
    cross_entropy_shape(logits, labels, axis)  # the same agreement of logits and labels
    return logits


def square_matrix(a: Shape) -> int:
    if len(a) != 2 or a[0] != a[1]:
        raise ShapeError(f"needs a square matrix, got shape {_fmt(a)}")
    return a[0]


def square_shape(a: Shape, **_) -> Shape:
    square_matrix(a)
    return a


def square_to_scalar_shape(a: Shape, **_) -> Shape:
    square_matrix(a)
    return ()


def solve_shape(a: Shape, b: Shape, **_) -> Shape:
    n = square_matrix(a)
    if len(b) not in (1, 2) or b[0] != n:
        raise ShapeError(f"solve: shapes {_fmt(a)} and {_fmt(b)} do not fit ({n} rows needed)")
    return b


def cross_entropy_shape(logits: Shape, labels: Shape, axis=-1, **_) -> Shape:
    if not logits:
        raise ShapeError("softmax_ce needs logits with a class axis, got a scalar")
    axis = _check_axis(logits, axis)
    examples = math.prod(logits[:axis] + logits[axis + 1 :])
    if math.prod(labels) != examples:
        raise ShapeError(
            f"softmax_ce: logits {_fmt(logits)} with classes along axis {axis} hold "
            f"{examples} example(s), but labels have shape {_fmt(labels)}"
        )
    return ()


# ---------------------------------------------------------------- numerics shared by ops


def sigmoid(a):
    # σ(a) = exp(a − log(1 + eᵃ)): no overflow, accurate far into both tails
    # (σ(−50) = 1.9e-22, where (1 + tanh(a/2)) / 2 would round to 0), in three numpy calls.
    return np.exp(a - np.logaddexp(0.0, a))


def log_sum_exp(a, axis=-1):
    """log Σ exp(a) along ``axis``, kept as an axis of length 1, without overflow."""
    if np.size(a) <= 256:  # one numpy call: its overhead is what small arrays cost
        return np.logaddexp.reduce(a, axis=axis, keepdims=True)
    top = np.maximum.reduce(a, axis=axis, keepdims=True)  # five calls, 2× faster per entry
    return np.log(np.add.reduce(np.exp(a - top), axis=axis, keepdims=True)) + top


def log_softmax(a, axis=-1):
    return a - log_sum_exp(a, axis)


def softmax(a, axis=-1):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def logdet(a):
    sign, value = np.linalg.slogdet(a)
    if sign <= 0:
        raise NumericalError(
            "log|K| needs a matrix with a positive determinant "
            f"(e.g. positive definite), got det {'= 0' if sign == 0 else '< 0'}"
        )
    return value


def inv(a):
    try:
        out = np.linalg.inv(a)
    except np.linalg.LinAlgError:
        raise NumericalError("(·)⁻¹ of a singular matrix") from None
    if not np.all(np.isfinite(out)):
        raise NumericalError("(·)⁻¹ of a numerically singular matrix")
    return out


def solve(a, b):
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        raise NumericalError("solve with a singular matrix") from None


def _to_rows(a, axis):
    """``a`` with the class axis last, as (examples, classes); transposes are cheap views."""
    if axis in (-1, a.ndim - 1):
        return a.reshape(-1, a.shape[-1])
    if a.ndim == 2:
        return a.T
    return np.moveaxis(a, axis, -1).reshape(-1, a.shape[axis])


def _from_rows(rows, like, axis):
    """The inverse of :func:`_to_rows`, shaped like ``like``."""
    if axis in (-1, like.ndim - 1):
        return rows.reshape(like.shape)
    if like.ndim == 2:
        return rows.T
    moved = np.moveaxis(like, axis, -1).shape
    return np.moveaxis(rows.reshape(moved), -1, axis)


def _examples_last(logits, labels, axis, *, check=True):
    """Logits as (examples, classes), and the index of each row's label entry.

    The VJP skips the check of the labels (``check=False``): its forward, run on the
    same labels, has checked them.
    """
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise NumericalError(f"softmax_ce needs integer labels, got {labels.dtype}")
    rows = _to_rows(logits, axis)
    flat = labels.reshape(-1)
    classes = rows.shape[1]
    # Seen as unsigned, a negative label is huge: one reduction checks both ends.
    if check and flat.size and np.maximum.reduce(flat.view(_UNSIGNED[flat.itemsize])) >= classes:
        raise NumericalError(f"softmax_ce: labels must lie in 0..{classes - 1}, got {flat.tolist()}")
    return rows, (_row_numbers(flat.size), flat)


_UNSIGNED = {size: np.dtype(f"u{size}") for size in (1, 2, 4, 8)}


@functools.lru_cache(maxsize=16)
def _row_numbers(n: int):
    rows = np.arange(n)
    rows.flags.writeable = False
    return rows


def cross_entropy(logits, labels, axis=-1):
    rows, label_entries = _examples_last(logits, labels, axis)
    return np.add.reduce(log_sum_exp(rows, axis=1)[:, 0] - rows[label_entries]) / len(rows)


def cross_entropy_vjp(g, out, logits, labels, axis=-1):
    rows, label_entries = _examples_last(logits, labels, axis, check=False)
    examples = len(rows)
    d = np.exp(rows - log_sum_exp(rows, axis=1))  # softmax
    d *= g / examples
    d[label_entries] -= g / examples
    return _from_rows(d, logits, axis)


def onehot(logits, labels, axis=-1):
    rows, label_entries = _examples_last(logits, labels, axis)
    hot = np.zeros(rows.shape)
    hot[label_entries] = 1.0
    return _from_rows(hot, logits, axis)


# A gradient is laid out in memory like its value: for an argument that is a transposed
# view (Wᵀ), the product is computed transposed, so that the transpose's VJP hands W a
# C-ordered gradient, and summing it with W's other contributions runs at full speed.


def _transposed_view(a) -> bool:
    return a.ndim == 2 and a.flags.f_contiguous and not a.flags.c_contiguous


def _product(p, q):
    """``p @ q`` for matrices; an outer product (a column times a row) by broadcasting,
    which runs 2–3× faster than BLAS's matrix product with an inner dimension of 1."""
    return p * q if p.ndim == q.ndim == 2 and p.shape[1] == 1 else p @ q


def _matmul_vjp_left(g, out, a, b):
    if b.ndim == 1:
        if a.ndim == 1:
            return g * b
        return np.outer(b, g).T if _transposed_view(a) else np.outer(g, b)
    return _product(b, g.T).T if _transposed_view(a) else _product(g, b.T)


def _matmul_vjp_right(g, out, a, b):
    if a.ndim == 1:
        if b.ndim == 1:
            return g * a
        return np.outer(g, a).T if _transposed_view(b) else np.outer(a, g)
    return _product(g.T, a).T if _transposed_view(b) else _product(a.T, g)


def _sum_vjp(g, out, a, axis=None):
    g = np.asarray(g)
    if axis is not None:
        g = np.expand_dims(g, axis)
    return np.broadcast_to(g, a.shape)


def _mean_vjp(g, out, a, axis=None):
    count = a.size if axis is None else a.shape[axis]
    return _sum_vjp(g, out, a, axis) / count


def _solve_vjp_right(g, out, a, b):
    return solve(a.T, g)


def _solve_vjp_left(g, out, a, b):
    gb = solve(a.T, g)
    return -(np.outer(gb, out) if out.ndim == 1 else gb @ out.T)


def _matmul_rules(a: Shape, b: Shape, **_):
    if len(a) == 1 and len(b) == 1:
        return "g * b", "g * a"
    if len(b) == 1:
        return "outer(g, b)", "a.T @ g"
    if len(a) == 1:
        return "g @ b.T", "outer(a, g)"
    return "g @ b.T", "a.T @ g"


def _solve_rules(a: Shape, b: Shape, **_):
    if len(b) == 1:
        return "-outer(solve(a.T, g), out)", "solve(a.T, g)"
    return "-solve(a.T, g) @ out.T", "solve(a.T, g)"


# ---------------------------------------------------------------- arithmetic
# Python's operators rather than the ufuncs: the same for arrays, and for the numpy
# scalars of scalar nodes (α, ½, the loss terms) ten times faster (0.13 against 1.6 µs).

defop("add", symbol="+", forward=operator.add, shape=broadcast_shape,
      vjp=(lambda g, out, a, b: g, lambda g, out, a, b: g), rule=("g", "g"),
      domain=("real", "real"), doc="a + b (numpy broadcasting)")

defop("sub", symbol="−", forward=operator.sub, shape=broadcast_shape,
      vjp=(lambda g, out, a, b: g, lambda g, out, a, b: -g), rule=("g", "-g"),
      domain=("real", "real"), doc="a − b (numpy broadcasting)")

defop("mul", symbol="⊙", forward=operator.mul, shape=broadcast_shape,
      vjp=(lambda g, out, a, b: g * b, lambda g, out, a, b: g * a), rule=("g * b", "g * a"),
      domain=("real", "real"), doc="a ⊙ b, elementwise (numpy broadcasting)")

defop("div", symbol="÷", forward=operator.truediv, shape=broadcast_shape,
      vjp=(lambda g, out, a, b: g / b, lambda g, out, a, b: -g * out / b),
      rule=("g / b", "-g * out / b"),
      domain=("real", "nonzero"), doc="a / b, elementwise (numpy broadcasting)")

defop("neg", symbol="−", forward=operator.neg, shape=same_shape,
      vjp=(lambda g, out, a: -g,), rule=("-g",),
      domain=("real",), doc="−a")

defop("pow", symbol="(·)^{p}", forward=lambda a, p: np.power(a, p), shape=same_shape,
      vjp=(lambda g, out, a, p: g * p * np.power(a, p - 1),), rule=("g * p * a ** (p - 1)",),
      domain=("positive",), params={"p": 2.0}, doc="a ** p for a number p")

# ---------------------------------------------------------------- linear algebra

defop("matmul", symbol="@", forward=np.matmul, shape=matmul_shape,
      vjp=(_matmul_vjp_left, _matmul_vjp_right), rule=_matmul_rules,
      domain=("real", "real"), doc="a @ b, matrix product of vectors and matrices")

defop("outer", symbol="⊗", forward=np.outer, shape=lambda a, b: (math.prod(a), math.prod(b)),
      vjp=(lambda g, out, a, b: (g @ b.ravel()).reshape(np.shape(a)),
           lambda g, out, a, b: (g.T @ a.ravel()).reshape(np.shape(b))),
      rule=("g @ b", "g.T @ a"),
      domain=("real", "real"), doc="a bᵀ for vectors a and b")

defop("transpose", symbol="(·)ᵀ", forward=np.transpose, shape=transpose_shape,
      vjp=(lambda g, out, a: np.transpose(g),), rule=("g.T",),
      domain=("real",), doc="aᵀ")

defop("inv", symbol="(·)⁻¹", forward=inv, shape=square_shape,
      vjp=(lambda g, out, a: -out.T @ g @ out.T,), rule=("-out.T @ g @ out.T",),
      domain=("spd",), doc="K⁻¹; ∂L/∂K = −K⁻ᵀ (∂L/∂K⁻¹) K⁻ᵀ")

defop("logdet", symbol="log|·|", forward=logdet, shape=square_to_scalar_shape,
      vjp=(lambda g, out, a: g * inv(a).T,), rule=("g * inv(a).T",),
      reuses=("inv", lambda g, out, a, inverse: g * inverse.T),
      domain=("spd",), doc="log det K for det K > 0, by slogdet; ∂/∂K = K⁻ᵀ")

defop("solve", symbol="(·)⁻¹(·)", forward=solve, shape=solve_shape,
      vjp=(_solve_vjp_left, _solve_vjp_right), rule=_solve_rules,
      domain=("spd", "real"), doc="A⁻¹ B by a linear solve, without forming A⁻¹")

defop("trace", symbol="tr", forward=np.trace, shape=square_to_scalar_shape,
      vjp=(lambda g, out, a: g * np.eye(a.shape[0]),), rule=("g * eye(rows(a))",),
      domain=("real",), doc="tr A, the sum of the diagonal")

# ---------------------------------------------------------------- elementwise functions

defop("exp", symbol="exp", forward=np.exp, shape=same_shape,
      vjp=(lambda g, out, a: g * out,), rule=("g * out",),
      domain=("real",), doc="exp a")

defop("log", symbol="log", forward=np.log, shape=same_shape,
      vjp=(lambda g, out, a: g / a,), rule=("g / a",),
      domain=("positive",), doc="natural log a")

defop("sqrt", symbol="√", forward=np.sqrt, shape=same_shape,
      vjp=(lambda g, out, a: g * 0.5 / out,), rule=("0.5 * g / out",),
      domain=("positive",), doc="√a")

defop("abs", symbol="|·|", forward=np.abs, shape=same_shape,
      vjp=(lambda g, out, a: g * np.sign(a),), rule=("g * sign(a)",), kinks=lambda a: a > 0,
      domain=("nonzero",), doc="|a|, elementwise")

defop("sigmoid", symbol="σ", forward=sigmoid, shape=same_shape,
      vjp=(lambda g, out, a: g * out * (1.0 - out),), rule=("g * out * (1 - out)",),
      domain=("real",), doc="σ(a) = 1 / (1 + e⁻ᵃ)")

def _swish_vjp(g, out, a):
    s = sigmoid(a)
    return g * (s + out * (1.0 - s))


defop("swish", symbol="swish", forward=lambda a: a * sigmoid(a), shape=same_shape,
      vjp=(_swish_vjp,),
      rule=("g * (sigmoid(a) + out * (1 - sigmoid(a)))",),
      domain=("real",), doc="swish(a) = a ⊙ σ(a); swish′ = σ + swish ⊙ (1 − σ)")

defop("relu", symbol="ReLU", forward=lambda a: np.maximum(a, 0.0), shape=same_shape,
      vjp=(lambda g, out, a: g * (a > 0),), rule=("g * step(a)",), kinks=lambda a: a > 0,
      domain=("nonzero",), doc="max(0, a); the gradient at 0 is taken as 0")

defop("tanh", symbol="tanh", forward=np.tanh, shape=same_shape,
      vjp=(lambda g, out, a: g * (1.0 - out**2),), rule=("g * (1 - out ** 2)",),
      domain=("real",), doc="tanh a")

# ---------------------------------------------------------------- reductions and broadcasting

defop("sum", symbol="Σ", forward=lambda a, axis: np.sum(a, axis=axis), shape=reduce_shape,
      vjp=(_sum_vjp,), rule=("expand(g, axis=axis) * ones_like(a)",),
      domain=("real",), params={"axis": None}, doc="sum of all entries, or along one axis")

defop("mean", symbol="mean", forward=lambda a, axis: np.mean(a, axis=axis), shape=reduce_shape,
      vjp=(_mean_vjp,), rule=("expand(g, axis=axis) * ones_like(a) * size(out) / size(a)",),
      domain=("real",), params={"axis": None}, doc="mean of all entries, or along one axis")

defop("sumsq", symbol="‖·‖²", forward=lambda a: np.vdot(a, a), shape=scalar_shape,
      vjp=(lambda g, out, a: 2.0 * g * a,), rule=("2 * g * a",),
      domain=("real",), doc="‖a‖², the sum of squared entries (½‖a‖² is 0.5 * sumsq(a))")

defop("expand", symbol="expand", forward=lambda a, axis: a if axis is None else np.expand_dims(a, axis),
      shape=lambda a, axis=None: a if axis is None else expand_shape(a, axis),
      vjp=(lambda g, out, a, axis: g if axis is None else np.sum(g, axis=axis),),
      rule=lambda a, axis=None: ("g",) if axis is None else ("sum(g, axis=axis)",),
      domain=("real",), params={"axis": None},
      doc="a with a new axis of length 1 at `axis` (the inverse of summing over it)")

# ---------------------------------------------------------------- softmax and the classification loss

defop("softmax", symbol="softmax", forward=softmax, shape=along_axis_shape,
      vjp=(lambda g, out, a, axis: out * (g - np.sum(g * out, axis=axis, keepdims=True)),),
      rule=("out * (g - expand(sum(g * out, axis=axis), axis=axis))",),
      domain=("real",), params={"axis": -1}, doc="softmax along an axis, computed stably")

defop("log_softmax", symbol="log softmax", forward=log_softmax, shape=along_axis_shape,
      vjp=(lambda g, out, a, axis: g - np.exp(out) * np.sum(g, axis=axis, keepdims=True),),
      rule=("g - exp(out) * expand(sum(g, axis=axis), axis=axis)",),
      domain=("real",), params={"axis": -1}, doc="log softmax along an axis (log-sum-exp)")

defop("softmax_ce", symbol="softmax-CE", forward=cross_entropy, shape=cross_entropy_shape,
      vjp=(cross_entropy_vjp, None),
      rule=("g * (softmax(a, axis=axis) - onehot(a, b, axis=axis)) / size(b)", None),
      domain=("real", "labels"), params={"axis": -1},
      doc="mean over examples of −log softmax(logits)[label], classes along `axis`; "
          "∂/∂logits = (softmax − onehot) / examples")

# ---------------------------------------------------------------- helpers of the formulas
# They appear in symbolic gradients; no gradient flows through them.

defop("ones_like", symbol="𝟙", forward=lambda a: np.ones(np.shape(a)), shape=same_shape,
      vjp=(None,), rule=(None,), domain=("real",), doc="an array of ones shaped like a")

defop("step", symbol="[·>0]", forward=lambda a: (np.asarray(a) > 0).astype(float),
      shape=same_shape, vjp=(None,), rule=(None,), domain=("nonzero",),
      doc="1 where a > 0, else 0 (the derivative of ReLU)")

defop("sign", symbol="sign", forward=lambda a: np.sign(a).astype(float), shape=same_shape,
      vjp=(None,), rule=(None,), domain=("nonzero",), doc="the sign of a (the derivative of |a|)")

defop("onehot", symbol="onehot", forward=lambda a, b, axis: onehot(a, b, axis),
      shape=lambda a, b, axis=-1: onehot_shape(a, b, axis),
      vjp=(None, None), rule=(None, None), domain=("real", "labels"), params={"axis": -1},
      doc="one-hot rows of labels b, shaped like logits a (classes along axis)")
