"""numpy's array functions that are built from several ops: indexing, concatenate, stack,
split and arange, for the Python API and the expression language alike.

>>> import numpy as np, graphviz_bp as bp
>>> S = bp.param("S", np.arange(6.0).reshape(3, 2))
>>> y = bp.const("y", np.array([1, 0, 1]))
>>> S[bp.arange(3), y].op, S[:, 1:].op, S[y].op
('pick', 'getitem', 'take')
"""

from __future__ import annotations

import numbers

import numpy as np

from .errors import GraphvizBPError
from .graph import COMPOSITES, Expr, apply, as_expr
from .limits import check_size
from .literals import Slice

__all__ = ["index", "index_leaf", "arange", "concatenate", "stack", "split"]


def _is_index_array(item) -> bool:
    return isinstance(item, (Expr, np.ndarray, list))


def index_leaf(item) -> Expr:
    """An integer array used as an index: an integer constant of the loss (an Expr
    holding integers, or integers given as an array or a list)."""
    if isinstance(item, Expr):
        if item.kind != "const" or item.value is None or np.asarray(item.value).dtype.kind not in "iu":
            raise GraphvizBPError(f"an array index must be integer constants (labels, arange(n)), "
                                  f"got {item.name or item.op or item.kind}")
        return item
    array = np.asarray(item)
    if array.dtype.kind not in "iu":
        raise GraphvizBPError(f"an array index must hold integers, got {array.dtype}")
    return Expr("const", shape=array.shape, value=array.copy(), label="index")


def _is_arange(item: Expr, length: int) -> bool:
    value = np.asarray(item.value)
    return value.shape == (length,) and np.array_equal(value, np.arange(length))


def index(x, key):
    """``x[key]`` with numpy's meaning, for the indices a course uses:

    - basic indices (integers, slices, ``None``, ``...``): one ``getitem`` node;
    - one integer array, the other axes taken whole: ``W[idx]``, ``X[:, idx]`` (``take``,
      an embedding lookup);
    - ``S[arange(N), y]``: each row's entry at its label (``pick``).
    """
    x = as_expr(x)
    key = key if isinstance(key, tuple) else (key,)
    arrays = [k for k, item in enumerate(key) if _is_index_array(item)]
    if None in key and all(item is None or item == slice(None) or item == Slice() for item in key):
        for axis, item in enumerate(key):  # x[:, None]: a new axis, as expand writes it
            if item is None:
                x = apply("expand", x, axis=axis)
        return x
    if not arrays:
        basic = []
        for item in key:
            if isinstance(item, slice):
                item = Slice(item.start, item.stop, item.step)
            elif isinstance(item, numbers.Integral) and not isinstance(item, bool):
                item = int(item)
            elif item is not None and item is not Ellipsis and not isinstance(item, Slice):
                raise GraphvizBPError(f"an index is an integer, a slice, None, ... or an integer "
                                      f"array, got {type(item).__name__}")
            basic.append(item)
        return apply("getitem", x, index=tuple(basic))
    whole = [item == slice(None) or item == Slice() for item in key]
    leaves = {k: index_leaf(key[k]) for k in arrays}
    if len(arrays) == 1 and all(whole[k] for k in range(len(key)) if k != arrays[0]):
        (k,) = arrays
        return apply("take", x, leaves[k], axis=k)
    if len(key) == 2 == len(arrays) == x.ndim:
        for rows, labels in ((0, 1), (1, 0)):
            if _is_arange(leaves[rows], x.shape[rows]) and leaves[labels].ndim == 1:
                return apply("pick", x, leaves[labels], axis=labels)
    raise GraphvizBPError("array indices are supported as x[idx] and x[:, idx] (take) and "
                          "S[arange(N), y] (pick); write the rest with take, pick or getitem")


def _iterate(x: Expr):
    if not x.shape:
        raise GraphvizBPError("a scalar expression cannot be iterated")
    return (index(x, k) for k in range(x.shape[0]))


def _length(x: Expr) -> int:
    if not x.shape:
        raise GraphvizBPError("a scalar expression has no length")
    return x.shape[0]


Expr.__getitem__ = index
Expr.__iter__ = _iterate
Expr.__len__ = _length


def _comparison(test: str):
    def compare(self, other):
        return apply("compare", self, other, test=test)
    compare.__doc__ = f"The mask self {test} other: 1 where it holds, else 0 (no gradient)."
    return compare


# < <= > >= give masks, as numpy's do; == and != keep comparing expressions as objects
# (they are dictionary keys): write compare(a, b, test="==") for the mask.
for _method, _test in (("__lt__", "<"), ("__le__", "<="), ("__gt__", ">"), ("__ge__", ">=")):
    setattr(Expr, _method, _comparison(_test))


def arange(n) -> Expr:
    """The integers 0 … n−1, a constant (as an index: ``S[arange(N), y]``)."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise GraphvizBPError(f"arange(n) needs a positive integer n, got {n!r}")
    check_size((int(n),), f"arange({n})")
    return Expr("const", shape=(int(n),), value=np.arange(int(n)), label=f"arange({n})")


def concatenate(arrays, *more, axis: int = 0) -> Expr:
    """The arrays joined along ``axis``, two at a time (``concatenate([a, b, c], axis=1)``)."""
    arrays = list(arrays) + list(more) if isinstance(arrays, (list, tuple)) else [arrays, *more]
    if len(arrays) < 2:
        raise GraphvizBPError("concatenate needs at least two arrays")
    joined = arrays[0]
    for array in arrays[1:]:
        joined = apply("concatenate", joined, array, axis=axis)
    return joined


def stack(arrays, axis: int = 0) -> Expr:
    """The arrays (of one shape) along a new axis."""
    arrays = list(arrays)
    if len(arrays) < 2:
        raise GraphvizBPError("stack needs at least two arrays")
    return concatenate([apply("expand", a, axis=axis) for a in arrays], axis=axis)


def split(x, sections, axis: int = 0) -> list:
    """``x`` cut along ``axis`` into ``sections`` equal parts (an integer) or at the given
    indices (a tuple), as numpy's split: the LSTM's gates ``i, f, o, g = split(a, 4, axis=1)``."""
    x = as_expr(x)
    if not -x.ndim <= axis < x.ndim:  # (a scalar has no axis to split)
        raise GraphvizBPError(f"split: axis {axis} is out of range for shape {x.shape}")
    axis %= x.ndim
    length = x.shape[axis]
    if isinstance(sections, numbers.Integral) and not isinstance(sections, bool):
        if sections < 1 or length % sections:
            raise GraphvizBPError(f"split: {length} entries along axis {axis} do not split "
                                  f"into {sections} equal parts")
        cuts = [length // sections * k for k in range(1, sections)]
    elif isinstance(sections, (tuple, list)) and all(
            isinstance(c, numbers.Integral) and not isinstance(c, bool) for c in sections):
        cuts = [int(c) for c in sections]
    else:
        raise GraphvizBPError(f"split takes a number of equal parts or a tuple of integer "
                              f"cut points, got {sections!r}")
    bounds = [0, *cuts, length]
    return [apply("getitem", x, index=(Slice(),) * axis + (Slice(start, stop),))
            for start, stop in zip(bounds, bounds[1:])]


COMPOSITES.update(arange=arange, concatenate=concatenate, stack=stack, split=split)
#: The keyword parameters the composites take in the expression language.
COMPOSITE_PARAMS = {"concatenate": ("axis",), "stack": ("axis",), "split": ("axis",),
                    "arange": (), "eye": ()}
