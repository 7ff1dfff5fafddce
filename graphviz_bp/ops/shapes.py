"""Shape rules: each op's output shape from its arguments' shapes, checked while a graph is built.

A rule raises :class:`~graphviz_bp.errors.ShapeError` naming both shapes when they do not fit.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ShapeError

Shape = tuple[int, ...]

__all__ = ["Shape", "same_shape", "broadcast_shape", "matmul_shape", "transpose_shape", "reduce_shape",
           "expand_shape", "scalar_shape", "along_axis_shape", "square_shape",
           "square_to_scalar_shape", "solve_shape", "cross_entropy_shape", "onehot_shape",
           "outer_shape", "shape_text"]


def shape_text(shape: Shape) -> str:
    """A shape as Python writes it: (2, 3), (3,), ()."""
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def same_shape(a: Shape, **_) -> Shape:
    return a


def broadcast_shape(a: Shape, b: Shape, **_) -> Shape:
    try:
        return tuple(np.broadcast_shapes(a, b))
    except ValueError:
        raise ShapeError(f"shapes {shape_text(a)} and {shape_text(b)} do not broadcast") from None


def matmul_shape(a: Shape, b: Shape, **_) -> Shape:
    for s in (a, b):
        if len(s) not in (1, 2):
            raise ShapeError(f"@ takes vectors and matrices, got shape {shape_text(s)}")
    if a[-1] != b[0]:
        raise ShapeError(
            f"shapes {shape_text(a)} and {shape_text(b)} do not fit for @ "
            f"({a[-1]} columns on the left, {b[0]} rows on the right)"
        )
    return a[:-1] + b[1:]


def outer_shape(a: Shape, b: Shape, **_) -> Shape:
    return (math.prod(a), math.prod(b))


def transpose_shape(a: Shape, **_) -> Shape:
    return a[::-1]


def _check_axis(a: Shape, axis) -> int:
    if not -len(a) <= axis < len(a):
        raise ShapeError(f"axis {axis} is out of range for shape {shape_text(a)}")
    return axis % len(a)


def reduce_shape(a: Shape, axis=None, **_) -> Shape:
    if axis is None:
        return ()
    axis = _check_axis(a, axis)
    return a[:axis] + a[axis + 1 :]


def expand_shape(a: Shape, axis=None, **_) -> Shape:
    if axis is None:
        return a
    if not -len(a) - 1 <= axis <= len(a):
        raise ShapeError(f"axis {axis} is out of range to expand shape {shape_text(a)}")
    axis = axis % (len(a) + 1)
    return a[:axis] + (1,) + a[axis:]


def scalar_shape(*_, **__) -> Shape:
    return ()


def along_axis_shape(a: Shape, axis=-1, **_) -> Shape:
    if not a:
        raise ShapeError("softmax needs at least one axis, got a scalar")
    _check_axis(a, axis)
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
