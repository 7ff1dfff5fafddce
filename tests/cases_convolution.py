"""Argument shapes and parameters for the convolution family, drawn for tests/test_ops.py.

Sizes stay small (N, C, F ≤ 2, H, W ≤ 6, kernels ≤ 3): central differences take one
forward pass per input entry. Each input side is drawn at least as long as its kernel
(padding included), so no draw has an empty output and none is thrown away.
"""

from hypothesis import strategies as st

from graphviz_bp.ops import OPS

small = st.integers(1, 2)
kernel_sides = st.integers(1, 3)
strides = st.sampled_from([1, 2, (1, 2), (2, 1)])
paddings = st.sampled_from([0, 1, (0, 1), (1, 0)])


def _pair(value):
    return value if isinstance(value, tuple) else (value, value)


@st.composite
def convolution(draw, op):
    """conv2d(x, w), or a gradient op of it, g first: (g, x, w)."""
    n, c, f = draw(small), draw(small), draw(small)
    kh, kw = draw(kernel_sides), draw(kernel_sides)
    stride, padding = draw(strides), draw(paddings)
    ph, pw = _pair(padding)
    h = draw(st.integers(max(1, kh - 2 * ph), 6))
    w = draw(st.integers(max(1, kw - 2 * pw), 6))
    x_shape, w_shape = (n, c, h, w), (f, c, kh, kw)
    params = {"stride": stride, "padding": padding}
    if op.name == "conv2d":
        return [x_shape, w_shape], params
    out = OPS["conv2d"].shape(x_shape, w_shape, **params)
    return [out, x_shape, w_shape], params


@st.composite
def pooling(draw, op):
    """max_pool2d(x), or its gradient op, g first: (g, x); windows may overlap."""
    kernel = draw(st.sampled_from([1, 2, 3, (1, 2), (2, 3)]))
    stride = draw(st.sampled_from([None, 1, 2, (2, 1)]))
    kh, kw = _pair(kernel)
    x_shape = (draw(small), draw(small), draw(st.integers(kh, 6)), draw(st.integers(kw, 6)))
    params = {"kernel_size": kernel, "stride": stride}
    if op.name == "max_pool2d":
        return [x_shape], params
    return [OPS["max_pool2d"].shape(x_shape, **params), x_shape], params


CASES = {
    "conv2d": convolution, "conv2d_grad_input": convolution, "conv2d_grad_weight": convolution,
    "max_pool2d": pooling, "max_pool2d_grad": pooling,
}
