"""Reductions over axes and tuples of axes, max and min, maximum, minimum, clip, softplus,
log σ and @ of stacks of matrices: values against numpy, gradients at ties and bounds,
the tails, and the errors for axes that do not fit."""

import numpy as np
import pytest

import graphviz_bp as bp
from conftest import numeric_gradients
from graphviz_bp import GraphvizBPError, ShapeError, const
from graphviz_bp.engine import value_of
from graphviz_bp.expr import parse
from graphviz_bp.ops import OPS, unbroadcast
from graphviz_bp.printing import to_expr, to_latex, to_text
from graphviz_bp.symbolic import instantiate
from graphviz_bp.terms import Apply, Name


def vjps(name, args, g, **params):
    """Each slot's gradient, summed back to its argument's shape where the op broadcasts."""
    op = OPS[name]
    params = {**op.params, **params}
    out = op.forward(*args, **params)
    return [unbroadcast(vjp(g, out, *args, **params), np.shape(a)) for vjp, a in zip(op.vjp, args)]


def rule_values(name, args, g, **params):
    """Each slot's symbolic rule, evaluated as test_ops does for random inputs, and summed
    back to its argument's shape as the VJP's result is."""
    op = OPS[name]
    params = {**op.params, **params}
    out = np.asarray(op.forward(*args, **params))
    values = {"g": np.asarray(g, dtype=float), "out": out, **dict(zip("abc", args))}
    numbers = {(fn, k): (int(np.prod(np.shape(v))) if fn == "size" else (np.shape(v) or (1,))[0])
               for k, v in values.items() for fn in ("size", "rows")}
    found = []
    for rule, vjp, a in zip(op.rules(*(np.shape(a) for a in args), **params), op.vjp, args):
        term = instantiate(rule, {n: Name(n) for n in values}, params, numbers)
        value = value_of(parse(to_expr(term), {n: const(n, v) for n, v in values.items()}, grads={}))
        produced = np.shape(vjp(values["g"], out, *args, **params))
        found.append(unbroadcast(np.broadcast_to(value, produced), np.shape(a)))
    return found


def numeric_vjps(name, args, g, **params):
    op = OPS[name]
    return numeric_gradients(op, args, {**op.params, **params}, g)


rng = np.random.default_rng(2024)
X = rng.normal(size=(2, 3, 4))


# ---------------------------------------------------------------- values against numpy


@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2), (2, 0), (-1, 1), (0, 1, 2), ()])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("name, reference", [("sum", np.sum), ("mean", np.mean), ("max", np.max),
                                              ("min", np.min)])
def test_reductions_equal_numpys(name, reference, axis, keepdims):
    op = OPS[name]
    expected = reference(X, axis=axis, keepdims=keepdims)
    got = op.forward(X, axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(got, expected, rtol=1e-15)
    assert np.shape(got) == op.shape(X.shape, axis=axis, keepdims=keepdims)


@pytest.mark.parametrize("name, reference", [("maximum", np.maximum), ("minimum", np.minimum)])
@pytest.mark.parametrize("shapes", [((2, 3), (2, 3)), ((2, 3), (3,)), ((4, 1), (1, 3)), ((), (2, 2))])
def test_maximum_and_minimum_broadcast_as_numpy(name, reference, shapes):
    a, b = (rng.normal(size=s) for s in shapes)
    np.testing.assert_array_equal(OPS[name].forward(a, b), reference(a, b))
    assert OPS[name].shape(*shapes) == np.broadcast_shapes(*shapes)
    # each slot's gradient against central differences, summed over the broadcast axes
    g = rng.normal(size=np.broadcast_shapes(*shapes))
    for analytic, numeric in zip(vjps(name, [a, b], g), numeric_vjps(name, [a, b], g)):
        np.testing.assert_allclose(analytic, numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("lo, hi", [(-0.5, 0.5), (None, 0.3), (-0.2, None), (None, None), (1.0, -1.0)])
def test_clip_is_numpys(lo, hi):
    expected = X if lo is None and hi is None else np.clip(X, lo, hi)
    np.testing.assert_array_equal(OPS["clip"].forward(X, lo=lo, hi=hi), expected)


def test_softplus_and_log_sigmoid_values():
    a = np.array([-3.0, -0.5, 0.0, 0.7, 4.0])
    np.testing.assert_allclose(OPS["softplus"].forward(a), np.log1p(np.exp(a)), rtol=1e-15)
    np.testing.assert_allclose(OPS["log_sigmoid"].forward(a), np.log(1 / (1 + np.exp(-a))), rtol=1e-15)


@pytest.mark.parametrize("shapes", [((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)),
                                    ((1, 2, 3), (5, 3, 4)), ((6, 1, 2, 3), (5, 3, 4)),
                                    ((2, 1, 2, 3), (1, 4, 3, 2))])
def test_stacked_matmul_is_numpys_and_its_vjps_sum_the_stack_back(shapes):
    a, b = (rng.normal(size=s) for s in shapes)
    out = OPS["matmul"].forward(a, b)
    np.testing.assert_array_equal(out, a @ b)
    assert OPS["matmul"].shape(*shapes) == out.shape
    g = rng.normal(size=out.shape)
    analytic = vjps("matmul", [a, b], g)
    for k, (got, numeric) in enumerate(zip(analytic, numeric_vjps("matmul", [a, b], g))):
        assert got.shape == shapes[k]
        np.testing.assert_allclose(got, numeric, rtol=1e-7, atol=1e-8)
    for got, from_rule in zip(analytic, rule_values("matmul", [a, b], g)):
        np.testing.assert_allclose(from_rule, got, rtol=1e-12, atol=1e-12)


def test_matmul_rules_of_vectors_and_matrices_are_unchanged():
    rules = OPS["matmul"].rules
    assert rules((2, 3), (3, 4)) == ("g @ b.T", "a.T @ g")
    assert rules((2, 3), (3,)) == ("outer(g, b)", "a.T @ g")
    assert rules((3,), (3, 4)) == ("g @ b.T", "outer(a, g)")
    assert rules((3,), (3,)) == ("g * b", "g * a")
    assert rules((5, 2, 3), (3, 4)) == ("g @ b.T", "sum(transpose(a, axes=(0, 2, 1)) @ g, axis=0)")
    assert rules((1, 2, 3), (5, 3, 4))[0] == "sum(g @ transpose(b, axes=(0, 2, 1)), axis=0, keepdims=True)"


def test_a_stacked_product_in_a_loss_checks_and_derives():
    a0, b0 = rng.normal(size=(4, 2, 3)), rng.normal(size=(3, 5))
    g = bp.Graph(bp.sumsq(bp.param("A", a0) @ bp.param("B", b0)))
    np.testing.assert_allclose(g.grad("A"), 2 * (a0 @ b0) @ b0.T, rtol=1e-12)
    np.testing.assert_allclose(g.grad("B"), np.einsum("tnd,tnh->dh", a0, 2 * (a0 @ b0)), rtol=1e-12)
    assert all(c.ok for c in bp.check_gradients(g))
    derivation = bp.derive(g)
    for leaf in ("A", "B"):
        assert bp.check_claim(g, leaf, derivation.expr(derivation.node_expanded[leaf])).ok


@pytest.mark.parametrize("axes", [None, (0, 2, 1), (2, 0, 1), (-1, 0, 1)])
def test_transpose_along_axes(axes):
    out = OPS["transpose"].forward(X, axes=axes)
    np.testing.assert_array_equal(out, np.transpose(X, axes))
    assert OPS["transpose"].shape(X.shape, axes=axes) == out.shape
    g = rng.normal(size=out.shape)
    (back,) = vjps("transpose", [X], g, axes=axes)
    assert np.sum(back * X) == pytest.approx(np.sum(g * out), rel=1e-14)  # a permutation's adjoint
    np.testing.assert_array_equal(rule_values("transpose", [X], g, axes=axes)[0], back)
    assert OPS["transpose"].rules(X.shape) == ("g.T",)


@pytest.mark.parametrize("axis", [0, -1, (0, 2), (-1, 0), (1, 2, 3)])
def test_expand_takes_axes_as_numpy(axis):
    a = rng.normal(size=(2, 3)) if axis != (1, 2, 3) else rng.normal(size=(4,))
    out = OPS["expand"].forward(a, axis=axis)
    np.testing.assert_array_equal(out, np.expand_dims(a, axis))
    assert OPS["expand"].shape(a.shape, axis=axis) == out.shape
    (back,) = vjps("expand", [a], np.ones(out.shape), axis=axis)
    np.testing.assert_array_equal(back, np.ones(a.shape))


# ---------------------------------------------------------------- sum and mean over axes


def test_sum_over_two_axes_keeping_them():
    op = OPS["sum"]
    out = op.forward(X, axis=(0, 2), keepdims=True)
    assert out.shape == (1, 3, 1) == op.shape(X.shape, axis=(0, 2), keepdims=True)
    np.testing.assert_allclose(out[0, :, 0], [X[:, j, :].sum() for j in range(3)], rtol=1e-14)
    g = rng.normal(size=(1, 3, 1))
    (back,) = vjps("sum", [X], g, axis=(0, 2), keepdims=True)
    np.testing.assert_array_equal(back, np.broadcast_to(g, X.shape))
    assert op.rules(X.shape, axis=(0, 2), keepdims=True) == ("g * ones_like(a)",)
    assert op.rules(X.shape, axis=(0, 2)) == ("expand(g, axis=axis) * ones_like(a)",)
    np.testing.assert_array_equal(rule_values("sum", [X], g, axis=(0, 2), keepdims=True)[0], back)
    (mean_back,) = vjps("mean", [X], g, axis=(0, 2), keepdims=True)
    np.testing.assert_allclose(mean_back, back / 8, rtol=1e-15)
    np.testing.assert_allclose(rule_values("mean", [X], g, axis=(0, 2), keepdims=True)[0], mean_back, rtol=1e-15)


def test_a_loss_with_axes_and_keepdims_checks_and_derives():
    x = bp.param("x", X)
    loss = bp.sumsq(bp.sum(x, axis=(0, 2), keepdims=True) * x) + bp.sum(bp.mean(x, axis=(-1, 0)))
    g = bp.Graph(loss)
    assert all(c.ok for c in bp.check_gradients(g))
    derivation = bp.derive(g)
    assert bp.check_claim(g, "x", derivation.expr(derivation.node_expanded["x"])).ok


# ---------------------------------------------------------------- max and min at ties


def test_ties_in_max_split_the_gradient_evenly():
    a = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, -1.0]])
    out = OPS["max"].forward(a, axis=1)
    (back,) = vjps("max", [a], np.array([1.0, 6.0]), axis=1)
    np.testing.assert_array_equal(back, [[0, 0.5, 0.5, 0], [2, 2, 2, 0]])
    np.testing.assert_array_equal(rule_values("max", [a], np.array([1.0, 6.0]), axis=1)[0], back)
    np.testing.assert_array_equal(out, [3.0, 2.0])
    # over everything: the two 3s share it
    (back,) = vjps("max", [a], 1.0)
    np.testing.assert_array_equal(back, [[0, 0.5, 0.5, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(rule_values("max", [a], 1.0)[0], back)
    # min, over a tuple of axes and keeping them
    b = np.array([[[1.0, -2.0], [-2.0, 0.0]], [[-2.0, 5.0], [-2.0, 4.0]]])  # three −2s, one −2
    (back,) = vjps("min", [b], np.ones((1, 1, 2)), axis=(0, 1), keepdims=True)
    np.testing.assert_allclose(back, [[[0, 1], [1 / 3, 0]], [[1 / 3, 0], [1 / 3, 0]]], rtol=1e-15)
    np.testing.assert_allclose(rule_values("min", [b], np.ones((1, 1, 2)), axis=(0, 1), keepdims=True)[0],
                               back, rtol=1e-15)


def test_max_kinks_say_which_entry_is_the_max():
    kinks = OPS["max"].kinks
    a = np.array([[1.0, 1.0 + 1e-6, 0.0], [0.0, 2.0, 1.0]])
    below = kinks(a, axis=1, keepdims=False)
    crossed = a.copy()
    crossed[0, 0] += 2e-6
    assert not np.array_equal(kinks(crossed, axis=1, keepdims=False), below)
    moved = a.copy()
    moved[1, 2] += 0.5  # still below the row's max
    assert np.array_equal(kinks(moved, axis=1, keepdims=False), below)
    assert np.array_equal(kinks(moved, axis=None, keepdims=False), kinks(a, axis=None, keepdims=False))


@pytest.mark.parametrize("text", ["sum(max(x, axis=1) ** 2)", "sum(min(-x, axis=1) ** 3)",
                                  "sum(max(x) * x)", "sum(max(x, axis=(0, 1), keepdims=True) * x)",
                                  "sum(clip(x, lo=0.2001, hi=1.0001) ** 2)", "sum(maximum(x, 0.5003) ** 2)",
                                  "sum(minimum(x, 1.0001) ** 2)"])
def test_the_gradient_checker_does_not_step_across_a_near_tie(text):
    # entries 2e-4 apart, and bounds 1e-4 from an entry: the checker's first step (1e-3)
    # would carry one past the other; without the ops' kinks each of these checks fails
    x0 = np.array([[1.0, 1.0 + 2e-4, -0.3], [0.5, 0.2, 0.5 - 1e-4]])
    g = bp.Graph(parse(text, {"x": bp.param("x", x0)}))
    (check,) = bp.check_gradients(g)
    assert check.ok and check.max_rel_error < 1e-8


# ---------------------------------------------------------------- maximum, minimum, clip


def test_a_tie_in_maximum_and_minimum_gives_the_gradient_to_a():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([1.0, 5.0, 2.0])
    g = np.array([1.0, 10.0, 100.0])
    for name in ("maximum", "minimum"):
        ga, gb = vjps(name, [a, b], g)
        assert ga[0] == 1.0 and gb[0] == 0.0  # the tie
        np.testing.assert_array_equal(ga + gb, g)  # the gradient goes somewhere, once
        for rule_value, vjp_value in zip(rule_values(name, [a, b], g), (ga, gb)):
            np.testing.assert_array_equal(rule_value, vjp_value)
    np.testing.assert_array_equal(vjps("maximum", [a, b], g)[0], [1, 0, 100])
    np.testing.assert_array_equal(vjps("minimum", [a, b], g)[0], [1, 10, 0])


def test_a_scalar_against_a_matrix_sums_its_gradient():
    x = rng.normal(size=(3, 4))
    ga, gb = vjps("maximum", [x, np.float64(0.1)], np.ones((3, 4)))
    assert np.shape(gb) == () and gb == np.sum(x < 0.1)
    np.testing.assert_array_equal(ga, x >= 0.1)


def test_clip_at_its_bounds():
    a = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    np.testing.assert_array_equal(OPS["clip"].forward(a, lo=-0.5, hi=0.5), [-0.5, -0.5, 0, 0.5, 0.5])
    g = np.full(5, 3.0)
    (back,) = vjps("clip", [a], g, lo=-0.5, hi=0.5)
    np.testing.assert_array_equal(back, [0, 0, 3, 0, 0])  # 1 strictly inside: 0 at a bound
    np.testing.assert_array_equal(rule_values("clip", [a], g, lo=-0.5, hi=0.5)[0], back)
    np.testing.assert_array_equal(vjps("clip", [a], g, hi=0.5)[0], [3, 3, 3, 0, 0])
    np.testing.assert_array_equal(vjps("clip", [a], g, lo=-0.5)[0], [0, 0, 3, 3, 3])
    np.testing.assert_array_equal(vjps("clip", [a], g)[0], g)
    assert OPS["clip"].rules(a.shape, lo=-0.5, hi=0.5) == ("g * step(a + 0.5) * step(hi - a)",)
    assert OPS["clip"].rules(a.shape, lo=0.5) == ("g * step(a - lo)",)
    assert OPS["clip"].rules(a.shape) == ("g",)
    kinds = OPS["clip"].kinks(a, lo=-0.5, hi=0.5)
    np.testing.assert_array_equal(kinds, [0, 0, 1, 2, 2])


def test_clip_bounds_must_be_numbers():
    x = bp.param("x", X)
    with pytest.raises(GraphvizBPError, match="lo must be a number or None"):
        bp.clip(x, lo="a")
    y = bp.clip(x, lo=np.float64(-0.1), hi=1)
    assert y.shape == X.shape


# ---------------------------------------------------------------- softplus and log σ in the tails


def test_softplus_and_log_sigmoid_in_both_tails():
    a = np.array([-800.0, -50.0, 50.0, 800.0])
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # no overflow, no log(0)
        softplus = OPS["softplus"].forward(a)
        log_sigmoid = OPS["log_sigmoid"].forward(a)
        (d_softplus,) = vjps("softplus", [a], np.ones(4))
        (d_log_sigmoid,) = vjps("log_sigmoid", [a], np.ones(4))
    np.testing.assert_allclose(softplus, [0.0, 1.9287498479639178e-22, 50.0, 800.0], rtol=1e-15)
    np.testing.assert_allclose(log_sigmoid, [-800.0, -50.0, -1.9287498479639178e-22, 0.0], rtol=1e-15)
    np.testing.assert_allclose(d_softplus, [0.0, 1.9287498479639178e-22, 1.0, 1.0], rtol=1e-14)
    np.testing.assert_allclose(d_log_sigmoid, [1.0, 1.0, 1.9287498479639178e-22, 0.0], rtol=1e-14)
    assert np.all(np.isfinite(softplus)) and np.all(np.isfinite(log_sigmoid))
    # log σ(a) = −softplus(−a) = a − softplus(a)
    b = np.linspace(-30, 30, 61)
    np.testing.assert_allclose(OPS["log_sigmoid"].forward(b), b - OPS["softplus"].forward(b), atol=1e-13)


# ---------------------------------------------------------------- axes that do not fit


@pytest.mark.parametrize("name, shape, params, message", [
    ("sum", (2, 3, 4), {"axis": 3}, "axis 3 is out of range for shape (2, 3, 4)"),
    ("sum", (2, 3, 4), {"axis": (0, 3)}, "axis 3 of (0, 3) is out of range for shape (2, 3, 4)"),
    ("mean", (2, 3, 4), {"axis": (0, -3)}, "axis (0, -3) names axis 0 of shape (2, 3, 4) twice"),
    ("max", (2, 3), {"axis": (-3,)}, "axis -3 of (-3,) is out of range for shape (2, 3)"),
    ("min", (), {"axis": 0}, "axis 0 is out of range for shape ()"),
    ("expand", (2, 3), {"axis": 3}, "axis 3 is out of range to expand shape (2, 3)"),
    ("expand", (2, 3), {"axis": (0, 4)}, "axis 4 of (0, 4) is out of range to expand shape (2, 3) (to 4 axes)"),
    ("expand", (2, 3), {"axis": (1, -3)}, "axis (1, -3) names axis 1 twice to expand shape (2, 3)"),
    ("transpose", (2, 3, 4), {"axes": (0, 1)}, "axes (0, 1) is not a permutation of the 3 axes of shape (2, 3, 4)"),
    ("transpose", (2, 3, 4), {"axes": (0, 1, 1)}, "axes (0, 1, 1) is not a permutation"),
])
def test_axes_that_do_not_fit_name_the_shape_and_the_axis(name, shape, params, message):
    with pytest.raises(ShapeError) as err:
        OPS[name].shape(shape, **params)
    assert message in str(err.value)


@pytest.mark.parametrize("shapes, message", [
    (((2, 3, 4), (5, 4, 2)), "their stacks (2,) and (5,) (the axes before the last two) do not broadcast"),
    (((2, 3, 4), (3, 2)), "shapes (2, 3, 4) and (3, 2) do not fit for @ (4 columns on the left, 3 rows on the right)"),
    (((2, 3, 4), (4,)), "@ of a vector takes vectors and matrices, got shapes (2, 3, 4) and (4,)"),
    (((), (2, 2)), "got a scalar"),
])
def test_stacked_matmul_refuses_shapes_that_do_not_fit(shapes, message):
    with pytest.raises(ShapeError) as err:
        OPS["matmul"].shape(*shapes)
    assert message in str(err.value)


def test_bad_axes_are_refused_while_the_loss_is_written():
    x = bp.param("x", X)
    with pytest.raises(ShapeError, match=r"sum\(x\): axis \(1, 1\) names axis 1 of shape \(2, 3, 4\) twice"):
        bp.sum(x, axis=(1, 1))
    with pytest.raises(GraphvizBPError, match="axis must be None, an integer or a tuple of integers"):
        bp.max(x, axis=0.5)
    with pytest.raises(GraphvizBPError, match="keepdims must be True or False"):
        bp.mean(x, keepdims="yes")
    assert bp.max(x, axis=[0, 2], keepdims=True).shape == (1, 3, 1)


# ---------------------------------------------------------------- how formulas write them


def test_parameters_are_never_hidden_in_text():
    S = Name("S")
    assert to_text(Apply("sum", (S,))) == "Σ(S)"
    assert to_text(Apply("sum", (S,), (("axis", 0), ("keepdims", False)))) == "Σ_rows(S)"
    assert to_text(Apply("sum", (S,), (("axis", 1),))) == "Σ_axis1(S)"
    assert to_text(Apply("sum", (S,), (("axis", 0), ("keepdims", True)))) == "Σ(S, axis=0, keepdims=True)"
    assert to_text(Apply("sum", (S,), (("axis", (0, 2)),))) == "Σ(S, axis=(0, 2))"
    assert to_text(Apply("mean", (S,), (("axis", (0, 2)), ("keepdims", True)))) == \
        "mean(S, axis=(0, 2), keepdims=True)"
    assert to_text(Apply("max", (S,))) == "max(S)"
    assert to_text(Apply("max", (S,), (("axis", 1),))) == "max(S, axis=1)"
    assert to_text(Apply("min", (S,), (("keepdims", True),))) == "min(S, keepdims=True)"
    assert to_text(Apply("clip", (S,), (("lo", 0.0), ("hi", 1.5)))) == "clip(S, lo=0, hi=1.5)"
    assert to_text(Apply("transpose", (S,), (("axes", (0, 2, 1)),))) == "transpose(S, axes=(0, 2, 1))"
    assert to_text(Apply("transpose", (S,))) == "Sᵀ"
    assert to_text(Apply("softplus", (S,))) == "softplus(S)"
    assert to_text(Apply("log_sigmoid", (S,))) == "log σ(S)"
    assert to_latex(Apply("sum", (S,), (("axis", 0),))) == r"\sum\left(S\right)"
    assert to_latex(Apply("max", (S,), (("axis", (0, 1)), ("keepdims", True)))) == \
        r"\max\left(S, \mathrm{axis}=(0, 1), \mathrm{keepdims}\right)"
    assert to_latex(Apply("clip", (S,), (("hi", 1.0),))) == r"\operatorname{clip}_{[-\infty, 1]}\left(S\right)"
    assert to_latex(Apply("maximum", (S, Name("T")))) == r"\max\left(S, T\right)"
    assert to_expr(Apply("transpose", (S,), (("axes", (1, 0, 2)),))) == "transpose(S, axes=(1, 0, 2))"


def test_the_expression_language_reads_the_new_parameters():
    W = rng.normal(size=(4, 5))
    names = {"x": bp.param("x", X), "W": bp.param("W", W)}
    for text, expected in [
            ("sum(x, axis=(0, 2), keepdims=True)", X.sum(axis=(0, 2), keepdims=True)),
            ("max(x, axis=-1)", X.max(axis=-1)),
            ("min(x, axis=(0, 1))", X.min(axis=(0, 1))),
            ("clip(x, lo=-0.5, hi=0.5)", np.clip(X, -0.5, 0.5)),
            ("maximum(x, 0)", np.maximum(X, 0)),
            ("softplus(x) + log_sigmoid(x)", np.logaddexp(0, X) - np.logaddexp(0, -X)),
            ("x @ W", X @ W),
            ("transpose(x, axes=(0, 2, 1)) @ x", np.swapaxes(X, 1, 2) @ X)]:
        np.testing.assert_allclose(value_of(parse(text, names)), expected, rtol=1e-14, err_msg=text)
