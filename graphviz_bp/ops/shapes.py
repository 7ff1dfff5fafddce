"""Shape rules: each op's output shape from its arguments' shapes, checked while a graph is built.

A rule raises :class:`~graphviz_bp.errors.ShapeError` naming both shapes when they do not fit.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ShapeError
from ..literals import literal_text

Shape = tuple[int, ...]

__all__ = ["Shape", "same_shape", "broadcast_shape", "matmul_shape", "reduce_shape",
           "nonempty_reduce_shape", "expand_shape", "scalar_shape", "along_axis_shape",
           "square_shape", "square_to_scalar_shape", "solve_shape", "cross_entropy_shape", "onehot_shape",
           "outer_shape", "shape_text", "reduction_axes", "transposed_shape", "permutation"]


def shape_text(shape: Shape) -> str:
    """A shape as Python writes it: (2, 3), (3,), ()."""
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def same_shape(a: Shape, **_) -> Shape:
    return a


def broadcast_shape(*shapes: Shape, **_) -> Shape:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        listed = ", ".join(map(shape_text, shapes[:-1])) + " and " + shape_text(shapes[-1])
        raise ShapeError(f"shapes {listed} do not broadcast") from None


def matmul_shape(a: Shape, b: Shape, **_) -> Shape:
    """numpy's ``a @ b`` for vectors, matrices and stacks of matrices (arrays of rank 3
    and more, whose leading axes broadcast: (T, N, D) @ (D, H) is (T, N, H)). A vector
    with a stack is refused: write it as a column or a row of a matrix."""
    for s in (a, b):
        if not s:
            raise ShapeError("@ takes vectors, matrices and stacks of matrices, got a scalar "
                             "(shape ()); write a * b for a product with a number")
    if (len(a) == 1 or len(b) == 1) and max(len(a), len(b)) > 2:
        raise ShapeError(
            f"@ of a vector takes vectors and matrices, got shapes {shape_text(a)} and "
            f"{shape_text(b)}; with a stack of matrices, write the vector as a matrix "
            f"of one column or one row (reshape)")
    rows_right = b[0] if len(b) == 1 else b[-2]
    if a[-1] != rows_right:
        raise ShapeError(
            f"shapes {shape_text(a)} and {shape_text(b)} do not fit for @ "
            f"({a[-1]} columns on the left, {rows_right} rows on the right)"
        )
    if len(a) <= 2 and len(b) <= 2:
        return a[:-1] + b[1:]
    try:
        stack = tuple(np.broadcast_shapes(a[:-2], b[:-2]))
    except ValueError:
        raise ShapeError(
            f"shapes {shape_text(a)} and {shape_text(b)} do not fit for @: their stacks "
            f"{shape_text(a[:-2])} and {shape_text(b[:-2])} (the axes before the last two) "
            f"do not broadcast"
        ) from None
    return stack + (a[-2], b[-1])


def outer_shape(a: Shape, b: Shape, **_) -> Shape:
    return (math.prod(a), math.prod(b))


def _check_axis(a: Shape, axis) -> int:
    if not -len(a) <= axis < len(a):
        raise ShapeError(f"axis {axis} is out of range for shape {shape_text(a)}")
    return axis % len(a)


def _is_integer(k) -> bool:
    return isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_))


def reduction_axes(a: Shape, axis=None) -> tuple[int, ...]:
    """The axes of shape ``a`` that ``axis`` names (None: all of them; an integer; a
    tuple of integers, negative ones counted from the end), as nonnegative numbers in
    the order given. Raises ShapeError for an axis out of range or named twice."""
    if axis is None:
        return tuple(range(len(a)))
    items = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    if not all(_is_integer(k) for k in items):
        raise TypeError(f"axis must be None, an integer or a tuple of integers, got {axis!r}")
    if not isinstance(axis, (tuple, list)):
        return (_check_axis(a, axis),)
    axes = []
    for k in items:
        if not -len(a) <= k < len(a):
            raise ShapeError(f"axis {k} of {literal_text(tuple(items))} is out of range for "
                             f"shape {shape_text(a)}")
        if k % len(a) in axes:
            raise ShapeError(f"axis {literal_text(tuple(items))} names axis {k % len(a)} of "
                             f"shape {shape_text(a)} twice")
        axes.append(k % len(a))
    return tuple(axes)


def _check_keepdims(keepdims) -> None:
    if not isinstance(keepdims, (bool, np.bool_)):
        raise TypeError(f"keepdims must be True or False, got {keepdims!r}")


def reduce_shape(a: Shape, axis=None, keepdims=False, **_) -> Shape:
    """The shape of a sum (or mean, max) of ``a`` over ``axis``, as numpy's: the axes
    summed over dropped, or kept with length 1 under ``keepdims``."""
    _check_keepdims(keepdims)
    axes = reduction_axes(a, axis)
    if keepdims:
        return tuple(1 if i in axes else n for i, n in enumerate(a))
    return tuple(n for i, n in enumerate(a) if i not in axes)


def nonempty_reduce_shape(a: Shape, axis=None, keepdims=False, **_) -> Shape:
    """:func:`reduce_shape` for a mean, max or min, which an empty axis has none of."""
    out = reduce_shape(a, axis, keepdims)
    empty = [i for i in reduction_axes(a, axis) if a[i] == 0]
    if empty:
        raise ShapeError(f"shape {shape_text(a)} has no entries along axis {empty[0]} "
                         "to take the mean, max or min of")
    return out


def expand_shape(a: Shape, axis=None, **_) -> Shape:
    """The shape of ``np.expand_dims(a, axis)``: new axes of length 1 at ``axis`` (an
    integer or a tuple of integers, counted in the result), or ``a`` for None."""
    if axis is None:
        return a
    items = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    if not all(_is_integer(k) for k in items):
        raise TypeError(f"axis must be None, an integer or a tuple of integers, got {axis!r}")
    rank = len(a) + len(items)
    new = set()
    for k in items:
        if not -rank <= k < rank:
            where = "" if len(items) == 1 and not isinstance(axis, (tuple, list)) \
                else f" of {literal_text(tuple(items))}"
            raise ShapeError(f"axis {k}{where} is out of range to expand shape {shape_text(a)} "
                             f"(to {rank} axes)")
        if k % rank in new:
            raise ShapeError(f"axis {literal_text(tuple(items))} names axis {k % rank} twice "
                             f"to expand shape {shape_text(a)}")
        new.add(k % rank)
    rest = iter(a)
    return tuple(1 if i in new else next(rest) for i in range(rank))


def transposed_shape(a: Shape, axes=None, **_) -> Shape:
    """The shape of ``np.transpose(a, axes)``: ``axes`` a permutation of a's axes
    (negative ones counted from the end), or None for all of them reversed."""
    return tuple(a[k] for k in permutation(a, axes))


def permutation(a: Shape, axes=None) -> tuple[int, ...]:
    """``axes`` of ``np.transpose`` as nonnegative numbers, checked to be a permutation."""
    if axes is None:
        return tuple(range(len(a) - 1, -1, -1))
    items = tuple(axes) if isinstance(axes, (tuple, list)) else (axes,)
    if not all(_is_integer(k) for k in items):
        raise TypeError(f"axes must be None or a tuple of integers, got {axes!r}")
    normal = tuple(k % len(a) if -len(a) <= k < len(a) else None for k in items) if a else ()
    if len(items) != len(a) or sorted(k for k in normal if k is not None) != list(range(len(a))):
        raise ShapeError(f"axes {literal_text(items)} is not a permutation of the {len(a)} "
                         f"axes of shape {shape_text(a)} (as {literal_text(tuple(range(len(a))))})")
    return normal


def scalar_shape(*_, **__) -> Shape:
    return ()


def along_axis_shape(a: Shape, axis=-1, **_) -> Shape:
    if not a:
        raise ShapeError("softmax needs at least one axis, got a scalar")
    if a[_check_axis(a, axis)] == 0:
        raise ShapeError(f"softmax needs at least one entry along axis {axis}, got shape {shape_text(a)}")
    return a


def square_matrix(a: Shape) -> int:
    if len(a) != 2 or a[0] != a[1]:
        raise ShapeError(f"needs a square matrix, got shape {shape_text(a)}")
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
        raise ShapeError(f"solve: shapes {shape_text(a)} and {shape_text(b)} do not fit ({n} rows needed)")
    return b


def cross_entropy_shape(logits: Shape, labels: Shape, axis=-1, **_) -> Shape:
    if not logits:
        raise ShapeError("softmax_ce needs logits with a class axis, got a scalar")
    axis = _check_axis(logits, axis)
    examples = math.prod(logits[:axis] + logits[axis + 1 :])
    if math.prod(labels) != examples:
        raise ShapeError(
            f"softmax_ce: logits {shape_text(logits)} with classes along axis {axis} hold "
            f"{examples} example(s), but labels have shape {shape_text(labels)}"
        )
    return ()


def onehot_shape(logits: Shape, labels: Shape, axis=-1, **_) -> Shape:
    cross_entropy_shape(logits, labels, axis)  # the same agreement of logits and labels
    return logits
