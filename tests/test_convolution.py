"""conv2d and max_pool2d against loop-by-loop references of PyTorch's definitions, their
gradients against central differences, and the family through the package's API."""

import numpy as np
import pytest

import graphviz_bp as bp
from conftest import assert_close, numeric_gradients
from graphviz_bp import ShapeError
from graphviz_bp.claims import check_claim
from graphviz_bp.engine import value_of
from graphviz_bp.expr import parse
from graphviz_bp.notation import parse_notation
from graphviz_bp.ops import OPS
from graphviz_bp.printing import to_latex, to_text
from graphviz_bp.terms import Apply, Name

conv2d, max_pool2d = OPS["conv2d"], OPS["max_pool2d"]


def pair(value):
    return value if isinstance(value, tuple) else (value, value)


# ---------------------------------------------------------------- references, one pixel at a time


def reference_conv2d(x, w, stride=1, padding=0):
    """torch.nn.functional.conv2d without bias, written as its definition: out[n, f, i, j] =
    Σ_{c, k, l} x_padded[n, c, i·sh + k, j·sw + l] w[f, c, k, l]."""
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    n, c, h, width = x.shape
    f, _, kh, kw = w.shape
    padded = np.zeros((n, c, h + 2 * ph, width + 2 * pw))
    padded[:, :, ph:ph + h, pw:pw + width] = x
    oh, ow = (h + 2 * ph - kh) // sh + 1, (width + 2 * pw - kw) // sw + 1
    out = np.zeros((n, f, oh, ow))
    for b in range(n):
        for o in range(f):
            for i in range(oh):
                for j in range(ow):
                    total = 0.0
                    for ch in range(c):
                        for k in range(kh):
                            for m in range(kw):
                                total += padded[b, ch, i * sh + k, j * sw + m] * w[o, ch, k, m]
                    out[b, o, i, j] = total
    return out


def reference_max_pool2d(x, kernel_size=2, stride=None):
    """torch.nn.functional.max_pool2d without padding: the largest entry of each window."""
    kh, kw = pair(kernel_size)
    sh, sw = (kh, kw) if stride is None else pair(stride)
    n, c, h, w = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.zeros((n, c, oh, ow))
    for b in range(n):
        for ch in range(c):
            for i in range(oh):
                for j in range(ow):
                    out[b, ch, i, j] = max(x[b, ch, i * sh + k, j * sw + m]
                                           for k in range(kh) for m in range(kw))
    return out


CONVOLUTIONS = [  # x shape, w shape, stride, padding
    ((1, 1, 4, 4), (1, 1, 3, 3), 1, 0),
    ((2, 3, 5, 6), (2, 3, 3, 2), 1, 1),
    ((2, 2, 6, 6), (3, 2, 3, 3), 2, 0),   # (6 − 3) is odd: the last row is never reached
    ((1, 2, 5, 7), (2, 2, 2, 3), 2, 1),
    ((2, 1, 6, 5), (1, 1, 3, 3), (2, 1), (1, 0)),
    ((1, 2, 3, 3), (2, 2, 5, 5), 1, 1),   # a kernel as large as the padded input
    ((1, 1, 7, 7), (1, 1, 1, 1), 3, 0),
]

POOLS = [  # x shape, kernel_size, stride
    ((1, 1, 4, 4), 2, None),
    ((2, 3, 5, 5), 2, None),    # 5 is odd: the last row and column are left out
    ((1, 2, 5, 6), 3, 1),       # overlapping windows
    ((2, 1, 6, 5), (2, 3), (1, 2)),
    ((1, 1, 3, 3), 3, None),
]


@pytest.mark.parametrize("x_shape, w_shape, stride, padding", CONVOLUTIONS)
def test_conv2d_is_pytorchs_cross_correlation(x_shape, w_shape, stride, padding):
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=x_shape), rng.normal(size=w_shape)
    out = conv2d.forward(x, w, stride=stride, padding=padding)
    assert out.shape == conv2d.shape(x_shape, w_shape, stride=stride, padding=padding)
    assert_close(out, reference_conv2d(x, w, stride, padding), rtol=1e-12)


@pytest.mark.parametrize("x_shape, kernel_size, stride", POOLS)
def test_max_pool2d_is_pytorchs(x_shape, kernel_size, stride):
    x = np.random.default_rng(1).normal(size=x_shape)
    out = max_pool2d.forward(x, kernel_size=kernel_size, stride=stride)
    assert out.shape == max_pool2d.shape(x_shape, kernel_size=kernel_size, stride=stride)
    np.testing.assert_array_equal(out, reference_max_pool2d(x, kernel_size, stride))


# ---------------------------------------------------------------- gradients


@pytest.mark.parametrize("x_shape, w_shape, stride, padding", CONVOLUTIONS)
def test_conv2d_vjps_match_central_differences(x_shape, w_shape, stride, padding):
    rng = np.random.default_rng(2)
    x, w = rng.normal(size=x_shape), rng.normal(size=w_shape)
    params = {"stride": stride, "padding": padding}
    out = conv2d.forward(x, w, **params)
    g = rng.normal(size=out.shape)
    numeric = numeric_gradients(conv2d, [x, w], params, g)
    for k in range(2):
        assert_close(conv2d.vjp[k](g, out, x, w, **params), numeric[k], rtol=1e-7)


@pytest.mark.parametrize("x_shape, kernel_size, stride", POOLS)
def test_max_pool2d_vjp_matches_central_differences(x_shape, kernel_size, stride):
    rng = np.random.default_rng(3)
    x = rng.normal(size=x_shape)
    params = {"kernel_size": kernel_size, "stride": stride}
    out = max_pool2d.forward(x, **params)
    g = rng.normal(size=out.shape)
    (numeric,) = numeric_gradients(max_pool2d, [x], params, g)
    assert_close(max_pool2d.vjp[0](g, out, x, **params), numeric, rtol=1e-7)


def test_rows_and_columns_no_window_reaches_get_no_gradient():
    # 6 rows, kernel 3, stride 2: windows start at rows 0 and 2, so row 5 is never read;
    # likewise column 5.
    rng = np.random.default_rng(4)
    x, w = rng.normal(size=(2, 2, 6, 6)), rng.normal(size=(3, 2, 3, 3))
    out = conv2d.forward(x, w, stride=2, padding=0)
    assert out.shape == (2, 3, 2, 2)
    grad = conv2d.vjp[0](np.ones(out.shape), out, x, w, stride=2, padding=0)
    assert np.all(grad[:, :, 5, :] == 0) and np.all(grad[:, :, :, 5] == 0)
    assert np.all(grad[:, :, :5, :5] != 0)
    # moving an unread pixel leaves the output as it was
    moved = x.copy()
    moved[:, :, 5, :] += 1.0
    moved[:, :, :, 5] -= 1.0
    np.testing.assert_array_equal(conv2d.forward(moved, w, stride=2, padding=0), out)
    # the same for pooling: 5 × 5 in 2 × 2 windows leaves the last row and column out
    y = rng.normal(size=(1, 1, 5, 5))
    pooled = max_pool2d.forward(y, kernel_size=2, stride=None)
    grad = max_pool2d.vjp[0](np.ones(pooled.shape), pooled, y, kernel_size=2, stride=None)
    assert np.all(grad[..., 4, :] == 0) and np.all(grad[..., :, 4] == 0)


def test_a_tie_sends_the_gradient_to_the_first_largest_entry():
    # PyTorch scans a window row by row and keeps the first of equal maxima.
    x = np.array([[[[1.0, 3.0, 0.0, 0.0],
                    [3.0, 3.0, 0.0, 0.0],
                    [2.0, 2.0, 5.0, 5.0],
                    [2.0, 2.0, 5.0, 5.0]]]])
    g = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    grad = max_pool2d.vjp[0](g, max_pool2d.forward(x), x, kernel_size=2, stride=None)
    expected = np.zeros_like(x)
    expected[0, 0, 0, 1] = 1.0  # 3 at (0, 1) comes before the 3s of the next row
    expected[0, 0, 0, 2] = 2.0  # all zeros: the first
    expected[0, 0, 2, 0] = 3.0
    expected[0, 0, 2, 2] = 4.0
    np.testing.assert_array_equal(grad, expected)


def test_overlapping_windows_add_their_gradients():
    # The centre is the largest entry of all four 2 × 2 windows of a 3 × 3 image.
    x = np.array([[[[0.0, 1.0, 0.0], [1.0, 9.0, 1.0], [0.0, 1.0, 0.0]]]])
    g = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    out = max_pool2d.forward(x, kernel_size=2, stride=1)
    assert out.tolist() == [[[[9.0, 9.0], [9.0, 9.0]]]]
    grad = max_pool2d.vjp[0](g, out, x, kernel_size=2, stride=1)
    expected = np.zeros_like(x)
    expected[0, 0, 1, 1] = 10.0
    np.testing.assert_array_equal(grad, expected)


def test_the_kinks_of_max_pool2d_are_where_each_window_peaks():
    x = np.array([[[[1.0, 2.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]]])
    kinks = max_pool2d.kinks
    assert kinks(x, kernel_size=2, stride=None).tolist() == [[[[1, 0]]]]
    nudged = x + np.array([[[[0.5, 0.0, 0.0, 0.1], [0.0, 0.0, 0.0, 0.0]]]])
    assert kinks(nudged, kernel_size=2, stride=None).tolist() == [[[[1, 1]]]]
    assert kinks(x * 1.1, kernel_size=2, stride=None).tolist() == [[[[1, 0]]]]  # the same piece


# ---------------------------------------------------------------- shapes


@pytest.mark.parametrize("op, shapes, params, message", [
    ("conv2d", [(3, 5, 5), (2, 3, 3, 3)], {}, "input x of shape (N, C, H, W), got shape (3, 5, 5)"),
    ("conv2d", [(1, 3, 5, 5), (3, 3, 3)], {}, "weights w of shape (F, C, KH, KW), got shape (3, 3, 3)"),
    ("conv2d", [(1, 3, 5, 5), (2, 2, 3, 3)], {},
     "input of shape (1, 3, 5, 5) has 3 channel(s), but weights of shape (2, 2, 3, 3) expect 2"),
    ("conv2d", [(1, 1, 2, 4), (1, 1, 3, 3)], {},
     "kernel 3×3 of weights (1, 1, 3, 3) is larger than the input (1, 1, 2, 4) padded to 2×4"),
    ("conv2d", [(1, 1, 4, 4), (1, 1, 3, 3)], {"stride": 0}, "stride must be an integer ≥ 1"),
    ("conv2d", [(1, 1, 4, 4), (1, 1, 3, 3)], {"padding": -1}, "padding must be an integer ≥ 0"),
    ("conv2d", [(1, 1, 4, 4), (1, 1, 3, 3)], {"stride": (1, 2, 3)}, "or a pair of them, got (1, 2, 3)"),
    ("max_pool2d", [(4, 4)], {}, "input of shape (N, C, H, W), got shape (4, 4)"),
    ("max_pool2d", [(1, 1, 2, 4)], {"kernel_size": 3}, "kernel 3×3 is larger than the input (1, 1, 2, 4)"),
    ("max_pool2d", [(1, 1, 4, 4)], {"stride": 0}, "stride must be an integer ≥ 1"),
    ("conv2d_grad_input", [(1, 1, 3, 3), (1, 1, 4, 4), (1, 1, 3, 3)], {},
     "takes g of shape (1, 1, 2, 2), got (1, 1, 3, 3)"),
    ("max_pool2d_grad", [(1, 1, 1, 1), (1, 1, 4, 4)], {}, "takes g of shape (1, 1, 2, 2), got (1, 1, 1, 1)"),
])
def test_shape_errors_name_the_shapes(op, shapes, params, message):
    with pytest.raises(ShapeError) as err:
        OPS[op].shape(*shapes, **{**OPS[op].params, **params})
    assert message in str(err.value)


def test_shapes_are_checked_while_the_loss_is_written():
    x = bp.data("x", np.zeros((1, 3, 5, 5)))
    w = bp.param("w", np.zeros((2, 2, 3, 3)))
    with pytest.raises(ShapeError, match=r"conv2d\(x, w\): .* has 3 channel"):
        bp.conv2d(x, w)


# ---------------------------------------------------------------- through the package


def small_net(stride=1, padding=1, kernel_size=2, pool_stride=None):
    rng = np.random.default_rng(5)
    x = bp.data("x", rng.normal(size=(2, 2, 5, 5)))
    w = bp.param("w", rng.normal(size=(3, 2, 3, 3)))
    pooled = bp.max_pool2d(bp.relu(bp.conv2d(x, w, stride=stride, padding=padding)),
                           kernel_size=kernel_size, stride=pool_stride)
    return bp.Graph(bp.sum(pooled))


@pytest.mark.parametrize("settings", [{}, {"stride": 2, "padding": 0, "kernel_size": 2, "pool_stride": 1}])
def test_a_small_convolutional_net_passes_the_gradient_check(settings):
    g = small_net(**settings)
    results = bp.check_gradients(g)
    assert [r.wrt for r in results] == ["x", "w"]
    assert all(r.ok for r in results), results


def test_its_derivation_is_written_with_the_gradient_ops_and_holds():
    g = small_net()
    deriv = bp.derive(g)
    for name, helper in (("w", "conv2d_grad_weight"), ("x", "conv2d_grad_input")):
        formula = deriv.expr(deriv.node_expanded[name])
        assert formula.startswith(helper + "(") and "max_pool2d_grad(" in formula
        assert check_claim(g, name, formula).ok
        assert check_claim(g, name, deriv.expr(deriv.node_local[name])).ok
    local = deriv.text(deriv.node_local["w"])
    assert local.startswith("conv2d_grad_weight(∂L/∂") and local.endswith(", x, w, padding=1)")


def test_a_loss_written_as_an_expression():
    rng = np.random.default_rng(6)
    x0, w0 = rng.normal(size=(1, 2, 5, 5)), rng.normal(size=(2, 2, 3, 3))
    names = {"x": bp.data("x", x0), "w": bp.param("w", w0)}
    g = bp.Graph(parse("sum(conv2d(x, w, stride=2, padding=1))", names))
    assert g.loss == pytest.approx(reference_conv2d(x0, w0, 2, 1).sum(), rel=1e-12)
    pooled = parse("sum(max_pool2d(conv2d(x, w, stride=(1, 2)), kernel_size=2, stride=1))", names)
    assert value_of(pooled) == pytest.approx(
        reference_max_pool2d(reference_conv2d(x0, w0, (1, 2), 0), 2, 1).sum(), rel=1e-12)
    assert all(r.ok for r in bp.check_gradients(g))


def test_the_notation_shows_the_parameters_that_differ_from_their_defaults():
    t = Apply("conv2d_grad_input", (Name("g"), Name("x"), Name("w")), (("stride", 2), ("padding", 0)))
    assert to_text(t) == "conv2d_grad_input(g, x, w, stride=2)"
    assert to_latex(t) == r"\operatorname{conv2d\_grad\_input}\left(g, x, w;\ \mathrm{stride}=2\right)"
    pool = Apply("max_pool2d", (Name("x"),), (("kernel_size", 3), ("stride", None)))
    assert to_text(pool) == "max_pool2d(x, kernel_size=3)"
    assert to_latex(pool) == r"\operatorname{max\_pool2d}\left(x;\ \mathrm{kernel\_size}=3\right)"
    # the text is what claims read back
    rng = np.random.default_rng(7)
    names = {"x": bp.data("x", rng.normal(size=(1, 1, 4, 4))), "w": bp.param("w", rng.normal(size=(1, 1, 3, 3)))}
    printed = to_text(Apply("conv2d", (Name("x"), Name("w")), (("stride", 1), ("padding", 1))))
    assert printed == "conv2d(x, w, padding=1)"
    assert_close(value_of(parse_notation(printed, names)),
                 reference_conv2d(value_of(names["x"]), value_of(names["w"]), 1, 1), rtol=1e-12)
