"""Argument shapes and parameters for reductions, selections, softplus and stacked @ (see
CASES in test_ops.py): axes as None, an integer or a tuple, negative ones too, keepdims."""

from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

from strategies import binary_broadcast, shapes, unary
sides = st.integers(1, 4)


@st.composite
def some_axes(draw, rank: int):
    """None, one axis or a tuple of distinct axes of an array of ``rank``, each written
    either way (1 or 1 - rank)."""
    if not rank:
        return draw(st.sampled_from([None, ()]))
    chosen = draw(st.lists(st.integers(0, rank - 1), unique=True, max_size=rank))
    written = tuple(k - rank if draw(st.booleans()) else k for k in chosen)
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none" or (kind == "int" and not written):
        return None
    return written[0] if kind == "int" else written


@st.composite
def reduction(draw, op):
    shape = draw(shapes)
    return [shape], {"axis": draw(some_axes(len(shape))), "keepdims": draw(st.booleans())}


@st.composite
def clip_args(draw, op):
    # inputs are standard normal; bounds inside their range, lo < hi
    lo = draw(st.none() | st.floats(-1.5, 1.0))
    hi = draw(st.none() | st.floats(-1.0 if lo is None else lo + 0.25, 1.5))
    return [draw(shapes)], {"lo": lo, "hi": hi}


@st.composite
def matmul_args(draw, op):
    """Vectors and matrices as before, and stacks of matrices whose leading axes
    broadcast: (T, N, D) @ (D, H), (N, D) @ (T, D, H), (1, N, D) @ (T, D, H)…"""
    n, k, m = draw(sides), draw(sides), draw(sides)
    if draw(st.booleans()):
        left = draw(st.sampled_from([(n, k), (k,)]))
        right = draw(st.sampled_from([(k, m), (k,)]))
        return [left, right], {}
    stacks = draw(mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=3))
    left, right = stacks.input_shapes
    if len(left) + len(right) == 0:
        left = (draw(sides),)
    return [left + (n, k), right + (k, m)], {}


@st.composite
def transpose_args(draw, op):
    shape = draw(shapes)
    if draw(st.booleans()):
        return [shape], {}
    order = draw(st.permutations(range(len(shape))))
    return [shape], {"axes": tuple(k - len(shape) if draw(st.booleans()) else k for k in order)}


@st.composite
def expansion(draw, op):
    shape = draw(array_shapes(min_dims=0, max_dims=2, max_side=4))
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return [shape], {"axis": None}
    if kind == "int":
        return [shape], {"axis": draw(st.integers(-len(shape) - 1, len(shape)))}
    rank = len(shape) + draw(st.integers(1, 2))
    chosen = draw(st.lists(st.integers(0, rank - 1), unique=True, min_size=rank - len(shape),
                           max_size=rank - len(shape)))
    return [shape], {"axis": tuple(k - rank if draw(st.booleans()) else k for k in chosen)}


CASES = {
    "sum": reduction, "mean": reduction, "max": reduction, "min": reduction,
    "maximum": binary_broadcast, "minimum": binary_broadcast, "clip": clip_args,
    "softplus": unary, "log_sigmoid": unary,
    "matmul": matmul_args, "transpose": transpose_args, "expand": expansion,
}
