"""Argument shapes and parameters for the indexing family (see CASES in test_ops.py)."""

import math

from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

from graphviz_bp.literals import Slice, as_numpy_index
from graphviz_bp.ops import OPS

nonscalar = array_shapes(min_dims=1, max_dims=3, max_side=4)


@st.composite
def basic_index(draw, shape):
    """A basic index of ``shape``: per axis an integer, a slice (steps, negative ends) or
    the whole axis, sometimes a new axis or ..."""
    spec = []
    for n in shape:
        kind = draw(st.sampled_from(["int", "slice", "whole"]))
        if kind == "int":
            spec.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            start = draw(st.integers(0, n - 1))
            stop = draw(st.integers(start + 1, n))
            step = draw(st.sampled_from([None, 1, 2]))
            negative = draw(st.booleans())
            spec.append(Slice(start - n if negative else start, stop, step))
        else:
            spec.append(Slice())
    if draw(st.booleans()):
        spec.insert(draw(st.integers(0, len(spec))), None)
    if draw(st.booleans()) and spec and spec[-1] == Slice():
        spec[-1] = Ellipsis
    return tuple(spec)


def _selected(shape, index):
    import numpy as np
    return np.empty(shape)[as_numpy_index(index)].shape


@st.composite
def getitem(draw, op):
    shape = draw(nonscalar)
    return [shape], {"index": draw(basic_index(shape))}


@st.composite
def unindex(draw, op):
    shape = draw(nonscalar)
    index = draw(basic_index(shape))
    return [_selected(shape, index), shape], {"index": index}


@st.composite
def take(draw, op):
    shape = draw(nonscalar)
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    indices = draw(array_shapes(min_dims=1, max_dims=2, max_side=4))
    return [shape, indices], {"axis": axis}


@st.composite
def untake(draw, op):
    (shape, indices), params = draw(take(op))
    return [OPS["take"].shape(shape, indices, **params), shape, indices], params


@st.composite
def pick(draw, op):
    shape = draw(nonscalar)
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    rest = shape[:axis % len(shape)] + shape[axis % len(shape) + 1:]
    return [shape, rest], {"axis": axis}


@st.composite
def compare(draw, op):
    pair = draw(mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4))
    return list(pair.input_shapes), {"test": draw(st.sampled_from([">", ">=", "<", "<=", "==", "!="]))}


@st.composite
def where(draw, op):
    triple = draw(mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=4))
    return list(triple.input_shapes), {}


@st.composite
def reshape(draw, op):
    shape = draw(array_shapes(min_dims=0, max_dims=3, max_side=4))
    size = math.prod(shape)
    target = draw(st.sampled_from([(size,), (-1,), (1, size), (size, 1), (-1, 1)]))
    return [shape], {"shape": target}


@st.composite
def reshape_as(draw, op):
    (shape,), params = draw(reshape(op))
    return [OPS["reshape"].shape(shape, **params), shape], {}


@st.composite
def concatenate(draw, op):
    shape = draw(nonscalar)
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    other = list(shape)
    other[axis] = draw(st.integers(1, 4))
    return [shape, tuple(other)], {"axis": axis}


@st.composite
def part(draw, op):
    (a, b), params = draw(concatenate(op))
    joined = OPS["concatenate"].shape(a, b, **params)
    return [joined, a if op.name == "leading" else b], params


CASES = {"leading": part, "trailing": part, "getitem": getitem, "unindex": unindex, "take": take, "untake": untake, "pick": pick,
         "compare": compare, "where": where, "reshape": reshape, "reshape_as": reshape_as,
         "concatenate": concatenate}
