"""Indexing and shape: x[:, 1:3], take (embeddings), S[arange(N), y], comparisons, where,
reshape and concatenation.

Gradients of a selection are scatters: the upstream gradient is put back where the
selected entries came from, in zeros shaped like the argument. Where one entry is
selected several times (an embedding row looked up twice), its contributions are summed.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import NumericalError, ShapeError
from ..literals import as_numpy_index, index_text, literal_text
from .core import Notation, defop
from .shapes import broadcast_shape, shape_text


# ---------------------------------------------------------------- basic indexing: x[:, 1:3]


def _index_shape(a, index=(), **_):
    try:
        # A view of the argument's shape, with no memory behind it, takes the index as
        # the value would.
        return np.broadcast_to(np.False_, a)[as_numpy_index(index)].shape
    except IndexError as err:
        raise ShapeError(f"index [{index_text(index)}] does not fit shape {shape_text(a)}: {err}") from None


def _getitem(a, index=()):
    return np.asarray(a)[as_numpy_index(index)]


def _unindex(g, a, index=()):
    grad = np.zeros(np.shape(a))
    grad[as_numpy_index(index)] = g  # a basic index selects each entry at most once
    return grad


def _subscript_text(args, params) -> str:
    return f"{args[0]}[{index_text(params['index'])}]"


defop("getitem", symbol="[{index}]", forward=_getitem, shape=_index_shape,
      vjp=(lambda g, out, a, index: _unindex(g, a, index),), rule=("unindex(g, a, index=index)",),
      domain=("real",), params={"index": ()}, precedence=5, spelling=_subscript_text,
      doc="a[index] for a basic index: integers, slices, None (a new axis) and ...",
      notation=Notation(_subscript_text, _subscript_text, level=5, wrap=(5,)))

def _unindex_shape(g, a, index=(), **_):
    if tuple(g) != _index_shape(a, index):
        raise ShapeError(f"unindex: g of shape {shape_text(g)} does not fill [{index_text(index)}] "
                         f"of shape {shape_text(a)}")
    return a


defop("unindex", symbol="unindex", forward=_unindex, shape=_unindex_shape,
      vjp=(None, None), rule=(None, None), domain=("real", "real"), params={"index": ()},
      doc="zeros shaped like a, with g at a[index] (the gradient of a[index])",
      # as a textbook writes a gradient that is zero outside a block: (g at x[:, 1:3], else 0)
      notation=Notation(lambda args, p: f"({args[0]} at {args[1]}[{index_text(p['index'])}], else 0)",
                        lambda args, p: rf"\left({args[0]}\ \text{{at}}\ {args[1]}[{index_text(p['index'])}],"
                                        rf"\ \text{{else}}\ 0\right)", wrap=(0, 5)))


# ---------------------------------------------------------------- integer arrays: take, pick


def _axis_of(a, axis) -> int:
    if not -len(a) <= axis < len(a):
        raise ShapeError(f"axis {axis} is out of range for shape {shape_text(a)}")
    return axis % len(a)


def _checked_indices(i, length: int, what: str):
    i = np.asarray(i)
    if i.dtype.kind not in "iu":
        raise NumericalError(f"{what} needs integer indices, got {i.dtype}")
    if i.size and (i.min() < -length or i.max() >= length):
        raise NumericalError(f"{what}: indices must lie in -{length}..{length - 1}, got {i.tolist()}")
    return i


def _take_shape(a, i, axis=0, **_):
    axis = _axis_of(a, axis)
    return a[:axis] + tuple(i) + a[axis + 1:]


def _take(a, i, axis=0):
    return np.take(a, _checked_indices(i, np.shape(a)[axis], "take"), axis=axis)


def _untake(g, a, i, axis=0):
    """Zeros shaped like a, with g's slices added in at indices i: a row taken twice gets
    both contributions."""
    axis = axis % np.ndim(a)
    grad = np.zeros(np.shape(a))
    moved = np.moveaxis(grad, axis, 0)  # a view: adding into it adds into grad
    g = np.asarray(g)
    flat = np.moveaxis(g, tuple(range(axis, axis + np.ndim(i))), tuple(range(np.ndim(i))))
    np.add.at(moved, np.asarray(i).reshape(-1), flat.reshape((-1,) + moved.shape[1:]))
    return grad


defop("take", symbol="take", forward=_take, shape=_take_shape,
      vjp=(lambda g, out, a, i, axis: _untake(g, a, i, axis), None),
      rule=("untake(g, a, b, axis=axis)", None), domain=("real", "labels"), params={"axis": 0},
      doc="the slices of a at integer indices i along axis (an embedding lookup W[idx]); "
          "a slice taken twice sums both gradients")

def _untake_shape(g, a, i, axis=0, **_):
    if tuple(g) != _take_shape(a, i, axis):
        raise ShapeError(f"untake: g of shape {shape_text(g)} does not fit take of {shape_text(a)}")
    return a


defop("untake", symbol="untake", forward=_untake, shape=_untake_shape,
      vjp=(None, None, None), rule=(None, None, None), domain=("real", "real", "labels"),
      params={"axis": 0},
      doc="zeros shaped like a with g's slices summed in at indices i (the gradient of take)")


def _pick_shape(a, i, axis=-1, **_):
    axis = _axis_of(a, axis)
    rest = a[:axis] + a[axis + 1:]
    if tuple(i) != rest:
        raise ShapeError(f"pick: one index per example is needed, of shape {shape_text(rest)} "
                         f"(shape {shape_text(a)} without axis {axis}), got {shape_text(i)}")
    return rest


def _pick(a, i, axis=-1):
    i = _checked_indices(i, np.shape(a)[axis], "pick")
    axis = axis % np.ndim(a)
    return np.take_along_axis(a, np.expand_dims(i, axis), axis=axis).squeeze(axis)


def _pick_vjp(g, out, a, i, axis=-1):
    axis = axis % np.ndim(a)
    grad = np.zeros(np.shape(a))
    np.put_along_axis(grad, np.expand_dims(i, axis), np.expand_dims(g, axis), axis=axis)
    return grad


defop("pick", symbol="pick", forward=_pick, shape=_pick_shape,
      vjp=(_pick_vjp, None), rule=("expand(g, axis=axis) * onehot(a, b, axis=axis)", None),
      domain=("real", "labels"), params={"axis": -1},
      doc="the entry of each example at its index along axis: S[arange(N), y] is "
          "pick(S, y, axis=1), the score of each example's class")


# ---------------------------------------------------------------- comparisons and where

_TESTS = {">": (np.greater, r">"), ">=": (np.greater_equal, r"\ge"), "<": (np.less, "<"),
          "<=": (np.less_equal, r"\le"), "==": (np.equal, "="), "!=": (np.not_equal, r"\ne")}


def _compare(a, b, test=">"):
    if test not in _TESTS:
        raise ValueError(f"compare: test must be one of {' '.join(_TESTS)}, got {test!r}")
    return _TESTS[test][0](a, b).astype(np.float64)


def _compare_shape(a, b, test=">", **_):
    if test not in _TESTS:
        raise ShapeError(f"compare: test must be one of {' '.join(_TESTS)}, got {test!r}")
    return broadcast_shape(a, b)


defop("compare", symbol="{test}", forward=_compare, shape=_compare_shape,
      vjp=(None, None), rule=(None, None), domain=("real", "real"), params={"test": ">"},
      kinks=lambda a, b, test=">": np.greater(a, b) + np.equal(a, b) * 2,  # the mask jumps
      precedence=0, spelling=lambda args, p: f"{args[0]} {p['test']} {args[1]}",
      doc="1 where the comparison holds, else 0: a mask (no gradient flows through it)",
      notation=Notation(lambda args, p: f"[{args[0]} {p['test'].replace('>=', '≥').replace('<=', '≤').replace('!=', '≠').replace('==', '=')} {args[1]}]",
                        lambda args, p: rf"\left[{args[0]} {_TESTS[p['test']][1]} {args[1]}\right]"))


def _where(c, a, b):
    return np.where(np.asarray(c) != 0, a, b)


defop("where", symbol="where", forward=_where, shape=broadcast_shape,
      vjp=(None, lambda g, out, c, a, b: np.where(np.asarray(c) != 0, g, 0.0),
           lambda g, out, c, a, b: np.where(np.asarray(c) != 0, 0.0, g)),
      rule=(None, "g * (a != 0)", "g * (a == 0)"), domain=("mask", "real", "real"),
      doc="b where the condition a is nonzero, else c (numpy broadcasting); the condition "
          "is a mask such as x > 0, through which no gradient flows")


# ---------------------------------------------------------------- reshape and concatenate


def _reshape_shape(a, shape=(), **_):
    shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
    if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in shape):
        raise TypeError(f"shape must be a tuple of integers, got {shape!r}")
    known = math.prod(n for n in shape if n != -1)
    unknown = [n for n in shape if n == -1]
    fits = (len(unknown) <= 1 and all(n >= -1 for n in shape)
            and (known == math.prod(a) if not unknown else known > 0 and math.prod(a) % known == 0))
    if not fits:
        raise ShapeError(f"cannot reshape {shape_text(a)} ({math.prod(a)} entries) into "
                         f"{literal_text(shape)}")
    return tuple(math.prod(a) // known if n == -1 else int(n) for n in shape)


defop("reshape", symbol="reshape", forward=lambda a, shape: np.reshape(a, shape),
      shape=_reshape_shape, vjp=(lambda g, out, a, shape: np.reshape(g, np.shape(a)),),
      rule=("reshape_as(g, a)",), domain=("real",), params={"shape": ()},
      doc="a with its entries, in C order, arranged as shape (one length may be -1)")

# The gradient of a reshape takes the argument's shape back, whatever the sizes: a formula
# written with reshape_as holds at every size, one with shape=(2, 4) only at that one.
defop("reshape_as", symbol="reshape", forward=lambda g, a: np.reshape(g, np.shape(a)),
      shape=lambda g, a, **_: _reshape_shape(g, shape=a), vjp=(None, None), rule=(None, None),
      domain=("real", "real"), doc="g with its entries arranged in the shape of a")


def _concatenate_shape(a, b, axis=0, **_):
    if len(a) != len(b) or not a:
        raise ShapeError(f"concatenate needs arrays of one rank ≥ 1, got {shape_text(a)} and {shape_text(b)}")
    axis = _axis_of(a, axis)
    if a[:axis] + a[axis + 1:] != b[:axis] + b[axis + 1:]:
        raise ShapeError(f"shapes {shape_text(a)} and {shape_text(b)} differ away from axis {axis}")
    return a[:axis] + (a[axis] + b[axis],) + a[axis + 1:]


def _leading(g, a, axis=0):
    """The first entries of g along axis, as many as a has there."""
    return np.take(g, np.arange(np.shape(a)[axis]), axis=axis)


def _trailing(g, b, axis=0):
    """The last entries of g along axis, as many as b has there."""
    n = np.shape(g)[axis]
    return np.take(g, np.arange(n - np.shape(b)[axis], n), axis=axis)


def _part_shape(g, a, axis=0, **_):
    axis = _axis_of(g, axis)
    if len(a) != len(g) or a[axis] > g[axis]:
        raise ShapeError(f"shapes {shape_text(g)} and {shape_text(a)} do not fit (axis {axis})")
    return g[:axis] + (a[axis],) + g[axis + 1:]


# The gradient of a concatenation is cut where the arguments met: written as "the leading
# part of g, as long as a", it holds at every size, where g[:, :3] would hold at one.
defop("leading", symbol="leading", forward=_leading, shape=_part_shape, vjp=(None, None),
      rule=(None, None), domain=("real", "real"), params={"axis": 0},
      doc="the first entries of g along axis, as many as a has (the gradient of concatenate)")

defop("trailing", symbol="trailing", forward=_trailing, shape=_part_shape, vjp=(None, None),
      rule=(None, None), domain=("real", "real"), params={"axis": 0},
      doc="the last entries of g along axis, as many as b has (the gradient of concatenate)")


defop("concatenate", symbol="concat", forward=lambda a, b, axis: np.concatenate([a, b], axis=axis),
      shape=_concatenate_shape,
      vjp=(lambda g, out, a, b, axis: _leading(g, a, axis), lambda g, out, a, b, axis: _trailing(g, b, axis)),
      rule=("leading(g, a, axis=axis)", "trailing(g, b, axis=axis)"), domain=("real", "real"),
      params={"axis": 0},
      doc="a and b joined along axis; concatenate([a, b, c]) joins them two at a time")
